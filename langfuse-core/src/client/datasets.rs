//! The client's datasets API: [`Langfuse::get_dataset`], [`Langfuse::create_dataset`] and
//! [`Langfuse::create_dataset_item`], each in a blocking and an `_async` form (see
//! [`datasets`](crate::datasets)).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::client::Langfuse;
use crate::config::Config;
use crate::datasets::{
    ApiClient, Dataset, DatasetError, DatasetItem, ItemBody, NewDataset, NewDatasetItem, block_on,
};

/// The process's API client, built on first use from the client's configuration.
static API: OnceLock<Arc<ApiClient>> = OnceLock::new();

impl Langfuse {
    /// The dataset named `name` (`GET /api/public/v2/datasets/{name}`), as the Python SDK's
    /// `get_dataset`. Its items are fetched lazily, a page at a time, by
    /// [`Dataset::items`]; pin them to a past state with [`Dataset::at_version`].
    ///
    /// Blocks the calling thread (safe anywhere, inside a runtime too); in async code use
    /// [`get_dataset_async`](Self::get_dataset_async). Needs the public and secret keys, also
    /// when tracing itself is disabled or goes to the console.
    ///
    /// ```no_run
    /// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// let dataset = langfuse_core::get_client().get_dataset("capital-cities")?;
    /// for item in dataset.items() {
    ///     println!("{}", item?.input);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_dataset(&self, name: &str) -> Result<Dataset, DatasetError> {
        block_on(self.get_dataset_async(name))
    }

    /// Like [`get_dataset`](Self::get_dataset), without blocking.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// let dataset = langfuse_core::get_client().get_dataset_async("capital-cities").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_dataset_async(&self, name: &str) -> Result<Dataset, DatasetError> {
        if name.trim().is_empty() {
            return Err(DatasetError::InvalidRequest(
                "the dataset name is empty".into(),
            ));
        }
        let api = self.datasets_api()?;
        let url = api.url("/api/public/v2/datasets", &[name])?;
        let answer = api.get(url, &[]).await?;
        Dataset::from_json(api, answer)
    }

    /// Creates a dataset, or updates the one of the same name (`POST /api/public/v2/datasets`).
    /// Blocks; see [`create_dataset_async`](Self::create_dataset_async).
    ///
    /// ```no_run
    /// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// use langfuse_core::datasets::NewDataset;
    ///
    /// let dataset = langfuse_core::get_client()
    ///     .create_dataset(NewDataset::new("capital-cities").description("Countries and capitals"))?;
    /// println!("created {}", dataset.id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_dataset(&self, dataset: NewDataset) -> Result<Dataset, DatasetError> {
        block_on(self.create_dataset_async(dataset))
    }

    /// Like [`create_dataset`](Self::create_dataset), without blocking.
    pub async fn create_dataset_async(&self, dataset: NewDataset) -> Result<Dataset, DatasetError> {
        let body = dataset.body()?;
        let api = self.datasets_api()?;
        let url = api.url("/api/public/v2/datasets", &[])?;
        let answer = api.post(url, &body).await?;
        Dataset::from_json(api, answer)
    }

    /// Adds an item to a dataset, or updates the item of the same id
    /// (`POST /api/public/dataset-items`). Blocks; see
    /// [`create_dataset_item_async`](Self::create_dataset_item_async).
    ///
    /// ```no_run
    /// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// use langfuse_core::datasets::NewDatasetItem;
    ///
    /// let item = langfuse_core::get_client().create_dataset_item(
    ///     NewDatasetItem::new("capital-cities", "France").expected_output("Paris"),
    /// )?;
    /// println!("added {}", item.id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_dataset_item(&self, item: NewDatasetItem) -> Result<DatasetItem, DatasetError> {
        block_on(self.create_dataset_item_async(item))
    }

    /// Like [`create_dataset_item`](Self::create_dataset_item), without blocking.
    pub async fn create_dataset_item_async(
        &self,
        item: NewDatasetItem,
    ) -> Result<DatasetItem, DatasetError> {
        let item = item.prepared()?;
        let api = self.datasets_api()?;
        let url = api.url("/api/public/dataset-items", &[])?;
        let answer = api.post(url, &item.body()).await?;
        ItemBody::from_json(answer)?.into_item(None)
    }

    /// The project id, for experiment ids and URLs: the one the exporter thread fetched for
    /// trace URLs (waiting at most `timeout` for it), else asked through the API client when
    /// `ask` is set and keys are configured. `None` when neither knows it.
    pub(crate) async fn project_id_async(&self, timeout: Duration, ask: bool) -> Option<String> {
        if let Some(link) = self.project() {
            link.wait_for_prefix(timeout).await;
            if let Some(id) = link.project_id() {
                return Some(id.to_owned());
            }
        }
        if !ask {
            return None;
        }
        let api = self.datasets_api().ok()?;
        match api.project_id().await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(target: "langfuse", "could not get the project id: {e}");
                None
            }
        }
    }

    /// The process's client if one was started, else a disabled handle (whose datasets API
    /// reads the environment). Never starts a client.
    pub(crate) fn current_or_detached() -> Langfuse {
        super::existing_client()
            .cloned()
            .unwrap_or(Langfuse { inner: None })
    }

    /// `{base_url}/project/{id}`, once the exporter thread knows the project id.
    pub(crate) fn project_url(&self) -> Option<String> {
        self.project()?.project_url().map(str::to_owned)
    }

    /// The API client, built once from this client's configuration (or the environment's,
    /// for a disabled client).
    pub(crate) fn datasets_api(&self) -> Result<Arc<ApiClient>, DatasetError> {
        if let Some(api) = API.get() {
            return Ok(Arc::clone(api));
        }
        let api = match self.config() {
            Some(config) => ApiClient::new(config)?,
            None => {
                let config = Config::from_env().map_err(|e| {
                    DatasetError::NotConfigured(format!("invalid configuration: {e}"))
                })?;
                ApiClient::new(&config)?
            }
        };
        Ok(Arc::clone(API.get_or_init(|| api)))
    }
}

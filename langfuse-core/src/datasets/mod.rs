//! Datasets: collections of inputs (with the outputs expected for them) that experiments run
//! a task over, read and written through Langfuse's public API (the v2 dataset endpoints and
//! `/api/public/dataset-items`).
//!
//! Reach them from the client, in a blocking or an async form like the rest of its API:
//! [`Langfuse::get_dataset`](crate::Langfuse::get_dataset) /
//! [`get_dataset_async`](crate::Langfuse::get_dataset_async),
//! [`create_dataset`](crate::Langfuse::create_dataset) and
//! [`create_dataset_item`](crate::Langfuse::create_dataset_item). A [`Dataset`] reads its
//! items lazily, a page at a time, as they are consumed, optionally as they were at a past
//! [version](Dataset::at_version). Every failure is a [`DatasetError`] carrying the server's
//! message.
//!
//! ```no_run
//! # async fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
//! use langfuse_core::datasets::NewDatasetItem;
//!
//! let client = langfuse_core::get_client();
//! client
//!     .create_dataset_item_async(
//!         NewDatasetItem::new("capital-cities", "France").expected_output("Paris"),
//!     )
//!     .await?;
//!
//! let dataset = client.get_dataset_async("capital-cities").await?;
//! let mut items = dataset.items_async();
//! while let Some(item) = items.next().await {
//!     let item = item?;
//!     println!("{} -> {:?}", item.input, item.expected_output);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The requests use the exporter's TLS setup, headers and retry rules (429, 5xx and connection
//! errors are retried with backoff, honouring `Retry-After`, up to `LANGFUSE_MAX_RETRIES`),
//! and run on the caller's runtime; the blocking forms run them on a short-lived runtime of
//! their own, so they may be called from anywhere (they block the calling thread).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use serde_json::Value;

mod api;
mod error;
mod types;

pub(crate) use api::ApiClient;
pub use error::DatasetError;
use types::{DatasetBody, ItemsPage, PageMeta};
pub use types::{DatasetItem, DatasetStatus, NewDataset, NewDatasetItem};
pub(crate) use types::{ItemBody, format_time};

/// Items fetched per request unless [`Dataset::page_size`] says otherwise (the Python SDK's
/// default).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A dataset of the project, as [`Langfuse::get_dataset`](crate::Langfuse::get_dataset)
/// returns it. Its items are not fetched yet: [`items`](Self::items) and
/// [`items_async`](Self::items_async) page through them as they are consumed.
///
/// Cheap to clone.
///
/// ```no_run
/// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
/// let dataset = langfuse_core::get_client().get_dataset("capital-cities")?;
/// println!("{} ({})", dataset.name(), dataset.id());
/// for item in dataset.items() {
///     let item = item?;
///     println!("{}", item.input);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Dataset {
    api: Arc<ApiClient>,
    id: String,
    name: String,
    description: Option<String>,
    metadata: Option<Value>,
    input_schema: Option<Value>,
    expected_output_schema: Option<Value>,
    project_id: String,
    created_at: SystemTime,
    updated_at: SystemTime,
    version: Option<SystemTime>,
    page_size: u32,
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("version", &self.version.map(format_time))
            .finish_non_exhaustive()
    }
}

impl Dataset {
    /// The dataset in an answer of the API.
    pub(crate) fn from_json(api: Arc<ApiClient>, value: Value) -> Result<Self, DatasetError> {
        let body = DatasetBody::from_json(value)?;
        Ok(Self {
            api,
            id: body.id,
            name: body.name,
            description: body.description,
            metadata: body.metadata,
            input_schema: body.input_schema,
            expected_output_schema: body.expected_output_schema,
            project_id: body.project_id,
            created_at: body.created_at,
            updated_at: body.updated_at,
            version: None,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Its metadata, if any.
    pub fn metadata(&self) -> Option<&Value> {
        self.metadata.as_ref()
    }

    /// The JSON Schema items' inputs must match, if any.
    pub fn input_schema(&self) -> Option<&Value> {
        self.input_schema.as_ref()
    }

    /// The JSON Schema items' expected outputs must match, if any.
    pub fn expected_output_schema(&self) -> Option<&Value> {
        self.expected_output_schema.as_ref()
    }

    /// The project it belongs to.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// When it was created.
    pub fn created_at(&self) -> SystemTime {
        self.created_at
    }

    /// When it last changed.
    pub fn updated_at(&self) -> SystemTime {
        self.updated_at
    }

    /// The version its items are read at; `None` for the latest.
    pub fn version(&self) -> Option<SystemTime> {
        self.version
    }

    /// Reads the items as they were at `version` (a point in time, kept to the millisecond),
    /// as the Python SDK's `get_dataset(name, version=...)`. An experiment run over this
    /// dataset records the version on every item (`langfuse.experiment.item.version`), so the
    /// run can be reproduced on the same items.
    ///
    /// ```no_run
    /// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// use std::time::{Duration, SystemTime};
    ///
    /// let last_week = SystemTime::now() - Duration::from_secs(7 * 24 * 3600);
    /// let dataset = langfuse_core::get_client()
    ///     .get_dataset("capital-cities")?
    ///     .at_version(last_week);
    /// let items: Vec<_> = dataset.items().collect::<Result<_, _>>()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn at_version(mut self, version: SystemTime) -> Self {
        self.version = Some(version);
        self
    }

    /// Items fetched per request (default [`DEFAULT_PAGE_SIZE`]; at least 1).
    ///
    /// ```no_run
    /// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// let dataset = langfuse_core::get_client().get_dataset("big")?.page_size(200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, items: u32) -> Self {
        self.page_size = items.max(1);
        self
    }

    /// The items, fetched a page at a time as the iterator advances. Blocks the calling
    /// thread for each page; in async code use [`items_async`](Self::items_async). A failed
    /// page ends the iteration with its error.
    ///
    /// ```no_run
    /// # fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// let dataset = langfuse_core::get_client().get_dataset("capital-cities")?;
    /// let first_three: Vec<_> = dataset.items().take(3).collect::<Result<_, _>>()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn items(&self) -> DatasetItems {
        DatasetItems {
            stream: self.items_async(),
        }
    }

    /// The items, fetched a page at a time as they are consumed, without blocking: call
    /// [`next`](DatasetItemStream::next), or use it as a `futures` `Stream`.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), langfuse_core::datasets::DatasetError> {
    /// let dataset = langfuse_core::get_client().get_dataset_async("capital-cities").await?;
    /// let items = dataset.items_async().collect().await?;
    /// println!("{} items", items.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn items_async(&self) -> DatasetItemStream {
        DatasetItemStream {
            pager: Arc::new(Pager {
                api: Arc::clone(&self.api),
                dataset_name: self.name.clone(),
                version: self.version,
                page_size: self.page_size,
            }),
            next_page: 1,
            meta: None,
            buffer: VecDeque::new(),
            fetching: None,
            done: false,
        }
    }
}

/// What every page request of one listing shares.
#[derive(Debug)]
struct Pager {
    api: Arc<ApiClient>,
    dataset_name: String,
    version: Option<SystemTime>,
    page_size: u32,
}

impl Pager {
    /// `GET /api/public/dataset-items?datasetName=..&page=..&limit=..[&version=..]`.
    async fn page(
        self: Arc<Self>,
        page: u64,
    ) -> Result<(Vec<DatasetItem>, PageMeta), DatasetError> {
        let url = self.api.url("/api/public/dataset-items", &[])?;
        let mut query = vec![
            ("datasetName", self.dataset_name.clone()),
            ("page", page.to_string()),
            ("limit", self.page_size.to_string()),
        ];
        if let Some(version) = self.version {
            query.push(("version", format_time(version)));
        }
        let answer = ItemsPage::from_json(self.api.get(url, &query).await?)?;
        let items = answer
            .data
            .into_iter()
            .map(|item| item.into_item(self.version))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, answer.meta))
    }
}

type PageFuture =
    Pin<Box<dyn Future<Output = Result<(Vec<DatasetItem>, PageMeta), DatasetError>> + Send>>;

/// A dataset's items, fetched a page at a time as they are consumed; see
/// [`Dataset::items_async`]. Also a `futures` `Stream` of `Result<DatasetItem, DatasetError>`.
/// After an error it ends.
#[must_use = "streams do nothing unless polled"]
pub struct DatasetItemStream {
    pager: Arc<Pager>,
    next_page: u64,
    meta: Option<PageMeta>,
    buffer: VecDeque<DatasetItem>,
    fetching: Option<PageFuture>,
    done: bool,
}

impl fmt::Debug for DatasetItemStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatasetItemStream")
            .field("dataset", &self.pager.dataset_name)
            .field("next_page", &self.next_page)
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

impl DatasetItemStream {
    /// The next item, fetching the next page when the current one is used up; `None` at the
    /// end (or after an error).
    pub async fn next(&mut self) -> Option<Result<DatasetItem, DatasetError>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// How many items the dataset has (at its version), once the first page is in.
    pub fn total(&self) -> Option<u64> {
        self.meta.map(|m| m.total_items)
    }

    /// Every remaining item, or the first error.
    pub async fn collect(mut self) -> Result<Vec<DatasetItem>, DatasetError> {
        let mut items = Vec::new();
        while let Some(item) = self.next().await {
            items.push(item?);
        }
        Ok(items)
    }

    fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<DatasetItem, DatasetError>>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let fetching = self
                .fetching
                .get_or_insert_with(|| Box::pin(Arc::clone(&self.pager).page(self.next_page)));
            let result = match fetching.as_mut().poll(cx) {
                Poll::Ready(result) => result,
                Poll::Pending => return Poll::Pending,
            };
            self.fetching = None;
            match result {
                Ok((items, meta)) => {
                    // The last page, or a page past the end: nothing more to ask for.
                    if items.is_empty() || meta.page.max(self.next_page) >= meta.total_pages {
                        self.done = true;
                    }
                    self.meta = Some(meta);
                    self.next_page += 1;
                    self.buffer.extend(items);
                }
                Err(e) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

impl futures_core::Stream for DatasetItemStream {
    type Item = Result<DatasetItem, DatasetError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }
}

/// A dataset's items, fetched a page at a time as the iterator advances (blocking); see
/// [`Dataset::items`].
#[derive(Debug)]
pub struct DatasetItems {
    stream: DatasetItemStream,
}

impl DatasetItems {
    /// How many items the dataset has (at its version), once the first page is in.
    pub fn total(&self) -> Option<u64> {
        self.stream.total()
    }
}

impl Iterator for DatasetItems {
    type Item = Result<DatasetItem, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.stream.buffer.pop_front() {
            return Some(Ok(item));
        }
        if self.stream.done {
            return None;
        }
        let stream = &mut self.stream;
        match block_on(async { Ok(stream.next().await) }) {
            Ok(item) => item,
            Err(e) => {
                self.stream.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Runs `future` to completion on a private current-thread runtime, on a thread of its own so
/// that it works from anywhere, inside an async runtime too (the caller's thread waits).
pub(crate) fn block_on<F, T>(future: F) -> Result<T, DatasetError>
where
    F: Future<Output = Result<T, DatasetError>> + Send,
    T: Send,
{
    let joined = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("langfuse-api".into())
            .spawn_scoped(scope, || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        DatasetError::NotConfigured(format!("cannot start a runtime: {e}"))
                    })?;
                runtime.block_on(future)
            })
            .map(|handle| handle.join())
    });
    match joined {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => Err(DatasetError::NotConfigured(format!(
            "cannot start a thread for the request: {e}"
        ))),
    }
}

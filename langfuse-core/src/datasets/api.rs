//! The HTTP side of the datasets API: JSON requests to Langfuse's public API, with the
//! exporter's TLS setup, headers and retry rules, on the caller's runtime.
//!
//! Unlike the exporter's client, this one keeps no idle connections: its requests run on
//! whatever tokio runtime the caller polls them on (one per `#[tokio::test]`, a private one for
//! the blocking forms), and a pooled connection belongs to the runtime that opened it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::error::{DatasetError, from_status, server_message};
use crate::config::Config;
use crate::export::transport::{
    JSON, MAX_MESSAGE_CHARS, backoff, describe, is_transient, parse_retry_after, read_message,
    truncate_chars,
};
use crate::export::{tls, transport};

/// Largest answer read: dataset item pages carry whole inputs and expected outputs.
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// A client of Langfuse's public API for datasets. Cheap to share behind an `Arc`.
pub(crate) struct ApiClient {
    client: reqwest::Client,
    base_url: String,
    timeout: Duration,
    max_retries: u32,
    /// Texts never shown: the secret key and the Basic credentials.
    secrets: Vec<String>,
    project_id: OnceCell<String>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for the project of `config`'s keys.
    pub(crate) fn new(config: &Config) -> Result<Arc<Self>, DatasetError> {
        let (Some(public), Some(secret)) = (config.public_key(), config.secret_key()) else {
            return Err(DatasetError::NotConfigured(
                "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are needed to read or write datasets"
                    .into(),
            ));
        };
        let not_configured = |e: String| DatasetError::NotConfigured(e);
        let base_url = config.base_url().trim_end_matches('/').to_owned();
        let url = Url::parse(&base_url).map_err(|e| not_configured(e.to_string()))?;

        let mut headers = HeaderMap::new();
        transport::insert_sdk_headers(&mut headers);
        let (authorization, credentials) = transport::basic_authorization(public, secret)
            .ok_or_else(|| not_configured("the secret key cannot be sent in a header".into()))?;
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(
            HeaderName::from_static("x-langfuse-public-key"),
            HeaderValue::try_from(public)
                .map_err(|_| not_configured("the public key cannot be sent in a header".into()))?,
        );
        headers.insert(ACCEPT, HeaderValue::from_static(JSON));
        for (name, value) in config.additional_headers() {
            headers.insert(name.clone(), value.clone());
        }

        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout())
            .pool_max_idle_per_host(0);
        let client = tls::configure(builder, &url)
            .map_err(not_configured)?
            .build()
            .map_err(|e| not_configured(format!("cannot build the HTTP client: {e}")))?;
        Ok(Arc::new(Self {
            client,
            base_url,
            timeout: config.timeout(),
            max_retries: config.max_retries(),
            secrets: vec![secret.to_owned(), credentials],
            project_id: OnceCell::new(),
        }))
    }

    /// `{base_url}{path}` with `segments` appended, each escaped as one path segment.
    pub(crate) fn url(&self, path: &str, segments: &[&str]) -> Result<Url, DatasetError> {
        let mut text = format!("{}{path}", self.base_url);
        for segment in segments {
            text.push('/');
            text.extend(transport::path_segment(segment));
        }
        Url::parse(&text).map_err(|e| DatasetError::InvalidRequest(format!("{text}: {e}")))
    }

    /// `GET url` with `query`, the answer parsed as JSON.
    pub(crate) async fn get(
        &self,
        mut url: Url,
        query: &[(&str, String)],
    ) -> Result<Value, DatasetError> {
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let body = self.send(Method::GET, url, None).await?;
        decode(&body)
    }

    /// `POST url` with a JSON body, the answer decoded from JSON. Retried like a GET: callers
    /// only post what the server upserts (a dataset by name, an item by id).
    pub(crate) async fn post(&self, url: Url, body: &Value) -> Result<Value, DatasetError> {
        let body = serde_json::to_vec(body).map_err(|e| {
            DatasetError::InvalidRequest(format!("the body cannot be encoded: {e}"))
        })?;
        let answer = self.send(Method::POST, url, Some(body)).await?;
        decode(&answer)
    }

    /// The id of the keys' project (`GET /api/public/projects`), asked once.
    pub(crate) async fn project_id(&self) -> Result<String, DatasetError> {
        self.project_id
            .get_or_try_init(|| async {
                let projects = self
                    .get(self.url("/api/public/projects", &[])?, &[])
                    .await?;
                projects["data"]
                    .as_array()
                    .and_then(|projects| projects.first())
                    .and_then(|project| project["id"].as_str())
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        DatasetError::InvalidResponse(
                            "the key lists no project (a project-scoped key is needed)".into(),
                        )
                    })
            })
            .await
            .cloned()
    }

    /// Sends a request, retrying 429, 5xx, timeouts and connection errors with the exporter's
    /// backoff (or the server's `Retry-After`), up to `LANGFUSE_MAX_RETRIES` times.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, DatasetError> {
        let body = body.map(prost::bytes::Bytes::from);
        let mut retries = 0;
        loop {
            let mut request = self.client.request(method.clone(), url.clone());
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, HeaderValue::from_static(JSON))
                    .body(body.clone());
            }
            let (status, message, retry_after) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return read_body(response)
                        .await
                        .map_err(|e| self.unavailable(None, e));
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = parse_retry_after(response.headers(), SystemTime::now());
                    let text = read_message(response).await;
                    let message = self.scrub(if text.is_empty() {
                        status.canonical_reason().unwrap_or("no message").to_owned()
                    } else {
                        server_message(&text)
                    });
                    if !is_transient(status) {
                        return Err(from_status(status.as_u16(), message));
                    }
                    (Some(status), message, retry_after)
                }
                Err(e) if e.is_builder() => {
                    return Err(DatasetError::InvalidRequest(describe(e)));
                }
                Err(e) => (None, self.scrub(describe(e)), None),
            };
            if retries >= self.max_retries {
                let message = format!("{message} (gave up after {} attempts)", retries + 1);
                return Err(self.unavailable(status, message));
            }
            let wait = retry_after.unwrap_or_else(|| backoff(retries));
            tracing::debug!(
                target: "langfuse",
                %method,
                path = url.path(),
                status = status.map(|s| s.as_u16()),
                ?wait,
                "dataset request failed; retrying: {message}"
            );
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    fn unavailable(&self, status: Option<StatusCode>, message: String) -> DatasetError {
        DatasetError::Unavailable {
            status: status.map(|s| s.as_u16()),
            message,
        }
    }

    /// A message as it may be shown: the keys redacted, then cut short.
    fn scrub(&self, mut text: String) -> String {
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        truncate_chars(&text, MAX_MESSAGE_CHARS)
    }
}

/// A 2xx body, refused past [`MAX_RESPONSE_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode(body: &[u8]) -> Result<Value, DatasetError> {
    serde_json::from_slice(body).map_err(|e| {
        let preview = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        DatasetError::InvalidResponse(format!("{e} in {preview:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Arc<ApiClient> {
        let config = Config::builder()
            .ignore_environment()
            .public_key("pk-lf-1")
            .secret_key("sk-lf-secret")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        ApiClient::new(&config).unwrap()
    }

    #[test]
    fn segments_stay_one_segment() {
        let url = client()
            .url("/api/public/v2/datasets", &["qa/eval set?v=1 ü"])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/api/public/v2/datasets/qa%2Feval%20set%3Fv%3D1%20%C3%BC"
        );
    }

    #[test]
    fn secrets_never_reach_a_message() {
        let client = client();
        let echoed = format!("bad key sk-lf-secret in {}", client.secrets[1]);
        let scrubbed = client.scrub(echoed);
        assert!(!scrubbed.contains("sk-lf-secret"), "{scrubbed}");
        assert_eq!(scrubbed.matches("<redacted>").count(), 2);
    }

    #[test]
    fn keys_are_needed() {
        let config = Config::builder().ignore_environment().build().unwrap();
        assert!(matches!(
            ApiClient::new(&config),
            Err(DatasetError::NotConfigured(_))
        ));
    }
}

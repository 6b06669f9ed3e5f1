//! One default per setting, defined here only and named after its getter
//! (`Config::max_queue_size` ↔ `defaults::MAX_QUEUE_SIZE`). The rest of the crate uses these
//! for the values it needs before `init()` applies a configuration. A setting missing here is
//! unset by default: the public and secret keys, the environment, the release (unless a CI
//! variable holds one), the OpenTelemetry endpoint and headers, the mask.
//!
//! The settings table in the module documentation shows the same values; a test checks that
//! the two agree. The bounds a value must stay within are in `validate.rs`.

use std::time::Duration;

use super::{Compression, ExporterKind};

pub(crate) const BASE_URL: &str = "https://cloud.langfuse.com";
pub(crate) const TRACING_ENABLED: bool = true;
pub(crate) const OTEL_SDK_DISABLED: bool = false;
pub(crate) const SAMPLE_RATE: f64 = 1.0;
pub(crate) const FLUSH_AT: usize = 512;
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const DEBUG: bool = false;
pub(crate) const IO_CAPTURE_ENABLED: bool = true;
pub(crate) const TRACES_EXPORT_PATH: &str = "/api/public/otel/v1/traces";
pub(crate) const COMPRESSION: Compression = Compression::Gzip;
pub(crate) const MAX_QUEUE_SIZE: usize = 200_000;
pub(crate) const MAX_QUEUE_BYTES: usize = 64 << 20;
pub(crate) const CAPTURE_MAX_BYTES: usize = 32 << 10;
pub(crate) const EXPORTER: ExporterKind = ExporterKind::Otlp;
pub(crate) const MAX_BATCH_BYTES: usize = 4 << 20;
pub(crate) const MAX_RETRIES: u32 = 5;
pub(crate) const THREAD_BUFFER_SIZE: usize = 4096;
/// As in the Python SDK.
pub(crate) const PROMPT_CACHE_TTL: Duration = Duration::from_secs(60);
/// The label a prompt is fetched by when neither a version nor a label is given.
pub(crate) const PROMPT_LABEL: &str = "production";
/// Lower than the service, yet never starved on an idle core; see `LANGFUSE_EXPORTER_NICENESS`.
pub(crate) const EXPORTER_NICENESS: u8 = 10;

/// What `service_name` falls back to when the executable's name cannot be read.
const UNKNOWN_SERVICE_NAME: &str = "unknown_service:rust";

/// The default `service.name`: the executable's file name without extension, else
/// `unknown_service:rust`, as OpenTelemetry SDKs do.
pub(crate) fn service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .filter(|stem| !stem.is_empty())
        .unwrap_or_else(|| UNKNOWN_SERVICE_NAME.to_owned())
}

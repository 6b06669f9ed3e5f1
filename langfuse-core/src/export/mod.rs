//! Where finished observations and scores go: masking, OTLP encoding and HTTP delivery to
//! Langfuse, the scores endpoint, the console printer, and the exporter thread that drives
//! them; and the project id that trace URLs need, fetched by that thread.

pub(crate) mod attributes;
#[cfg(feature = "bench-internals")]
pub(crate) mod bench;
pub(crate) mod console;
pub(crate) mod drop_warning;
pub(crate) mod mask;
pub(crate) mod otlp;
pub(crate) mod project;
pub(crate) mod scores;
pub(crate) mod tls;
pub(crate) mod transport;
pub(crate) mod worker;

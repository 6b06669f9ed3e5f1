//! Where finished observations and scores go: OTLP encoding and HTTP delivery to Langfuse,
//! the scores endpoint, the console printer, and the exporter thread that drives them.

pub(crate) mod console;
pub(crate) mod otlp;
pub(crate) mod scores;
pub(crate) mod transport;
pub(crate) mod worker;

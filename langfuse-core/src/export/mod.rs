//! Where finished observations go: masking, OTLP encoding and HTTP delivery to Langfuse, the
//! console printer, and the exporter thread that drives them.

pub(crate) mod console;
pub(crate) mod mask;
pub(crate) mod otlp;
pub(crate) mod transport;
pub(crate) mod worker;

//! The exporter's wire layer: OTLP encoding of finished observations and their HTTP delivery.

pub(crate) mod otlp;
pub(crate) mod transport;

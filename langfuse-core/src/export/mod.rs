//! The exporter's wire layer: OTLP encoding of finished observations.

pub(crate) mod otlp;

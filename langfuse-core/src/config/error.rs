//! [`ConfigError`]: what an invalid value is reported as.

use std::error::Error;
use std::fmt;

/// An invalid configuration value.
///
/// The message names the variable or builder setting and quotes the value, except where the
/// value may be a credential (keys, headers): those are never shown.
///
/// ```
/// use langfuse_core::{Config, ConfigError};
///
/// let error = Config::builder().ignore_environment().sample_rate(1.5).build().unwrap_err();
/// assert!(matches!(error, ConfigError::InvalidSetting { setting: "sample_rate", .. }));
/// assert_eq!(
///     error.to_string(),
///     r#"invalid builder setting sample_rate="1.5": expected a number between 0 and 1"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds an invalid value.
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// The value as read, with anything that may be a credential (a key, a URL's user name
        /// and password) replaced by `<redacted>`.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A [`ConfigBuilder`](super::ConfigBuilder) setting holds an invalid value.
    InvalidSetting {
        /// The setting's name: the builder method.
        setting: &'static str,
        /// The value given, with anything that may be a credential (a key, a URL's user name
        /// and password) replaced by `<redacted>`.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// Headers that cannot be sent. Header values are never shown, since headers carry API keys.
    InvalidHeader {
        /// The variable (`OTEL_EXPORTER_OTLP_HEADERS`, ...) or builder setting (`header`,
        /// `otlp_header`) the headers came from.
        origin: &'static str,
        /// What is wrong, naming the header or the entry's position but not its value.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEnv { var, value, reason } => {
                write!(f, "invalid {var}={value:?}: {reason}")
            }
            Self::InvalidSetting {
                setting,
                value,
                reason,
            } => write!(f, "invalid builder setting {setting}={value:?}: {reason}"),
            Self::InvalidHeader { origin, reason } => {
                write!(
                    f,
                    "invalid {origin}: {reason} (header values are not shown)"
                )
            }
        }
    }
}

impl Error for ConfigError {}

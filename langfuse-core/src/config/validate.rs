//! The rules a value must follow, shared by the environment and the builder: `parse_*` reads a
//! trimmed environment value, `check_*` validates a value from either source. Each returns the
//! reason a value is refused; the caller (`env::Origin`) names the variable or setting and the
//! value.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{ConfigError, REDACTED, Secret};

// Bounds. The defaults are in `defaults.rs`.
pub(super) const MIN_QUEUE_BYTES: usize = 1024;
pub(super) const MIN_CAPTURE_BYTES: usize = 64;
pub(super) const MIN_BATCH_BYTES: usize = 1024;
pub(super) const MIN_THREAD_BUFFER_SIZE: usize = 16;
/// Each thread allocates its ring (80 bytes a slot) on its first observation, on the hot path:
/// an absurd size must be a configuration error, not an allocation failure that aborts there.
pub(super) const MAX_THREAD_BUFFER_SIZE: usize = 1 << 20;
/// Linux's lowest priority.
pub(super) const MAX_EXPORTER_NICENESS: usize = 19;
/// A year: a prompt cached longer is a mistake (and `Instant + ttl` must not overflow).
pub(super) const MAX_PROMPT_CACHE_TTL_SECONDS: u64 = 31_536_000;
// Longer durations are certainly mistakes, and bounding them keeps `Instant + duration` from
// overflowing anywhere downstream.
const MAX_SECONDS: f64 = 86_400.0;
const MAX_ENVIRONMENT_LEN: usize = 40;

pub(super) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false (or 1/0, yes/no, on/off)".to_owned()),
    }
}

pub(super) fn parse_f64(raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .map_err(|_| "expected a number between 0 and 1".to_owned())
}

pub(super) fn parse_u32(raw: &str) -> Result<u32, String> {
    raw.parse::<u32>()
        .map_err(|_| "expected a whole number >= 0".to_owned())
}

pub(super) fn check_sample_rate(rate: f64) -> Result<f64, String> {
    // `contains` is false for NaN, so this also rejects it.
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err("expected a number between 0 and 1".to_owned())
    }
}

fn seconds_reason() -> String {
    format!(
        "expected a number of seconds greater than 0 and at most {MAX_SECONDS}, such as 5 or 0.5"
    )
}

pub(super) fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let seconds = raw.parse::<f64>().map_err(|_| seconds_reason())?;
    if !(seconds > 0.0 && seconds <= MAX_SECONDS) {
        return Err(seconds_reason());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| seconds_reason())
}

pub(super) fn check_duration(duration: Duration) -> Result<Duration, String> {
    // A tiny positive float can round to zero nanoseconds: rejected here too.
    if duration.is_zero() || duration.as_secs_f64() > MAX_SECONDS {
        Err(seconds_reason())
    } else {
        Ok(duration)
    }
}

fn prompt_ttl_reason() -> String {
    format!("expected a whole number of seconds from 0 to {MAX_PROMPT_CACHE_TTL_SECONDS}")
}

/// Whole seconds, as the Python SDK reads `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`.
pub(super) fn parse_whole_seconds(raw: &str) -> Result<Duration, String> {
    raw.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| prompt_ttl_reason())
}

/// Zero (no cache) up to a year.
pub(super) fn check_prompt_cache_ttl(ttl: Duration) -> Result<Duration, String> {
    if ttl > Duration::from_secs(MAX_PROMPT_CACHE_TTL_SECONDS) {
        Err(prompt_ttl_reason())
    } else {
        Ok(ttl)
    }
}

pub(super) fn check_not_empty(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

/// The server's rule for environments: `^(?!langfuse)[a-z0-9_-]+$`, at most 40 characters.
/// Scores given their own environment are checked by the same rule.
pub(crate) fn check_environment(value: &str) -> Result<String, String> {
    const RULE: &str = "an environment is 1 to 40 characters of a-z, 0-9, '_' and '-', \
                        and does not start with \"langfuse\"";
    let problem = if value.is_empty() {
        Some("it is empty")
    } else if value.chars().count() > MAX_ENVIRONMENT_LEN {
        Some("it is longer than 40 characters")
    } else if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Some("it has uppercase letters")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Some("it has characters other than a-z, 0-9, '_' and '-'")
    } else if value.starts_with("langfuse") {
        Some("names starting with \"langfuse\" are reserved")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(format!("{problem}; {RULE}")),
        None => Ok(value.to_owned()),
    }
}

/// Parses an `http` or `https` URL without credentials, and without a fragment, nor a query unless
/// `allow_query`.
pub(super) fn check_http_url(raw: &str, allow_query: bool) -> Result<Url, String> {
    let url = Url::parse(raw)
        .map_err(|error| format!("expected an http:// or https:// URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("expected an http:// or https:// URL".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The value shown in the error has had them removed already.
        return Err(
            "must not contain a user name or password (hidden in the value shown); \
                    Langfuse keys go in LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, collector \
                    credentials in OTEL_EXPORTER_OTLP_HEADERS"
                .to_owned(),
        );
    }
    if url.fragment().is_some() || (!allow_query && url.query().is_some()) {
        return Err(if allow_query {
            "must not contain a fragment (#...)".to_owned()
        } else {
            "must not contain a query (?...) or fragment (#...)".to_owned()
        });
    }
    Ok(url)
}

pub(super) fn check_export_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err("expected a path starting with '/'".to_owned());
    }
    if path.contains(['?', '#']) || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("expected a plain path, without '?', '#' or whitespace".to_owned());
    }
    Ok(path.to_owned())
}

/// `base` with `path` (which starts with '/') appended to its path, any trailing slash of the
/// base dropped first. Infallible: `set_path` encodes whatever it is given.
pub(super) fn with_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

/// Hides `user:password@` in a URL-like string, whether or not it parses, so that an error never
/// shows credentials. Everything up to the last '@' goes, even past a '/': a password may hold
/// one (and then the URL does not parse), and a shortened value is better than a leaked one.
pub(super) fn strip_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://").map(|index| index + 3) else {
        return raw.to_owned();
    };
    match raw[scheme_end..].rfind('@') {
        Some(at) => format!(
            "{}{REDACTED}@{}",
            &raw[..scheme_end],
            &raw[scheme_end + at + 1..]
        ),
        None => raw.to_owned(),
    }
}

/// `localhost`, a `*.localhost` name (RFC 6761 reserves them for loopback), `127.0.0.0/8`, `::1`
/// or an IPv4-mapped loopback address.
pub(super) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // IPv6 hosts come bracketed.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.to_canonical().is_loopback();
    }
    // The URL parser has lowercased the name already.
    let name = host.trim_end_matches('.');
    name == "localhost" || name.ends_with(".localhost")
}

/// Parses the OpenTelemetry header list: `k1=v1,k2=v2`, whitespace around keys and values
/// ignored, values percent-decoded. Errors name the entry by position, and the header by name
/// once the name is known to be valid; never a value, nor an invalid name, which may be a token
/// written in the wrong place (`Authorization: Bearer abc=` splits at its last character).
pub(super) fn parse_otlp_headers(raw: &str) -> Result<HeaderMap, String> {
    const FORMAT: &str = "expected key1=value1,key2=value2";
    let mut headers = HeaderMap::new();
    for (index, entry) in raw.split(',').enumerate() {
        let entry_label = format!("entry {}", index + 1);
        let Some((name, value)) = entry.split_once('=') else {
            let problem = if entry.trim().is_empty() {
                "is empty"
            } else {
                "has no '='"
            };
            return Err(format!("{entry_label} {problem}; {FORMAT}"));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{entry_label} has an empty name; {FORMAT}"));
        }
        let value: Cow<'_, [u8]> = percent_decode_str(value.trim()).into();
        let (name, value) = header_pair(&entry_label, name, &value)?;
        headers.insert(name, value);
    }
    Ok(headers)
}

pub(super) fn builder_headers(
    origin: &'static str,
    pairs: Vec<(String, Secret)>,
) -> Result<HeaderMap, ConfigError> {
    let mut headers = HeaderMap::new();
    for (index, (name, Secret(value))) in pairs.into_iter().enumerate() {
        let label = format!("header {} (in the order given)", index + 1);
        let (name, value) = header_pair(&label, &name, value.as_bytes())
            .map_err(|reason| ConfigError::InvalidHeader { origin, reason })?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// A validated header; the value is marked sensitive so that `http`'s own `Debug` hides it too.
/// `label` says which header failed without showing it.
fn header_pair(label: &str, name: &str, value: &[u8]) -> Result<(HeaderName, HeaderValue), String> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{label} has an invalid HTTP header name"))?;
    let mut header_value = HeaderValue::from_bytes(value).map_err(|_| {
        format!("{label} ({header_name}) has an invalid HTTP header value (control characters?)")
    })?;
    header_value.set_sensitive(true);
    Ok((header_name, header_value))
}

//! Which TLS the exporter's HTTP client speaks, chosen by the crate's features (see
//! `Cargo.toml`): `rustls` (the default, with ring), `rustls-aws-lc`, `native-tls`, or none.
//!
//! Given several, `native-tls` wins over `rustls-aws-lc`, which wins over `rustls`: reqwest
//! prefers native-tls when it has both, and with `rustls-aws-lc` its own provider is there.

use reqwest::{ClientBuilder, Url};

/// `rustls`: reqwest is built with `rustls-no-provider`, so it has no crypto provider of its
/// own and panics on `build()` unless one is given. This client gets the application's
/// process-wide provider if it installed one, else ring, for this client alone: a library
/// does not install a process-wide default. reqwest sets ALPN only on settings it builds
/// itself; these offer HTTP/2 and HTTP/1.1, as its own do.
#[cfg(all(
    feature = "rustls",
    not(feature = "rustls-aws-lc"),
    not(feature = "native-tls")
))]
pub(crate) fn configure(builder: ClientBuilder, _url: &Url) -> Result<ClientBuilder, String> {
    use std::sync::Arc;

    use rustls::crypto::CryptoProvider;
    use rustls_platform_verifier::BuilderVerifierExt as _;

    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|config| config.with_platform_verifier())
        .map_err(|e| e.to_string())?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(builder.tls_backend_preconfigured(config))
}

/// `rustls-aws-lc` or `native-tls`: reqwest's own settings.
#[cfg(any(feature = "rustls-aws-lc", feature = "native-tls"))]
pub(crate) fn configure(builder: ClientBuilder, _url: &Url) -> Result<ClientBuilder, String> {
    Ok(builder)
}

/// No TLS feature: reqwest speaks plain http only, so an `https` endpoint is refused here,
/// at `init()`, rather than by every request.
#[cfg(not(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls")))]
pub(crate) fn configure(builder: ClientBuilder, url: &Url) -> Result<ClientBuilder, String> {
    const NO_TLS: &str = "the endpoint is https, but langfuse was built without TLS: enable \
                          its feature `rustls` (the default), `rustls-aws-lc` or `native-tls`";
    if url.scheme() == "https" {
        return Err(NO_TLS.to_owned());
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Also catches a rustls that is not reqwest's own: `tls_backend_preconfigured` would not
    /// recognise its settings and `build()` would fail.
    #[test]
    fn an_https_client_is_built_with_any_tls_feature_and_refused_without() {
        let https: Url = "https://cloud.langfuse.com/api/public/otel/v1/traces"
            .parse()
            .unwrap();
        let client = configure(reqwest::Client::builder(), &https).map(|b| b.build());
        let tls = cfg!(any(
            feature = "rustls",
            feature = "rustls-aws-lc",
            feature = "native-tls"
        ));
        if tls {
            client.expect("TLS settings").expect("an https client");
        } else {
            assert!(client.unwrap_err().contains("without TLS"));
        }
        let http: Url = "http://127.0.0.1:3000/api/public/otel/v1/traces"
            .parse()
            .unwrap();
        configure(reqwest::Client::builder(), &http)
            .expect("plain http always works")
            .build()
            .expect("an http client");
    }
}

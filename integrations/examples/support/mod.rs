//! What the examples share: the SDK, on the console without keys, and the loopback
//! OpenAI-compatible stand-in of the integration tests (no key, no network).

#![allow(dead_code)]

#[path = "../../tests/standin/mod.rs"]
pub mod standin;

use langfuse::{ExporterKind, Langfuse, LangfuseGuard};

/// `langfuse::init()` with keys; without, traces printed as trees on stderr.
pub fn init() -> LangfuseGuard {
    let has_keys = std::env::var_os("LANGFUSE_PUBLIC_KEY").is_some()
        && std::env::var_os("LANGFUSE_SECRET_KEY").is_some();
    if has_keys {
        langfuse::init().expect("valid LANGFUSE_* configuration")
    } else {
        eprintln!("No LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY: printing traces here instead.\n");
        Langfuse::builder()
            .exporter(ExporterKind::Console)
            .init()
            .expect("console configuration")
    }
}

/// The base URL of an OpenAI-compatible server: `OPENAI_BASE_URL` with `OPENAI_API_KEY`, else
/// the stand-in, started here (kept alive by the returned handle).
pub fn openai() -> (String, String, Option<standin::StandIn>) {
    // The workspace's reqwest is built with rustls and no provider (root README, "TLS").
    let _ = rustls::crypto::ring::default_provider().install_default();
    match (
        std::env::var("OPENAI_BASE_URL"),
        std::env::var("OPENAI_API_KEY"),
    ) {
        (Ok(url), Ok(key)) => (url, key, None),
        _ => {
            let standin = standin::StandIn::start();
            eprintln!("No OPENAI_BASE_URL/OPENAI_API_KEY: using a loopback stand-in.\n");
            (standin.base_url(), "sk-standin".to_owned(), Some(standin))
        }
    }
}

//! Async functions: their futures stay `Send` when the body's are, `?` and early returns work,
//! and return values coerce to the declared type.
#![deny(warnings, unused)]

use std::error::Error;
use std::fmt;

use langfuse::observe;

#[derive(Debug)]
struct Unavailable;

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unavailable")
    }
}

impl Error for Unavailable {}

#[observe(as_type = "retriever")]
async fn fetch(url: String) -> Result<String, Box<dyn Error + Send + Sync>> {
    if url.is_empty() {
        return Err(Box::new(Unavailable));
    }
    let port: u16 = "8080".parse()?;
    tokio::task::yield_now().await;
    Ok(format!("{url}:{port}"))
}

#[observe]
async fn nothing() {}

// The block's output is `()` from the wrapper's bound, as it is from the signature.
#[observe]
async fn defaulted(early: bool) {
    if early {
        return Default::default();
    }
    Default::default()
}

#[observe]
#[allow(clippy::unused_unit)]
async fn unit_written_out() -> () {
    tokio::task::yield_now().await;
}

type Nothing = ();

#[observe]
async fn unit_alias() -> Nothing {}

#[observe]
async fn display(n: u32) -> impl fmt::Display {
    n
}

#[observe]
async fn first(words: &[&'static str]) -> Option<&'static str> {
    nothing().await;
    words.first().copied()
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() {
    assert_eq!(
        assert_send(fetch("http://x".into())).await.unwrap(),
        "http://x:8080"
    );
    assert!(fetch(String::new()).await.is_err());
    assert_send(nothing()).await;
    assert_send(defaulted(true)).await;
    defaulted(false).await;
    assert_send(unit_written_out()).await;
    unit_alias().await;
    assert_eq!(display(3).await.to_string(), "3");
    assert_eq!(first(&["a", "b"]).await, Some("a"));
    let handle = tokio::spawn(fetch("http://y".into()));
    assert!(handle.await.unwrap().is_ok());
}

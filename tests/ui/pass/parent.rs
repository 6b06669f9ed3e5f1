//! `parent = expr`: every kind of parent, from arguments of every shape of function.
#![deny(warnings, unused)]

use std::future::Future;
use std::pin::Pin;

use futures::stream::{self, Stream, StreamExt as _};
use langfuse::{ObservationContext, Traceparent, observe};

const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[observe(parent = traceparent)]
fn from_header(traceparent: Option<&str>, body: &str) -> usize {
    traceparent.map_or(0, str::len) + body.len()
}

#[observe(parent = &traceparent)]
fn from_owned(traceparent: String) -> String {
    traceparent
}

#[observe(parent = headers.get("traceparent").copied())]
fn from_lookup(headers: &std::collections::HashMap<&str, &str>) -> usize {
    headers.len()
}

#[observe(parent = parent)]
fn from_parsed(parent: Traceparent) -> bool {
    parent.sampled
}

#[observe(parent = context.clone())]
fn from_context(context: ObservationContext) -> bool {
    context.trace_id().is_some()
}

#[observe(parent = header)]
async fn handler(header: Option<&str>) -> Result<u8, std::io::Error> {
    Ok(header.map_or(0, |_| 1))
}

#[observe(parent = header)]
fn tokens(header: Option<&'static str>) -> impl Stream<Item = &'static str> {
    stream::iter(header)
}

pub struct Server {
    header: String,
}

impl Server {
    #[observe(parent = self.header.as_str())]
    fn handle(&self) -> usize {
        self.header.len()
    }

    #[observe(parent = self.header.as_str())]
    async fn handle_async(&self) -> usize {
        self.header.len()
    }

    #[observe(parent = self.header.as_str())]
    fn handle_boxed(&self) -> Pin<Box<dyn Future<Output = usize> + Send + '_>> {
        Box::pin(async move { self.header.len() })
    }
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() {
    assert_eq!(from_header(Some(HEADER), "ab"), HEADER.len() + 2);
    assert_eq!(from_header(None, "ab"), 2);
    assert_eq!(from_owned(HEADER.to_owned()), HEADER);
    let headers = [("traceparent", HEADER)].into_iter().collect();
    assert_eq!(from_lookup(&headers), 1);
    assert!(from_parsed(HEADER.parse().unwrap()));
    assert!(from_context(
        ObservationContext::from_traceparent(HEADER).unwrap()
    ));
    assert_eq!(handler(Some(HEADER)).await.unwrap(), 1);
    assert_eq!(tokens(Some("a")).collect::<Vec<_>>().await, ["a"]);
    let server = Server {
        header: HEADER.to_owned(),
    };
    assert_eq!(server.handle(), HEADER.len());
    assert_eq!(server.handle_async().await, HEADER.len());
    assert_eq!(server.handle_boxed().await, HEADER.len());
}

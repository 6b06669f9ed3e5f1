//! `#[async_trait]` methods, hand-written boxed futures, the shape of async-trait <= 0.1.43,
//! and native `async fn` in traits.
#![deny(warnings, unused)]

use std::future::Future;
use std::pin::Pin;

use langfuse::observe;

#[async_trait::async_trait]
trait Store {
    async fn get(&self, key: u32) -> Option<u32>;
    async fn put(&mut self, key: u32, value: u32) -> Result<(), String>;
    async fn clear(&mut self);
}

struct Memory {
    entries: Vec<(u32, u32)>,
}

#[async_trait::async_trait]
impl Store for Memory {
    #[observe(as_type = "retriever")]
    async fn get(&self, key: u32) -> Option<u32> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    #[observe(skip(value))]
    async fn put(&mut self, key: u32, value: u32) -> Result<(), String> {
        if key == 0 {
            return Err("key 0 is reserved".to_owned());
        }
        self.entries.push((key, value));
        Ok(())
    }

    #[observe]
    async fn clear(&mut self) {
        self.entries.clear();
    }
}

trait Native {
    async fn double(&self, n: u32) -> u32;

    #[observe]
    async fn triple(&self, n: u32) -> u32 {
        n * 3
    }

    #[observe]
    fn name(&self) -> &'static str {
        "native"
    }
}

struct Calculator;

impl Native for Calculator {
    #[observe]
    async fn double(&self, n: u32) -> u32 {
        n * 2
    }
}

#[observe]
fn boxed(n: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'static>> {
    let next = n + 1;
    Box::pin(async move {
        if next == 0 {
            return Err("overflow".to_owned());
        }
        Ok(next)
    })
}

#[observe]
fn unboxed(n: u32) -> impl Future<Output = u32> + Send {
    async move { n * 10 }
}

#[observe]
fn boxed_unit(n: u32) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
    Box::pin(async move { assert!(n > 0) })
}

// The output's type, named with elided lifetimes, is given to the recorder as written.
#[observe]
fn borrowed(store: &Memory) -> Pin<Box<dyn Future<Output = Option<&u32>> + '_>> {
    Box::pin(async move { store.entries.first().map(|(key, _)| key) })
}

// The expansion of async-trait <= 0.1.43: an inner async fn, called and boxed.
#[observe]
fn legacy<'a>(store: &'a Memory, key: u32) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
    async fn __legacy(_self: &Memory, key: u32) -> usize {
        _self.entries.iter().filter(|(k, _)| *k == key).count()
    }
    Box::pin(__legacy(store, key))
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() {
    let mut memory = Memory {
        entries: Vec::new(),
    };
    memory.put(1, 10).await.unwrap();
    assert!(memory.put(0, 1).await.is_err());
    assert_eq!(memory.get(1).await, Some(10));
    assert_eq!(Calculator.double(2).await, 4);
    assert_eq!(Calculator.triple(2).await, 6);
    assert_eq!(Calculator.name(), "native");
    assert_eq!(boxed(1).await, Ok(2));
    assert_eq!(tokio::spawn(unboxed(2)).await.unwrap(), 20);
    assert_eq!(legacy(&memory, 1).await, 1);
    assert_eq!(borrowed(&memory).await, Some(&1));
    boxed_unit(1).await;
    memory.clear().await;
    assert_eq!(memory.get(1).await, None);
}

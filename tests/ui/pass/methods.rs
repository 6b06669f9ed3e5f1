//! Methods: every kind of receiver, `Self`, and return values borrowed from `self`.
#![deny(warnings, unused)]

use langfuse::observe;

struct Counter {
    count: u32,
    name: String,
}

impl Counter {
    #[observe]
    fn new(name: &str) -> Self {
        Self {
            count: 0,
            name: name.to_owned(),
        }
    }

    #[observe]
    fn get(&self) -> u32 {
        self.count
    }

    #[observe]
    fn name(&self) -> &str {
        &self.name
    }

    #[observe]
    fn slot(&mut self, by: u32) -> &mut u32 {
        self.count += by;
        &mut self.count
    }

    #[observe]
    fn into_name(self) -> String {
        self.name
    }

    #[observe]
    fn boxed(self: Box<Self>) -> u32 {
        self.count
    }

    #[observe]
    async fn get_async(&self) -> u32 {
        self.count
    }

    #[observe]
    async fn name_async(&self) -> &str {
        &self.name
    }

    #[observe]
    async fn bump_async(&mut self) -> &mut u32 {
        &mut self.count
    }
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() {
    let mut counter = Counter::new("c");
    *counter.slot(2) += 1;
    assert_eq!(counter.get(), 3);
    assert_eq!(counter.name(), "c");
    *counter.bump_async().await += 1;
    assert_eq!(counter.get_async().await, 4);
    assert_eq!(counter.name_async().await, "c");
    assert_eq!(counter.into_name(), "c");
    assert_eq!(Box::new(Counter::new("d")).boxed(), 0);
}

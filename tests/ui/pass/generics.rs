//! Generics with and without `Serialize` bounds, `impl Trait` arguments and returns, and
//! lifetimes.
#![deny(warnings, unused)]

use std::fmt::Display;

use langfuse::observe;
use serde::Serialize;

#[observe]
fn echo<T: Serialize>(value: T) -> T {
    value
}

#[observe]
fn count<T>(items: &[T]) -> usize {
    items.len()
}

#[observe]
fn first<T>(items: Vec<T>) -> Option<T>
where
    T: Clone,
{
    items.first().cloned()
}

#[observe]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[observe]
fn join(
    parts: impl IntoIterator<Item = impl Display>,
    separator: &str,
) -> Result<impl Display, String> {
    let parts: Vec<String> = parts.into_iter().map(|p| p.to_string()).collect();
    if parts.is_empty() {
        return Err("nothing to join".to_owned());
    }
    Ok(parts.join(separator))
}

#[observe]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

#[observe]
fn elided(text: &str) -> &str {
    text.trim()
}

struct Wrapper<'a, T> {
    inner: &'a T,
}

#[observe]
fn wrap<T: std::fmt::Debug>(inner: &T) -> Wrapper<'_, T> {
    Wrapper { inner }
}

pub fn main() {
    assert_eq!(echo(vec![1, 2]), [1, 2]);
    assert_eq!(count(&[(); 3]), 3);
    assert_eq!(first(vec!["a"]), Some("a"));
    assert_eq!(evens(5).count(), 3);
    assert_eq!(join([1, 2], "-").unwrap().to_string(), "1-2");
    assert!(join(Vec::<u8>::new(), "-").is_err());
    assert_eq!(longest("ab", "c"), "ab");
    assert_eq!(elided(" x "), "x");
    assert_eq!(*wrap(&7).inner, 7);
}

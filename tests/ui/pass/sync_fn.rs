//! Synchronous functions: plain, unit, `Result` with `?` and early returns, and return values
//! that need the declared type to coerce.
#![deny(warnings, unused)]

use std::error::Error;
use std::fmt;

use langfuse::observe;

#[derive(Debug)]
struct Invalid;

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid")
    }
}

impl Error for Invalid {}

#[observe]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[observe]
fn log(message: &str) {
    assert!(!message.is_empty());
}

#[observe]
#[allow(clippy::unused_unit)]
fn unit_written_out(early: bool) -> () {
    if early {
        return Default::default();
    }
    Default::default()
}

type Nothing = ();

#[observe]
fn unit_alias() -> Nothing {}

#[observe(name = "parse-number", as_type = "tool")]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let n: u32 = text.parse()?;
    Ok(n * 2)
}

#[observe]
fn boxed(fail: bool) -> Result<u32, Box<dyn Error>> {
    if fail {
        return Err(Box::new(Invalid));
    }
    let n: u32 = "2".parse()?;
    Ok(n)
}

#[observe]
fn borrowed(items: &[String]) -> &dyn fmt::Debug {
    &items[0]
}

#[observe(capture_input = false, capture_output = false, skip(b))]
fn quiet(a: u32, b: u32) -> u32 {
    a + b
}

#[observe]
fn r#type(r#match: u32) -> u32 {
    r#match
}

#[observe]
fn items_in_body() -> Result<usize, Invalid> {
    // The body's items stay in its own scope: this `Result` is not the signature's.
    use std::fmt::Result;
    fn helper() -> Result {
        Ok(())
    }
    helper().map_err(|_| Invalid)?;
    Ok(1)
}

pub fn main() {
    assert_eq!(add(1, 2), 3);
    log("hi");
    unit_written_out(true);
    unit_written_out(false);
    unit_alias();
    assert_eq!(parse("21"), Ok(42));
    assert_eq!(parse(""), Ok(0));
    assert!(parse("x").is_err());
    assert!(boxed(true).is_err());
    assert_eq!(boxed(false).unwrap(), 2);
    assert_eq!(format!("{:?}", borrowed(&["a".to_owned()])), "\"a\"");
    assert_eq!(quiet(1, 2), 3);
    assert_eq!(r#type(3), 3);
    assert_eq!(items_in_body().unwrap(), 1);
}

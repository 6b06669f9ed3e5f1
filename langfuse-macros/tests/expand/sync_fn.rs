// Synchronous functions: the defaults, then every argument that changes the expansion.
use langfuse::observe;

#[observe]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[observe(name = "parse-number", as_type = "tool", capture_output = false, skip(radix))]
pub fn parse(text: &str, radix: u32) -> Result<u64, std::num::ParseIntError> {
    u64::from_str_radix(text, radix)
}

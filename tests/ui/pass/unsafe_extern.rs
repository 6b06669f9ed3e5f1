//! `unsafe`, `extern` and `pub(crate)` functions, with attributes and doc comments kept.
#![deny(warnings, unused)]

use langfuse::observe;

/// Reads a byte.
///
/// # Safety
///
/// `pointer` must be valid for reads.
#[observe]
#[inline]
pub(crate) unsafe fn read(pointer: *const u8) -> u8 {
    unsafe { *pointer }
}

#[observe]
extern "C" fn callback(code: i32) -> i32 {
    code * 2
}

#[observe]
#[must_use]
unsafe extern "C" fn both(code: i32) -> i32 {
    code + 1
}

pub fn main() {
    let byte = 7u8;
    // SAFETY: `byte` lives for the call.
    assert_eq!(unsafe { read(&byte) }, 7);
    assert_eq!(callback(2), 4);
    // SAFETY: `both` has no safety requirement of its own.
    assert_eq!(unsafe { both(1) }, 2);
}

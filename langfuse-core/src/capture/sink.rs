//! The bounded JSON buffer every capture writes into, and the cut at its byte budget.
//!
//! The sink tracks the shape of what it is writing (the containers open, whether a string
//! value or an object key is being written, where the current element began), so that when
//! the budget runs out it can close everything it opened and mark the cut where it happened.
//! A cut capture is valid JSON, of this shape:
//!
//! - a string cut in the middle keeps its first bytes (whole characters and escapes) and ends
//!   with [`TRUNCATED_MARKER`]: `"the first wor… [truncated by langfuse]"`;
//! - any other element that does not fit (a number, `true`, a key, a nested container's
//!   opening bracket, the comma before the next element) is left out, and its array or object
//!   gets a final marker entry instead: `[1,2,"… [truncated by langfuse]"]`,
//!   `{"a":1,"… [truncated by langfuse]":null}`;
//! - a top-level value that does not fit at all becomes the marker string itself;
//! - every container open at the cut is closed.
//!
//! The closing brackets (and a string's closing quote) are reserved as each is opened, so
//! the text up to and including them stays within the budget; only the marker entry goes
//! past it, by at most [`MAX_OVERSHOOT`] bytes.
//!
//! The capture serializer (`capture::ser`) writes through the methods here, so that every
//! write costs one comparison against the budget and nothing is written twice.

use std::fmt;
use std::io;

use super::pool;

/// Marker that ends a string cut at its byte budget, and the final entry of an array or
/// object cut there.
pub(crate) const TRUNCATED_MARKER: &str = "… [truncated by langfuse]";

/// The most a cut capture exceeds its budget by: the final marker entry of an object,
/// `,"… [truncated by langfuse]":null` (a cut string's marker is shorter).
#[cfg_attr(not(test), allow(dead_code, reason = "a bound the tests check"))]
pub(crate) const MAX_OVERSHOOT: usize = TRUNCATED_MARKER.len() + 8;

/// Containers nested deeper than this are cut (the capture guard stops values at 64 levels,
/// and the input's object or a stream's array adds one).
const MAX_OPEN: u32 = 127;

/// What is being written at the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// A value, or punctuation between values.
    Value,
    /// An object's key (a cut drops the whole entry).
    Key,
    /// The inside of a string value (a cut keeps its first bytes).
    Text,
}

/// The sink's shape at one point, to come back to (a value that panicked, a stream item
/// without content).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checkpoint {
    len: usize,
    owed: usize,
    depth: u32,
    objects: u128,
    element: usize,
    at: At,
}

/// A bounded buffer receiving JSON. Not a stable API.
#[doc(hidden)]
pub struct JsonSink {
    buf: String,
    limit: usize,
    /// Bytes reserved to close what is open: one per container, one for an open string.
    owed: usize,
    /// Containers open.
    depth: u32,
    /// Bit `i` set: the container at level `i` (0 outermost) is an object.
    objects: u128,
    /// Where the element being written in the innermost container begins (its comma
    /// included), or the value itself at the top level.
    element: usize,
    at: At,
    /// The budget ran out: the JSON is closed and final.
    cut: bool,
}

/// The error that stops serde_json at the budget (a plain kind: no allocation).
#[inline]
fn stop() -> io::Error {
    io::Error::from(io::ErrorKind::WriteZero)
}

impl JsonSink {
    /// An empty sink of `limit` bytes, on a buffer recycled from an earlier capture.
    #[inline]
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: pool::take_string(),
            limit,
            owed: 0,
            depth: 0,
            objects: 0,
            element: 0,
            at: At::Value,
            cut: false,
        }
    }

    /// Whether the budget ran out.
    #[inline]
    pub(crate) fn is_cut(&self) -> bool {
        self.cut
    }

    /// Whether `n` more bytes fit, with what is owed to close.
    #[inline(always)]
    fn fits(&self, n: usize) -> bool {
        self.buf.len() + n + self.owed <= self.limit
    }

    /// Appends `s`, or cuts if it does not fit (`s` is never split: use it for punctuation,
    /// numbers, keys and raw JSON).
    #[inline(always)]
    fn put(&mut self, s: &str) -> io::Result<()> {
        if self.fits(s.len()) {
            self.buf.push_str(s);
            Ok(())
        } else {
            Err(self.overflow(""))
        }
    }

    /// Appends text inside a string value (already escaped), keeping what fits of it if the
    /// budget runs out.
    #[inline(always)]
    fn put_text(&mut self, s: &str) -> io::Result<()> {
        if self.fits(s.len()) {
            self.buf.push_str(s);
            Ok(())
        } else {
            Err(self.overflow(s))
        }
    }

    /// Opens an array or object.
    #[inline(always)]
    fn open(&mut self, bracket: &str, object: bool) -> io::Result<()> {
        // The opening and the closing bracket.
        if !self.fits(2) || self.depth >= MAX_OPEN {
            return Err(self.overflow(""));
        }
        self.buf.push_str(bracket);
        if object {
            self.objects |= 1 << self.depth;
        } else {
            self.objects &= !(1 << self.depth);
        }
        self.depth += 1;
        self.owed += 1;
        self.element = self.buf.len();
        Ok(())
    }

    /// Closes the innermost container (its byte was reserved when it opened).
    #[inline(always)]
    fn close(&mut self, bracket: &str) -> io::Result<()> {
        if self.cut {
            return Err(stop());
        }
        self.depth -= 1;
        self.owed -= 1;
        self.buf.push_str(bracket);
        Ok(())
    }

    /// Starts an element of the innermost array (`first`: no comma before it).
    #[inline(always)]
    fn element(&mut self, first: bool) -> io::Result<()> {
        self.element = self.buf.len();
        self.at = At::Value;
        if first { Ok(()) } else { self.put(",") }
    }

    /// Starts an entry of the innermost object: its key comes next.
    #[inline(always)]
    fn entry(&mut self, first: bool) -> io::Result<()> {
        self.element = self.buf.len();
        self.at = At::Key;
        if first { Ok(()) } else { self.put(",") }
    }

    /// Opens a string: a key, or a value whose closing quote is reserved.
    #[inline(always)]
    fn open_string(&mut self) -> io::Result<()> {
        if self.at == At::Key {
            return self.put("\"");
        }
        if !self.fits(2) {
            return Err(self.overflow(""));
        }
        self.buf.push('"');
        self.owed += 1;
        self.at = At::Text;
        Ok(())
    }

    #[inline(always)]
    fn close_string(&mut self) -> io::Result<()> {
        if self.at != At::Text {
            // A key's closing quote is not reserved.
            return self.put("\"");
        }
        if self.cut {
            return Err(stop());
        }
        self.owed -= 1;
        self.at = At::Value;
        self.buf.push('"');
        Ok(())
    }

    /// The budget ran out while writing `text` (the part of a string value that did not
    /// fit, or empty): closes the JSON as the module docs describe. Returns the error that
    /// stops the serializer.
    #[cold]
    #[inline(never)]
    fn overflow(&mut self, text: &str) -> io::Error {
        if self.cut {
            return stop();
        }
        self.cut = true;
        if self.at == At::Text {
            let room = self
                .limit
                .saturating_sub(self.buf.len() + self.owed)
                .min(text.len());
            let mut end = room;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            self.buf.push_str(&text[..end]);
            self.buf.push_str(TRUNCATED_MARKER);
            self.buf.push('"');
        } else {
            self.buf.truncate(self.element);
            if self.depth > 0 && !matches!(self.buf.as_bytes().last(), Some(b'[' | b'{')) {
                self.buf.push(',');
            }
            self.buf.push('"');
            self.buf.push_str(TRUNCATED_MARKER);
            self.buf.push('"');
            if self.depth > 0 && self.objects & (1 << (self.depth - 1)) != 0 {
                self.buf.push_str(":null");
            }
        }
        while self.depth > 0 {
            self.depth -= 1;
            let object = self.objects & (1 << self.depth) != 0;
            self.buf.push(if object { '}' } else { ']' });
        }
        self.owed = 0;
        self.at = At::Value;
        // Nothing fits any more: whatever user code writes after ignoring the error is
        // dropped, and the JSON stays closed.
        self.limit = 0;
        stop()
    }

    /// The shape now, to come back to with [`JsonSink::restore`].
    #[inline]
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            len: self.buf.len(),
            owed: self.owed,
            depth: self.depth,
            objects: self.objects,
            element: self.element,
            at: self.at,
        }
    }

    /// Forgets what was written since `checkpoint` (not once the budget ran out: the cut
    /// is kept).
    #[inline]
    pub(crate) fn restore(&mut self, checkpoint: Checkpoint) {
        if self.cut {
            return;
        }
        self.buf.truncate(checkpoint.len);
        self.owed = checkpoint.owed;
        self.depth = checkpoint.depth;
        self.objects = checkpoint.objects;
        self.element = checkpoint.element;
        self.at = checkpoint.at;
    }

    /// What was written since `checkpoint`; empty once the budget ran out.
    #[inline]
    pub(crate) fn written_since(&self, checkpoint: &Checkpoint) -> &[u8] {
        if self.cut {
            return &[];
        }
        self.buf
            .as_bytes()
            .get(checkpoint.len..)
            .unwrap_or_default()
    }

    /// Opens an array of values written one by one with [`JsonSink::begin_element`].
    pub(crate) fn begin_array(&mut self) {
        let _ = self.open("[", false);
    }

    /// Opens an object of entries written one by one with [`JsonSink::begin_entry`].
    pub(crate) fn begin_object(&mut self) {
        let _ = self.open("{", true);
    }

    /// Starts the next element of the array opened last; its value comes next.
    #[inline(always)]
    pub(crate) fn begin_element(&mut self, first: bool) -> io::Result<()> {
        self.element(first)
    }

    /// Starts the next entry of the object opened last, under `key`, which must need no
    /// escaping in JSON (a Rust identifier); its value comes next.
    #[inline]
    pub(crate) fn begin_entry(&mut self, first: bool, key: &str) {
        self.element = self.buf.len();
        if self.fits(usize::from(!first) + key.len() + 3) {
            self.push_key(first, key);
        } else {
            self.at = At::Key;
            self.overflow("");
        }
    }

    /// Closes the array or object opened last.
    pub(crate) fn end_container(&mut self) {
        let object = self.depth > 0 && self.objects & (1 << (self.depth - 1)) != 0;
        let _ = self.close(if object { "}" } else { "]" });
    }

    /// Writes `s` as a complete JSON string value.
    pub(crate) fn json_string(&mut self, s: &str) {
        if self.open_string().is_ok() && self.escaped(s).is_ok() {
            let _ = self.close_string();
        }
    }

    /// Opens a string value whose text follows through [`JsonSink::escaped`].
    pub(crate) fn begin_text(&mut self) -> io::Result<()> {
        self.at = At::Value;
        self.open_string()
    }

    /// Closes a string value opened with [`JsonSink::begin_text`].
    pub(crate) fn end_text(&mut self) -> io::Result<()> {
        self.close_string()
    }

    /// Writes `s` escaped as the inside of a JSON string, as serde_json escapes it. Only as
    /// much of `s` is scanned as the budget could take: every byte writes at least one.
    #[inline]
    pub(crate) fn escaped(&mut self, s: &str) -> io::Result<()> {
        let room = self.limit.saturating_sub(self.buf.len() + self.owed);
        let s = if s.len() > room {
            // One byte past what fits, on a character boundary: enough to reach the cut.
            let mut end = room + 1;
            while !s.is_char_boundary(end) {
                end += 1;
            }
            &s[..end]
        } else {
            s
        };
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = 0;
        loop {
            i = next_escape(bytes, i);
            if i == bytes.len() {
                break;
            }
            if start < i {
                self.put_text(&s[start..i])?;
            }
            self.put(escape(bytes[i]).as_str())?;
            i += 1;
            start = i;
        }
        if start < bytes.len() {
            self.put_text(&s[start..])?;
        }
        Ok(())
    }

    /// Serializes `value` through this sink (see `capture::ser`).
    #[inline]
    pub(crate) fn serialize<T: serde::Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), super::ser::Error> {
        super::ser::serialize(value, self)
    }

    /// Containers open.
    #[inline(always)]
    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }

    /// Writes a number, `true`, `false`, `null` or raw JSON: whole, or not at all.
    #[inline(always)]
    pub(crate) fn scalar(&mut self, text: &str) -> io::Result<()> {
        self.put(text)
    }

    /// Writes `s` as a JSON string value (cut, if the budget runs out inside it).
    #[inline(always)]
    pub(crate) fn string_value(&mut self, s: &str) -> io::Result<()> {
        self.at = At::Value;
        // The common case in one check: it fits whole and needs no escaping.
        if self.fits(s.len() + 2) && next_escape(s.as_bytes(), 0) == s.len() {
            self.buf.push('"');
            self.buf.push_str(s);
            self.buf.push('"');
            return Ok(());
        }
        self.open_string()?;
        self.escaped(s)?;
        self.close_string()
    }

    /// Writes `value`'s `Display` as a JSON string value.
    pub(crate) fn display_value(&mut self, value: &(impl fmt::Display + ?Sized)) -> io::Result<()> {
        self.at = At::Value;
        self.open_string()?;
        self.display(value)?;
        self.close_string()
    }

    /// Writes `value`'s `Display` as the key of the entry just begun.
    pub(crate) fn display_key(&mut self, value: &(impl fmt::Display + ?Sized)) -> io::Result<()> {
        self.open_string()?;
        self.display(value)?;
        self.close_string()
    }

    fn display(&mut self, value: &(impl fmt::Display + ?Sized)) -> io::Result<()> {
        use fmt::Write as _;
        /// Escapes `Display` output into the sink as it streams in.
        struct Escaping<'a>(&'a mut JsonSink);
        impl fmt::Write for Escaping<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.escaped(s).map_err(|_| fmt::Error)
            }
        }
        let result = write!(Escaping(self), "{value}");
        if self.cut {
            return Err(stop());
        }
        result.map_err(|_| io::Error::other("a Display implementation returned an error"))
    }

    /// Opens an array or object for the serializer.
    #[inline(always)]
    pub(crate) fn open_container(&mut self, object: bool) -> io::Result<()> {
        self.open(if object { "{" } else { "[" }, object)
    }

    /// Closes the innermost container for the serializer.
    #[inline(always)]
    pub(crate) fn close_container(&mut self) -> io::Result<()> {
        let object = self.depth > 0 && self.objects & (1 << (self.depth - 1)) != 0;
        self.close(if object { "}" } else { "]" })
    }

    /// Starts an entry of the innermost object: its key comes next.
    #[inline(always)]
    pub(crate) fn begin_key(&mut self, first: bool) -> io::Result<()> {
        self.entry(first)
    }

    /// Writes the key of the entry just begun (escaped as needed).
    #[inline(always)]
    pub(crate) fn key_str(&mut self, key: &str) -> io::Result<()> {
        self.open_string()?;
        self.escaped(key)?;
        self.close_string()
    }

    /// Writes a whole entry's key, `,"key":` (the comma unless `first`): in one check when it
    /// fits and needs no escaping, as a struct's field names do.
    #[inline(always)]
    pub(crate) fn field_key(&mut self, first: bool, key: &str) -> io::Result<()> {
        self.element = self.buf.len();
        if self.fits(usize::from(!first) + key.len() + 3)
            && next_escape(key.as_bytes(), 0) == key.len()
        {
            self.push_key(first, key);
            return Ok(());
        }
        self.entry(first)?;
        self.key_str(key)?;
        self.end_key()
    }

    /// Writes `,"key":` (the comma unless `first`), already checked to fit and to need no
    /// escaping; its value comes next.
    #[inline(always)]
    fn push_key(&mut self, first: bool, key: &str) {
        if !first {
            self.buf.push(',');
        }
        self.buf.push('"');
        self.buf.push_str(key);
        self.buf.push_str("\":");
        self.at = At::Value;
    }

    /// Ends a key: the `:` (still part of the entry: if it does not fit, the entry is left
    /// out), then its value comes.
    #[inline(always)]
    pub(crate) fn end_key(&mut self) -> io::Result<()> {
        self.put(":")?;
        self.at = At::Value;
        Ok(())
    }

    /// The captured JSON: valid, and cut as the module docs describe if the budget ran out.
    #[inline]
    pub(crate) fn into_payload(self) -> super::Payload {
        let mut buf = self.buf;
        if buf.is_empty() {
            buf.push_str("null");
        }
        super::Payload::Json(buf)
    }
}

/// The index of the first byte at or after `from` that JSON needs escaped (a control
/// character, `"` or `\`), or `bytes.len()`. Eight bytes at a time.
#[inline(always)]
fn next_escape(bytes: &[u8], mut from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// Whether any byte of `x` is zero (exact for the word as a whole).
    #[inline(always)]
    fn any_zero(x: u64) -> bool {
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    }
    while from + 8 <= bytes.len() {
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[from..from + 8]);
        let x = u64::from_le_bytes(word);
        // A byte below 0x20 (exact for bytes below 0x80; a byte at or above 0x80 never
        // sets its high bit here), or one equal to `"` or `\`.
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGHS != 0;
        if below
            || any_zero(x ^ (ONES * u64::from(b'"')))
            || any_zero(x ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        from += 8;
    }
    while from < bytes.len() && !needs_escape(bytes[from]) {
        from += 1;
    }
    from
}

/// Whether JSON needs byte `b` escaped: one load, where three comparisons would branch.
#[inline(always)]
fn needs_escape(b: u8) -> bool {
    NEEDS_ESCAPE[usize::from(b)]
}

/// [`needs_escape`] for every byte: control characters, `"` and `\\`.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// An escape sequence, as serde_json spells it.
struct Escape {
    bytes: [u8; 6],
    len: u8,
}

impl Escape {
    #[inline(always)]
    fn as_str(&self) -> &str {
        // Only ASCII is ever written into it.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("\\u0000")
    }
}

#[inline]
fn escape(b: u8) -> Escape {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => 0,
    };
    if short != 0 {
        return Escape {
            bytes: [b'\\', short, 0, 0, 0, 0],
            len: 2,
        };
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    Escape {
        bytes: [
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ],
        len: 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_escape_finds_the_first_byte_to_escape_at_every_length_and_position() {
        for len in 0..40 {
            for from in 0..=len {
                let clean = vec![b'a'; len];
                assert_eq!(next_escape(&clean, from), len);
                for at in from..len {
                    for byte in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                        let mut bytes = clean.clone();
                        bytes[at] = byte;
                        assert_eq!(next_escape(&bytes, from), at, "len {len} from {from}");
                    }
                }
            }
        }
    }
}

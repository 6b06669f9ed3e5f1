//! The capture serializer: a `serde::Serializer` that writes JSON straight into a
//! [`JsonSink`], within its budget.
//!
//! Its output is byte for byte what `serde_json` writes (compact), except where `serde_json`
//! has a behaviour capture cannot accept:
//!
//! - A non-finite float (`NaN`, `inf`, `-inf`) would be written as `null`, so the trace would
//!   show nothing where the program had a value worth seeing. Here it becomes a string marker:
//!   [`NAN`], [`INFINITY`] or [`NEG_INFINITY`] (JavaScript's and Python's spellings), also as
//!   a map key.
//! - Serialization recurses once per level of nesting, so a deeply nested (or endlessly
//!   self-referential) value would overflow the stack, which aborts the process: no
//!   `catch_unwind` can stop it. Here a container nested deeper than [`MAX_DEPTH`] levels is
//!   replaced by the string [`DEPTH_MARKER`], and its contents are never visited.
//!
//! The work is proportional to what is written, not to the value: the sink stops at its
//! budget, and a long string is only scanned for characters to escape as far as the budget
//! can take it (a 1 MB argument costs what the 32 KB the budget keeps cost). Strings are
//! scanned eight bytes at a time. `serde_json::value::RawValue` is written as its raw text,
//! as `serde_json` writes it.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};

use super::sink::JsonSink;

/// Containers nested deeper than this are replaced by [`DEPTH_MARKER`]. Well below
/// `serde_json`'s own parsing limit (128), so everything captured can be parsed back (the
/// exporter parses captures for the `mask` hook).
pub(crate) const MAX_DEPTH: u32 = 64;

/// Written in place of a container nested deeper than [`MAX_DEPTH`].
pub(crate) const DEPTH_MARKER: &str = "<nested deeper than 64 levels>";
/// Written in place of `NaN`.
pub(crate) const NAN: &str = "NaN";
/// Written in place of positive infinity.
pub(crate) const INFINITY: &str = "Infinity";
/// Written in place of negative infinity.
pub(crate) const NEG_INFINITY: &str = "-Infinity";

/// The struct name by which `serde_json::value::RawValue` asks for its text to be written as
/// is (serde_json's `TOKEN`).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// Why serialization stopped.
#[derive(Debug)]
pub(crate) enum Error {
    /// The budget ran out; the sink has closed the JSON.
    Cut,
    /// The value refused to serialize (its own error, or a map key that is not a string).
    Refused(String),
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cut => f.write_str("the capture budget ran out"),
            Error::Refused(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Refused(msg.to_string())
    }
}

type Result<T = ()> = std::result::Result<T, Error>;

/// The marker for a non-finite float, `None` for a finite one.
#[inline]
fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_finite() {
        None
    } else if v.is_nan() {
        Some(NAN)
    } else if v > 0.0 {
        Some(INFINITY)
    } else {
        Some(NEG_INFINITY)
    }
}

/// Serializes `value` into `sink` (see the module docs).
#[inline]
pub(crate) fn serialize<T: Serialize + ?Sized>(value: &T, sink: &mut JsonSink) -> Result {
    let base = sink.depth();
    value.serialize(&mut Serializer { sink, base })
}

/// Writes one value into the sink. `base` is the sink's depth where the value began, from
/// which its own nesting is counted.
pub(crate) struct Serializer<'a> {
    sink: &'a mut JsonSink,
    base: u32,
}

impl<'a> Serializer<'a> {
    /// Whether a container nesting `levels` JSON levels would pass the limit if opened here.
    #[inline]
    fn too_deep(&self, levels: u32) -> bool {
        self.sink.depth() - self.base + levels > MAX_DEPTH
    }

    #[inline]
    fn string(&mut self, v: &str) -> Result {
        self.sink.string_value(v).map_err(|_| Error::Cut)
    }

    #[inline]
    fn scalar(&mut self, text: &str) -> Result {
        self.sink.scalar(text).map_err(|_| Error::Cut)
    }

    /// Opens an array (or an object) of elements, or writes the depth marker in its place.
    #[inline]
    fn open<'s>(&'s mut self, object: bool) -> Result<Compound<'s, 'a>> {
        if self.too_deep(1) {
            self.string(DEPTH_MARKER)?;
            return Ok(Compound::skipped(self));
        }
        self.sink.open_container(object).map_err(|_| Error::Cut)?;
        Ok(Compound::open(self, 1))
    }

    /// Opens `{"variant":` and then an array (or object) inside it: two levels.
    #[inline]
    fn open_variant<'s>(
        &'s mut self,
        variant: &'static str,
        object: bool,
    ) -> Result<Compound<'s, 'a>> {
        if self.too_deep(2) {
            self.string(DEPTH_MARKER)?;
            return Ok(Compound::skipped(self));
        }
        self.variant_key(variant)?;
        self.sink.open_container(object).map_err(|_| Error::Cut)?;
        Ok(Compound::open(self, 2))
    }

    /// Writes `{"variant":`, leaving the object open.
    #[inline]
    fn variant_key(&mut self, variant: &'static str) -> Result {
        self.sink.open_container(true).map_err(|_| Error::Cut)?;
        self.sink.begin_key(true).map_err(|_| Error::Cut)?;
        self.sink.key_str(variant).map_err(|_| Error::Cut)?;
        self.sink.end_key().map_err(|_| Error::Cut)
    }
}

macro_rules! integers {
    ($($method:ident($ty:ty);)*) => {
        $(
            #[inline]
            fn $method(self, v: $ty) -> Result {
                self.scalar(itoa::Buffer::new().format(v))
            }
        )*
    };
}

impl<'s, 'a> ser::Serializer for &'s mut Serializer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" })
    }

    integers! {
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result {
        match non_finite(f64::from(v)) {
            Some(marker) => self.string(marker),
            None => self.scalar(zmij::Buffer::new().format_finite(v)),
        }
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result {
        match non_finite(v) {
            Some(marker) => self.string(marker),
            None => self.scalar(zmij::Buffer::new().format_finite(v)),
        }
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result {
        self.string(v.encode_utf8(&mut [0; 4]))
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result {
        use ser::SerializeSeq as _;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    #[inline]
    fn serialize_none(self) -> Result {
        self.scalar("null")
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result {
        self.scalar("null")
    }

    #[inline]
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.scalar("null")
    }

    #[inline]
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.string(variant)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        if self.too_deep(1) {
            return self.string(DEPTH_MARKER);
        }
        self.variant_key(variant)?;
        value.serialize(&mut *self)?;
        self.sink.close_container().map_err(|_| Error::Cut)
    }

    #[inline]
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'s, 'a>> {
        self.open(false)
    }

    #[inline]
    fn serialize_tuple(self, _: usize) -> Result<Compound<'s, 'a>> {
        self.open(false)
    }

    #[inline]
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'s, 'a>> {
        self.open(false)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'s, 'a>> {
        self.open_variant(variant, false)
    }

    #[inline]
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'s, 'a>> {
        self.open(true)
    }

    #[inline]
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'s, 'a>> {
        if name == RAW_VALUE {
            return Ok(Compound::raw(self));
        }
        self.open(true)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'s, 'a>> {
        self.open_variant(variant, true)
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result {
        self.sink.display_value(value).map_err(|_| Error::Cut)
    }
}

/// What a compound does with what it is given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Writes elements and entries; closes `levels` containers at the end.
    Open { levels: u8 },
    /// Past the depth limit, its marker written: ignores everything.
    Skipped,
    /// `RawValue`: its one field is the JSON text to write.
    Raw,
}

/// A container being written.
pub(crate) struct Compound<'s, 'a> {
    ser: &'s mut Serializer<'a>,
    mode: Mode,
    first: bool,
}

impl<'s, 'a> Compound<'s, 'a> {
    #[inline]
    fn open(ser: &'s mut Serializer<'a>, levels: u8) -> Self {
        Self {
            ser,
            mode: Mode::Open { levels },
            first: true,
        }
    }

    #[inline]
    fn skipped(ser: &'s mut Serializer<'a>) -> Self {
        Self {
            ser,
            mode: Mode::Skipped,
            first: true,
        }
    }

    #[inline]
    fn raw(ser: &'s mut Serializer<'a>) -> Self {
        Self {
            ser,
            mode: Mode::Raw,
            first: true,
        }
    }

    /// Writes one element of an array.
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if self.mode == Mode::Skipped {
            return Ok(());
        }
        self.ser
            .sink
            .begin_element(self.first)
            .map_err(|_| Error::Cut)?;
        self.first = false;
        value.serialize(&mut *self.ser)
    }

    /// Writes the key of an object's entry (any map key serde_json accepts).
    #[inline]
    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result {
        if self.mode == Mode::Skipped {
            return Ok(());
        }
        self.ser
            .sink
            .begin_key(self.first)
            .map_err(|_| Error::Cut)?;
        self.first = false;
        key.serialize(KeySerializer(self.ser.sink))?;
        self.ser.sink.end_key().map_err(|_| Error::Cut)
    }

    /// Writes a struct field's key, a name known at compile time.
    #[inline]
    fn field_key(&mut self, key: &'static str) -> Result {
        let first = std::mem::replace(&mut self.first, false);
        self.ser.sink.field_key(first, key).map_err(|_| Error::Cut)
    }

    /// Writes the value of the entry whose key was just written.
    #[inline]
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if self.mode == Mode::Skipped {
            return Ok(());
        }
        value.serialize(&mut *self.ser)
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        match self.mode {
            Mode::Skipped => Ok(()),
            Mode::Raw => value.serialize(RawSerializer(self.ser.sink)),
            Mode::Open { .. } => {
                self.field_key(key)?;
                value.serialize(&mut *self.ser)
            }
        }
    }

    #[inline]
    fn end(self) -> Result {
        if let Mode::Open { levels } = self.mode {
            for _ in 0..levels {
                self.ser.sink.close_container().map_err(|_| Error::Cut)?;
            }
        }
        Ok(())
    }
}

macro_rules! sequence_like {
    ($($trait:ident::$method:ident;)*) => {
        $(
            impl ser::$trait for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;

                #[inline]
                fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                    self.element(value)
                }

                #[inline]
                fn end(self) -> Result {
                    Compound::end(self)
                }
            }
        )*
    };
}

sequence_like! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

macro_rules! struct_like {
    ($($trait:ident;)*) => {
        $(
            impl ser::$trait for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;

                #[inline]
                fn serialize_field<T: Serialize + ?Sized>(
                    &mut self,
                    key: &'static str,
                    value: &T,
                ) -> Result {
                    self.field(key, value)
                }

                #[inline]
                fn end(self) -> Result {
                    Compound::end(self)
                }
            }
        )*
    };
}

struct_like! {
    SerializeStruct;
    SerializeStructVariant;
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key(key)
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }

    #[inline]
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result {
        self.key(key)?;
        self.value(value)
    }

    #[inline]
    fn end(self) -> Result {
        Compound::end(self)
    }
}

fn key_must_be_a_string() -> Error {
    Error::Refused("key must be a string".to_owned())
}

/// Writes a map key as serde_json does: strings as they are; numbers, booleans and unit
/// variants as strings; non-finite floats as their markers; anything else refused.
struct KeySerializer<'a>(&'a mut JsonSink);

impl KeySerializer<'_> {
    #[inline]
    fn key(self, text: &str) -> Result {
        self.0.key_str(text).map_err(|_| Error::Cut)
    }
}

macro_rules! integer_keys {
    ($($method:ident($ty:ty);)*) => {
        $(
            #[inline]
            fn $method(self, v: $ty) -> Result {
                self.key(itoa::Buffer::new().format(v))
            }
        )*
    };
}

macro_rules! refused_keys {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<$ok> {
                Err(key_must_be_a_string())
            }
        )*
    };
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result {
        self.key(v)
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result {
        self.key(v.encode_utf8(&mut [0; 4]))
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result {
        self.key(if v { "true" } else { "false" })
    }

    integer_keys! {
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
    }

    fn serialize_f32(self, v: f32) -> Result {
        match non_finite(f64::from(v)) {
            Some(marker) => self.key(marker),
            None => self.key(zmij::Buffer::new().format_finite(v)),
        }
    }

    fn serialize_f64(self, v: f64) -> Result {
        match non_finite(v) {
            Some(marker) => self.key(marker),
            None => self.key(zmij::Buffer::new().format_finite(v)),
        }
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.key(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result {
        self.0.display_key(value).map_err(|_| Error::Cut)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }

    refused_keys! {
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}

/// Receives `RawValue`'s text (its only field, a string) and writes it as is.
struct RawSerializer<'a>(&'a mut JsonSink);

impl ser::Serializer for RawSerializer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result {
        self.0.scalar(v).map_err(|_| Error::Cut)
    }

    fn serialize_bool(self, _: bool) -> Result {
        Err(not_raw())
    }
    fn serialize_i8(self, _: i8) -> Result {
        Err(not_raw())
    }
    fn serialize_i16(self, _: i16) -> Result {
        Err(not_raw())
    }
    fn serialize_i32(self, _: i32) -> Result {
        Err(not_raw())
    }
    fn serialize_i64(self, _: i64) -> Result {
        Err(not_raw())
    }
    fn serialize_u8(self, _: u8) -> Result {
        Err(not_raw())
    }
    fn serialize_u16(self, _: u16) -> Result {
        Err(not_raw())
    }
    fn serialize_u32(self, _: u32) -> Result {
        Err(not_raw())
    }
    fn serialize_u64(self, _: u64) -> Result {
        Err(not_raw())
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(not_raw())
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(not_raw())
    }
    fn serialize_char(self, _: char) -> Result {
        Err(not_raw())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(not_raw())
    }
    fn serialize_none(self) -> Result {
        Err(not_raw())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(not_raw())
    }
    fn serialize_unit(self) -> Result {
        Err(not_raw())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(not_raw())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result {
        Err(not_raw())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result {
        Err(not_raw())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(not_raw())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(not_raw())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(not_raw())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(not_raw())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(not_raw())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(not_raw())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(not_raw())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(not_raw())
    }
}

fn not_raw() -> Error {
    Error::Refused("a raw JSON value must be a string".to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::Value;

    use serde::ser::{self, Serializer};
    use std::result::Result;

    use super::*;

    /// [`MAX_DEPTH`] as a count of levels.
    const LIMIT: usize = MAX_DEPTH as usize;

    /// What capture writes for `value`, with no budget.
    fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
        let mut sink = JsonSink::new(usize::MAX);
        sink.serialize(value).expect("serializes");
        match sink.into_payload() {
            crate::capture::Payload::Json(json) => json,
            crate::capture::Payload::Text(text) => text,
        }
    }

    /// A value nested `levels` deep, produced lazily: nothing of it exists in memory, so only
    /// its serialization can be deep.
    struct Deep(usize);

    impl Serialize for Deep {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq as _;
            if self.0 == 0 {
                return serializer.serialize_u8(0);
            }
            let mut seq = serializer.serialize_seq(Some(1))?;
            seq.serialize_element(&Deep(self.0 - 1))?;
            seq.end()
        }
    }

    /// How many containers deep a JSON value is.
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// The innermost scalar of a value that nests one element per level.
    fn innermost(mut value: &Value) -> &Value {
        loop {
            value = match value {
                Value::Array(items) if !items.is_empty() => &items[0],
                Value::Object(map) if !map.is_empty() => map.values().next().unwrap(),
                other => return other,
            };
        }
    }

    #[test]
    fn non_finite_floats_become_markers() {
        assert_eq!(to_json(&f64::NAN), r#""NaN""#);
        assert_eq!(to_json(&f64::INFINITY), r#""Infinity""#);
        assert_eq!(to_json(&f64::NEG_INFINITY), r#""-Infinity""#);
        assert_eq!(to_json(&f32::NAN), r#""NaN""#);
        assert_eq!(to_json(&f32::INFINITY), r#""Infinity""#);
        assert_eq!(to_json(&f32::NEG_INFINITY), r#""-Infinity""#);
        // Finite values are untouched, edge cases included.
        for v in [
            0.0,
            -0.0,
            1.5,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            1e-300,
        ] {
            assert_eq!(to_json(&v), serde_json::to_string(&v).unwrap());
        }
        assert_eq!(
            to_json(&f32::MAX),
            serde_json::to_string(&f32::MAX).unwrap()
        );
    }

    #[test]
    fn non_finite_floats_are_replaced_wherever_they_are() {
        #[derive(Serialize)]
        struct Scores {
            loss: f64,
            history: Vec<f32>,
            best: Option<f64>,
            by_name: BTreeMap<String, f64>,
            pair: (f64, u8),
        }
        #[derive(Serialize)]
        enum Metric {
            Single(f64),
            Pair(f64, f64),
            Named { value: f64 },
        }
        let scores = Scores {
            loss: f64::NAN,
            history: vec![1.0, f32::INFINITY, f32::NEG_INFINITY],
            best: Some(f64::INFINITY),
            by_name: [("a".to_owned(), f64::NAN)].into(),
            pair: (f64::NEG_INFINITY, 1),
        };
        assert_eq!(
            to_json(&scores),
            r#"{"loss":"NaN","history":[1.0,"Infinity","-Infinity"],"best":"Infinity","by_name":{"a":"NaN"},"pair":["-Infinity",1]}"#
        );
        assert_eq!(to_json(&Metric::Single(f64::NAN)), r#"{"Single":"NaN"}"#);
        assert_eq!(
            to_json(&Metric::Pair(f64::NAN, 2.0)),
            r#"{"Pair":["NaN",2.0]}"#
        );
        assert_eq!(
            to_json(&Metric::Named {
                value: f64::INFINITY
            }),
            r#"{"Named":{"value":"Infinity"}}"#
        );
    }

    #[test]
    fn float_map_keys_are_written_as_strings() {
        // serde_json refuses a non-finite float key; through the adapter it is a marker.
        let map: BTreeMap<u8, Vec<f64>> = [(1, vec![f64::NAN])].into();
        assert_eq!(to_json(&map), r#"{"1":["NaN"]}"#);
        struct NanKey;
        impl Serialize for NanKey {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry(&f64::NAN, &1)?;
                map.serialize_key(&1.5f64)?;
                map.serialize_value(&f64::INFINITY)?;
                map.end()
            }
        }
        assert!(serde_json::to_string(&NanKey).is_err());
        assert_eq!(to_json(&NanKey), r#"{"NaN":1,"1.5":"Infinity"}"#);
    }

    #[test]
    fn nesting_stops_at_the_limit_with_a_marker() {
        // Exactly at the limit: written in full.
        let json = to_json(&Deep(LIMIT));
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(depth(&value), LIMIT);
        assert_eq!(innermost(&value), &Value::from(0));

        // One level more: the innermost container becomes the marker.
        let json = to_json(&Deep(LIMIT + 1));
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(depth(&value), LIMIT);
        assert_eq!(innermost(&value), &Value::from(DEPTH_MARKER));
    }

    #[test]
    fn endless_nesting_ends_without_exhausting_the_stack() {
        // Unguarded, this recursion would overflow any thread's stack long before it ended.
        for levels in [1_000, 1_000_000, usize::MAX] {
            let json = to_json(&Deep(levels));
            let value: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(depth(&value), LIMIT);
            assert_eq!(innermost(&value), &Value::from(DEPTH_MARKER));
        }
    }

    #[test]
    fn every_container_kind_counts_towards_the_limit() {
        /// Nests `self.0` levels, cycling through every kind of container serde has.
        struct Mixed(usize);
        impl Serialize for Mixed {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::*;
                let Some(next) = self.0.checked_sub(1) else {
                    return s.serialize_str("leaf");
                };
                let next = Mixed(next);
                match self.0 % 8 {
                    0 => {
                        let mut x = s.serialize_tuple(1)?;
                        x.serialize_element(&next)?;
                        x.end()
                    }
                    1 => {
                        let mut x = s.serialize_tuple_struct("T", 1)?;
                        x.serialize_field(&next)?;
                        x.end()
                    }
                    2 => {
                        let mut x = s.serialize_tuple_variant("E", 0, "V", 1)?;
                        x.serialize_field(&next)?;
                        x.end()
                    }
                    3 => {
                        let mut x = s.serialize_map(Some(1))?;
                        x.serialize_entry("k", &next)?;
                        x.end()
                    }
                    4 => {
                        let mut x = s.serialize_struct("S", 1)?;
                        x.serialize_field("f", &next)?;
                        x.end()
                    }
                    5 => {
                        let mut x = s.serialize_struct_variant("E", 0, "V", 1)?;
                        x.serialize_field("f", &next)?;
                        x.end()
                    }
                    6 => s.serialize_newtype_variant("E", 0, "V", &next),
                    // Newtypes and options add no level.
                    _ => s.serialize_some(&Some(&next)),
                }
            }
        }
        let value: Value = serde_json::from_str(&to_json(&Mixed(10_000))).unwrap();
        assert!(depth(&value) <= LIMIT, "{}", depth(&value));
        assert_eq!(innermost(&value), &Value::from(DEPTH_MARKER));
        // A shallow one is written in full, exactly as serde_json writes it.
        assert_eq!(
            to_json(&Mixed(17)),
            serde_json::to_string(&Mixed(17)).unwrap()
        );
    }

    #[test]
    fn shallow_finite_values_are_written_exactly_as_serde_json_writes_them() {
        #[derive(Serialize)]
        struct Doc<'a> {
            id: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            parent: Option<u64>,
            text: &'a str,
            bytes: &'a [u8],
            tags: Vec<&'a str>,
            big: i128,
            unit: (),
            nested: BTreeMap<&'a str, Vec<Option<bool>>>,
            c: char,
        }
        let doc = Doc {
            id: u64::MAX,
            parent: None,
            text: "quote \" backslash \\ newline \n emoji 😀 nul \u{0}",
            bytes: &[0, 255],
            tags: vec!["a", "b"],
            big: i128::MIN,
            unit: (),
            nested: [("k", vec![Some(true), None])].into(),
            c: 'é',
        };
        assert_eq!(to_json(&doc), serde_json::to_string(&doc).unwrap());
        let raw = serde_json::value::RawValue::from_string(r#"{"raw": [1, 2]}"#.into()).unwrap();
        assert_eq!(to_json(&raw), r#"{"raw": [1, 2]}"#);
        let value = serde_json::json!({"a": [1, {"b": null}], "c": "d", "e": 1.25});
        assert_eq!(to_json(&value), value.to_string());
    }

    #[test]
    fn errors_from_the_value_pass_through() {
        struct Refuses;
        impl Serialize for Refuses {
            fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(ser::Error::custom("not today"))
            }
        }
        let mut sink = JsonSink::new(usize::MAX);
        let error = sink.serialize(&vec![Refuses]).unwrap_err();
        assert!(error.to_string().contains("not today"), "{error}");
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::Value;

        use super::to_json;

        /// Arbitrary JSON values, nested well below the limit.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                ".*".prop_map(Value::from),
            ];
            leaf.prop_recursive(8, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map(".*", inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn valid_json_is_written_exactly_as_serde_json_writes_it(value in json_value()) {
                let plain = serde_json::to_string(&value).unwrap();
                prop_assert_eq!(to_json(&value), plain);
            }

            #[test]
            fn any_floats_give_valid_json(values in prop::collection::vec(any::<f64>(), 0..16)) {
                let json = to_json(&values);
                let parsed: Vec<Value> = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(parsed.len(), values.len());
                // Finite values are written exactly as serde_json writes them.
                let expected: Vec<String> = values
                    .iter()
                    .map(|v| match super::super::non_finite(*v) {
                        Some(marker) => format!("\"{marker}\""),
                        None => serde_json::to_string(v).unwrap(),
                    })
                    .collect();
                prop_assert_eq!(json, format!("[{}]", expected.join(",")));
            }
        }
    }
}

//! A `serde::Serializer` adapter that makes any `Serialize` value safe to capture as JSON.
//!
//! `serde_json` on its own has two behaviours capture cannot accept:
//!
//! - A non-finite float (`NaN`, `inf`, `-inf`) is written as `null`, so the trace shows
//!   nothing where the program had a value worth seeing. Here it becomes a string marker:
//!   [`NAN`], [`INFINITY`] or [`NEG_INFINITY`] (JavaScript's and Python's spellings).
//! - Serialization recurses once per level of nesting, so a deeply nested (or endlessly
//!   self-referential) value overflows the stack, which aborts the process: no
//!   `catch_unwind` can stop it. Here a container nested deeper than [`MAX_DEPTH`] levels is
//!   replaced by the string [`DEPTH_MARKER`], and its contents are never visited.
//!
//! It also cuts a string longer than the capture budget before `serde_json` sees it:
//! `serde_json` scans a whole string for characters to escape before it writes any of it, so
//! a 1 MB argument would cost a 1 MB scan for the 32 KB the budget keeps.
//!
//! The adapter is generic over the inner serializer and forwards everything else unchanged,
//! so the output for finite, shallow values is byte for byte what `serde_json` writes (cut to
//! the budget, what the sink keeps is too). It costs two extra words (the depth and the
//! string limit) per nested value; everything else is inlined away.
//!
//! How it reaches nested values: `serde_json`'s compound serializers call
//! `value.serialize(&mut *their_serializer)` for every element, which would bypass a plain
//! wrapper. So every element, field, key and newtype payload is handed down wrapped in
//! [`Guarded`], whose `Serialize` puts the adapter back around whatever serializer it is given.

use serde::ser::{self, Serialize, Serializer};

/// Containers nested deeper than this are replaced by [`DEPTH_MARKER`]. Well below
/// `serde_json`'s own parsing limit (128), so everything captured can be parsed back (the
/// exporter parses captures for the `mask` hook).
pub(crate) const MAX_DEPTH: usize = 64;

/// Written in place of a container nested deeper than [`MAX_DEPTH`].
pub(crate) const DEPTH_MARKER: &str = "<nested deeper than 64 levels>";
/// Written in place of `NaN`.
pub(crate) const NAN: &str = "NaN";
/// Written in place of positive infinity.
pub(crate) const INFINITY: &str = "Infinity";
/// Written in place of negative infinity.
pub(crate) const NEG_INFINITY: &str = "-Infinity";

/// `value`, ready to be serialized through the adapter (at the top level). Strings longer
/// than `max_str` bytes are cut to about that length before serde_json sees them: the sink
/// keeps at most `max_str` bytes anyway, and serde_json scans a whole string for characters
/// to escape before writing it, so a 1 MB string would otherwise cost a 1 MB scan.
#[inline]
pub(crate) fn guarded<T: ?Sized>(value: &T, max_str: usize) -> Guarded<'_, T> {
    Guarded {
        value,
        at: Level { depth: 0, max_str },
    }
}

/// Where a value sits: how many containers deep, and how long a string can still show.
#[derive(Clone, Copy)]
struct Level {
    depth: usize,
    max_str: usize,
}

impl Level {
    /// The level of a container's elements, `levels` JSON levels further down.
    #[inline]
    fn deeper(self, levels: usize) -> Self {
        Self {
            depth: self.depth + levels,
            ..self
        }
    }
}

/// A value that serializes through [`Guard`], at level `at`.
pub(crate) struct Guarded<'a, T: ?Sized> {
    value: &'a T,
    at: Level,
}

impl<T: Serialize + ?Sized> Serialize for Guarded<'_, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Guard {
            inner: serializer,
            at: self.at,
        })
    }
}

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

/// The adapter around a serializer `S`, at level `at`.
struct Guard<S> {
    inner: S,
    at: Level,
}

impl<S: Serializer> Guard<S> {
    /// Whether a container that nests `levels` JSON levels would pass the limit if opened
    /// here. Enum variants with content take two: serde_json writes `{"Variant":[...]}`.
    #[inline]
    fn too_deep(&self, levels: usize) -> bool {
        self.at.depth + levels > MAX_DEPTH
    }

    /// Writes the depth marker in place of a container, and returns a compound that ignores
    /// whatever the value then tries to put into it.
    #[cold]
    fn skip<C>(self) -> Result<Compound<C, S::Ok>, S::Error> {
        self.inner
            .serialize_str(DEPTH_MARKER)
            .map(Compound::Skipped)
    }

    /// The compound of a container whose elements sit at level `at`.
    #[inline]
    fn open<C>(at: Level, inner: Result<C, S::Error>) -> Result<Compound<C, S::Ok>, S::Error> {
        inner.map(|inner| Compound::Open { inner, at })
    }
}

macro_rules! forward {
    ($($method:ident($ty:ty);)*) => {
        $(
            #[inline]
            fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<S: Serializer> Serializer for Guard<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq, S::Ok>;
    type SerializeTuple = Compound<S::SerializeTuple, S::Ok>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct, S::Ok>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant, S::Ok>;
    type SerializeMap = Compound<S::SerializeMap, S::Ok>;
    type SerializeStruct = Compound<S::SerializeStruct, S::Ok>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant, S::Ok>;

    forward! {
        serialize_bool(bool);
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
        serialize_char(char);
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        if v.len() > self.at.max_str {
            return self.inner.serialize_str(cut_str(v, self.at.max_str));
        }
        self.inner.serialize_str(v)
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        // Each byte takes at least two characters (`0,`): `max_str` bytes overflow the sink.
        self.inner
            .serialize_bytes(&v[..v.len().min(self.at.max_str)])
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        match non_finite(f64::from(v)) {
            Some(marker) => self.inner.serialize_str(marker),
            None => self.inner.serialize_f32(v),
        }
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        match non_finite(v) {
            Some(marker) => self.inner.serialize_str(marker),
            None => self.inner.serialize_f64(v),
        }
    }

    #[inline]
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        // `Some(x)` is written as `x`: no extra level.
        self.inner.serialize_some(&Guarded { value, at: self.at })
    }

    #[inline]
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    #[inline]
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // A newtype is written as its content (this is also how `RawValue` reaches
        // serde_json's raw writer, which only ever asks the wrapped value for a string).
        self.inner
            .serialize_newtype_struct(name, &Guarded { value, at: self.at })
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // Written as `{"Variant": value}`: one level.
        if self.too_deep(1) {
            return self.inner.serialize_str(DEPTH_MARKER);
        }
        self.inner.serialize_newtype_variant(
            name,
            index,
            variant,
            &Guarded {
                value,
                at: self.at.deeper(1),
            },
        )
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        if self.too_deep(1) {
            return self.skip();
        }
        Self::open(self.at.deeper(1), self.inner.serialize_seq(len))
    }

    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        if self.too_deep(1) {
            return self.skip();
        }
        Self::open(self.at.deeper(1), self.inner.serialize_tuple(len))
    }

    #[inline]
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        if self.too_deep(1) {
            return self.skip();
        }
        Self::open(
            self.at.deeper(1),
            self.inner.serialize_tuple_struct(name, len),
        )
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        if self.too_deep(2) {
            return self.skip();
        }
        let inner = self
            .inner
            .serialize_tuple_variant(name, index, variant, len);
        Self::open(self.at.deeper(2), inner)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        if self.too_deep(1) {
            return self.skip();
        }
        Self::open(self.at.deeper(1), self.inner.serialize_map(len))
    }

    #[inline]
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        if self.too_deep(1) {
            return self.skip();
        }
        Self::open(self.at.deeper(1), self.inner.serialize_struct(name, len))
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        if self.too_deep(2) {
            return self.skip();
        }
        let inner = self
            .inner
            .serialize_struct_variant(name, index, variant, len);
        Self::open(self.at.deeper(2), inner)
    }

    #[inline]
    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The longest prefix of `v` of at most `max` bytes that ends on a character boundary, or
/// the first character if it is longer (never empty, so the cut string still fills the
/// sink).
#[cold]
fn cut_str(v: &str, max: usize) -> &str {
    let mut end = max.max(1).min(v.len());
    while !v.is_char_boundary(end) {
        end += 1;
    }
    &v[..end]
}

/// A container being written: its elements go down guarded one level deeper. `Skipped` is a
/// container past the depth limit whose marker is already written: its elements are ignored.
enum Compound<C, Ok> {
    Open { inner: C, at: Level },
    Skipped(Ok),
}

impl<C, Ok> Compound<C, Ok> {
    /// Hands `value` to `write` guarded at this container's depth; nothing when skipped.
    #[inline]
    fn element<E>(&mut self, write: impl FnOnce(&mut C, Level) -> Result<(), E>) -> Result<(), E> {
        match self {
            Self::Open { inner, at } => write(inner, *at),
            Self::Skipped(_) => Ok(()),
        }
    }

    #[inline]
    fn finish<E>(self, end: impl FnOnce(C) -> Result<Ok, E>) -> Result<Ok, E> {
        match self {
            Self::Open { inner, .. } => end(inner),
            Self::Skipped(ok) => Ok(ok),
        }
    }
}

macro_rules! sequence_like {
    ($($trait:ident::$method:ident;)*) => {
        $(
            impl<C: ser::$trait<Ok = O>, O> ser::$trait for Compound<C, O> {
                type Ok = O;
                type Error = C::Error;

                #[inline]
                fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                    self.element(|inner, at| inner.$method(&Guarded { value, at }))
                }

                #[inline]
                fn end(self) -> Result<O, C::Error> {
                    self.finish(C::end)
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
            impl<C: ser::$trait<Ok = O>, O> ser::$trait for Compound<C, O> {
                type Ok = O;
                type Error = C::Error;

                #[inline]
                fn serialize_field<T: Serialize + ?Sized>(
                    &mut self,
                    key: &'static str,
                    value: &T,
                ) -> Result<(), C::Error> {
                    self.element(|inner, at| inner.serialize_field(key, &Guarded { value, at }))
                }

                #[inline]
                fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
                    self.element(|inner, _| inner.skip_field(key))
                }

                #[inline]
                fn end(self) -> Result<O, C::Error> {
                    self.finish(C::end)
                }
            }
        )*
    };
}

struct_like! {
    SerializeStruct;
    SerializeStructVariant;
}

impl<C: ser::SerializeMap<Ok = O>, O> ser::SerializeMap for Compound<C, O> {
    type Ok = O;
    type Error = C::Error;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        // Keys go through the adapter too: a NaN key becomes "NaN" instead of an error.
        self.element(|inner, at| inner.serialize_key(&Guarded { value: key, at }))
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.element(|inner, at| inner.serialize_value(&Guarded { value, at }))
    }

    #[inline]
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), C::Error> {
        self.element(|inner, at| {
            inner.serialize_entry(&Guarded { value: key, at }, &Guarded { value, at })
        })
    }

    #[inline]
    fn end(self) -> Result<O, C::Error> {
        self.finish(C::end)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::Value;

    use super::*;

    fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
        serde_json::to_string(&guarded(value, usize::MAX)).expect("serializes")
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
        let json = to_json(&Deep(MAX_DEPTH));
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(depth(&value), MAX_DEPTH);
        assert_eq!(innermost(&value), &Value::from(0));

        // One level more: the innermost container becomes the marker.
        let json = to_json(&Deep(MAX_DEPTH + 1));
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(depth(&value), MAX_DEPTH);
        assert_eq!(innermost(&value), &Value::from(DEPTH_MARKER));
    }

    #[test]
    fn endless_nesting_ends_without_exhausting_the_stack() {
        // Unguarded, this recursion would overflow any thread's stack long before it ended.
        for levels in [1_000, 1_000_000, usize::MAX] {
            let json = to_json(&Deep(levels));
            let value: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(depth(&value), MAX_DEPTH);
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
        assert!(depth(&value) <= MAX_DEPTH, "{}", depth(&value));
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
        let error = serde_json::to_string(&guarded(&vec![Refuses], usize::MAX)).unwrap_err();
        assert!(error.to_string().contains("not today"), "{error}");
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::Value;

        use super::super::guarded;

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
            fn the_adapter_changes_nothing_in_valid_json(value in json_value()) {
                let plain = serde_json::to_string(&value).unwrap();
                let guarded = serde_json::to_string(&guarded(&value, usize::MAX)).unwrap();
                prop_assert_eq!(guarded, plain);
            }

            #[test]
            fn any_floats_give_valid_json(values in prop::collection::vec(any::<f64>(), 0..16)) {
                let json = serde_json::to_string(&guarded(&values, usize::MAX)).unwrap();
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

//! URL decoding as a server does it, for the stand-ins: with the `url` crate's own decoders,
//! not the SDK's encoder.

/// A query string's `name=value` pairs, decoded (`+` is a space, `%XX` a byte).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// A path segment with its `%XX` escapes decoded (a `+` stays a `+`, as in any path).
pub fn path_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

//! `{{variable}}` substitution, by the Python SDK's rules (`TemplateParser` in its
//! `model.py`), and the strict form that names what is missing and what is unused.
//!
//! The rules, exactly:
//!
//! 1. From the current position, find the next `{{`; none: the rest is text.
//! 2. From there, find the first `}}`; none: the rest is text, `{{` included.
//! 3. The variable's name is what lies between, with whitespace trimmed from both ends
//!    (Python's `str.strip()`: Unicode whitespace and the separators U+001C to U+001F).
//! 4. A name that was given becomes its value; one that was not stays exactly as written.
//! 5. Scanning resumes after the `}}`: braces inside a name are part of it (`{{a {{b}}` is
//!    one variable named `a {{b`), and a value is never scanned again.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::types::{ChatItem, ChatMessage};

/// The values a prompt is compiled with: text for `{{variables}}`, message lists for the
/// placeholders of a chat prompt. A name given twice keeps its last value.
///
/// Built from pairs (`[("name", "Ada")]`, a `Vec`, a `HashMap`, a `BTreeMap`, an iterator)
/// whose values implement `Display`, or step by step:
///
/// ```
/// use langfuse_core::{ChatMessage, Variables};
///
/// let vars = Variables::new()
///     .set("name", "Ada")
///     .set("unread", 3)
///     .placeholder("history", [ChatMessage::user("Hi")]);
/// assert_eq!(vars.len(), 3);
///
/// let from_pairs = Variables::from([("name", "Ada"), ("city", "Paris")]);
/// let from_map: Variables = std::collections::HashMap::from([("name", "Ada")]).into();
/// # let _ = (from_pairs, from_map);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    entries: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Messages(Vec<ChatMessage>),
}

impl Variables {
    /// No values.
    ///
    /// ```
    /// assert!(langfuse_core::Variables::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a `{{variable}}`: `value` is written with `Display` (Python's `str()` of it).
    ///
    /// ```
    /// let vars = langfuse_core::Variables::new().set("n", 3).set("n", 4);
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{n}}");
    /// assert_eq!(prompt.compile(vars), "4");
    /// ```
    pub fn set(mut self, name: impl Into<String>, value: impl fmt::Display) -> Self {
        self.entries
            .push((name.into(), Value::Text(value.to_string())));
        self
    }

    /// Sets a placeholder of a chat prompt: the messages it expands to.
    ///
    /// ```
    /// use langfuse_core::{ChatMessage, Variables};
    /// let vars = Variables::new().placeholder("history", vec![ChatMessage::user("Hi")]);
    /// assert!(!vars.is_empty());
    /// ```
    pub fn placeholder(
        mut self,
        name: impl Into<String>,
        messages: impl IntoIterator<Item = ChatMessage>,
    ) -> Self {
        self.entries
            .push((name.into(), Value::Messages(messages.into_iter().collect())));
        self
    }

    /// How many values were given (a name given twice counts twice).
    ///
    /// ```
    /// assert_eq!(langfuse_core::Variables::from([("a", 1), ("a", 2)]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no value was given.
    ///
    /// ```
    /// assert!(!langfuse_core::Variables::from([("a", 1)]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index of the value of `name`: the last one given.
    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().rposition(|(n, _)| n == name)
    }
}

impl<K: Into<String>, V: fmt::Display> FromIterator<(K, V)> for Variables {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        pairs
            .into_iter()
            .fold(Self::new(), |vars, (name, value)| vars.set(name, value))
    }
}

impl<K: Into<String>, V: fmt::Display, const N: usize> From<[(K, V); N]> for Variables {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Into<String>, V: fmt::Display> From<Vec<(K, V)>> for Variables {
    fn from(pairs: Vec<(K, V)>) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Into<String>, V: fmt::Display, S> From<HashMap<K, V, S>> for Variables {
    fn from(map: HashMap<K, V, S>) -> Self {
        map.into_iter().collect()
    }
}

impl<K: AsRef<str>, V: fmt::Display, S> From<&HashMap<K, V, S>> for Variables {
    fn from(map: &HashMap<K, V, S>) -> Self {
        map.iter().map(|(k, v)| (k.as_ref(), v)).collect()
    }
}

impl<K: Into<String>, V: fmt::Display> From<BTreeMap<K, V>> for Variables {
    fn from(map: BTreeMap<K, V>) -> Self {
        map.into_iter().collect()
    }
}

impl<K: AsRef<str>, V: fmt::Display> From<&BTreeMap<K, V>> for Variables {
    fn from(map: &BTreeMap<K, V>) -> Self {
        map.iter().map(|(k, v)| (k.as_ref(), v)).collect()
    }
}

impl From<&Variables> for Variables {
    fn from(vars: &Variables) -> Self {
        vars.clone()
    }
}

/// What a strict compile found wrong: every variable or placeholder of the prompt that was
/// not given, and every value given that the prompt does not use (a value of the wrong kind,
/// text for a placeholder or messages for a `{{variable}}`, counts as both).
///
/// ```
/// let prompt = langfuse_core::TextPrompt::new("greeting", "Hi {{name}}, {{day}}");
/// let error = prompt.compile_strict([("name", "Ada"), ("mood", "good")]).unwrap_err();
/// assert_eq!(error.missing(), ["day"]);
/// assert_eq!(error.unused(), ["mood"]);
/// assert_eq!(error.prompt_name(), "greeting");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    prompt: String,
    version: i64,
    missing: Vec<String>,
    unused: Vec<String>,
}

impl CompileError {
    /// The prompt's name.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{a}} {{b}}");
    /// let error = prompt.compile_strict([("a", "1"), ("c", "3")]).unwrap_err();
    /// assert_eq!(error.prompt_name(), "p");
    /// ```
    pub fn prompt_name(&self) -> &str {
        &self.prompt
    }

    /// The prompt's version.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{a}} {{b}}");
    /// let error = prompt.compile_strict([("a", "1"), ("c", "3")]).unwrap_err();
    /// assert_eq!(error.prompt_version(), 0);
    /// ```
    pub fn prompt_version(&self) -> i64 {
        self.version
    }

    /// The variables and placeholders not given, in order of first appearance.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{a}} {{b}}");
    /// let error = prompt.compile_strict([("a", "1"), ("c", "3")]).unwrap_err();
    /// assert_eq!(error.missing(), ["b"]);
    /// ```
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// The names given that the prompt does not use, in the order given.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{a}} {{b}}");
    /// let error = prompt.compile_strict([("a", "1"), ("c", "3")]).unwrap_err();
    /// assert_eq!(error.unused(), ["c"]);
    /// ```
    pub fn unused(&self) -> &[String] {
        &self.unused
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prompt '{}' (version {}): ", self.prompt, self.version)?;
        if !self.missing.is_empty() {
            write!(f, "missing variables: {}", self.missing.join(", "))?;
        }
        if !self.unused.is_empty() {
            if !self.missing.is_empty() {
                f.write_str("; ")?;
            }
            write!(f, "unused variables: {}", self.unused.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileError {}

/// What a strict compile records while it substitutes.
pub(crate) struct Usage {
    used: Vec<bool>,
    missing: Vec<String>,
    names: Vec<String>,
}

impl Usage {
    pub(crate) fn new(vars: &Variables) -> Self {
        Self {
            used: vec![false; vars.entries.len()],
            missing: Vec::new(),
            names: vars.entries.iter().map(|(n, _)| n.clone()).collect(),
        }
    }

    fn use_entry(&mut self, index: usize) {
        self.used[index] = true;
    }

    fn miss(&mut self, name: &str) {
        if !self.missing.iter().any(|m| m == name) {
            self.missing.push(name.to_owned());
        }
    }

    /// `Ok` when nothing is missing and everything given was used.
    pub(crate) fn finish(self, prompt: &str, version: i64) -> Result<(), CompileError> {
        // A name is used when its last value was (earlier values of the same name are
        // replaced, not unused).
        let mut unused: Vec<String> = Vec::new();
        for (index, name) in self.names.iter().enumerate() {
            if self.names[..index].contains(name) {
                continue;
            }
            let last = self.names.iter().rposition(|n| n == name).unwrap_or(index);
            if !self.used[last] {
                unused.push(name.clone());
            }
        }
        if self.missing.is_empty() && unused.is_empty() {
            return Ok(());
        }
        Err(CompileError {
            prompt: prompt.to_owned(),
            version,
            missing: self.missing,
            unused,
        })
    }
}

/// Python's `str.strip()` with no argument: `char::is_whitespace` plus the information
/// separators U+001C to U+001F, which Python also counts as whitespace.
fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The next variable at or after `from`: its trimmed name, where its `{{` starts and where
/// its `}}` ends.
fn next_variable(template: &str, from: usize) -> Option<(&str, usize, usize)> {
    let start = from + template[from..].find("{{")?;
    let close = start + 2 + template[start + 2..].find("}}")?;
    let name = template[start + 2..close].trim_matches(is_python_whitespace);
    Some((name, start, close + 2))
}

/// Every variable name, in order of first appearance, each once.
pub(crate) fn variable_names(template: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some((name, _, end)) = next_variable(template, at) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        at = end;
    }
    names
}

pub(crate) fn compile_text(template: &str, vars: &Variables) -> String {
    compile_tracked(template, vars, None)
}

/// Substitutes; with `usage`, records the values used and the variables missing.
pub(crate) fn compile_tracked(
    template: &str,
    vars: &Variables,
    mut usage: Option<&mut Usage>,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut at = 0;
    while let Some((name, start, end)) = next_variable(template, at) {
        out.push_str(&template[at..start]);
        let value = vars
            .position(name)
            .and_then(|index| match &vars.entries[index].1 {
                Value::Text(text) => Some((index, text)),
                Value::Messages(_) => None,
            });
        match value {
            Some((index, text)) => {
                out.push_str(text);
                if let Some(usage) = usage.as_deref_mut() {
                    usage.use_entry(index);
                }
            }
            None => {
                out.push_str(&template[start..end]);
                if let Some(usage) = usage.as_deref_mut() {
                    usage.miss(name);
                }
            }
        }
        at = end;
    }
    out.push_str(&template[at..]);
    out
}

/// A chat prompt's messages, compiled; placeholders expanded.
pub(crate) fn compile_chat(
    items: &[ChatItem],
    vars: &Variables,
    mut usage: Option<&mut Usage>,
) -> Vec<ChatMessage> {
    let mut messages = Vec::with_capacity(items.len());
    for item in items {
        match item {
            ChatItem::Message(message) => {
                let content = compile_tracked(&message.content, vars, usage.as_deref_mut());
                messages.push(ChatMessage {
                    content,
                    ..message.clone()
                });
            }
            ChatItem::Placeholder(name) => {
                let given = vars
                    .position(name)
                    .and_then(|index| match &vars.entries[index].1 {
                        Value::Messages(list) => Some((index, list)),
                        Value::Text(_) => None,
                    });
                let Some((index, list)) = given else {
                    tracing::debug!(target: "langfuse", placeholder = %name, "placeholder not given: left out");
                    if let Some(usage) = usage.as_deref_mut() {
                        usage.miss(name);
                    }
                    continue;
                };
                if let Some(usage) = usage.as_deref_mut() {
                    usage.use_entry(index);
                }
                // The Python SDK compiles these messages' contents too. Their variables are
                // the caller's data, not the prompt's: substituted when given, never reported
                // missing.
                for message in list {
                    let mut marks = usage.as_deref_mut().map(|u| Usage {
                        used: std::mem::take(&mut u.used),
                        missing: Vec::new(),
                        names: Vec::new(),
                    });
                    let content = compile_tracked(&message.content, vars, marks.as_mut());
                    if let (Some(usage), Some(marks)) = (usage.as_deref_mut(), marks) {
                        usage.used = marks.used;
                    }
                    messages.push(ChatMessage {
                        content,
                        ..message.clone()
                    });
                }
            }
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs.iter().copied().collect()
    }

    #[test]
    fn the_python_sdks_cases() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            ("Hello {{name}}", &[("name", "Ada")], "Hello Ada"),
            ("Hello {{ name }}", &[("name", "Ada")], "Hello Ada"),
            ("Hello {{\tname\n}}", &[("name", "Ada")], "Hello Ada"),
            ("Hello {{name}}", &[], "Hello {{name}}"),
            (
                "Hello {{ unknown }}",
                &[("name", "Ada")],
                "Hello {{ unknown }}",
            ),
            ("{{a}}{{b}}{{a}}", &[("a", "1"), ("b", "2")], "121"),
            ("{{}}", &[("", "empty")], "empty"),
            ("{{ }}", &[("", "empty")], "empty"),
            ("unclosed {{name", &[("name", "Ada")], "unclosed {{name"),
            ("{{a {{b}}", &[("b", "B")], "{{a {{b}}"),
            ("{{a {{b}}", &[("a {{b", "X")], "X"),
            ("{{{a}}}", &[("{a", "X")], "X}"),
            ("{{a}}", &[("a", "{{b}}"), ("b", "no")], "{{b}}"),
            ("}}{{a}}{{", &[("a", "1")], "}}1{{"),
            ("{{ x\u{1f}}}", &[("x", "sep")], "sep"),
            ("{{é}} {{日本}}", &[("é", "e"), ("日本", "jp")], "e jp"),
            ("{{a}}", &[("a", "1"), ("a", "2")], "2"),
        ];
        for (template, pairs, expected) in cases {
            assert_eq!(
                &compile_text(template, &vars(pairs)),
                expected,
                "{template:?}"
            );
        }
    }

    #[test]
    fn variable_names_in_order_once() {
        assert_eq!(variable_names("{{b}} {{ a }} {{b}} {{c"), ["b", "a"]);
        assert!(variable_names("no variables {x}").is_empty());
    }

    #[test]
    fn strict_names_every_missing_and_every_unused_variable() {
        let mut usage = Usage::new(&vars(&[("a", "1"), ("z", "2"), ("y", "3"), ("z", "4")]));
        compile_tracked(
            "{{a}} {{b}} {{c}} {{b}}",
            &vars(&[("a", "1"), ("z", "2"), ("y", "3"), ("z", "4")]),
            Some(&mut usage),
        );
        let error = usage.finish("p", 2).unwrap_err();
        assert_eq!(error.missing(), ["b", "c"]);
        assert_eq!(error.unused(), ["z", "y"]);
        assert_eq!(
            error.to_string(),
            "prompt 'p' (version 2): missing variables: b, c; unused variables: z, y"
        );
    }

    #[test]
    fn placeholders_expand_and_count() {
        let items = [
            ChatItem::Message(ChatMessage::system("You help with {{product}}.")),
            ChatItem::placeholder("history"),
            ChatItem::placeholder("examples"),
            ChatItem::Message(ChatMessage::user("{{question}}")),
        ];
        let vars = Variables::new()
            .set("product", "Langfuse")
            .set("question", "Why?")
            .set("examples", "not messages")
            .placeholder(
                "history",
                [
                    ChatMessage::user("About {{product}}"),
                    ChatMessage::assistant("").with("tool_calls", serde_json::json!([{"id": "1"}])),
                ],
            );
        let mut usage = Usage::new(&vars);
        let messages = compile_chat(&items, &vars, Some(&mut usage));
        assert_eq!(
            messages,
            [
                ChatMessage::system("You help with Langfuse."),
                ChatMessage::user("About Langfuse"),
                ChatMessage::assistant("").with("tool_calls", serde_json::json!([{"id": "1"}])),
                ChatMessage::user("Why?"),
            ]
        );
        let error = usage.finish("p", 1).unwrap_err();
        assert_eq!(error.missing(), ["examples"]);
        assert_eq!(error.unused(), ["examples"]);
    }

    /// An independent reading of the rules: a character-by-character state machine that
    /// never searches for substrings.
    fn reference(template: &str, vars: &[(String, String)]) -> String {
        let chars: Vec<char> = template.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        'outer: while i < chars.len() {
            if chars[i] == '{' && chars.get(i + 1) == Some(&'{') {
                // Look for the closing pair.
                let mut j = i + 2;
                while j + 1 < chars.len() {
                    if chars[j] == '}' && chars[j + 1] == '}' {
                        let inner: String = chars[i + 2..j].iter().collect();
                        let name = inner.trim_matches(|c: char| {
                            c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
                        });
                        match vars.iter().rev().find(|(n, _)| n == name) {
                            Some((_, value)) => out.push_str(value),
                            None => out.extend(&chars[i..j + 2]),
                        }
                        i = j + 2;
                        continue 'outer;
                    }
                    j += 1;
                }
                // No closing pair: everything left is text.
                out.extend(&chars[i..]);
                break;
            }
            out.push(chars[i]);
            i += 1;
        }
        out
    }

    fn template_strategy() -> impl Strategy<Value = String> {
        // Braces, names, whitespace and other text, in any order.
        let piece = prop_oneof![
            Just("{{".to_owned()),
            Just("}}".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(" ".to_owned()),
            Just("\u{1f}".to_owned()),
            Just("\u{a0}".to_owned()),
            "[a-c]{1,2}",
            "[é日x ]{0,3}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn compile_matches_an_independent_reading_of_the_rules(
            template in template_strategy(),
            pairs in prop::collection::vec(("[a-c ]{0,2}|\\{[a-c]", "[a-z{}]{0,4}"), 0..5),
        ) {
            let vars: Variables = pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(compile_text(&template, &vars), reference(&template, &pairs));
        }

        #[test]
        fn strict_compile_succeeds_exactly_when_every_name_is_given_and_used(
            template in template_strategy(),
            pairs in prop::collection::vec(("[a-c]{1,2}", "[a-z]{0,3}"), 0..4),
        ) {
            let vars: Variables = pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let mut usage = Usage::new(&vars);
            let text = compile_tracked(&template, &vars, Some(&mut usage));
            let names = variable_names(&template);
            let given: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
            let missing: Vec<&String> = names.iter().filter(|n| !given.contains(n)).collect();
            let unused: Vec<&String> = given.iter().copied().filter(|g| !names.contains(g)).collect();
            match usage.finish("p", 1) {
                Ok(()) => {
                    prop_assert!(missing.is_empty() && unused.is_empty());
                    prop_assert_eq!(text, reference(&template, &pairs));
                }
                Err(error) => {
                    prop_assert_eq!(error.missing().iter().collect::<Vec<_>>(), missing);
                    let mut expected_unused: Vec<&String> = Vec::new();
                    for name in unused {
                        if !expected_unused.contains(&name) {
                            expected_unused.push(name);
                        }
                    }
                    prop_assert_eq!(error.unused().iter().collect::<Vec<_>>(), expected_unused);
                }
            }
        }
    }
}

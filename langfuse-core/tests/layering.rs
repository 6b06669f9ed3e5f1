//! The crate's modules form layers: each top-level module (a folder counts as one) uses only
//! the modules listed before it in `LAYERS`, so the path of an observation reads bottom-up
//! and no low layer can reach into a high one (the hot path's state check into the client's
//! configuration parsing, say). This test reads every `crate::` path in the sources and fails
//! on one that points up, naming the file and line.

use std::path::{Path, PathBuf};

/// Bottom to top. `lib.rs` only re-exports and is not a layer.
const LAYERS: &[&str] = &[
    "config",
    "clock",
    "capture",
    "model",
    "sampling",
    "panics",
    "collector",
    "lifecycle",
    "context",
    "scores",
    "observe",
    "export",
    "datasets",
    "prompts",
    "client",
    "experiments",
    "testing",
    "bridge",
    "openai",
];

#[test]
fn no_module_uses_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let reexports = root_reexports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut violations = Vec::new();
    let mut unplaced = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = top_level_module(relative) else {
            continue;
        };
        let Some(layer) = LAYERS.iter().position(|l| *l == module) else {
            unplaced.push(relative.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, name) in crate_paths(&text) {
            // `crate::init` is `client::init` re-exported by lib.rs.
            let used = reexports
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name.as_str(), |(_, module)| module.as_str());
            let Some(used_layer) = LAYERS.iter().position(|l| *l == used) else {
                continue; // `__private`, the macro's path into the crate
            };
            if used_layer > layer {
                violations.push(format!(
                    "src/{}:{line}: `{module}` uses `crate::{used}`, a layer above it",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS in tests/layering.rs (place them in the order): {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "imports pointing up the layers ({}):\n{}",
        LAYERS.join(" < "),
        violations.join("\n")
    );
}

#[test]
fn lib_rs_declares_the_modules_in_layer_order() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared: Vec<String> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches("pub ");
            let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.to_owned())
        })
        .map(|name| {
            if name == "tracing" {
                "bridge".to_owned()
            } else {
                name
            }
        })
        .collect();
    let expected: Vec<String> = LAYERS
        .iter()
        .filter(|layer| declared.iter().any(|d| d == *layer))
        .map(|layer| layer.to_string())
        .collect();
    assert_eq!(
        declared, expected,
        "lib.rs should declare its modules in layer order"
    );
}

#[test]
fn the_scanner_sees_every_form_of_path() {
    let text = "use crate::client::Langfuse;\n\
                use crate::{clock, export::worker};\n\
                // crate::client in a comment is no dependency\n\
                let s = \"crate::client in a string\";\n\
                    crate::context::hand_off(record); // trailing crate::client\n";
    let found: Vec<(usize, String)> = crate_paths(text);
    let expected = [(1, "client"), (2, "clock"), (2, "export"), (5, "context")];
    let expected: Vec<(usize, String)> =
        expected.iter().map(|(l, m)| (*l, m.to_string())).collect();
    assert_eq!(found, expected);
}

#[test]
fn re_exports_resolve_to_their_module() {
    let lib = "pub use client::{Error, init};\npub use model::{\n    Level,\n    TraceId,\n};\n";
    let found = root_reexports(lib);
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("Error", "client"),
            ("init", "client"),
            ("Level", "model"),
            ("TraceId", "model")
        ]
    );
}

/// `pub use module::{a, b};` in lib.rs, as (item, module) pairs.
fn root_reexports(lib: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let lib = format!("\n{lib}");
    let mut rest = lib.as_str();
    while let Some(at) = rest.find("\npub use ") {
        rest = &rest[at + "\npub use ".len()..];
        let statement = rest.split(';').next().unwrap_or("");
        let Some((module, items)) = statement.split_once("::") else {
            continue;
        };
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = leading_ident(item.trim());
            if !item.is_empty() {
                pairs.push((item.to_owned(), module.trim().to_owned()));
            }
        }
    }
    pairs
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `model/record.rs` and `model/mod.rs` belong to `model`, `clock.rs` to `clock`; `lib.rs` to
/// none.
fn top_level_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// Every `crate::<module>` referenced in code (comments and string literals excluded), with
/// its line number; a grouped `use crate::{a, b::c}` names each of its modules.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = code_of(line);
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            // `$crate::` and `langfuse_crate::` are other paths.
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let module = leading_ident(item.trim());
                    if !module.is_empty() && module != "self" {
                        found.push((index + 1, module.to_owned()));
                    }
                }
            } else {
                let module = leading_ident(rest);
                if !module.is_empty() {
                    found.push((index + 1, module.to_owned()));
                }
            }
        }
    }
    found
}

fn leading_ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The line without its comment and with string literals blanked.
fn code_of(line: &str) -> String {
    let mut code = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    code.push('"');
                }
                _ => code.push(' '),
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                code.push('"');
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => code.push(c),
        }
    }
    code
}

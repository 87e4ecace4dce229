//! Dependencies point one way (README, "Architecture"). This reads every `.rs` file under
//! `src/`, finds which of the crate's top-level modules it names (`crate::x`, `super::…`
//! chains that leave its own module) and which transport crates it names, and fails on
//! any name that points up or sideways where the layering does not allow it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate's top-level modules, bottom layer first.
const LAYERS: &[&[&str]] = &[
    &["domain", "ids", "error", "time", "crypto", "meter", "db"],
    &["views", "events"],
    &["services"],
    &["auth", "ratelimit", "webhooks", "booking", "live"],
    &["graphql"],
    &["rest", "http"],
    &[
        "startup",
        "state",
        "config",
        "cli",
        "seed",
        "telemetry",
        "bench_routes",
        "main",
        "lib",
    ],
];

/// Names within one layer that may point at each other, one way only.
const SIDEWAYS: &[(&str, &str)] = &[
    ("domain", "error"),
    ("domain", "ids"),
    ("domain", "time"),
    ("crypto", "error"),
    ("db", "error"),
    ("db", "ids"),
    ("db", "time"),
    ("db", "domain"),
    ("db", "meter"),
    ("events", "views"),
    ("rest", "http"),
];

/// Transport crates the core (everything below `graphql`) must not name.
const TRANSPORT_CRATES: &[&str] = &["async_graphql", "async_graphql_poem", "poem"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's module path (`["graphql", "mutations", "call"]`; `mod.rs` is its folder).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code without comments, so documentation that mentions a module does not count.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal (a URL) is rare in code lines that matter
            // here; cutting there only hides names, never invents them.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Top-level modules named through `crate::`, including `crate::{a, b::c}` groups.
fn crate_names(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        // `aura::` and `some_crate::` do not match: the character before must not be part
        // of an identifier.
        if code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut expecting = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expecting = true,
                    c if expecting && depth == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                        names.insert(identifier_at(&group[i..]).to_owned());
                        expecting = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = identifier_at(rest);
            if !name.is_empty() {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// Top-level modules reached through `super::` chains that climb out of the file's own
/// top-level module.
fn super_names(code: &str, module: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("super::") {
        if code[..at].ends_with("super::")
            || code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let mut rest = &code[at..];
        let mut climbs = 0;
        while let Some(next) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = next;
        }
        if climbs >= module.len() {
            let name = identifier_at(rest);
            if !name.is_empty() {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

fn names_crate(code: &str, krate: &str) -> bool {
    code.match_indices(&format!("{krate}::")).any(|(at, _)| {
        !code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    })
}

/// Every violation in the tree rooted at `src`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let graphql = layer_of("graphql").expect("graphql has a layer");
    let mut found = Vec::new();
    for file in files {
        let module = module_path(src, &file);
        let top = module.first().cloned().unwrap_or_default();
        let Some(layer) = layer_of(&top) else {
            found.push(format!("{}: module `{top}` has no layer", file.display()));
            continue;
        };
        let code = code_of(&std::fs::read_to_string(&file).expect("read file"));
        let mut named = crate_names(&code);
        named.extend(super_names(&code, &module));
        for name in named {
            if name == top || name == "self" {
                continue;
            }
            let Some(their_layer) = layer_of(&name) else {
                continue;
            };
            let allowed = their_layer < layer
                || (their_layer == layer
                    && (layer == LAYERS.len() - 1
                        || SIDEWAYS.contains(&(top.as_str(), name.as_str()))));
            if !allowed {
                found.push(format!(
                    "{}: `{top}` (layer {layer}) names `{name}` (layer {their_layer})",
                    file.display()
                ));
            }
        }
        if layer < graphql {
            for krate in TRANSPORT_CRATES {
                if names_crate(&code, krate) {
                    found.push(format!(
                        "{}: `{top}` is below `graphql` but names `{krate}`",
                        file.display()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "layering violations:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_bad_import_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("services")).unwrap();
    std::fs::create_dir_all(src.join("graphql/mutations")).unwrap();
    std::fs::write(
        src.join("services/mod.rs"),
        "//! Docs may say crate::graphql.\nuse crate::{domain::Actor, error};\nuse crate::views;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("graphql/mutations/call.rs"),
        "use super::super::resources::Call;\nuse crate::services::calls;\n",
    )
    .unwrap();
    assert!(violations(src).is_empty(), "{:?}", violations(src));

    // A service that reaches up into the schema, by any spelling.
    for bad in [
        "use crate::graphql::context;",
        "use crate::{error, graphql::Core};",
        "fn f() -> async_graphql::Error { todo!() }",
        "use poem::Request;",
        "use crate::live::LiveEvents;",
    ] {
        std::fs::write(src.join("services/bad.rs"), bad).unwrap();
        assert_eq!(violations(src).len(), 1, "{bad} was not caught");
    }
    std::fs::remove_file(src.join("services/bad.rs")).unwrap();
    // The schema may not reach the REST facade either, even through `super`.
    std::fs::write(
        src.join("graphql/mutations/bad.rs"),
        "use super::super::super::rest::operations;",
    )
    .unwrap();
    assert_eq!(violations(src).len(), 1);
}

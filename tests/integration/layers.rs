//! Imports point down: model <- ingest <- report, model <- meta (issue 20,
//! item 16). These read the sources, so a new `use` that points back up
//! fails here instead of waiting for a review.

use crate::util::repo;
use std::path::Path;

/// The top-level modules a file names through `crate::` paths, including
/// grouped ones (`use crate::{ingest, model::X}`).
fn crate_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: after `{` and after each comma at depth 0.
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        out.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// `file mentions crate::<module>` for every Rust file under `dir` that
/// names one of `forbidden`.
fn upward_imports(dir: &str, forbidden: &[&str]) -> Vec<String> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, files);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let root = repo().join(dir);
    assert!(root.is_dir(), "{} is missing", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap();
        for m in crate_modules(&text) {
            if forbidden.contains(&m.as_str()) {
                found.push(format!("{} mentions crate::{m}", p.strip_prefix(repo()).unwrap_or(&p).display()));
            }
        }
    }
    found.dedup();
    found
}

#[test]
fn the_path_finder_sees_plain_and_grouped_imports() {
    let src = "use crate::model::X;\nuse crate::{ingest::Col, meta::{a, b}, stats};\nlet y = crate::report::f();";
    assert_eq!(crate_modules(src), ["model", "ingest", "meta", "stats", "report"]);
}

#[test]
fn meta_imports_nothing_from_ingest() {
    let found = upward_imports("src/meta", &["ingest"]);
    assert!(found.is_empty(), "meta reads effect rows from model, not ingest:\n{}", found.join("\n"));
}

#[test]
fn ingest_imports_nothing_from_score_or_report() {
    let found = upward_imports("src/ingest", &["score", "report"]);
    assert!(found.is_empty(), "ingest feeds score and report, never the reverse:\n{}", found.join("\n"));
}

#[test]
fn model_imports_nothing_above_it() {
    let found = upward_imports("src/model", &["ingest", "score", "meta", "report"]);
    assert!(found.is_empty(), "model is the bottom layer:\n{}", found.join("\n"));
}

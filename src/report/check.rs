//! Rendering of regression checks: text, JSON and Markdown.

use crate::check::{Comparison, Difference, Val};
use serde_json::json;
use std::fmt::Write;

fn v(x: &Val) -> String {
    match x {
        Val::Null => "(empty)".into(),
        other => other.text(),
    }
}

fn line(d: &Difference) -> String {
    match d {
        Difference::Verdict { key, column, old, new } => format!("VERDICT {key}: {column} {} -> {}", v(old), v(new)),
        Difference::Numeric { key, column, old, new, abs_diff, rel_diff } => {
            format!("numeric {key}: {column} {old} -> {new} (abs {abs_diff:.3e}, rel {rel_diff:.3e})")
        }
        Difference::Value { key, column, old, new } => format!("changed {key}: {column} '{}' -> '{}'", v(old), v(new)),
        Difference::Added { key } => format!("added cell: {key}"),
        Difference::Removed { key } => format!("removed cell: {key}"),
        Difference::ColumnAdded { column } => format!("schema: column '{column}' added"),
        Difference::ColumnRemoved { column } => format!("schema: column '{column}' removed"),
        Difference::ModelVersion { old, new } => format!("scoring model version changed: {old} -> {new}"),
        Difference::ConfigHash { old, new } => format!("configuration changed: sha256 {old} -> {new}"),
    }
}

/// Named comparisons (one per case, or one for `--expected/--actual`).
pub type Named<'a> = (&'a str, &'a Comparison);

pub fn check_text(items: &[Named<'_>]) -> String {
    let mut s = String::new();
    let failed: Vec<&Named<'_>> = items.iter().filter(|(_, c)| c.regression()).collect();
    for (name, c) in items {
        let status = if c.regression() { "REGRESSION" } else { "ok" };
        let _ = writeln!(
            s,
            "{name}: {status} ({} rows compared on {}; {} differences, {} verdict changes)",
            c.rows_compared,
            c.keys.join(", "),
            c.differences.len(),
            c.verdict_changes()
        );
    }
    for (name, c) in &failed {
        let _ = writeln!(s, "\n== {name}");
        for d in &c.differences {
            let _ = writeln!(s, "  {}", line(d));
        }
    }
    let _ = writeln!(s, "\n{} passed, {} failed", items.len() - failed.len(), failed.len());
    s
}

pub fn check_json(items: &[Named<'_>]) -> String {
    let cases: Vec<_> = items
        .iter()
        .map(|(name, c)| json!({"case": name, "regression": c.regression(), "keys": c.keys, "rows_compared": c.rows_compared, "verdict_changes": c.verdict_changes(), "differences": c.differences}))
        .collect();
    let v = json!({"regression": items.iter().any(|(_, c)| c.regression()), "cases": cases});
    let mut s = serde_json::to_string_pretty(&v).expect("JSON values serialise");
    s.push('\n');
    s
}

pub fn check_markdown(items: &[Named<'_>]) -> String {
    let mut s = String::from("## evidex regression check\n\n| case | status | rows | verdict changes | differences |\n|---|---|---|---|---|\n");
    for (name, c) in items {
        let status = if c.regression() { ":x: regression" } else { ":white_check_mark: ok" };
        let _ = writeln!(
            s,
            "| {name} | {status} | {} | {} | {} |",
            c.rows_compared,
            c.verdict_changes(),
            c.differences.len()
        );
    }
    for (name, c) in items.iter().filter(|(_, c)| c.regression()) {
        let _ = writeln!(s, "\n### {name}\n");
        let verdicts: Vec<&Difference> =
            c.differences.iter().filter(|d| matches!(d, Difference::Verdict { .. })).collect();
        if !verdicts.is_empty() {
            let _ = writeln!(
                s,
                "**Verdict changes (review these first)**\n\n| cell | column | expected | actual |\n|---|---|---|---|"
            );
            for d in verdicts {
                if let Difference::Verdict { key, column, old, new } = d {
                    let _ = writeln!(s, "| {key} | {column} | {} | {} |", v(old), v(new));
                }
            }
            s.push('\n');
        }
        let others: Vec<&Difference> =
            c.differences.iter().filter(|d| !matches!(d, Difference::Verdict { .. })).collect();
        if !others.is_empty() {
            let _ = writeln!(s, "**Other differences**\n");
            for d in others.iter().take(200) {
                let _ = writeln!(s, "- {}", line(d).replace('|', "\\|"));
            }
            if others.len() > 200 {
                let _ = writeln!(s, "- ... and {} more", others.len() - 200);
            }
        }
    }
    s
}

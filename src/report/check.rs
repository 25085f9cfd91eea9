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

/// A key for people: its values joined by " | ".
fn k(key: &[String]) -> String {
    key.join(" | ")
}

fn line(d: &Difference) -> String {
    match d {
        Difference::Verdict { key, column, old, new } => {
            format!("VERDICT {}: {column} {} -> {}", k(key), v(old), v(new))
        }
        Difference::Numeric { key, column, old, new, abs_diff, rel_diff } => {
            format!("numeric {}: {column} {old} -> {new} (abs {abs_diff:.3e}, rel {rel_diff:.3e})", k(key))
        }
        Difference::Value { key, column, old, new } => {
            format!("changed {}: {column} '{}' -> '{}'", k(key), v(old), v(new))
        }
        Difference::Added { key } => format!("added cell: {}", k(key)),
        Difference::Removed { key } => format!("removed cell: {}", k(key)),
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

/// One Markdown table cell: `|` escaped, line breaks as `<br>`, so every
/// row keeps exactly its header's number of cells.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace("\r\n", "<br>").replace(['\n', '\r'], "<br>")
}

/// One Markdown table row.
fn md_row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| md(c)).collect();
    format!("| {} |", cells.join(" | "))
}

pub fn check_markdown(items: &[Named<'_>]) -> String {
    let mut s = String::from(
        "## evidex regression check\n\n| case | status | rows | verdict changes | differences |\n|---|---|---|---|---|\n",
    );
    for (name, c) in items {
        let status = if c.regression() { ":x: regression" } else { ":white_check_mark: ok" };
        let _ = writeln!(
            s,
            "{}",
            md_row(&[
                name.to_string(),
                status.into(),
                c.rows_compared.to_string(),
                c.verdict_changes().to_string(),
                c.differences.len().to_string()
            ])
        );
    }
    for (name, c) in items.iter().filter(|(_, c)| c.regression()) {
        let _ = writeln!(s, "\n### {}\n", md(name));
        let verdicts: Vec<&Difference> =
            c.differences.iter().filter(|d| matches!(d, Difference::Verdict { .. })).collect();
        if !verdicts.is_empty() {
            // One column per key column, then what changed.
            let mut head: Vec<String> = c.keys.clone();
            head.extend(["column", "expected", "actual"].map(String::from));
            let _ = writeln!(s, "**Verdict changes (review these first)**\n\n{}", md_row(&head));
            let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
            for d in verdicts {
                if let Difference::Verdict { key, column, old, new } = d {
                    let mut row: Vec<String> = key.clone();
                    row.resize(c.keys.len(), String::new());
                    row.extend([column.clone(), v(old), v(new)]);
                    let _ = writeln!(s, "{}", md_row(&row));
                }
            }
            s.push('\n');
        }
        let others: Vec<&Difference> =
            c.differences.iter().filter(|d| !matches!(d, Difference::Verdict { .. })).collect();
        if !others.is_empty() {
            let _ = writeln!(s, "**Other differences**\n");
            for d in others.iter().take(200) {
                let _ = writeln!(s, "- {}", md(&line(d)));
            }
            if others.len() > 200 {
                let _ = writeln!(s, "- ... and {} more", others.len() - 200);
            }
        }
    }
    s
}

/// What `check --update` did to one case's expected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    Created,
    Unchanged,
    /// Rewritten, accepting this many differences.
    Accepted(usize),
}

/// The report of `check --update`: one line per case and a total.
pub fn update_text(items: &[(String, String, Updated)]) -> String {
    let mut s = String::new();
    let (mut created, mut changed, mut same) = (0, 0, 0);
    for (name, path, u) in items {
        let what = match u {
            Updated::Created => {
                created += 1;
                "created".to_string()
            }
            Updated::Unchanged => {
                same += 1;
                "unchanged".to_string()
            }
            Updated::Accepted(n) => {
                changed += 1;
                format!("updated, {} accepted", super::output::count(*n as u64, "difference", "differences"))
            }
        };
        let _ = writeln!(s, "{name}: {path} {what}");
    }
    let _ = writeln!(s, "\n{created} created, {changed} updated, {same} unchanged (review the diff of the expected files before committing)");
    s
}

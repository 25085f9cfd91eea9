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

/// Text as Markdown that renders as exactly this text (trimmed) in a table
/// cell, a heading or a list item: every character with inline meaning is
/// backslash-escaped (CommonMark allows it before any ASCII punctuation),
/// including GitHub's extensions (strikethrough `~`, math `$`, mentions
/// `@`, emoji shortcodes and URL autolinks `:`, `www.`), as is what could
/// start a block at the beginning (`+ - =`, `1.`); line breaks become
/// `<br>`, so every table row keeps exactly its header's number of cells.
fn md(s: &str) -> String {
    let s = s.trim();
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    let leading_digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut chars = s.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        let escape = match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '(' | ')' | '&' | '$' | '@'
            | ':' | '{' | '}' | '^' => true,
            '+' | '-' | '=' => i == 0,
            '.' => (i > 0 && i == leading_digits) || s[..i].to_ascii_lowercase().ends_with("www"),
            '\r' | '\n' => {
                if ch == '\r' {
                    chars.next_if(|&(_, c)| c == '\n');
                }
                out.push_str("<br>");
                continue;
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// One Markdown table row of cells already in Markdown.
fn md_row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

/// One Markdown table row of plain-text cells.
fn md_text_row(cells: &[String]) -> String {
    md_row(&cells.iter().map(|c| md(c)).collect::<Vec<_>>())
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
                md(name),
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
            let _ = writeln!(s, "**Verdict changes (review these first)**\n\n{}", md_text_row(&head));
            let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
            for d in verdicts {
                if let Difference::Verdict { key, column, old, new } = d {
                    let mut row: Vec<String> = key.clone();
                    row.resize(c.keys.len(), String::new());
                    row.extend([column.clone(), v(old), v(new)]);
                    let _ = writeln!(s, "{}", md_text_row(&row));
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

#[cfg(test)]
mod tests {
    use super::md;
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    /// Every extension GitHub-like renderers apply (not smart punctuation,
    /// which rewrites quotes by design).
    fn options() -> Options {
        Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_DEFINITION_LIST
            | Options::ENABLE_SUPERSCRIPT
            | Options::ENABLE_SUBSCRIPT
            | Options::ENABLE_WIKILINKS
    }

    /// The text of each table cell, heading and list item of `doc`, and
    /// every event that is neither text nor the structure around it.
    fn rendered(doc: &str) -> (Vec<String>, Vec<String>) {
        let (mut texts, mut markup, mut cur) = (Vec::new(), Vec::new(), None::<String>);
        for ev in Parser::new_ext(doc, options()) {
            match ev {
                Event::Start(Tag::TableCell | Tag::Heading { .. } | Tag::Item) => cur = Some(String::new()),
                Event::End(TagEnd::TableCell | TagEnd::Heading(_) | TagEnd::Item) => texts.extend(cur.take()),
                Event::Text(t) => cur.get_or_insert_with(String::new).push_str(&t),
                Event::Start(Tag::Table(_) | Tag::TableHead | Tag::TableRow | Tag::Paragraph | Tag::List(_))
                | Event::End(
                    TagEnd::Table | TagEnd::TableHead | TagEnd::TableRow | TagEnd::Paragraph | TagEnd::List(_),
                ) => {}
                other => markup.push(format!("{other:?}")),
            }
        }
        (texts, markup)
    }

    #[track_caller]
    fn renders_as_itself(s: &str) {
        let want = s.trim();
        for doc in [format!("| h |\n|---|\n| {} |\n", md(s)), format!("### {}\n", md(s)), format!("- {}\n", md(s))] {
            let (texts, markup) = rendered(&doc);
            assert!(markup.is_empty(), "{s:?} renders with markup {markup:?}\n{doc}");
            let got = texts.last().map(String::as_str).unwrap_or("");
            assert_eq!(got, want, "{s:?} renders as {got:?}\n{doc}");
        }
    }

    #[test]
    fn names_with_markup_characters_render_as_written() {
        for s in [
            "*pilot*",
            "**bold** and _x_",
            "`code` and ``two``",
            "<b>x</b>",
            "a|b",
            "a\\|b",
            "[link](x)",
            "![img](x.png)",
            "[[wiki]]",
            "_x_",
            "~~x~~",
            "~x~ and ^y^",
            "&amp; &#35; &copy",
            "$x^2$",
            "@someone #12 :x:",
            "https://example.org and www.example.org",
            "1. First",
            "2024) report",
            "- dash",
            "+ plus",
            "= equals",
            "# hash",
            "> quote",
            "---",
            "***",
            "```",
            "~~~",
            "[^1]",
            "name {#id}",
            "a\\b\\",
            "[ ] task",
            "Self-defence: 'girls' \"only\" 50% (pilot)",
        ] {
            renders_as_itself(s);
        }
    }

    #[test]
    fn line_breaks_become_br_in_one_cell() {
        assert_eq!(md("Two\nlines\r\nand\rmore"), "Two<br>lines<br>and<br>more");
    }

    proptest::proptest! {
        #[test]
        fn any_single_line_renders_as_itself(s in "[ -~àé€]{0,24}") {
            renders_as_itself(&s);
        }
    }
}

//! Label normalisation and "did you mean" suggestions.

/// Normalise a free-text label for matching: trim, lower-case, treat `_`, `-`
/// and runs of whitespace as one space.
pub fn normalise_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for ch in s.trim().chars() {
        if ch == '_' || ch == '-' || ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// Edit distance (optimal string alignment: insertions, deletions,
/// substitutions and adjacent transpositions, each costing 1) over Unicode
/// scalar values.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The closest candidate to `value` if it is close enough to be a plausible
/// typo (distance at most a third of the longer string, at least 1, at most 3).
pub fn did_you_mean(value: &str, candidates: &[&str]) -> Option<String> {
    let v = normalise_label(value);
    if v.is_empty() {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&v, &normalise_label(c));
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (v.chars().count().max(c.chars().count()) / 3).clamp(1, 3);
    (d <= limit).then(|| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_space_and_separators() {
        assert_eq!(normalise_label("  Needs_More-Research "), "needs more research");
        assert_eq!(normalise_label("Adolescent   Girls"), "adolescent girls");
    }

    #[test]
    fn edit_distance_known_values() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("promissing", "promising"), 1);
        assert_eq!(edit_distance("lwo", "low"), 1);
    }

    #[test]
    fn suggests_close_labels_only() {
        let c = ["effective", "promising", "prudent"];
        assert_eq!(did_you_mean("promissing", &c).as_deref(), Some("promising"));
        assert_eq!(did_you_mean("banana", &c), None);
    }
}

/// Longest user value quoted whole in a message, in characters.
pub const SHOWN_MAX_CHARS: usize = 80;

/// A value as one CSV field: quoted when it holds a comma, quote or line
/// end (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A user value as it may appear in a message: control characters escaped
/// (`\n`, `\t`, `\u{1b}`...), so a binary file cannot write escape sequences
/// to the terminal, and values longer than [`SHOWN_MAX_CHARS`] cut with `…`
/// and their full length given.
pub fn shown(s: &str) -> String {
    let n = s.chars().count();
    let mut out = String::with_capacity(s.len().min(4 * SHOWN_MAX_CHARS));
    for ch in s.chars().take(SHOWN_MAX_CHARS) {
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{fffd}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    if n > SHOWN_MAX_CHARS {
        out.push_str(&format!("… ({n} characters)"));
    }
    out
}

#[cfg(test)]
mod shown_tests {
    use super::shown;

    #[test]
    fn control_characters_are_escaped_and_long_values_cut() {
        assert_eq!(shown("plain value"), "plain value");
        assert_eq!(shown("a\u{1b}[31mred\u{7}\n"), "a\\u{1b}[31mred\\u{7}\\n");
        let long = "x".repeat(200);
        let s = shown(&long);
        assert!(s.starts_with(&"x".repeat(80)) && s.ends_with("… (200 characters)"), "{s}");
        assert!(!s.chars().any(char::is_control));
    }
}

/// The key interventions are matched by: case, spacing and punctuation do
/// not matter ("The men's program" = "The Men's Program" = "the mens
/// program"; "Self-defence" = "Self defence"). Apostrophes are dropped,
/// other punctuation separates words.
pub fn intervention_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.chars() {
        if matches!(ch, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{ae}' | '\u{2122}') {
            continue;
        }
        if ch.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(ch.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// The look-alike check compares every pair of names; above this many it
/// is skipped (and said so).
pub const LOOK_ALIKE_MAX_NAMES: usize = 5000;

/// Intervention names (matching keys) that say nothing about which
/// programme was evaluated: arm and condition labels, generic words, and
/// "not known" tokens. Rows naming one are left out of scoring unless the
/// user keeps them (docs/scoring.md section 11).
const PLACEHOLDERS: &[&str] = &[
    // Nothing but punctuation ("-", "?").
    "",
    "intervention",
    "interventions",
    "intervention group",
    "intervention arm",
    "intervention condition",
    "intervention and control",
    "programme",
    "programmes",
    "program",
    "programs",
    "the program",
    "the programme",
    "treatment",
    "treatments",
    "treatment group",
    "treatment arm",
    "treatment condition",
    "treatment and control",
    "treatment control",
    "treatment vs control",
    "experimental",
    "experimental group",
    "experimental condition",
    "experiment",
    "condition",
    "control",
    "controls",
    "control group",
    "comparison",
    "comparison group",
    "usual care",
    "standard care",
    "standard of care",
    "waitlist",
    "wait list",
    "literature",
    "study",
    "arm",
    "group",
    "unknown",
    "unnamed",
    "not named",
    "not reported",
    "not applicable",
    "nr",
    "n a",
    "na",
    "null",
    "nan",
    "none",
    "other",
    "tbd",
    // Dutch.
    "interventie",
    "programma",
    "behandeling",
    "controle",
    "controlegroep",
    "experimenteel",
    "literatuur",
    "onbekend",
    "overig",
];

/// Whether an intervention's matching key ([`intervention_key`]) is a
/// built-in placeholder name.
///
/// # Examples
/// ```
/// use evidex::model::{intervention_key, is_placeholder_key};
/// assert!(is_placeholder_key(&intervention_key("Treatment and Control")));
/// assert!(is_placeholder_key(&intervention_key("N/A")));
/// assert!(!is_placeholder_key(&intervention_key("Safe Dates")));
/// ```
pub fn is_placeholder_key(key: &str) -> bool {
    PLACEHOLDERS.contains(&key)
}

/// A name as a TOML string (quoted and escaped), for lines to paste into a
/// mapping file.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Notes on intervention names for ingest warnings (docs/scoring.md
/// section 11), from `(matching key, spelling, rows)` triples: keys spelled
/// several ways (merged) and keys that look alike (not merged; with the
/// `[names]` line that merges them, ready to paste into a mapping file).
/// Placeholder names are noted by the row reader, per row. Sorted, so the
/// output does not depend on input order.
pub fn intervention_notes<'a>(spellings: impl IntoIterator<Item = (&'a str, &'a str, u64)>) -> Vec<String> {
    use std::collections::BTreeMap;
    let mut by_key: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for (k, d, n) in spellings {
        // Placeholders are noted per row; they are no programme to merge.
        if !is_placeholder_key(k) {
            by_key.entry(k).or_default().push((d, n));
        }
    }
    let mut notes = Vec::new();
    let shown = |v: &[(&str, u64)]| -> String {
        let mut v = v.to_vec();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v[0].0.to_string()
    };
    for v in by_key.values() {
        if v.len() > 1 {
            let mut names: Vec<String> = v.iter().map(|(d, n)| format!("'{}' ({n})", shown_value(d))).collect();
            names.sort();
            notes.push(format!(
                "intervention spelled {} ways ({}); matched as one, shown as '{}'",
                v.len(),
                names.join(", "),
                shown_value(&shown(v))
            ));
        }
    }
    let keys: Vec<&str> = by_key.keys().copied().collect();
    if keys.len() > LOOK_ALIKE_MAX_NAMES {
        notes.push(format!(
            "{} distinct intervention names: the look-alike check (for up to {LOOK_ALIKE_MAX_NAMES}) was skipped",
            keys.len()
        ));
        return notes;
    }
    for (i, a) in keys.iter().enumerate() {
        let alike: Vec<String> = keys
            .iter()
            .enumerate()
            .filter(|(j, b)| *j != i && look_alike(a, b) && (a.len(), *a) < (b.len(), **b))
            .map(|(_, b)| shown(&by_key[b]))
            .collect();
        if !alike.is_empty() {
            let quoted: Vec<String> = alike.iter().map(|b| format!("'{}'", shown_value(b))).collect();
            let line = format!(
                "{} = [{}]",
                toml_string(&shown(&by_key[a])),
                alike.iter().map(|b| toml_string(b)).collect::<Vec<_>>().join(", ")
            );
            notes.push(format!(
                "intervention '{}' looks like {}; not merged (if they are one programme, add to the mapping file's [names]: {})",
                shown_value(&shown(&by_key[a])),
                quoted.join(", "),
                shown_value_long(&line)
            ));
        }
    }
    notes
}

fn shown_value(s: &str) -> String {
    super::shown(s)
}

/// A line to paste: control characters escaped, never cut.
fn shown_value_long(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// Two matching keys that are probably one programme: one's words start
/// the other's (at least two words), or they differ by at most two edits
/// in letters (names that differ only in numbers are different).
fn look_alike(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.split(' ').count() >= 2 && long.starts_with(short) && long.as_bytes().get(short.len()) == Some(&b' ') {
        return true;
    }
    if short.len() < 6 || long.len() - short.len() > 2 {
        return false;
    }
    let letters = |s: &str| s.chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
    edit_distance(a, b) <= 2 && letters(a) != letters(b)
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn intervention_keys_ignore_case_spacing_and_punctuation() {
        assert_eq!(intervention_key("The men's program"), intervention_key("The Men's Program"));
        assert_eq!(intervention_key("The Men’s  Program "), "the mens program");
        assert_eq!(intervention_key("Self-defence"), intervention_key("self defence"));
        assert_ne!(intervention_key("Bringing in the Bystander"), intervention_key("Bringing in the Bystander (BITB)"));
    }

    #[test]
    fn notes_on_spellings_placeholders_and_look_alikes() {
        let s = [
            ("the mens program", "The Men's Program", 7),
            ("the mens program", "The men's program", 3),
            ("bringing in the bystander", "Bringing in the Bystander", 12),
            ("bringing in the bystander bitb", "Bringing in the Bystander (BITB)", 4),
            ("take care", "Take Care", 1),
            ("takecare", "TakeCare", 4),
            ("intervention", "intervention", 19),
            ("intervention 001", "Intervention 001", 5),
            ("intervention 002", "Intervention 002", 5),
        ];
        let notes = intervention_notes(s.iter().map(|(k, d, n)| (*k, *d, *n as u64)));
        let has = |needle: &str| notes.iter().any(|n| n.contains(needle));
        assert!(has("spelled 2 ways ('The Men's Program' (7), 'The men's program' (3)); matched as one, shown as 'The Men's Program'"), "{notes:#?}");
        // Placeholders are the row reader's note, not a name note.
        assert!(!has("placeholder"), "{notes:#?}");
        assert!(
            has("intervention 'Bringing in the Bystander' looks like 'Bringing in the Bystander (BITB)'; not merged (if they are one programme, add to the mapping file's [names]: \"Bringing in the Bystander\" = [\"Bringing in the Bystander (BITB)\"])"),
            "{notes:#?}"
        );
        assert!(has("'TakeCare' looks like 'Take Care'"), "{notes:#?}");
        assert!(has("[names]: \"TakeCare\" = [\"Take Care\"]"), "{notes:#?}");
        // Numbered names are different programmes, not look-alikes.
        assert!(!has("'Intervention 001' looks like"), "{notes:#?}");
        assert_eq!(notes.len(), 3, "{notes:#?}");
    }

    #[test]
    fn alias_lines_quote_like_toml() {
        assert_eq!(toml_string("The Men's \"Program\""), "\"The Men's \\\"Program\\\"\"");
        let v: toml::Value = toml::from_str(&format!("x = {}", toml_string("a \\ \"b\""))).unwrap();
        assert_eq!(v["x"].as_str(), Some("a \\ \"b\""));
    }

    #[test]
    fn placeholder_keys() {
        for p in [
            "treatment and control",
            "Literature",
            "Experimental",
            "program",
            "Programme",
            "-",
            "N/A",
            "unknown",
            "Intervention",
        ] {
            assert!(is_placeholder_key(&intervention_key(p)), "{p}");
        }
        for p in ["Safe Dates", "Bringing in the Bystander", "Program H", "Intervention 001"] {
            assert!(!is_placeholder_key(&intervention_key(p)), "{p}");
        }
    }
}

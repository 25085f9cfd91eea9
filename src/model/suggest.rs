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
    for j in 0..=m {
        d[0][j] = j;
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

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

/// Levenshtein distance over Unicode scalar values.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
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
        assert_eq!(
            normalise_label("  Needs_More-Research "),
            "needs more research"
        );
        assert_eq!(normalise_label("Adolescent   Girls"), "adolescent girls");
    }

    #[test]
    fn edit_distance_known_values() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("promissing", "promising"), 1);
    }

    #[test]
    fn suggests_close_labels_only() {
        let c = ["effective", "promising", "prudent"];
        assert_eq!(did_you_mean("promissing", &c).as_deref(), Some("promising"));
        assert_eq!(did_you_mean("banana", &c), None);
    }
}

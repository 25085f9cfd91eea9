//! Header normalisation, shared by the readers (`ingest`), by `meta`'s
//! `--by` / `--cluster` column names and by the accepted-file writer.

/// Header normalisation: trim, lower-case, spaces and hyphens as underscores,
/// repeated underscores collapsed.
pub fn normalise_header(s: &str) -> String {
    let s = s.trim().trim_start_matches('\u{feff}').to_lowercase();
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let ch = if ch == ' ' || ch == '-' { '_' } else { ch };
        if ch == '_' && out.ends_with('_') {
            continue;
        }
        out.push(ch);
    }
    out.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_normalisation() {
        assert_eq!(normalise_header(" Target Group "), "target_group");
        assert_eq!(normalise_header("\u{feff}Income-Setting"), "income_setting");
        assert_eq!(normalise_header("CI  lower"), "ci_lower");
    }
}

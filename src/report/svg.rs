//! Small helpers for the SVG renderers: truncation, wrapping, number
//! format, colours (escaping is maud's).

/// At most `n` characters, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n.saturating_sub(1)).collect::<String>())
    }
}

/// Fixed 2-decimal coordinates keep SVG small and deterministic.
pub fn f(x: f64) -> String {
    format!("{x:.2}")
}

/// Okabe-Ito colour-blind-safe colours per category (and for harm).
pub fn category_colour(cat: crate::model::Rating, harm: bool) -> &'static str {
    use crate::model::Rating::*;
    if harm {
        return "#D55E00";
    }
    match cat {
        Effective => "#0072B2",
        Promising => "#56B4E9",
        Prudent => "#F0E442",
        NeedsResearch => "#BBBBBB",
        Ineffective => "#E69F00",
    }
}

/// Word-wrap `text` into lines of at most `width` characters (a longer
/// word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole_and_lines_short() {
        let lines = wrap("Bubble area = studies; colour = verdict on violence only; empty cells are gaps", 24);
        assert!(lines.iter().all(|l| l.chars().count() <= 24), "{lines:?}");
        assert_eq!(lines.join(" "), "Bubble area = studies; colour = verdict on violence only; empty cells are gaps");
        assert_eq!(wrap("", 10), vec![String::new()]);
    }
}

//! Small helpers for hand-written SVG: escaping, truncation, number format.

/// Escape text for XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

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

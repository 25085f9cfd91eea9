//! The UNICEF (2020) five-level rating scale, with English and Dutch labels.

use super::{normalise_label, VocabError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rating on the UNICEF scale. Ordered best first: `Effective < Promising <
/// ... < Ineffective` in `Ord`, so sorting ascending puts the best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Effective,
    Promising,
    Prudent,
    NeedsResearch,
    Ineffective,
}

/// A parsed rating label: the level, whether the label said *harmful*, and
/// whether it was the scale's combined bottom label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedRating {
    pub rating: Rating,
    pub harmful: bool,
    /// The combined bottom label ("ineffective/harmful",
    /// "ineffectief/schadelijk"): read as ineffective *without* harm, since
    /// it does not say which of the two the reviewer meant (counted in a
    /// warning).
    pub combined: bool,
}

/// The scale's combined bottom level, normalised (see
/// [`ParsedRating::combined`]).
const COMBINED: &[&str] = &["ineffective/harmful", "ineffectief/schadelijk", "ineffective or harmful"];

const LABELS: &[(&str, Rating, bool)] = &[
    ("effective", Rating::Effective, false),
    ("effectief", Rating::Effective, false),
    ("promising", Rating::Promising, false),
    ("veelbelovend", Rating::Promising, false),
    ("prudent", Rating::Prudent, false),
    ("voorzichtig", Rating::Prudent, false),
    ("needs research", Rating::NeedsResearch, false),
    ("needs more research", Rating::NeedsResearch, false),
    ("more research needed", Rating::NeedsResearch, false),
    ("pioneering", Rating::NeedsResearch, false),
    ("insufficient evidence", Rating::NeedsResearch, false),
    ("inconclusive", Rating::NeedsResearch, false),
    ("meer onderzoek nodig", Rating::NeedsResearch, false),
    ("ineffective", Rating::Ineffective, false),
    ("no effect", Rating::Ineffective, false),
    ("ineffectief", Rating::Ineffective, false),
    ("harmful", Rating::Ineffective, true),
    ("negative effects", Rating::Ineffective, true),
    ("negative effect", Rating::Ineffective, true),
    ("schadelijk", Rating::Ineffective, true),
];

impl Rating {
    pub const ALL: [Rating; 5] =
        [Rating::Effective, Rating::Promising, Rating::Prudent, Rating::NeedsResearch, Rating::Ineffective];

    /// Canonical key, as written in outputs.
    pub fn key(self) -> &'static str {
        match self {
            Rating::Effective => "effective",
            Rating::Promising => "promising",
            Rating::Prudent => "prudent",
            Rating::NeedsResearch => "needs_research",
            Rating::Ineffective => "ineffective",
        }
    }

    /// Words for people ("needs more research", not the key).
    pub fn label(self) -> &'static str {
        match self {
            Rating::Effective => "effective",
            Rating::Promising => "promising",
            Rating::Prudent => "prudent",
            Rating::NeedsResearch => "needs more research",
            Rating::Ineffective => "ineffective",
        }
    }

    /// 0 = effective ... 4 = ineffective.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parse any English or Dutch label (case, whitespace, `_` and `-`
    /// insensitive). A label meaning *harmful* ("harmful", "schadelijk",
    /// "negative effects") sets `harmful`; the combined bottom label
    /// "ineffective/harmful" ("ineffectief/schadelijk", any spacing around
    /// the slash) is ineffective without harm and sets `combined`.
    ///
    /// # Errors
    /// Unknown labels give a [`VocabError`] with the closest label suggested.
    ///
    /// # Examples
    /// ```
    /// use evidex::model::Rating;
    /// let p = Rating::parse("Ineffectief / Schadelijk").unwrap();
    /// assert_eq!(p.rating, Rating::Ineffective);
    /// assert!(!p.harmful && p.combined);
    /// assert!(Rating::parse("schadelijk").unwrap().harmful);
    /// assert_eq!(Rating::parse("veelbelovend").unwrap().rating, Rating::Promising);
    /// ```
    pub fn parse(s: &str) -> Result<ParsedRating, VocabError> {
        if let Some(r) = Rating::ALL.iter().find(|r| r.key() == s) {
            return Ok(ParsedRating { rating: *r, harmful: false, combined: false });
        }
        let n = normalise_label(s);
        let n_slash: String = n.split('/').map(str::trim).collect::<Vec<_>>().join("/");
        if COMBINED.contains(&n_slash.as_str()) {
            return Ok(ParsedRating { rating: Rating::Ineffective, harmful: false, combined: true });
        }
        for (label, rating, harmful) in LABELS {
            if n == *label || n_slash == *label {
                return Ok(ParsedRating { rating: *rating, harmful: *harmful, combined: false });
            }
        }
        // Canonical keys with underscores normalise to spaces; also accept them.
        let keys: Vec<&str> = Rating::ALL.iter().map(|r| r.key()).collect();
        let labels: Vec<&str> =
            LABELS.iter().map(|l| l.0).chain(COMBINED.iter().copied()).chain(keys.iter().copied()).collect();
        Err(VocabError::new(s, &keys, &labels))
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_label_parses() {
        let cases = [
            ("effective", Rating::Effective, false),
            ("Effectief", Rating::Effective, false),
            ("promising", Rating::Promising, false),
            ("VEELBELOVEND", Rating::Promising, false),
            ("prudent", Rating::Prudent, false),
            ("voorzichtig", Rating::Prudent, false),
            ("needs_research", Rating::NeedsResearch, false),
            ("needs more research", Rating::NeedsResearch, false),
            ("More research needed", Rating::NeedsResearch, false),
            ("pioneering", Rating::NeedsResearch, false),
            ("insufficient evidence", Rating::NeedsResearch, false),
            ("inconclusive", Rating::NeedsResearch, false),
            (" meer  onderzoek nodig ", Rating::NeedsResearch, false),
            ("ineffective", Rating::Ineffective, false),
            ("no effect", Rating::Ineffective, false),
            ("ineffectief", Rating::Ineffective, false),
            ("harmful", Rating::Ineffective, true),
            ("Harmful", Rating::Ineffective, true),
            ("negative effects", Rating::Ineffective, true),
            ("schadelijk", Rating::Ineffective, true),
        ];
        for (label, rating, harmful) in cases {
            let p = Rating::parse(label).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!((p.rating, p.harmful, p.combined), (rating, harmful, false), "{label}");
        }
    }

    /// Issue 20 item 2: the combined bottom label made harm on its own.
    #[test]
    fn combined_bottom_label_is_ineffective_without_harm() {
        for label in [
            "ineffective/harmful",
            "Ineffective/Harmful",
            "ineffective / harmful",
            "ineffective /harmful",
            "ineffective/ harmful",
            " Ineffective  /  Harmful ",
            "ineffectief/schadelijk",
            "Ineffectief / Schadelijk",
            "ineffectief /schadelijk",
        ] {
            let p = Rating::parse(label).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!((p.rating, p.harmful, p.combined), (Rating::Ineffective, false, true), "{label}");
        }
    }

    #[test]
    fn unknown_label_suggests() {
        let e = Rating::parse("promissing").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("promising"));
        assert!(e.to_string().contains("expected one of effective, promising, prudent, needs_research, ineffective"));
        let e = Rating::parse("veelbelovent").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("veelbelovend"));
    }

    #[test]
    fn order_is_best_first() {
        assert!(Rating::Effective < Rating::Promising);
        assert!(Rating::NeedsResearch < Rating::Ineffective);
    }
}

//! Domain types. Every type here validates on construction: once a value of
//! these types exists, the rest of evidex never re-checks it.
//!
//! Data flow: `ingest` turns raw cells into these types (collecting row
//! errors), `score` and `meta` consume them.

mod assignment;
mod design;
mod effect_row;
mod header;
mod income;
mod outcome;
mod rating;
mod record;
mod strategy;
mod suggest;
mod target;

pub use assignment::Assignment;
pub use design::{RiskOfBias, StudyDesign};
pub use effect_row::EffectRow;
pub use header::normalise_header;
pub use income::IncomeSetting;
pub use outcome::{Direction, OutcomeDomain};
pub use rating::{ParsedRating, Rating};
pub use record::{
    check_record, current_year, is_ratio_measure, EffectInput, EvaluationRecord, Provenance, RecordError, RecordFields,
};
pub use strategy::Strategy;
pub use suggest::{
    csv_field, did_you_mean, edit_distance, intervention_key, intervention_notes, is_placeholder_key, normalise_label,
    shown, toml_string, SHOWN_MAX_CHARS,
};
pub use target::TargetGroup;

use thiserror::Error;

/// A label that is not part of a controlled vocabulary.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}", self.message())]
pub struct VocabError {
    pub value: String,
    pub allowed: String,
    pub suggestion: Option<String>,
    /// Why a known label is refused (an ambiguous label such as "LMIC"),
    /// with what to give instead; `None`: the label is unknown.
    pub refused: Option<String>,
}

fn suggestion_suffix(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

impl VocabError {
    /// Build the error for `value`, suggesting the closest of `labels`.
    pub fn new(value: &str, allowed: &[&str], labels: &[&str]) -> Self {
        VocabError {
            value: value.to_string(),
            allowed: allowed.join(", "),
            suggestion: did_you_mean(value, labels),
            refused: None,
        }
    }

    /// What is wrong with the value, without the value itself: the refusal
    /// reason, or "unknown value; expected one of ...".
    pub fn reason(&self) -> String {
        match &self.refused {
            Some(r) => r.clone(),
            None => format!("unknown value; expected one of {}", self.allowed),
        }
    }

    fn message(&self) -> String {
        match &self.refused {
            Some(r) => format!("value '{}': {r}", shown(&self.value)),
            None => format!(
                "unknown value '{}'; expected one of {}{}",
                shown(&self.value),
                self.allowed,
                suggestion_suffix(&self.suggestion)
            ),
        }
    }
}

//! Quality gates at ingest (docs/scoring.md sections 1, 3 and 11): counts
//! of what the rows leave for the model to assume (outcome domains inferred
//! from the outcome text, missing study ids, unknown risk of bias, effect
//! directions taken from the configuration), turned into one warning each
//! per file; and the notes on intervention names.

use super::Warning;
use crate::model::{EvaluationRecord, OutcomeDomain};

/// Per-file counts of assumptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Rows whose outcome domain was inferred, by domain (tier order).
    pub domains_inferred: [u64; 4],
    pub no_study_id: u64,
    pub unknown_rob: u64,
    /// Rows with an effect size that computes and no direction of their own.
    pub default_direction: u64,
}

impl RowCounts {
    /// Count one row by what it says.
    pub fn add(
        &mut self,
        domain: OutcomeDomain,
        inferred: bool,
        has_study_id: bool,
        rob_known: bool,
        default_direction: bool,
    ) {
        if inferred {
            self.domains_inferred[domain.index()] += 1;
        }
        self.no_study_id += u64::from(!has_study_id);
        self.unknown_rob += u64::from(!rob_known);
        self.default_direction += u64::from(default_direction);
    }

    pub fn add_record(&mut self, r: &EvaluationRecord) {
        self.add(
            r.outcome_domain,
            r.domain_inferred,
            r.study_id.is_some(),
            r.risk_of_bias.is_some(),
            r.direction.is_none() && r.effect().is_usable() && crate::meta::compute_effect(r.effect(), None).is_ok(),
        );
    }

    pub fn merge(&mut self, o: &RowCounts) {
        for i in 0..4 {
            self.domains_inferred[i] += o.domains_inferred[i];
        }
        self.no_study_id += o.no_study_id;
        self.unknown_rob += o.unknown_rob;
        self.default_direction += o.default_direction;
    }

    /// `self - before` (a file's counts from running totals).
    pub fn since(&self, before: &RowCounts) -> RowCounts {
        RowCounts {
            domains_inferred: std::array::from_fn(|i| self.domains_inferred[i] - before.domains_inferred[i]),
            no_study_id: self.no_study_id - before.no_study_id,
            unknown_rob: self.unknown_rob - before.unknown_rob,
            default_direction: self.default_direction - before.default_direction,
        }
    }

    /// One warning per kind of assumption, for file `display`.
    pub fn warnings(&self, display: &str) -> Vec<Warning> {
        let rows = |n: u64| format!("{n} row{}", if n == 1 { "" } else { "s" });
        let mut w = Vec::new();
        let inferred: u64 = self.domains_inferred.iter().sum();
        if inferred > 0 {
            let parts: Vec<String> = OutcomeDomain::ALL
                .iter()
                .filter(|d| self.domains_inferred[d.index()] > 0)
                .map(|d| format!("{} {}", d.key(), self.domains_inferred[d.index()]))
                .collect();
            w.push(format!(
                "outcome domain inferred from the outcome text for {} ({}); give an outcome_domain column to say it (docs/scoring.md section 1)",
                rows(inferred),
                parts.join(", ")
            ));
        }
        if self.no_study_id > 0 {
            w.push(format!(
                "{} without study_id: each counts as its own study, so findings of one study would count several times",
                rows(self.no_study_id)
            ));
        }
        if self.unknown_rob > 0 {
            w.push(format!(
                "{} without a risk-of-bias judgement: their controlled studies enter the synthesis, cannot be needed for an effective verdict unless quality.unknown_rob_max = \"effective\", and certainty goes down",
                rows(self.unknown_rob)
            ));
        }
        if self.default_direction > 0 {
            w.push(format!(
                "{} with an effect size and no direction: the scoring configuration's effects.direction decides (by default risk ratios, odds ratios and risk differences on violence outcomes are lower-is-better, everything else is read as higher-is-better); an effect whose direction was assumed is never read as harm: give a direction column",
                rows(self.default_direction)
            ));
        }
        w.into_iter().map(|message| Warning { file: Some(display.to_string()), line: None, message }).collect()
    }
}

/// Warnings on intervention names (spelled several ways, placeholders,
/// look-alikes), from `(matching key, spelling, rows)`.
pub fn intervention_warnings<'a>(spellings: impl IntoIterator<Item = (&'a str, &'a str, u64)>) -> Vec<Warning> {
    crate::model::intervention_notes(spellings)
        .into_iter()
        .map(|message| Warning { file: None, line: None, message })
        .collect()
}

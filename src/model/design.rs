//! Study designs (ordered by rigour) and Cochrane RoB 2 risk-of-bias levels.

use super::{normalise_label, VocabError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Study design, ordered most rigorous first (`Ord`: `SystematicReview` is
/// the smallest, i.e. the best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyDesign {
    SystematicReview,
    Rct,
    QuasiExperimental,
    PrePost,
    Observational,
    Qualitative,
    ExpertOpinion,
}

const DESIGN_ALIASES: &[(&str, StudyDesign)] = &[
    ("systematic review", StudyDesign::SystematicReview),
    ("meta analysis", StudyDesign::SystematicReview),
    ("systematic review / meta analysis", StudyDesign::SystematicReview),
    ("systematic review/meta analysis", StudyDesign::SystematicReview),
    ("sr", StudyDesign::SystematicReview),
    ("rct", StudyDesign::Rct),
    ("randomized controlled trial", StudyDesign::Rct),
    ("randomised controlled trial", StudyDesign::Rct),
    ("cluster rct", StudyDesign::Rct),
    ("cluster randomized trial", StudyDesign::Rct),
    ("randomized", StudyDesign::Rct),
    ("experimental", StudyDesign::Rct),
    ("gerandomiseerd", StudyDesign::Rct),
    ("quasi experimental", StudyDesign::QuasiExperimental),
    ("quasi experiment", StudyDesign::QuasiExperimental),
    ("qed", StudyDesign::QuasiExperimental),
    ("difference in differences", StudyDesign::QuasiExperimental),
    ("regression discontinuity", StudyDesign::QuasiExperimental),
    ("matched comparison", StudyDesign::QuasiExperimental),
    ("quasi experimenteel", StudyDesign::QuasiExperimental),
    ("pre post", StudyDesign::PrePost),
    ("pre/post", StudyDesign::PrePost),
    ("before after", StudyDesign::PrePost),
    ("voor en nameting", StudyDesign::PrePost),
    ("observational", StudyDesign::Observational),
    ("correlational", StudyDesign::Observational),
    ("cohort", StudyDesign::Observational),
    ("case control", StudyDesign::Observational),
    ("cross sectional", StudyDesign::Observational),
    ("observationeel", StudyDesign::Observational),
    ("qualitative", StudyDesign::Qualitative),
    ("kwalitatief", StudyDesign::Qualitative),
    ("expert opinion", StudyDesign::ExpertOpinion),
    ("standards", StudyDesign::ExpertOpinion),
    ("normative", StudyDesign::ExpertOpinion),
    ("expert", StudyDesign::ExpertOpinion),
    ("expertmening", StudyDesign::ExpertOpinion),
];

impl StudyDesign {
    pub const ALL: [StudyDesign; 7] = [
        StudyDesign::SystematicReview,
        StudyDesign::Rct,
        StudyDesign::QuasiExperimental,
        StudyDesign::PrePost,
        StudyDesign::Observational,
        StudyDesign::Qualitative,
        StudyDesign::ExpertOpinion,
    ];

    pub fn key(self) -> &'static str {
        match self {
            StudyDesign::SystematicReview => "systematic_review",
            StudyDesign::Rct => "rct",
            StudyDesign::QuasiExperimental => "quasi_experimental",
            StudyDesign::PrePost => "pre_post",
            StudyDesign::Observational => "observational",
            StudyDesign::Qualitative => "qualitative",
            StudyDesign::ExpertOpinion => "expert_opinion",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Experimental or quasi-experimental (or a review of such): the designs
    /// UNICEF/INSPIRE criteria accept for "effective" and "promising".
    pub fn is_rigorous(self) -> bool {
        self <= StudyDesign::QuasiExperimental
    }

    /// Parse a design label (aliases include metafor/sv-meta wording such as
    /// "Randomized Controlled Trial" and "Quasi-Experimental").
    ///
    /// # Errors
    /// [`VocabError`] with a suggestion.
    pub fn parse(s: &str) -> Result<StudyDesign, VocabError> {
        if let Some(v) = StudyDesign::ALL.iter().find(|v| v.key() == s) {
            return Ok(*v);
        }
        let n = normalise_label(s);
        for (label, v) in DESIGN_ALIASES {
            if n == *label {
                return Ok(*v);
            }
        }
        for v in StudyDesign::ALL {
            if n == normalise_label(v.key()) {
                return Ok(v);
            }
        }
        let keys: Vec<&str> = StudyDesign::ALL.iter().map(|d| d.key()).collect();
        let labels: Vec<&str> = keys.iter().copied().chain(DESIGN_ALIASES.iter().map(|a| a.0)).collect();
        Err(VocabError::new(s, &keys, &labels))
    }
}

impl fmt::Display for StudyDesign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Risk of bias, Cochrane RoB 2 wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskOfBias {
    Low,
    SomeConcerns,
    High,
}

impl RiskOfBias {
    pub const ALL: [RiskOfBias; 3] = [RiskOfBias::Low, RiskOfBias::SomeConcerns, RiskOfBias::High];

    pub fn key(self) -> &'static str {
        match self {
            RiskOfBias::Low => "low",
            RiskOfBias::SomeConcerns => "some_concerns",
            RiskOfBias::High => "high",
        }
    }

    /// # Errors
    /// [`VocabError`] with a suggestion.
    pub fn parse(s: &str) -> Result<RiskOfBias, VocabError> {
        if let Some(v) = RiskOfBias::ALL.iter().find(|v| v.key() == s) {
            return Ok(*v);
        }
        let n = normalise_label(s);
        let v = match n.as_str() {
            "low" | "low risk" | "laag" => RiskOfBias::Low,
            "some concerns" | "some" | "moderate" | "unclear" | "medium" | "enige zorgen" | "matig" => {
                RiskOfBias::SomeConcerns
            }
            "high" | "high risk" | "hoog" | "serious" | "critical" => RiskOfBias::High,
            _ => {
                let keys: Vec<&str> = RiskOfBias::ALL.iter().map(|r| r.key()).collect();
                return Err(VocabError::new(s, &keys, &["low", "some concerns", "high", "moderate", "unclear"]));
            }
        };
        Ok(v)
    }
}

impl fmt::Display for RiskOfBias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_aliases_and_order() {
        assert_eq!(StudyDesign::parse("Randomized Controlled Trial").unwrap(), StudyDesign::Rct);
        assert_eq!(StudyDesign::parse("Quasi-Experimental").unwrap(), StudyDesign::QuasiExperimental);
        assert_eq!(StudyDesign::parse("pre_post").unwrap(), StudyDesign::PrePost);
        assert_eq!(StudyDesign::parse("systematic_review").unwrap(), StudyDesign::SystematicReview);
        assert_eq!(StudyDesign::parse("Expert opinion").unwrap(), StudyDesign::ExpertOpinion);
        for d in StudyDesign::ALL {
            assert_eq!(StudyDesign::parse(d.key()).unwrap(), d);
        }
        assert!(StudyDesign::Rct < StudyDesign::QuasiExperimental);
        assert!(StudyDesign::QuasiExperimental.is_rigorous());
        assert!(!StudyDesign::PrePost.is_rigorous());
        assert_eq!(
            StudyDesign::parse("qausi experimental").unwrap_err().suggestion.as_deref(),
            Some("quasi_experimental")
        );
    }

    #[test]
    fn risk_of_bias() {
        assert_eq!(RiskOfBias::parse("Some concerns").unwrap(), RiskOfBias::SomeConcerns);
        assert_eq!(RiskOfBias::parse("some_concerns").unwrap(), RiskOfBias::SomeConcerns);
        assert_eq!(RiskOfBias::parse("HIGH").unwrap(), RiskOfBias::High);
        assert_eq!(RiskOfBias::parse("lwo").unwrap_err().suggestion.as_deref(), Some("low"));
    }
}

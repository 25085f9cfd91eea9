//! The scoring model's weights and thresholds, read from TOML. Every value
//! has a documented default (`evidex config --default` prints them; see
//! `docs/scoring.md` for sources). Unknown keys are errors.

use crate::model::{IncomeSetting, Rating, RiskOfBias, StudyDesign};
use serde::{Deserialize, Serialize};

/// Version of the scoring model; changes whenever a rule or default changes.
pub const MODEL_VERSION: &str = "evidex-score-1.0";

/// The default configuration, as printed by `evidex config --default`.
pub const DEFAULT_TOML: &str = r#"# evidex scoring model configuration (model evidex-score-1.0).
# Every key is optional; a missing key keeps its default. Unknown keys are errors.
# Rules and sources: docs/scoring.md.

# Year against which the age of evidence is measured; 0 = the latest study
# year in the input (keeps output independent of the day it is run).
reference_year = 0

[design_weight]        # GRADE start levels: high 1.0, moderate 0.7, low 0.4, very low 0.2
systematic_review = 1.0
rct = 1.0
quasi_experimental = 0.7
pre_post = 0.4
observational = 0.35
qualitative = 0.2
expert_opinion = 0.1
unknown = 0.3

[risk_of_bias_weight]  # GRADE: serious risk of bias rates down
low = 1.0
some_concerns = 0.8
high = 0.5
unknown = 0.8

[sample]
reference_n = 400      # sample factor = ln(1 + n) / ln(1 + reference_n), capped
cap = 1.25
unknown_factor = 0.5

[age]
half_life_years = 20.0 # weight halves every 20 years of age
unknown_year_factor = 0.75

[rating_value]         # how strongly each rating says "it works"
effective = 1.0
promising = 0.8
prudent = 0.6
needs_research = 0.4
ineffective = 0.0

[score]
evidence_scale = 4.0   # pseudo-observations per unit of study weight
prior_weight = 2.0     # pseudo-observations at the neutral value 0.5 (shrinkage)
interval_level = 0.90  # central credible interval for score_low / score_high
positive_threshold = 0.7  # a study with value >= this is a positive finding
null_threshold = 0.2      # a study with value <= this is a null (no-effect) finding
unrated_discount = 0.5    # weight multiplier for ratings derived from effect sizes

[category]
effective_min_rigorous_positive = 2
promising_min_rigorous_positive = 1
borrowed_max = "promising"  # borrowed evidence alone cannot rate higher

[certainty]
high_rob_share = 0.5          # down one level when high-RoB studies carry more weight
inconsistency_share = 0.25    # down one when positive and null/harmful studies each carry >= 25%
inconsistency_i2 = 75.0       # ... or when the pooled I^2 is at least this
imprecision_min_studies = 2
imprecision_min_sample = 300

[borrowing]
min_local_studies = 2  # borrow when the target cell has fewer independent studies
# weight multiplier from a source setting (row) to a target setting (column): LIC, LMC, UMC, HIC
transfer = [
  [1.00, 0.60, 0.40, 0.25],
  [0.60, 1.00, 0.60, 0.40],
  [0.40, 0.60, 1.00, 0.60],
  [0.25, 0.40, 0.60, 1.00],
]

[effects]
higher_is_better = true  # sign of effect sizes: positive (ratio > 1) = beneficial
rho = 0.5                # assumed correlation of effect sizes within a study
"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesignWeight {
    pub systematic_review: f64,
    pub rct: f64,
    pub quasi_experimental: f64,
    pub pre_post: f64,
    pub observational: f64,
    pub qualitative: f64,
    pub expert_opinion: f64,
    pub unknown: f64,
}

impl Default for DesignWeight {
    fn default() -> Self {
        DesignWeight {
            systematic_review: 1.0,
            rct: 1.0,
            quasi_experimental: 0.7,
            pre_post: 0.4,
            observational: 0.35,
            qualitative: 0.2,
            expert_opinion: 0.1,
            unknown: 0.3,
        }
    }
}

impl DesignWeight {
    pub fn of(&self, d: Option<StudyDesign>) -> f64 {
        match d {
            None => self.unknown,
            Some(StudyDesign::SystematicReview) => self.systematic_review,
            Some(StudyDesign::Rct) => self.rct,
            Some(StudyDesign::QuasiExperimental) => self.quasi_experimental,
            Some(StudyDesign::PrePost) => self.pre_post,
            Some(StudyDesign::Observational) => self.observational,
            Some(StudyDesign::Qualitative) => self.qualitative,
            Some(StudyDesign::ExpertOpinion) => self.expert_opinion,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RobWeight {
    pub low: f64,
    pub some_concerns: f64,
    pub high: f64,
    pub unknown: f64,
}

impl Default for RobWeight {
    fn default() -> Self {
        RobWeight { low: 1.0, some_concerns: 0.8, high: 0.5, unknown: 0.8 }
    }
}

impl RobWeight {
    pub fn of(&self, r: Option<RiskOfBias>) -> f64 {
        match r {
            None => self.unknown,
            Some(RiskOfBias::Low) => self.low,
            Some(RiskOfBias::SomeConcerns) => self.some_concerns,
            Some(RiskOfBias::High) => self.high,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sample {
    pub reference_n: f64,
    pub cap: f64,
    pub unknown_factor: f64,
}

impl Default for Sample {
    fn default() -> Self {
        Sample { reference_n: 400.0, cap: 1.25, unknown_factor: 0.5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Age {
    pub half_life_years: f64,
    pub unknown_year_factor: f64,
}

impl Default for Age {
    fn default() -> Self {
        Age { half_life_years: 20.0, unknown_year_factor: 0.75 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RatingValue {
    pub effective: f64,
    pub promising: f64,
    pub prudent: f64,
    pub needs_research: f64,
    pub ineffective: f64,
}

impl Default for RatingValue {
    fn default() -> Self {
        RatingValue { effective: 1.0, promising: 0.8, prudent: 0.6, needs_research: 0.4, ineffective: 0.0 }
    }
}

impl RatingValue {
    pub fn of(&self, r: Rating) -> f64 {
        match r {
            Rating::Effective => self.effective,
            Rating::Promising => self.promising,
            Rating::Prudent => self.prudent,
            Rating::NeedsResearch => self.needs_research,
            Rating::Ineffective => self.ineffective,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreParams {
    pub evidence_scale: f64,
    pub prior_weight: f64,
    pub interval_level: f64,
    pub positive_threshold: f64,
    pub null_threshold: f64,
    pub unrated_discount: f64,
}

impl Default for ScoreParams {
    fn default() -> Self {
        ScoreParams {
            evidence_scale: 4.0,
            prior_weight: 2.0,
            interval_level: 0.90,
            positive_threshold: 0.7,
            null_threshold: 0.2,
            unrated_discount: 0.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoryParams {
    pub effective_min_rigorous_positive: u32,
    pub promising_min_rigorous_positive: u32,
    pub borrowed_max: Rating,
}

impl Default for CategoryParams {
    fn default() -> Self {
        CategoryParams {
            effective_min_rigorous_positive: 2,
            promising_min_rigorous_positive: 1,
            borrowed_max: Rating::Promising,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertaintyParams {
    pub high_rob_share: f64,
    pub inconsistency_share: f64,
    pub inconsistency_i2: f64,
    pub imprecision_min_studies: u32,
    pub imprecision_min_sample: u64,
}

impl Default for CertaintyParams {
    fn default() -> Self {
        CertaintyParams {
            high_rob_share: 0.5,
            inconsistency_share: 0.25,
            inconsistency_i2: 75.0,
            imprecision_min_studies: 2,
            imprecision_min_sample: 300,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Borrowing {
    pub min_local_studies: u32,
    pub transfer: [[f64; 4]; 4],
}

impl Default for Borrowing {
    fn default() -> Self {
        Borrowing {
            min_local_studies: 2,
            transfer: [
                [1.00, 0.60, 0.40, 0.25],
                [0.60, 1.00, 0.60, 0.40],
                [0.40, 0.60, 1.00, 0.60],
                [0.25, 0.40, 0.60, 1.00],
            ],
        }
    }
}

impl Borrowing {
    pub fn factor(&self, from: IncomeSetting, to: IncomeSetting) -> f64 {
        self.transfer[from.index()][to.index()]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EffectsParams {
    pub higher_is_better: bool,
    pub rho: f64,
}

impl Default for EffectsParams {
    fn default() -> Self {
        EffectsParams { higher_is_better: true, rho: 0.5 }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    pub reference_year: i32,
    pub design_weight: DesignWeight,
    pub risk_of_bias_weight: RobWeight,
    pub sample: Sample,
    pub age: Age,
    pub rating_value: RatingValue,
    pub score: ScoreParams,
    pub category: CategoryParams,
    pub certainty: CertaintyParams,
    pub borrowing: Borrowing,
    pub effects: EffectsParams,
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ScoringConfig {
    /// Parse and validate TOML.
    ///
    /// # Errors
    /// Invalid TOML, unknown keys, or values out of range.
    pub fn from_toml(text: &str, path: &str) -> Result<ScoringConfig, ConfigError> {
        let c: ScoringConfig =
            toml::from_str(text).map_err(|e| ConfigError { path: path.into(), message: e.to_string() })?;
        c.validate().map_err(|message| ConfigError { path: path.into(), message })?;
        Ok(c)
    }

    /// # Errors
    /// As [`ScoringConfig::from_toml`], plus I/O errors.
    pub fn load(path: &std::path::Path) -> Result<ScoringConfig, ConfigError> {
        let p = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError { path: p.clone(), message: e.to_string() })?;
        ScoringConfig::from_toml(&text, &p)
    }

    fn validate(&self) -> Result<(), String> {
        let nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number >= 0, got {v}"))
            }
        };
        let d = &self.design_weight;
        for (n, v) in [
            ("design_weight.systematic_review", d.systematic_review),
            ("design_weight.rct", d.rct),
            ("design_weight.quasi_experimental", d.quasi_experimental),
            ("design_weight.pre_post", d.pre_post),
            ("design_weight.observational", d.observational),
            ("design_weight.qualitative", d.qualitative),
            ("design_weight.expert_opinion", d.expert_opinion),
            ("design_weight.unknown", d.unknown),
            ("risk_of_bias_weight.low", self.risk_of_bias_weight.low),
            ("risk_of_bias_weight.some_concerns", self.risk_of_bias_weight.some_concerns),
            ("risk_of_bias_weight.high", self.risk_of_bias_weight.high),
            ("risk_of_bias_weight.unknown", self.risk_of_bias_weight.unknown),
            ("sample.cap", self.sample.cap),
            ("sample.unknown_factor", self.sample.unknown_factor),
            ("age.unknown_year_factor", self.age.unknown_year_factor),
            ("score.unrated_discount", self.score.unrated_discount),
        ] {
            nonneg(n, v)?;
        }
        for (n, v) in [
            ("rating_value.effective", self.rating_value.effective),
            ("rating_value.promising", self.rating_value.promising),
            ("rating_value.prudent", self.rating_value.prudent),
            ("rating_value.needs_research", self.rating_value.needs_research),
            ("rating_value.ineffective", self.rating_value.ineffective),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{n} must be between 0 and 1, got {v}"));
            }
        }
        if !(self.sample.reference_n > 0.0) {
            return Err("sample.reference_n must be > 0".into());
        }
        if !(self.age.half_life_years > 0.0) {
            return Err("age.half_life_years must be > 0".into());
        }
        if !(self.score.evidence_scale > 0.0 && self.score.evidence_scale.is_finite()) {
            return Err("score.evidence_scale must be > 0".into());
        }
        if !(self.score.prior_weight > 0.0 && self.score.prior_weight.is_finite()) {
            return Err("score.prior_weight must be > 0 (it keeps one small study from reaching the top)".into());
        }
        if !(self.score.interval_level > 0.0 && self.score.interval_level < 1.0) {
            return Err(format!("score.interval_level must be between 0 and 1, got {}", self.score.interval_level));
        }
        if self.score.null_threshold >= self.score.positive_threshold {
            return Err("score.null_threshold must be below score.positive_threshold".into());
        }
        for row in &self.borrowing.transfer {
            for v in row {
                if !(0.0..=1.0).contains(v) {
                    return Err(format!("borrowing.transfer values must be between 0 and 1, got {v}"));
                }
            }
        }
        if !(-1.0..=1.0).contains(&self.effects.rho) {
            return Err("effects.rho must be between -1 and 1".into());
        }
        Ok(())
    }

    /// SHA-256 of the canonical TOML form of this configuration.
    pub fn hash(&self) -> String {
        let canon = toml::to_string(self).expect("config serialises");
        crate::ingest::sha256_hex(canon.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_default_equals_built_in_default() {
        let parsed = ScoringConfig::from_toml(DEFAULT_TOML, "default").unwrap();
        assert_eq!(parsed, ScoringConfig::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let e = ScoringConfig::from_toml("[sample]\nrefrence_n = 3\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("unknown field `refrence_n`"), "{e}");
        let e = ScoringConfig::from_toml("[score]\nprior_weight = 0\n", "c.toml").unwrap_err();
        assert!(e.message.contains("prior_weight"));
        let ok = ScoringConfig::from_toml("[score]\nprior_weight = 4\n", "c.toml").unwrap();
        assert_eq!(ok.score.prior_weight, 4.0);
        assert_eq!(ok.sample, Sample::default());
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = ScoringConfig::default();
        let mut b = a.clone();
        assert_eq!(a.hash(), b.hash());
        b.score.prior_weight = 3.0;
        assert_ne!(a.hash(), b.hash());
    }
}

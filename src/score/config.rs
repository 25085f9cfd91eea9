//! The scoring model's weights and thresholds, read from TOML. Every value
//! has a documented default (`evidex config --default` prints them; see
//! `docs/scoring.md` for sources). Unknown keys are errors.

use crate::model::{IncomeSetting, Rating, RiskOfBias, StudyDesign};
use serde::{Deserialize, Serialize};

/// Version of the scoring model; changes whenever a rule or default changes.
pub const MODEL_VERSION: &str = "evidex-score-2.0";

/// The default configuration, as printed by `evidex config --default`.
pub const DEFAULT_TOML: &str = r#"# evidex scoring model configuration (model evidex-score-2.0).
# Every key is optional; a missing key keeps its default. Unknown keys are errors.
# Rules, sources, and which defaults are sourced or a judgement: docs/scoring.md.

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
unknown = 0.6          # never better than reporting "some concerns"

[sample]
reference_n = 400      # sample factor = ln(1 + n) / ln(1 + reference_n), capped
cap = 1.25
unknown_factor = 0.5

[age]
half_life_years = 20.0 # weight halves every 20 years of age
unknown_year_factor = 0.75

[rating_value]         # study values for the score (not the category)
effective = 1.0
promising = 0.8
prudent = 0.6
needs_research = 0.4
ineffective = 0.0

[standing]
unrated_discount = 0.5    # weight multiplier for findings judged from their effect size

[quality]
unknown_rob_rigorous = false  # may a study without a risk-of-bias judgement count as rigorous?

[category]
effective_min_rigorous_positive = 2
promising_min_rigorous_positive = 1
mixed_dominance = 2.0       # one side clearly dominates with at least this multiple of the other's weight
borrowed_max = "promising"  # a verdict resting on borrowed evidence is capped here

[score]
evidence_scale = 4.0   # pseudo-observations per unit of study weight
prior_weight = 2.0     # pseudo-observations at the neutral value 0.5
interval_level = 0.90  # level of the score band (not a credible interval)

[certainty]
high_rob_share = 0.5          # down one level when high- or unknown-RoB studies carry more weight
inconsistency_share = 0.25    # down one when positive and null studies each carry >= 25%
inconsistency_i2 = 75.0       # ... or when the pooled I^2 is at least this
imprecision_min_studies = 2
imprecision_min_sample = 300
egger_min_studies = 10        # Egger's test only from this many studies
egger_p = 0.10                # down one for publication bias below this p-value

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
direction = "auto"  # for rows without a direction: auto | higher_is_better | lower_is_better
rho = 0.5           # assumed correlation of effect sizes within a study

[robustness]
draws = 1000                        # Monte Carlo draws of the configuration (0: off)
seed = 1
weight_spread = 0.25                # every weight times U(1 - spread, 1 + spread)
reference_n_range = [200.0, 800.0]  # log-uniform
half_life_range = [10.0, 40.0]      # log-uniform, years
unrated_discount_range = [0.25, 0.75]
dominance_range = [1.5, 3.0]
max_added = 3                       # flip: up to this many hypothetical studies
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
        RobWeight { low: 1.0, some_concerns: 0.8, high: 0.5, unknown: 0.6 }
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
pub struct StandingParams {
    pub unrated_discount: f64,
}

impl Default for StandingParams {
    fn default() -> Self {
        StandingParams { unrated_discount: 0.5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Quality {
    pub unknown_rob_rigorous: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreParams {
    pub evidence_scale: f64,
    pub prior_weight: f64,
    pub interval_level: f64,
}

impl Default for ScoreParams {
    fn default() -> Self {
        ScoreParams { evidence_scale: 4.0, prior_weight: 2.0, interval_level: 0.90 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoryParams {
    pub effective_min_rigorous_positive: u32,
    pub promising_min_rigorous_positive: u32,
    pub mixed_dominance: f64,
    pub borrowed_max: Rating,
}

impl Default for CategoryParams {
    fn default() -> Self {
        CategoryParams {
            effective_min_rigorous_positive: 2,
            promising_min_rigorous_positive: 1,
            mixed_dominance: 2.0,
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
    pub egger_min_studies: u32,
    pub egger_p: f64,
}

impl Default for CertaintyParams {
    fn default() -> Self {
        CertaintyParams {
            high_rob_share: 0.5,
            inconsistency_share: 0.25,
            inconsistency_i2: 75.0,
            imprecision_min_studies: 2,
            imprecision_min_sample: 300,
            egger_min_studies: 10,
            egger_p: 0.10,
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

/// The direction of rows that do not give one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionDefault {
    /// Ratio measures and risk differences on violence outcomes lower is
    /// better, everything else higher is better (docs/scoring.md section 3).
    Auto,
    HigherIsBetter,
    LowerIsBetter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EffectsParams {
    pub direction: DirectionDefault,
    pub rho: f64,
}

impl Default for EffectsParams {
    fn default() -> Self {
        EffectsParams { direction: DirectionDefault::Auto, rho: 0.5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RobustnessParams {
    pub draws: u32,
    pub seed: u64,
    pub weight_spread: f64,
    pub reference_n_range: [f64; 2],
    pub half_life_range: [f64; 2],
    pub unrated_discount_range: [f64; 2],
    pub dominance_range: [f64; 2],
    pub max_added: u32,
}

impl Default for RobustnessParams {
    fn default() -> Self {
        RobustnessParams {
            draws: 1000,
            seed: 1,
            weight_spread: 0.25,
            reference_n_range: [200.0, 800.0],
            half_life_range: [10.0, 40.0],
            unrated_discount_range: [0.25, 0.75],
            dominance_range: [1.5, 3.0],
            max_added: 3,
        }
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
    pub standing: StandingParams,
    pub quality: Quality,
    pub category: CategoryParams,
    pub score: ScoreParams,
    pub certainty: CertaintyParams,
    pub borrowing: Borrowing,
    pub effects: EffectsParams,
    pub robustness: RobustnessParams,
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
            ("standing.unrated_discount", self.standing.unrated_discount),
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
        if !(self.category.mixed_dominance >= 1.0 && self.category.mixed_dominance.is_finite()) {
            return Err(format!(
                "category.mixed_dominance must be a finite number >= 1, got {}",
                self.category.mixed_dominance
            ));
        }
        if !(0.0..=1.0).contains(&self.certainty.egger_p) {
            return Err(format!("certainty.egger_p must be between 0 and 1, got {}", self.certainty.egger_p));
        }
        let r = &self.robustness;
        if !(0.0..1.0).contains(&r.weight_spread) {
            return Err(format!("robustness.weight_spread must be in [0, 1), got {}", r.weight_spread));
        }
        for (n, [lo, hi], min) in [
            ("robustness.reference_n_range", r.reference_n_range, f64::MIN_POSITIVE),
            ("robustness.half_life_range", r.half_life_range, f64::MIN_POSITIVE),
            ("robustness.unrated_discount_range", r.unrated_discount_range, 0.0),
            ("robustness.dominance_range", r.dominance_range, 1.0),
        ] {
            if !(lo.is_finite() && hi.is_finite() && lo >= min && lo <= hi) {
                return Err(format!("{n} must be [low, high] with {min} <= low <= high, got [{lo}, {hi}]"));
            }
        }
        if r.draws > 100_000 {
            return Err(format!("robustness.draws must be at most 100000, got {}", r.draws));
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

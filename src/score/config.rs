//! The scoring model's weights and thresholds, read from TOML. Every value
//! has a documented default (`evidex config --default` prints them; see
//! `docs/scoring.md` for sources). Unknown keys are errors.

use super::certainty::Certainty;
use crate::meta::Measure;
use crate::model::{IncomeSetting, Rating, RiskOfBias, StudyDesign};
use serde::{Deserialize, Serialize};

/// Version of the scoring model; changes whenever a rule or default changes.
pub const MODEL_VERSION: &str = "evidex-score-3.0";

/// The default configuration, as printed by `evidex config --default`.
pub const DEFAULT_TOML: &str = r#"# evidex scoring model configuration (model evidex-score-3.0).
# Every key is optional; a missing key keeps its default. Unknown keys are errors.
# Rules, sources, and which defaults are sourced or a judgement: docs/scoring.md.

# Year against which the age of evidence is measured; 0 = the latest study
# year in the input (keeps output independent of the day it is run).
reference_year = 0

# Record weights order the evidence (score for rating-only domains, consensus,
# explanations); they never decide a category.
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

[standing]
unrated_discount = 0.5    # weight multiplier for findings judged from their effect size

[quality]
unknown_rob_max = "promising"  # the best verdict studies without a risk-of-bias judgement can support: promising | effective

[category]
effective_min_studies = 2   # effective needs a benefit from at least this many appraised controlled studies
adequate_certainty = "moderate"  # effective needs at least this certainty
borrowed_max = "promising"  # a verdict resting on borrowed evidence is capped here (every domain)

[certainty]
some_concerns_share = 0.5     # down one level for risk of bias when "some concerns" studies carry more of the weight
inconsistency_i2 = 50.0       # down one for inconsistency from this I^2 (with a prediction interval crossing 0)
ois = 500                     # optimal information size: total sample below it is imprecise
egger_min_studies = 10        # Egger's test only from this many studies
egger_p = 0.10                # down one for publication bias below this p-value

[borrowing]
min_local_studies = 2  # borrow when the target cell has fewer studies
# information kept from a source setting (row) for a target setting (column): LIC, LMC, UMC, HIC
# (a borrowed study's variance is divided by it)
transfer = [
  [1.00, 0.60, 0.40, 0.25],
  [0.60, 1.00, 0.60, 0.40],
  [0.40, 0.60, 1.00, 0.60],
  [0.25, 0.40, 0.60, 1.00],
]

[effects]
direction = "auto"  # for rows without a direction: auto | higher_is_better | lower_is_better
rho = 0.5           # assumed correlation of effect sizes within a study
icc = 0.10          # intraclass correlation for cluster-assigned studies analysed per individual

[effects.delta]     # smallest effect of interest per measure family (0 = none: never "no effect")
smd = 0.10
log_ratio = 0.18    # RR and OR on the log scale (SMD 0.10 x pi / sqrt(3))
rd = 0.02
md = 0.0
generic = 0.0

[robustness]
draws = 1000             # Monte Carlo draws of the analysis settings (0: off)
seed = 1
delta_factor = 1.5       # delta times a log-uniform factor in [1/1.5, 1.5]
ois_factor = 1.5         # OIS times a log-uniform factor in [1/1.5, 1.5]
i2_range = [40.0, 60.0]  # inconsistency threshold, uniform
max_added = 3            # flip: up to this many hypothetical studies
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
pub struct StandingParams {
    pub unrated_discount: f64,
}

impl Default for StandingParams {
    fn default() -> Self {
        StandingParams { unrated_discount: 0.5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quality {
    /// The best verdict studies without a risk-of-bias judgement can
    /// support (effective or promising).
    pub unknown_rob_max: Rating,
}

impl Default for Quality {
    fn default() -> Self {
        Quality { unknown_rob_max: Rating::Promising }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoryParams {
    pub effective_min_studies: u32,
    pub adequate_certainty: Certainty,
    pub borrowed_max: Rating,
}

impl Default for CategoryParams {
    fn default() -> Self {
        CategoryParams {
            effective_min_studies: 2,
            adequate_certainty: Certainty::Moderate,
            borrowed_max: Rating::Promising,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertaintyParams {
    pub some_concerns_share: f64,
    pub inconsistency_i2: f64,
    pub ois: u64,
    pub egger_min_studies: u32,
    pub egger_p: f64,
}

impl Default for CertaintyParams {
    fn default() -> Self {
        CertaintyParams {
            some_concerns_share: 0.5,
            inconsistency_i2: 50.0,
            ois: 500,
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

/// The smallest effect of interest per measure family (0: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delta {
    pub smd: f64,
    pub log_ratio: f64,
    pub rd: f64,
    pub md: f64,
    pub generic: f64,
}

impl Default for Delta {
    fn default() -> Self {
        Delta { smd: 0.10, log_ratio: 0.18, rd: 0.02, md: 0.0, generic: 0.0 }
    }
}

impl Delta {
    /// The band of unimportant effects for `m` (`None`: not configured).
    pub fn of(&self, m: Measure) -> Option<f64> {
        let d = match m {
            Measure::SMD => self.smd,
            Measure::RR | Measure::OR => self.log_ratio,
            Measure::RD => self.rd,
            Measure::MD => self.md,
            Measure::GEN => self.generic,
        };
        (d > 0.0).then_some(d)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EffectsParams {
    pub direction: DirectionDefault,
    pub rho: f64,
    pub icc: f64,
    pub delta: Delta,
}

impl Default for EffectsParams {
    fn default() -> Self {
        EffectsParams { direction: DirectionDefault::Auto, rho: 0.5, icc: 0.10, delta: Delta::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RobustnessParams {
    pub draws: u32,
    pub seed: u64,
    pub delta_factor: f64,
    pub ois_factor: f64,
    pub i2_range: [f64; 2],
    pub max_added: u32,
}

impl Default for RobustnessParams {
    fn default() -> Self {
        RobustnessParams {
            draws: 1000,
            seed: 1,
            delta_factor: 1.5,
            ois_factor: 1.5,
            i2_range: [40.0, 60.0],
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
    pub standing: StandingParams,
    pub quality: Quality,
    pub category: CategoryParams,
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
        // Written so that NaN fails too.
        if self.sample.reference_n.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err("sample.reference_n must be > 0".into());
        }
        if self.age.half_life_years.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err("age.half_life_years must be > 0".into());
        }
        if !matches!(self.quality.unknown_rob_max, Rating::Effective | Rating::Promising) {
            return Err(format!(
                "quality.unknown_rob_max must be \"effective\" or \"promising\", got \"{}\"",
                self.quality.unknown_rob_max.key()
            ));
        }
        if self.category.effective_min_studies < 1 {
            return Err("category.effective_min_studies must be at least 1".into());
        }
        if !(self.certainty.some_concerns_share.is_finite()
            && (0.0..=1.0).contains(&self.certainty.some_concerns_share))
        {
            return Err(format!(
                "certainty.some_concerns_share must be between 0 and 1, got {}",
                self.certainty.some_concerns_share
            ));
        }
        if !(0.0..=100.0).contains(&self.certainty.inconsistency_i2) {
            return Err(format!(
                "certainty.inconsistency_i2 must be between 0 and 100, got {}",
                self.certainty.inconsistency_i2
            ));
        }
        if !(0.0..=1.0).contains(&self.certainty.egger_p) {
            return Err(format!("certainty.egger_p must be between 0 and 1, got {}", self.certainty.egger_p));
        }
        let r = &self.robustness;
        for (n, v) in [("robustness.delta_factor", r.delta_factor), ("robustness.ois_factor", r.ois_factor)] {
            if !(v.is_finite() && v >= 1.0) {
                return Err(format!(
                    "{n} must be a finite number >= 1 (draws lie in [value / {n}, value x {n}]), got {v}"
                ));
            }
        }
        let [lo, hi] = r.i2_range;
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi && hi <= 100.0) {
            return Err(format!(
                "robustness.i2_range must be [low, high] with 0 <= low <= high <= 100, got [{lo}, {hi}]"
            ));
        }
        let d = &self.effects.delta;
        for (n, v) in [
            ("effects.delta.smd", d.smd),
            ("effects.delta.log_ratio", d.log_ratio),
            ("effects.delta.rd", d.rd),
            ("effects.delta.md", d.md),
            ("effects.delta.generic", d.generic),
        ] {
            nonneg(n, v)?;
        }
        if !(self.effects.icc.is_finite() && (0.0..1.0).contains(&self.effects.icc)) {
            return Err(format!("effects.icc must be in [0, 1), got {}", self.effects.icc));
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
        let e = ScoringConfig::from_toml("[quality]\nunknown_rob_max = \"prudent\"\n", "c.toml").unwrap_err();
        assert!(e.message.contains("unknown_rob_max"), "{e}");
        let ok = ScoringConfig::from_toml("[effects.delta]\nsmd = 0.2\n", "c.toml").unwrap();
        assert_eq!(ok.effects.delta.smd, 0.2);
        assert_eq!(ok.effects.delta.log_ratio, 0.18);
        assert_eq!(ok.sample, Sample::default());
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = ScoringConfig::default();
        let mut b = a.clone();
        assert_eq!(a.hash(), b.hash());
        b.effects.delta.smd = 0.2;
        assert_ne!(a.hash(), b.hash());
    }
}

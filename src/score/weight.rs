//! Record-level quantities: weight components and the rating used for
//! scoring (reviewer-assigned, or derived from the effect size).

use super::config::ScoringConfig;
use crate::meta::{compute_effect, effect::Z975};
use crate::model::{EffectInput, EvaluationRecord, Rating, RiskOfBias, StudyDesign};
use serde::Serialize;

/// The factors of a record's weight; `total` is their product.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightParts {
    pub design: f64,
    pub risk_of_bias: f64,
    pub sample: f64,
    pub age: f64,
    /// `score.unrated_discount` for derived ratings, else 1.
    pub derived: f64,
    pub total: f64,
}

/// # Formula
/// `w = design x risk_of_bias x sample x age x derived`, with
/// `sample = min(cap, ln(1 + n) / ln(1 + reference_n))` and
/// `age = 0.5 ^ (max(0, reference_year - year) / half_life)`.
pub fn record_weight(r: &EvaluationRecord, cfg: &ScoringConfig, reference_year: i32, derived: bool) -> WeightParts {
    weight_parts(r.design, r.risk_of_bias, r.sample_size, r.year, cfg, reference_year, derived)
}

/// [`record_weight`] from the fields it reads (the streaming path keeps
/// these fields, not records).
pub fn weight_parts(
    design: Option<StudyDesign>,
    rob: Option<RiskOfBias>,
    sample_size: Option<u64>,
    year: Option<i32>,
    cfg: &ScoringConfig,
    reference_year: i32,
    derived: bool,
) -> WeightParts {
    let age = match year {
        Some(y) => age_factor((reference_year - y).max(0), cfg),
        None => cfg.age.unknown_year_factor,
    };
    weight_of_factors(design, rob, sample_factor(sample_size, cfg, ln_reference_n(cfg)), age, cfg, derived)
}

/// The age factor for evidence `years_old` (>= 0) years old.
pub fn age_factor(years_old: i32, cfg: &ScoringConfig) -> f64 {
    0.5_f64.powf(f64::from(years_old) / cfg.age.half_life_years)
}

/// `ln(1 + reference_n)`, the denominator of the sample factor (a run
/// constant: computing it once gives the same bits as per record).
pub fn ln_reference_n(cfg: &ScoringConfig) -> f64 {
    (1.0 + cfg.sample.reference_n).ln()
}

/// The sample factor `min(cap, ln(1 + n) / ln(1 + reference_n))`, or the
/// configured factor for an unknown sample size.
pub fn sample_factor(sample_size: Option<u64>, cfg: &ScoringConfig, ln_reference_n: f64) -> f64 {
    match sample_size {
        Some(n) => ((1.0 + n as f64).ln() / ln_reference_n).min(cfg.sample.cap),
        None => cfg.sample.unknown_factor,
    }
}

/// The weight from its sample and age factors.
pub fn weight_of_factors(
    design: Option<StudyDesign>,
    rob: Option<RiskOfBias>,
    sample: f64,
    age: f64,
    cfg: &ScoringConfig,
    derived: bool,
) -> WeightParts {
    let design = cfg.design_weight.of(design);
    let risk_of_bias = cfg.risk_of_bias_weight.of(rob);
    let d = if derived { cfg.score.unrated_discount } else { 1.0 };
    WeightParts { design, risk_of_bias, sample, age, derived: d, total: design * risk_of_bias * sample * age * d }
}

/// The rating a record contributes, whether it was derived, and its harm flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UsedRating {
    pub rating: Rating,
    pub harm: bool,
    pub derived: bool,
}

/// The reviewer's rating, or for unrated rows one derived from the effect
/// size (docs/scoring.md, "Derived ratings"): significant benefit ->
/// promising (rigorous design) or prudent (other designs); significant harm
/// -> ineffective with the harm flag; not significant -> needs_research.
/// Significance: `|yi| / sqrt(vi) > 1.959964`. `None` if there is neither.
pub fn used_rating(r: &EvaluationRecord, cfg: &ScoringConfig) -> Option<UsedRating> {
    used_rating_of(r.rating, r.harm, r.effect(), r.design, cfg)
}

/// [`used_rating`] from the fields it reads.
pub fn used_rating_of(
    rating: Option<Rating>,
    harm: bool,
    effect: &EffectInput,
    design: Option<StudyDesign>,
    cfg: &ScoringConfig,
) -> Option<UsedRating> {
    // The effect is computed only for an unrated row.
    let computed = if rating.is_none() { compute_effect(effect, None).ok() } else { None };
    used_rating_with(rating, harm, computed.as_ref(), design, cfg)
}

/// [`used_rating_of`] with the row's effect already computed (`None`: it
/// does not compute), so a caller that needs the effect anyway computes it
/// once.
pub fn used_rating_with(
    rating: Option<Rating>,
    harm: bool,
    effect: Option<&crate::meta::Effect>,
    design: Option<StudyDesign>,
    cfg: &ScoringConfig,
) -> Option<UsedRating> {
    if let Some(rating) = rating {
        return Some(UsedRating { rating, harm, derived: false });
    }
    let e = effect?;
    let z = e.yi / e.vi.sqrt();
    let z = if cfg.effects.higher_is_better { z } else { -z };
    let rigorous = design.is_some_and(|d| d.is_rigorous());
    let (rating, derived_harm) = if z > Z975 {
        (if rigorous { Rating::Promising } else { Rating::Prudent }, false)
    } else if z < -Z975 {
        (Rating::Ineffective, true)
    } else {
        (Rating::NeedsResearch, false)
    };
    Some(UsedRating { rating, harm: derived_harm || harm, derived: true })
}

//! Record weights (docs/scoring.md section 2): `w = design x risk_of_bias x
//! sample x age x unrated`. The factors are resolved once from a
//! configuration into a [`WeightModel`]; robustness draws perturb a copy.

use super::config::ScoringConfig;
use crate::model::{EvaluationRecord, RiskOfBias, StudyDesign};
use serde::Serialize;

/// The factors of a record's weight; `total` is their product.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightParts {
    pub design: f64,
    pub risk_of_bias: f64,
    pub sample: f64,
    pub age: f64,
    /// `standing.unrated_discount` for findings without a reviewer rating,
    /// else 1.
    pub unrated: f64,
    pub total: f64,
}

/// What a record's weight depends on. Findings of one study usually share
/// all of it, so a study keeps one key per distinct combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WeightKey {
    pub design: Option<StudyDesign>,
    pub rob: Option<RiskOfBias>,
    pub sample: Option<u64>,
    pub year: Option<i32>,
    /// Judged from its effect size (no reviewer rating).
    pub unrated: bool,
}

impl WeightKey {
    pub fn of_record(r: &EvaluationRecord) -> WeightKey {
        WeightKey {
            design: r.design,
            rob: r.risk_of_bias,
            sample: r.sample_size,
            year: r.year,
            unrated: r.rating.is_none(),
        }
    }
}

/// Index of a design in [`WeightModel::design`] (7 = unknown).
pub fn design_slot(d: Option<StudyDesign>) -> usize {
    d.map_or(7, StudyDesign::index)
}

/// Index of a risk-of-bias level in [`WeightModel::rob`] (3 = unknown).
pub fn rob_slot(r: Option<RiskOfBias>) -> usize {
    match r {
        Some(RiskOfBias::Low) => 0,
        Some(RiskOfBias::SomeConcerns) => 1,
        Some(RiskOfBias::High) => 2,
        None => 3,
    }
}

/// The numbers record weights are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightModel {
    /// By [`design_slot`].
    pub design: [f64; 8],
    /// By [`rob_slot`].
    pub rob: [f64; 4],
    /// `ln(1 + reference_n)`.
    pub ln_reference_n: f64,
    pub sample_cap: f64,
    pub unknown_sample: f64,
    pub half_life: f64,
    pub unknown_year: f64,
    pub unrated: f64,
    pub reference_year: i32,
    /// Age factors by age in years (0..), the same expression as
    /// [`WeightModel::parts`] computes for older evidence.
    ages: Vec<f64>,
}

/// Ages with a precomputed factor (older evidence computes its own).
const AGE_TABLE: usize = 128;

/// A weight key with its count and `ln(1 + n)` computed once (robustness
/// draws re-weight keys many times).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyCount {
    pub key: WeightKey,
    pub count: u32,
    ln_sample: f64,
}

impl KeyCount {
    pub fn new(key: WeightKey, count: u32) -> KeyCount {
        KeyCount { key, count, ln_sample: key.sample.map_or(0.0, |n| (1.0 + n as f64).ln()) }
    }

    /// `ln(1 + n)` of the sample size (0 when unknown).
    pub fn ln_sample(&self) -> f64 {
        self.ln_sample
    }
}

impl WeightModel {
    pub fn new(cfg: &ScoringConfig, reference_year: i32) -> WeightModel {
        let d = &cfg.design_weight;
        let r = &cfg.risk_of_bias_weight;
        WeightModel {
            design: [
                d.systematic_review,
                d.rct,
                d.quasi_experimental,
                d.pre_post,
                d.observational,
                d.qualitative,
                d.expert_opinion,
                d.unknown,
            ],
            rob: [r.low, r.some_concerns, r.high, r.unknown],
            ln_reference_n: (1.0 + cfg.sample.reference_n).ln(),
            sample_cap: cfg.sample.cap,
            unknown_sample: cfg.sample.unknown_factor,
            half_life: cfg.age.half_life_years,
            unknown_year: cfg.age.unknown_year_factor,
            unrated: cfg.standing.unrated_discount,
            reference_year,
            ages: Vec::new(),
        }
        .with_half_life(cfg.age.half_life_years)
    }

    /// The same model with another half-life (its age table rebuilt).
    pub fn with_half_life(mut self, half_life: f64) -> WeightModel {
        self.half_life = half_life;
        self.ages = (0..AGE_TABLE).map(|a| 0.5_f64.powf(a as f64 / half_life)).collect();
        self
    }

    /// The age factor of evidence from `year` (unknown: its own factor).
    pub fn age(&self, year: Option<i32>) -> f64 {
        match year {
            Some(y) => {
                let a = (self.reference_year - y).max(0) as usize;
                match self.ages.get(a) {
                    Some(f) => *f,
                    None => 0.5_f64.powf(a as f64 / self.half_life),
                }
            }
            None => self.unknown_year,
        }
    }

    /// The weight of a counted key (the same number as [`WeightModel::weight`]).
    pub fn weight_of(&self, k: &KeyCount) -> f64 {
        let sample = match k.key.sample {
            Some(_) => (k.ln_sample / self.ln_reference_n).min(self.sample_cap),
            None => self.unknown_sample,
        };
        let unrated = if k.key.unrated { self.unrated } else { 1.0 };
        self.design[design_slot(k.key.design)] * self.rob[rob_slot(k.key.rob)] * sample * self.age(k.key.year) * unrated
    }

    /// # Formula
    /// `sample = min(cap, ln(1 + n) / ln(1 + reference_n))`,
    /// `age = 0.5 ^ (max(0, reference_year - year) / half_life)`.
    pub fn parts(&self, k: &WeightKey) -> WeightParts {
        let design = self.design[design_slot(k.design)];
        let risk_of_bias = self.rob[rob_slot(k.rob)];
        let sample = match k.sample {
            Some(n) => ((1.0 + n as f64).ln() / self.ln_reference_n).min(self.sample_cap),
            None => self.unknown_sample,
        };
        let age = self.age(k.year);
        let unrated = if k.unrated { self.unrated } else { 1.0 };
        WeightParts {
            design,
            risk_of_bias,
            sample,
            age,
            unrated,
            total: design * risk_of_bias * sample * age * unrated,
        }
    }

    pub fn weight(&self, k: &WeightKey) -> f64 {
        self.parts(k).total
    }
}

/// The weight parts of a record under `cfg` (for explanations).
pub fn record_weight(r: &EvaluationRecord, cfg: &ScoringConfig, reference_year: i32) -> WeightParts {
    WeightModel::new(cfg, reference_year).parts(&WeightKey::of_record(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/scoring.md section 13: the worked example's record weights.
    #[test]
    fn weights_of_the_worked_example() {
        let m = WeightModel::new(&ScoringConfig::default(), 2020);
        let k = |design, rob, sample, year, unrated| WeightKey { design, rob, sample, year, unrated };
        let rct = Some(StudyDesign::Rct);
        assert_eq!(m.weight(&k(rct, Some(RiskOfBias::Low), Some(400), Some(2020), false)), 1.0);
        let r3 = m.weight(&k(rct, Some(RiskOfBias::SomeConcerns), Some(400), Some(2000), true));
        assert!((r3 - 0.2).abs() < 1e-15, "{r3}");
        let r5 = m.weight(&k(Some(StudyDesign::QuasiExperimental), None, Some(100), Some(2020), false));
        assert!((r5 - 0.7 * 0.6 * 101f64.ln() / 401f64.ln()).abs() < 1e-15, "{r5}");
        let r6 = m.weight(&k(Some(StudyDesign::PrePost), Some(RiskOfBias::High), None, Some(2020), false));
        assert!((r6 - 0.1).abs() < 1e-15, "{r6}");
        // A sample above the cap and an unknown year.
        let big = m.parts(&k(rct, Some(RiskOfBias::Low), Some(10_000_000), None, false));
        assert_eq!((big.sample, big.age), (1.25, 0.75));
        // The age table gives the formula's bits, inside and beyond it.
        for year in [2020, 2019, 1990, 1893, 1850] {
            let key = k(rct, None, Some(37), Some(year), true);
            let direct = 0.5_f64.powf(f64::from(2020 - year) / 20.0);
            assert_eq!(m.parts(&key).age.to_bits(), direct.to_bits(), "{year}");
            assert_eq!(m.weight_of(&KeyCount::new(key, 1)).to_bits(), m.weight(&key).to_bits(), "{year}");
        }
    }
}

//! Per-study accumulators. Sums of weights are kept in fixed point (i128,
//! units of 2^-52) so that adding is exact, associative and commutative:
//! the result does not depend on thread count or row order.

use crate::model::{IncomeSetting, Rating, RiskOfBias, Strategy, StudyDesign};

const SCALE: f64 = 4_503_599_627_370_496.0; // 2^52

/// Fixed-point conversion of a non-negative weight-like quantity.
pub fn fx(x: f64) -> i128 {
    (x * SCALE).round() as i128
}

pub fn unfx(x: i128) -> f64 {
    x as f64 / SCALE
}

/// One effect size of one record, for pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectPoint {
    pub yi: f64,
    pub vi: f64,
    pub measure: crate::meta::Measure,
}

/// Everything a cell needs to know about one study, built record by record
/// and merged across threads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyAcc {
    pub n_records: u64,
    pub sum_w: i128,
    pub sum_wv: i128,
    pub rating_counts: [u64; 5],
    /// Records whose rating was derived from the effect size.
    pub n_derived: u64,
    /// Records with neither rating nor usable effect (not scored).
    pub n_unscored: u64,
    pub harm: bool,
    pub best_design: Option<StudyDesign>,
    /// Risk of bias of the best-design record (the better one on ties).
    pub best_rob: Option<RiskOfBias>,
    pub max_sample: u64,
    /// Reviewer-assigned rating weights, for the consensus rating.
    pub consensus_w: [i128; 5],
    pub strategy_counts: [u64; 8],
    pub effects: Vec<EffectPoint>,
}

impl StudyAcc {
    /// Keep the most rigorous design; on a tie keep the better risk of bias.
    pub fn take_design(&mut self, d: Option<StudyDesign>, rob: Option<RiskOfBias>) {
        let better = match (d, self.best_design) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(b)) if a < b => true,
            (Some(a), Some(b)) if a == b => rank_rob(rob) < rank_rob(self.best_rob),
            _ => false,
        };
        if better {
            self.best_design = d;
            self.best_rob = rob;
        }
    }
}

fn rank_rob(r: Option<RiskOfBias>) -> u8 {
    match r {
        Some(RiskOfBias::Low) => 0,
        Some(RiskOfBias::SomeConcerns) => 1,
        None => 2,
        Some(RiskOfBias::High) => 3,
    }
}

/// Index of a strategy in `strategy_counts` (7 = none given).
pub fn strategy_slot(s: Option<Strategy>) -> usize {
    s.map_or(7, |s| Strategy::ALL.iter().position(|x| *x == s).unwrap_or(7))
}

/// A study as seen by a cell, in plain floating point.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyView {
    pub study: String,
    pub acc: StudyAcc,
    /// Study weight: the mean record weight (times the transfer factor when
    /// borrowed), so repeated findings of one study do not add weight.
    pub weight: f64,
    /// Weighted mean rating value.
    pub value: f64,
    /// Source setting when borrowed from another income setting.
    pub borrowed_from: Option<IncomeSetting>,
}

impl StudyView {
    pub fn new(study: String, acc: StudyAcc, factor: f64, borrowed_from: Option<IncomeSetting>) -> Option<StudyView> {
        let scored = acc.n_records - acc.n_unscored;
        if scored == 0 || acc.sum_w <= 0 {
            return None;
        }
        let weight = unfx(acc.sum_w) / scored as f64 * factor;
        let value = (unfx(acc.sum_wv) / unfx(acc.sum_w)).clamp(0.0, 1.0);
        Some(StudyView { study, acc, weight, value, borrowed_from })
    }

    pub fn rigorous(&self) -> bool {
        self.acc.best_design.is_some_and(|d| d.is_rigorous()) && self.acc.best_rob != Some(RiskOfBias::High)
    }
}

/// Ratings in scale order, for indexing `rating_counts`.
pub fn rating_slot(r: Rating) -> usize {
    r.index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_merge_is_order_independent() {
        let xs = [0.1, 0.2, 0.3, 1e-9, 0.7777, 123.456];
        let a: i128 = xs.iter().map(|x| fx(*x)).sum();
        let b: i128 = xs.iter().rev().map(|x| fx(*x)).sum();
        assert_eq!(a, b);
        assert!((unfx(a) - xs.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn design_tie_keeps_better_rob() {
        let mut a = StudyAcc::default();
        a.take_design(Some(StudyDesign::Rct), Some(RiskOfBias::High));
        a.take_design(Some(StudyDesign::Rct), Some(RiskOfBias::Low));
        a.take_design(Some(StudyDesign::PrePost), Some(RiskOfBias::Low));
        assert_eq!((a.best_design, a.best_rob), (Some(StudyDesign::Rct), Some(RiskOfBias::Low)));
    }
}

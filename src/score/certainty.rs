//! Certainty of evidence with GRADE's own criteria (docs/scoring.md
//! section 8): randomised evidence starts high, non-randomised low; down
//! one level each for risk of bias, inconsistency (I^2 with a prediction
//! interval crossing zero, or study intervals that do not overlap across
//! zero), imprecision (an interval crossing zero, the HKSJ interval
//! crossing zero, a total sample below the optimal information size),
//! indirectness (risk factors, borrowed evidence) and publication bias.

use super::synthesis::Synthesis;
use crate::model::{IncomeSetting, OutcomeDomain, RiskOfBias};
use serde::{Deserialize, Serialize};

/// GRADE certainty of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    VeryLow,
    Low,
    Moderate,
    High,
}

impl Certainty {
    pub fn key(self) -> &'static str {
        match self {
            Certainty::VeryLow => "very_low",
            Certainty::Low => "low",
            Certainty::Moderate => "moderate",
            Certainty::High => "high",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Certainty::VeryLow => "very low",
            other => other.key(),
        }
    }

    pub(crate) fn from_level(l: i32) -> Certainty {
        match l {
            i32::MIN..=1 => Certainty::VeryLow,
            2 => Certainty::Low,
            3 => Certainty::Moderate,
            _ => Certainty::High,
        }
    }

    fn level(self) -> i32 {
        match self {
            Certainty::VeryLow => 1,
            Certainty::Low => 2,
            Certainty::Moderate => 3,
            Certainty::High => 4,
        }
    }
}

impl std::fmt::Display for Certainty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One reason certainty went down.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Downgrade {
    RiskOfBias {
        /// Studies (of `studies`) without a risk-of-bias judgement.
        not_assessed: u32,
        /// Share of the weight from studies with some concerns.
        some_concerns: f64,
        /// Cluster-assigned studies whose SE could not be corrected.
        cluster_uncorrected: u32,
        studies: u32,
    },
    Inconsistency {
        i2: f64,
        /// The prediction interval crosses no effect.
        pi_crosses_zero: bool,
        /// Some studies' intervals do not overlap, on both sides of zero.
        ci_disjoint: bool,
    },
    Imprecision {
        /// The decision interval is inconclusive (crosses zero and reaches
        /// beyond the band of unimportant effects).
        ci_inconclusive: bool,
        /// The modified HKSJ interval crosses zero where the decision
        /// interval does not.
        hksj_crosses_zero: bool,
        /// Total sample (a study without a sample size counts as 0).
        total_sample: Option<u64>,
        ois: u64,
        /// Very serious: every study gives its sample size and together they
        /// are below a quarter of the OIS (down two levels).
        very_serious: bool,
    },
    Indirectness {
        borrowed_from: Vec<IncomeSetting>,
        risk_factors: bool,
    },
    PublicationBias {
        egger_p: f64,
    },
}

impl Downgrade {
    /// The short name ("risk of bias", "imprecision", ...).
    pub fn name(&self) -> &'static str {
        match self {
            Downgrade::RiskOfBias { .. } => "risk of bias",
            Downgrade::Inconsistency { .. } => "inconsistency",
            Downgrade::Imprecision { .. } => "imprecision",
            Downgrade::Indirectness { .. } => "indirectness",
            Downgrade::PublicationBias { .. } => "publication bias",
        }
    }
}

/// What certainty needs of one study of the decisive evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudyInput {
    pub randomised: bool,
    pub rob: Option<RiskOfBias>,
    /// Its share of the evidence (inverse-variance weight in a synthesis,
    /// record weight otherwise).
    pub weight: f64,
    pub sample: Option<u64>,
    pub cluster_uncorrected: bool,
    /// Its own 95% CI, when it has an effect.
    pub ci: Option<(f64, f64)>,
}

/// What certainty is rated on.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub domain: OutcomeDomain,
    pub studies: &'a [StudyInput],
    pub synthesis: Option<&'a Synthesis>,
    /// The synthesis is inconclusive under the band in force.
    pub inconclusive: bool,
    pub borrowed_from: &'a [IncomeSetting],
}

/// Thresholds (drawn in robustness runs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub i2: f64,
    pub ois: f64,
    pub some_concerns_share: f64,
    pub egger_p: f64,
}

/// The certainty a body of evidence starts from: high when it includes a
/// randomised study, else low (GRADE rates a body of evidence from its
/// best design; non-randomised evidence alone starts low).
pub fn start(studies: &[StudyInput]) -> Certainty {
    Tally::of(studies).start()
}

/// The largest of some numbers, how often it occurs, and the largest below
/// it: enough to know the largest after leaving one number out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Top {
    pub first: f64,
    pub count: u32,
    pub second: f64,
}

impl Top {
    const EMPTY: Top = Top { first: f64::NEG_INFINITY, count: 0, second: f64::NEG_INFINITY };

    fn add(&mut self, x: f64) {
        if x > self.first {
            (self.second, self.first, self.count) = (self.first, x, 1);
        } else if x == self.first {
            self.count += 1;
        } else if x > self.second {
            self.second = x;
        }
    }

    /// The numbers of both (each a summary of its own numbers).
    fn merge(mut self, o: Top) -> Top {
        for _ in 0..o.count {
            self.add(o.first);
        }
        if o.second > f64::NEG_INFINITY {
            self.add(o.second);
        }
        self
    }

    /// The largest without one occurrence of `x` (one of the numbers).
    fn without(self, x: f64) -> f64 {
        if x == self.first && self.count == 1 {
            self.second
        } else {
            self.first
        }
    }
}

/// What rating certainty reads of the studies, summed over them, so that
/// leaving a study out is a subtraction ([`Tally::without`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tally {
    pub studies: u32,
    /// Randomised studies with weight.
    pub randomised: u32,
    pub not_assessed: u32,
    pub cluster_uncorrected: u32,
    /// Weights of all studies and of those with some concerns, each summed
    /// in study order.
    pub weight: f64,
    pub some_concerns_weight: f64,
    /// Studies with an interval; the largest lower and smallest upper ends
    /// (the latter negated).
    pub intervals: u32,
    pub max_lower: Top,
    pub min_upper_negated: Top,
    /// Total sample (a study without one counts as 0; saturating).
    pub sample: u64,
    pub unknown_samples: u32,
}

impl Tally {
    /// No studies (weight sums start at -0.0, as `Iterator::sum` does).
    pub const EMPTY: Tally = Tally {
        studies: 0,
        randomised: 0,
        not_assessed: 0,
        cluster_uncorrected: 0,
        weight: -0.0,
        some_concerns_weight: -0.0,
        intervals: 0,
        max_lower: Top::EMPTY,
        min_upper_negated: Top::EMPTY,
        sample: 0,
        unknown_samples: 0,
    };

    pub fn of(studies: &[StudyInput]) -> Tally {
        let mut t = Tally::EMPTY;
        for s in studies {
            t.add(s);
        }
        t
    }

    /// Count one more study (after those counted: the weight sums are in
    /// study order).
    pub fn add(&mut self, s: &StudyInput) {
        self.studies += 1;
        self.weight += s.weight;
        if s.rob == Some(RiskOfBias::SomeConcerns) {
            self.some_concerns_weight += s.weight;
        }
        self.randomised += u32::from(s.randomised && s.weight > 0.0);
        self.not_assessed += u32::from(s.rob.is_none());
        self.cluster_uncorrected += u32::from(s.cluster_uncorrected);
        if let Some((lo, hi)) = s.ci {
            self.intervals += 1;
            self.max_lower.add(lo);
            self.min_upper_negated.add(-hi);
        }
        self.sample = self.sample.saturating_add(s.sample.unwrap_or(0));
        self.unknown_samples += u32::from(s.sample.is_none());
    }

    /// The tally of the studies of both (disjoint sets), for rating with
    /// `t`; `None` where it may not rate as counting all of them in study
    /// order would: the weight sums are rounded in another order (the
    /// some-concerns share must be clear of its threshold by more than
    /// that can move it, as in [`Tally::without`]), or a sample sum
    /// saturates.
    pub fn merged(&self, o: &Tally, t: &Thresholds) -> Option<Tally> {
        let sample = self.sample.checked_add(o.sample).filter(|n| *n < u64::MAX)?;
        let x = Tally {
            studies: self.studies + o.studies,
            randomised: self.randomised + o.randomised,
            not_assessed: self.not_assessed + o.not_assessed,
            cluster_uncorrected: self.cluster_uncorrected + o.cluster_uncorrected,
            weight: self.weight + o.weight,
            some_concerns_weight: self.some_concerns_weight + o.some_concerns_weight,
            intervals: self.intervals + o.intervals,
            max_lower: self.max_lower.merge(o.max_lower),
            min_upper_negated: self.min_upper_negated.merge(o.min_upper_negated),
            sample,
            unknown_samples: self.unknown_samples + o.unknown_samples,
        };
        x.rates_as_counted(x.studies, self.weight.abs() + o.weight.abs(), t)
    }

    /// `self` (weight sums computed in another order than counting its
    /// studies would) when it rates as the count would: its some-concerns
    /// share is clear of the threshold by more than rounding can move it.
    /// Recursive summation of n terms errs by at most (n - 1) u sum|w|
    /// (Higham 2002, eq. 4.4) in either order; the weights are not
    /// negative, so sum|w| is the weight; a factor 4 to spare.
    fn rates_as_counted(self, n: u32, abs_weight: f64, t: &Thresholds) -> Option<Tally> {
        let err = 4.0 * (n as f64 + 2.0) * f64::EPSILON * abs_weight;
        if self.weight <= 2.0 * err {
            return None;
        }
        let share = self.some_concerns_share();
        let slack = 2.0 * err * (1.0 + share.abs()) / self.weight;
        ((share - t.some_concerns_share).abs() > slack).then_some(self)
    }

    /// High with a randomised study, else low.
    pub fn start(&self) -> Certainty {
        // Monotone: adding a non-randomised study never lowers the start.
        if self.randomised > 0 {
            Certainty::High
        } else {
            Certainty::Low
        }
    }

    /// The share of the weight from studies with some concerns.
    fn some_concerns_share(&self) -> f64 {
        if self.weight > 0.0 {
            self.some_concerns_weight / self.weight
        } else {
            0.0
        }
    }

    /// The tally without study `s` (one of the studies), for rating with
    /// `t`; `None` where subtraction cannot give what summing the others
    /// would: the weight sums are rounded in another order, so the
    /// some-concerns share, compared with its threshold, must be clear of
    /// it by more than the rounding can move it (recursive summation errs
    /// by at most (n - 1) u sum|w| each way, Higham 2002, eq. 4.4); and a
    /// saturated sample sum.
    pub fn without(&self, s: &StudyInput, t: &Thresholds) -> Option<Tally> {
        if self.sample == u64::MAX || self.studies < 2 {
            return None;
        }
        let mut x = *self;
        x.studies -= 1;
        x.randomised -= u32::from(s.randomised && s.weight > 0.0);
        x.not_assessed -= u32::from(s.rob.is_none());
        x.cluster_uncorrected -= u32::from(s.cluster_uncorrected);
        x.weight -= s.weight;
        if s.rob == Some(RiskOfBias::SomeConcerns) {
            x.some_concerns_weight -= s.weight;
        }
        if let Some((lo, hi)) = s.ci {
            x.intervals -= 1;
            let (max_lower, min_upper_negated) = (self.max_lower.without(lo), self.min_upper_negated.without(-hi));
            // Only the extremes stay meaningful after a removal.
            x.max_lower = Top { first: max_lower, count: 1, second: f64::NEG_INFINITY };
            x.min_upper_negated = Top { first: min_upper_negated, count: 1, second: f64::NEG_INFINITY };
        }
        x.sample -= s.sample.unwrap_or(0);
        x.unknown_samples -= u32::from(s.sample.is_none());
        x.rates_as_counted(self.studies, self.weight.abs(), t)
    }
}

/// Rate certainty (docs/scoring.md section 8).
pub fn rate(x: &Input<'_>, t: &Thresholds) -> (Certainty, Vec<Downgrade>) {
    rate_tally(&Tally::of(x.studies), x, t)
}

/// [`rate`] from the studies' tally (`x.studies` is not read).
pub fn rate_tally(tally: &Tally, x: &Input<'_>, t: &Thresholds) -> (Certainty, Vec<Downgrade>) {
    let first = tally.start();
    let mut level = first.level();
    let mut why = Vec::new();

    let not_assessed = tally.not_assessed;
    let cluster = tally.cluster_uncorrected;
    let some = tally.some_concerns_share();
    if not_assessed > 0 || cluster > 0 || some > t.some_concerns_share {
        level -= 1;
        why.push(Downgrade::RiskOfBias {
            not_assessed,
            some_concerns: some,
            cluster_uncorrected: cluster,
            studies: tally.studies,
        });
    }

    let (i2, pi_crosses) = x.synthesis.map_or((0.0, false), |s| {
        let crosses = matches!((s.pi_lower, s.pi_upper), (Some(lo), Some(hi)) if lo < 0.0 && hi > 0.0);
        (s.i2, crosses)
    });
    let max_lo = tally.max_lower.first;
    let min_hi = -tally.min_upper_negated.first;
    let disjoint = tally.intervals >= 2 && max_lo > 0.0 && min_hi < 0.0;
    if (x.synthesis.is_some_and(|s| s.k >= 2) && i2 >= t.i2 && pi_crosses) || disjoint {
        level -= 1;
        why.push(Downgrade::Inconsistency { i2, pi_crosses_zero: pi_crosses, ci_disjoint: disjoint });
    }

    let hksj =
        x.synthesis.is_some_and(|s| s.k >= 2 && !s.includes_zero() && s.hksj_lower <= 0.0 && s.hksj_upper >= 0.0);
    // A study without a sample size counts as 0 (docs/scoring.md section 8).
    let total_sample: Option<u64> = Some(tally.sample);
    let small = total_sample.is_some_and(|n| (n as f64) < t.ois);
    if x.inconclusive || hksj || small {
        // Very serious only when every study gives its sample size.
        let all_known = tally.unknown_samples == 0;
        let very_serious = all_known && total_sample.is_some_and(|n| (n as f64) < t.ois / 4.0);
        level -= if very_serious { 2 } else { 1 };
        why.push(Downgrade::Imprecision {
            ci_inconclusive: x.inconclusive,
            hksj_crosses_zero: hksj,
            total_sample,
            ois: t.ois.round() as u64,
            very_serious,
        });
    }

    let risk_factors = x.domain == OutcomeDomain::RiskFactor;
    if !x.borrowed_from.is_empty() || risk_factors {
        level -= 1;
        why.push(Downgrade::Indirectness { borrowed_from: x.borrowed_from.to_vec(), risk_factors });
    }
    if let Some(p) = x.synthesis.and_then(|s| s.egger_p).filter(|p| *p < t.egger_p) {
        level -= 1;
        why.push(Downgrade::PublicationBias { egger_p: p });
    }
    (Certainty::from_level(level), why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(randomised: bool, rob: Option<RiskOfBias>, sample: u64) -> StudyInput {
        StudyInput { randomised, rob, weight: 1.0, sample: Some(sample), cluster_uncorrected: false, ci: None }
    }

    const T: Thresholds = Thresholds { i2: 50.0, ois: 500.0, some_concerns_share: 0.5, egger_p: 0.1 };

    /// Violence evidence of `studies`, no synthesis, nothing borrowed.
    fn input(studies: &[StudyInput]) -> Input<'_> {
        Input { domain: OutcomeDomain::Violence, studies, synthesis: None, inconclusive: false, borrowed_from: &[] }
    }

    #[test]
    fn non_randomised_evidence_starts_low() {
        let s = [study(false, Some(RiskOfBias::Low), 400), study(false, Some(RiskOfBias::Low), 400)];
        let x = input(&s);
        assert_eq!(rate(&x, &T), (Certainty::Low, vec![]));
        let s = [study(true, Some(RiskOfBias::Low), 400), study(false, Some(RiskOfBias::Low), 400)];
        let x = Input { studies: &s, ..x };
        assert_eq!(rate(&x, &T).0, Certainty::High);
    }

    #[test]
    fn unassessed_risk_of_bias_and_a_small_sample_each_cost_a_level() {
        let s = [study(true, None, 100), study(true, Some(RiskOfBias::Low), 100)];
        let x = input(&s);
        let (c, why) = rate(&x, &T);
        assert_eq!(c, Certainty::Low);
        assert_eq!(why.iter().map(Downgrade::name).collect::<Vec<_>>(), ["risk of bias", "imprecision"]);
    }

    /// A tally merged from two disjoint parts counts what the tally of all
    /// counts (weights up to rounding), rates the same, and declines where
    /// the some-concerns share sits on its threshold.
    #[test]
    fn merged_tallies_count_as_one_tally() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut merged_some = 0;
        for round in 0..500 {
            let n = 1 + (next() * 40.0) as usize;
            let all: Vec<StudyInput> = (0..n)
                .map(|_| StudyInput {
                    randomised: next() < 0.5,
                    rob: [None, Some(RiskOfBias::Low), Some(RiskOfBias::SomeConcerns)][(next() * 3.0) as usize],
                    weight: next() * 3.0,
                    sample: (next() < 0.8).then(|| (next() * 900.0) as u64),
                    cluster_uncorrected: next() < 0.1,
                    ci: (next() < 0.7).then(|| {
                        let lo = (next() * 8.0).round() / 4.0 - 1.0;
                        (lo, lo + 0.5)
                    }),
                })
                .collect();
            let (mut u, mut p) = (Tally::EMPTY, Tally::EMPTY);
            for s in &all {
                if next() < 0.5 {
                    u.add(s);
                } else {
                    p.add(s);
                }
            }
            let whole = Tally::of(&all);
            let Some(m) = u.merged(&p, &T) else { continue };
            merged_some += 1;
            let counts = |t: &Tally| {
                (
                    t.studies,
                    t.randomised,
                    t.not_assessed,
                    t.cluster_uncorrected,
                    t.intervals,
                    t.sample,
                    t.unknown_samples,
                )
            };
            assert_eq!(counts(&m), counts(&whole), "round {round}");
            assert_eq!(m.max_lower.first, whole.max_lower.first, "round {round}");
            assert_eq!(m.min_upper_negated.first, whole.min_upper_negated.first, "round {round}");
            assert!((m.weight - whole.weight).abs() <= 1e-12 * whole.weight.max(1.0), "round {round}");
            let x = input(&[]);
            assert_eq!(rate_tally(&m, &x, &T).0, rate_tally(&whole, &x, &T).0, "round {round}");
        }
        assert!(merged_some > 400, "{merged_some}");
        // A share of exactly 0.5 (the threshold): declined.
        let a = StudyInput { rob: Some(RiskOfBias::SomeConcerns), ..study(true, None, 100) };
        let b = study(true, Some(RiskOfBias::Low), 100);
        let (mut u, mut p) = (Tally::EMPTY, Tally::EMPTY);
        u.add(&a);
        p.add(&b);
        assert_eq!(u.merged(&p, &T), None);
    }

    #[test]
    fn disjoint_intervals_on_both_sides_of_zero_are_inconsistent() {
        let mut a = study(true, Some(RiskOfBias::Low), 400);
        let mut b = a;
        a.ci = Some((0.1, 0.5));
        b.ci = Some((-0.5, -0.1));
        let s = [a, b];
        let x = Input { inconclusive: true, ..input(&s) };
        let (_, why) = rate(&x, &T);
        assert!(matches!(why[0], Downgrade::Inconsistency { ci_disjoint: true, .. }), "{why:?}");
    }
}

//! The category rules (docs/scoring.md sections 4 and 5) on tallies of
//! study standings: the verdict per outcome domain, the headline domain,
//! and local-first borrowing. Tallies add and remove studies exactly, so
//! leave-one-out, hypothetical studies and robustness draws reuse the same
//! rules.

use super::config::ScoringConfig;
use super::study::Standing;
use crate::model::{OutcomeDomain, Rating};
use serde::Serialize;

/// The rule parameters of a configuration (the dominance factor is drawn
/// in robustness draws).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub effective_min: u32,
    pub promising_min: u32,
    pub dominance: f64,
    pub borrowed_max: Rating,
    pub min_local_studies: u32,
}

impl Params {
    pub fn of(cfg: &ScoringConfig) -> Params {
        Params {
            effective_min: cfg.category.effective_min_rigorous_positive,
            promising_min: cfg.category.promising_min_rigorous_positive,
            dominance: cfg.category.mixed_dominance,
            borrowed_max: cfg.category.borrowed_max,
            min_local_studies: cfg.borrowing.min_local_studies,
        }
    }
}

/// One study's standing in one domain, as the rules count it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub domain: OutcomeDomain,
    pub standing: Standing,
    pub rigorous: bool,
    pub credible_harm: bool,
    pub harm_signal: bool,
    pub weight: f64,
    pub local: bool,
}

/// Fixed-point weight (units of 2^-32, truncated): sums are exact, so
/// adding and removing studies in any order gives the same tally (weights
/// are at most a few units each; i64 holds 2^31 units).
pub fn fx(x: f64) -> i64 {
    (x * 4_294_967_296.0) as i64
}

/// What the rules need to know of one domain's studies. Weights are in
/// fixed point ([`fx`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub n_studies: u32,
    /// Rigorous positive studies and their weight.
    pub n_pos: u32,
    pub w_pos: i64,
    /// Rigorous null or negative studies and their weight.
    pub n_neg: u32,
    pub w_neg: i64,
    /// Rigorous studies that are only inconclusive or supportive.
    pub n_rig_other: u32,
    /// Studies that are not rigorous but positive or supportive.
    pub n_support: u32,
    pub n_credible_harm: u32,
    pub n_harm_signal: u32,
    /// Weight of local studies, and of rigorous local studies (for the
    /// pooled-effect rules).
    pub w_local: i64,
    pub w_rig_local: i64,
}

impl Tally {
    /// Add (`sign` 1) or remove (`sign` -1) one entry.
    pub fn apply(&mut self, e: &Entry, sign: i32) {
        let w = i64::from(sign) * fx(e.weight);
        let n = |x: &mut u32| *x = x.wrapping_add_signed(sign);
        n(&mut self.n_studies);
        if e.rigorous {
            match e.standing {
                Standing::Positive => {
                    n(&mut self.n_pos);
                    self.w_pos += w;
                }
                Standing::Null | Standing::Negative => {
                    n(&mut self.n_neg);
                    self.w_neg += w;
                }
                Standing::Supportive | Standing::Inconclusive => n(&mut self.n_rig_other),
            }
        } else if matches!(e.standing, Standing::Positive | Standing::Supportive) {
            n(&mut self.n_support);
        }
        if e.credible_harm {
            n(&mut self.n_credible_harm);
        }
        if e.harm_signal {
            n(&mut self.n_harm_signal);
        }
        if e.local {
            self.w_local += w;
            if e.rigorous {
                self.w_rig_local += w;
            }
        }
    }
}

impl Tally {
    /// Add (`sign` 1) or remove (`sign` -1) another tally.
    pub fn merge(&mut self, o: &Tally, sign: i32) {
        let n = |x: &mut u32, y: u32| *x = if sign > 0 { *x + y } else { *x - y };
        n(&mut self.n_studies, o.n_studies);
        n(&mut self.n_pos, o.n_pos);
        n(&mut self.n_neg, o.n_neg);
        n(&mut self.n_rig_other, o.n_rig_other);
        n(&mut self.n_support, o.n_support);
        n(&mut self.n_credible_harm, o.n_credible_harm);
        n(&mut self.n_harm_signal, o.n_harm_signal);
        let s = i64::from(sign);
        self.w_pos += s * o.w_pos;
        self.w_neg += s * o.w_neg;
        self.w_local += s * o.w_local;
        self.w_rig_local += s * o.w_rig_local;
    }
}

/// Tallies per domain, in tier order.
pub type Tallies = [Tally; 4];

/// `a + b`, domain by domain.
pub fn sum(a: &Tallies, b: &Tallies) -> Tallies {
    let mut t = *a;
    for (x, y) in t.iter_mut().zip(b) {
        x.merge(y, 1);
    }
    t
}

pub fn tally(entries: impl IntoIterator<Item = Entry>) -> Tallies {
    let mut t = Tallies::default();
    for e in entries {
        t[e.domain.index()].apply(&e, 1);
    }
    t
}

/// What a domain's pooled effect of local studies says (docs/scoring.md
/// sections 4 and 8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolSignal {
    /// The 95% CI lies wholly on the harmful side.
    pub harmful: bool,
    /// The 95% CI lies wholly on the beneficial side.
    pub beneficial: bool,
    /// Rigorous studies among those pooled.
    pub rigorous_pooled: u32,
}

/// Why a domain (or a cell) has its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Credible harm from studies (a reviewer's harmful rating, or a
    /// rigorous primary finding significantly harmful).
    HarmStudies,
    /// The pooled effect of mostly rigorous studies is wholly harmful.
    HarmPooled,
    /// The pooled effect of mostly rigorous studies is wholly beneficial.
    PooledBenefit,
    /// Rigorous positive and null studies, neither side dominating.
    Mixed,
    Effective,
    Promising,
    /// Promising because risk factors cannot make an intervention effective.
    RiskFactorCap,
    /// Rigorous evaluations show no effect.
    Ineffective,
    /// Support from studies that are not rigorous only.
    Prudent,
    /// Rigorous studies, but only inconclusive ones.
    Inconclusive,
    /// No rigorous study and no support.
    TooFew,
}

/// A domain's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DomainDecision {
    pub category: Rating,
    pub harm: bool,
    pub rule: Rule,
    /// The verdict rests on rigorous evidence (rules 1-5).
    pub rigorous: bool,
}

/// Whether `a` clearly dominates `b` (`a >= dominance * b`).
fn dominates(a: i64, b: i64, dominance: f64) -> bool {
    a as f64 >= dominance * b as f64
}

/// The verdict of one domain (docs/scoring.md section 4); `None` without
/// studies. `pool`: what the domain's pooled effect says.
pub fn domain_decision(t: &Tally, domain: OutcomeDomain, pool: PoolSignal, p: &Params) -> Option<DomainDecision> {
    if t.n_studies == 0 {
        return None;
    }
    let d = |category, rule, rigorous| Some(DomainDecision { category, harm: false, rule, rigorous });
    if t.n_credible_harm > 0 {
        return Some(DomainDecision {
            category: Rating::Ineffective,
            harm: true,
            rule: Rule::HarmStudies,
            rigorous: true,
        });
    }
    let mostly_rigorous = 2 * t.w_rig_local > t.w_local;
    if pool.harmful && mostly_rigorous {
        return Some(DomainDecision {
            category: Rating::Ineffective,
            harm: true,
            rule: Rule::HarmPooled,
            rigorous: true,
        });
    }
    if pool.beneficial && mostly_rigorous && pool.rigorous_pooled >= p.promising_min {
        let effective = pool.rigorous_pooled >= p.effective_min && domain != OutcomeDomain::RiskFactor;
        let cat = if effective { Rating::Effective } else { Rating::Promising };
        return d(cat, Rule::PooledBenefit, true);
    }
    let pos_dominates = t.n_pos > 0 && dominates(t.w_pos, t.w_neg, p.dominance);
    let neg_dominates = t.n_neg > 0 && dominates(t.w_neg, t.w_pos, p.dominance);
    if t.n_pos > 0 && t.n_neg > 0 && !pos_dominates && !neg_dominates {
        return d(Rating::NeedsResearch, Rule::Mixed, true);
    }
    if pos_dominates && t.n_pos >= p.effective_min {
        return if domain == OutcomeDomain::RiskFactor {
            d(Rating::Promising, Rule::RiskFactorCap, true)
        } else {
            d(Rating::Effective, Rule::Effective, true)
        };
    }
    if pos_dominates && t.n_pos >= p.promising_min {
        return d(Rating::Promising, Rule::Promising, true);
    }
    if neg_dominates {
        return d(Rating::Ineffective, Rule::Ineffective, true);
    }
    if t.n_pos > 0 {
        // Positive studies below `promising_min` (configured above 1).
        return d(Rating::NeedsResearch, Rule::TooFew, false);
    }
    if t.n_support > 0 {
        return d(Rating::Prudent, Rule::Prudent, false);
    }
    if t.n_rig_other > 0 {
        return d(Rating::NeedsResearch, Rule::Inconclusive, false);
    }
    d(Rating::NeedsResearch, Rule::TooFew, false)
}

/// A verdict over all domains of a set of studies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The domain the verdict rests on.
    pub domain: OutcomeDomain,
    pub category: Rating,
    pub harm: bool,
    pub rule: Rule,
    /// The verdict rests on rigorous evidence.
    pub rigorous: bool,
    /// Capped at `borrowed_max` (borrowed verdicts).
    pub capped: bool,
    pub per_domain: [Option<DomainDecision>; 4],
}

/// The headline (docs/scoring.md section 5): credible harm in any domain
/// first; else the highest-tier domain whose verdict rests on rigorous
/// evidence; else the highest-tier domain with studies. `None` without
/// studies.
pub fn decide(t: &Tallies, pools: &[PoolSignal; 4], p: &Params) -> Option<Decision> {
    let per_domain: [Option<DomainDecision>; 4] =
        std::array::from_fn(|i| domain_decision(&t[i], OutcomeDomain::ALL[i], pools[i], p));
    let pick = per_domain
        .iter()
        .position(|d| d.is_some_and(|d| d.harm))
        .or_else(|| per_domain.iter().position(|d| d.is_some_and(|d| d.rigorous)))
        .or_else(|| per_domain.iter().position(Option::is_some))?;
    let h = per_domain[pick]?;
    Some(Decision {
        domain: OutcomeDomain::ALL[pick],
        category: h.category,
        harm: h.harm,
        rule: h.rule,
        rigorous: h.rigorous,
        capped: false,
        per_domain,
    })
}

/// Which evidence a cell's verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Local,
    /// Local and borrowed studies (the cell had too little of its own).
    Borrowed,
}

impl Basis {
    pub fn key(self) -> &'static str {
        match self {
            Basis::Local => "local",
            Basis::Borrowed => "borrowed",
        }
    }
}

/// A cell's verdict, local first (docs/scoring.md section 5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellDecision {
    pub local: Option<Decision>,
    /// Over local and borrowed studies, capped at `borrowed_max`, when
    /// borrowing applies.
    pub borrowed: Option<Decision>,
    pub basis: Basis,
}

impl CellDecision {
    /// The verdict of the cell (of its basis).
    pub fn verdict(&self) -> Option<&Decision> {
        match self.basis {
            Basis::Local => self.local.as_ref(),
            Basis::Borrowed => self.borrowed.as_ref(),
        }
    }

    pub fn category(&self) -> Option<(Rating, bool)> {
        self.verdict().map(|d| (d.category, d.harm))
    }
}

/// Cap every category better than `max` at `max` (harm is never better).
fn cap(mut d: Decision, max: Rating) -> Decision {
    if d.category < max {
        d.category = max;
        d.capped = true;
    }
    d
}

/// Local first: the local verdict stands when it rests on rigorous local
/// evidence; otherwise, when borrowing applies (`combined` given: fewer
/// local studies than `min_local_studies`), the capped verdict over local
/// and borrowed studies.
pub fn decide_cell(
    local: &Tallies,
    combined: Option<&Tallies>,
    pools: &[PoolSignal; 4],
    p: &Params,
) -> Option<CellDecision> {
    let l = decide(local, pools, p);
    let b = combined.and_then(|c| decide(c, pools, p)).map(|d| cap(d, p.borrowed_max));
    let basis = match (&l, &b) {
        (Some(l), _) if l.rigorous => Basis::Local,
        (_, Some(_)) => Basis::Borrowed,
        (Some(_), None) => Basis::Local,
        (None, None) => return None,
    };
    Some(CellDecision { local: l, borrowed: b, basis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(domain: OutcomeDomain, standing: Standing, rigorous: bool, weight: f64) -> Entry {
        Entry { domain, standing, rigorous, credible_harm: false, harm_signal: false, weight, local: true }
    }

    const V: OutcomeDomain = OutcomeDomain::Violence;

    fn cat(entries: &[Entry]) -> (Rating, Rule) {
        let d = decide(
            &tally(entries.iter().copied()),
            &[PoolSignal::default(); 4],
            &Params::of(&ScoringConfig::default()),
        )
        .unwrap();
        (d.category, d.rule)
    }

    #[test]
    fn mixed_unless_one_side_carries_twice_the_weight() {
        use Standing::*;
        assert_eq!(cat(&[e(V, Positive, true, 1.0), e(V, Null, true, 1.0)]), (Rating::NeedsResearch, Rule::Mixed));
        assert_eq!(
            cat(&[e(V, Positive, true, 1.0), e(V, Positive, true, 1.0), e(V, Null, true, 1.0)]),
            (Rating::Effective, Rule::Effective)
        );
        assert_eq!(cat(&[e(V, Positive, true, 0.4), e(V, Null, true, 1.0)]), (Rating::Ineffective, Rule::Ineffective));
        // Just below twice: mixed.
        assert_eq!(cat(&[e(V, Positive, true, 1.99), e(V, Null, true, 1.0)]), (Rating::NeedsResearch, Rule::Mixed));
        assert_eq!(cat(&[e(V, Positive, true, 2.0), e(V, Null, true, 1.0)]), (Rating::Promising, Rule::Promising));
    }

    #[test]
    fn risk_factors_alone_are_capped_and_the_headline_prefers_the_outcome() {
        use Standing::*;
        let rf = OutcomeDomain::RiskFactor;
        assert_eq!(
            cat(&[e(rf, Positive, true, 1.0), e(rf, Positive, true, 1.0)]),
            (Rating::Promising, Rule::RiskFactorCap)
        );
        // Behaviour with rigorous evidence outranks strong risk-factor evidence.
        let b = OutcomeDomain::Behaviour;
        let d = decide(
            &tally([e(rf, Positive, true, 1.0), e(rf, Positive, true, 1.0), e(b, Null, true, 1.0)]),
            &[PoolSignal::default(); 4],
            &Params::of(&ScoringConfig::default()),
        )
        .unwrap();
        assert_eq!((d.domain, d.category), (b, Rating::Ineffective));
        // Without rigorous evidence anywhere: the highest tier with studies.
        assert_eq!(cat(&[e(rf, Positive, false, 1.0)]), (Rating::Prudent, Rule::Prudent));
    }

    #[test]
    fn tallies_remove_exactly_what_they_add() {
        let es = [
            e(V, Standing::Positive, true, 0.3),
            e(V, Standing::Null, true, 0.7),
            e(V, Standing::Supportive, false, 0.1),
        ];
        let mut t = tally(es);
        t[0].apply(&es[1], -1);
        assert_eq!(t, tally([es[0], es[2]]));
    }

    #[test]
    fn borrowed_evidence_never_overturns_a_local_rigorous_verdict() {
        use Standing::*;
        let p = Params::of(&ScoringConfig::default());
        let local = tally([e(V, Null, true, 1.0)]);
        let mut b1 = e(V, Positive, true, 0.25);
        b1.local = false;
        let combined = tally([e(V, Null, true, 1.0), b1, b1]);
        let c = decide_cell(&local, Some(&combined), &[PoolSignal::default(); 4], &p).unwrap();
        assert_eq!(c.basis, Basis::Local);
        assert_eq!(c.category(), Some((Rating::Ineffective, false)));
        // With nothing rigorous locally, the borrowed verdict fills the cell, capped.
        let weak = tally([e(V, Positive, false, 1.0)]);
        let combined = tally([e(V, Positive, false, 1.0), b1, b1]);
        let mut p2 = p;
        p2.borrowed_max = Rating::Prudent;
        let c = decide_cell(&weak, Some(&combined), &[PoolSignal::default(); 4], &p2).unwrap();
        assert_eq!(c.basis, Basis::Borrowed);
        let v = c.verdict().unwrap();
        assert_eq!((v.category, v.capped), (Rating::Prudent, true), "promising is capped at prudent too");
    }
}

//! How close a verdict is to another (docs/scoring.md section 12):
//! robustness under seeded draws of the analysis settings that decide a
//! category (the band of unimportant effects, the optimal information
//! size, the inconsistency threshold), fragility under leaving out one
//! study (the synthesis re-run), and the smallest change that moves the
//! category: one study less, or hypothetical studies of the cell's typical
//! precision at no effect or at the cell's effect.

use super::config::ScoringConfig;
use super::evidence::{poolable, Analysis, DomainAnalysis};
use super::study::{Appraisal, Composite, Standing, StudyDomain, StudyView};
use super::verdict::{
    decide_cell, decision_without_pooled, domain_decision, evidence_decision, pick, CellDecision, DomainDecision,
    Evidence, PooledSplit, Settings,
};
use crate::meta::Measure;
use crate::model::{IncomeSetting, OutcomeDomain, Rating, RiskOfBias, StudyDesign};
use serde::Serialize;

/// A small, seeded generator (SplitMix64; Steele, Lea & Flood 2014): the
/// same seed gives the same draws on every machine and thread count.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// A factor in [1/f, f], uniform on the log scale (symmetric around 1).
    fn log_factor(&mut self, f: f64) -> f64 {
        let l = f.ln();
        self.uniform(-l, l).exp()
    }
}

/// The run's draws of the settings: the same for every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    pub draws: Vec<Settings>,
    /// The ranges drawn from: band factor and OIS factor (both in
    /// [1/f, f]) and the I^2 threshold.
    pub delta_factor: f64,
    pub ois_factor: f64,
    pub i2_range: [f64; 2],
}

impl Draws {
    pub fn new(cfg: &ScoringConfig) -> Draws {
        let r = &cfg.robustness;
        let base = Settings::of(cfg);
        let mut rng = SplitMix64(r.seed);
        let draws = (0..r.draws)
            .map(|_| {
                let mut s = base.clone();
                s.delta_factor = rng.log_factor(r.delta_factor);
                s.thresholds.ois = base.thresholds.ois * rng.log_factor(r.ois_factor);
                s.thresholds.i2 = rng.uniform(r.i2_range[0], r.i2_range[1]);
                s
            })
            .collect();
        Draws { draws, delta_factor: r.delta_factor, ois_factor: r.ois_factor, i2_range: r.i2_range }
    }
}

/// A local analysis with each domain's evidence tallied and its verdict,
/// under one set of settings: what leave-one-out subtracts from.
pub struct Tallied<'x, 'a> {
    pub evidence: [Option<Evidence<'x, 'a>>; 4],
    pub decisions: [Option<DomainDecision>; 4],
    /// Certainty inputs split for leaving out pooled studies (domains
    /// with two or more).
    pub splits: [Option<PooledSplit>; 4],
}

impl<'x, 'a> Tallied<'x, 'a> {
    pub fn new(a: &'x Analysis<'a>, s: &Settings) -> Tallied<'x, 'a> {
        let evidence: [Option<Evidence<'x, 'a>>; 4] =
            std::array::from_fn(|d| a.domains[d].as_ref().map(|x| Evidence::of(x, s)));
        let decisions = std::array::from_fn(|d| evidence[d].as_ref().map(|e| evidence_decision(e, &[], s)));
        let splits =
            std::array::from_fn(|d| a.domains[d].as_ref().filter(|x| x.pooled.len() >= 2).and_then(PooledSplit::of));
        Tallied { evidence, decisions, splits }
    }
}

/// A cell's studies: its own, and those it may borrow (already discounted:
/// variances divided by the transfer factor).
pub struct CellStudies<'a> {
    pub local: Vec<&'a StudyView>,
    pub borrowable: Vec<StudyView>,
}

/// A cell's analyses: of its local studies, and of local + borrowed ones
/// when borrowing applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Analyses<'a> {
    pub local: Analysis<'a>,
    pub combined: Option<Analysis<'a>>,
}

impl Analyses<'_> {
    pub fn decide(&self, s: &Settings) -> Option<CellDecision> {
        decide_cell(&self.local, self.combined.as_ref(), s)
    }
}

impl CellStudies<'_> {
    /// Studies in leave-one-out order: local ones, then borrowable ones.
    pub fn n_studies(&self) -> usize {
        self.local.len() + self.borrowable.len()
    }

    pub fn study(&self, i: usize) -> &StudyView {
        match self.local.get(i) {
            Some(s) => s,
            None => &self.borrowable[i - self.local.len()],
        }
    }

    /// The category without study `i` and with hypothetical local `extra`
    /// studies in `domain`. When borrowing applies neither before nor after,
    /// only the domains the change touches are analysed again; the others
    /// are `base`'s.
    pub fn category_after(
        &self,
        base: &Analyses<'_>,
        exclude: Option<usize>,
        extra: &[StudyView],
        s: &Settings,
        egger_min: usize,
    ) -> Option<(Rating, bool)> {
        self.category_after_with(base, None, exclude, extra, s, egger_min)
    }

    /// [`CellStudies::category_after`]; with `tallied` (of `base`'s local
    /// analysis under `s`), leaving out a study that is not poolable in a
    /// domain subtracts it from the domain's tallies
    /// ([`Evidence::without`]) where that gives what analysing the rest
    /// would, and the untouched domains' verdicts are taken from it.
    fn category_after_with(
        &self,
        base: &Analyses<'_>,
        tallied: Option<&Tallied<'_, '_>>,
        exclude: Option<usize>,
        extra: &[StudyView],
        s: &Settings,
        egger_min: usize,
    ) -> Option<(Rating, bool)> {
        let n_local_after = self.local.len() - usize::from(exclude.is_some_and(|i| i < self.local.len())) + extra.len();
        let borrowing = base.combined.is_some()
            || exclude.is_some_and(|i| i >= self.local.len())
            || ((n_local_after as u32) < s.min_local_studies && !self.borrowable.is_empty());
        if borrowing {
            return self.analyse(exclude, extra, s, egger_min).decide(s).and_then(|d| d.category());
        }
        let mut touched = [false; 4];
        if let Some(i) = exclude {
            for d in &self.study(i).domains {
                touched[d.domain.index()] = true;
            }
        }
        for x in extra {
            for d in &x.domains {
                touched[d.domain.index()] = true;
            }
        }
        let set = std::cell::OnceCell::new();
        let set = || -> &Vec<&StudyView> {
            set.get_or_init(|| {
                let mut v: Vec<&StudyView> =
                    self.local.iter().enumerate().filter(|(i, _)| Some(*i) != exclude).map(|(_, s)| *s).collect();
                v.extend(extra.iter());
                v
            })
        };
        let per_domain: [Option<DomainDecision>; 4] = std::array::from_fn(|d| {
            let domain = OutcomeDomain::ALL[d];
            let prior = base.local.domains[d].as_ref();
            if !touched[d] {
                return match tallied {
                    Some(t) => t.decisions[d].clone(),
                    None => prior.map(|x| domain_decision(x, &[], s)),
                };
            }
            let left_out = exclude.filter(|_| extra.is_empty()).map(|i| self.study(i));
            let quick = tallied.and_then(|t| t.evidence[d].as_ref()).zip(left_out).and_then(|(e, st)| {
                let sd = st.domain(domain)?;
                e.without(st, sd, s)
            });
            if let Some(e) = quick {
                return Some(evidence_decision(&e, &[], s));
            }
            // A pooled study: the syntheses are fitted again over the other
            // pooled studies, the rest of the analysis is carried over.
            let refitted = tallied.and_then(|t| t.evidence[d].as_ref()).zip(left_out).and_then(|(e, _)| {
                let split = tallied.and_then(|t| t.splits[d].as_ref());
                decision_without_pooled(e, exclude?, |j| self.study(j), s, egger_min, split)
            });
            if refitted.is_some() {
                return refitted;
            }
            // Leaving out a study that is not poolable here leaves the
            // synthesis's studies as they were: it is not fitted again.
            let same_pool = match (left_out, prior) {
                (Some(st), Some(prior)) => st.domain(domain).is_none_or(|sd| !poolable(st, sd)).then_some(prior),
                _ => None,
            };
            let fresh = match same_pool {
                Some(prior) => DomainAnalysis::with_same_pool(set(), domain, egger_min, prior),
                None => DomainAnalysis::new(set(), domain, egger_min),
            };
            fresh.map(|x| domain_decision(&x, &[], s))
        });
        pick(per_domain).map(|d| d.category())
    }

    /// Analyse without study `exclude`, with hypothetical local `extra`
    /// studies.
    pub fn analyse<'s>(
        &'s self,
        exclude: Option<usize>,
        extra: &'s [StudyView],
        s: &Settings,
        egger_min: usize,
    ) -> Analyses<'s> {
        let mut set: Vec<&StudyView> =
            self.local.iter().enumerate().filter(|(i, _)| Some(*i) != exclude).map(|(_, s)| *s).collect();
        set.extend(extra.iter());
        let n_local = set.len();
        let local = Analysis::new(&set, n_local, egger_min);
        let n = self.local.len();
        let borrowed: Vec<&StudyView> =
            self.borrowable.iter().enumerate().filter(|(j, _)| Some(n + *j) != exclude).map(|(_, s)| s).collect();
        let applies = (n_local as u32) < s.min_local_studies && !borrowed.is_empty();
        let combined = applies.then(|| {
            set.extend(borrowed);
            Analysis::new(&set, n_local, egger_min)
        });
        Analyses { local, combined }
    }
}

/// Whether any draw could change a comparison the verdict rests on: a
/// confidence interval that straddles zero and ends within the range the
/// band is drawn from, a total sample within the drawn OIS range, or an
/// I^2 within the drawn threshold range with a prediction interval across
/// zero. When none is, every draw gives the default verdict.
fn sensitive(a: &Analyses<'_>, base: &Settings, d: &Draws) -> bool {
    let within = |x: f64, lo: f64, hi: f64| x >= lo && x <= hi;
    let band_edge = |lo: f64, hi: f64, m: Measure| {
        base.band(m)
            .is_some_and(|b| lo <= 0.0 && hi >= 0.0 && within((-lo).max(hi), b / d.delta_factor, b * d.delta_factor))
    };
    for an in std::iter::once(&a.local).chain(a.combined.as_ref()) {
        for x in an.domains.iter().flatten() {
            for s in x.synthesis.iter().chain(&x.appraised_synthesis) {
                if band_edge(s.ci_lower, s.ci_upper, s.measure) {
                    return true;
                }
                let pi_crosses = matches!((s.pi_lower, s.pi_upper), (Some(l), Some(h)) if l < 0.0 && h > 0.0);
                if s.k >= 2 && pi_crosses && within(s.i2, d.i2_range[0], d.i2_range[1]) {
                    return true;
                }
            }
            for u in x.units.iter().chain(&x.others) {
                if u.composites.iter().any(|c| {
                    let (lo, hi) = c.ci();
                    band_edge(lo, hi, c.measure)
                }) {
                    return true;
                }
            }
            let total: Option<u64> =
                x.certainty_studies.iter().map(|s| s.sample).try_fold(0u64, |acc, n| n.map(|n| acc.saturating_add(n)));
            if total.is_some_and(|n| {
                within(n as f64, base.thresholds.ois / d.ois_factor, base.thresholds.ois * d.ois_factor)
            }) {
                return true;
            }
        }
    }
    false
}

/// The share of draws in which the cell keeps its category (`None`: draws
/// off); 1 without drawing when no draw can change it.
pub fn robustness(a: &Analyses<'_>, verdict: (Rating, bool), base: &Settings, d: &Draws) -> Option<f64> {
    if d.draws.is_empty() {
        return None;
    }
    if !sensitive(a, base, d) {
        return Some(1.0);
    }
    let held = d.draws.iter().filter(|s| a.decide(s).and_then(|c| c.category()) == Some(verdict)).count();
    Some(held as f64 / d.draws.len() as f64)
}

/// Which hypothetical studies a flip adds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddedAt {
    /// At no effect (an effect of 0, or a reviewer's "no effect").
    NoEffect,
    /// At the cell's effect (its pooled estimate, or a reviewer's benefit).
    CellEffect,
}

/// The smallest change that moves a cell's category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    pub change: Change,
    /// The category after the change (and its harm flag).
    pub to: Rating,
    pub harm: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Change {
    /// Leaving out one study. `upgrade`: the verdict gets better without
    /// it (the study holds it down); `standing` and `estimate` say why.
    WithoutStudy { study: String, upgrade: bool, standing: Option<Standing>, estimate: Option<f64> },
    /// Adding `n` hypothetical controlled, appraised studies of the cell's
    /// typical precision in the headline domain.
    AddStudies { n: u32, at: AddedAt, domain: OutcomeDomain, effect: Option<f64>, se: Option<f64> },
}

/// Leave-one-out over the cell's studies, re-running the synthesis:
/// whether any removal changes the category (`fragile`), and the first
/// such removal in study order.
pub fn leave_one_out(
    c: &CellStudies<'_>,
    a: &Analyses<'_>,
    base: (Rating, bool),
    s: &Settings,
    egger_min: usize,
) -> (bool, Option<Flip>) {
    // Borrowed studies can change the verdict only when it uses them.
    let n = if a.combined.is_some() { c.n_studies() } else { c.local.len() };
    let tallied = a.combined.is_none().then(|| Tallied::new(&a.local, s));
    for i in 0..n {
        // A cell left without local studies has no verdict of its own in a
        // re-run (it would not exist): that reads as needs more research.
        let no_local_left = i < c.local.len() && c.local.len() == 1;
        let after = if no_local_left {
            (Rating::NeedsResearch, false)
        } else {
            c.category_after_with(a, tallied.as_ref(), Some(i), &[], s, egger_min)
                .unwrap_or((Rating::NeedsResearch, false))
        };
        if after != base {
            let (to, harm) = after;
            let study = c.study(i);
            let worse = |x: (Rating, bool)| (x.1, x.0);
            // Removing the only local study leaves no evidence: not an upgrade.
            let upgrade = !no_local_left && worse((to, harm)) < worse(base);
            let domain = a.decide(s).and_then(|d| d.verdict().map(|v| v.domain));
            let sd = domain.and_then(|d| study.domain(d));
            return (
                true,
                Some(Flip {
                    change: Change::WithoutStudy {
                        study: study.study.clone(),
                        upgrade,
                        standing: sd.map(|d| d.standing(&s.delta, s.delta_factor)),
                        estimate: sd.and_then(|d| d.composite()).map(|c| c.yi),
                    },
                    to,
                    harm,
                }),
            );
        }
    }
    (false, None)
}

/// A hypothetical controlled, appraised, randomised study in `domain`:
/// with an effect `(yi, vi, measure)`, or rated with `rated`.
fn hypothetical(
    i: u32,
    domain: OutcomeDomain,
    effect: Option<(f64, f64, Measure)>,
    rated: Standing,
    sample: u64,
    from: Option<IncomeSetting>,
) -> StudyView {
    let composites = effect
        .map(|(yi, vi, measure)| Composite {
            yi,
            vi,
            measure,
            all_lower: false,
            n: 1,
            direction_known: true,
            cluster_uncorrected: false,
        })
        .into_iter()
        .collect();
    StudyView {
        study: format!("(hypothetical {i})"),
        borrowed_from: from,
        transfer: 1.0,
        appraisal: Appraisal::Appraised,
        randomised: true,
        best_design: Some(StudyDesign::Rct),
        best_rob: Some(RiskOfBias::Low),
        max_sample: sample,
        n_records: 1,
        rating_counts: [0; 5],
        n_unrated: 0,
        n_unscored: 0,
        strategy_counts: [0; 8],
        consensus_w: [0.0; 5],
        domains: vec![StudyDomain {
            domain,
            primary: true,
            n_findings: 1,
            composites,
            rated: effect.is_none().then_some(rated),
            best_rating: None,
            explicit_harm: false,
            secondary_harm: false,
            weights: Vec::new(),
            weight: 1.0,
        }],
    }
}

fn median(mut x: Vec<f64>) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    Some(if n % 2 == 1 { x[n / 2] } else { (x[n / 2 - 1] + x[n / 2]) / 2.0 })
}

/// The smallest change: a removal when the verdict is fragile, else up to
/// `max_added` hypothetical studies in the headline domain, of the cell's
/// typical precision: at no effect first, then at the cell's effect.
pub fn flip(
    c: &CellStudies<'_>,
    a: &Analyses<'_>,
    removal: Option<Flip>,
    s: &Settings,
    max_added: u32,
    egger_min: usize,
) -> Option<Flip> {
    if removal.is_some() {
        return removal;
    }
    let d = a.decide(s)?;
    let base = d.category()?;
    let domain = d.verdict()?.domain;
    let an = match d.basis {
        super::verdict::Basis::Local => &a.local,
        super::verdict::Basis::Borrowed => a.combined.as_ref()?,
    };
    let x = an.domains[domain.index()].as_ref()?;
    let samples: Vec<f64> = x.certainty_studies.iter().filter_map(|s| s.sample).map(|n| n as f64).collect();
    let sample = median(samples).map_or(0, |m| m.round() as u64);
    // The typical precision and the cell's effect: from the synthesis, else
    // from the studies counted on their own.
    let effect = match &x.synthesis {
        Some(sy) => {
            let vis: Vec<f64> = x
                .pooled
                .iter()
                .filter_map(|i| c.study_in_set(*i, an.n_local).domain(domain).and_then(|d| d.composite()).map(|c| c.vi))
                .collect();
            median(vis).map(|v| (sy.estimate, v, sy.measure))
        }
        None => {
            let cs: Vec<&Composite> = x.units.iter().flat_map(|u| u.composites.first()).collect();
            let m = cs.first().map(|c| c.measure);
            m.and_then(|m| {
                let same: Vec<&&Composite> = cs.iter().filter(|c| c.measure == m).collect();
                let v = median(same.iter().map(|c| c.vi).collect())?;
                let y = median(same.iter().map(|c| c.yi).collect())?;
                Some((y, v, m))
            })
        }
    };
    for n in 1..=max_added {
        for at in [AddedAt::NoEffect, AddedAt::CellEffect] {
            let extra: Vec<StudyView> = (1..=n)
                .map(|i| {
                    let e = effect.map(|(y, v, m)| (if at == AddedAt::NoEffect { 0.0 } else { y }, v, m));
                    let rated = if at == AddedAt::NoEffect { Standing::Null } else { Standing::Benefit };
                    hypothetical(i, domain, e, rated, sample, None)
                })
                .collect();
            let after = c.category_after(a, None, &extra, s, egger_min);
            if let Some((to, harm)) = after.filter(|x| *x != base) {
                return Some(Flip {
                    change: Change::AddStudies {
                        n,
                        at,
                        domain,
                        effect: effect.map(|e| if at == AddedAt::NoEffect { 0.0 } else { e.0 }),
                        se: effect.map(|e| e.1.sqrt()),
                    },
                    to,
                    harm,
                });
            }
        }
    }
    None
}

impl CellStudies<'_> {
    /// Study `i` of an analysed set whose first `n_local` are local (local
    /// studies in order, then the borrowable ones).
    fn study_in_set(&self, i: usize, n_local: usize) -> &StudyView {
        if i < n_local {
            self.local[i]
        } else {
            &self.borrowable[i - n_local]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_symmetric_and_within_their_ranges() {
        let cfg = ScoringConfig::default();
        let a = Draws::new(&cfg);
        assert_eq!(a, Draws::new(&cfg));
        assert_eq!(a.draws.len(), 1000);
        let mut other = cfg.clone();
        other.robustness.seed = 2;
        assert_ne!(a, Draws::new(&other));
        let mut below = 0;
        for d in &a.draws {
            assert!((1.0 / 1.5..=1.5).contains(&d.delta_factor));
            assert!((500.0 / 1.5..=750.0).contains(&d.thresholds.ois));
            assert!((40.0..=60.0).contains(&d.thresholds.i2));
            below += usize::from(d.delta_factor < 1.0);
        }
        // Symmetric around the default on the log scale: about half below.
        assert!((430..=570).contains(&below), "{below}");
    }
}

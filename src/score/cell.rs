//! One cell's verdict from its studies (docs/scoring.md sections 5-10):
//! local and borrowable evidence, the decision, pooled effects per domain,
//! the score band, certainty, consensus, robustness. Results are plain data;
//! `report` words them.

use super::config::ScoringConfig;
use super::robust::{self, Draw, Draws, Flip};
use super::study::{Standing, StudyDomain, StudyView};
use super::verdict::{decide_cell, sum, tally, Basis, CellDecision, Entry, Params, PoolSignal, Rule, Tallies};
use crate::meta::{self, FitOptions, Measure, Method, TestKind};
use crate::model::{Direction, IncomeSetting, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign};
use serde::Serialize;

/// One study's standing in one domain, ready to be tallied (and
/// re-weighted by robustness draws).
struct Proto<'a> {
    /// The study's index in leave-one-out order (local studies first).
    study: usize,
    entry: Entry,
    domain: &'a StudyDomain,
    /// `(source setting, transfer factor)` of a borrowable study.
    from: Option<(IncomeSetting, f64)>,
}

/// `w += scale * design_rob * sample * age * unrated` for every draw
/// (`unrated` empty: a rated finding).
fn add_weights(
    w: &mut [f64],
    scale: f64,
    dr: &[f64],
    age: &[f64],
    ln_sample: Option<f64>,
    c: &robust::Columns,
    unrated: &[f64],
) {
    let n = w.len();
    match (ln_sample, unrated.is_empty()) {
        (Some(l), true) => {
            for d in 0..n {
                let s = l * c.inv_ln_reference_n[d];
                let s = if s < c.sample_cap[d] { s } else { c.sample_cap[d] };
                w[d] += scale * dr[d] * s * age[d];
            }
        }
        (Some(l), false) => {
            for d in 0..n {
                let s = l * c.inv_ln_reference_n[d];
                let s = if s < c.sample_cap[d] { s } else { c.sample_cap[d] };
                w[d] += scale * dr[d] * s * age[d] * unrated[d];
            }
        }
        (None, true) => {
            for d in 0..n {
                w[d] += scale * dr[d] * c.unknown_sample[d] * age[d];
            }
        }
        (None, false) => {
            for d in 0..n {
                w[d] += scale * dr[d] * c.unknown_sample[d] * age[d] * unrated[d];
            }
        }
    }
}

/// One weight key of a [`DrawProto`].
#[derive(Debug, Clone, Copy)]
pub struct DrawKey {
    /// `design_slot * 4 + rob_slot`.
    design_rob: u8,
    /// Age in years below [`robust::DRAW_AGES`], or that index for an
    /// unknown year; `None`: older (computed).
    age: Option<u8>,
    year: Option<i32>,
    unrated: bool,
    ln_sample: Option<f64>,
    count: f64,
}

/// An entry whose weight draws recompute.
#[derive(Debug, Clone, Copy)]
pub struct DrawProto {
    keys: (usize, usize),
    inv_n: f64,
    entry: Entry,
    from: Option<IncomeSetting>,
}

/// What robustness draws recompute for one cell ([`Evidence::draw_plan`]).
#[derive(Debug, Clone)]
pub struct DrawPlan {
    relevant: [bool; 4],
    keys: Vec<DrawKey>,
    protos: Vec<DrawProto>,
}

/// The studies a cell's verdict can use: its own, and those of the same
/// cell in other income settings with their transfer factor.
pub struct Evidence<'a> {
    pub local: Vec<&'a StudyView>,
    /// `(study, from, transfer factor)`.
    pub borrowable: Vec<(&'a StudyView, IncomeSetting, f64)>,
    /// The cell's income setting (for drawn transfer factors).
    pub target: Option<IncomeSetting>,
    /// Per domain: what the local pooled effect says.
    pub pools: [PoolSignal; 4],
    /// The run's reference year (for draw plans' ages).
    pub reference_year: i32,
    protos: Vec<Proto<'a>>,
    /// Each study's protos: `protos[ranges[i].0..ranges[i].1]`.
    ranges: Vec<(usize, usize)>,
    /// Tallies of all local protos, and of all borrowable ones.
    base_local: Tallies,
    base_borrowed: Tallies,
}

impl<'a> Evidence<'a> {
    pub fn new(
        local: Vec<&'a StudyView>,
        borrowable: Vec<(&'a StudyView, IncomeSetting, f64)>,
        target: Option<IncomeSetting>,
        pools: [PoolSignal; 4],
        reference_year: i32,
    ) -> Evidence<'a> {
        let entry = |s: &StudyView, d: &StudyDomain, factor: f64, local: bool| Entry {
            domain: d.domain,
            standing: d.standing,
            rigorous: s.rigorous,
            credible_harm: d.credible_harm,
            harm_signal: d.harm_signal,
            weight: d.weight * factor,
            local,
        };
        let mut protos = Vec::new();
        let mut ranges = Vec::with_capacity(local.len() + borrowable.len());
        for (i, s) in local.iter().enumerate() {
            let a = protos.len();
            protos.extend(s.domains.iter().map(|d| Proto {
                study: i,
                entry: entry(s, d, 1.0, true),
                domain: d,
                from: None,
            }));
            ranges.push((a, protos.len()));
        }
        for (j, (s, from, f)) in borrowable.iter().enumerate() {
            let a = protos.len();
            protos.extend(s.domains.iter().map(|d| Proto {
                study: local.len() + j,
                entry: entry(s, d, *f, false),
                domain: d,
                from: Some((*from, *f)),
            }));
            ranges.push((a, protos.len()));
        }
        let base_local = tally(protos.iter().filter(|p| p.from.is_none()).map(|p| p.entry));
        let base_borrowed = tally(protos.iter().filter(|p| p.from.is_some()).map(|p| p.entry));
        Evidence { local, borrowable, target, pools, reference_year, protos, ranges, base_local, base_borrowed }
    }

    /// Studies in leave-one-out order: local ones, then borrowable ones.
    pub fn n_studies(&self) -> usize {
        self.local.len() + self.borrowable.len()
    }

    pub fn study_name(&self, i: usize) -> &str {
        match self.local.get(i) {
            Some(s) => &s.study,
            None => &self.borrowable[i - self.local.len()].0.study,
        }
    }

    /// The entry of a proto, re-weighted under `draw`.
    fn entry(&self, p: &Proto<'_>, draw: Option<&Draw>) -> Entry {
        match draw {
            None => p.entry,
            Some(d) => {
                let transfer = match (p.from, self.target) {
                    (None, _) => 1.0,
                    (Some((from, _)), Some(to)) => d.transfer[from.index()][to.index()],
                    (Some((_, f)), None) => f,
                };
                Entry { weight: p.domain.weight_under(&d.weights) * transfer, ..p.entry }
            }
        }
    }

    /// Local and (when borrowing applies) combined tallies, leaving out
    /// study `exclude` and adding hypothetical local `extra` entries. Without
    /// a draw the study's entries are taken off the base tallies (exact in
    /// fixed point); a draw re-weights every entry.
    fn tallies(
        &self,
        exclude: Option<usize>,
        extra: &[Entry],
        params: &Params,
        draw: Option<&Draw>,
    ) -> (Tallies, Option<Tallies>) {
        let excluded_local = exclude.is_some_and(|i| i < self.local.len());
        let n_local = self.local.len() - usize::from(excluded_local) + extra.len();
        let has_borrowable = self.borrowable.len() > usize::from(exclude.is_some_and(|i| i >= self.local.len()));
        let applies = (n_local as u32) < params.min_local_studies && has_borrowable;
        let (mut local, borrowed) = match draw {
            None => {
                let (mut l, mut b) = (self.base_local, self.base_borrowed);
                if let Some(i) = exclude {
                    let (a, z) = self.ranges[i];
                    for p in &self.protos[a..z] {
                        let t = if p.from.is_none() { &mut l } else { &mut b };
                        t[p.entry.domain.index()].apply(&p.entry, -1);
                    }
                }
                (l, b)
            }
            Some(_) => {
                // Only domains whose verdict weights can change are
                // re-weighted; the others keep their base tallies.
                let relevant = self.relevant_domains(params);
                let (mut l, mut b) = (self.base_local, self.base_borrowed);
                for d in 0..4 {
                    if relevant[d] {
                        l[d] = Default::default();
                        b[d] = Default::default();
                    }
                }
                for p in self.protos.iter().filter(|p| relevant[p.entry.domain.index()] && Some(p.study) != exclude) {
                    if p.from.is_some() && !applies {
                        continue;
                    }
                    let e = self.entry(p, draw);
                    let t = if p.from.is_none() { &mut l } else { &mut b };
                    t[e.domain.index()].apply(&e, 1);
                }
                (l, b)
            }
        };
        for e in extra {
            local[e.domain.index()].apply(e, 1);
        }
        if !applies {
            return (local, None);
        }
        let combined = sum(&local, &borrowed);
        (local, Some(combined))
    }

    /// The cell's decision, optionally without study `exclude`, with extra
    /// hypothetical local studies, under a drawn configuration.
    pub fn decide(
        &self,
        exclude: Option<usize>,
        extra: &[Entry],
        params: &Params,
        draw: Option<&Draw>,
    ) -> Option<CellDecision> {
        let (local, combined) = self.tallies(exclude, extra, params, draw);
        decide_cell(&local, combined.as_ref(), &self.pools, params)
    }

    /// Domains whose verdict can depend on weights: rigorous studies on
    /// both sides (locally or with the borrowable ones), or a pooled effect
    /// with a verdict of its own.
    fn relevant_domains(&self, _params: &Params) -> [bool; 4] {
        let all = sum(&self.base_local, &self.base_borrowed);
        std::array::from_fn(|d| {
            let both = |t: &Tallies| t[d].n_pos > 0 && t[d].n_neg > 0;
            both(&self.base_local) || both(&all) || self.pools[d].harmful || self.pools[d].beneficial
        })
    }

    /// Whether any weights could change the category: the headline domain
    /// has rigorous studies on both sides, or a pooled effect's verdict
    /// rests on a mix of rigorous and other studies.
    pub fn weight_sensitive(&self, params: &Params) -> bool {
        let (local, combined) = self.tallies(None, &[], params, None);
        let Some(c) = decide_cell(&local, combined.as_ref(), &self.pools, params) else {
            return false;
        };
        let check = |t: &Tallies, d: Option<&super::verdict::Decision>| {
            let both = d.is_some_and(|d| {
                let h = &t[d.domain.index()];
                h.n_pos > 0 && h.n_neg > 0
            });
            let pooled = (0..4).any(|i| {
                (self.pools[i].harmful || self.pools[i].beneficial)
                    && t[i].w_rig_local > 0
                    && t[i].w_rig_local < t[i].w_local
            });
            both || pooled
        };
        check(&local, c.local.as_ref()) || combined.as_ref().is_some_and(|t| check(t, c.borrowed.as_ref()))
    }

    /// What draws need of this cell's studies, laid out for re-weighting
    /// many times: only the entries whose weight can move the verdict
    /// (rigorous positive and null studies in domains where both occur, and
    /// every local study of a domain whose pooled effect has a rule).
    pub fn draw_plan(&self, params: &Params) -> DrawPlan {
        let relevant = self.relevant_domains(params);
        let mut plan = DrawPlan { relevant, keys: Vec::new(), protos: Vec::new() };
        for p in &self.protos {
            let d = p.entry.domain.index();
            if !relevant[d] {
                continue;
            }
            let pooled = self.pools[d].harmful || self.pools[d].beneficial;
            let sides = p.entry.rigorous
                && matches!(p.entry.standing, Standing::Positive | Standing::Null | Standing::Negative);
            if !(sides || (pooled && p.from.is_none())) {
                continue;
            }
            let a = plan.keys.len();
            let n: u32 = p.domain.weights.iter().map(|k| k.count).sum();
            plan.keys.extend(p.domain.weights.iter().map(|k| DrawKey {
                design_rob: (super::weight::design_slot(k.key.design) * 4 + super::weight::rob_slot(k.key.rob)) as u8,
                age: match k.key.year {
                    None => Some(robust::DRAW_AGES as u8),
                    Some(y) => {
                        let a = (self.reference_year - y).max(0) as usize;
                        (a < robust::DRAW_AGES).then_some(a as u8)
                    }
                },
                year: k.key.year,
                unrated: k.key.unrated,
                ln_sample: k.key.sample.map(|_| k.ln_sample()),
                count: f64::from(k.count),
            }));
            plan.protos.push(DrawProto {
                keys: (a, plan.keys.len()),
                inv_n: 1.0 / f64::from(n.max(1)),
                entry: p.entry,
                from: p.from.map(|f| f.0),
            });
        }
        plan
    }

    /// How many draws keep `verdict`. Weights are computed column by column
    /// (each entry for all draws at once, [`robust::Columns`]), then each
    /// draw's tallies are the base ones with the re-weighted sums.
    pub fn held_in_draws(&self, plan: &DrawPlan, draws: &Draws, verdict: (Rating, bool)) -> usize {
        let c = &draws.columns;
        let n = c.n;
        let applies = (self.local.len() as u32) < draws.lo.params.min_local_studies && !self.borrowable.is_empty();
        // Per relevant domain: local positive, local null, local weight,
        // local rigorous weight, borrowed positive, borrowed null.
        let slots: Vec<usize> = (0..4).filter(|d| plan.relevant[*d]).collect();
        let mut acc = vec![0.0f64; slots.len() * 6 * n];
        let mut w = vec![0.0f64; n];
        for p in &plan.protos {
            if p.from.is_some() && !applies {
                continue;
            }
            w.iter_mut().for_each(|x| *x = 0.0);
            for k in &plan.keys[p.keys.0..p.keys.1] {
                let dr = &c.design_rob[k.design_rob as usize * n..][..n];
                let scale = k.count * p.inv_n;
                let unrated: &[f64] = if k.unrated { &c.unrated } else { &[] };
                match k.age {
                    Some(a) => {
                        let age = &c.ages[a as usize * n..][..n];
                        add_weights(&mut w, scale, dr, age, k.ln_sample, c, unrated);
                    }
                    None => {
                        let age: Vec<f64> = draws.draws.iter().map(|d| d.weights.age(k.year)).collect();
                        add_weights(&mut w, scale, dr, &age, k.ln_sample, c, unrated);
                    }
                }
            }
            if let (Some(from), Some(to)) = (p.from, self.target) {
                let t = &c.transfer[(from.index() * 4 + to.index()) * n..][..n];
                w.iter_mut().zip(t).for_each(|(x, t)| *x *= t);
            }
            let slot = slots.iter().position(|d| *d == p.entry.domain.index()).expect("a relevant domain");
            let base = slot * 6 * n;
            let mut add = |k: usize| {
                acc[base + k * n..][..n].iter_mut().zip(&w).for_each(|(a, x)| *a += x);
            };
            let pos = p.entry.rigorous && p.entry.standing == Standing::Positive;
            let neg = p.entry.rigorous && matches!(p.entry.standing, Standing::Null | Standing::Negative);
            match (p.from.is_none(), pos, neg) {
                (true, true, _) => add(0),
                (true, _, true) => add(1),
                (false, true, _) => add(4),
                (false, _, true) => add(5),
                _ => {}
            }
            if p.entry.local {
                add(2);
                if p.entry.rigorous {
                    add(3);
                }
            }
        }
        let fx = super::verdict::fx;
        let mut held = 0;
        for (d, draw) in draws.draws.iter().enumerate() {
            let (mut local, mut borrowed) = (self.base_local, self.base_borrowed);
            for (slot, dom) in slots.iter().enumerate() {
                let at = |k: usize| acc[(slot * 6 + k) * n + d];
                let (l, b) = (&mut local[*dom], &mut borrowed[*dom]);
                l.w_pos = fx(at(0));
                l.w_neg = fx(at(1));
                l.w_local = fx(at(2));
                l.w_rig_local = fx(at(3));
                b.w_pos = fx(at(4));
                b.w_neg = fx(at(5));
                b.w_local = 0;
                b.w_rig_local = 0;
            }
            let combined = applies.then(|| sum(&local, &borrowed));
            if decide_cell(&local, combined.as_ref(), &self.pools, &draw.params).and_then(|c| c.category())
                == Some(verdict)
            {
                held += 1;
            }
        }
        held
    }

    /// Whether no draw can change the category: in every domain where
    /// rigorous studies sit on both sides, the least and largest weights any
    /// draw can give (`draws.lo`, `draws.hi`) leave the same side dominant
    /// (or neither) over the whole range of the dominance factor, and no
    /// pooled-effect rule could apply or not depending on weights.
    pub fn fixed_under(&self, draws: &Draws) -> bool {
        if self.pools.iter().any(|p| p.harmful || p.beneficial) {
            return false;
        }
        let (dlo, dhi) = (draws.lo.params.dominance, draws.hi.params.dominance);
        let applies = (self.local.len() as u32) < draws.lo.params.min_local_studies && !self.borrowable.is_empty();
        for with_borrowed in [false, true] {
            if with_borrowed && !applies {
                continue;
            }
            // Per domain: (W+ lo, W+ hi, W- lo, W- hi, any positive, any null).
            let mut r = [(0.0, 0.0, 0.0, 0.0, false, false); 4];
            for p in self.protos.iter().filter(|p| p.entry.rigorous && (with_borrowed || p.from.is_none())) {
                let x = &mut r[p.entry.domain.index()];
                let lo = self.entry(p, Some(&draws.lo)).weight;
                let hi = self.entry(p, Some(&draws.hi)).weight;
                match p.entry.standing {
                    Standing::Positive => {
                        x.0 += lo;
                        x.1 += hi;
                        x.4 = true;
                    }
                    Standing::Null | Standing::Negative => {
                        x.2 += lo;
                        x.3 += hi;
                        x.5 = true;
                    }
                    _ => {}
                }
            }
            for (plo, phi, nlo, nhi, pos, neg) in r {
                if !(pos && neg) {
                    continue;
                }
                let pos_always = plo >= dhi * nhi;
                let neg_always = nlo >= dhi * phi;
                let neither_ever = phi < dlo * nlo && nhi < dlo * plo;
                if !(pos_always || neg_always || neither_ever) {
                    return false;
                }
            }
        }
        true
    }

    /// The median weight of the rigorous local studies in `domain`, or 1.0
    /// without any (for hypothetical studies).
    pub fn typical_rigorous_weight(&self, domain: OutcomeDomain) -> f64 {
        let mut w: Vec<f64> = self
            .protos
            .iter()
            .filter(|p| p.from.is_none() && p.entry.rigorous && p.entry.domain == domain)
            .map(|p| p.entry.weight)
            .collect();
        if w.is_empty() {
            return 1.0;
        }
        w.sort_by(f64::total_cmp);
        let n = w.len();
        if n % 2 == 1 {
            w[n / 2]
        } else {
            (w[n / 2 - 1] + w[n / 2]) / 2.0
        }
    }
}

/// Pooled effect of a domain's local studies (docs/scoring.md section 8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    pub k: usize,
    pub measure: Measure,
    /// The direction the numbers are given in: lower-is-better when every
    /// finding pooled was reported so, else the benefit direction.
    pub direction: Direction,
    pub estimate: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub pi_lower: f64,
    pub pi_upper: f64,
    pub i2: f64,
    pub tau2: f64,
    /// Egger's test p-value (only with enough studies).
    pub egger_p: Option<f64>,
    /// The CI lies wholly on the harmful side.
    #[serde(skip)]
    pub harmful: bool,
    /// The CI lies wholly on the beneficial side.
    #[serde(skip)]
    pub beneficial: bool,
    /// The CI includes no effect.
    #[serde(skip)]
    pub includes_zero: bool,
    /// Rigorous studies among those pooled.
    pub rigorous: u32,
}

/// Why a domain's effects were not pooled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PoolNote {
    MixedMeasures {
        measures: Vec<Measure>,
    },
    /// A fit that failed (message of the fitting code).
    Failed {
        message: String,
    },
}

/// Pool `domain` over local studies: REML with the modified
/// Hartung-Knapp-Sidik-Jonkman CI and a t(k-1) prediction interval.
pub fn pool_domain(
    local: &[&StudyView],
    domain: OutcomeDomain,
    cfg: &ScoringConfig,
) -> Result<Option<Pooled>, PoolNote> {
    let comps: Vec<_> = local.iter().filter_map(|s| s.domain(domain).and_then(|d| d.composite)).collect();
    let rigorous =
        local.iter().filter(|s| s.rigorous && s.domain(domain).is_some_and(|d| d.composite.is_some())).count() as u32;
    let mut measures: Vec<Measure> = comps.iter().map(|c| c.measure).collect();
    measures.sort();
    measures.dedup();
    if measures.len() > 1 {
        return Err(PoolNote::MixedMeasures { measures });
    }
    if comps.len() < 2 {
        return Ok(None);
    }
    let y: Vec<f64> = comps.iter().map(|c| c.yi).collect();
    let v: Vec<f64> = comps.iter().map(|c| c.vi).collect();
    let opts = FitOptions { method: Method::REML, test: TestKind::Adhoc, tau2_ci: false, ..FitOptions::default() };
    let f = meta::fit(&y, &v, &opts).map_err(|e| PoolNote::Failed { message: e.to_string() })?;
    let egger_p = (comps.len() >= cfg.certainty.egger_min_studies as usize)
        .then(|| meta::egger_test(&y, &v).map(|e| e.pval))
        .flatten();
    let lower = comps.iter().all(|c| c.all_lower);
    let mut p = Pooled {
        k: f.k,
        measure: measures[0],
        direction: Direction::HigherIsBetter,
        estimate: f.estimate,
        ci_lower: f.ci_lower,
        ci_upper: f.ci_upper,
        pi_lower: f.pi_lower,
        pi_upper: f.pi_upper,
        i2: f.i2,
        tau2: f.tau2,
        egger_p,
        harmful: f.ci_upper < 0.0,
        beneficial: f.ci_lower > 0.0,
        includes_zero: f.ci_lower <= 0.0 && f.ci_upper >= 0.0,
        rigorous,
    };
    if lower {
        // Turned back to the direction the findings were reported in.
        p.direction = Direction::LowerIsBetter;
        p.estimate = -f.estimate;
        (p.ci_lower, p.ci_upper) = (-f.ci_upper, -f.ci_lower);
        (p.pi_lower, p.pi_upper) = (-f.pi_upper, -f.pi_lower);
    }
    Ok(Some(p))
}

/// GRADE-like certainty of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
}

impl std::fmt::Display for Certainty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One reason certainty went down (docs/scoring.md section 7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Downgrade {
    /// Share (0-1) of the weight from high- and from unknown-risk-of-bias studies.
    RiskOfBias {
        high: f64,
        unknown: f64,
    },
    /// Shares of the weight from positive and from null or negative studies.
    Inconsistency {
        positive: f64,
        null: f64,
    },
    Heterogeneity {
        i2: f64,
    },
    Imprecision {
        studies: usize,
        total_sample: u64,
        min_sample: u64,
        ci_includes_zero: bool,
    },
    Indirectness {
        borrowed_from: Vec<IncomeSetting>,
        risk_factors: bool,
    },
    PublicationBias {
        egger_p: f64,
    },
}

/// A domain's verdict with its counts, for outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainResult {
    pub domain: OutcomeDomain,
    pub category: Rating,
    pub harm: bool,
    pub rule: Rule,
    pub n_studies: u32,
    pub rigorous_positive: u32,
    pub rigorous_null: u32,
    pub harm_signal: u32,
    pub pooled: Option<Pooled>,
    pub pooled_note: Option<PoolNote>,
}

/// One verdict per cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellResult {
    /// `(key name, value)` in group-key order.
    pub key: Vec<(String, String)>,
    pub category: Rating,
    pub harm_flag: bool,
    /// The outcome domain the verdict rests on.
    pub domain: OutcomeDomain,
    pub basis: Basis,
    pub rule: Rule,
    /// The verdict was capped at `borrowed_max`.
    pub capped: bool,
    /// Local verdict (`None`: no local study) and borrowed verdict (`None`:
    /// borrowing does not apply).
    pub category_local: Option<Rating>,
    pub harm_local: bool,
    pub category_borrowed: Option<Rating>,
    /// Per domain with studies (in tier order), for the verdict's studies.
    pub domains: Vec<DomainResult>,
    pub certainty: Certainty,
    pub downgrades: Vec<Downgrade>,
    /// Studies with a weak harm signal (not credible enough for the verdict).
    pub harm_signal: u32,
    /// Share of robustness draws that keep the category (`None`: draws off).
    pub robustness: Option<f64>,
    pub fragile: bool,
    pub flip: Option<Flip>,
    pub score: f64,
    pub score_low: f64,
    pub score_high: f64,
    pub n_records: u64,
    /// Local studies.
    pub n_studies: usize,
    /// Borrowed studies the verdict uses (0 when its basis is local).
    pub n_borrowed_studies: usize,
    pub borrowed_from: Vec<IncomeSetting>,
    /// Reviewer ratings of local findings per level.
    pub rating_counts: [u64; 5],
    pub n_unrated: u64,
    pub best_design: Option<StudyDesign>,
    pub total_sample: u64,
    /// Rigorous positive / null-or-negative studies in the headline domain.
    pub rigorous_positive: u32,
    pub rigorous_null: u32,
    pub consensus_rating: Option<Rating>,
    pub disagreement: bool,
    pub strategy: Option<Strategy>,
    /// The headline domain's pooled effect.
    pub pooled: Option<Pooled>,
    pub pooled_note: Option<PoolNote>,
    /// Studies the verdict rests on (kept for explanations only).
    #[serde(skip)]
    pub studies: Vec<StudyView>,
}

impl CellResult {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.key.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn domain_result(&self, d: OutcomeDomain) -> Option<&DomainResult> {
        self.domains.iter().find(|x| x.domain == d)
    }
}

/// Central interval of Beta(alpha, beta) at `level`.
pub fn beta_interval(alpha: f64, beta: f64, level: f64) -> (f64, f64) {
    let tail = (1.0 - level) / 2.0;
    match (crate::stats::beta_quantile(tail, alpha, beta), crate::stats::beta_quantile(1.0 - tail, alpha, beta)) {
        (Ok(lo), Ok(hi)) => (lo, hi),
        _ => (0.0, 1.0),
    }
}

/// The score and its band (docs/scoring.md section 6) from study weights
/// and values.
///
/// # Formula
/// `m = (p/2 + k sum w v) / (p + k sum w)`; `D` = weighted variance of `v`
/// over `vbar (1 - vbar)`; `n = p + k (sum w)(1 - D)`; band = central
/// `level` interval of Beta(m n, (1 - m) n).
pub fn score_band(wv: &[(f64, f64)], cfg: &ScoringConfig) -> (f64, f64, f64) {
    let (p, k) = (cfg.score.prior_weight, cfg.score.evidence_scale);
    let sw: f64 = wv.iter().map(|x| x.0).sum();
    let swv: f64 = wv.iter().map(|x| x.0 * x.1).sum();
    let m = (p / 2.0 + k * swv) / (p + k * sw);
    let d = if sw > 0.0 {
        let vbar = swv / sw;
        let spread = vbar * (1.0 - vbar);
        if spread > 1e-12 {
            let var = wv.iter().map(|(w, v)| w * (v - vbar).powi(2)).sum::<f64>() / sw;
            (var / spread).clamp(0.0, 1.0)
        } else {
            0.0
        }
    } else {
        0.0
    };
    let n = p + k * sw * (1.0 - d);
    let (lo, hi) = beta_interval(m * n, (1.0 - m) * n, cfg.score.interval_level);
    (m, lo, hi)
}

/// Weighted mode of reviewer-assigned ratings; ties go to the worse rating.
pub fn consensus(w: &[f64; 5]) -> Option<Rating> {
    let mut best: Option<(f64, Rating)> = None;
    for r in Rating::ALL {
        let x = w[r.index()];
        if x > 0.0 && best.is_none_or(|(bw, _)| x >= bw) {
            best = Some((x, r));
        }
    }
    best.map(|b| b.1)
}

/// Everything a cell's evaluation needs from the run.
pub struct Run<'a> {
    pub cfg: &'a ScoringConfig,
    pub reference_year: i32,
    pub params: Params,
    pub draws: &'a Draws,
    pub keep_studies: bool,
}

/// Evaluate one cell: `local` studies, `borrowable` ones from other
/// settings (with their source and factor), `target` its income setting.
pub fn evaluate(
    key: Vec<(String, String)>,
    local: &[&StudyView],
    borrowable: Vec<(&StudyView, IncomeSetting, f64)>,
    target: Option<IncomeSetting>,
    run: &Run<'_>,
) -> Option<CellResult> {
    let cfg = run.cfg;
    let mut pooled: [Result<Option<Pooled>, PoolNote>; 4] =
        std::array::from_fn(|i| pool_domain(local, OutcomeDomain::ALL[i], cfg));
    let pools: [PoolSignal; 4] = std::array::from_fn(|i| match &pooled[i] {
        Ok(Some(p)) => PoolSignal { harmful: p.harmful, beneficial: p.beneficial, rigorous_pooled: p.rigorous },
        _ => PoolSignal::default(),
    });
    let ev = Evidence::new(local.to_vec(), borrowable, target, pools, run.reference_year);
    let decision = ev.decide(None, &[], &run.params, None)?;
    let verdict = *decision.verdict()?;
    let uses_borrowed = decision.basis == Basis::Borrowed;
    // The verdict's studies: local, plus borrowed ones when its basis is.
    let mut studies: Vec<(&StudyView, f64)> = local.iter().map(|s| (*s, 1.0)).collect();
    if uses_borrowed {
        studies.extend(ev.borrowable.iter().map(|(s, _, f)| (*s, *f)));
    }
    let entries: Vec<(usize, &StudyDomain, f64)> = studies
        .iter()
        .enumerate()
        .flat_map(|(i, (s, f))| s.domains.iter().map(move |d| (i, d, d.weight * f)))
        .collect();
    let tallies = tally(studies.iter().enumerate().flat_map(|(i, (s, f))| {
        let local = i < local.len();
        s.domains.iter().map(move |d| Entry {
            domain: d.domain,
            standing: d.standing,
            rigorous: s.rigorous,
            credible_harm: d.credible_harm,
            harm_signal: d.harm_signal,
            weight: d.weight * f,
            local,
        })
    }));
    let head = verdict.domain;
    let domains: Vec<DomainResult> = OutcomeDomain::ALL
        .iter()
        .filter_map(|d| {
            let dd = verdict.per_domain[d.index()]?;
            let t = &tallies[d.index()];
            let (p, note) = match std::mem::replace(&mut pooled[d.index()], Ok(None)) {
                Ok(p) => (p, None),
                Err(n) => (None, Some(n)),
            };
            Some(DomainResult {
                domain: *d,
                category: dd.category,
                harm: dd.harm,
                rule: dd.rule,
                n_studies: t.n_studies,
                rigorous_positive: t.n_pos,
                rigorous_null: t.n_neg,
                harm_signal: t.n_harm_signal,
                pooled: p,
                pooled_note: note,
            })
        })
        .collect();
    let head_result = domains.iter().find(|d| d.domain == head);
    let head_pooled = head_result.and_then(|d| d.pooled.clone());
    let head_note = head_result.and_then(|d| d.pooled_note.clone());

    // Score band over the headline domain's studies.
    let wv: Vec<(f64, f64)> =
        entries.iter().filter(|(_, d, _)| d.domain == head).map(|(_, d, w)| (*w, d.value)).collect();
    let (score, score_low, score_high) = score_band(&wv, cfg);

    // Certainty over the headline domain's studies.
    let head_studies: Vec<(&StudyView, &StudyDomain, f64)> =
        entries.iter().filter(|(_, d, _)| d.domain == head).map(|(i, d, w)| (studies[*i].0, *d, *w)).collect();
    let borrowed_from: Vec<IncomeSetting> = {
        let mut b: Vec<IncomeSetting> =
            if uses_borrowed { ev.borrowable.iter().map(|x| x.1).collect() } else { Vec::new() };
        b.sort();
        b.dedup();
        b
    };
    let (certainty, downgrades) = certainty(&head_studies, head, head_pooled.as_ref(), &borrowed_from, cfg);

    // Consensus over local findings.
    let mut cw = [0.0; 5];
    for s in local {
        for (a, b) in cw.iter_mut().zip(&s.consensus_w) {
            *a += b;
        }
    }
    let consensus_rating = consensus(&cw);

    let mut strategy_counts = [0u64; 8];
    let mut rating_counts = [0u64; 5];
    let (mut n_records, mut n_unrated, mut total_sample) = (0, 0, 0);
    let mut best_design: Option<StudyDesign> = None;
    for s in local {
        n_records += s.n_records;
        n_unrated += s.n_unrated;
        total_sample += s.max_sample;
        for i in 0..5 {
            rating_counts[i] += s.rating_counts[i];
        }
        for i in 0..8 {
            strategy_counts[i] += s.strategy_counts[i];
        }
        if let Some(d) = s.best_design {
            best_design = Some(best_design.map_or(d, |b: StudyDesign| b.min(d)));
        }
    }
    let strategy = {
        let (slot, n) =
            strategy_counts[..7].iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0))).unwrap_or((7, &0));
        (*n > 0).then(|| Strategy::ALL[slot])
    };

    let robustness = robust::robustness(&ev, run.draws, &run.params);
    let (fragile, removal) = robust::leave_one_out(&ev, &run.params);
    let flip = robust::flip(&ev, removal, &run.params, cfg.robustness.max_added);
    let head_tally = &tallies[head.index()];
    let kept: Vec<StudyView> = if run.keep_studies {
        studies
            .iter()
            .enumerate()
            .map(|(i, (s, f))| {
                if i < local.len() {
                    (*s).clone()
                } else {
                    let (_, from, _) = ev.borrowable[i - local.len()];
                    s.borrowed(from, *f)
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Some(CellResult {
        key,
        category: verdict.category,
        harm_flag: verdict.harm,
        domain: head,
        basis: decision.basis,
        rule: verdict.rule,
        capped: verdict.capped,
        category_local: decision.local.map(|d| d.category),
        harm_local: decision.local.is_some_and(|d| d.harm),
        category_borrowed: decision.borrowed.map(|d| d.category),
        harm_signal: tallies.iter().map(|t| t.n_harm_signal).sum(),
        domains,
        certainty,
        downgrades,
        robustness,
        fragile,
        flip,
        score,
        score_low,
        score_high,
        n_records,
        n_studies: local.len(),
        n_borrowed_studies: if uses_borrowed { ev.borrowable.len() } else { 0 },
        borrowed_from,
        rating_counts,
        n_unrated,
        best_design,
        total_sample,
        rigorous_positive: head_tally.n_pos,
        rigorous_null: head_tally.n_neg,
        disagreement: consensus_rating.is_some_and(|c| c != verdict.category),
        consensus_rating,
        strategy,
        pooled: head_pooled,
        pooled_note: head_note,
        studies: kept,
    })
}

/// Start from the best design (GRADE), down one level for each reason
/// (docs/scoring.md section 7).
fn certainty(
    studies: &[(&StudyView, &StudyDomain, f64)],
    domain: OutcomeDomain,
    pooled: Option<&Pooled>,
    borrowed_from: &[IncomeSetting],
    cfg: &ScoringConfig,
) -> (Certainty, Vec<Downgrade>) {
    let best = studies.iter().filter_map(|s| s.0.best_design).min();
    let mut level = match best {
        Some(StudyDesign::SystematicReview | StudyDesign::Rct) => 4,
        Some(StudyDesign::QuasiExperimental) => 3,
        Some(StudyDesign::PrePost | StudyDesign::Observational) => 2,
        _ => 1,
    };
    let c = &cfg.certainty;
    let mut why = Vec::new();
    let sw: f64 = studies.iter().map(|s| s.2).sum();
    if sw > 0.0 {
        let share = |f: &dyn Fn(&(&StudyView, &StudyDomain, f64)) -> bool| {
            studies.iter().filter(|s| f(s)).map(|s| s.2).sum::<f64>() / sw
        };
        let high = share(&|s| s.0.best_rob == Some(RiskOfBias::High));
        let unknown = share(&|s| s.0.best_rob.is_none());
        if high + unknown > c.high_rob_share {
            level -= 1;
            why.push(Downgrade::RiskOfBias { high, unknown });
        }
        let pos = share(&|s| s.1.standing == Standing::Positive);
        let null = share(&|s| matches!(s.1.standing, Standing::Null | Standing::Negative));
        if pos >= c.inconsistency_share && null >= c.inconsistency_share {
            level -= 1;
            why.push(Downgrade::Inconsistency { positive: pos, null });
        } else if let Some(i2) = pooled.map(|p| p.i2).filter(|i| *i >= c.inconsistency_i2) {
            level -= 1;
            why.push(Downgrade::Heterogeneity { i2 });
        }
    }
    let total_sample: u64 = studies.iter().map(|s| s.0.max_sample).sum();
    let includes_zero = pooled.is_some_and(|p| p.includes_zero);
    if (studies.len() as u32) < c.imprecision_min_studies || total_sample < c.imprecision_min_sample || includes_zero {
        level -= 1;
        why.push(Downgrade::Imprecision {
            studies: studies.len(),
            total_sample,
            min_sample: c.imprecision_min_sample,
            ci_includes_zero: includes_zero,
        });
    }
    let risk_factors = domain == OutcomeDomain::RiskFactor;
    if !borrowed_from.is_empty() || risk_factors {
        level -= 1;
        why.push(Downgrade::Indirectness { borrowed_from: borrowed_from.to_vec(), risk_factors });
    }
    if let Some(p) = pooled.and_then(|p| p.egger_p).filter(|p| *p < c.egger_p) {
        level -= 1;
        why.push(Downgrade::PublicationBias { egger_p: p });
    }
    (Certainty::from_level(level), why)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/scoring.md section 6: disagreement widens the band compared
    /// with agreement at the same total weight; more weight narrows it.
    #[test]
    fn the_band_widens_with_disagreement_and_narrows_with_evidence() {
        let cfg = ScoringConfig::default();
        let width = |wv: &[(f64, f64)]| {
            let (_, lo, hi) = score_band(wv, &cfg);
            hi - lo
        };
        let split = width(&[(1.0, 1.0), (1.0, 0.0)]);
        let agree = width(&[(1.0, 0.5), (1.0, 0.5)]);
        assert!(split > agree + 0.2, "split {split} vs agree {agree}");
        // {1, 0} at weight 2 carries no more than the prior: Beta(1, 1).
        let (m, lo, hi) = score_band(&[(1.0, 1.0), (1.0, 0.0)], &cfg);
        assert!((m - 0.5).abs() < 1e-12 && (lo - 0.05).abs() < 1e-9 && (hi - 0.95).abs() < 1e-9, "{lo} {hi}");
        // {0.5, 0.5}: Beta(5, 5) as in model 1.0.
        let (_, lo, hi) = score_band(&[(1.0, 0.5), (1.0, 0.5)], &cfg);
        let (elo, ehi) = beta_interval(5.0, 5.0, 0.9);
        assert_eq!((lo, hi), (elo, ehi));
        assert!(width(&[(3.0, 0.8), (3.0, 0.8)]) < width(&[(1.0, 0.8), (1.0, 0.8)]));
        // Partial disagreement lies between.
        let part = width(&[(1.0, 0.8), (1.0, 0.4)]);
        assert!(agree < part + 0.05 && part < split, "{agree} {part} {split}");
    }

    #[test]
    fn consensus_ties_go_to_the_worse_rating() {
        assert_eq!(consensus(&[1.0, 1.0, 0.1, 0.4, 0.3]), Some(Rating::Promising));
        assert_eq!(consensus(&[0.0; 5]), None);
    }
}

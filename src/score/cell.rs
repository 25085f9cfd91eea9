//! One cell's verdict from its studies (docs/scoring.md sections 5-10):
//! local and borrowable evidence, the decision, pooled effects per domain,
//! the score band, certainty, consensus, robustness. Results are plain data;
//! `report` words them.

use super::config::ScoringConfig;
use super::robust::{self, Draw, Draws, Flip};
use super::study::{Standing, StudyDomain, StudyView};
use super::verdict::{decide_cell, tally, Basis, CellDecision, Entry, Params, PoolSignal, Rule, Tallies};
use crate::meta::{self, FitOptions, Measure, Method, TestKind};
use crate::model::{Direction, IncomeSetting, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign};
use serde::Serialize;
use statrs::distribution::{Beta, ContinuousCDF};

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
}

fn entries_of<'s>(
    s: &'s StudyView,
    transfer: f64,
    local: bool,
    draw: Option<&'s Draw>,
) -> impl Iterator<Item = Entry> + 's {
    s.domains.iter().map(move |d| Entry {
        domain: d.domain,
        standing: d.standing,
        rigorous: s.rigorous,
        credible_harm: d.credible_harm,
        harm_signal: d.harm_signal,
        weight: draw.map_or(d.weight, |dr| d.weight_under(&dr.weights)) * transfer,
        local,
    })
}

impl<'a> Evidence<'a> {
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

    fn transfer(&self, from: IncomeSetting, factor: f64, draw: Option<&Draw>) -> f64 {
        match (draw, self.target) {
            (Some(d), Some(to)) => d.transfer[from.index()][to.index()],
            _ => factor,
        }
    }

    /// Local and (when borrowing applies) combined tallies, leaving out
    /// study `exclude` and adding hypothetical local `extra` entries.
    fn tallies(
        &self,
        exclude: Option<usize>,
        extra: &[Entry],
        params: &Params,
        draw: Option<&Draw>,
    ) -> (Tallies, Option<Tallies>) {
        let local_studies = self.local.iter().enumerate().filter(|(i, _)| Some(*i) != exclude).map(|x| x.1);
        let n_local = local_studies.clone().count() + extra.len();
        let local: Vec<Entry> =
            local_studies.flat_map(|s| entries_of(s, 1.0, true, draw)).chain(extra.iter().copied()).collect();
        let borrowed: Vec<Entry> = self
            .borrowable
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(i + self.local.len()) != exclude)
            .flat_map(|(_, (s, from, f))| entries_of(s, self.transfer(*from, *f, draw), false, draw))
            .collect();
        let applies = (n_local as u32) < params.min_local_studies && !borrowed.is_empty();
        let combined = applies.then(|| tally(local.iter().chain(&borrowed).copied()));
        (tally(local), combined)
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

    /// The median weight of the rigorous studies in `domain` among the
    /// verdict's studies, or 1.0 without any (for hypothetical studies).
    pub fn typical_rigorous_weight(&self, domain: OutcomeDomain) -> f64 {
        let mut w: Vec<f64> =
            self.local.iter().filter(|s| s.rigorous).filter_map(|s| s.domain(domain).map(|d| d.weight)).collect();
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
    match Beta::new(alpha, beta) {
        Ok(d) => (d.inverse_cdf(tail), d.inverse_cdf(1.0 - tail)),
        Err(_) => (0.0, 1.0),
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
    let ev = Evidence { local: local.to_vec(), borrowable, target, pools };
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

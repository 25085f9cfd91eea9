//! The scoring core: records -> per-study accumulators (parallel, exact
//! merges) -> one verdict per cell (score with interval, UNICEF category by
//! explicit rules, consensus rating, GRADE-like certainty, pooled effect).
//! The model is documented in `docs/scoring.md`.

pub mod accum;
pub mod config;
pub mod fact;
pub mod rank;
pub mod rules;
pub mod weight;

pub use accum::{StudyAcc, StudyView};
pub use config::{ScoringConfig, DEFAULT_TOML, MODEL_VERSION};
pub use rules::Certainty;

use crate::meta::{self, FitOptions, Measure};
use crate::model::{EvaluationRecord, IncomeSetting, Rating, Strategy, StudyDesign};
use accum::{fx, rating_slot, strategy_slot, EffectPoint};
pub use fact::{Fact, FactSet};
use rayon::prelude::*;
use serde::Serialize;

/// A column cells can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKey {
    Intervention,
    TargetGroup,
    IncomeSetting,
    Strategy,
    Design,
    Country,
    Outcome,
}

impl GroupKey {
    pub const NAMES: &'static str = "intervention, target_group, income_setting, strategy, design, country, outcome";
    pub const DEFAULT: [GroupKey; 3] = [GroupKey::Intervention, GroupKey::TargetGroup, GroupKey::IncomeSetting];

    pub fn parse(s: &str) -> Option<GroupKey> {
        match crate::ingest::columns::normalise_header(s).as_str() {
            "intervention" => Some(GroupKey::Intervention),
            "target_group" => Some(GroupKey::TargetGroup),
            "income_setting" | "income" => Some(GroupKey::IncomeSetting),
            "strategy" => Some(GroupKey::Strategy),
            "design" => Some(GroupKey::Design),
            "country" => Some(GroupKey::Country),
            "outcome" => Some(GroupKey::Outcome),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GroupKey::Intervention => "intervention",
            GroupKey::TargetGroup => "target_group",
            GroupKey::IncomeSetting => "income_setting",
            GroupKey::Strategy => "strategy",
            GroupKey::Design => "design",
            GroupKey::Country => "country",
            GroupKey::Outcome => "outcome",
        }
    }

    pub fn value(self, r: &EvaluationRecord) -> String {
        self.value_ref(r).to_string()
    }
}

/// Cell key values, in the order of the group keys.
pub type CellKey = Vec<String>;

/// Study accumulators per cell, cells sorted by key and studies by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregation {
    pub cells: Vec<(CellKey, Vec<(String, StudyAcc)>)>,
}

/// The reference year for evidence age: the configured one, or the latest
/// study year in the records (so output does not depend on the run date).
pub fn reference_year(records: &[EvaluationRecord], cfg: &ScoringConfig) -> i32 {
    if cfg.reference_year > 0 {
        return cfg.reference_year;
    }
    records.par_iter().filter_map(|r| r.year).max().unwrap_or(2000)
}

impl GroupKey {
    /// The key value without allocating.
    pub fn value_ref(self, r: &EvaluationRecord) -> &str {
        const NONE: &str = "(none)";
        match self {
            GroupKey::Intervention => &r.intervention,
            GroupKey::TargetGroup => r.target_group.display(),
            GroupKey::IncomeSetting => r.income_setting.key(),
            GroupKey::Strategy => r.strategy.map_or(NONE, |s| s.key()),
            GroupKey::Design => r.design.map_or(NONE, |s| s.key()),
            GroupKey::Country => r.country.as_deref().unwrap_or(NONE),
            GroupKey::Outcome => r.outcome.as_deref().unwrap_or(NONE),
        }
    }
}

/// Record weights' age factors by age in years, computed once per run
/// (the same expression as [`weight::weight_parts`], so the same bits).
struct AgeTable {
    ref_year: i32,
    unknown: f64,
    by_age: Vec<f64>,
    /// [`weight::ln_reference_n`], also a run constant.
    ln_reference_n: f64,
}

impl AgeTable {
    fn new(cfg: &ScoringConfig, ref_year: i32) -> AgeTable {
        let oldest = (ref_year - 1900).clamp(0, 400);
        let by_age = (0..=oldest).map(|a| weight::age_factor(a, cfg)).collect();
        AgeTable { ref_year, unknown: cfg.age.unknown_year_factor, by_age, ln_reference_n: weight::ln_reference_n(cfg) }
    }
    fn get(&self, year: Option<i32>, cfg: &ScoringConfig) -> f64 {
        match year {
            None => self.unknown,
            Some(y) => {
                let a = (self.ref_year - y).max(0);
                self.by_age.get(a as usize).copied().unwrap_or_else(|| weight::age_factor(a, cfg))
            }
        }
    }
}

/// Fold one fact into its study's accumulator (docs/scoring.md: record
/// weight, used rating, effect point).
fn add_fact(acc: &mut StudyAcc, f: &Fact, cfg: &ScoringConfig, ages: &AgeTable, sample: &mut SampleMemo) {
    acc.n_records += 1;
    acc.take_design(f.design, f.rob);
    acc.max_sample = acc.max_sample.max(f.sample_size().unwrap_or(0));
    acc.strategy_counts[strategy_slot(f.strategy)] += 1;
    if let Some(measure) = f.measure {
        acc.effects.push(EffectPoint { yi: f.yi, vi: f.vi, measure });
    }
    match f.rating {
        Some(rating) => {
            let age = ages.get(f.year(), cfg);
            let s = sample.factor(f.sample_size(), cfg, ages.ln_reference_n);
            let w = weight::weight_of_factors(f.design, f.rob, s, age, cfg, f.derived()).total;
            let v = if f.harm() { cfg.rating_value.ineffective } else { cfg.rating_value.of(rating) };
            let fw = fx(w);
            acc.sum_w += fw;
            acc.sum_wv += fx(w * v);
            acc.rating_counts[rating_slot(rating)] += 1;
            acc.harm |= f.harm();
            if f.derived() {
                acc.n_derived += 1;
            } else {
                acc.consensus_w[rating_slot(rating)] += fw;
            }
        }
        None => acc.n_unscored += 1,
    }
}

/// The last sample size's factor (a study's findings usually share one
/// sample size, so its logarithm is taken once; same bits either way).
#[derive(Default)]
struct SampleMemo(Option<(u64, f64)>);

impl SampleMemo {
    fn factor(&mut self, n: Option<u64>, cfg: &ScoringConfig, ln_reference_n: f64) -> f64 {
        match (n, self.0) {
            (Some(n), Some((last, f))) if n == last => f,
            (Some(n), _) => {
                let f = weight::sample_factor(Some(n), cfg, ln_reference_n);
                self.0 = Some((n, f));
                f
            }
            (None, _) => weight::sample_factor(None, cfg, ln_reference_n),
        }
    }
}

/// A study's effects in canonical order (by measure, then value), so
/// pooled numbers do not depend on input order.
fn sort_effects(acc: &mut StudyAcc) {
    acc.effects.sort_by(|a, b| a.measure.cmp(&b.measure).then(a.yi.total_cmp(&b.yi)).then(a.vi.total_cmp(&b.vi)));
}

/// How many facts ahead of the one being folded to ask the memory for: after
/// sorting, a partition's facts are visited in (cell, study) order, which is
/// a random walk through the fact storage, so each visit would otherwise
/// wait for a cache miss.
const PREFETCH_AHEAD: usize = 16;

/// A hint that `x` will be read soon (no effect on results).
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint to the cache; it neither reads nor
        // writes memory as far as the program can observe, and `x` is a
        // valid reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(x).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The cells of one partition, one at a time: facts are sorted by
/// (canonical cell, canonical study rank), each run of a study is folded
/// into one accumulator (a study spread over chunks has several ids but one
/// rank), `study` turns each `(rank, accumulator)` into what the caller
/// keeps (or drops it), and `f` gets each cell's studies in canonical order
/// (study name order; merges are exact). Only one cell's studies exist at
/// a time.
#[allow(clippy::too_many_arguments)]
fn for_each_cell<T>(
    fs: &FactSet,
    p: usize,
    canon: &[u32],
    ranks: &fact::StudyRanks,
    cfg: &ScoringConfig,
    ages: &AgeTable,
    mut study: impl FnMut(u32, StudyAcc) -> Option<T>,
    mut f: impl FnMut(u32, Vec<T>),
) {
    // Sorted by one integer key (canonical cell, study rank) held next to
    // the fact's address: no indirection while sorting. (A partition's
    // facts come chunk by chunk, and a chunk's study ids are contiguous, so
    // the rank lookups stay local.)
    let mut facts: Vec<(u64, &Fact)> = fs
        .partition(p)
        .map(|(cell, study, x)| ((u64::from(canon[cell as usize]) << 32) | u64::from(ranks.rank[study as usize]), x))
        .collect();
    facts.sort_unstable_by_key(|x| x.0);
    let mut sample = SampleMemo::default();
    let mut i = 0;
    while i < facts.len() {
        let cell = facts[i].0 >> 32;
        let end = i + facts[i..].partition_point(|x| x.0 >> 32 == cell);
        // Exactly the cell's studies (no regrowing of large elements).
        let n_studies = 1 + facts[i..end].windows(2).filter(|w| w[0].0 != w[1].0).count();
        let mut studies: Vec<T> = Vec::with_capacity(n_studies);
        while i < end {
            let key = facts[i].0;
            let mut acc = StudyAcc::default();
            while i < end && facts[i].0 == key {
                if let Some(ahead) = facts.get(i + PREFETCH_AHEAD) {
                    prefetch(ahead.1);
                }
                add_fact(&mut acc, facts[i].1, cfg, ages, &mut sample);
                i += 1;
            }
            sort_effects(&mut acc);
            studies.extend(study(key as u32, acc));
        }
        f(cell as u32, studies);
    }
}

/// Aggregate records into per-study accumulators, in parallel with rayon:
/// records become compact facts in chunks, cells are partitioned by a hash
/// of their key so each partition owns whole cells, and partitions are
/// folded independently. Bit-identical to [`aggregate_sequential`] (exact
/// fixed-point sums, canonical orders).
pub fn aggregate(records: &[EvaluationRecord], keys: &[GroupKey], cfg: &ScoringConfig, ref_year: i32) -> Aggregation {
    let fs = FactSet::from_records(records, keys, cfg);
    let (canon, canon_keys) = fs.canonical_cells(None);
    let ranks = fs.study_ranks();
    let ages = AgeTable::new(cfg, ref_year);
    let mut cells: Vec<(CellKey, Vec<(String, StudyAcc)>)> = (0..fact::PARTS)
        .into_par_iter()
        .flat_map_iter(|p| {
            let mut out = Vec::new();
            let named = |r: u32, a: StudyAcc| Some((fs.study_of_rank(&ranks, r).to_string(), a));
            for_each_cell(&fs, p, &canon, &ranks, cfg, &ages, named, |cell, studies| {
                out.push((canon_keys[cell as usize].clone(), studies));
            });
            out
        })
        .collect();
    cells.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Aggregation { cells }
}

/// The same aggregation on one thread, record by record, without facts'
/// chunking or partitions (reference for tests).
pub fn aggregate_sequential(
    records: &[EvaluationRecord],
    keys: &[GroupKey],
    cfg: &ScoringConfig,
    ref_year: i32,
) -> Aggregation {
    let mut map: std::collections::BTreeMap<Vec<String>, std::collections::BTreeMap<&str, StudyAcc>> =
        Default::default();
    let ages = AgeTable::new(cfg, ref_year);
    for r in records {
        let key: Vec<String> = keys.iter().map(|k| k.value(r)).collect();
        let f = fact::fact_of(r, cfg, 0, 0);
        add_fact(
            map.entry(key).or_default().entry(r.study_key()).or_default(),
            &f,
            cfg,
            &ages,
            &mut SampleMemo::default(),
        );
    }
    let cells = map
        .into_iter()
        .map(|(k, studies)| {
            let sorted = studies
                .into_iter()
                .map(|(s, mut a)| {
                    sort_effects(&mut a);
                    (s.to_string(), a)
                })
                .collect();
            (k, sorted)
        })
        .collect();
    Aggregation { cells }
}

/// Summary of the pooled effect of a cell (random-effects REML, studies
/// aggregated within study first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    pub k: usize,
    pub measure: Measure,
    pub estimate: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub pi_lower: f64,
    pub pi_upper: f64,
    pub i2: f64,
    pub tau2: f64,
}

/// One verdict per cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellResult {
    /// `(key name, value)` in group-key order.
    pub key: Vec<(String, String)>,
    pub n_records: u64,
    pub n_studies: usize,
    pub n_borrowed_studies: usize,
    pub borrowed_from: Vec<IncomeSetting>,
    /// Records per used rating (effective ... ineffective).
    pub rating_counts: [u64; 5],
    /// Records whose rating was derived from an effect size.
    pub n_derived: u64,
    pub best_design: Option<StudyDesign>,
    pub total_sample: u64,
    pub rigorous_positive: u32,
    pub rigorous_null: u32,
    pub rigorous_harmful: u32,
    pub score: f64,
    pub score_low: f64,
    pub score_high: f64,
    pub category: Rating,
    pub category_rule: String,
    pub consensus_rating: Option<Rating>,
    pub disagreement: bool,
    pub certainty: Certainty,
    pub downgrades: Vec<String>,
    pub harm_flag: bool,
    pub strategy: Option<Strategy>,
    pub pooled: Option<Pooled>,
    pub pooled_note: Option<String>,
    #[serde(skip)]
    pub studies: Vec<StudyView>,
}

impl CellResult {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.key.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Scores for a set of records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreResult {
    pub model_version: &'static str,
    pub config_hash: String,
    pub reference_year: i32,
    pub keys: Vec<GroupKey>,
    pub cells: Vec<CellResult>,
}

/// Score records per cell.
pub fn score_records(records: &[EvaluationRecord], keys: &[GroupKey], cfg: &ScoringConfig) -> ScoreResult {
    let fs = FactSet::from_records(records, keys, cfg);
    score_facts(&fs, keys, cfg, true)
}

/// Score a set of facts per cell, partitions in parallel; with
/// `keep_studies` false the cells' per-study views are dropped. Target-group
/// spellings are merged as ingest merges them for records.
pub fn score_facts(fs: &FactSet, keys: &[GroupKey], cfg: &ScoringConfig, keep_studies: bool) -> ScoreResult {
    let ref_year = if cfg.reference_year > 0 { cfg.reference_year } else { fs.max_year.unwrap_or(2000) };
    let tg_pos = keys.iter().position(|k| *k == GroupKey::TargetGroup);
    let (canon, canon_keys) = fs.canonical_cells(tg_pos);
    let ranks = fs.study_ranks();
    let ages = AgeTable::new(cfg, ref_year);
    let names: Vec<String> = keys.iter().map(|k| k.name().to_string()).collect();
    let mut cells: Vec<CellResult> = (0..fact::PARTS)
        .into_par_iter()
        .flat_map_iter(|p| {
            let mut out = Vec::new();
            // Study names are only kept for explanations (the verdict
            // does not read them).
            let view = |r: u32, acc: StudyAcc| {
                let name = if keep_studies { fs.study_of_rank(&ranks, r).to_string() } else { String::new() };
                StudyView::new(name, acc, 1.0, None)
            };
            for_each_cell(fs, p, &canon, &ranks, cfg, &ages, view, |cell, views| {
                let key = names.iter().cloned().zip(canon_keys[cell as usize].iter().cloned()).collect();
                let mut r = evaluate(key, views, cfg);
                if !keep_studies {
                    // Per-study views are for explanations; a score table
                    // does not need them (they would be most of the memory).
                    r.studies = Vec::new();
                }
                out.push(r);
            });
            out
        })
        .collect();
    cells.sort_unstable_by(|a, b| a.key.iter().map(|(_, v)| v).cmp(b.key.iter().map(|(_, v)| v)));
    ScoreResult {
        model_version: MODEL_VERSION,
        config_hash: cfg.hash(),
        reference_year: ref_year,
        keys: keys.to_vec(),
        cells,
    }
}

/// Turn a cell's studies into its verdict.
pub fn evaluate(key: Vec<(String, String)>, studies: Vec<StudyView>, cfg: &ScoringConfig) -> CellResult {
    let mut rating_counts = [0u64; 5];
    let mut strategy_counts = [0u64; 8];
    let mut consensus_w = [0i128; 5];
    let (mut n_records, mut n_derived, mut total_sample) = (0u64, 0u64, 0u64);
    let mut best_design: Option<StudyDesign> = None;
    let mut borrowed_from: Vec<IncomeSetting> = Vec::new();
    for s in &studies {
        n_records += s.acc.n_records;
        n_derived += s.acc.n_derived;
        total_sample += s.acc.max_sample;
        for i in 0..5 {
            rating_counts[i] += s.acc.rating_counts[i];
            consensus_w[i] += s.acc.consensus_w[i];
        }
        for i in 0..8 {
            strategy_counts[i] += s.acc.strategy_counts[i];
        }
        if let Some(d) = s.acc.best_design {
            best_design = Some(best_design.map_or(d, |b: StudyDesign| b.min(d)));
        }
        if let Some(b) = s.borrowed_from {
            if !borrowed_from.contains(&b) {
                borrowed_from.push(b);
            }
        }
    }
    borrowed_from.sort();
    let n_borrowed_studies = studies.iter().filter(|s| s.borrowed_from.is_some()).count();

    // Score: Beta(alpha, beta) with the prior split evenly at 0.5.
    let half = cfg.score.prior_weight / 2.0;
    let k = cfg.score.evidence_scale;
    let sw: f64 = k * studies.iter().map(|s| s.weight).sum::<f64>();
    let swv: f64 = k * studies.iter().map(|s| s.weight * s.value).sum::<f64>();
    let alpha = half + swv;
    let beta = half + (sw - swv).max(0.0);
    let score = alpha / (alpha + beta);
    let (score_low, score_high) = rules::beta_interval(alpha, beta, cfg.score.interval_level);

    let pooled_result = pool(&studies, cfg);
    let (pooled, pooled_note) = match pooled_result {
        Ok(p) => (p, None),
        Err(n) => (None, Some(n)),
    };
    let verdict = rules::category(&studies, pooled.as_ref(), cfg);
    let consensus = rules::consensus(&consensus_w);
    let (certainty, downgrades) = rules::certainty(&studies, best_design, total_sample, pooled.as_ref(), cfg);

    let strategy = {
        let (slot, n) =
            strategy_counts[..7].iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0))).unwrap_or((7, &0));
        (*n > 0).then(|| Strategy::ALL[slot])
    };
    CellResult {
        key,
        n_records,
        n_studies: studies.len(),
        n_borrowed_studies,
        borrowed_from,
        rating_counts,
        n_derived,
        best_design,
        total_sample,
        rigorous_positive: verdict.rigorous_positive,
        rigorous_null: verdict.rigorous_null,
        rigorous_harmful: verdict.rigorous_harmful,
        score,
        score_low,
        score_high,
        category: verdict.category,
        category_rule: verdict.rule,
        disagreement: consensus.is_some_and(|c| c != verdict.category),
        consensus_rating: consensus,
        certainty,
        downgrades,
        harm_flag: verdict.harm,
        strategy,
        pooled,
        pooled_note,
        studies,
    }
}

/// Pool the local (not borrowed) studies' effect sizes: aggregate within
/// study (composite, `effects.rho`), then REML with a z-test. `Ok(None)`
/// when fewer than two studies carry effects.
fn pool(studies: &[StudyView], cfg: &ScoringConfig) -> Result<Option<Pooled>, String> {
    let mut measures: Vec<Measure> = Vec::new();
    let mut cy = Vec::new();
    let mut cv = Vec::new();
    let (mut y, mut v) = (Vec::new(), Vec::new());
    for s in studies.iter().filter(|s| s.borrowed_from.is_none()) {
        if s.acc.effects.is_empty() {
            continue;
        }
        y.clear();
        v.clear();
        for e in &s.acc.effects {
            y.push(e.yi);
            v.push(e.vi);
            if !measures.contains(&e.measure) {
                measures.push(e.measure);
            }
        }
        // Studies are distinct and in order, so this is
        // `meta::aggregate_within_studies` without the grouping.
        let (a, b) = meta::extra::composite(&y, &v, cfg.effects.rho);
        cy.push(a);
        cv.push(b);
    }
    if measures.len() > 1 {
        measures.sort();
        let names: Vec<&str> = measures.iter().map(|m| m.name()).collect();
        return Err(format!("not pooled: the effect sizes mix measures ({})", names.join(", ")));
    }
    if cy.len() < 2 {
        return Ok(None);
    }
    let f = meta::fit(&cy, &cv, &FitOptions { tau2_ci: false, ..FitOptions::default() })
        .map_err(|e| format!("not pooled: {e}"))?;
    Ok(Some(Pooled {
        k: f.k,
        measure: measures[0],
        estimate: f.estimate,
        ci_lower: f.ci_lower,
        ci_upper: f.ci_upper,
        pi_lower: f.pi_lower,
        pi_upper: f.pi_upper,
        i2: f.i2,
        tau2: f.tau2,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The age table must give exactly the factor `weight_parts` computes,
    /// inside and outside its range and for unknown years.
    #[test]
    fn age_table_equals_weight_parts() {
        let mut cfg = ScoringConfig::default();
        for half_life in [10.0, 7.3] {
            cfg.age.half_life_years = half_life;
            for ref_year in [1890, 1950, 2025, 2400] {
                let t = AgeTable::new(&cfg, ref_year);
                for y in [None, Some(1800), Some(1950), Some(2000), Some(2024), Some(2025), Some(2026), Some(2600)] {
                    let direct = weight::weight_parts(None, None, None, y, &cfg, ref_year, false).age;
                    assert_eq!(t.get(y, &cfg).to_bits(), direct.to_bits(), "year {y:?}, reference {ref_year}");
                }
            }
        }
    }
}

//! The scoring core: records -> per-study accumulators (parallel, exact
//! merges) -> one verdict per cell (score with interval, UNICEF category by
//! explicit rules, consensus rating, GRADE-like certainty, pooled effect).
//! The model is documented in `docs/scoring.md`.

pub mod accum;
pub mod config;
pub mod rank;
pub mod rules;
pub mod weight;

pub use accum::{StudyAcc, StudyView};
pub use config::{ScoringConfig, DEFAULT_TOML, MODEL_VERSION};
pub use rules::Certainty;

use crate::meta::{self, FitOptions, Measure};
use crate::model::{EvaluationRecord, IncomeSetting, Rating, Strategy, StudyDesign};
use accum::{fx, rating_slot, strategy_slot, EffectPoint};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
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

/// A cell key borrowed from a record: up to 7 key values; hashing and
/// equality look at the used ones only.
#[derive(Debug, Clone, Copy)]
struct KeyRef<'a> {
    parts: [&'a str; 7],
    len: u8,
}

impl KeyRef<'_> {
    fn used(&self) -> &[&str] {
        &self.parts[..self.len as usize]
    }
}

impl PartialEq for KeyRef<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.used() == o.used()
    }
}
impl Eq for KeyRef<'_> {}
impl std::hash::Hash for KeyRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for p in self.used() {
            h.write(p.as_bytes());
            h.write_u8(0xff);
        }
    }
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

/// Per-thread state: cell index by key, and per cell its studies.
#[derive(Default)]
struct Partial<'a> {
    index: FxHashMap<KeyRef<'a>, usize>,
    cells: Vec<(KeyRef<'a>, FxHashMap<&'a str, StudyAcc>)>,
}

impl<'a> Partial<'a> {
    fn cell(&mut self, key: KeyRef<'a>) -> &mut FxHashMap<&'a str, StudyAcc> {
        let n = self.cells.len();
        let i = *self.index.entry(key).or_insert(n);
        if i == n {
            self.cells.push((key, FxHashMap::default()));
        }
        &mut self.cells[i].1
    }

    fn merge(mut self, other: Partial<'a>) -> Partial<'a> {
        let (mut big, small) =
            if self.cells.len() >= other.cells.len() { (std::mem::take(&mut self), other) } else { (other, self) };
        for (key, studies) in small.cells {
            let target = big.cell(key);
            for (s, acc) in studies {
                match target.get_mut(s) {
                    Some(t) => t.merge(acc),
                    None => {
                        target.insert(s, acc);
                    }
                }
            }
        }
        big
    }
}

fn add_record<'a>(
    part: &mut Partial<'a>,
    idx: usize,
    r: &'a EvaluationRecord,
    keys: &[GroupKey],
    cfg: &ScoringConfig,
    ref_year: i32,
) {
    let mut cell = KeyRef { parts: [""; 7], len: keys.len() as u8 };
    for (i, k) in keys.iter().enumerate() {
        cell.parts[i] = k.value_ref(r);
    }
    let acc = part.cell(cell).entry(r.study_key()).or_default();
    acc.n_records += 1;
    acc.take_design(r.design, r.risk_of_bias);
    acc.max_sample = acc.max_sample.max(r.sample_size.unwrap_or(0));
    acc.strategy_counts[strategy_slot(r.strategy)] += 1;
    if r.effect().is_usable() {
        if let Ok(e) = meta::compute_effect(r.effect(), None) {
            acc.effects.push(EffectPoint { index: idx as u32, yi: e.yi, vi: e.vi, measure: e.measure });
        }
    }
    match weight::used_rating(r, cfg) {
        Some(u) => {
            let w = weight::record_weight(r, cfg, ref_year, u.derived).total;
            let v = if u.harm { cfg.rating_value.ineffective } else { cfg.rating_value.of(u.rating) };
            acc.sum_w += fx(w);
            acc.sum_wv += fx(w * v);
            acc.rating_counts[rating_slot(u.rating)] += 1;
            acc.harm |= u.harm;
            if u.derived {
                acc.n_derived += 1;
            } else {
                acc.consensus_w[rating_slot(u.rating)] += fx(w);
            }
        }
        None => acc.n_unscored += 1,
    }
}

fn into_cells(part: Partial<'_>, records: &[EvaluationRecord]) -> Aggregation {
    let mut cells: Vec<(CellKey, Vec<(String, StudyAcc)>)> = part
        .cells
        .into_par_iter()
        .map(|(cell, studies)| {
            let mut studies: Vec<(&str, StudyAcc)> = studies.into_iter().collect();
            studies.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let studies = studies
                .into_iter()
                .map(|(s, mut acc)| {
                    // Effects in a canonical order: pooled numbers do not depend on input order.
                    acc.effects
                        .sort_by(|a, b| records[a.index as usize].record_id.cmp(&records[b.index as usize].record_id));
                    (s.to_string(), acc)
                })
                .collect();
            let key: CellKey = cell.used().iter().map(|s| s.to_string()).collect();
            (key, studies)
        })
        .collect();
    cells.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Aggregation { cells }
}

/// Aggregate records into per-study accumulators, in parallel with rayon.
/// Cells are partitioned across threads by a hash of their key, so each
/// thread owns whole cells and the per-thread results are disjoint (no merge
/// of big maps); small inputs use chunks merged with [`StudyAcc::merge`].
/// Either way the result is bit-identical to [`aggregate_sequential`].
pub fn aggregate(records: &[EvaluationRecord], keys: &[GroupKey], cfg: &ScoringConfig, ref_year: i32) -> Aggregation {
    use std::hash::{BuildHasher, Hash, Hasher};
    assert!(keys.len() <= 7, "at most 7 group keys");
    let threads = rayon::current_num_threads().max(1);
    if threads == 1 || records.len() < 20_000 {
        let chunk = records.len().div_ceil(2 * threads).max(4096);
        let part = records
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, rs)| {
                let mut m = Partial::default();
                for (j, r) in rs.iter().enumerate() {
                    add_record(&mut m, c * chunk + j, r, keys, cfg, ref_year);
                }
                m
            })
            .reduce(Partial::default, Partial::merge);
        return into_cells(part, records);
    }
    let build = rustc_hash::FxBuildHasher;
    let owner: Vec<u32> = records
        .par_iter()
        .map(|r| {
            let mut cell = KeyRef { parts: [""; 7], len: keys.len() as u8 };
            for (i, k) in keys.iter().enumerate() {
                cell.parts[i] = k.value_ref(r);
            }
            let mut h = build.build_hasher();
            cell.hash(&mut h);
            (h.finish() % threads as u64) as u32
        })
        .collect();
    let parts: Vec<Partial> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let mut m = Partial::default();
            for (i, r) in records.iter().enumerate() {
                if owner[i] as usize == t {
                    add_record(&mut m, i, r, keys, cfg, ref_year);
                }
            }
            m
        })
        .collect();
    let mut all = Partial::default();
    for p in parts {
        // Disjoint cells: concatenation is the merge.
        all.cells.extend(p.cells);
    }
    into_cells(all, records)
}

/// The same aggregation on one thread, record by record (reference for tests).
pub fn aggregate_sequential(
    records: &[EvaluationRecord],
    keys: &[GroupKey],
    cfg: &ScoringConfig,
    ref_year: i32,
) -> Aggregation {
    let mut part = Partial::default();
    for (i, r) in records.iter().enumerate() {
        add_record(&mut part, i, r, keys, cfg, ref_year);
    }
    into_cells(part, records)
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
    let ref_year = reference_year(records, cfg);
    let agg = aggregate(records, keys, cfg, ref_year);
    let results = agg
        .cells
        .into_par_iter()
        .map(|(key, studies)| {
            let views: Vec<StudyView> =
                studies.into_iter().filter_map(|(s, acc)| StudyView::new(s, acc, 1.0, None)).collect();
            let named = keys.iter().map(|k| k.name().to_string()).zip(key).collect();
            evaluate(named, views, cfg)
        })
        .collect();
    ScoreResult {
        model_version: MODEL_VERSION,
        config_hash: cfg.hash(),
        reference_year: ref_year,
        keys: keys.to_vec(),
        cells: results,
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
    let mut labels = Vec::new();
    let mut y = Vec::new();
    let mut v = Vec::new();
    let mut measures: Vec<Measure> = Vec::new();
    for s in studies.iter().filter(|s| s.borrowed_from.is_none()) {
        for e in &s.acc.effects {
            labels.push(s.study.clone());
            y.push(e.yi);
            v.push(e.vi);
            if !measures.contains(&e.measure) {
                measures.push(e.measure);
            }
        }
    }
    if measures.len() > 1 {
        measures.sort();
        let names: Vec<&str> = measures.iter().map(|m| m.name()).collect();
        return Err(format!("not pooled: the effect sizes mix measures ({})", names.join(", ")));
    }
    let comps = meta::aggregate_within_studies(&labels, &y, &v, cfg.effects.rho);
    if comps.len() < 2 {
        return Ok(None);
    }
    let cy: Vec<f64> = comps.iter().map(|c| c.yi).collect();
    let cv: Vec<f64> = comps.iter().map(|c| c.vi).collect();
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

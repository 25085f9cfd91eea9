//! The scoring core (model `evidex-score-3.0`, docs/scoring.md): records
//! become compact facts ([`fact`]); each cell's facts become studies with
//! their evidence per outcome domain ([`study`]); each domain's evidence is
//! analysed once: eligibility, the synthesis of controlled studies, harm
//! ([`evidence`], [`synthesis`]); explicit rules give a verdict per domain
//! with its GRADE certainty ([`verdict`], [`certainty`]), the headline
//! domain and the cell's verdict, local first with borrowing; [`cell`]
//! assembles the result with its score, and [`robust`] says how close the
//! verdict is to another. Nothing here words results for people; `report`
//! does.

pub mod cell;
pub mod certainty;
pub mod config;
pub mod evidence;
pub mod fact;
pub mod rank;
pub mod robust;
pub mod stream;
pub mod study;
pub mod synthesis;
pub mod verdict;
pub mod weight;

pub use cell::{CellResult, DomainResult, Pooled};
pub use certainty::{Certainty, Downgrade};
pub use config::{ScoringConfig, DEFAULT_TOML, MODEL_VERSION};
pub use evidence::{HarmReason, HarmSignal};
pub use study::{Appraisal, Standing, StudyDomain, StudyView};
pub use synthesis::{PoolNote, Synthesis};
pub use verdict::{Basis, Rule};

use crate::model::{EvaluationRecord, IncomeSetting};
use fact::{Canon, KeyPositions};
pub use fact::{Fact, FactSet};
use rayon::prelude::*;
use serde::Serialize;
use weight::WeightModel;

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

/// The cells of one partition, one sibling group at a time: facts are
/// sorted by (canonical cell, canonical study rank), so a study's facts
/// are one run (a study spread over chunks has several ids but one rank)
/// and become one [`StudyView`]; cells that differ only in the income
/// setting have consecutive canonical ids and are handed to `f` together,
/// each with its studies in name order. Only one group's studies exist at a
/// time.
fn for_each_group(
    fs: &FactSet,
    p: usize,
    canon: &Canon,
    ranks: &fact::StudyRanks,
    cfg: &ScoringConfig,
    weights: &WeightModel,
    mut f: impl FnMut(Vec<(u32, Vec<StudyView>)>),
) {
    // Sorted by one integer key (canonical cell, study rank) held next to
    // the fact's address: no indirection while sorting.
    let mut facts: Vec<(u64, &Fact)> = fs
        .partition(p)
        .map(|(cell, study, x)| {
            ((u64::from(canon.of_cell[cell as usize]) << 32) | u64::from(ranks.rank[study as usize]), x)
        })
        .collect();
    facts.sort_unstable_by_key(|x| x.0);
    let mut group: Vec<(u32, Vec<StudyView>)> = Vec::new();
    let mut run: Vec<&Fact> = Vec::new();
    let mut i = 0;
    while i < facts.len() {
        let cell = (facts[i].0 >> 32) as u32;
        if group.last().is_some_and(|(c, _)| canon.group[*c as usize] != canon.group[cell as usize]) {
            f(std::mem::take(&mut group));
        }
        let end = i + facts[i..].partition_point(|x| (x.0 >> 32) as u32 == cell);
        let mut studies = Vec::new();
        while i < end {
            let key = facts[i].0;
            run.clear();
            while i < end && facts[i].0 == key {
                if let Some(ahead) = facts.get(i + PREFETCH_AHEAD) {
                    prefetch(ahead.1);
                }
                run.push(facts[i].1);
                i += 1;
            }
            let name = fs.study_of_rank(ranks, key as u32).to_string();
            studies.extend(study::study_of_facts(name, &run, cfg, weights));
        }
        group.push((cell, studies));
    }
    if !group.is_empty() {
        f(group);
    }
}

/// Studies per cell, cells sorted by key (tests compare the parallel and
/// the sequential paths with it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregation {
    pub cells: Vec<(CellKey, Vec<StudyView>)>,
}

/// Records to studies per cell, in parallel: records become compact facts
/// in chunks, cells are partitioned by a hash of their key so each
/// partition owns whole cells, and partitions are folded independently.
/// Equal to [`aggregate_sequential`] (canonical orders everywhere).
pub fn aggregate(records: &[EvaluationRecord], keys: &[GroupKey], cfg: &ScoringConfig, ref_year: i32) -> Aggregation {
    let fs = FactSet::from_records(records, keys, cfg);
    let canon = fs.canonical_cells(KeyPositions::of(keys));
    let ranks = fs.study_ranks();
    let weights = WeightModel::new(cfg, ref_year);
    let mut cells: Vec<(CellKey, Vec<StudyView>)> = (0..fact::PARTS)
        .into_par_iter()
        .flat_map_iter(|p| {
            let mut out = Vec::new();
            for_each_group(&fs, p, &canon, &ranks, cfg, &weights, |group| {
                out.extend(group.into_iter().map(|(c, s)| (canon.keys[c as usize].clone(), s)));
            });
            out
        })
        .collect();
    cells.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Aggregation { cells }
}

/// The same on one thread, record by record, without facts' chunking or
/// partitions (reference for tests).
pub fn aggregate_sequential(
    records: &[EvaluationRecord],
    keys: &[GroupKey],
    cfg: &ScoringConfig,
    ref_year: i32,
) -> Aggregation {
    use std::collections::BTreeMap;
    let mut map: BTreeMap<Vec<String>, BTreeMap<&str, Vec<Fact>>> = BTreeMap::new();
    for r in records {
        let key: Vec<String> = keys.iter().map(|k| k.value(r)).collect();
        map.entry(key).or_default().entry(r.study_key()).or_default().push(fact::fact_of(r, cfg, 0, 0));
    }
    let weights = WeightModel::new(cfg, ref_year);
    let cells = map
        .into_iter()
        .map(|(k, studies)| {
            let views = studies
                .into_iter()
                .filter_map(|(s, fs)| {
                    let refs: Vec<&Fact> = fs.iter().collect();
                    study::study_of_facts(s.to_string(), &refs, cfg, &weights)
                })
                .collect();
            (k, views)
        })
        .collect();
    Aggregation { cells }
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

/// How to score.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScoreOptions {
    /// Keep each cell's studies (for explanations).
    pub keep_studies: bool,
    /// Also give a verdict, from borrowed evidence, to the cells these
    /// income settings lack (for `rank`, the gap map and the portal).
    pub fill: Fill,
    /// The reference year (default: from the configuration or the facts).
    pub reference_year: Option<i32>,
}

/// Which income settings get a cell from borrowed evidence where a sibling
/// group (cells differing only in the setting) has no local study there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fill {
    /// Only cells with local studies (`score`).
    #[default]
    None,
    /// This setting too (`rank`, a one-setting gap map).
    One(IncomeSetting),
    /// Every setting (the portal: every `rank` from one pass).
    All,
}

impl Fill {
    /// The settings to fill, in income order.
    pub fn settings(self) -> &'static [IncomeSetting] {
        static ALL: [IncomeSetting; 4] = IncomeSetting::ALL;
        match self {
            Fill::None => &[],
            Fill::One(s) => &ALL[s.index()..=s.index()],
            Fill::All => &ALL,
        }
    }
}

/// Score records per cell.
pub fn score_records(records: &[EvaluationRecord], keys: &[GroupKey], cfg: &ScoringConfig) -> ScoreResult {
    let fs = FactSet::from_records(records, keys, cfg);
    score_facts_with(&fs, keys, cfg, &ScoreOptions { keep_studies: true, ..ScoreOptions::default() })
}

/// Score a set of facts per cell, partitions in parallel; with
/// `keep_studies` false the cells' studies are dropped.
pub fn score_facts(fs: &FactSet, keys: &[GroupKey], cfg: &ScoringConfig, keep_studies: bool) -> ScoreResult {
    score_facts_with(fs, keys, cfg, &ScoreOptions { keep_studies, ..ScoreOptions::default() })
}

/// [`score_facts`] with all options.
pub fn score_facts_with(fs: &FactSet, keys: &[GroupKey], cfg: &ScoringConfig, opts: &ScoreOptions) -> ScoreResult {
    let ref_year = opts.reference_year.unwrap_or(if cfg.reference_year > 0 {
        cfg.reference_year
    } else {
        fs.max_year.unwrap_or(2000)
    });
    let positions = KeyPositions::of(keys);
    let canon = fs.canonical_cells(positions);
    let ranks = fs.study_ranks();
    let weights = WeightModel::new(cfg, ref_year);
    let draws = robust::Draws::new(cfg);
    let run = cell::Run {
        cfg,
        reference_year: ref_year,
        settings: verdict::Settings::of(cfg),
        draws: &draws,
        keep_studies: opts.keep_studies,
    };
    let names: Vec<String> = keys.iter().map(|k| k.name().to_string()).collect();
    let mut cells: Vec<CellResult> = (0..fact::PARTS)
        .into_par_iter()
        .flat_map_iter(|p| {
            let mut out = Vec::new();
            for_each_group(fs, p, &canon, &ranks, cfg, &weights, |group| {
                out.extend(evaluate_group(&group, &canon, positions, &names, &run, opts.fill));
            });
            out
        })
        .collect();
    cells.sort_unstable_by(|a, b| {
        let key = |c: &CellResult| -> (Vec<String>, u8) {
            let mut k: Vec<String> = c.key.iter().map(|(_, v)| v.clone()).collect();
            let income = positions.income_setting.map_or(0, |pos| {
                let v = k.remove(pos);
                IncomeSetting::parse(&v).map_or(9, |s| s.index() as u8)
            });
            (k, income)
        };
        key(a).cmp(&key(b))
    });
    ScoreResult {
        model_version: MODEL_VERSION,
        config_hash: cfg.hash(),
        reference_year: ref_year,
        keys: keys.to_vec(),
        cells,
    }
}

/// Evaluate a sibling group (cells that differ only in the income setting):
/// each cell with its local studies and, where borrowing applies, the
/// others' studies with their transfer factor; plus, with `fill`, a cell
/// for that income setting when the group lacks it.
fn evaluate_group(
    group: &[(u32, Vec<StudyView>)],
    canon: &Canon,
    positions: KeyPositions,
    names: &[String],
    run: &cell::Run<'_>,
    fill: Fill,
) -> Vec<CellResult> {
    let income_of =
        |cell: u32| positions.income_setting.and_then(|pos| IncomeSetting::parse(&canon.keys[cell as usize][pos]).ok());
    let borrowable = |target: Option<IncomeSetting>, skip: Option<u32>| -> Vec<(&StudyView, IncomeSetting, f64)> {
        let Some(to) = target else {
            return Vec::new();
        };
        group
            .iter()
            .filter(|(c, _)| Some(*c) != skip)
            .filter_map(|(c, studies)| income_of(*c).map(|from| (from, studies)))
            .filter(|(from, _)| *from != to)
            .flat_map(|(from, studies)| {
                let f = run.cfg.borrowing.factor(from, to);
                studies.iter().filter(move |_| f > 0.0).map(move |s| (s, from, f))
            })
            .collect()
    };
    let mut out = Vec::new();
    for (cell, studies) in group {
        let target = income_of(*cell);
        let key = names.iter().cloned().zip(canon.keys[*cell as usize].iter().cloned()).collect();
        let local: Vec<&StudyView> = studies.iter().collect();
        out.extend(cell::evaluate(key, &local, borrowable(target, Some(*cell)), run));
    }
    if let (Some(pos), Some((first, _))) = (positions.income_setting, group.first()) {
        for &want in fill.settings() {
            if !group.iter().any(|(c, _)| income_of(*c) == Some(want)) {
                let mut values = canon.keys[*first as usize].clone();
                values[pos] = want.key().to_string();
                let key = names.iter().cloned().zip(values).collect();
                out.extend(cell::evaluate(key, &[], borrowable(Some(want), None), run));
            }
        }
    }
    out
}

//! Compact per-record facts: everything the scoring model reads from a
//! record, in 40 bytes (size checked by a test), with the cell, study and intervention as ids into
//! shared string tables. Records are turned into facts chunk by chunk (in
//! parallel, each chunk with its own small tables) and the chunks are
//! absorbed into one [`FactSet`] in input order, so the streaming `score`
//! path never keeps [`EvaluationRecord`]s. Facts are stored in
//! [`PARTS`] partitions by a hash of the cell key, so a partition holds whole
//! cells and partitions are scored independently in parallel.

use super::config::DirectionDefault;
use super::{GroupKey, ScoringConfig};
use crate::ingest::quality::RowCounts;
use crate::ingest::row::RowView;
use crate::meta::{compute_effect, Measure};
use crate::model::{Assignment, Direction, EvaluationRecord, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign};

use rustc_hash::{FxHashMap, FxHasher};
use std::collections::BTreeSet;
use std::hash::Hasher;

/// Number of cell partitions (any value gives the same results).
pub const PARTS: usize = 64;

const YEAR_NONE: i16 = i16::MIN;
const EMPTY: Fact = Fact {
    yi: 0.0,
    vi: 0.0,
    sample: 0,
    cell: 0,
    study: 0,
    year: YEAR_NONE,
    design: None,
    rob: None,
    rating: None,
    strategy: None,
    measure: None,
    flags: 0,
};
const F_HARM: u8 = 1;
/// The effect's direction was given, not assumed (docs/scoring.md
/// section 2).
const F_DIR_KNOWN: u8 = 2;
/// The effect was turned from lower-is-better (`yi` is already signed so
/// that positive means benefit).
const F_LOWER: u8 = 4;
/// Bits 3-4: the outcome domain.
const DOMAIN_SHIFT: u8 = 3;
/// Bits 5-6: primary flag (0 not said, 1 primary, 2 secondary).
const PRIMARY_SHIFT: u8 = 5;
/// A cluster-assigned study's effect whose SE could not be corrected for
/// clustering.
const F_CLUSTER: u8 = 128;
/// `sample` when the sample size is unknown.
const SAMPLE_NONE: u64 = u64::MAX;

/// What the model reads from one accepted record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fact {
    /// Effect size, signed so that positive means benefit, and its
    /// sampling variance (meaningful when `measure` is set).
    pub yi: f64,
    pub vi: f64,
    sample: u64,
    /// Cell id (local to a chunk until absorbed).
    pub cell: u32,
    /// Study id (index into the study table).
    pub study: u32,
    year: i16,
    pub design: Option<StudyDesign>,
    pub rob: Option<RiskOfBias>,
    /// The reviewer's rating; `None`: judged from the effect size (or not
    /// scored when the effect does not compute).
    pub rating: Option<Rating>,
    pub strategy: Option<Strategy>,
    pub measure: Option<Measure>,
    flags: u8,
}

impl Fact {
    pub fn year(&self) -> Option<i32> {
        (self.year != YEAR_NONE).then_some(i32::from(self.year))
    }
    pub fn sample_size(&self) -> Option<u64> {
        (self.sample != SAMPLE_NONE).then_some(self.sample)
    }
    /// The effect's direction was given (not assumed).
    pub fn direction_known(&self) -> bool {
        self.flags & F_DIR_KNOWN != 0
    }
    /// A cluster-assigned study's effect with an SE not corrected for
    /// clustering.
    pub fn cluster_uncorrected(&self) -> bool {
        self.flags & F_CLUSTER != 0
    }
    /// A reviewer's harmful label.
    pub fn harm(&self) -> bool {
        self.flags & F_HARM != 0
    }
    /// The effect was reported lower-is-better (and has been turned).
    pub fn lower_is_better(&self) -> bool {
        self.flags & F_LOWER != 0
    }
    pub fn domain(&self) -> OutcomeDomain {
        OutcomeDomain::ALL[usize::from((self.flags >> DOMAIN_SHIFT) & 3)]
    }
    /// `Some(true)` primary, `Some(false)` secondary, `None` not said.
    pub fn primary(&self) -> Option<bool> {
        match (self.flags >> PRIMARY_SHIFT) & 3 {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }
}

const KEY_SEP: char = '\u{1f}';
const KEY_ESC: char = '\u{1b}';

/// Append one key value and a separator; separator and escape characters
/// inside the value are escaped, so joined keys are unambiguous.
fn push_key_part(buf: &mut String, p: &str) {
    // Both characters are ASCII, so a byte search finds them.
    if memchr::memchr2(KEY_SEP as u8, KEY_ESC as u8, p.as_bytes()).is_some() {
        for c in p.chars() {
            if c == KEY_SEP || c == KEY_ESC {
                buf.push(KEY_ESC);
            }
            buf.push(c);
        }
    } else {
        buf.push_str(p);
    }
    buf.push(KEY_SEP);
}

/// The values of a key joined by [`push_key_part`].
fn split_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            KEY_ESC => cur.extend(chars.next()),
            KEY_SEP => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out
}

/// Strings stored back to back; id `i` is `text[ends[i-1]..ends[i]]`.
#[derive(Debug, Clone, Default)]
pub struct StringTable {
    text: String,
    ends: Vec<u64>,
}

impl StringTable {
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let a = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[a..self.ends[i] as usize]
    }
    fn push(&mut self, s: &str) -> u32 {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u64);
        (self.ends.len() - 1) as u32
    }
}

/// Canonical study ranks of a [`FactSet`] ([`FactSet::study_ranks`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRanks {
    /// Rank per study id.
    pub rank: Vec<u32>,
    /// A study id per rank.
    first: Vec<u32>,
}

/// The 8 bytes of `s` from `at`, big-endian, zero-padded: for strings that
/// agree before `at`, different words order the strings as their bytes do
/// (a string that ends first is padded with zeros, and is the smaller).
fn word_at(s: &[u8], at: usize) -> u64 {
    let tail = s.get(at..).unwrap_or_default();
    let n = tail.len().min(8);
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&tail[..n]);
    u64::from_be_bytes(b)
}

/// Facts of one chunk with chunk-local ids.
#[derive(Debug, Default)]
pub struct LocalFacts {
    /// Facts grouped by partition (exact capacity); partition `p` is
    /// `facts[offsets[p]..offsets[p + 1]]`.
    facts: Vec<Fact>,
    offsets: Vec<u32>,
    /// Joined key ([`push_key_part`]) and partition per local cell.
    cells: Vec<(String, u8)>,
    studies: StringTable,
    tg_pairs: BTreeSet<(String, String)>,
    /// Rows per (intervention matching key, spelling).
    int_spellings: FxHashMap<(String, String), u64>,
    counts: RowCounts,
    max_year: Option<i32>,
    n: u64,
}

/// The model's inputs of one accepted row, borrowed from wherever they
/// were read (a record, or the cells of a row on the streaming fast path).
#[derive(Debug, Clone, Copy)]
pub struct FactInput<'r> {
    /// Group-key values in the order of the keys.
    pub key: [&'r str; 7],
    pub tg_key: &'r str,
    pub tg_display: &'r str,
    /// The intervention's matching key ([`super::intervention_key`]) and
    /// spelling (counted, so the most frequent spelling is shown).
    pub int_key: &'r str,
    pub int_display: &'r str,
    pub study: &'r str,
    pub year: Option<i32>,
    pub sample_size: Option<u64>,
    pub design: Option<StudyDesign>,
    pub rob: Option<RiskOfBias>,
    pub strategy: Option<Strategy>,
    /// The reviewer's rating and harmful label.
    pub rating: Option<Rating>,
    pub harm: bool,
    pub domain: OutcomeDomain,
    /// The domain was inferred from the outcome text.
    pub domain_inferred: bool,
    /// The row gave a study id (else `study` is its record id).
    pub has_study_id: bool,
    pub primary: Option<bool>,
    /// `(yi, vi, measure)` when the row's effect inputs compute, as reported
    /// (not yet turned to the benefit direction).
    pub effect: Option<(f64, f64, Measure)>,
    /// The row's own direction (`None`: the configuration decides).
    pub direction: Option<Direction>,
    /// Unit of assignment (`None`: not said).
    pub assignment: Option<Assignment>,
    /// Total number of clusters assigned (`None`: not said).
    pub clusters: Option<u32>,
}

impl<'r> FactInput<'r> {
    pub fn of_record(r: &'r EvaluationRecord, keys: &[GroupKey], int_key: &'r str) -> FactInput<'r> {
        let mut key = [""; 7];
        for (i, k) in keys.iter().enumerate() {
            key[i] = if *k == GroupKey::Intervention { int_key } else { k.value_ref(r) };
        }
        let effect = if r.effect().is_usable() { compute_effect(r.effect(), None).ok() } else { None };
        FactInput {
            key,
            tg_key: r.target_group.key(),
            tg_display: r.target_group.display(),
            int_key,
            int_display: &r.intervention,
            study: r.study_key(),
            year: r.year,
            sample_size: r.sample_size,
            design: r.design,
            rob: r.risk_of_bias,
            strategy: r.strategy,
            rating: r.rating,
            harm: r.harm,
            domain: r.outcome_domain,
            domain_inferred: r.domain_inferred,
            has_study_id: r.study_id.is_some(),
            primary: r.primary,
            effect: effect.map(|e| (e.yi, e.vi, e.measure)),
            direction: r.direction,
            assignment: r.assignment,
            clusters: r.clusters,
        }
    }
}

impl<'v> FactInput<'v> {
    /// The inputs of a row read by the one row reader.
    pub fn of_view(v: &'v RowView<'v>, keys: &[GroupKey], int_key: &'v str) -> FactInput<'v> {
        const NONE: &str = "(none)";
        let mut key = [""; 7];
        for (i, k) in keys.iter().enumerate() {
            key[i] = match k {
                GroupKey::Intervention => int_key,
                GroupKey::TargetGroup => v.target_group.display(),
                GroupKey::IncomeSetting => v.income_setting.key(),
                GroupKey::Strategy => v.strategy.map_or(NONE, |s| s.key()),
                GroupKey::Design => v.design.map_or(NONE, |s| s.key()),
                GroupKey::Country => v.country.as_ref().map_or(NONE, |c| c.as_str()),
                GroupKey::Outcome => v.outcome.as_deref().unwrap_or(NONE),
            };
        }
        let effect = if v.effect.is_usable() { compute_effect(&v.effect, None).ok() } else { None };
        FactInput {
            key,
            tg_key: v.target_group.key(),
            tg_display: v.target_group.display(),
            int_key,
            int_display: &v.intervention,
            study: v.study_id.as_deref().unwrap_or(&v.record_id),
            year: v.year,
            sample_size: v.sample_size,
            design: v.design,
            rob: v.risk_of_bias,
            strategy: v.strategy,
            rating: v.rating,
            harm: v.harm,
            domain: v.outcome_domain,
            domain_inferred: v.domain_inferred,
            has_study_id: v.study_id.is_some(),
            primary: v.primary,
            effect: effect.map(|e| (e.yi, e.vi, e.measure)),
            direction: v.direction,
            assignment: v.assignment,
            clusters: v.clusters,
        }
    }
}

/// Builds the facts of one chunk (owned string tables, looked up by `&str`).
pub struct FactBuilder<'k> {
    keys: &'k [GroupKey],
    cfg: &'k ScoringConfig,
    cell_ids: FxHashMap<String, u32>,
    /// Study id by a 64-bit hash of its name (the name is checked against
    /// the table; names whose hash is taken by another name go to
    /// `study_collisions`), so no string is allocated per study.
    study_ids: FxHashMap<u64, u32>,
    study_collisions: FxHashMap<String, u32>,
    /// The hash of a study name (replaced in a test to force collisions).
    hash_study: fn(&str) -> u64,
    tg: FxHashMap<String, ()>,
    buf: String,
    /// The previous row's key values (valid when `last_cell` is set).
    last_parts: Vec<String>,
    last_cell: Option<u32>,
    last_study: Option<u32>,
    /// The previous row's target group (normalised key, display).
    last_tg: (String, String),
    /// The previous row's intervention (matching key, spelling) and its
    /// count so far (flushed into `out.int_spellings` when it changes).
    last_int: (String, String, u64),
    /// Facts in row order with their partition, sorted into `out` at the end.
    scratch: Vec<(u8, Fact)>,
    out: LocalFacts,
}

impl<'k> FactBuilder<'k> {
    pub fn new(keys: &'k [GroupKey], cfg: &'k ScoringConfig) -> FactBuilder<'k> {
        assert!(keys.len() <= 7, "at most 7 group keys");
        FactBuilder {
            keys,
            cfg,
            cell_ids: FxHashMap::default(),
            study_ids: FxHashMap::default(),
            study_collisions: FxHashMap::default(),
            hash_study: |s| xxhash_rust::xxh3::xxh3_64(s.as_bytes()),
            tg: FxHashMap::default(),
            buf: String::new(),
            last_parts: Vec::new(),
            last_cell: None,
            last_study: None,
            last_tg: (String::new(), String::new()),
            last_int: (String::new(), String::new(), 0),
            scratch: SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut())),
            out: LocalFacts::default(),
        }
    }

    /// Room for `rows` facts (avoids regrowing while a chunk is read).
    pub fn reserve(&mut self, rows: usize) {
        self.scratch.reserve(rows);
    }

    pub fn keys(&self) -> &'k [GroupKey] {
        self.keys
    }

    pub fn push(&mut self, r: &EvaluationRecord) {
        let key = crate::model::intervention_key(&r.intervention);
        let x = FactInput::of_record(r, self.keys, &key);
        self.push_input(&x);
    }

    /// Count one more row of the previous intervention spelling, or start
    /// counting a new one.
    fn count_spelling(&mut self, key: &str, display: &str) {
        if self.last_int.2 > 0 && self.last_int.0 == key && self.last_int.1 == display {
            self.last_int.2 += 1;
            return;
        }
        self.flush_spelling();
        self.last_int.0.clear();
        self.last_int.0.push_str(key);
        self.last_int.1.clear();
        self.last_int.1.push_str(display);
        self.last_int.2 = 1;
    }

    fn flush_spelling(&mut self) {
        if self.last_int.2 > 0 {
            let (k, d, n) = &self.last_int;
            *self.out.int_spellings.entry((k.clone(), d.clone())).or_insert(0) += n;
            self.last_int.2 = 0;
        }
    }

    pub fn push_input(&mut self, x: &FactInput<'_>) {
        let used = &x.key[..self.keys.len()];
        // Consecutive rows often share cell, study and intervention: the
        // previous row's key values and ids are checked before the maps
        // (the key values in place, before they are joined).
        let cell = match self.last_cell {
            Some(c) if used.iter().zip(&self.last_parts).all(|(a, b)| *a == b) => c,
            _ => {
                self.buf.clear();
                for p in used {
                    push_key_part(&mut self.buf, p);
                }
                let c = match self.cell_ids.get(self.buf.as_str()) {
                    Some(&c) => c,
                    None => {
                        let c = self.out.cells.len() as u32;
                        self.cell_ids.insert(self.buf.clone(), c);
                        self.out.cells.push((self.buf.clone(), self.partition(x)));
                        c
                    }
                };
                self.last_parts.resize(used.len(), String::new());
                for (last, p) in self.last_parts.iter_mut().zip(used) {
                    last.clear();
                    last.push_str(p);
                }
                self.last_cell = Some(c);
                c
            }
        };
        let part = self.out.cells[cell as usize].1;
        let study = match self.last_study {
            Some(s) if self.out.studies.get(s) == x.study => s,
            _ => {
                let s = self.study_id(x.study);
                self.last_study = Some(s);
                s
            }
        };
        // The previous row's target group is compared in place before the
        // pair is joined and looked up.
        if self.last_tg.0 != x.tg_key || self.last_tg.1 != x.tg_display {
            self.buf.clear();
            self.buf.push_str(x.tg_key);
            self.buf.push('\u{1f}');
            self.buf.push_str(x.tg_display);
            if !self.tg.contains_key(self.buf.as_str()) {
                self.tg.insert(self.buf.clone(), ());
                self.out.tg_pairs.insert((x.tg_key.to_string(), x.tg_display.to_string()));
            }
            self.last_tg.0.clear();
            self.last_tg.0.push_str(x.tg_key);
            self.last_tg.1.clear();
            self.last_tg.1.push_str(x.tg_display);
        }
        if let Some(y) = x.year {
            self.out.max_year = Some(self.out.max_year.map_or(y, |m| m.max(y)));
        }
        self.count_spelling(x.int_key, x.int_display);
        let default_direction = x.effect.is_some() && x.direction.is_none();
        self.out.counts.add(x.domain, x.domain_inferred, x.has_study_id, x.rob.is_some(), default_direction);
        let f = make_fact(x, cell, study, self.cfg);
        self.scratch.push((part, f));
        self.out.n += 1;
    }

    /// The chunk-local id of a study name (a new id for a new name).
    fn study_id(&mut self, name: &str) -> u32 {
        let h = (self.hash_study)(name);
        match self.study_ids.get(&h) {
            Some(&s) if self.out.studies.get(s) == name => s,
            Some(_) => match self.study_collisions.get(name) {
                Some(&s) => s,
                None => {
                    let s = self.out.studies.push(name);
                    self.study_collisions.insert(name.to_string(), s);
                    s
                }
            },
            None => {
                let s = self.out.studies.push(name);
                self.study_ids.insert(h, s);
                s
            }
        }
    }

    /// Partition of a cell: a hash of its key values but the income
    /// setting, with the target group taken by its normalised key so that
    /// all spellings of one group (merged after ingest) fall in the same
    /// partition.
    fn partition(&self, x: &FactInput<'_>) -> u8 {
        let mut h = FxHasher::default();
        for (k, v) in self.keys.iter().zip(x.key) {
            if *k == GroupKey::IncomeSetting {
                // Cells that differ only in the income setting share a
                // partition: they borrow from one another.
                continue;
            }
            let v = if *k == GroupKey::TargetGroup { x.tg_key } else { v };
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        (h.finish() % PARTS as u64) as u8
    }

    /// The chunk's facts grouped by partition (a stable counting sort into
    /// one vector of exactly the needed size: no spare capacity is kept).
    pub fn finish(mut self) -> LocalFacts {
        self.flush_spelling();
        let mut offsets = vec![0u32; PARTS + 1];
        for (p, _) in &self.scratch {
            offsets[*p as usize + 1] += 1;
        }
        for p in 0..PARTS {
            offsets[p + 1] += offsets[p];
        }
        let mut at: Vec<usize> = offsets[..PARTS].iter().map(|o| *o as usize).collect();
        let mut facts = Vec::with_capacity(self.scratch.len());
        // Scatter: fill with a placeholder, then place each fact.
        facts.resize(self.scratch.len(), self.scratch.first().map_or(EMPTY, |x| x.1));
        for (p, f) in &self.scratch {
            facts[at[*p as usize]] = *f;
            at[*p as usize] += 1;
        }
        self.out.facts = facts;
        self.out.offsets = offsets;
        // The scratch space goes back to this thread for its next chunk
        // (memory freed and allocated again per chunk is faulted in and
        // zeroed by the kernel each time).
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        SCRATCH.with(|s| *s.borrow_mut() = scratch);
        self.out
    }
}

thread_local! {
    /// A thread's [`FactBuilder`] scratch space, reused across chunks.
    static SCRATCH: std::cell::RefCell<Vec<(u8, Fact)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The model's view of one record with the given ids (sequential reference
/// path of the tests).
pub(crate) fn fact_of(r: &EvaluationRecord, cfg: &ScoringConfig, cell: u32, study: u32) -> Fact {
    let key = crate::model::intervention_key(&r.intervention);
    make_fact(&FactInput::of_record(r, &[], &key), cell, study, cfg)
}

/// Years of accepted records are 1950..=next year (record validation), so
/// they fit 16 bits. The effect is turned so that positive means benefit
/// ([`direction_of`]).
fn make_fact(x: &FactInput<'_>, cell: u32, study: u32, cfg: &ScoringConfig) -> Fact {
    let mut flags = 0;
    if x.harm {
        flags |= F_HARM;
    }
    flags |= (x.domain.index() as u8) << DOMAIN_SHIFT;
    flags |= match x.primary {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    } << PRIMARY_SHIFT;
    let mut yi = x.effect.map_or(0.0, |e| e.0);
    let mut vi = x.effect.map_or(0.0, |e| e.1);
    if let Some((_, _, m)) = x.effect {
        let (dir, known) = direction_of(x.direction, m, x.domain, cfg);
        if dir == Direction::LowerIsBetter {
            flags |= F_LOWER;
            yi = -yi;
        }
        if known {
            flags |= F_DIR_KNOWN;
        }
        match cluster_design_effect(x, cfg) {
            Some(deff) => vi *= deff,
            None => flags |= F_CLUSTER,
        }
    }
    Fact {
        yi,
        vi,
        sample: x.sample_size.unwrap_or(SAMPLE_NONE),
        cell,
        study,
        year: x.year.map_or(YEAR_NONE, |y| i16::try_from(y).expect("validated year fits 16 bits")),
        design: x.design,
        rob: x.rob,
        rating: x.rating,
        strategy: x.strategy,
        measure: x.effect.map(|e| e.2),
        flags,
    }
}

/// The factor a cluster-assigned study's sampling variance is multiplied
/// by when it was computed from individuals: the design effect
/// `1 + (m - 1) ICC` with `m = sample_size / clusters` (Kish 1965;
/// docs/scoring.md section 2). 1 for individually assigned studies and
/// for SEs that already account for clustering; `None` when it cannot be
/// corrected (clusters or sample size unknown).
fn cluster_design_effect(x: &FactInput<'_>, cfg: &ScoringConfig) -> Option<f64> {
    if x.assignment != Some(crate::model::Assignment::Cluster) {
        return Some(1.0);
    }
    match (x.sample_size, x.clusters) {
        (Some(n), Some(k)) if k >= 2 && n >= u64::from(k) => {
            let m = n as f64 / f64::from(k);
            Some(1.0 + (m - 1.0) * cfg.effects.icc)
        }
        _ => None,
    }
}

/// The direction of a finding: its own, else the configuration's default
/// (docs/scoring.md section 2), and whether it was given rather than
/// assumed: a `direction` cell, a configured default, or the ratio-measure
/// rule (RR, OR, RD on violence) count as given; `auto` for any other
/// measure assumes higher-is-better.
pub fn direction_of(
    own: Option<Direction>,
    measure: Measure,
    domain: OutcomeDomain,
    cfg: &ScoringConfig,
) -> (Direction, bool) {
    if let Some(d) = own {
        return (d, true);
    }
    match cfg.effects.direction {
        DirectionDefault::HigherIsBetter => (Direction::HigherIsBetter, true),
        DirectionDefault::LowerIsBetter => (Direction::LowerIsBetter, true),
        DirectionDefault::Auto if domain == OutcomeDomain::Violence && measure.is_incidence() => {
            (Direction::LowerIsBetter, true)
        }
        DirectionDefault::Auto => (Direction::HigherIsBetter, false),
    }
}

/// The facts of one absorbed chunk with their chunk-local ids, how those
/// map to the run's ids, and the chunk's study names.
#[derive(Debug)]
struct Chunk {
    /// Facts grouped by partition: partition `p` is
    /// `facts[offsets[p]..offsets[p + 1]]`.
    facts: Vec<Fact>,
    offsets: Vec<u32>,
    /// The run's cell id per local cell id.
    cells: Vec<u32>,
    /// Study names by local id; the run's id is `study_base + local id`.
    studies: StringTable,
    study_base: u32,
}

/// All facts of a run, partitioned by cell, with their string tables: the
/// chunks' vectors and tables, moved in (never copied, regrown or
/// renumbered, so absorbing a chunk in input order costs little while the
/// workers wait), each grouped by partition.
#[derive(Debug, Default)]
pub struct FactSet {
    chunks: Vec<Chunk>,
    cell_keys: Vec<Vec<String>>,
    cell_ids: FxHashMap<String, u32>,
    n_studies: u32,
    /// Distinct (normalised key, display) target-group spellings.
    pub tg_pairs: BTreeSet<(String, String)>,
    /// Rows per (intervention matching key, spelling).
    pub int_spellings: FxHashMap<(String, String), u64>,
    /// What the rows left for the model to assume.
    pub counts: RowCounts,
    pub max_year: Option<i32>,
    pub n_facts: u64,
}

/// The canonical cells of a [`FactSet`] ([`FactSet::canonical_cells`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Canon {
    /// Canonical id per cell id.
    pub of_cell: Vec<u32>,
    /// Key values (as shown) per canonical id.
    pub keys: Vec<Vec<String>>,
    /// Sibling group per canonical id: cells whose keys differ only in the
    /// income setting share a group, and have consecutive ids.
    pub group: Vec<u32>,
}

impl FactSet {
    /// Facts of `records` (in parallel chunks; same result as one chunk).
    pub fn from_records(records: &[EvaluationRecord], keys: &[GroupKey], cfg: &ScoringConfig) -> FactSet {
        use rayon::prelude::*;
        let chunk = records.len().div_ceil(4 * rayon::current_num_threads().max(1)).max(8192);
        let locals: Vec<LocalFacts> = records
            .par_chunks(chunk)
            .map(|rs| {
                let mut b = FactBuilder::new(keys, cfg);
                for r in rs {
                    b.push(r);
                }
                b.finish()
            })
            .collect();
        let mut set = FactSet::default();
        for l in locals {
            set.absorb(l);
        }
        set
    }

    /// Add a chunk's facts (chunks must be absorbed in input order for
    /// deterministic ids; results do not depend on ids).
    pub fn absorb(&mut self, mut l: LocalFacts) {
        let cell_map: Vec<u32> = l
            .cells
            .drain(..)
            .map(|(key, part)| match self.cell_ids.get(key.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.cell_keys.len() as u32;
                    debug_assert!(part < PARTS as u8);
                    self.cell_keys.push(split_key(&key));
                    self.cell_ids.insert(key, id);
                    id
                }
            })
            .collect();
        let study_base = self.n_studies;
        self.n_studies += l.studies.len() as u32;
        if !l.facts.is_empty() || !l.studies.is_empty() {
            self.chunks.push(Chunk {
                facts: std::mem::take(&mut l.facts),
                offsets: std::mem::take(&mut l.offsets),
                cells: cell_map,
                studies: std::mem::take(&mut l.studies),
                study_base,
            });
        }
        self.tg_pairs.append(&mut l.tg_pairs);
        for (k, n) in l.int_spellings.drain() {
            *self.int_spellings.entry(k).or_insert(0) += n;
        }
        self.counts.merge(&l.counts);
        self.max_year = match (self.max_year, l.max_year) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.n_facts += l.n;
    }

    /// The facts of partition `p` (< [`PARTS`]), chunk by chunk in input
    /// order, each with its cell and study id in the run (the ids stored in
    /// a fact are local to its chunk).
    pub fn partition(&self, p: usize) -> impl Iterator<Item = (u32, u32, &Fact)> + '_ {
        self.chunks.iter().flat_map(move |c| {
            c.facts[c.offsets[p] as usize..c.offsets[p + 1] as usize]
                .iter()
                .map(|f| (c.cells[f.cell as usize], c.study_base + f.study, f))
        })
    }

    pub fn cell_key(&self, cell: u32) -> &[String] {
        &self.cell_keys[cell as usize]
    }
    /// The name of study `id` (an id of the run).
    pub fn study(&self, id: u32) -> &str {
        let c = &self.chunks[self.chunks.partition_point(|c| c.study_base <= id) - 1];
        c.studies.get(id - c.study_base)
    }
    pub fn n_studies(&self) -> usize {
        self.n_studies as usize
    }

    /// The canonical order of the studies: a rank per study id that follows
    /// the names' byte order, equal names (a study met in several chunks)
    /// sharing one rank. Scoring sorts a cell's facts by rank, so a study's
    /// facts are one run and studies come out in name order
    /// whatever the input order, without reading names per cell.
    pub fn study_ranks(&self) -> StudyRanks {
        use rayon::prelude::*;
        let n = self.n_studies();
        if n == 0 {
            return StudyRanks { rank: Vec::new(), first: Vec::new() };
        }
        let name = |i: u32| self.study(i).as_bytes();
        // The names chunk by chunk, in id order.
        let all = || {
            self.chunks.par_iter().flat_map_iter(|c| {
                (0..c.studies.len() as u32).map(move |i| (c.study_base + i, c.studies.get(i).as_bytes()))
            })
        };
        // Names are compared by the 8 bytes after their common prefix
        // first (most comparisons end there), then in full.
        let first = name(0);
        let lcp = all().map(|(_, s)| first.iter().zip(s).take_while(|(a, b)| a == b).count()).min().unwrap_or(0);
        let mut order: Vec<(u64, u32)> = Vec::with_capacity(n);
        order.par_extend(all().map(|(i, s)| (word_at(s, lcp), i)));
        order.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| name(a.1).cmp(name(b.1))));
        let mut rank = vec![0u32; n];
        let mut firsts = Vec::new();
        for (j, &(w, i)) in order.iter().enumerate() {
            let same = j > 0 && order[j - 1].0 == w && name(order[j - 1].1) == name(i);
            if !same {
                firsts.push(i);
            }
            rank[i as usize] = firsts.len() as u32 - 1;
        }
        StudyRanks { rank, first: firsts }
    }

    /// The name of the studies with canonical rank `r`.
    pub fn study_of_rank(&self, ranks: &StudyRanks, r: u32) -> &str {
        self.study(ranks.first[r as usize])
    }

    /// Every fact in storage order with its cell key and study spelled out
    /// and the ids zeroed: two sets built from the same rows by different
    /// paths compare equal (tests).
    pub fn resolved(&self) -> Vec<(Vec<String>, String, Fact)> {
        (0..PARTS)
            .flat_map(|p| self.partition(p))
            .map(|(cell, study, f)| {
                let plain = Fact { cell: 0, study: 0, ..*f };
                (self.cell_key(cell).to_vec(), self.study(study).to_string(), plain)
            })
            .collect()
    }

    /// The spelling shown for each intervention matching key: the most
    /// frequent one, ties going to the alphabetically first.
    pub fn intervention_names(&self) -> FxHashMap<&str, &str> {
        let mut best: FxHashMap<&str, (&str, u64)> = FxHashMap::default();
        for ((k, d), n) in &self.int_spellings {
            let e = best.entry(k.as_str()).or_insert((d.as_str(), *n));
            if *n > e.1 || (*n == e.1 && d.as_str() < e.0) {
                *e = (d.as_str(), *n);
            }
        }
        best.into_iter().map(|(k, (d, _))| (k, d)).collect()
    }

    /// Canonical cells: cells whose keys differ only in the spelling of the
    /// target group (at `positions.target_group`) become one, under the
    /// alphabetically first spelling, as ingest does for records; the
    /// intervention (at `positions.intervention`, held by its matching key)
    /// is shown in its most frequent spelling. Canonical ids follow the keys
    /// without the income setting, then the income setting, so cells that
    /// differ only in it (a sibling group, for borrowing) are neighbours.
    pub fn canonical_cells(&self, positions: KeyPositions) -> Canon {
        let mut canon_display: FxHashMap<&str, &str> = FxHashMap::default();
        let mut by_display: FxHashMap<&str, &str> = FxHashMap::default();
        for (k, d) in &self.tg_pairs {
            // BTreeSet order: the first display per key is the smallest.
            canon_display.entry(k.as_str()).or_insert(d.as_str());
            by_display.insert(d.as_str(), k.as_str());
        }
        let names = self.intervention_names();
        let shown = |key: &[String]| -> Vec<String> {
            let mut k = key.to_vec();
            if let Some(pos) = positions.target_group {
                if let Some(c) = by_display.get(k[pos].as_str()).and_then(|n| canon_display.get(n)) {
                    k[pos] = c.to_string();
                }
            }
            if let Some(pos) = positions.intervention {
                if let Some(d) = names.get(k[pos].as_str()) {
                    k[pos] = d.to_string();
                }
            }
            k
        };
        // Sort order: the key without the income setting, then the income
        // setting (its canonical order LIC < LMC < UMC < HIC is its text
        // order's, so plain text order would not do).
        let sort_key = |k: &[String]| -> (Vec<String>, u8) {
            let mut rest = k.to_vec();
            let income = positions.income_setting.map_or(0, |pos| {
                let v = rest.remove(pos);
                crate::model::IncomeSetting::parse(&v).map_or(9, |s| s.index() as u8)
            });
            (rest, income)
        };
        let mut distinct: Vec<Vec<String>> = self.cell_keys.iter().map(|k| shown(k)).collect();
        distinct.sort_by_cached_key(|k| sort_key(k));
        distinct.dedup();
        let ids: FxHashMap<&Vec<String>, u32> = distinct.iter().enumerate().map(|(i, k)| (k, i as u32)).collect();
        let of_cell = self.cell_keys.iter().map(|k| ids[&shown(k)]).collect();
        let mut group = Vec::with_capacity(distinct.len());
        for (i, k) in distinct.iter().enumerate() {
            let g = match i {
                0 => 0,
                _ if sort_key(k).0 == sort_key(&distinct[i - 1]).0 => group[i - 1],
                _ => group[i - 1] + 1,
            };
            group.push(g);
        }
        Canon { of_cell, keys: distinct, group }
    }
}

/// Where the keys that canonical cells treat specially sit among the group
/// keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyPositions {
    pub intervention: Option<usize>,
    pub target_group: Option<usize>,
    pub income_setting: Option<usize>,
}

impl KeyPositions {
    pub fn of(keys: &[GroupKey]) -> KeyPositions {
        let at = |g: GroupKey| keys.iter().position(|k| *k == g);
        KeyPositions {
            intervention: at(GroupKey::Intervention),
            target_group: at(GroupKey::TargetGroup),
            income_setting: at(GroupKey::IncomeSetting),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn auto_direction_turns_incidence_measures_on_violence_and_says_what_it_assumed() {
        let cfg = ScoringConfig::default();
        let d = |m, dom| direction_of(None, m, dom, &cfg);
        assert_eq!(d(Measure::RR, OutcomeDomain::Violence), (Direction::LowerIsBetter, true));
        assert_eq!(d(Measure::RD, OutcomeDomain::Violence), (Direction::LowerIsBetter, true));
        assert_eq!(d(Measure::SMD, OutcomeDomain::Violence), (Direction::HigherIsBetter, false));
        assert_eq!(d(Measure::RR, OutcomeDomain::Behaviour), (Direction::HigherIsBetter, false));
        assert_eq!(
            direction_of(Some(Direction::HigherIsBetter), Measure::RR, OutcomeDomain::Violence, &cfg),
            (Direction::HigherIsBetter, true)
        );
    }

    use super::*;

    /// docs/scoring.md: 2,530 people in 8 communities, ICC 0.10:
    /// m = 316.25, design effect 1 + 315.25 x 0.10 = 32.525 (the SE grows
    /// by sqrt(32.525) = 5.703069); without clusters it cannot be corrected.
    #[test]
    fn design_effect_of_a_cluster_assigned_study() {
        let cfg = ScoringConfig::default();
        let mut x = FactInput {
            key: [""; 7],
            tg_key: "",
            tg_display: "",
            int_key: "",
            int_display: "",
            study: "S",
            year: None,
            sample_size: Some(2530),
            design: Some(StudyDesign::Rct),
            rob: None,
            strategy: None,
            rating: None,
            harm: false,
            domain: OutcomeDomain::Violence,
            domain_inferred: false,
            has_study_id: true,
            primary: None,
            effect: Some((0.1, 0.01, Measure::SMD)),
            direction: None,
            assignment: Some(crate::model::Assignment::Cluster),
            clusters: Some(8),
        };
        let d = cluster_design_effect(&x, &cfg).unwrap();
        assert!((d - 32.525).abs() < 1e-12, "{d}");
        x.clusters = None;
        assert_eq!(cluster_design_effect(&x, &cfg), None);
        x.assignment = Some(crate::model::Assignment::ClusterAdjusted);
        assert_eq!(cluster_design_effect(&x, &cfg), Some(1.0));
    }

    #[test]
    fn fact_is_compact() {
        assert_eq!(std::mem::size_of::<Fact>(), 40);
    }

    #[test]
    fn joined_keys_are_unambiguous() {
        let parts = ["a\u{1f}b", "", "c\u{1b}", "plain"];
        let mut buf = String::new();
        for p in parts {
            push_key_part(&mut buf, p);
        }
        assert_eq!(split_key(&buf), parts);
        let (mut x, mut y) = (String::new(), String::new());
        push_key_part(&mut x, "a\u{1f}");
        push_key_part(&mut x, "b");
        push_key_part(&mut y, "a");
        push_key_part(&mut y, "\u{1f}b");
        assert_ne!(x, y);
    }

    #[test]
    fn string_table_round_trip() {
        let mut a = StringTable::default();
        assert_eq!((a.push("x"), a.push(""), a.push("yz")), (0, 1, 2));
        assert_eq!((a.get(0), a.get(1), a.get(2), a.len()), ("x", "", "yz", 3));
    }

    #[test]
    fn study_ids_survive_hash_collisions() {
        let cfg = ScoringConfig::default();
        let keys = [GroupKey::Intervention];
        let names = ["S1", "S2", "S1", "S3", "S2", "S2", "S4", "S1"];
        let ids = |collide: bool| {
            let mut b = FactBuilder::new(&keys, &cfg);
            if collide {
                // Every name hashes alike: ids come from the collision map.
                b.hash_study = |s| u64::from(s.len() > 99);
            }
            let v: Vec<u32> = names.iter().map(|n| b.study_id(n)).collect();
            (v, (0..4).map(|i| b.out.studies.get(i).to_string()).collect::<Vec<_>>())
        };
        let expected = (vec![0, 1, 0, 2, 1, 1, 3, 0], vec!["S1".to_string(), "S2".into(), "S3".into(), "S4".into()]);
        assert_eq!(ids(false), expected);
        assert_eq!(ids(true), expected);
    }

    /// Ranks from `study_ranks` against the names sorted by std's `str` order.
    fn check_ranks(names: &[String]) {
        // The names in three chunks (ids across chunks must resolve).
        let mut fs = FactSet::default();
        for part in [&names[..names.len() / 3], &names[names.len() / 3..names.len() / 2], &names[names.len() / 2..]] {
            let mut l = LocalFacts { facts: vec![EMPTY], offsets: vec![0; PARTS + 1], ..LocalFacts::default() };
            for n in part {
                l.studies.push(n);
            }
            fs.absorb(l);
        }
        assert_eq!(fs.n_studies(), names.len());
        let r = fs.study_ranks();
        let mut distinct: Vec<&String> = names.iter().collect();
        distinct.sort();
        distinct.dedup();
        for (i, n) in names.iter().enumerate() {
            let expected = distinct.binary_search(&n).unwrap() as u32;
            assert_eq!(r.rank[i], expected, "rank of {n:?} among {names:?}");
            assert_eq!(fs.study_of_rank(&r, expected), n.as_str());
        }
    }

    #[test]
    fn study_ranks_follow_name_order() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        check_ranks(&v(&[]));
        check_ranks(&v(&["only"]));
        // A shared prefix longer than 8 bytes, names ending inside the
        // compared word, zero bytes (padding must not make "a" equal "a\0"),
        // repeats, multi-byte characters.
        check_ranks(&v(&[
            "Study_000000012",
            "Study_000000002",
            "Study_0000000123456789",
            "Study_00000001",
            "Study_0000000",
            "Study_0000000\0",
            "Study_0000000\0\0",
            "Study_000000012",
            "Study_00000001é",
            "Study_00000001e",
        ]));
        check_ranks(&v(&["b", "a", "", "a\0", "ab", "a", "\u{10ffff}", "é", "e\u{301}"]));
    }

    proptest::proptest! {
        #[test]
        fn study_ranks_equal_sorted_names(
            prefix in "P{0,12}",
            names in proptest::collection::vec("[ab\\x00é]{0,12}", 0..40),
        ) {
            // A prefix shared by all names moves the compared word.
            check_ranks(&names.iter().map(|n| format!("{prefix}{n}")).collect::<Vec<_>>());
        }
    }
}

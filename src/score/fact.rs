//! Compact per-record facts: everything the scoring model reads from a
//! record, in 48 bytes, with the cell, study and intervention as ids into
//! shared string tables. Records are turned into facts chunk by chunk (in
//! parallel, each chunk with its own small tables) and the chunks are
//! absorbed into one [`FactSet`] in input order, so the streaming `score`
//! path never keeps [`EvaluationRecord`]s. Facts are stored in
//! [`PARTS`] partitions by a hash of the cell key, so a partition holds whole
//! cells and partitions are scored independently in parallel.

use super::weight::used_rating;
use super::{GroupKey, ScoringConfig};
use crate::meta::{compute_effect, Measure};
use crate::model::{EvaluationRecord, Rating, RiskOfBias, Strategy, StudyDesign};
use rustc_hash::{FxHashMap, FxHasher};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

/// Number of cell partitions (any value gives the same results).
pub const PARTS: usize = 64;

const YEAR_NONE: i32 = i32::MIN;
const F_HARM: u8 = 1;
const F_DERIVED: u8 = 2;
const F_SAMPLE: u8 = 4;

/// What the model reads from one accepted record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fact {
    /// Effect size and sampling variance (meaningful when `measure` is set).
    pub yi: f64,
    pub vi: f64,
    sample: u64,
    /// Cell id (local to a chunk until absorbed).
    pub cell: u32,
    /// Study id (index into the study table).
    pub study: u32,
    pub intervention: u32,
    year: i32,
    pub design: Option<StudyDesign>,
    pub rob: Option<RiskOfBias>,
    /// The rating used for scoring (reviewer's or derived); `None`: unscored.
    pub rating: Option<Rating>,
    pub strategy: Option<Strategy>,
    pub measure: Option<Measure>,
    flags: u8,
}

impl Fact {
    pub fn year(&self) -> Option<i32> {
        (self.year != YEAR_NONE).then_some(self.year)
    }
    pub fn sample_size(&self) -> Option<u64> {
        (self.flags & F_SAMPLE != 0).then_some(self.sample)
    }
    pub fn harm(&self) -> bool {
        self.flags & F_HARM != 0
    }
    pub fn derived(&self) -> bool {
        self.flags & F_DERIVED != 0
    }
}

/// A cell key borrowed from a record: up to 7 key values; hashing and
/// equality look at the used ones only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    pub parts: [&'a str; 7],
    pub len: u8,
}

impl<'a> KeyRef<'a> {
    pub fn of(r: &'a EvaluationRecord, keys: &[GroupKey]) -> KeyRef<'a> {
        let mut cell = KeyRef { parts: [""; 7], len: keys.len() as u8 };
        for (i, k) in keys.iter().enumerate() {
            cell.parts[i] = k.value_ref(r);
        }
        cell
    }
    pub fn used(&self) -> &[&'a str] {
        &self.parts[..self.len as usize]
    }
}

impl PartialEq for KeyRef<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.used() == o.used()
    }
}
impl Eq for KeyRef<'_> {}
impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for p in self.used() {
            h.write(p.as_bytes());
            h.write_u8(0xff);
        }
    }
}

/// Partition of a cell: a hash of its key values, with the target group
/// taken by its normalised key so that all spellings of one group (merged
/// after ingest) fall in the same partition.
fn partition_of(r: &EvaluationRecord, keys: &[GroupKey]) -> u8 {
    let mut h = FxHasher::default();
    for k in keys {
        let v = if *k == GroupKey::TargetGroup { r.target_group.key() } else { k.value_ref(r) };
        h.write(v.as_bytes());
        h.write_u8(0xff);
    }
    (h.finish() % PARTS as u64) as u8
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
    fn append(&mut self, o: &StringTable) -> u32 {
        let base = self.ends.len() as u32;
        let off = self.text.len() as u64;
        self.text.push_str(&o.text);
        self.ends.extend(o.ends.iter().map(|e| e + off));
        base
    }
}

/// Facts of one chunk with chunk-local ids.
#[derive(Debug, Default)]
pub struct LocalFacts {
    parts: Vec<Vec<Fact>>,
    cells: Vec<(Vec<String>, u8)>,
    studies: StringTable,
    interventions: Vec<String>,
    tg_pairs: BTreeSet<(String, String)>,
    max_year: Option<i32>,
    n: u64,
}

/// Builds the facts of one chunk of records.
pub struct FactBuilder<'a> {
    keys: &'a [GroupKey],
    cfg: &'a ScoringConfig,
    cell_ids: FxHashMap<KeyRef<'a>, u32>,
    study_ids: FxHashMap<&'a str, u32>,
    int_ids: FxHashMap<&'a str, u32>,
    tg: FxHashMap<(&'a str, &'a str), ()>,
    out: LocalFacts,
}

impl<'a> FactBuilder<'a> {
    pub fn new(keys: &'a [GroupKey], cfg: &'a ScoringConfig) -> FactBuilder<'a> {
        assert!(keys.len() <= 7, "at most 7 group keys");
        FactBuilder {
            keys,
            cfg,
            cell_ids: FxHashMap::default(),
            study_ids: FxHashMap::default(),
            int_ids: FxHashMap::default(),
            tg: FxHashMap::default(),
            out: LocalFacts { parts: vec![Vec::new(); PARTS], ..LocalFacts::default() },
        }
    }

    pub fn push(&mut self, r: &'a EvaluationRecord) {
        let key = KeyRef::of(r, self.keys);
        let n_cells = self.cell_ids.len() as u32;
        let cell = *self.cell_ids.entry(key).or_insert(n_cells);
        if cell == n_cells {
            let owned = key.used().iter().map(|s| s.to_string()).collect();
            self.out.cells.push((owned, partition_of(r, self.keys)));
        }
        let part = self.out.cells[cell as usize].1;
        let studies = &mut self.out.studies;
        let study = *self.study_ids.entry(r.study_key()).or_insert_with(|| studies.push(r.study_key()));
        let n_int = self.int_ids.len() as u32;
        let intervention = *self.int_ids.entry(&r.intervention).or_insert(n_int);
        if intervention == n_int {
            self.out.interventions.push(r.intervention.clone());
        }
        self.tg.entry((r.target_group.key(), r.target_group.display())).or_insert(());
        if let Some(y) = r.year {
            self.out.max_year = Some(self.out.max_year.map_or(y, |m| m.max(y)));
        }
        let f = fact_of(r, self.cfg, cell, study, intervention);
        self.out.parts[part as usize].push(f);
        self.out.n += 1;
    }

    pub fn finish(mut self) -> LocalFacts {
        self.out.tg_pairs = self.tg.into_keys().map(|(k, d)| (k.to_string(), d.to_string())).collect();
        self.out
    }
}

/// The model's view of one record (ids filled in by the caller).
pub(crate) fn fact_of(r: &EvaluationRecord, cfg: &ScoringConfig, cell: u32, study: u32, intervention: u32) -> Fact {
    let effect = if r.effect().is_usable() { compute_effect(r.effect(), None).ok() } else { None };
    let used = used_rating(r, cfg);
    let mut flags = 0;
    if used.is_some_and(|u| u.harm) {
        flags |= F_HARM;
    }
    if used.is_some_and(|u| u.derived) {
        flags |= F_DERIVED;
    }
    if r.sample_size.is_some() {
        flags |= F_SAMPLE;
    }
    Fact {
        yi: effect.as_ref().map_or(0.0, |e| e.yi),
        vi: effect.as_ref().map_or(0.0, |e| e.vi),
        sample: r.sample_size.unwrap_or(0),
        cell,
        study,
        intervention,
        year: r.year.unwrap_or(YEAR_NONE),
        design: r.design,
        rob: r.risk_of_bias,
        rating: used.map(|u| u.rating),
        strategy: r.strategy,
        measure: effect.map(|e| e.measure),
        flags,
    }
}

/// All facts of a run, partitioned by cell, with their string tables. Each
/// partition is a list of the chunks' vectors (moved in, never copied or
/// regrown).
#[derive(Debug)]
pub struct FactSet {
    pub parts: Vec<Vec<Vec<Fact>>>,
    cell_keys: Vec<Vec<String>>,
    cell_ids: FxHashMap<Vec<String>, u32>,
    studies: StringTable,
    interventions: Vec<String>,
    int_ids: FxHashMap<String, u32>,
    /// Distinct (normalised key, display) target-group spellings.
    pub tg_pairs: BTreeSet<(String, String)>,
    pub max_year: Option<i32>,
    pub n_facts: u64,
}

impl Default for FactSet {
    fn default() -> Self {
        FactSet {
            parts: vec![Vec::new(); PARTS],
            cell_keys: Vec::new(),
            cell_ids: FxHashMap::default(),
            studies: StringTable::default(),
            interventions: Vec::new(),
            int_ids: FxHashMap::default(),
            tg_pairs: BTreeSet::new(),
            max_year: None,
            n_facts: 0,
        }
    }
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
            .map(|(key, part)| match self.cell_ids.get(key.as_slice()) {
                Some(&id) => id,
                None => {
                    let id = self.cell_keys.len() as u32;
                    debug_assert!(part < PARTS as u8);
                    self.cell_ids.insert(key.clone(), id);
                    self.cell_keys.push(key);
                    id
                }
            })
            .collect();
        let int_map: Vec<u32> = l
            .interventions
            .drain(..)
            .map(|name| match self.int_ids.get(name.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.interventions.len() as u32;
                    self.int_ids.insert(name.clone(), id);
                    self.interventions.push(name);
                    id
                }
            })
            .collect();
        let base = self.studies.append(&l.studies);
        for (p, mut facts) in l.parts.drain(..).enumerate() {
            if facts.is_empty() {
                continue;
            }
            for f in facts.iter_mut() {
                f.cell = cell_map[f.cell as usize];
                f.intervention = int_map[f.intervention as usize];
                f.study += base;
            }
            facts.shrink_to_fit();
            self.parts[p].push(facts);
        }
        self.tg_pairs.append(&mut l.tg_pairs);
        self.max_year = match (self.max_year, l.max_year) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.n_facts += l.n;
    }

    pub fn cell_key(&self, cell: u32) -> &[String] {
        &self.cell_keys[cell as usize]
    }
    pub fn n_cells(&self) -> usize {
        self.cell_keys.len()
    }
    pub fn study(&self, id: u32) -> &str {
        self.studies.get(id)
    }
    pub fn n_studies(&self) -> usize {
        self.studies.len()
    }
    pub fn intervention(&self, id: u32) -> &str {
        &self.interventions[id as usize]
    }

    /// Canonical cell per cell: cells whose keys differ only in the spelling
    /// of the target group (`tg_position` in the keys) map to the cell with
    /// the lexicographically smallest spelling, as ingest does for records.
    /// Returns the canonical id per cell and the canonical keys.
    pub fn canonical_cells(&self, tg_position: Option<usize>) -> (Vec<u32>, Vec<Vec<String>>) {
        let mut canon_display: FxHashMap<&str, &str> = FxHashMap::default();
        let mut by_display: FxHashMap<&str, &str> = FxHashMap::default();
        for (k, d) in &self.tg_pairs {
            // BTreeSet order: the first display per key is the smallest.
            canon_display.entry(k.as_str()).or_insert(d.as_str());
            by_display.insert(d.as_str(), k.as_str());
        }
        let Some(pos) = tg_position else {
            return ((0..self.cell_keys.len() as u32).collect(), self.cell_keys.clone());
        };
        let mut ids: FxHashMap<Vec<String>, u32> = FxHashMap::default();
        let mut keys = Vec::new();
        let map = self
            .cell_keys
            .iter()
            .map(|key| {
                let mut k = key.clone();
                if let Some(c) = by_display.get(k[pos].as_str()).and_then(|n| canon_display.get(n)) {
                    k[pos] = c.to_string();
                }
                let n = keys.len() as u32;
                *ids.entry(k.clone()).or_insert_with(|| {
                    keys.push(k);
                    n
                })
            })
            .collect();
        (map, keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_is_compact() {
        assert_eq!(std::mem::size_of::<Fact>(), 48);
    }

    #[test]
    fn string_table_round_trip() {
        let mut a = StringTable::default();
        a.push("x");
        a.push("");
        let mut b = StringTable::default();
        b.push("yz");
        assert_eq!(a.append(&b), 2);
        assert_eq!((a.get(0), a.get(1), a.get(2)), ("x", "", "yz"));
    }
}

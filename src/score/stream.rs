//! How `evidex score` reads: every row goes through the one row reader
//! (`ingest::row`) and straight into a compact [`Fact`](super::Fact) (40
//! bytes), chunk by chunk in parallel; no record is kept. Memory is the
//! facts and the study-name table, not the records.
//!
//! The cross-row checks run on what the facts keep: target-group
//! spellings, intervention spellings, and repeated record ids. Ids are
//! kept as 64-bit hashes; when two hashes are equal (a repeated id, or a
//! hash collision), a second pass reads the ids of just those rows to find
//! the true repeats, and a third pass reads the files again rejecting
//! them, as `evidex validate` does. Files without repeated ids are read
//! once.

use super::fact::{FactBuilder, FactInput, FactSet, LocalFacts};
use super::{GroupKey, ScoringConfig};
use crate::ingest::quality::RowCounts;
use crate::ingest::read::{self, Forced, RowWorker, Sink};
use crate::ingest::row::{self, Fields, Memo, RowContext};
use crate::ingest::{IngestError, IngestOptions, Ingested, RowError, Warning};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::PathBuf;

/// What the streaming reader produced.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Files, counts, rejected rows and warnings; `records` stays empty and
    /// `streamed` counts the accepted rows.
    pub ing: Ingested,
    pub facts: FactSet,
}

fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Facts, absorbed chunk by chunk.
struct FactSink<'k> {
    keys: &'k [GroupKey],
    cfg: &'k ScoringConfig,
    facts: FactSet,
    /// Each chunk's sorted id hashes.
    ids: Vec<Vec<u64>>,
    counts_before: RowCounts,
}

struct FactWorker<'w> {
    memo: Memo,
    b: FactBuilder<'w>,
    /// Intervention matching keys by name, and the last name with its key.
    int_keys: FxHashMap<String, String>,
    last_int: (String, String),
    ids: Vec<u64>,
}

impl RowWorker for FactWorker<'_> {
    type Out = (LocalFacts, Vec<u64>);
    fn row<F: Fields>(&mut self, ctx: &RowContext<'_>, f: &F) -> Result<Option<String>, RowError> {
        let mut view = row::read_row(ctx, f, &mut self.memo)?;
        let note = view.note.take();
        if self.last_int.0 != view.intervention.as_ref() {
            let key = match self.int_keys.get(view.intervention.as_ref()) {
                Some(k) => k.clone(),
                None => {
                    let k = crate::model::intervention_key(&view.intervention);
                    self.int_keys.insert(view.intervention.to_string(), k.clone());
                    k
                }
            };
            self.last_int = (view.intervention.to_string(), key);
        }
        let int_key = self.last_int.1.as_str();
        let x = FactInput::of_view(&view, self.b.keys(), int_key);
        self.b.push_input(&x);
        self.ids.push(id_hash(&view.record_id));
        Ok(note)
    }
    fn finish(mut self) -> Self::Out {
        // Sorted here, in parallel, for the duplicate check at the end.
        self.ids.sort_unstable();
        (self.b.finish(), self.ids)
    }
}

impl Sink for FactSink<'_> {
    type Out = (LocalFacts, Vec<u64>);
    type Worker<'w>
        = FactWorker<'w>
    where
        Self: 'w;
    fn start_file(&mut self, _: &RowContext<'_>) {
        self.counts_before = self.facts.counts;
    }
    fn worker(&self, rows_hint: usize) -> FactWorker<'_> {
        let mut b = FactBuilder::new(self.keys, self.cfg);
        b.reserve(rows_hint);
        FactWorker {
            memo: Memo::new(),
            b,
            int_keys: FxHashMap::default(),
            last_int: (String::new(), String::new()),
            ids: Vec::with_capacity(rows_hint),
        }
    }
    fn absorb(&mut self, (facts, ids): Self::Out) {
        self.ids.push(ids);
        self.facts.absorb(facts);
    }
    fn end_file(&mut self, file: &str, warnings: &mut Vec<Warning>) {
        warnings.extend(self.facts.counts.since(&self.counts_before).warnings(file));
    }
    fn restart(&mut self) {
        self.facts = FactSet::default();
        self.ids.clear();
        self.counts_before = RowCounts::default();
    }
}

/// The ids of accepted rows whose id hash is in `wanted` (second pass).
struct IdSink<'s> {
    wanted: &'s FxHashSet<u64>,
    /// (file, line, id) in input order.
    found: Vec<(u32, u64, String)>,
}

struct IdWorker<'w> {
    wanted: &'w FxHashSet<u64>,
    memo: Memo,
    found: Vec<(u32, u64, String)>,
}

impl RowWorker for IdWorker<'_> {
    type Out = Vec<(u32, u64, String)>;
    fn row<F: Fields>(&mut self, ctx: &RowContext<'_>, f: &F) -> Result<Option<String>, RowError> {
        let view = row::read_row(ctx, f, &mut self.memo)?;
        if self.wanted.contains(&id_hash(&view.record_id)) {
            self.found.push((ctx.file_idx, view.line, view.record_id.to_string()));
        }
        Ok(None)
    }
    fn finish(self) -> Self::Out {
        self.found
    }
}

impl Sink for IdSink<'_> {
    type Out = Vec<(u32, u64, String)>;
    type Worker<'w>
        = IdWorker<'w>
    where
        Self: 'w;
    fn worker(&self, _: usize) -> IdWorker<'_> {
        IdWorker { wanted: self.wanted, memo: Memo::new(), found: Vec::new() }
    }
    fn absorb(&mut self, out: Self::Out) {
        self.found.extend(out);
    }
    fn restart(&mut self) {
        self.found.clear();
    }
}

/// Read, validate and turn into facts all `paths`, in order (scoring
/// contract).
///
/// # Errors
/// The first fatal [`IngestError`], as `ingest::ingest`.
pub fn read_facts(
    paths: &[PathBuf],
    opts: &IngestOptions,
    keys: &[GroupKey],
    cfg: &ScoringConfig,
) -> Result<Streamed, IngestError> {
    let (facts, log, ids) = pass(paths, opts, keys, cfg, None)?;
    let t0 = std::time::Instant::now();
    let repeated = repeated_hashes(&ids);
    drop(ids);
    crate::ingest::timing("duplicate-id check", t0);
    let (facts, log) = if repeated.is_empty() {
        (facts, log)
    } else {
        // Find the true repeats among the rows with a shared hash, then
        // read again rejecting them.
        drop(facts);
        let mut ids = IdSink { wanted: &repeated, found: Vec::new() };
        let id_log = read::read_files(paths, opts, None, &mut ids)?;
        let mut first: FxHashMap<&str, (u32, u64)> = FxHashMap::default();
        let mut forced = Forced::default();
        for (file, line, id) in &ids.found {
            match first.get(id.as_str()) {
                Some(&(f0, l0)) => {
                    let name = |f: u32| id_log.files[f as usize].path.clone();
                    let e = crate::ingest::duplicate_error(name(*file), *line, id, &name(f0), l0);
                    forced.insert((*file, *line), e);
                }
                None => {
                    first.insert(id, (*file, *line));
                }
            }
        }
        let (facts, log, _) = pass(paths, opts, keys, cfg, Some(&forced))?;
        (facts, log)
    };
    let t0 = std::time::Instant::now();
    let mut st = Streamed {
        ing: Ingested {
            files: log.files,
            rejected: log.rejected,
            warnings: log.warnings,
            streamed: facts.n_facts,
            ..Ingested::default()
        },
        facts,
    };
    let pairs: Vec<(&str, &str)> = st.facts.tg_pairs.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
    let mut warnings = Vec::new();
    crate::ingest::spelling_warnings(pairs.into_iter(), &mut warnings);
    st.ing.warnings.extend(warnings);
    st.ing.warnings.extend(crate::ingest::quality::intervention_warnings(
        st.facts.int_spellings.iter().map(|((k, d), n)| (k.as_str(), d.as_str(), *n)),
    ));
    crate::ingest::timing("cross-row checks (streamed)", t0);
    Ok(st)
}

/// One pass over the files into facts.
fn pass(
    paths: &[PathBuf],
    opts: &IngestOptions,
    keys: &[GroupKey],
    cfg: &ScoringConfig,
    forced: Option<&Forced>,
) -> Result<(FactSet, read::ReadLog, Vec<Vec<u64>>), IngestError> {
    let mut sink =
        FactSink { keys, cfg, facts: FactSet::default(), ids: Vec::new(), counts_before: RowCounts::default() };
    let log = read::read_files(paths, opts, forced, &mut sink)?;
    Ok((sink.facts, log, sink.ids))
}

/// The hashes that occur more than once across the chunks' sorted hash
/// lists. The hashes are split into 64 buckets by their top bits (a
/// contiguous range of every sorted list); buckets are checked in
/// parallel, each gathered into one reused buffer and sorted, so no copy
/// of all hashes is made.
fn repeated_hashes(chunks: &[Vec<u64>]) -> FxHashSet<u64> {
    const BITS: u32 = 6;
    let bucket = |h: u64| h >> (64 - BITS);
    let found: Vec<Vec<u64>> = (0..1u64 << BITS)
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u64>, b| {
            buf.clear();
            for v in chunks {
                let lo = v.partition_point(|h| bucket(*h) < b);
                let hi = lo + v[lo..].partition_point(|h| bucket(*h) == b);
                buf.extend_from_slice(&v[lo..hi]);
            }
            buf.sort_unstable();
            let mut rep: Vec<u64> = buf.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
            rep.dedup();
            rep
        })
        .collect();
    found.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::repeated_hashes;
    use proptest::prelude::*;

    /// The plain check: all hashes in one sorted vector.
    fn naive(chunks: &[Vec<u64>]) -> Vec<u64> {
        let mut all: Vec<u64> = chunks.concat();
        all.sort_unstable();
        let mut rep: Vec<u64> = all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        rep.dedup();
        rep
    }

    fn sorted(s: rustc_hash::FxHashSet<u64>) -> Vec<u64> {
        let mut v: Vec<u64> = s.into_iter().collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn repeats_within_and_across_chunks_and_at_bucket_edges() {
        let top = |b: u64| b << 58;
        let cases: Vec<(Vec<Vec<u64>>, Vec<u64>)> = vec![
            (vec![], vec![]),
            (vec![vec![], vec![]], vec![]),
            (vec![vec![1, 2, 3], vec![4, 5]], vec![]),
            (vec![vec![1, 2, 2]], vec![2]),
            (vec![vec![1, 7], vec![3, 7]], vec![7]),
            (vec![vec![0, u64::MAX], vec![u64::MAX]], vec![u64::MAX]),
            (vec![vec![0], vec![], vec![0], vec![0]], vec![0]),
            // Last hash of one bucket and first of the next are not repeats.
            (vec![vec![top(1) - 1, top(1)], vec![top(2) - 1, top(2)]], vec![]),
            (vec![vec![top(63)], vec![top(63)]], vec![top(63)]),
        ];
        for (chunks, expected) in cases {
            assert_eq!(sorted(repeated_hashes(&chunks)), expected, "{chunks:?}");
        }
    }

    proptest! {
        #[test]
        fn equals_the_plain_check(
            chunks in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![0u64..40, any::<u64>(), (0u64..64).prop_map(|b| b << 58)], 0..30),
                0..6,
            ),
        ) {
            let chunks: Vec<Vec<u64>> = chunks.into_iter().map(|mut v| { v.sort_unstable(); v }).collect();
            prop_assert_eq!(sorted(repeated_hashes(&chunks)), naive(&chunks));
        }
    }
}

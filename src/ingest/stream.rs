//! The streaming reader behind `evidex score`: files are read in chunks
//! (pieces of quote-free delimited text, Parquet row groups, or slices of a
//! table parsed whole), each chunk is validated with the same row converter
//! as [`super::ingest`] and turned into compact [`crate::score::Fact`]s in parallel, and
//! the records are dropped. Memory is the facts (48 bytes per accepted row)
//! and the study-id table, not the records.
//!
//! Rows go first through the fast converter ([`super::fast`]), which reads
//! cells in place: quote-free CSV lines split into byte ranges
//! ([`table::PieceText::split_with`]), Parquet slices through their typed
//! arrays ([`super::typed`]); any row it leaves goes through the record
//! converter as a row of text cells.
//!
//! Every row is still accepted or rejected with the same messages; the
//! cross-row checks run on what the facts keep: target-group spellings
//! (exact), duplicate record ids (by 64-bit hash; any match, true or a hash
//! collision, is reported in [`Streamed::duplicate_ids`] and the caller
//! re-reads with the record path, which rejects duplicates exactly). The
//! warning about studies whose findings mix interventions is not computed
//! here (it does not change scores, and `score` prints no warnings);
//! `evidex validate` reports it.

use super::fast;
use super::table::{self, Opened, RawRow};
use super::typed::TypedSlice;
use super::{
    blank_warning, convert, notes_warnings, prepare_file, spelling_warnings, timing, Contract, FileSummary,
    IngestError, IngestOptions, Ingested, InputFormat, RowError,
};
use crate::score::fact::{FactBuilder, LocalFacts};
use crate::score::{FactSet, GroupKey, ScoringConfig};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Rows per parallel task.
const TASK_ROWS: usize = 1 << 16;

/// What the streaming reader produced.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Files, counts, rejected rows and warnings; `records` stays empty and
    /// `streamed` counts the accepted rows.
    pub ing: Ingested,
    pub facts: FactSet,
    /// Some record ids (may) repeat: re-read with [`super::ingest`].
    pub duplicate_ids: bool,
}

/// One task's output, absorbed in input order.
struct ChunkOut {
    facts: LocalFacts,
    rejected: Vec<RowError>,
    notes: Vec<(String, u64)>,
    /// Hashes of the accepted rows' record ids, sorted.
    ids: Vec<u64>,
}

/// Turns the rows of one chunk into facts (fast path first, the record
/// converter for the rest).
struct Worker<'a> {
    ctx: &'a convert::RowContext<'a>,
    raw: &'a (dyn Fn(&RawRow) -> String + Sync),
    fast: bool,
    memo: fast::Memo,
    b: FactBuilder<'a>,
    rejected: Vec<RowError>,
    notes: Vec<(String, u64)>,
    ids: Vec<u64>,
}

impl<'a> Worker<'a> {
    fn new(
        ctx: &'a convert::RowContext<'a>,
        raw: &'a (dyn Fn(&RawRow) -> String + Sync),
        keys: &'a [GroupKey],
        cfg: &'a ScoringConfig,
        fast: bool,
        rows_hint: usize,
    ) -> Worker<'a> {
        let mut b = FactBuilder::new(keys, cfg);
        b.reserve(rows_hint);
        Worker { ctx, raw, fast, memo: fast::Memo::new(), b, rejected: Vec::new(), notes: Vec::new(), ids: Vec::new() }
    }

    fn row(&mut self, row: &RawRow) {
        if !(self.fast && self.fast_row(&fast::TextCells { ctx: self.ctx, row })) {
            self.convert(row);
        }
    }

    /// The fast path; `false` (nothing added) when the row must go through
    /// [`Worker::convert`].
    fn fast_row<C: fast::Cells>(&mut self, cells: &C) -> bool {
        match fast::fact_row(self.ctx, cells, &mut self.memo, &mut self.b) {
            Some(id) => {
                self.ids.push(id);
                true
            }
            None => false,
        }
    }

    /// The record converter: accept the row or reject it with its message.
    fn convert(&mut self, row: &RawRow) {
        match convert::convert_row(self.ctx, row) {
            Ok((rec, note)) => {
                if let Some(n) = note {
                    self.notes.push((n, row.line));
                }
                self.ids.push(xxhash_rust::xxh3::xxh3_64(rec.record_id.as_bytes()));
                self.b.push(&rec);
            }
            Err(mut e) => {
                e.raw = (self.raw)(row);
                self.rejected.push(e);
            }
        }
    }

    fn finish(mut self) -> ChunkOut {
        // Sorted here, in parallel, for the duplicate check at the end.
        self.ids.sort_unstable();
        ChunkOut { facts: self.b.finish(), rejected: self.rejected, notes: self.notes, ids: self.ids }
    }
}

fn process_rows<'a>(
    ctx: &'a convert::RowContext<'a>,
    rows: &[RawRow],
    raw: &'a (dyn Fn(&RawRow) -> String + Sync),
    keys: &'a [GroupKey],
    cfg: &'a ScoringConfig,
    fast: bool,
) -> ChunkOut {
    let mut w = Worker::new(ctx, raw, keys, cfg, fast, rows.len());
    for row in rows {
        w.row(row);
    }
    w.finish()
}

/// Read, validate and turn into facts all `paths`, in order (scoring contract).
///
/// # Errors
/// The first fatal [`IngestError`], as [`super::ingest`].
pub fn ingest_facts(
    paths: &[PathBuf],
    opts: &IngestOptions,
    keys: &[GroupKey],
    cfg: &ScoringConfig,
) -> Result<Streamed, IngestError> {
    ingest_facts_with(paths, opts, keys, cfg, true)
}

/// [`ingest_facts`]; with `fast` false every row goes through the record
/// converter (the reference the fast path is tested against).
///
/// # Errors
/// As [`ingest_facts`].
pub fn ingest_facts_with(
    paths: &[PathBuf],
    opts: &IngestOptions,
    keys: &[GroupKey],
    cfg: &ScoringConfig,
    fast: bool,
) -> Result<Streamed, IngestError> {
    assert_eq!(opts.contract, Contract::Scoring, "the streaming reader serves scoring");
    let mut st = Streamed::default();
    // Each chunk's sorted id hashes, kept as they come (not copied into one
    // vector while the workers wait).
    let mut ids: Vec<Vec<u64>> = Vec::new();
    let threads = rayon::current_num_threads().max(1);
    for (file_idx, path) in paths.iter().enumerate() {
        let format = super::format_of(opts, path)?;
        let display = path.display().to_string();
        let t0 = std::time::Instant::now();
        let (opened, bytes) = table::open_chunked(path, format)?;
        // The file's SHA-256 (for run metadata) is computed alongside the
        // reading, on its own thread.
        let sha = std::thread::spawn(move || super::sha256_hex(&bytes));
        timing("open", t0);
        let t0 = std::time::Instant::now();
        let headers = match &opened {
            Opened::Table(t) => t.headers.clone(),
            Opened::Pieces(p) => p.headers.clone(),
            Opened::Parquet(p) => p.headers.clone(),
        };
        let out = &mut st.ing;
        let resolved = prepare_file(&display, &headers, opts, out)?;
        let decimal_comma = matches!(&opened, Opened::Table(t) if t.delimiter == Some(b';'))
            || matches!(&opened, Opened::Pieces(p) if p.delimiter == b';');
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("row");
        let ctx = convert::RowContext::new(&display, file_idx as u32, &resolved, &opts.mapping, decimal_comma, stem);
        let fast = fast && fast::applies(&ctx, keys);
        let (accepted_before, rejected_before) = (out.accepted(), out.rejected_count());
        let counts_before = st.facts.counts;
        let mut notes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut rows_read = 0u64;
        let mut blank_rows = 0u64;
        let mut absorb = |o: ChunkOut, st: &mut Streamed, ids: &mut Vec<Vec<u64>>| {
            st.ing.streamed += o.ids.len() as u64;
            st.ing.rejected.extend(o.rejected);
            for (n, line) in o.notes {
                notes.entry(n).or_insert((0, line)).0 += 1;
            }
            ids.push(o.ids);
            st.facts.absorb(o.facts);
        };
        let (format, encoding, delimiter) = match opened {
            Opened::Table(mut t) => {
                rows_read = t.rows_read();
                blank_rows = t.blank_rows;
                for m in &t.malformed {
                    st.ing.rejected.push(malformed(&display, m, t.raw_text(m.span, None)));
                }
                let rows = std::mem::take(&mut t.rows);
                let raw = |r: &RawRow| t.raw_text(r.span, Some(&r.cells));
                for batch in rows.chunks(TASK_ROWS * threads * 2) {
                    let outs: Vec<ChunkOut> =
                        batch.par_chunks(TASK_ROWS).map(|c| process_rows(&ctx, c, &raw, keys, cfg, fast)).collect();
                    for o in outs {
                        absorb(o, &mut st, &mut ids);
                    }
                }
                (t.format, t.encoding, t.delimiter)
            }
            Opened::Pieces(p) => {
                let raw = |r: &RawRow| table::raw_text_of(p.text.as_str(), r.span, Some(&r.cells));
                let idx: Vec<usize> = (0..p.pieces.len()).collect();
                let piece_rows = p.estimated_rows() / p.pieces.len().max(1);
                for batch in idx.chunks(threads * 2) {
                    let outs: Vec<(ChunkOut, Vec<RowError>, u64, u64)> = batch
                        .par_iter()
                        .map(|i| {
                            let mut w = Worker::new(&ctx, &raw, keys, cfg, fast, piece_rows);
                            let mut n_rows = 0u64;
                            let piece = if fast {
                                let mut row = RawRow::with_width(p.headers.len());
                                p.split_with(*i, &mut |r| {
                                    n_rows += 1;
                                    if !w.fast_row(&fast::SplitCells { ctx: &ctx, row: r }) {
                                        r.fill(&mut row);
                                        w.convert(&row);
                                    }
                                })
                            } else {
                                p.parse_with(*i, &mut |r: &RawRow| {
                                    n_rows += 1;
                                    w.row(r);
                                })
                            };
                            let bad = piece
                                .malformed
                                .iter()
                                .map(|m| malformed(&display, m, table::raw_text_of(p.text.as_str(), m.span, None)))
                                .collect();
                            let n = n_rows + piece.malformed.len() as u64;
                            (w.finish(), bad, n, piece.blank_rows)
                        })
                        .collect();
                    for (o, bad, n, blank) in outs {
                        rows_read += n;
                        blank_rows += blank;
                        st.ing.rejected.extend(bad);
                        absorb(o, &mut st, &mut ids);
                    }
                }
                let fmt = if p.delimiter == b'\t' { InputFormat::Tsv } else { InputFormat::Csv };
                (fmt, Some(p.encoding), Some(p.delimiter))
            }
            Opened::Parquet(p) => {
                let raw = |r: &RawRow| table::raw_text_of("", None, Some(&r.cells));
                // Only the columns the contract reads (pass-through columns
                // are not needed for scoring), one row group at a time.
                let columns: Vec<usize> = (0..headers.len()).filter(|i| resolved.reads(*i)).collect();
                // Where the wall time of the loop goes (EVIDEX_TIMING).
                let (mut t_decode, mut t_absorb) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
                // The next row group is decoded (by polars, on its own
                // threads) while the workers convert the current one.
                std::thread::scope(|scope| -> Result<(), IngestError> {
                    let decode = |g: usize| {
                        let columns = &columns;
                        let p = &p;
                        scope.spawn(move || p.read_group(g, columns))
                    };
                    let mut next = (!p.groups.is_empty()).then(|| decode(0));
                    for g in 0..p.groups.len() {
                        let t = std::time::Instant::now();
                        let df = next.take().expect("a decode was started").join().expect("decoding does not panic")?;
                        t_decode += t.elapsed();
                        if g + 1 < p.groups.len() {
                            next = Some(decode(g + 1));
                        }
                        let offsets: Vec<usize> = (0..df.height()).step_by(TASK_ROWS).collect();
                        for batch in offsets.chunks(threads) {
                            // Each task turns its own slice of the group into rows.
                            let outs: Vec<Result<(ChunkOut, u64), IngestError>> = batch
                                .par_iter()
                                .map(|&offset| {
                                    let rows = TASK_ROWS.min(df.height() - offset);
                                    let w = Worker::new(&ctx, &raw, keys, cfg, fast, rows);
                                    parquet_slice(&p, &df, g, offset, &columns, w)
                                })
                                .collect();
                            let t = std::time::Instant::now();
                            for out in outs {
                                let (o, n) = out?;
                                rows_read += n;
                                absorb(o, &mut st, &mut ids);
                            }
                            t_absorb += t.elapsed();
                        }
                    }
                    Ok(())
                })?;
                super::timing_total("wait for decoded Parquet row groups (part of read)", t_decode);
                super::timing_total("absorb chunks in input order (part of read)", t_absorb);
                (InputFormat::Parquet, None, None)
            }
        };
        timing("read+convert (streamed)", t0);
        let sha256 = sha.join().expect("the hashing thread does not panic");
        if rows_read == 0 {
            return Err(IngestError::NoRows { path: display });
        }
        let out = &mut st.ing;
        blank_warning(&display, blank_rows, out);
        notes_warnings(&display, notes, out);
        out.warnings.extend(st.facts.counts.since(&counts_before).warnings(&display));
        out.files.push(FileSummary {
            path: display,
            format,
            encoding: encoding.map(|e| e.name().to_string()),
            delimiter: delimiter.map(|d| if d == b'\t' { "tab".into() } else { (d as char).to_string() }),
            sha256,
            rows_read,
            accepted: out.accepted() - accepted_before,
            rejected: out.rejected_count() - rejected_before,
        });
    }
    let t0 = std::time::Instant::now();
    st.duplicate_ids = any_repeat(&ids);
    drop(ids);
    let pairs: Vec<(&str, &str)> = st.facts.tg_pairs.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
    let mut warnings = Vec::new();
    spelling_warnings(pairs.into_iter(), &mut warnings);
    st.ing.warnings.extend(warnings);
    st.ing.warnings.extend(super::quality::intervention_warnings(
        st.facts.int_spellings.iter().map(|((k, d), n)| (k.as_str(), d.as_str(), *n)),
    ));
    let files = &st.ing.files;
    st.ing.rejected.sort_by_key(|e| (files.iter().position(|f| f.path == e.file).unwrap_or(usize::MAX), e.line));
    timing("cross-row checks (streamed)", t0);
    Ok(st)
}

/// Whether any hash occurs twice across the chunks' sorted hash lists. The
/// hashes are split into 64 buckets by their top bits (a contiguous range
/// of every sorted list); buckets are checked in parallel, each gathered
/// into one reused buffer and sorted, so no copy of all hashes is made.
fn any_repeat(chunks: &[Vec<u64>]) -> bool {
    const BITS: u32 = 6;
    let bucket = |h: u64| h >> (64 - BITS);
    (0..1u64 << BITS)
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u64>, b| {
            buf.clear();
            for v in chunks {
                let lo = v.partition_point(|h| bucket(*h) < b);
                let hi = lo + v[lo..].partition_point(|h| bucket(*h) == b);
                buf.extend_from_slice(&v[lo..hi]);
            }
            buf.sort_unstable();
            buf.windows(2).any(|w| w[0] == w[1])
        })
        .any(|x| x)
}

/// One task of the Parquet reader: rows `offset..offset + TASK_ROWS` of row
/// group `g` (decoded with `columns`) through `w`; returns its output and
/// the number of rows read.
fn parquet_slice(
    p: &table::ParquetSource,
    df: &polars::prelude::DataFrame,
    g: usize,
    offset: usize,
    columns: &[usize],
    mut w: Worker<'_>,
) -> Result<(ChunkOut, u64), IngestError> {
    let width = p.headers.len();
    let n = if w.fast {
        typed_rows(p, df, g, offset, columns, &mut w)?
    } else {
        p.for_each_row(df, g, offset, TASK_ROWS, columns, &mut |r| w.row(r))?
    };
    let mut o = w.finish();
    if !o.rejected.is_empty() && columns.len() < width {
        // Rejected rows are reported with all their cells (the group is
        // decoded again with every column; rejections of a task are in
        // line order).
        let all: Vec<usize> = (0..width).collect();
        let full_df = p.read_group(g, &all)?;
        let mut k = 0;
        p.for_each_row(&full_df, g, offset, TASK_ROWS, &all, &mut |r| {
            while k < o.rejected.len() && o.rejected[k].line < r.line {
                k += 1;
            }
            if k < o.rejected.len() && o.rejected[k].line == r.line {
                o.rejected[k].raw = table::raw_text_of("", None, Some(&r.cells));
            }
        })?;
    }
    Ok((o, n))
}

/// Rows `offset..offset + TASK_ROWS` of Parquet row group `g` through the
/// typed fast path; rows it leaves go to the record converter as text
/// (the slice is cast to text once, at the first such row).
fn typed_rows(
    p: &table::ParquetSource,
    df: &polars::prelude::DataFrame,
    g: usize,
    offset: usize,
    columns: &[usize],
    w: &mut Worker<'_>,
) -> Result<u64, IngestError> {
    let width = p.headers.len();
    let err =
        |e: polars::prelude::PolarsError| IngestError::Parquet { path: p.path().to_string(), message: e.to_string() };
    let part = df.slice(offset as i64, TASK_ROWS);
    let first = (p.groups[g].0 + offset) as u64;
    let typed = TypedSlice::new(w.ctx, &part, columns, width, first).map_err(err)?;
    let mut text: Option<table::DfText> = None;
    let mut row = RawRow::with_width(width);
    for i in 0..typed.len() {
        if w.fast_row(&typed.row(i)) {
            continue;
        }
        let t = match &mut text {
            Some(t) => t,
            None => text.insert(table::DfText::new(&part, columns, width, p.path())?),
        };
        t.fill(i, first + i as u64 + 1, &mut row);
        w.convert(&row);
    }
    Ok(typed.len() as u64)
}

fn malformed(display: &str, m: &table::MalformedRow, raw: String) -> RowError {
    RowError {
        file: display.to_string(),
        line: m.line,
        column: None,
        value: None,
        message: m.message.clone(),
        suggestion: None,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::any_repeat;
    use proptest::prelude::*;

    /// The plain check: all hashes in one sorted vector.
    fn naive(chunks: &[Vec<u64>]) -> bool {
        let mut all: Vec<u64> = chunks.concat();
        all.sort_unstable();
        all.windows(2).any(|w| w[0] == w[1])
    }

    #[test]
    fn repeats_within_and_across_chunks_and_at_bucket_edges() {
        let top = |b: u64| b << 58;
        let cases: Vec<(Vec<Vec<u64>>, bool)> = vec![
            (vec![], false),
            (vec![vec![], vec![]], false),
            (vec![vec![1, 2, 3], vec![4, 5]], false),
            (vec![vec![1, 2, 2]], true),
            (vec![vec![1, 7], vec![3, 7]], true),
            (vec![vec![0, u64::MAX], vec![u64::MAX]], true),
            (vec![vec![0], vec![], vec![0]], true),
            // Last hash of one bucket and first of the next are not repeats.
            (vec![vec![top(1) - 1, top(1)], vec![top(2) - 1, top(2)]], false),
            (vec![vec![top(63)], vec![top(63)]], true),
        ];
        for (chunks, expected) in cases {
            assert_eq!(any_repeat(&chunks), expected, "{chunks:?}");
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
            let sorted: Vec<Vec<u64>> = chunks.into_iter().map(|mut v| { v.sort_unstable(); v }).collect();
            prop_assert_eq!(any_repeat(&sorted), naive(&sorted));
        }
    }
}

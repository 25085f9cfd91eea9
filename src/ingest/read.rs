//! The one driver: every format, chunk by chunk, through one row sink.
//!
//! Each file is opened by its format's reader, its header resolved
//! against the contract, and its rows handed out in chunks (blocks of
//! text, slices of Parquet row groups, runs of sheet rows). Chunks are
//! read in parallel, each by its own [`RowWorker`] (which applies the row
//! rules of [`super::row`] and keeps what its consumer needs), and their
//! outputs are absorbed in input order, so results do not depend on the
//! thread count. Every data row is counted once: accepted by the worker,
//! or rejected with its message and its text as it appeared.

use super::columns::Resolved;
use super::parquet::{self, ParquetSlice, ParquetSource, TASK_ROWS};
use super::row::{check_required, Fields, RowContext, Visit};
use super::text::{self, Cutting, End, TextReader};
use super::workbook;
use super::{Contract, FileSummary, IngestError, IngestOptions, InputFormat, LeftOut, RowError, Warning};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rows to reject whatever they hold, by (file index, line): the repeats of
/// a record id found by an earlier pass.
pub type Forced = FxHashMap<(u32, u64), RowError>;

/// Reads the rows of one chunk for a consumer.
pub trait RowWorker {
    type Out: Send;
    /// Accept the row (with an optional note for an aggregated warning) or
    /// reject it.
    ///
    /// # Errors
    /// The row's first problem.
    #[allow(clippy::result_large_err, reason = "RowError is the rejected-row report users read; see ingest::row")]
    fn row<F: Fields>(&mut self, ctx: &RowContext<'_>, f: &F) -> Result<Option<String>, RowError>;
    fn finish(self) -> Self::Out;
}

/// A consumer of rows: makes a worker per chunk and absorbs the chunks'
/// outputs in input order.
pub trait Sink: Sync {
    type Out: Send;
    type Worker<'w>: RowWorker<Out = Self::Out>
    where
        Self: 'w;
    /// A file's columns are resolved; its rows follow.
    fn start_file(&mut self, _ctx: &RowContext<'_>) {}
    fn worker(&self, rows_hint: usize) -> Self::Worker<'_>;
    fn absorb(&mut self, out: Self::Out);
    /// A file's rows are all absorbed: add its warnings.
    fn end_file(&mut self, _file: &str, _warnings: &mut Vec<Warning>) {}
    /// Forget everything absorbed: the files are read again from the first
    /// (a JSON Lines file whose keys were not all in its first blocks).
    fn restart(&mut self);
}

/// What reading the files left besides the sink's own output.
#[derive(Debug, Default)]
pub struct ReadLog {
    pub files: Vec<FileSummary>,
    pub rejected: Vec<RowError>,
    pub warnings: Vec<Warning>,
    /// Rows left out, by placeholder name (all files).
    pub left_out: BTreeMap<String, u64>,
}

/// One chunk's rows through a worker.
struct Chunk<'c, W> {
    ctx: &'c RowContext<'c>,
    w: W,
    forced: Option<&'c Forced>,
    rejected: Vec<RowError>,
    notes: Vec<(String, u64)>,
    left_out: FxHashMap<String, u64>,
    rows: u64,
    blank: u64,
}

/// A chunk's rows with what its reader returned, or the file's error.
type ChunkResult<O, R> = Result<(ChunkOut<O>, R), IngestError>;

/// What a chunk gives back.
struct ChunkOut<O> {
    out: O,
    rejected: Vec<RowError>,
    notes: Vec<(String, u64)>,
    left_out: FxHashMap<String, u64>,
    rows: u64,
    blank: u64,
}

impl<'c, W: RowWorker> Chunk<'c, W> {
    fn new(ctx: &'c RowContext<'c>, w: W, forced: Option<&'c Forced>) -> Self {
        Chunk {
            ctx,
            w,
            forced,
            rejected: Vec::new(),
            notes: Vec::new(),
            left_out: FxHashMap::default(),
            rows: 0,
            blank: 0,
        }
    }
    fn finish(self) -> ChunkOut<W::Out> {
        ChunkOut {
            out: self.w.finish(),
            rejected: self.rejected,
            notes: self.notes,
            left_out: self.left_out,
            rows: self.rows,
            blank: self.blank,
        }
    }
}

impl<W: RowWorker> Visit for Chunk<'_, W> {
    fn row<F: Fields>(&mut self, f: &F) {
        self.rows += 1;
        if let Some(e) = self.forced.and_then(|m| m.get(&(self.ctx.file_idx, f.line()))) {
            let mut e = e.clone();
            e.raw = f.raw();
            self.rejected.push(e);
            return;
        }
        match self.w.row(self.ctx, f) {
            Ok(Some(note)) => {
                for n in note.split(super::row::NOTE_SEP) {
                    self.notes.push((n.to_string(), f.line()));
                }
            }
            Ok(None) => {}
            Err(RowError { left_out: Some(LeftOut::Placeholder(name)), .. }) => {
                *self.left_out.entry(name).or_insert(0) += 1;
            }
            Err(mut e) => {
                e.raw = f.raw();
                self.rejected.push(e);
            }
        }
    }
    fn malformed(&mut self, line: u64, message: String, raw: String) {
        self.rows += 1;
        self.rejected.push(RowError {
            file: self.ctx.file.to_string(),
            line,
            column: None,
            value: None,
            message,
            suggestion: None,
            raw,
            left_out: None,
        });
    }
    fn blank(&mut self) {
        self.blank += 1;
    }
}

/// Per-file tallies while chunks are absorbed.
#[derive(Default)]
struct Tally {
    rows: u64,
    blank: u64,
    rejected: u64,
    left_out: u64,
    notes: BTreeMap<String, (u64, u64)>,
}

impl Tally {
    fn absorb<S: Sink>(&mut self, o: ChunkOut<S::Out>, sink: &mut S, log: &mut ReadLog) {
        self.rows += o.rows;
        self.blank += o.blank;
        self.rejected += o.rejected.len() as u64;
        log.rejected.extend(o.rejected);
        for (name, n) in o.left_out {
            self.left_out += n;
            *log.left_out.entry(name).or_insert(0) += n;
        }
        for (n, line) in o.notes {
            self.notes.entry(n).or_insert((0, line)).0 += 1;
        }
        sink.absorb(o.out);
    }
}

/// Read `items` in parallel, one worker each (about `hint(item)` rows),
/// with `read`, and absorb the chunks in input order. Stops after the first
/// chunk whose result `stop` accepts (the chunks after it are dropped) and
/// returns that result.
#[allow(clippy::too_many_arguments)]
fn run_batch<S, T, R, F>(
    items: &[T],
    ctx: &RowContext<'_>,
    forced: Option<&Forced>,
    sink: &mut S,
    tally: &mut Tally,
    log: &mut ReadLog,
    hint: impl Fn(&T) -> usize + Sync,
    read: F,
    stop: impl Fn(&R) -> bool,
) -> Result<Option<R>, IngestError>
where
    S: Sink,
    T: Sync,
    R: Send,
    F: for<'c> Fn(&T, &mut Chunk<'c, S::Worker<'c>>) -> Result<R, IngestError> + Sync,
{
    let outs: Vec<ChunkResult<S::Out, R>> = {
        let s = &*sink;
        items
            .par_iter()
            .map(|item| {
                let mut c = Chunk::new(ctx, s.worker(hint(item)), forced);
                let r = read(item, &mut c)?;
                Ok((c.finish(), r))
            })
            .collect()
    };
    for o in outs {
        let (o, r) = o?;
        tally.absorb(o, sink, log);
        if stop(&r) {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// The input format: `--input-format`, else the file extension.
///
/// # Errors
/// A directory, or an extension that names no known format.
pub fn format_of(opts: &IngestOptions, path: &Path) -> Result<InputFormat, IngestError> {
    if path.is_dir() {
        return Err(IngestError::IsDirectory { path: path.display().to_string() });
    }
    match opts.format {
        Some(f) => Ok(f),
        None => InputFormat::from_path(path),
    }
}

/// The first bytes of a file (for its signature).
fn head_bytes(path: &Path, display: &str) -> Result<Vec<u8>, IngestError> {
    use std::io::Read;
    let io = |e: std::io::Error| IngestError::Io { path: display.to_string(), message: e.to_string() };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(8192);
    f.by_ref().take(8192).read_to_end(&mut head).map_err(io)?;
    Ok(head)
}

/// SHA-256 of a file, read in pieces on its own thread.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Column resolution, the contract check, and the warning about
/// pass-through columns.
fn prepare_file(
    display: &str,
    headers: &[String],
    opts: &IngestOptions,
    warnings: &mut Vec<Warning>,
) -> Result<Resolved, IngestError> {
    let resolved = super::columns::resolve_headers(display, headers, &opts.mapping)?;
    check_required(display, headers, &resolved, opts.contract)?;
    if !resolved.extra.is_empty() && opts.contract == Contract::Scoring {
        warnings.push(Warning {
            file: Some(display.to_string()),
            line: None,
            message: pass_through_message(resolved.extra.iter().map(|(_, n)| n.as_str())),
        });
    }
    for message in super::columns::header_warnings(&resolved) {
        warnings.push(Warning { file: Some(display.to_string()), line: None, message });
    }
    Ok(resolved)
}

/// The warning about columns outside the contract: at most 12 names, then
/// how many more; columns without a header are counted, not listed.
fn pass_through_message<'a>(extra: impl Iterator<Item = &'a str>) -> String {
    const SHOWN: usize = 12;
    let (mut named, mut unnamed) = (Vec::new(), 0usize);
    for n in extra {
        if n.trim().is_empty() {
            unnamed += 1;
        } else {
            named.push(n);
        }
    }
    let total = named.len() + unnamed;
    let mut parts: Vec<String> = named.iter().take(SHOWN).map(|n| n.to_string()).collect();
    if named.len() > SHOWN {
        parts.push(format!("and {} more", named.len() - SHOWN));
    }
    if unnamed > 0 {
        parts.push(format!("{unnamed} without a header"));
    }
    format!(
        "{total} column{} not in the input contract, kept as pass-through: {}",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// A file opened by its format's reader.
enum Opened {
    Delimited { reader: TextReader, delim: u8 },
    Jsonl { index: FxHashMap<String, usize>, feed: JsonFeed },
    Parquet(ParquetSource),
    Sheet(workbook::Sheet),
}

/// The blocks of a JSON Lines file: those already read for their keys,
/// then the rest.
struct JsonFeed {
    first: Option<Vec<text::Block>>,
    rest: text::Feed,
}

impl JsonFeed {
    /// The header came from the first blocks and the file goes on after
    /// them.
    fn more_follows(&self) -> bool {
        self.first.as_ref().is_some_and(|b| b.last().is_some_and(|b| !b.last))
    }
}

/// How a file was read (for its summary).
struct Shape {
    encoding: Option<String>,
    delimiter: Option<String>,
}

/// Read, check and hand every row of `paths` to `sink`, in order.
///
/// # Errors
/// The first fatal [`IngestError`]; row-level problems are in
/// [`ReadLog::rejected`].
pub fn read_files<S: Sink>(
    paths: &[PathBuf],
    opts: &IngestOptions,
    forced: Option<&Forced>,
    sink: &mut S,
) -> Result<ReadLog, IngestError> {
    // JSON Lines files are read in one pass, their header taken from the
    // keys of the first blocks; a key first seen later starts the reading
    // over with a keys-only pass per JSON Lines file first.
    let mut json_keys_first = false;
    'again: loop {
        let mut log = ReadLog::default();
        for (file_idx, path) in paths.iter().enumerate() {
            if read_file(file_idx as u32, path, opts, forced, json_keys_first, sink, &mut log)? == FileRead::KeySeenLate
            {
                sink.restart();
                json_keys_first = true;
                continue 'again;
            }
        }
        if let Some(w) = left_out_warning(&log.left_out) {
            log.warnings.push(w);
        }
        return Ok(log);
    }
}

/// How reading one file ended.
#[derive(Debug, PartialEq, Eq)]
enum FileRead {
    Done,
    /// A JSON Lines key absent from the first blocks (whose keys made the
    /// header): what was read is not what a full key pass would give.
    KeySeenLate,
}

/// The warning on rows left out for their placeholder intervention: how
/// many, the names by count (at most 12), and how to keep them.
pub fn left_out_warning(by_name: &BTreeMap<String, u64>) -> Option<Warning> {
    const SHOWN: usize = 12;
    let total: u64 = by_name.values().sum();
    if total == 0 {
        return None;
    }
    // Spellings of one name are counted together, shown as the most
    // frequent (ties: the first in sort order).
    let mut by_key: BTreeMap<String, (u64, (u64, &String))> = BTreeMap::new();
    for (name, n) in by_name {
        let e = by_key.entry(crate::model::intervention_key(name)).or_insert((0, (0, name)));
        e.0 += n;
        if *n > e.1 .0 {
            e.1 = (*n, name);
        }
    }
    let mut names: Vec<(&String, &u64)> = by_key.values().map(|(n, (_, name))| (*name, n)).collect();
    names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut parts: Vec<String> =
        names.iter().take(SHOWN).map(|(k, n)| format!("'{}' {n}", crate::model::shown(k))).collect();
    if names.len() > SHOWN {
        parts.push(format!("and {} more names", names.len() - SHOWN));
    }
    Some(Warning {
        file: None,
        line: None,
        message: format!(
            "{total} row{} whose intervention is a placeholder ({}) {} left out; --keep-placeholders keeps them",
            if total == 1 { "" } else { "s" },
            parts.join(", "),
            if total == 1 { "was" } else { "were" }
        ),
    })
}

fn read_file<S: Sink>(
    file_idx: u32,
    path: &Path,
    opts: &IngestOptions,
    forced: Option<&Forced>,
    json_keys_first: bool,
    sink: &mut S,
    log: &mut ReadLog,
) -> Result<FileRead, IngestError> {
    let format = format_of(opts, path)?;
    let file_display = path.display().to_string();
    let head = head_bytes(path, &file_display)?;
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty { path: file_display });
    }
    super::sniff::check(&head, format, &file_display)?;
    let t0 = std::time::Instant::now();
    std::thread::scope(|scope| -> Result<FileRead, IngestError> {
        let sha = scope.spawn(|| sha256_file(path));
        let mut display = file_display.clone();
        let mut encoding = None;
        let (opened, headers) = match format {
            InputFormat::Csv | InputFormat::Tsv => {
                let (mut reader, enc) = TextReader::open(path, &display, Cutting::Parity)?;
                encoding = Some(enc);
                let delim = reader.set_delimiter((format == InputFormat::Tsv).then_some(b'\t'))?;
                let Some(headers) = reader.header()? else {
                    return Err(IngestError::Empty { path: display.clone() });
                };
                (Opened::Delimited { reader, delim }, headers)
            }
            InputFormat::Jsonl => {
                let (reader, enc) = TextReader::open(path, &display, Cutting::Lines)?;
                encoding = Some(enc);
                let threads = rayon::current_num_threads().max(1);
                let (headers, feed) = if json_keys_first {
                    let headers = json_headers(scope, reader)?;
                    let (reader, _) = TextReader::open(path, &display, Cutting::Lines)?;
                    (headers, JsonFeed { first: None, rest: text::spawn_reader(scope, reader, threads * 2) })
                } else {
                    // One pass: the header is the keys of the first batch
                    // of blocks, which are then read as rows.
                    let feed = text::spawn_reader(scope, reader, threads * 2);
                    let first = next_batch(&feed, threads * 2)?;
                    let mut headers = Vec::new();
                    add_json_keys(&first, &mut headers, &mut rustc_hash::FxHashSet::default());
                    (headers, JsonFeed { first: Some(first), rest: feed })
                };
                let index = headers.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
                (Opened::Jsonl { index, feed }, headers)
            }
            InputFormat::Parquet => {
                let p = ParquetSource::open(path, &display)?;
                let h = p.headers.clone();
                (Opened::Parquet(p), h)
            }
            InputFormat::Xlsx | InputFormat::Xls | InputFormat::Ods => {
                let fits = |shown: &str, headers: &[String]| -> Result<(), IngestError> {
                    let r = super::columns::resolve_headers(shown, headers, &opts.mapping)?;
                    check_required(shown, headers, &r, opts.contract)
                };
                let sheet = workbook::open(path, &display, opts.sheet.as_ref(), &fits)?;
                display = workbook::sheet_display(&display, &sheet.name);
                let h = sheet.headers.clone();
                (Opened::Sheet(sheet), h)
            }
        };
        super::timing("open", t0);
        let resolved = match prepare_file(&display, &headers, opts, &mut log.warnings) {
            Ok(r) => r,
            // The columns of a JSON Lines file are judged on all its keys:
            // those of the first blocks are not all when more follow.
            Err(_) if matches!(&opened, Opened::Jsonl { feed, .. } if feed.more_follows()) => {
                return Ok(FileRead::KeySeenLate);
            }
            Err(e) => return Err(e),
        };
        let decimal_comma = match &opened {
            Opened::Delimited { delim, .. } => *delim == b';',
            // Text cells of a workbook may carry a decimal comma (number
            // cells are numbers).
            Opened::Sheet(_) => true,
            _ => false,
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("row");
        let mut ctx = RowContext::new(&display, file_idx, &headers, &resolved, &opts.mapping, decimal_comma, stem);
        ctx.keep_placeholders = opts.keep_placeholders;
        ctx.check_every_row = opts.check_every_row;
        if let Opened::Sheet(s) = &opened {
            ctx.letters = s.letters.clone();
        }
        let ctx = ctx;
        sink.start_file(&ctx);
        let mut tally = Tally::default();
        let width = headers.len();
        let threads = rayon::current_num_threads().max(1);
        let t0 = std::time::Instant::now();
        let shape = match opened {
            Opened::Delimited { reader, delim } => {
                let mut rx = text::spawn_reader(scope, reader, threads * 2);
                'blocks: loop {
                    let batch = next_batch(&rx, threads * 2)?;
                    if batch.is_empty() {
                        break;
                    }
                    let end = run_batch(
                        &batch,
                        &ctx,
                        forced,
                        sink,
                        &mut tally,
                        log,
                        |b| b.text.len() / 64,
                        |b, c| text::delimited_block(b, delim, width, ctx.file, c),
                        |end| *end != End::Clean,
                    )?;
                    recycle(&rx, batch);
                    if let Some(End::Unfinished { offset, line }) = end {
                        // The parity guess cut inside a record: read the
                        // rest of the file with exact cuts.
                        drop(rx);
                        let r = TextReader::reopen_at(path, &display, delim, offset, line)?;
                        rx = text::spawn_reader(scope, r, threads * 2);
                        continue 'blocks;
                    }
                }
                let d = if delim == b'\t' { "tab".to_string() } else { (delim as char).to_string() };
                Shape { encoding: encoding.map(|e| e.name().to_string()), delimiter: Some(d) }
            }
            Opened::Jsonl { index, mut feed } => {
                loop {
                    let batch = match feed.first.take() {
                        Some(b) => b,
                        None => next_batch(&feed.rest, threads * 2)?,
                    };
                    if batch.is_empty() {
                        break;
                    }
                    // `true`: a key outside the header (possible only when
                    // the header came from the first blocks).
                    let late = run_batch(
                        &batch,
                        &ctx,
                        forced,
                        sink,
                        &mut tally,
                        log,
                        |b| b.text.len() / 128,
                        |b, c| text::json_block(b, &index, ctx.file, c),
                        // After a full key pass every key is in the header;
                        // never start over twice.
                        |late| *late && !json_keys_first,
                    )?;
                    recycle(&feed.rest, batch);
                    if late.is_some() {
                        return Ok(FileRead::KeySeenLate);
                    }
                }
                Shape { encoding: encoding.map(|e| e.name().to_string()), delimiter: None }
            }
            Opened::Parquet(p) => {
                read_parquet(&p, &ctx, forced, sink, &mut tally, log)?;
                Shape { encoding: None, delimiter: None }
            }
            Opened::Sheet(sheet) => {
                let n = sheet.data_rows();
                let starts: Vec<usize> = (0..n).step_by(TASK_ROWS).collect();
                run_batch(
                    &starts,
                    &ctx,
                    forced,
                    sink,
                    &mut tally,
                    log,
                    |&from| (from + TASK_ROWS).min(n) - from,
                    |&from, c| {
                        sheet.rows(from, (from + TASK_ROWS).min(n), c);
                        Ok(())
                    },
                    |_| false,
                )?;
                Shape { encoding: None, delimiter: None }
            }
        };
        super::timing("read rows", t0);
        let sha256 = sha
            .join()
            .map_err(|_| IngestError::Io { path: file_display.clone(), message: "hashing failed".into() })?
            .map_err(|e| IngestError::Io { path: file_display.clone(), message: e.to_string() })?;
        if tally.rows == 0 {
            return Err(IngestError::NoRows { path: display });
        }
        if tally.blank > 0 {
            log.warnings.push(Warning {
                file: Some(display.clone()),
                line: None,
                message: format!("{} blank row(s) skipped (not counted as data rows)", tally.blank),
            });
        }
        for (msg, (n, first_line)) in std::mem::take(&mut tally.notes) {
            let rows = format!("{n} row{}", if n == 1 { "" } else { "s" });
            let message = if msg.contains(super::row::NOTE_ROWS) {
                format!("{} (first shown)", msg.replace(super::row::NOTE_ROWS, &rows))
            } else {
                format!("{msg} ({rows}, first shown)")
            };
            log.warnings.push(Warning { file: Some(display.clone()), line: Some(first_line), message });
        }
        sink.end_file(&display, &mut log.warnings);
        log.files.push(FileSummary {
            path: display,
            format,
            encoding: shape.encoding,
            delimiter: shape.delimiter,
            sha256,
            rows_read: tally.rows,
            accepted: tally.rows - tally.rejected - tally.left_out,
            rejected: tally.rejected,
            left_out: tally.left_out,
        });
        Ok(FileRead::Done)
    })
}

/// Hand the batch's buffers back to the reader.
fn recycle(feed: &text::Feed, batch: Vec<text::Block>) {
    for b in batch {
        // The reader may have finished: then the buffer is dropped.
        let _ = feed.recycle.send(b.text);
    }
}

/// Up to `n` blocks from the reader (fewer at the end of the file).
fn next_batch(feed: &text::Feed, n: usize) -> Result<Vec<text::Block>, IngestError> {
    let mut batch = Vec::with_capacity(n);
    while batch.len() < n {
        match feed.blocks.recv() {
            Ok(b) => batch.push(b?),
            Err(_) => break,
        }
    }
    Ok(batch)
}

/// The header of a JSON Lines file: every key of its objects, in order of
/// first appearance (a first pass over the file).
fn json_headers<'s>(scope: &'s std::thread::Scope<'s, '_>, reader: TextReader) -> Result<Vec<String>, IngestError> {
    let threads = rayon::current_num_threads().max(1);
    let rx = text::spawn_reader(scope, reader, threads * 2);
    let mut headers = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    loop {
        let batch = next_batch(&rx, threads * 2)?;
        if batch.is_empty() {
            break;
        }
        add_json_keys(&batch, &mut headers, &mut seen);
    }
    Ok(headers)
}

/// Add the keys of `batch` not yet `seen` to `headers`, in order of first
/// appearance.
fn add_json_keys(batch: &[text::Block], headers: &mut Vec<String>, seen: &mut rustc_hash::FxHashSet<String>) {
    let keys: Vec<Vec<String>> = batch.par_iter().map(text::json_keys).collect();
    for k in keys.into_iter().flatten() {
        if seen.insert(k.clone()) {
            headers.push(k);
        }
    }
}

/// A Parquet file: row groups decoded one ahead (on their own thread, by
/// polars) while the current one is read in slices.
fn read_parquet<S: Sink>(
    p: &ParquetSource,
    ctx: &RowContext<'_>,
    forced: Option<&Forced>,
    sink: &mut S,
    tally: &mut Tally,
    log: &mut ReadLog,
) -> Result<(), IngestError> {
    std::thread::scope(|scope| read_groups(scope, p, ctx, forced, sink, tally, log))
}

fn read_groups<'s, S: Sink>(
    scope: &'s std::thread::Scope<'s, '_>,
    p: &'s ParquetSource,
    ctx: &RowContext<'_>,
    forced: Option<&Forced>,
    sink: &mut S,
    tally: &mut Tally,
    log: &mut ReadLog,
) -> Result<(), IngestError> {
    let width = p.headers.len();
    // Only the columns the contract reads (pass-through columns are
    // decoded again for a rejected row's text).
    let columns = std::sync::Arc::new(parquet::read_columns(ctx, width));
    let decode = |g: usize| {
        let columns = std::sync::Arc::clone(&columns);
        scope.spawn(move || p.read_group(g, &columns))
    };
    let threads = rayon::current_num_threads().max(1);
    let mut next = (!p.groups.is_empty()).then(|| decode(0));
    for g in 0..p.groups.len() {
        let Some(handle) = next.take() else { break };
        let df = handle
            .join()
            .map_err(|_| IngestError::Parquet { path: p.path().to_string(), message: "the decoder failed".into() })??;
        if g + 1 < p.groups.len() {
            next = Some(decode(g + 1));
        }
        let offsets: Vec<usize> = (0..df.height()).step_by(TASK_ROWS).collect();
        for batch in offsets.chunks(threads) {
            let slices: Vec<ParquetSlice> = batch
                .par_iter()
                .map(|&offset| {
                    let part = df.slice(offset as i64, TASK_ROWS);
                    ParquetSlice::new(ctx, &part, &columns, width, (p.groups[g].0 + offset) as u64, ctx.file)
                })
                .collect::<Result<_, _>>()?;
            run_batch(
                &slices,
                ctx,
                forced,
                sink,
                tally,
                log,
                ParquetSlice::len,
                |slice, c| {
                    slice.rows(c);
                    if !c.rejected.is_empty() {
                        // With every column, for the rejected rows' text.
                        let lines: Vec<u64> = c.rejected.iter().map(|e| e.line).collect();
                        for (e, r) in c.rejected.iter_mut().zip(parquet::raw_rows(p, g, &lines)?) {
                            e.raw = r;
                        }
                    }
                    Ok(())
                },
                |_| false,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pass_through_message;

    #[test]
    fn pass_through_warning_is_short() {
        assert_eq!(
            pass_through_message(["notes", "", " "].into_iter()),
            "3 columns not in the input contract, kept as pass-through: notes, 2 without a header"
        );
        let many: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let m = pass_through_message(many.iter().map(String::as_str));
        assert!(m.starts_with("20 columns not in the input contract, kept as pass-through: c0, c1,"), "{m}");
        assert!(m.ends_with("c11, and 8 more"), "{m}");
        assert_eq!(
            pass_through_message(["notes"].into_iter()),
            "1 column not in the input contract, kept as pass-through: notes"
        );
    }
}

//! Reading evaluation records from the files M&E specialists have.
//!
//! One path for every format and every consumer:
//! file -> format reader ([`text`] for CSV, TSV and JSON Lines, [`parquet`],
//! [`workbook`]), streamed in chunks -> [`columns::resolve_headers`]
//! (contract columns, aliases, mapping) -> [`row`] (every row rule, once)
//! -> a consumer ([`read::Sink`]): records for `validate`, `meta` and
//! `explain` (here), compact facts for `score` (in `score::stream`).
//! Cross-row checks follow (duplicate ids, studies mixing interventions,
//! near-duplicate target groups). Every data row ends up accepted,
//! rejected, or left out (a valid row whose intervention is a placeholder
//! name, counted in a warning unless placeholders are kept);
//! [`Ingested::rows_read`] equals `accepted + rejected + left_out`. Calls
//! into file-format libraries go through [`guard::guarded`], which turns
//! their panics on damaged files into the file's error.

pub mod columns;
pub mod decode;
pub mod guard;
pub mod pages;
pub mod parquet;
pub mod quality;
pub mod read;
pub mod row;
pub mod sniff;
pub mod text;
pub mod workbook;
pub mod worldbank;

pub use columns::{Col, ColumnMapping};
pub use row::EffectRow;
pub use workbook::SheetChoice;

use crate::model::{edit_distance, EvaluationRecord};
use rayon::prelude::*;
use read::{Forced, RowWorker, Sink};
use row::{Fields, Memo, RowContext};
use rustc_hash::FxHashMap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
    /// Excel 2007+ (`.xlsx`, `.xlsm`, `.xlsb`).
    Xlsx,
    /// Excel 97-2003.
    Xls,
    /// OpenDocument spreadsheet (LibreOffice).
    Ods,
}

impl InputFormat {
    pub const NAMES: &'static str = "csv, tsv, jsonl, parquet, xlsx, xls, ods";

    /// Parse a `--input-format` value (or an extension).
    pub fn parse(s: &str) -> Option<InputFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Some(InputFormat::Csv),
            "tsv" | "tab" => Some(InputFormat::Tsv),
            "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
            "parquet" | "pq" => Some(InputFormat::Parquet),
            "xlsx" | "xlsm" | "xlsb" | "excel" => Some(InputFormat::Xlsx),
            "xls" => Some(InputFormat::Xls),
            "ods" => Some(InputFormat::Ods),
            _ => None,
        }
    }

    /// Choose by file extension.
    ///
    /// # Errors
    /// [`IngestError::UnknownFormat`] naming the extension and the formats known.
    pub fn from_path(path: &Path) -> Result<InputFormat, IngestError> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        InputFormat::parse(ext).ok_or_else(|| IngestError::UnknownFormat {
            path: path.display().to_string(),
            found: if ext.is_empty() { "no extension".into() } else { format!("extension '.{ext}'") },
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
            InputFormat::Jsonl => "jsonl",
            InputFormat::Parquet => "parquet",
            InputFormat::Xlsx => "xlsx",
            InputFormat::Xls => "xls",
            InputFormat::Ods => "ods",
        }
    }

    /// A workbook format.
    pub fn is_workbook(self) -> bool {
        matches!(self, InputFormat::Xlsx | InputFormat::Xls | InputFormat::Ods)
    }
}

/// Fatal input problems: the file as a whole cannot be used (exit code 2).
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{path}: cannot read: {message}")]
    Io { path: String, message: String },
    #[error("{path}: the file is empty; expected a header row and at least one data row")]
    Empty { path: String },
    #[error("{path}: has a header but no data rows")]
    NoRows { path: String },
    #[error(
        "{path}: unknown input format ({found}); expected one of {}; use --input-format to choose",
        InputFormat::NAMES
    )]
    UnknownFormat { path: String, found: String },
    #[error("{path}: {what}; {hint}")]
    NotATable { path: String, what: String, hint: String },
    #[error("{path}: is a directory; give a file (CSV, TSV, JSON Lines, Parquet or a workbook)")]
    IsDirectory { path: String },
    #[error("{path}:{line}: {message}")]
    Malformed { path: String, line: u64, message: String },
    #[error("{path}: {message}")]
    Workbook { path: String, message: String },
    #[error("{path}: cannot read Parquet: {message}")]
    Parquet { path: String, message: String },
    #[error("{path}: missing required column{} {}; {hint}headers present: {found}", if .missing.len() > 1 { "s" } else { "" }, .missing.join(", "))]
    MissingColumns { path: String, missing: Vec<String>, found: String, hint: String },
    #[error("{path}: {message}")]
    AmbiguousHeader { path: String, message: String },
    #[error("{path}: column mapping: {message}")]
    Mapping { path: String, message: String },
}

/// A rejected row: where, which column, which value, why, and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub message: String,
    pub suggestion: Option<String>,
    /// The row as it appeared in the input.
    #[serde(skip)]
    pub raw: String,
    /// Set when the row is valid but left out of scoring rather than
    /// rejected: the reader counts it apart (see [`FileSummary::left_out`]).
    #[serde(skip)]
    pub left_out: Option<LeftOut>,
}

/// Why a valid row is left out of scoring.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftOut {
    /// Its intervention is a placeholder name (as written, after `[names]`).
    Placeholder(String),
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        match (&self.column, &self.value) {
            (Some(c), Some(v)) if !v.is_empty() => {
                write!(f, "column '{c}': value '{}': {}", crate::model::shown(v), self.message)?
            }
            (Some(c), _) => write!(f, "column '{c}': {}", self.message)?,
            (None, _) => write!(f, "row {}", self.message)?,
        }
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean '{s}'?)")?;
        }
        Ok(())
    }
}

/// Something worth a look that did not reject a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub file: Option<String>,
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(l)) => write!(f, "{file}:{l}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Per-file summary.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub format: InputFormat,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sha256: String,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Valid rows left out of scoring (placeholder interventions);
    /// `rows_read = accepted + rejected + left_out`.
    pub left_out: u64,
}

/// Which columns a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Contract {
    /// intervention, target_group, income_setting (or country), rating (or effect sizes).
    #[default]
    Scoring,
    /// Effect-size columns only (for `evidex meta`).
    Effects,
}

/// Ingest options, validated before any file is opened.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub mapping: ColumnMapping,
    pub format: Option<InputFormat>,
    pub contract: Contract,
    /// The workbook sheet to read (`--sheet`); default: the first sheet
    /// with the contract's columns.
    pub sheet: Option<SheetChoice>,
    /// Accept rows whose intervention is a placeholder name (with a note)
    /// instead of leaving them out, counted (`--keep-placeholders`; and
    /// `validate`, which checks rows rather than scoring them).
    pub keep_placeholders: bool,
    /// Check every vocabulary field of every row afresh instead of once
    /// per distinct value (the per-worker [`row::Memo`]). Slower; the
    /// same rows are accepted and rejected with the same messages, which
    /// `tests/integration/fuzz.rs` checks on the fuzzing corpus. Not a
    /// command-line option.
    pub check_every_row: bool,
}

/// The outcome of reading one or more files.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    pub files: Vec<FileSummary>,
    pub records: Vec<EvaluationRecord>,
    pub rejected: Vec<RowError>,
    pub warnings: Vec<Warning>,
    /// Names of pass-through columns per record (`records[i].extra` aligns).
    pub extra_columns: Vec<String>,
    /// Rows read under [`Contract::Effects`] (empty otherwise).
    pub effect_rows: Vec<EffectRow>,
    /// Rows accepted by a consumer that keeps neither records nor effect
    /// rows (the compact facts of `score`).
    pub streamed: u64,
}

impl Ingested {
    pub fn rows_read(&self) -> u64 {
        self.files.iter().map(|f| f.rows_read).sum()
    }
    pub fn accepted(&self) -> u64 {
        (self.records.len() + self.effect_rows.len()) as u64 + self.streamed
    }
    pub fn rejected_count(&self) -> u64 {
        self.rejected.len() as u64
    }
    /// Valid rows left out of scoring (placeholder interventions).
    pub fn left_out(&self) -> u64 {
        self.files.iter().map(|f| f.left_out).sum()
    }
    pub fn file_name(&self, idx: u32) -> &str {
        self.files.get(idx as usize).map_or("?", |f| f.path.as_str())
    }
}

/// Records: what `validate`, `meta` and `explain` keep of each row.
#[derive(Default)]
struct RecordSink {
    records: Vec<EvaluationRecord>,
    extra_columns: Vec<String>,
    extra_index: BTreeMap<String, usize>,
    /// (file column, slot in `extra_columns`) of the current file.
    slots: Vec<(usize, usize)>,
    /// Records before the current file (for its quality counts).
    file_start: usize,
}

struct RecordWorker<'w> {
    sink: &'w RecordSink,
    memo: Memo,
    out: Vec<EvaluationRecord>,
}

impl RowWorker for RecordWorker<'_> {
    type Out = Vec<EvaluationRecord>;
    fn row<F: Fields>(&mut self, ctx: &RowContext<'_>, f: &F) -> Result<Option<String>, RowError> {
        let mut view = row::read_row(ctx, f, &mut self.memo)?;
        let note = view.note.take();
        let mut rec = view.into_record(ctx)?;
        if !self.sink.slots.is_empty() {
            rec.extra = vec![None; self.sink.extra_columns.len()];
            for &(i, slot) in &self.sink.slots {
                let v = f.field(i).trim();
                if !v.is_empty() {
                    rec.extra[slot] = Some(v.to_string());
                }
            }
        }
        self.out.push(rec);
        Ok(note)
    }
    fn finish(self) -> Vec<EvaluationRecord> {
        self.out
    }
}

impl Sink for RecordSink {
    type Out = Vec<EvaluationRecord>;
    type Worker<'w> = RecordWorker<'w>;
    fn start_file(&mut self, ctx: &RowContext<'_>) {
        self.file_start = self.records.len();
        self.slots = ctx
            .resolved
            .extra
            .iter()
            .map(|(i, name)| {
                let n = self.extra_index.len();
                let slot = *self.extra_index.entry(name.clone()).or_insert(n);
                if slot == self.extra_columns.len() {
                    self.extra_columns.push(name.clone());
                }
                (*i, slot)
            })
            .collect();
    }
    fn worker(&self, rows_hint: usize) -> RecordWorker<'_> {
        RecordWorker { sink: self, memo: Memo::new(), out: Vec::with_capacity(rows_hint) }
    }
    fn absorb(&mut self, out: Vec<EvaluationRecord>) {
        self.records.extend(out);
    }
    fn restart(&mut self) {
        *self = RecordSink::default();
    }
    fn end_file(&mut self, file: &str, warnings: &mut Vec<Warning>) {
        let mut counts = quality::RowCounts::default();
        for r in &self.records[self.file_start..] {
            counts.add_record(r);
        }
        warnings.extend(counts.warnings(file));
    }
}

/// Effect rows: what `meta` keeps under the effects-only contract.
#[derive(Default)]
struct EffectSink {
    rows: Vec<EffectRow>,
    /// Normalised header names of the current file.
    names: Vec<String>,
}

struct EffectWorker<'w> {
    names: &'w [String],
    memo: Memo,
    out: Vec<EffectRow>,
}

impl RowWorker for EffectWorker<'_> {
    type Out = Vec<EffectRow>;
    fn row<F: Fields>(&mut self, ctx: &RowContext<'_>, f: &F) -> Result<Option<String>, RowError> {
        self.out.push(row::read_effect_row(ctx, f, self.names, &mut self.memo)?);
        Ok(None)
    }
    fn finish(self) -> Vec<EffectRow> {
        self.out
    }
}

impl Sink for EffectSink {
    type Out = Vec<EffectRow>;
    type Worker<'w> = EffectWorker<'w>;
    fn start_file(&mut self, ctx: &RowContext<'_>) {
        self.names = ctx.headers.iter().map(|h| columns::normalise_header(h)).collect();
    }
    fn worker(&self, rows_hint: usize) -> EffectWorker<'_> {
        EffectWorker { names: &self.names, memo: Memo::new(), out: Vec::with_capacity(rows_hint) }
    }
    fn absorb(&mut self, out: Vec<EffectRow>) {
        self.rows.extend(out);
    }
    fn restart(&mut self) {
        *self = EffectSink::default();
    }
}

/// Read, validate and convert all `paths`, in order.
///
/// # Errors
/// The first fatal [`IngestError`]; row-level problems are collected in
/// [`Ingested::rejected`] instead.
pub fn ingest(paths: &[PathBuf], opts: &IngestOptions) -> Result<Ingested, IngestError> {
    let t0 = std::time::Instant::now();
    if opts.contract == Contract::Effects {
        let mut sink = EffectSink::default();
        let log = read::read_files(paths, opts, None, &mut sink)?;
        return Ok(Ingested {
            files: log.files,
            rejected: log.rejected,
            warnings: log.warnings,
            effect_rows: sink.rows,
            ..Ingested::default()
        });
    }
    let mut sink = RecordSink::default();
    let mut log = read::read_files(paths, opts, None, &mut sink)?;
    timing("read records", t0);
    // Repeated record ids: the first is kept; the files are read again with
    // the repeats rejected (so each keeps its row's text, and the per-file
    // counts and warnings are of the accepted rows).
    let dups = duplicate_ids(&sink.records, &log.files);
    if !dups.is_empty() {
        let forced: Forced = dups.into_iter().collect();
        sink = RecordSink::default();
        log = read::read_files(paths, opts, Some(&forced), &mut sink)?;
    }
    let mut out = Ingested {
        files: log.files,
        records: sink.records,
        rejected: log.rejected,
        warnings: log.warnings,
        extra_columns: sink.extra_columns,
        ..Ingested::default()
    };
    let t0 = std::time::Instant::now();
    cross_row_checks(&mut out, &opts.mapping.name_table());
    timing("cross-row checks", t0);
    let files = &out.files;
    out.rejected.sort_by_key(|e| (files.iter().position(|f| f.path == e.file).unwrap_or(usize::MAX), e.line));
    Ok(out)
}

/// Stage timings on stderr when `EVIDEX_TIMING` is set (diagnostics).
pub fn timing(stage: &str, since: std::time::Instant) {
    timing_total(stage, since.elapsed());
}

/// As [`timing`], for a total of several intervals.
pub fn timing_total(stage: &str, total: std::time::Duration) {
    if std::env::var_os("EVIDEX_TIMING").is_some() {
        eprintln!("evidex: timing: {stage}: {:.3} s", total.as_secs_f64());
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Repeated record ids: every record after the first with its id, as a
/// rejection keyed by (file index, line).
fn duplicate_ids(records: &[EvaluationRecord], files: &[FileSummary]) -> Vec<((u32, u64), RowError)> {
    // Borrowed keys and a fast hasher: this runs over every record.
    let mut first: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(records.len(), Default::default());
    let name = |f: u32| files.get(f as usize).map_or("?", |s| s.path.as_str()).to_string();
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match first.entry(r.record_id.as_str()) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let p0 = records[*e.get()].provenance;
                let p = r.provenance;
                out.push((
                    (p.file, p.line),
                    duplicate_error(name(p.file), p.line, &r.record_id, &name(p0.file), p0.line),
                ));
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }
    out
}

/// Studies that mix interventions (warning), target-group spellings that
/// normalise alike or nearly alike (warning; one spelling is chosen per
/// key, the lexicographically smallest, so output does not depend on row
/// order), intervention names that match regardless of case and spacing.
fn cross_row_checks(out: &mut Ingested, names_table: &columns::NameTable) {
    // Studies that mix interventions.
    let mut by_study: FxHashMap<&str, (&str, Vec<&str>)> = FxHashMap::default();
    for r in &out.records {
        if let Some(s) = r.study_id.as_deref() {
            let e = by_study.entry(s).or_insert((r.intervention.as_str(), Vec::new()));
            if e.0 != r.intervention && !e.1.contains(&r.intervention.as_str()) {
                e.1.push(r.intervention.as_str());
            }
        }
    }
    let mut mixed: Vec<(&str, &str, Vec<&str>)> =
        by_study.into_iter().filter(|(_, (_, o))| !o.is_empty()).map(|(s, (a, o))| (s, a, o)).collect();
    mixed.sort();
    for (s, a, others) in mixed {
        out.warnings.push(Warning {
            file: None,
            line: None,
            message: format!(
                "study_id '{s}' mixes interventions ({a}, {}); its findings are clustered per intervention cell",
                others.join(", ")
            ),
        });
    }

    // Target-group spellings (distinct (key, display) pairs first: few).
    let mut pairs: FxHashMap<(&str, &str), ()> = FxHashMap::default();
    for r in &out.records {
        pairs.entry((r.target_group.key(), r.target_group.display())).or_insert(());
    }
    let spellings = spelling_warnings(pairs.into_keys(), &mut out.warnings);
    if spellings.values().any(|v| v.len() > 1) {
        out.records.par_iter_mut().for_each(|r| {
            let canon = &spellings[r.target_group.key()][0];
            if r.target_group.display() != canon {
                r.target_group = r.target_group.with_display(canon);
            }
        });
    }

    // Intervention names: matched regardless of case, spacing and
    // punctuation; the most frequent spelling is shown.
    let mut names: FxHashMap<(String, &str), u64> = FxHashMap::default();
    for r in &out.records {
        *names.entry((crate::model::intervention_key(&r.intervention), r.intervention.as_str())).or_insert(0) += 1;
    }
    let table = names_table;
    out.warnings.extend(quality::intervention_warnings(
        names.iter().filter(|((k, _), _)| !table.is_placeholder(k)).map(|((k, d), n)| (k.as_str(), *d, *n)),
    ));
    let mut shown: FxHashMap<&str, (&str, u64)> = FxHashMap::default();
    for ((k, d), n) in &names {
        let e = shown.entry(k.as_str()).or_insert((d, *n));
        if *n > e.1 || (*n == e.1 && *d < e.0) {
            *e = (d, *n);
        }
    }
    let rename: FxHashMap<String, String> = names
        .keys()
        .filter(|(k, d)| shown[k.as_str()].0 != *d)
        .map(|(k, d)| (d.to_string(), shown[k.as_str()].0.to_string()))
        .collect();
    if !rename.is_empty() {
        out.records.par_iter_mut().for_each(|r| {
            if let Some(n) = rename.get(&r.intervention) {
                r.intervention.clone_from(n);
            }
        });
    }
}

/// The rejection of a repeated record id.
pub fn duplicate_error(file: String, line: u64, id: &str, first_file: &str, first_line: u64) -> RowError {
    RowError {
        file,
        line,
        column: Some("record_id".into()),
        value: Some(id.to_string()),
        message: format!("duplicate record_id; first used at {first_file}:{first_line}; record ids must be unique"),
        suggestion: None,
        raw: String::new(),
        left_out: None,
    }
}

/// Target-group spellings per normalised key (sorted), with a warning for
/// each key spelled more than one way and for keys that look alike.
pub fn spelling_warnings<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<String, Vec<String>> {
    let mut spellings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, d) in pairs {
        spellings.entry(k.to_string()).or_default().push(d.to_string());
    }
    for v in spellings.values_mut() {
        v.sort();
        v.dedup();
    }
    for v in spellings.values() {
        if v.len() > 1 {
            warnings.push(Warning {
                file: None,
                line: None,
                message: format!(
                    "target group spelled {} ways ({}); treated as one group '{}'",
                    v.len(),
                    v.join(" / "),
                    v[0]
                ),
            });
        }
    }
    let keys: Vec<&String> = spellings.keys().collect();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            let singular = |s: &str| s.strip_suffix('s').unwrap_or(s).to_string();
            let close = edit_distance(a, b) <= 1 || singular(a) == singular(b);
            if close && a.len() > 3 {
                warnings.push(Warning {
                    file: None,
                    line: None,
                    message: format!(
                        "target groups '{}' and '{}' look alike; if they are the same group, use one spelling",
                        spellings[*a][0], spellings[*b][0]
                    ),
                });
            }
        }
    }
    spellings
}

/// Convenience for tests and callers with one file.
///
/// # Errors
/// As [`ingest`].
pub fn ingest_one(path: &Path, opts: &IngestOptions) -> Result<Ingested, IngestError> {
    ingest(&[path.to_path_buf()], opts)
}

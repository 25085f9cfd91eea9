//! Reading evaluation records from the files M&E specialists have.
//!
//! Flow: file -> [`table::read_table`] (decode, sniff, split into text cells)
//! -> [`columns::resolve_headers`] (contract columns, aliases, mapping)
//! -> [`convert`] (cells -> validated [`EvaluationRecord`]s or row errors)
//! -> cross-row checks (duplicate ids, studies mixing interventions,
//! near-duplicate target groups). Every data row ends up accepted or
//! rejected; [`Ingested::rows_read`] equals `accepted + rejected`.

pub mod columns;
pub mod convert;
pub mod decode;
pub mod fast;
pub mod quality;
pub mod sniff;
pub mod stream;
pub mod table;
pub mod typed;
pub mod worldbank;

pub use columns::{Col, ColumnMapping};
pub use table::InputFormat;

use crate::model::{edit_distance, EvaluationRecord};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use thiserror::Error;

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
    #[error("{path}: is a directory; give a file (CSV, TSV, JSON Lines or Parquet)")]
    IsDirectory { path: String },
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
    pub effect_rows: Vec<convert::EffectRow>,
    /// Rows accepted by the streaming reader ([`stream::ingest_facts`]),
    /// which keeps compact facts instead of records.
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
    pub fn file_name(&self, idx: u32) -> &str {
        self.files.get(idx as usize).map_or("?", |f| f.path.as_str())
    }
}

/// Read, validate and convert all `paths`, in order.
///
/// # Errors
/// The first fatal [`IngestError`]; row-level problems are collected in
/// [`Ingested::rejected`] instead.
pub fn ingest(paths: &[PathBuf], opts: &IngestOptions) -> Result<Ingested, IngestError> {
    let mut out = Ingested::default();
    let mut extra_index: HashMap<String, usize> = HashMap::new();
    for (file_idx, path) in paths.iter().enumerate() {
        let format = format_of(opts, path)?;
        let display = path.display().to_string();
        let t0 = std::time::Instant::now();
        let mut table = table::read_table(path, format)?;
        timing("read+parse", t0);
        let rows_read = table.rows_read();
        if rows_read == 0 {
            return Err(IngestError::NoRows { path: display });
        }
        let resolved = prepare_file(&display, &table.headers, opts, &mut out)?;
        blank_warning(&display, table.blank_rows, &mut out);
        let extra_slots: Vec<(usize, usize)> = resolved
            .extra
            .iter()
            .map(|(i, name)| {
                let n = extra_index.len();
                let slot = *extra_index.entry(name.clone()).or_insert(n);
                if slot == out.extra_columns.len() {
                    out.extra_columns.push(name.clone());
                }
                (*i, slot)
            })
            .collect();
        let decimal_comma = table.delimiter == Some(b';');
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("row");
        let ctx = convert::RowContext::new(&display, file_idx as u32, &resolved, &opts.mapping, decimal_comma, stem);
        // Counts for this file are derived from what the conversion added.
        let (accepted_before, rejected_before) = (out.accepted(), out.rejected_count());
        let records_before = out.records.len();
        let mut notes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for m in &table.malformed {
            out.rejected.push(RowError {
                file: display.clone(),
                line: m.line,
                column: None,
                value: None,
                message: m.message.clone(),
                suggestion: None,
                raw: table.raw_text(m.span, None),
            });
        }
        if opts.contract == Contract::Effects {
            for row in &table.rows {
                match convert::convert_effect_row(&ctx, row, &table.headers) {
                    Ok(r) => out.effect_rows.push(r),
                    Err(e) => reject(&mut out, &table, row, e),
                }
            }
        } else {
            // Rows are independent: convert them in parallel, chunk by chunk,
            // keeping order. Chunks are split off a reversed vector (O(chunk)
            // each) and freed after conversion, so their memory is reused for
            // the records instead of adding to the peak.
            out.records.reserve(table.rows.len());
            let t0 = std::time::Instant::now();
            let mut rows = std::mem::take(&mut table.rows);
            rows.reverse();
            while !rows.is_empty() {
                let mut chunk = rows.split_off(rows.len().saturating_sub(1 << 15));
                chunk.reverse();
                let converted: Vec<_> = chunk.par_iter().map(|row| convert::convert_row(&ctx, row)).collect();
                for (row, result) in chunk.iter().zip(converted) {
                    match result {
                        Ok((mut rec, note)) => {
                            if let Some(n) = note {
                                let e = notes.entry(n).or_insert((0, row.line));
                                e.0 += 1;
                            }
                            if !extra_slots.is_empty() {
                                rec.extra = vec![None; out.extra_columns.len()];
                                for (i, slot) in &extra_slots {
                                    let v = row.cells[*i].trim();
                                    if !v.is_empty() {
                                        rec.extra[*slot] = Some(v.to_string());
                                    }
                                }
                            }
                            out.records.push(rec);
                        }
                        Err(e) => reject(&mut out, &table, row, e),
                    }
                }
            }
            timing("convert", t0);
        }
        notes_warnings(&display, notes, &mut out);
        let mut counts = quality::RowCounts::default();
        for r in &out.records[records_before..] {
            counts.add_record(r);
        }
        out.warnings.extend(counts.warnings(&display));
        out.files.push(FileSummary {
            path: display,
            format: table.format,
            encoding: table.encoding.map(|e| e.name().to_string()),
            delimiter: table.delimiter.map(|d| if d == b'\t' { "tab".into() } else { (d as char).to_string() }),
            sha256: table.sha256.clone(),
            rows_read,
            accepted: out.accepted() - accepted_before,
            rejected: out.rejected_count() - rejected_before,
        });
    }
    let t0 = std::time::Instant::now();
    cross_row_checks(&mut out);
    timing("cross-row checks", t0);
    fill_raw_rows(paths, opts, &mut out)?;
    out.rejected.sort_by(|a, b| (file_pos(&out.files, &a.file), a.line).cmp(&(file_pos(&out.files, &b.file), b.line)));
    Ok(out)
}

/// Rows rejected by a cross-row check (a repeated record id) are found
/// after the files' text is gone: read the files that have such rows
/// again and copy each row verbatim into its rejection (rare, so the
/// second read costs nothing in the common case).
fn fill_raw_rows(paths: &[PathBuf], opts: &IngestOptions, out: &mut Ingested) -> Result<(), IngestError> {
    for (i, path) in paths.iter().enumerate() {
        let display = &out.files[i].path;
        let lines: std::collections::BTreeSet<u64> =
            out.rejected.iter().filter(|e| e.raw.is_empty() && &e.file == display).map(|e| e.line).collect();
        if lines.is_empty() {
            continue;
        }
        let table = table::read_table(path, format_of(opts, path)?)?;
        let raw: BTreeMap<u64, String> = table
            .rows
            .iter()
            .filter(|r| lines.contains(&r.line))
            .map(|r| (r.line, table.raw_text(r.span, Some(&r.cells))))
            .collect();
        for e in out.rejected.iter_mut().filter(|e| e.raw.is_empty() && &e.file == display) {
            if let Some(t) = raw.get(&e.line) {
                e.raw.clone_from(t);
            }
        }
    }
    Ok(())
}

/// The input format: `--input-format`, else the file extension.
fn format_of(opts: &IngestOptions, path: &Path) -> Result<InputFormat, IngestError> {
    if path.is_dir() {
        return Err(IngestError::IsDirectory { path: path.display().to_string() });
    }
    match opts.format {
        Some(f) => Ok(f),
        None => InputFormat::from_path(path),
    }
}

/// Column resolution and the file-level warning about pass-through columns
/// (shared by [`ingest`] and the streaming reader).
fn prepare_file(
    display: &str,
    headers: &[String],
    opts: &IngestOptions,
    out: &mut Ingested,
) -> Result<columns::Resolved, IngestError> {
    let resolved = columns::resolve_headers(display, headers, &opts.mapping)?;
    convert::check_required(display, headers, &resolved, opts.contract)?;
    if !resolved.extra.is_empty() && opts.contract == Contract::Scoring {
        let names: Vec<&str> = resolved.extra.iter().map(|(_, n)| n.as_str()).collect();
        out.warnings.push(Warning {
            file: Some(display.to_string()),
            line: None,
            message: format!(
                "{} column{} not in the input contract, kept as pass-through: {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
        });
    }
    Ok(resolved)
}

fn blank_warning(display: &str, blank_rows: u64, out: &mut Ingested) {
    if blank_rows > 0 {
        out.warnings.push(Warning {
            file: Some(display.to_string()),
            line: None,
            message: format!("{blank_rows} blank row(s) skipped (not counted as data rows)"),
        });
    }
}

/// Row-level notes (e.g. income derived with a fallback year), one warning
/// per kind with its count and first line.
fn notes_warnings(display: &str, notes: BTreeMap<String, (u64, u64)>, out: &mut Ingested) {
    for (msg, (n, first_line)) in notes {
        out.warnings.push(Warning {
            file: Some(display.to_string()),
            line: Some(first_line),
            message: format!("{msg} ({n} row{}, first shown)", if n == 1 { "" } else { "s" }),
        });
    }
}

/// Record a rejected row with its text as it appeared in the input.
fn reject(out: &mut Ingested, table: &table::RawTable, row: &table::RawRow, mut e: RowError) {
    e.raw = table.raw_text(row.span, Some(&row.cells));
    out.rejected.push(e);
}

fn file_pos(files: &[FileSummary], path: &str) -> usize {
    files.iter().position(|f| f.path == path).unwrap_or(usize::MAX)
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

/// Duplicate record ids (later ones rejected), studies that mix
/// interventions (warning), target-group spellings that normalise alike or
/// nearly alike (warning; one spelling is chosen per key, the
/// lexicographically smallest, so output does not depend on row order).
fn cross_row_checks(out: &mut Ingested) {
    // Duplicate record_id: keep the first, reject the rest. Borrowed keys and
    // a fast hasher: this runs over every record.
    let dup_of: Vec<Option<usize>> = {
        let mut first: FxHashMap<&str, usize> =
            FxHashMap::with_capacity_and_hasher(out.records.len(), Default::default());
        out.records
            .iter()
            .enumerate()
            .map(|(i, r)| match first.entry(r.record_id.as_str()) {
                std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                    None
                }
            })
            .collect()
    };
    let mut dups = Vec::new();
    if dup_of.iter().any(Option::is_some) {
        let firsts: Vec<Option<(u32, u64)>> = dup_of
            .iter()
            .map(|d| d.map(|i| (out.records[i].provenance.file, out.records[i].provenance.line)))
            .collect();
        let mut keep = Vec::with_capacity(out.records.len());
        for (rec, first) in std::mem::take(&mut out.records).into_iter().zip(firsts) {
            match first {
                Some((f, l)) => dups.push((rec, f, l)),
                None => keep.push(rec),
            }
        }
        out.records = keep;
    }
    for (rec, f, l) in dups {
        let file = out.file_name(rec.provenance.file).to_string();
        let first_at = format!("{}:{}", out.file_name(f), l);
        out.files[rec.provenance.file as usize].accepted -= 1;
        out.files[rec.provenance.file as usize].rejected += 1;
        out.rejected.push(RowError {
            file,
            line: rec.provenance.line,
            column: Some("record_id".into()),
            value: Some(rec.record_id.clone()),
            message: format!("duplicate record_id; first used at {first_at}; record ids must be unique"),
            suggestion: None,
            raw: String::new(),
        });
    }

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
    out.warnings.extend(quality::intervention_warnings(names.iter().map(|((k, d), n)| (k.as_str(), *d, *n))));
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

/// Target-group spellings per normalised key (sorted), with a warning for
/// each key spelled more than one way and for keys that look alike.
fn spelling_warnings<'a>(
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

//! The one row reader: every rule that turns a row's fields into a valid
//! row view lives here, once. Every format hands its rows in as
//! [`Fields`] (borrowed field text, typed numbers where the format stores
//! them), every consumer takes the [`RowView`] (records for `validate`,
//! `meta` and `explain`; compact facts for `score`). Vocabulary fields
//! (target group, income setting, rating, design, ...) are parsed once per
//! distinct text and remembered ([`Memo`]), with their error; a row that
//! fails gets its message from the same code that passes good rows.
#![allow(
    clippy::result_large_err,
    reason = "RowError is the rejected-row report users read (file, line, column, value, raw row); boxing it would allocate per bad row and change the RowWorker signature score implements"
)]

use super::columns::{Col, ColumnMapping, NameTable, Resolved, Source};
use super::{worldbank, Contract, IngestError, LeftOut, RowError};
use crate::model::{
    check_record, did_you_mean, normalise_label, Assignment, Direction, EffectInput, IncomeSetting, OutcomeDomain,
    Rating, RiskOfBias, Strategy, StudyDesign, TargetGroup, VocabError,
};
use rustc_hash::FxHashMap;
use std::borrow::Cow;

pub use crate::model::csv_field;
pub use crate::model::EffectRow;

/// Tokens read as a missing value (case-insensitive), besides the empty field.
pub const NULL_TOKENS: &[&str] = &["na", "n/a", "null", "none", "nan", "-", ".", "#n/a"];

/// The longest field evidex reads, in bytes (64 KiB): a longer value is a
/// broken export, not a finding, and would flood reports.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// One row's fields as a format holds them.
pub trait Fields {
    /// 1-based line where the row starts (text formats), data row number
    /// (Parquet) or row number as Excel shows it (workbooks).
    fn line(&self) -> u64;
    /// The text of file column `i` (empty when absent or missing).
    fn field(&self, i: usize) -> &str;
    /// The number file column `i` stores, where the format stores numbers:
    /// `Some(None)` a missing value, `Some(Some(x))` a number (possibly not
    /// finite), `None` read it as text.
    fn stored_number(&self, _i: usize) -> Option<Option<f64>> {
        None
    }
    /// An identity of file column `i`'s value: equal identities mean equal
    /// text within a chunk (Parquet string views); `None`: compare text.
    fn ident(&self, _i: usize) -> Option<u128> {
        None
    }
    /// The row as it appeared in the input (for rejections).
    fn raw(&self) -> String;
    /// The first of the `width` fields longer than `limit` bytes.
    fn long_field(&self, width: usize, limit: usize) -> Option<usize> {
        (0..width).find(|&i| self.field(i).len() > limit)
    }
}

/// What a block's rows go to.
pub trait Visit {
    fn row<F: Fields>(&mut self, f: &F);
    /// A row that cannot be split into the header's fields.
    fn malformed(&mut self, line: u64, message: String, raw: String);
    /// A fully blank row (skipped, counted).
    fn blank(&mut self);
}

/// Check the header against the contract.
///
/// # Errors
/// [`IngestError::MissingColumns`] naming what is missing and the headers found.
pub fn check_required(path: &str, headers: &[String], r: &Resolved, contract: Contract) -> Result<(), IngestError> {
    let mut missing = Vec::new();
    let has_effect = Col::ALL.iter().any(|c| c.is_effect() && r.has(*c));
    match contract {
        Contract::Scoring => {
            for c in [Col::Intervention, Col::TargetGroup] {
                if !r.has(c) {
                    missing.push(c.name().to_string());
                }
            }
            if !r.has(Col::IncomeSetting) && !r.has(Col::Country) {
                missing.push("income_setting (or country, to derive it)".into());
            }
            if !r.has(Col::Rating) && !has_effect {
                missing.push("rating (or effect-size columns such as effect_size + se)".into());
            }
        }
        Contract::Effects => {
            if !has_effect {
                missing
                    .push("effect-size columns (yi + vi, effect_size + se or CI, 2x2 counts, or means/SDs/ns)".into());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let hs: Vec<&str> = headers.iter().map(|s| s.as_str()).collect();
    let mut hints = Vec::new();
    for m in &missing {
        let base = m.split(' ').next().unwrap_or(m);
        let close = did_you_mean(base, &hs).or_else(|| {
            // A header that is part of the contract name ("Group" for target_group).
            hs.iter()
                .find(|h| {
                    let n = super::columns::normalise_header(h);
                    n.len() >= 3 && (base.contains(n.as_str()) || n.contains(base))
                })
                .map(|h| h.to_string())
        });
        if let Some(s) = close {
            let s = crate::model::shown(&s);
            hints.push(format!("'{s}' looks like '{base}' (map it with --map \"{s}={base}\")"));
        }
    }
    let hint = if hints.is_empty() { String::new() } else { format!("{}; ", hints.join("; ")) };
    const MAX_LISTED: usize = 40;
    let mut found: Vec<String> = hs.iter().take(MAX_LISTED).map(|h| crate::model::shown(h)).collect();
    if hs.len() > MAX_LISTED {
        found.push(format!("... and {} more", hs.len() - MAX_LISTED));
    }
    Err(IngestError::MissingColumns { path: path.into(), missing, found: found.join(", "), hint })
}

/// Per-file context for reading rows.
pub struct RowContext<'a> {
    /// The file as shown in messages (with the sheet for workbooks).
    pub file: &'a str,
    pub file_idx: u32,
    /// The file's headers as written.
    pub headers: &'a [String],
    pub resolved: &'a Resolved,
    pub mapping: &'a ColumnMapping,
    pub decimal_comma: bool,
    pub stem: &'a str,
    /// Column letters by file column (workbooks; empty otherwise).
    pub letters: Vec<String>,
    /// Accept rows whose intervention is a placeholder (noted) instead of
    /// leaving them out (`--keep-placeholders`, and `validate`).
    pub keep_placeholders: bool,
    /// Forget the [`Memo`] before each row: every field is checked by the
    /// row rules afresh (the reference the memoised path is tested against).
    pub check_every_row: bool,
    /// The mapping's `[names]` and `placeholders`.
    pub names: NameTable,
    value_maps: std::collections::BTreeMap<Col, std::collections::BTreeMap<String, String>>,
    /// `resolved.sources` by column index (a lookup per field is hot).
    slots: [Option<&'a Source>; Col::ALL.len()],
    /// Whether a value map exists, by column index.
    mapped: [bool; Col::ALL.len()],
}

impl<'a> RowContext<'a> {
    pub fn new(
        file: &'a str,
        file_idx: u32,
        headers: &'a [String],
        resolved: &'a Resolved,
        mapping: &'a ColumnMapping,
        decimal_comma: bool,
        stem: &'a str,
    ) -> RowContext<'a> {
        let mut slots = [None; Col::ALL.len()];
        for (c, src) in &resolved.sources {
            slots[*c as usize] = Some(src);
        }
        let value_maps = mapping.value_maps();
        let mut mapped = [false; Col::ALL.len()];
        for c in value_maps.keys() {
            mapped[*c as usize] = true;
        }
        RowContext {
            file,
            file_idx,
            headers,
            resolved,
            mapping,
            decimal_comma,
            stem,
            letters: Vec::new(),
            keep_placeholders: false,
            check_every_row: false,
            names: mapping.name_table(),
            value_maps,
            slots,
            mapped,
        }
    }

    /// The column name shown in messages: the file's own header, with its
    /// letter in a workbook.
    fn shown(&self, col: Col) -> String {
        let name = self.resolved.shown(col);
        match self.single_source(col).and_then(|i| self.letters.get(i)) {
            Some(letter) => format!("{name} ({letter})"),
            None => name,
        }
    }

    fn err(
        &self,
        line: u64,
        col: Col,
        value: &str,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) -> RowError {
        RowError {
            file: self.file.into(),
            line,
            column: Some(self.shown(col)),
            value: Some(value.to_string()),
            message: message.into(),
            suggestion,
            raw: String::new(),
            left_out: None,
        }
    }

    fn vocab(&self, line: u64, col: Col, e: &VocabError) -> RowError {
        self.err(line, col, &e.value, e.reason(), e.suggestion.clone())
    }

    /// The field text for a contract column: coalesced, null tokens
    /// removed, value map applied; `field(i)` is the text of file column
    /// `i`.
    pub fn pick<'s>(&'s self, col: Col, field: impl Fn(usize) -> &'s str) -> Option<Cow<'s, str>> {
        let raw = match self.slots[col as usize]? {
            Source::Constant(v) => Some(v.trim()).filter(|v| !self.is_null(v))?,
            Source::Columns(idx) if idx.len() == 1 => Some(trim(field(idx[0]))).filter(|v| !self.is_null(v))?,
            Source::Columns(idx) => idx.iter().map(|&i| trim(field(i))).find(|v| !self.is_null(v))?,
            // Shown as its parts ("12+10"); `number` adds them.
            Source::Sum(idx) => {
                let parts: Vec<&str> = idx.iter().map(|&i| trim(field(i))).filter(|v| !self.is_null(v)).collect();
                return (!parts.is_empty()).then(|| Cow::Owned(parts.join("+")));
            }
        };
        if self.mapped[col as usize] {
            if let Some(v) = self.value_maps.get(&col).and_then(|map| map.get(&normalise_label(raw))) {
                return Some(Cow::Owned(v.clone()));
            }
        }
        Some(Cow::Borrowed(raw))
    }

    /// Whether `col` has a source (a file column or a constant).
    #[inline]
    pub fn has(&self, col: Col) -> bool {
        self.slots[col as usize].is_some()
    }

    /// The one file column `col` is read from (not coalesced, not a
    /// constant).
    pub fn single_source(&self, col: Col) -> Option<usize> {
        match self.slots[col as usize]? {
            Source::Columns(idx) if idx.len() == 1 => Some(idx[0]),
            _ => None,
        }
    }

    /// The single file column `col` is read from, when its value can be
    /// taken as a stored number: no constant or coalesced sources, no value
    /// map and no custom null tokens (those act on the text).
    pub fn plain_number_source(&self, col: Col) -> Option<usize> {
        self.single_source(col).filter(|_| !self.mapped[col as usize] && self.mapping.null_values.is_empty())
    }

    fn is_null(&self, v: &str) -> bool {
        // The built-in null tokens are at most 4 bytes long and start with
        // one of `n - . #`.
        v.is_empty()
            || (v.len() <= 4
                && matches!(v.as_bytes()[0], b'n' | b'N' | b'-' | b'.' | b'#')
                && NULL_TOKENS.iter().any(|t| v.eq_ignore_ascii_case(t)))
            || (!self.mapping.null_values.is_empty()
                && self.mapping.null_values.iter().any(|t| v.eq_ignore_ascii_case(t.trim())))
    }

    /// A contract column's text in a row.
    pub fn text<'s, F: Fields>(&'s self, f: &'s F, col: Col) -> Option<Cow<'s, str>> {
        self.pick(col, |i| f.field(i))
    }

    /// A number; with `decimal_comma` (`;`-delimited files) `0,35` is 0.35.
    /// A stored number is taken as it is.
    ///
    /// # Errors
    /// A value that is not a (finite) number, worded for the row.
    pub fn number<F: Fields>(&self, f: &F, col: Col) -> Result<Option<f64>, RowError> {
        if let Some(Source::Sum(idx)) = self.slots[col as usize] {
            return self.sum(f, col, idx);
        }
        if let Some(stored) = self.plain_number_source(col).and_then(|i| f.stored_number(i)) {
            return match stored {
                // NaN is how data frames write a missing number, and its
                // text "NaN" is a null token.
                Some(v) if v.is_nan() => Ok(None),
                Some(v) if !v.is_finite() => Err(self.err(f.line(), col, &v.to_string(), "is not a number", None)),
                v => Ok(v),
            };
        }
        let Some(t) = self.text(f, col) else {
            return Ok(None);
        };
        parse_number(&t, self.decimal_comma).map(Some).ok_or_else(|| {
            let hint = if !self.decimal_comma && t.contains(',') {
                "; a decimal comma is only read in ';'-delimited files"
            } else {
                ""
            };
            self.err(f.line(), col, &t, format!("is not a number{hint}"), None)
        })
    }
}

impl RowContext<'_> {
    /// The first non-blank text of `col`'s sources, missing-value tokens
    /// included (value maps not applied).
    pub fn written<'s, F: Fields>(&'s self, f: &'s F, col: Col) -> Option<&'s str> {
        match self.slots[col as usize]? {
            Source::Constant(v) => Some(v.trim()).filter(|v| !v.is_empty()),
            Source::Columns(idx) | Source::Sum(idx) => idx.iter().map(|&i| trim(f.field(i))).find(|v| !v.is_empty()),
        }
    }

    /// The sum of a `[sum]` column's sources (`None` when all are empty).
    ///
    /// # Errors
    /// A source that is not a number, named by its own header.
    fn sum<F: Fields>(&self, f: &F, col: Col, idx: &[usize]) -> Result<Option<f64>, RowError> {
        let mut total: Option<f64> = None;
        for &i in idx {
            let t = trim(f.field(i));
            // A stored number is taken as it is (missing-value tokens act on text).
            let v = match f.stored_number(i) {
                Some(v) => v.filter(|x| !x.is_nan()),
                None if self.is_null(t) => None,
                None => Some(parse_number(t, self.decimal_comma).ok_or_else(|| {
                    let mut e = self.err(f.line(), col, t, "is not a number", None);
                    let header = self.headers.get(i).map_or("?", String::as_str);
                    e.column = Some(format!("{header} (summed into {})", col.name()));
                    e
                })?),
            };
            if let Some(v) = v {
                total = Some(total.unwrap_or(0.0) + v);
            }
        }
        Ok(total)
    }
}

/// Several notes of one row, each counted on its own by the reader.
pub const NOTE_SEP: char = '\u{1e}';

/// In a note, replaced by the number of rows ("3 rows") when the notes are
/// counted.
pub const NOTE_ROWS: &str = "{rows}";

/// `str::trim`, without the Unicode scan when both ends are plain ASCII
/// (the common case; the result is the same).
fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [] => s,
        [a, .., b] | [a @ b] if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Parse a number written with `.` or (when allowed) `,` as decimal mark.
/// With a decimal comma, `.` is accepted as a thousands separator only in
/// strict groups of three (`1.234,5`); a lone `.` is a decimal point (Excel
/// exports text cells unchanged).
pub fn parse_number(s: &str, decimal_comma: bool) -> Option<f64> {
    // Most fields are plain numbers: nothing to trim, strip or regroup.
    if s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return s.parse::<f64>().ok().filter(|v| v.is_finite());
    }
    parse_number_general(s, decimal_comma)
}

/// [`parse_number`] for any text (spaces, `%`, decimal commas).
fn parse_number_general(s: &str, decimal_comma: bool) -> Option<f64> {
    let t = s.trim().trim_end_matches('%').trim();
    let t: Cow<str> =
        if t.contains(['\u{a0}', ' ']) { Cow::Owned(t.replace(['\u{a0}', ' '], "")) } else { Cow::Borrowed(t) };
    let parsed = if decimal_comma && t.contains(',') {
        let (int, frac) = t.rsplit_once(',')?;
        let int_clean = if int.contains('.') {
            let groups: Vec<&str> = int.trim_start_matches(['-', '+']).split('.').collect();
            let ok = groups.len() > 1 && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
            if !ok {
                return None;
            }
            int.replace('.', "")
        } else {
            int.to_string()
        };
        format!("{int_clean}.{frac}").parse::<f64>().ok()
    } else {
        t.parse::<f64>().ok()
    }?;
    parsed.is_finite().then_some(parsed)
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match normalise_label(s).as_str() {
        "true" | "yes" | "y" | "1" | "ja" | "waar" | "harmful" | "schadelijk" => Some(true),
        "false" | "no" | "n" | "0" | "nee" | "onwaar" => Some(false),
        _ => None,
    }
}

/// A `primary` field: true/false and their aliases, or primary/secondary.
pub fn parse_primary(s: &str) -> Option<bool> {
    match normalise_label(s).as_str() {
        "primary" | "primair" | "main" => Some(true),
        "secondary" | "secundair" => Some(false),
        _ => parse_bool(s),
    }
}

/// Parses of one vocabulary column, by text and by value identity.
struct Vocab<T> {
    by_text: FxHashMap<String, Result<T, VocabError>>,
    by_ident: FxHashMap<u128, Option<Result<T, VocabError>>>,
}

impl<T> Default for Vocab<T> {
    fn default() -> Self {
        Vocab { by_text: FxHashMap::default(), by_ident: FxHashMap::default() }
    }
}

impl<T: Clone> Vocab<T> {
    /// The field of `col` parsed with `parse` (remembered): `None` empty.
    fn read<F: Fields>(
        &mut self,
        ctx: &RowContext<'_>,
        f: &F,
        col: Col,
        parse: impl FnOnce(&str) -> Result<T, VocabError>,
    ) -> Option<Result<T, VocabError>> {
        let id = ctx.single_source(col).and_then(|i| f.ident(i));
        if let Some(c) = id.and_then(|id| self.by_ident.get(&id)) {
            return c.clone();
        }
        let v = ctx.text(f, col).map(|text| match self.by_text.get(text.as_ref()) {
            Some(v) => v.clone(),
            None => {
                let v = parse(&text);
                self.by_text.insert(text.into_owned(), v.clone());
                v
            }
        });
        if let Some(id) = id {
            self.by_ident.insert(id, v.clone());
        }
        v
    }
}

fn vocab_err(value: &str, allowed: &str) -> VocabError {
    VocabError { value: value.to_string(), allowed: allowed.to_string(), suggestion: None, refused: None }
}

/// Parse results per distinct field text, for one worker.
#[derive(Default)]
pub struct Memo {
    tg: Vocab<u32>,
    tgs: Vec<TargetGroup>,
    income: Vocab<IncomeSetting>,
    rating: Vocab<(Rating, bool, bool)>,
    assignment: Vocab<Assignment>,
    /// Intervention text -> what the name table says of it.
    names: FxHashMap<String, Name>,
    harm: Vocab<bool>,
    strategy: Vocab<Strategy>,
    design: Vocab<StudyDesign>,
    rob: Vocab<RiskOfBias>,
    domain: Vocab<OutcomeDomain>,
    inferred: Vocab<OutcomeDomain>,
    primary: Vocab<bool>,
    direction: Vocab<Direction>,
    country: FxHashMap<String, Result<Iso3, String>>,
    measure: FxHashMap<String, String>,
}

impl Memo {
    pub fn new() -> Memo {
        Memo::default()
    }
}

/// An intervention name after the mapping's `[names]` and the placeholder
/// lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    /// Kept as written.
    Own,
    /// Replaced by the canonical name at this index of [`NameTable::canonical`].
    Alias(u32),
    /// A placeholder (as written).
    Placeholder,
    /// The canonical name at this index, which is a placeholder.
    AliasPlaceholder(u32),
}

/// A World Bank country code (three ASCII letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Iso3([u8; 3]);

impl Iso3 {
    fn new(code: &str) -> Iso3 {
        let mut a = [b'?'; 3];
        for (slot, c) in a.iter_mut().zip(code.bytes()) {
            *slot = c;
        }
        Iso3(a)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// A trimmed `Cow` (borrowed stays borrowed).
fn trim_cow(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

/// One row, read and checked: what every consumer takes.
#[derive(Debug)]
pub struct RowView<'a> {
    pub line: u64,
    /// The row's own record id, or `file:line`.
    pub record_id: Cow<'a, str>,
    pub study_id: Option<Cow<'a, str>>,
    /// Trimmed.
    pub intervention: Cow<'a, str>,
    pub target_group: &'a TargetGroup,
    pub income_setting: IncomeSetting,
    pub income_derived: bool,
    pub country: Option<Iso3>,
    pub rating: Option<Rating>,
    pub harm: bool,
    pub strategy: Option<Strategy>,
    pub design: Option<StudyDesign>,
    pub risk_of_bias: Option<RiskOfBias>,
    pub sample_size: Option<u64>,
    pub year: Option<i32>,
    pub outcome: Option<Cow<'a, str>>,
    pub outcome_domain: OutcomeDomain,
    pub domain_inferred: bool,
    pub primary: Option<bool>,
    pub direction: Option<Direction>,
    /// Unit of assignment (`None`: not said).
    pub assignment: Option<Assignment>,
    /// Total number of clusters assigned (`None`: not said).
    pub clusters: Option<u32>,
    pub source: Option<Cow<'a, str>>,
    pub effect: EffectInput,
    /// For an aggregated warning (income derived with a fallback year, se
    /// and CI that disagree).
    pub note: Option<String>,
}

impl RowView<'_> {
    /// The row as an owned record (file `file_idx`).
    ///
    /// # Errors
    /// None in practice: [`read_row`] checked what the record checks.
    pub fn into_record(self, ctx: &RowContext<'_>) -> Result<crate::model::EvaluationRecord, RowError> {
        let line = self.line;
        let fields = crate::model::RecordFields {
            record_id: self.record_id.into_owned(),
            study_id: self.study_id.map(Cow::into_owned),
            intervention: self.intervention.into_owned(),
            target_group: self.target_group.clone(),
            income_setting: self.income_setting,
            income_derived: self.income_derived,
            rating: self.rating,
            harm: self.harm,
            strategy: self.strategy,
            country: self.country.map(|c| c.as_str().to_string()),
            design: self.design,
            sample_size: self.sample_size,
            year: self.year,
            outcome: self.outcome.map(Cow::into_owned),
            outcome_domain: self.outcome_domain,
            domain_inferred: self.domain_inferred,
            primary: self.primary,
            direction: self.direction,
            risk_of_bias: self.risk_of_bias,
            assignment: self.assignment,
            clusters: self.clusters,
            source: self.source.map(Cow::into_owned),
            effect: self.effect,
            provenance: crate::model::Provenance { file: ctx.file_idx, line },
        };
        crate::model::EvaluationRecord::new(fields).map_err(|e| {
            let col = Col::from_name(e.column).unwrap_or(Col::Rating);
            ctx.err(line, col, &e.value, e.message, None)
        })
    }
}

/// Reject a row with a field longer than [`MAX_FIELD_BYTES`] (any column,
/// read or passed through).
///
/// # Errors
/// The first such field, by its header.
pub fn check_lengths<F: Fields>(ctx: &RowContext<'_>, f: &F) -> Result<(), RowError> {
    let Some(i) = f.long_field(ctx.headers.len(), MAX_FIELD_BYTES) else {
        return Ok(());
    };
    let t = f.field(i);
    let mut cut = 80.min(t.len());
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = ctx.headers.get(i).map_or("?", String::as_str);
    Err(RowError {
        file: ctx.file.into(),
        line: f.line(),
        column: Some(match ctx.letters.get(i) {
            Some(l) => format!("{name} ({l})"),
            None => name.to_string(),
        }),
        value: Some(format!("{}...", &t[..cut])),
        message: format!("is {} bytes long; a field may hold at most {MAX_FIELD_BYTES} bytes (64 KiB)", t.len()),
        suggestion: None,
        raw: String::new(),
        left_out: None,
    })
}

/// Read one row under the scoring contract.
///
/// # Errors
/// The first problem found in the row, with file, line, column (as the
/// file names it), value, what is allowed and a suggestion.
pub fn read_row<'a, F: Fields>(ctx: &'a RowContext<'a>, f: &'a F, memo: &'a mut Memo) -> Result<RowView<'a>, RowError> {
    if ctx.check_every_row {
        *memo = Memo::default();
    }
    let line = f.line();
    check_lengths(ctx, f)?;
    // A missing-value token ("-", "n/a") names no programme: a placeholder,
    // not an empty cell.
    let Some(intervention) =
        ctx.text(f, Col::Intervention).or_else(|| ctx.written(f, Col::Intervention).map(Cow::Borrowed))
    else {
        return Err(ctx.err(line, Col::Intervention, "", "is empty; every row must name an intervention", None));
    };
    let tgs = &mut memo.tgs;
    let Some(tg) = memo.tg.read(ctx, f, Col::TargetGroup, |s| {
        TargetGroup::new(s)
            .map(|t| {
                tgs.push(t);
                (tgs.len() - 1) as u32
            })
            .ok_or_else(|| vocab_err(s, ""))
    }) else {
        return Err(ctx.err(line, Col::TargetGroup, "", "is empty; every row must name a target group", None));
    };
    let tg =
        tg.map_err(|_| ctx.err(line, Col::TargetGroup, "", "is empty; every row must name a target group", None))?;

    let year = match ctx.number(f, Col::Year).or_else(|e| {
        // A date (a workbook's date cell, or an ISO date in text) gives its year.
        ctx.text(f, Col::Year).and_then(|t| iso_date_year(&t)).map(|y| Some(f64::from(y))).ok_or(e)
    })? {
        None => None,
        Some(y) if y.fract() == 0.0 && (-1e6..1e6).contains(&y) => Some(y as i32),
        Some(y) => return Err(ctx.err(line, Col::Year, &y.to_string(), "must be a whole year such as 2015", None)),
    };

    let country = match ctx.text(f, Col::Country) {
        None => None,
        Some(c) => {
            let iso = match memo.country.get(c.as_ref()) {
                Some(v) => v.clone(),
                None => {
                    let v = worldbank::country_code(&c).map(|code| Iso3::new(&code));
                    memo.country.insert(c.to_string(), v.clone());
                    v
                }
            };
            Some(iso.map_err(|m| ctx.err(line, Col::Country, &c, m, None))?)
        }
    };
    let mut note = None;
    let (income_setting, income_derived) = match memo.income.read(ctx, f, Col::IncomeSetting, IncomeSetting::parse) {
        Some(r) => (r.map_err(|e| ctx.vocab(line, Col::IncomeSetting, &e))?, false),
        None => match &country {
            Some(iso) => {
                let c = worldbank::classify(iso.as_str(), year)
                    .map_err(|m| ctx.err(line, Col::Country, iso.as_str(), m, None))?;
                note = c.note.map(|n| format!("income setting derived from country: {n}"));
                (c.setting, true)
            }
            None => {
                let msg = if ctx.resolved.has(Col::Country) {
                    "is empty and so is country; give one of them (LIC, LMC, UMC, HIC)"
                } else {
                    "is empty; expected one of LIC, LMC, UMC, HIC"
                };
                return Err(ctx.err(line, Col::IncomeSetting, "", msg, None));
            }
        },
    };

    let (rating, mut harm) =
        match memo.rating.read(ctx, f, Col::Rating, |s| Rating::parse(s).map(|p| (p.rating, p.harmful, p.combined))) {
            Some(r) => {
                let (r, h, combined) = r.map_err(|e| ctx.vocab(line, Col::Rating, &e))?;
                if combined {
                    add_note(&mut note, COMBINED_LABEL_NOTE.to_string());
                }
                (Some(r), h)
            }
            None => (None, false),
        };
    if let Some(h) = memo.harm.read(ctx, f, Col::Harm, |s| parse_bool(s).ok_or_else(|| vocab_err(s, ""))) {
        let h =
            h.map_err(|e| ctx.err(line, Col::Harm, &e.value, "expected true/false (also yes/no, 1/0, ja/nee)", None))?;
        harm |= h;
    }
    let strategy = memo
        .strategy
        .read(ctx, f, Col::Strategy, Strategy::parse)
        .transpose()
        .map_err(|e| ctx.vocab(line, Col::Strategy, &e))?;
    let design = memo
        .design
        .read(ctx, f, Col::Design, StudyDesign::parse)
        .transpose()
        .map_err(|e| ctx.vocab(line, Col::Design, &e))?;
    let risk_of_bias = memo
        .rob
        .read(ctx, f, Col::RiskOfBias, RiskOfBias::parse)
        .transpose()
        .map_err(|e| ctx.vocab(line, Col::RiskOfBias, &e))?;

    let sample_size = match ctx.number(f, Col::SampleSize)? {
        None => None,
        Some(n) if n >= 0.5 => Some(n.round() as u64),
        Some(n) => {
            return Err(ctx.err(
                line,
                Col::SampleSize,
                &n.to_string(),
                "must be a positive number of participants",
                None,
            ))
        }
    };

    let (outcome_domain, domain_inferred) = match memo.domain.read(ctx, f, Col::OutcomeDomain, OutcomeDomain::parse) {
        Some(d) => (d.map_err(|e| ctx.vocab(line, Col::OutcomeDomain, &e))?, false),
        None => match memo.inferred.read(ctx, f, Col::Outcome, |s| Ok(OutcomeDomain::infer(s))) {
            Some(Ok(d)) => (d, true),
            _ => (OutcomeDomain::Other, true),
        },
    };
    let primary = memo
        .primary
        .read(ctx, f, Col::Primary, |s| parse_primary(s).ok_or_else(|| vocab_err(s, "")))
        .transpose()
        .map_err(|e| {
            ctx.err(
                line,
                Col::Primary,
                &e.value,
                "expected true/false (also yes/no, 1/0, primary/secondary, ja/nee)",
                None,
            )
        })?;
    let direction = memo
        .direction
        .read(ctx, f, Col::Direction, Direction::parse)
        .transpose()
        .map_err(|e| ctx.vocab(line, Col::Direction, &e))?;

    let assignment = memo
        .assignment
        .read(ctx, f, Col::Assignment, Assignment::parse)
        .transpose()
        .map_err(|e| ctx.vocab(line, Col::Assignment, &e))?;
    // A count written with decimals (an average over arms, or a sum of
    // such) is rounded, as sample sizes are, and noted.
    let clusters = match ctx.number(f, Col::Clusters)? {
        None => None,
        Some(n) if n >= 0.5 && n.round() <= f64::from(u32::MAX) => {
            if (n - n.round()).abs() > 1e-6 {
                add_note(&mut note, format!("{NOTE_ROWS} with a number of clusters that is not whole: rounded"));
            }
            Some(n.round() as u32)
        }
        Some(n) => {
            return Err(ctx.err(
                line,
                Col::Clusters,
                &n.to_string(),
                "must be a positive number of clusters (the total assigned, all arms together)",
                None,
            ))
        }
    };

    let effect = read_effect(ctx, f, &mut memo.measure)?;
    if let Some(msg) = se_ci_disagreement(&effect) {
        add_note(&mut note, msg);
    }
    let record_id = ctx.text(f, Col::RecordId).unwrap_or_else(|| Cow::Owned(format!("{}:{}", ctx.file, line)));
    check_record(&intervention, sample_size, year, &effect, rating.is_some()).map_err(|e| {
        let col = Col::from_name(e.column).unwrap_or(Col::Rating);
        let mut err = ctx.err(line, col, &e.value, e.message, None);
        if !ctx.resolved.has(col) {
            err.column = Some(e.column.to_string());
        }
        err
    })?;
    let intervention = trim_cow(intervention);
    let (intervention, placeholder) = resolve_name(ctx, intervention, &mut memo.names);
    if placeholder {
        if !ctx.keep_placeholders {
            return Err(RowError {
                file: ctx.file.into(),
                line,
                column: Some(ctx.shown(Col::Intervention)),
                value: Some(intervention.to_string()),
                message: "is a placeholder, not a programme name; left out".into(),
                suggestion: None,
                raw: String::new(),
                left_out: Some(LeftOut::Placeholder(intervention.into_owned())),
            });
        }
        add_note(&mut note, placeholder_note(&intervention));
    }
    let memo: &'a Memo = memo;
    Ok(RowView {
        line,
        record_id,
        study_id: ctx.text(f, Col::StudyId),
        intervention,
        target_group: &memo.tgs[tg as usize],
        income_setting,
        income_derived,
        country,
        rating,
        harm,
        strategy,
        design,
        risk_of_bias,
        sample_size,
        year,
        outcome: ctx.text(f, Col::Outcome),
        outcome_domain,
        domain_inferred,
        primary,
        direction,
        assignment,
        clusters,
        source: ctx.text(f, Col::Source),
        effect,
        note,
    })
}

/// The note on rows rated with the combined bottom label (issue 20).
pub const COMBINED_LABEL_NOTE: &str = "{rows} rated 'ineffective/harmful': read as ineffective (no effect); \
     mark harm explicitly with the harm column or the label 'harmful'";

/// The note on kept rows whose intervention is a placeholder (by its
/// matching key, so spellings are counted together).
fn placeholder_note(name: &str) -> String {
    let key = crate::model::intervention_key(name);
    let name = if key.is_empty() { name } else { key.as_str() };
    format!(
        "{NOTE_ROWS} whose intervention is the placeholder '{}', not a programme name: these findings may belong to \
         different programmes; name them (score, rank, explain, report and gapmap leave such rows out unless --keep-placeholders \
         is given)",
        crate::model::shown(name)
    )
}

/// Add `msg` to a row's notes.
fn add_note(note: &mut Option<String>, msg: String) {
    *note = Some(match note.take() {
        Some(n) => format!("{n}{NOTE_SEP}{msg}"),
        None => msg,
    });
}

/// The intervention after the mapping's `[names]`, and whether it is a
/// placeholder (built-in or the mapping's). Remembered per distinct text.
fn resolve_name<'a>(
    ctx: &'a RowContext<'a>,
    name: Cow<'a, str>,
    memo: &mut FxHashMap<String, Name>,
) -> (Cow<'a, str>, bool) {
    let kind = match memo.get(name.as_ref()) {
        Some(k) => *k,
        None => {
            let key = crate::model::intervention_key(&name);
            let k = match ctx.names.alias_of.get(&key) {
                Some(&i)
                    if ctx.names.is_placeholder(&crate::model::intervention_key(&ctx.names.canonical[i as usize])) =>
                {
                    Name::AliasPlaceholder(i)
                }
                Some(&i) => Name::Alias(i),
                None if ctx.names.is_placeholder(&key) => Name::Placeholder,
                None => Name::Own,
            };
            memo.insert(name.to_string(), k);
            k
        }
    };
    match kind {
        Name::Own => (name, false),
        Name::Placeholder => (name, true),
        Name::Alias(i) => (Cow::Borrowed(ctx.names.canonical[i as usize].as_str()), false),
        Name::AliasPlaceholder(i) => (Cow::Borrowed(ctx.names.canonical[i as usize].as_str()), true),
    }
}

/// The year of an ISO date (`2019-05-01`, optionally with a time).
fn iso_date_year(s: &str) -> Option<i32> {
    let b = s.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    let rest_ok = b.len() == 10 || matches!(b.get(10), Some(b' ' | b'T'));
    (date && rest_ok).then(|| s.trim()[..4].parse().ok()).flatten()
}

/// A warning when `se` and the 95% CI are both given but disagree by more
/// than 25% (the CI implies `se = (upper - lower) / (2 * 1.959964)`, on the
/// log scale for ratio measures).
pub fn se_ci_disagreement(e: &EffectInput) -> Option<String> {
    let (se, lo, hi) = (e.se?, e.ci_lower?, e.ci_upper?);
    let ratio = e.measure.as_deref().is_some_and(crate::model::is_ratio_measure);
    let implied = if ratio {
        if lo <= 0.0 || hi <= 0.0 {
            return None;
        }
        (hi.ln() - lo.ln()) / (2.0 * crate::meta::effect::Z975)
    } else {
        (hi - lo) / (2.0 * crate::meta::effect::Z975)
    };
    ((se - implied).abs() > 0.25 * implied.max(se))
        .then(|| "se disagrees with the 95% CI by more than 25% (se is used; check which is right)".to_string())
}

/// The effect-size fields of a row (numbers only; consistency is checked by
/// [`check_record`] and by `meta::effect`); the measure label is upper-cased
/// once per distinct text.
///
/// # Errors
/// A field that is not a number.
pub fn read_effect<F: Fields>(
    ctx: &RowContext<'_>,
    f: &F,
    measures: &mut FxHashMap<String, String>,
) -> Result<EffectInput, RowError> {
    // Most effect columns are usually absent: those are empty without a
    // call into the row.
    let n = |c: Col| if ctx.has(c) { ctx.number(f, c) } else { Ok(None) };
    let mut e = EffectInput {
        effect_size: n(Col::EffectSize)?,
        se: n(Col::Se)?,
        variance: n(Col::Variance)?,
        ci_lower: n(Col::CiLower)?,
        ci_upper: n(Col::CiUpper)?,
        yi: n(Col::Yi)?,
        vi: n(Col::Vi)?,
        measure: None,
        events_t: n(Col::EventsT)?,
        n_t: n(Col::NT)?,
        events_c: n(Col::EventsC)?,
        n_c: n(Col::NC)?,
        mean_t: n(Col::MeanT)?,
        sd_t: n(Col::SdT)?,
        mean_c: n(Col::MeanC)?,
        sd_c: n(Col::SdC)?,
    };
    // metafor's bi/di (non-events) complete the group sizes.
    if e.n_t.is_none() {
        if let (Some(a), Some(b)) = (e.events_t, n(Col::NonEventsT)?) {
            e.n_t = Some(a + b);
        }
    }
    if e.n_c.is_none() {
        if let (Some(c), Some(d)) = (e.events_c, n(Col::NonEventsC)?) {
            e.n_c = Some(c + d);
        }
    }
    e.measure = ctx.text(f, Col::Measure).map(|s| match measures.get(s.as_ref()) {
        Some(m) => m.clone(),
        None => {
            let m = s.trim().to_ascii_uppercase();
            measures.insert(s.to_string(), m.clone());
            m
        }
    });
    Ok(e)
}

/// Read one row under the effects-only contract.
///
/// # Errors
/// A non-numeric effect field or an unknown design.
pub fn read_effect_row<F: Fields>(
    ctx: &RowContext<'_>,
    f: &F,
    names: &[String],
    memo: &mut Memo,
) -> Result<EffectRow, RowError> {
    if ctx.check_every_row {
        *memo = Memo::default();
    }
    let line = f.line();
    check_lengths(ctx, f)?;
    let effect = read_effect(ctx, f, &mut memo.measure)?;
    let design = memo
        .design
        .read(ctx, f, Col::Design, StudyDesign::parse)
        .transpose()
        .map_err(|e| ctx.vocab(line, Col::Design, &e))?;
    let study_id = ctx.text(f, Col::StudyId).map(Cow::into_owned);
    let (label, label_column) = match (&study_id, ctx.text(f, Col::RecordId)) {
        (Some(s), _) => (s.clone(), Some(ctx.resolved.shown(Col::StudyId))),
        (None, Some(r)) => (r.into_owned(), Some(ctx.resolved.shown(Col::RecordId))),
        (None, None) => (format!("{}:{}", ctx.stem, line), None),
    };
    let mut fields: std::collections::BTreeMap<String, String> =
        names.iter().enumerate().map(|(i, h)| (h.clone(), f.field(i).trim().to_string())).collect();
    // Contract columns by their contract names too (a mapped `outcome` can
    // be grouped on as `outcome`), empty or not.
    for c in Col::ALL {
        if ctx.has(c) && !fields.contains_key(c.name()) {
            fields.insert(c.name().to_string(), ctx.text(f, c).map(Cow::into_owned).unwrap_or_default());
        }
    }
    Ok(EffectRow {
        label,
        label_column,
        study_id,
        effect,
        design,
        fields,
        provenance: crate::model::Provenance { file: ctx.file_idx, line },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0.35", false), Some(0.35));
        assert_eq!(parse_number("0,35", true), Some(0.35));
        assert_eq!(parse_number("-1.234,5", true), Some(-1234.5));
        assert_eq!(parse_number("0.35", true), Some(0.35));
        assert_eq!(parse_number("1.23,5", true), None);
        assert_eq!(parse_number("0,35", false), None);
        assert_eq!(parse_number("abc", false), None);
        assert_eq!(parse_number("inf", false), None);
        assert_eq!(parse_number(" 12 ", false), Some(12.0));
    }

    proptest::proptest! {
        /// The plain-number shortcut gives what the general parser gives.
        #[test]
        fn plain_number_shortcut_agrees(
            s in "[-+]?[0-9]{0,6}(\\.[0-9]{0,6})?([eE][-+]?[0-9]{0,4})?|[0-9eE.+-]{0,12}",
            decimal_comma in proptest::bool::ANY,
        ) {
            proptest::prop_assert_eq!(parse_number(&s, decimal_comma), parse_number_general(&s, decimal_comma));
        }
    }

    #[test]
    fn plain_numbers_at_the_edges() {
        for s in ["", "-", "+", ".", "e5", "1e400", "-1e400", "1e-400", "00012", "+.5", "5.", "1..2", "1e", "--1"] {
            for dc in [false, true] {
                assert_eq!(parse_number(s, dc), parse_number_general(s, dc), "{s:?}");
            }
        }
        assert_eq!(parse_number("1e400", false), None, "not finite");
    }

    #[test]
    fn bools_and_primaries() {
        assert_eq!(parse_bool("Ja"), Some(true));
        assert_eq!(parse_bool("nee"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_primary("secondary"), Some(false));
        assert_eq!(parse_primary("Primair"), Some(true));
        assert_eq!(parse_primary("yes"), Some(true));
    }
}

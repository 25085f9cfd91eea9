//! Readers that turn a file into a [`RawTable`]: header names plus rows of
//! text cells, each with its line (or row) number. CSV/TSV, JSON Lines and
//! Parquet all end up in this one shape, so column resolution and record
//! conversion are written once.

use super::decode::{decode, sniff_delimiter, TextEncoding};
use super::IngestError;
use rayon::prelude::*;
use std::path::Path;

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

impl InputFormat {
    pub const NAMES: &'static str = "csv, tsv, jsonl, parquet";

    /// Parse a `--input-format` value.
    pub fn parse(s: &str) -> Option<InputFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Some(InputFormat::Csv),
            "tsv" | "tab" => Some(InputFormat::Tsv),
            "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
            "parquet" | "pq" => Some(InputFormat::Parquet),
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
        }
    }
}

/// One data row as text cells aligned with the header.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// 1-based physical line where the row starts (CSV, JSONL) or the 1-based
    /// data row number (Parquet, where the header is not a line).
    pub line: u64,
    /// All cells in one buffer (one allocation per row).
    pub cells: csv::StringRecord,
    /// Byte range of the row in the decoded text (text formats only).
    pub span: Option<(usize, usize)>,
}

impl RawRow {
    /// An empty row buffer for `width` cells.
    pub fn with_width(width: usize) -> RawRow {
        RawRow { line: 0, cells: csv::StringRecord::with_capacity(256, width), span: None }
    }
}

/// A row that could not be split into cells (wrong field count, invalid JSON).
#[derive(Debug, Clone)]
pub struct MalformedRow {
    pub line: u64,
    pub message: String,
    pub span: Option<(usize, usize)>,
}

/// A whole file as text cells.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub format: InputFormat,
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
    pub malformed: Vec<MalformedRow>,
    pub encoding: Option<TextEncoding>,
    pub delimiter: Option<u8>,
    /// Fully blank rows skipped (not counted as data rows).
    pub blank_rows: u64,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    text: String,
}

impl RawTable {
    /// The row as it appeared in the input (for the rejects file).
    pub fn raw_text(&self, span: Option<(usize, usize)>, cells: Option<&csv::StringRecord>) -> String {
        raw_text_of(&self.text, span, cells)
    }

    /// Number of data rows seen (parsed + malformed).
    pub fn rows_read(&self) -> u64 {
        (self.rows.len() + self.malformed.len()) as u64
    }
}

/// The row as it appeared: its span of `text`, or its cells joined as CSV.
pub fn raw_text_of(text: &str, span: Option<(usize, usize)>, cells: Option<&csv::StringRecord>) -> String {
    match (span, cells) {
        (Some((a, b)), _) => text[a..b].trim_end_matches(['\r', '\n']).to_string(),
        (None, Some(cells)) => cells.iter().map(crate::report::csv_field).collect::<Vec<_>>().join(","),
        (None, None) => String::new(),
    }
}

/// Whether `b` is valid UTF-8, checked in parallel pieces cut where no
/// multi-byte character continues (same answer as `std::str::from_utf8`).
fn par_utf8(b: &[u8]) -> bool {
    const PIECE: usize = 8 << 20;
    let mut cuts = vec![0];
    let mut at = PIECE;
    while at < b.len() {
        // Move to the start of a character (not a continuation byte).
        while at < b.len() && (b[at] & 0xC0) == 0x80 && at - cuts[cuts.len() - 1] < 2 * PIECE {
            at += 1;
        }
        cuts.push(at);
        at += PIECE;
    }
    cuts.push(b.len());
    cuts.dedup();
    cuts.par_windows(2).all(|w| std::str::from_utf8(&b[w[0]..w[1]]).is_ok())
}

/// A file opened for chunked reading (the streaming `score` path).
pub enum Opened {
    /// Parsed whole (JSON Lines, small or quoted delimited text).
    Table(RawTable),
    /// Quote-free delimited text cut at newlines into pieces parsed on demand.
    Pieces(PieceText),
    /// Parquet, read one row group at a time.
    Parquet(ParquetSource),
}

/// Decoded text: the file's own bytes when they are UTF-8 (mapped, not
/// copied), else the transcoded text.
pub enum TextBuf {
    Owned(String),
    /// Mapped file and the byte range that holds the (validated) text.
    Mapped(std::sync::Arc<memmap2::Mmap>, usize, usize),
}

impl TextBuf {
    pub fn as_str(&self) -> &str {
        match self {
            TextBuf::Owned(s) => s,
            // SAFETY: the range was validated as UTF-8 by `decode` when the
            // buffer was made, and the mapping is read-only.
            TextBuf::Mapped(m, a, b) => unsafe { std::str::from_utf8_unchecked(&m[*a..*b]) },
        }
    }
}

/// Decoded delimited text with its header and the pieces of its body.
pub struct PieceText {
    pub text: TextBuf,
    pub encoding: TextEncoding,
    pub delimiter: u8,
    pub headers: Vec<String>,
    /// `(from, to, first line)` per piece, in order.
    pub pieces: Vec<(usize, usize, u64)>,
}

/// What parsing a piece leaves besides its rows (spans refer to the whole
/// text).
pub struct Piece {
    pub malformed: Vec<MalformedRow>,
    pub blank_rows: u64,
}

impl PieceText {
    /// About how many rows the body holds (from the line length of the
    /// first piece; for reserving memory once).
    pub fn estimated_rows(&self) -> usize {
        match (self.pieces.first(), self.pieces.get(1)) {
            (Some(&(a, b, l0)), Some(&(_, _, l1))) if l1 > l0 => {
                let per_line = (b - a) as f64 / (l1 - l0) as f64;
                let body = self.text.as_str().len() - a;
                (body as f64 / per_line * 1.02) as usize
            }
            _ => 0,
        }
    }

    /// Parse piece `i`, handing each well-formed row to `on_row` (one row
    /// buffer reused).
    pub fn parse_with(&self, i: usize, on_row: &mut dyn FnMut(&RawRow)) -> Piece {
        let (a, b, line) = self.pieces[i];
        let p = parse_span_with(self.text.as_str(), a, b, line, self.delimiter, Some(self.headers.len()), on_row);
        Piece { malformed: p.malformed, blank_rows: p.blank_rows }
    }
}

/// The message for a row whose field count differs from the header's.
fn field_count_message(got: usize, fields: usize, delim: u8) -> String {
    format!("has {got} fields but the header has {fields}; check for an unquoted '{}' inside a value", delim as char)
}

/// One line of a quote-free piece, its cells as byte ranges of the text.
pub struct SplitRow<'t> {
    pub text: &'t str,
    /// 1-based line where the row starts.
    pub line: u64,
    /// Byte range of the row and the line ends (and empty lines) after it,
    /// as [`RawRow::span`].
    pub span: (usize, usize),
    /// `(start, end)` of each cell.
    pub cells: &'t [(usize, usize)],
}

impl<'t> SplitRow<'t> {
    pub fn cell(&self, i: usize) -> &'t str {
        self.cells.get(i).map_or("", |&(a, b)| &self.text[a..b])
    }

    /// The row as a [`RawRow`] (for the record converter).
    pub fn fill(&self, row: &mut RawRow) {
        row.cells.clear();
        for &(a, b) in self.cells {
            row.cells.push_field(&self.text[a..b]);
        }
        row.line = self.line;
        row.span = Some(self.span);
    }
}

impl PieceText {
    /// [`PieceText::parse_with`] without the CSV reader: a piece has no
    /// quote characters, so a record is a line (ended by `\n`, `\r\n` or a
    /// lone `\r`, as the CSV reader reads them; empty lines skipped) and its
    /// cells are split at the delimiter, in place. Tests hold it to
    /// `parse_with` on adversarial line ends, blank and short lines.
    pub fn split_with(&self, i: usize, on_row: &mut dyn FnMut(&SplitRow<'_>)) -> Piece {
        let (from, to, first_line) = self.pieces[i];
        let text = self.text.as_str();
        let b = text.as_bytes();
        let n_fields = self.headers.len();
        let mut out = Piece { malformed: Vec::new(), blank_rows: 0 };
        let mut cells: Vec<(usize, usize)> = Vec::with_capacity(n_fields);
        let mut line = first_line;
        // Skip line ends (and so empty lines) before the first record.
        let mut at = from;
        while at < to && (b[at] == b'\n' || b[at] == b'\r') {
            line += u64::from(b[at] == b'\n');
            at += 1;
        }
        while at < to {
            let end = memchr::memchr2(b'\n', b'\r', &b[at..to]).map_or(to, |p| at + p);
            cells.clear();
            split_cells(b, at, end, self.delimiter, &mut cells);
            // The span runs to the next record: past this line's end and
            // any empty lines.
            let mut next = end;
            let mut newlines = 0;
            while next < to && (b[next] == b'\n' || b[next] == b'\r') {
                newlines += u64::from(b[next] == b'\n');
                next += 1;
            }
            let row = SplitRow { text, line, span: (at, next), cells: &cells };
            if cells.iter().all(|&(x, y)| text[x..y].trim().is_empty()) {
                out.blank_rows += 1;
            } else if cells.len() != n_fields {
                out.malformed.push(MalformedRow {
                    line,
                    message: field_count_message(cells.len(), n_fields, self.delimiter),
                    span: Some(row.span),
                });
            } else {
                on_row(&row);
            }
            line += newlines;
            at = next;
        }
        out
    }
}

/// The cells of `b[from..end]` (one line, no quotes) as byte ranges, split
/// at `delim`. Eight bytes are tested at a time (a word with the delimiter
/// bytes zeroed, then the classic has-zero-byte test): cells are short, so
/// this beats one `memchr` call per cell. The test can flag a byte just
/// above a true match (a borrow), so each flagged byte is checked.
fn split_cells(b: &[u8], from: usize, end: usize, delim: u8, cells: &mut Vec<(usize, usize)>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(delim);
    let mut start = from;
    let mut i = from;
    while i + 8 <= end {
        let word = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        let x = word ^ pattern;
        let mut flagged = x.wrapping_sub(ONES) & !x & HIGHS;
        while flagged != 0 {
            let k = i + (flagged.trailing_zeros() / 8) as usize;
            if b[k] == delim {
                cells.push((start, k));
                start = k + 1;
            }
            flagged &= flagged - 1;
        }
        i += 8;
    }
    for (k, &byte) in b.iter().enumerate().take(end).skip(i) {
        if byte == delim {
            cells.push((start, k));
            start = k + 1;
        }
    }
    cells.push((start, end));
}

/// A Parquet file in memory with its row groups.
pub struct ParquetSource {
    bytes: std::sync::Arc<memmap2::Mmap>,
    metadata: std::sync::Arc<polars::io::parquet::read::FileMetadata>,
    pub headers: Vec<String>,
    /// `(first row, rows)` per row group.
    pub groups: Vec<(usize, usize)>,
    path: String,
}

impl ParquetSource {
    fn open(bytes: std::sync::Arc<memmap2::Mmap>, path: &str) -> Result<ParquetSource, IngestError> {
        use polars::prelude::*;
        let err = |e: PolarsError| IngestError::Parquet { path: path.to_string(), message: e.to_string() };
        let mut r = ParquetReader::new(std::io::Cursor::new(&bytes[..]));
        let schema = r.schema().map_err(err)?;
        let headers = schema.iter_names().map(|s| s.to_string()).collect();
        let metadata = r.get_metadata().map_err(err)?.clone();
        let mut groups = Vec::with_capacity(metadata.row_groups.len());
        let mut at = 0;
        for g in &metadata.row_groups {
            groups.push((at, g.num_rows()));
            at += g.num_rows();
        }
        Ok(ParquetSource { bytes, metadata, headers, groups, path: path.to_string() })
    }

    /// The file's name as shown in messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn n_rows(&self) -> usize {
        self.groups.iter().map(|g| g.1).sum()
    }

    /// Row group `g`, only the columns in `columns` (sorted file indices).
    ///
    /// # Errors
    /// What polars reports for a damaged file.
    pub fn read_group(&self, g: usize, columns: &[usize]) -> Result<polars::prelude::DataFrame, IngestError> {
        use polars::prelude::*;
        let (start, len) = self.groups[g];
        let mut r = ParquetReader::new(std::io::Cursor::new(&self.bytes[..]))
            .with_slice(Some((start, len)))
            .with_projection(Some(columns.to_vec()));
        r.set_metadata(self.metadata.clone());
        r.finish().map_err(|e| IngestError::Parquet { path: self.path.clone(), message: e.to_string() })
    }

    /// Rows `offset..offset + len` of row group `g` (read with `columns`) as
    /// text cells at their header positions (unread columns empty), handed
    /// to `on_row` in one reused buffer; row numbers are 1-based data rows of
    /// the file. Returns the number of rows.
    ///
    /// # Errors
    /// A column polars cannot cast to text.
    pub fn for_each_row(
        &self,
        df: &polars::prelude::DataFrame,
        g: usize,
        offset: usize,
        len: usize,
        columns: &[usize],
        on_row: &mut dyn FnMut(&RawRow),
    ) -> Result<u64, IngestError> {
        let part = df.slice(offset as i64, len);
        let first = (self.groups[g].0 + offset) as u64;
        for_each_df_row(&part, first, &self.path, columns, self.headers.len(), on_row)?;
        Ok(part.height() as u64)
    }
}

/// Open a file for chunked reading; also returns the SHA-256 of its bytes.
///
/// # Errors
/// As [`read_table`].
pub fn open_chunked(path: &Path, format: InputFormat) -> Result<(Opened, std::sync::Arc<memmap2::Mmap>), IngestError> {
    let display = path.display().to_string();
    let io = |e: std::io::Error| IngestError::Io { path: display.clone(), message: e.to_string() };
    let t0 = std::time::Instant::now();
    let file = std::fs::File::open(path).map_err(io)?;
    // SAFETY: a read-only private mapping; evidex does not write its inputs.
    // (A file changed by another program while it is read is not supported.)
    let bytes = std::sync::Arc::new(unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(io)?);
    super::timing("map file", t0);
    let sha256 = std::sync::Arc::clone(&bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty { path: display });
    }
    super::sniff::check(&bytes, format, &display)?;
    if format == InputFormat::Parquet {
        return Ok((Opened::Parquet(ParquetSource::open(bytes, &display)?), sha256));
    }
    let t0 = std::time::Instant::now();
    // Large plain UTF-8 files (no BOM) are validated in parallel pieces;
    // anything else goes through `decode` (BOMs, UTF-16, Windows-1252).
    let (decoded, encoding) = if bytes.len() > (16 << 20) && !bytes.starts_with(b"\xEF\xBB\xBF") && par_utf8(&bytes) {
        // SAFETY: just validated as UTF-8.
        (std::borrow::Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(&bytes[..]) }), TextEncoding::Utf8)
    } else {
        decode(&bytes[..])
    };
    let borrowed = match &decoded {
        std::borrow::Cow::Borrowed(s) => {
            let a = s.as_ptr() as usize - bytes.as_ptr() as usize;
            Some((a, a + s.len()))
        }
        std::borrow::Cow::Owned(_) => None,
    };
    let text = match borrowed {
        Some((a, b)) => {
            drop(decoded);
            TextBuf::Mapped(bytes, a, b)
        }
        None => TextBuf::Owned(decoded.into_owned()),
    };
    super::timing("decode", t0);
    let opened = match format {
        InputFormat::Jsonl => Opened::Table(read_jsonl(text.as_str().to_string(), encoding)),
        _ => {
            let s = text.as_str();
            let delim = if format == InputFormat::Tsv { b'\t' } else { sniff_delimiter(s) };
            match split_points(s) {
                Some(cuts) => {
                    let head = parse_span(s, 0, cuts[0], 1, delim, None);
                    let Some(headers) = head.header else {
                        return Err(IngestError::Empty { path: display });
                    };
                    let pieces = pieces_of(s, &cuts);
                    Opened::Pieces(PieceText { text, encoding, delimiter: delim, headers, pieces })
                }
                None => Opened::Table(read_delimited(s.to_string(), encoding, delim, &display)?),
            }
        }
    };
    Ok((opened, sha256))
}

/// Read a file in the given format.
///
/// # Errors
/// I/O errors, an empty file, a Parquet file polars cannot read.
pub fn read_table(path: &Path, format: InputFormat) -> Result<RawTable, IngestError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| IngestError::Io { path: display.clone(), message: e.to_string() })?;
    let sha256 = super::sha256_hex(&bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty { path: display });
    }
    super::sniff::check(&bytes, format, &display)?;
    let mut table = if format == InputFormat::Parquet {
        read_parquet(bytes, &display)?
    } else {
        let (text, encoding) = decode(&bytes);
        let text = text.into_owned();
        drop(bytes);
        match format {
            InputFormat::Jsonl => read_jsonl(text, encoding),
            _ => {
                let delim = if format == InputFormat::Tsv { b'\t' } else { sniff_delimiter(&text) };
                read_delimited(text, encoding, delim, &display)?
            }
        }
    };
    table.sha256 = sha256;
    Ok(table)
}

/// Parse delimited text that is already decoded.
///
/// # Errors
/// [`IngestError::Empty`] when there is no header.
pub fn read_delimited(text: String, encoding: TextEncoding, delim: u8, path: &str) -> Result<RawTable, IngestError> {
    let parsed = match split_points(&text) {
        // No quote character anywhere: every newline ends a record, so the
        // body can be cut at newlines and parsed in parallel.
        Some(cuts) => {
            let head = parse_span(&text, 0, cuts[0], 1, delim, None);
            let n = head.header.as_ref().map_or(0, |h| h.len());
            let parts: Vec<Parsed> = pieces_of(&text, &cuts)
                .par_iter()
                .map(|&(a, b, l)| parse_span(&text, a, b, l, delim, Some(n)))
                .collect();
            let mut all = head;
            for p in parts {
                all.rows.extend(p.rows);
                all.malformed.extend(p.malformed);
                all.blank_rows += p.blank_rows;
            }
            all
        }
        None => parse_span(&text, 0, text.len(), 1, delim, None),
    };
    let Some(headers) = parsed.header else {
        return Err(IngestError::Empty { path: path.to_string() });
    };
    let format = if delim == b'\t' { InputFormat::Tsv } else { InputFormat::Csv };
    Ok(RawTable {
        format,
        headers,
        rows: parsed.rows,
        malformed: parsed.malformed,
        encoding: Some(encoding),
        delimiter: Some(delim),
        blank_rows: parsed.blank_rows,
        sha256: String::new(),
        text,
    })
}

fn bytecount_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Cut points for parallel parsing: the end of the first line (the header),
/// then newline boundaries about every 8 MiB. `None` (parse sequentially)
/// for small texts, texts with quotes (a newline may sit inside a field), a
/// blank first line, or no newline at all.
fn split_points(text: &str) -> Option<Vec<usize>> {
    const PIECE: usize = 8 << 20;
    if text.len() < 2 * PIECE || text.as_bytes().contains(&b'"') {
        return None;
    }
    let b = text.as_bytes();
    let first = b.iter().position(|&c| c == b'\n')? + 1;
    if text[..first].trim().is_empty() {
        return None;
    }
    let mut cuts = vec![first];
    let mut at = first;
    while at + PIECE < b.len() {
        match b[at + PIECE..].iter().position(|&c| c == b'\n') {
            Some(p) => {
                at += PIECE + p + 1;
                cuts.push(at);
            }
            None => break,
        }
    }
    if *cuts.last().unwrap_or(&0) < b.len() {
        cuts.push(b.len());
    }
    Some(cuts)
}

/// The pieces between `cuts` (from [`split_points`]) as `(from, to, first
/// line)`; newlines are counted in parallel.
fn pieces_of(text: &str, cuts: &[usize]) -> Vec<(usize, usize, u64)> {
    let b = text.as_bytes();
    let counts: Vec<u64> = cuts.par_windows(2).map(|w| bytecount_newlines(&b[w[0]..w[1]])).collect();
    let mut line = 1 + bytecount_newlines(&b[..cuts[0]]);
    let mut pieces = Vec::with_capacity(counts.len());
    for (w, n) in cuts.windows(2).zip(counts) {
        pieces.push((w[0], w[1], line));
        line += n;
    }
    pieces
}

/// Rows parsed from `text[from..to]`.
struct Parsed {
    header: Option<Vec<String>>,
    rows: Vec<RawRow>,
    malformed: Vec<MalformedRow>,
    blank_rows: u64,
}

/// Parse `text[from..to]` whose first line is line `first_line`. With
/// `n_fields` the span holds data rows only; without, its first record is
/// the header. Spans and line numbers refer to the whole text.
fn parse_span(text: &str, from: usize, to: usize, first_line: u64, delim: u8, n_fields: Option<usize>) -> Parsed {
    let mut rows = Vec::new();
    let mut out = parse_span_with(text, from, to, first_line, delim, n_fields, &mut |r: &RawRow| rows.push(r.clone()));
    out.rows = rows;
    out
}

/// [`parse_span`] handing each well-formed row to `on_row` as it is parsed
/// (one row buffer reused, nothing collected); `rows` of the result stays
/// empty.
fn parse_span_with(
    text: &str,
    from: usize,
    to: usize,
    first_line: u64,
    delim: u8,
    n_fields: Option<usize>,
    on_row: &mut dyn FnMut(&RawRow),
) -> Parsed {
    let slice = &text.as_bytes()[from..to];
    let mut rdr = csv::ReaderBuilder::new().delimiter(delim).has_headers(false).flexible(true).from_reader(slice);
    let mut out = Parsed { header: None, rows: Vec::new(), malformed: Vec::new(), blank_rows: 0 };
    let mut n = n_fields;
    // Each record's span ends where the next begins, so rows are finalised
    // one step late: `pending` holds the previous record, `rec` the next.
    let mut pending = RawRow { line: 0, cells: csv::StringRecord::new(), span: None };
    let mut has_pending = false;
    let mut rec = csv::StringRecord::new();
    // Line numbers are counted from byte offsets: csv's own counter lags by
    // one after CRLF terminators.
    let mut counted_to = 0usize;
    let mut newlines = 0u64;
    let mut line_at = |mut pos: usize| -> (u64, usize) {
        while pos < slice.len() && (slice[pos] == b'\r' || slice[pos] == b'\n') {
            pos += 1;
        }
        if pos > counted_to {
            newlines += bytecount_newlines(&slice[counted_to..pos]);
            counted_to = pos;
        }
        (first_line + newlines, pos)
    };
    let mut finish = |row: &mut RawRow, end: usize, out: &mut Parsed, n: &mut Option<usize>| {
        let start = row.span.map_or(0, |s| s.0);
        let span = Some((start, from + end));
        row.span = span;
        let Some(fields) = *n else {
            out.header = Some(row.cells.iter().map(|s| s.to_string()).collect());
            *n = Some(row.cells.len());
            return;
        };
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            out.blank_rows += 1;
            return;
        }
        if row.cells.len() != fields {
            out.malformed.push(MalformedRow {
                line: row.line,
                message: field_count_message(row.cells.len(), fields, delim),
                span,
            });
        } else {
            on_row(row);
        }
    };
    loop {
        let start = rdr.position().byte() as usize;
        match rdr.read_record(&mut rec) {
            Ok(true) => {
                let raw_start = rec.position().map_or(start, |p| p.byte() as usize);
                let (line, start_of_this) = line_at(raw_start);
                if has_pending {
                    finish(&mut pending, start_of_this, &mut out, &mut n);
                }
                std::mem::swap(&mut pending.cells, &mut rec);
                pending.line = line;
                pending.span = Some((from + start_of_this, 0));
                has_pending = true;
            }
            Ok(false) => break,
            Err(e) => {
                let (line, start) = line_at(e.position().map_or(start, |p| p.byte() as usize));
                if has_pending {
                    finish(&mut pending, start, &mut out, &mut n);
                    has_pending = false;
                }
                out.malformed.push(MalformedRow { line, message: format!("cannot be parsed: {e}"), span: None });
            }
        }
    }
    if has_pending {
        finish(&mut pending, slice.len(), &mut out, &mut n);
    }
    out
}

fn read_jsonl(text: String, encoding: TextEncoding) -> RawTable {
    let mut headers: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    let mut malformed = Vec::new();
    let mut blank_rows = 0;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let span = Some((offset, offset + line.len()));
        offset += line.len();
        let lineno = i as u64 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            blank_rows += 1;
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(serde_json::Value::Object(map)) => {
                for k in map.keys() {
                    if !headers.iter().any(|h| h == k) {
                        headers.push(k.clone());
                    }
                }
                objects.push((lineno, map, span));
            }
            Ok(other) => malformed.push(MalformedRow {
                line: lineno,
                message: format!("is a JSON {} but each line must be one JSON object", json_kind(&other)),
                span,
            }),
            Err(e) => malformed.push(MalformedRow { line: lineno, message: format!("is not valid JSON: {e}"), span }),
        }
    }
    let rows = objects
        .into_iter()
        .map(|(line, map, span)| {
            let cells: Vec<String> = headers.iter().map(|h| map.get(h).map(json_cell).unwrap_or_default()).collect();
            RawRow { line, cells: csv::StringRecord::from(cells), span }
        })
        .collect();
    RawTable {
        format: InputFormat::Jsonl,
        headers,
        rows,
        malformed,
        encoding: Some(encoding),
        delimiter: None,
        blank_rows,
        sha256: String::new(),
        text,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn json_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read_parquet(bytes: Vec<u8>, display: &str) -> Result<RawTable, IngestError> {
    use polars::prelude::*;
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| IngestError::Parquet { path: display.to_string(), message: e.to_string() })?;
    let headers: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let rows = df_rows(&df, 0, display)?;
    Ok(RawTable {
        format: InputFormat::Parquet,
        headers,
        rows,
        malformed: Vec::new(),
        encoding: None,
        delimiter: None,
        blank_rows: 0,
        sha256: String::new(),
        text: String::new(),
    })
}

/// A data frame's rows as text cells; row numbers start at `first + 1`.
fn df_rows(df: &polars::prelude::DataFrame, first: u64, display: &str) -> Result<Vec<RawRow>, IngestError> {
    let all: Vec<usize> = (0..df.width()).collect();
    let mut rows = Vec::with_capacity(df.height());
    for_each_df_row(df, first, display, &all, df.width(), &mut |r: &RawRow| rows.push(r.clone()))?;
    Ok(rows)
}

/// Each row of `df`, whose columns sit at `positions` among `width` header
/// columns (other cells empty), as text cells in one reused buffer.
fn for_each_df_row(
    df: &polars::prelude::DataFrame,
    first: u64,
    display: &str,
    positions: &[usize],
    width: usize,
    on_row: &mut dyn FnMut(&RawRow),
) -> Result<(), IngestError> {
    let text = DfText::new(df, positions, width, display)?;
    let mut row = RawRow::with_width(width);
    for i in 0..df.height() {
        text.fill(i, first + i as u64 + 1, &mut row);
        on_row(&row);
    }
    Ok(())
}

/// A data frame's columns cast to text, to fill rows of text cells.
pub struct DfText {
    strings: Vec<polars::prelude::StringChunked>,
    /// Data-frame column per header position (`None`: not read, empty cell).
    slot: Vec<Option<usize>>,
}

impl DfText {
    /// `df`'s columns sit at `positions` among `width` header columns.
    ///
    /// # Errors
    /// A column polars cannot cast to text.
    pub fn new(
        df: &polars::prelude::DataFrame,
        positions: &[usize],
        width: usize,
        display: &str,
    ) -> Result<DfText, IngestError> {
        use polars::prelude::*;
        let err = |e: PolarsError| IngestError::Parquet { path: display.to_string(), message: e.to_string() };
        let mut strings: Vec<StringChunked> = Vec::with_capacity(df.width());
        for col in df.columns() {
            let s = col.as_materialized_series().cast(&DataType::String).map_err(err)?;
            strings.push(s.str().map_err(err)?.rechunk().into_owned());
        }
        let mut slot: Vec<Option<usize>> = vec![None; width];
        for (i, p) in positions.iter().enumerate() {
            slot[*p] = Some(i);
        }
        Ok(DfText { strings, slot })
    }

    /// Put row `i` into `row` (numbered `line`).
    pub fn fill(&self, i: usize, line: u64, row: &mut RawRow) {
        row.cells.clear();
        for s in &self.slot {
            row.cells.push_field(s.and_then(|c| self.strings[c].get(i)).unwrap_or(""));
        }
        row.line = line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> RawTable {
        read_delimited(text.to_string(), TextEncoding::Utf8, sniff_delimiter(text), "t.csv").unwrap()
    }

    #[test]
    fn quoted_newlines_keep_line_numbers() {
        let t = csv("a,b\n1,\"x\ny\"\n2,z\n");
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(&t.rows[0].cells[1], "x\ny");
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.raw_text(t.rows[1].span, None), "2,z");
    }

    // Regression: csv's line counter lagged by one with CRLF line ends.
    #[test]
    fn crlf_line_numbers() {
        let t = csv("a;b\r\n1;2\r\n3;\"x\r\ny\"\r\n5;6\r\n");
        let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(t.raw_text(t.rows[0].span, None), "1;2");
    }

    /// The parallel path (quote-free text cut at newlines) must give exactly
    /// what the sequential parser gives: rows, cells, lines and spans.
    #[test]
    fn parallel_parse_equals_sequential() {
        let mut buf = Vec::new();
        crate::synth::to_csv(&crate::synth::GenOptions { rows: 150_000, seed: 5, ..Default::default() }, &mut buf)
            .unwrap();
        let mut text = String::from_utf8(buf).unwrap().replace('\n', "\r\n");
        text.push_str("\r\nbad,row\r\n\r\n");
        assert!(split_points(&text).is_some_and(|c| c.len() > 3), "test text must take the parallel path");
        let par = read_delimited(text.clone(), TextEncoding::Utf8, b',', "t.csv").unwrap();
        let seq = parse_span(&text, 0, text.len(), 1, b',', None);
        assert_eq!(Some(par.headers.clone()), seq.header);
        assert_eq!(par.rows.len(), seq.rows.len());
        for (a, b) in par.rows.iter().zip(&seq.rows) {
            assert_eq!((a.line, &a.cells, a.span), (b.line, &b.cells, b.span));
        }
        let lines = |m: &[MalformedRow]| m.iter().map(|x| (x.line, x.span)).collect::<Vec<_>>();
        assert_eq!(lines(&par.malformed), lines(&seq.malformed));
        assert_eq!(par.malformed.len(), 1);
        assert_eq!(par.blank_rows, seq.blank_rows);
    }

    /// The parallel UTF-8 check gives `from_utf8`'s answer, also when
    /// multi-byte characters straddle the 8 MiB piece boundaries.
    #[test]
    fn parallel_utf8_check_equals_std() {
        let unit = "ab\u{e9}\u{20ac}\u{1f600};\n".as_bytes();
        let mut b: Vec<u8> = unit.iter().copied().cycle().take(3 * (8 << 20) + 7).collect();
        // Cut off mid-character at the very end: invalid.
        assert_eq!(par_utf8(&b), std::str::from_utf8(&b).is_ok());
        while std::str::from_utf8(&b).is_err() {
            b.pop();
        }
        assert!(par_utf8(&b));
        for at in [8 << 20, (8 << 20) + 1, 16 << 20, b.len() - 2] {
            let mut bad = b.clone();
            bad[at] = 0xFF;
            assert!(!par_utf8(&bad), "invalid byte at {at} not found");
        }
    }

    #[test]
    fn wrong_field_count_is_malformed_not_lost() {
        let t = csv("a,b\n1,2\n1,2,3\n\n4,5\n");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.malformed.len(), 1);
        assert_eq!(t.malformed[0].line, 3);
        assert_eq!(t.rows_read(), 3);
        assert_eq!(t.raw_text(t.malformed[0].span, None), "1,2,3");
    }

    #[test]
    fn jsonl_rows() {
        let t =
            read_jsonl("{\"a\":1,\"b\":\"x\"}\n[1]\n{\"b\":null,\"c\":true}\nnot json\n".into(), TextEncoding::Utf8);
        assert_eq!(t.headers, ["a", "b", "c"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].cells.iter().collect::<Vec<_>>(), ["", "", "true"]);
        assert_eq!(t.rows[1].line, 3);
        assert_eq!(t.malformed.len(), 2);
        assert_eq!(t.malformed[1].line, 4);
    }

    /// What a piece parser saw: rows (line, span, cells), malformed rows
    /// (line, message, span) and the blank-row count.
    type Seen = (Vec<(u64, Option<(usize, usize)>, Vec<String>)>, Vec<(u64, String, Option<(usize, usize)>)>, u64);

    fn piece(text: &str, delimiter: u8, n_fields: usize, first_line: u64) -> PieceText {
        PieceText {
            text: TextBuf::Owned(text.to_string()),
            encoding: TextEncoding::Utf8,
            delimiter,
            headers: vec!["h".to_string(); n_fields],
            pieces: vec![(0, text.len(), first_line)],
        }
    }

    fn seen_by_csv_reader(p: &PieceText) -> Seen {
        let mut rows = Vec::new();
        let piece = p.parse_with(0, &mut |r| rows.push((r.line, r.span, r.cells.iter().map(String::from).collect())));
        let bad = piece.malformed.into_iter().map(|m| (m.line, m.message, m.span)).collect();
        (rows, bad, piece.blank_rows)
    }

    fn seen_by_splitter(p: &PieceText) -> Seen {
        let mut rows = Vec::new();
        let piece = p.split_with(0, &mut |r| {
            let mut raw = RawRow::with_width(1);
            r.fill(&mut raw);
            assert_eq!(raw.cells.len(), r.cells.len());
            rows.push((raw.line, raw.span, raw.cells.iter().map(String::from).collect()))
        });
        let bad = piece.malformed.into_iter().map(|m| (m.line, m.message, m.span)).collect();
        (rows, bad, piece.blank_rows)
    }

    #[test]
    fn splitter_reads_line_ends_like_the_csv_reader() {
        for text in ["a,b\r\nc,d\re,f\n\n\r\ng,h", "\n\na,b\n  ,\t\nx\n1,2,3\n", "a,b", "\r\n\r\n", "é,ü\n"] {
            let p = piece(text, b',', 2, 7);
            assert_eq!(seen_by_splitter(&p), seen_by_csv_reader(&p), "{text:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        /// Any quote-free text: the splitter gives the CSV reader's rows,
        /// line numbers, spans, malformed rows and blank-row count.
        #[test]
        /// Word-at-a-time cell splitting equals a plain split, including
        /// bytes one above the delimiter (`-` for `,`, `:` for `;`, 0x08
        /// for tab) right after a delimiter, where the zero-byte test
        /// flags false positives.
        fn cells_split_like_str_split(
            tokens in proptest::collection::vec(0usize..9, 0..40),
            delim in 0usize..3,
            from in 0usize..3,
        ) {
            const T: [&str; 9] = [",", "-", ";", ":", "\t", "\u{8}", "a", "é", ",-"];
            let text: String = tokens.iter().map(|&t| T[t]).collect();
            let d = [b',', b';', b'\t'][delim];
            let from = from.min(text.len());
            let mut got = Vec::new();
            split_cells(text.as_bytes(), from, text.len(), d, &mut got);
            let mut expected = Vec::new();
            let mut at = from;
            for part in text.as_bytes()[from..].split(|x| *x == d) {
                expected.push((at, at + part.len()));
                at += part.len() + 1;
            }
            proptest::prop_assert_eq!(got, expected);
        }

        #[test]
        fn splitter_equals_csv_reader_on_quote_free_text(
            tokens in proptest::collection::vec(0usize..12, 0..120),
            delim in 0usize..3,
            n_fields in 1usize..4,
        ) {
            const T: [&str; 12] = ["a", "b7", " ", ",", ";", "\t", "\n", "\r", "\r\n", "é", "-1,5", "NA"];
            let text: String = tokens.iter().map(|&t| T[t]).collect();
            let p = piece(&text, [b',', b';', b'\t'][delim], n_fields, 2);
            proptest::prop_assert_eq!(seen_by_splitter(&p), seen_by_csv_reader(&p));
        }
    }
}

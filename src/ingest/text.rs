//! Delimited text (CSV, TSV) and JSON Lines, streamed in blocks.
//!
//! A reader thread reads the file in blocks of about [`BLOCK_BYTES`],
//! decodes them to UTF-8 (the file's encoding is decided once, before the
//! first block, from its byte-order mark and a check of the whole file)
//! and cuts each block after the last complete record, so every block
//! starts at a record start. Workers then turn blocks into rows in
//! parallel:
//!
//! - A block without a quote character is split in place: a record is a
//!   line, its fields are byte ranges between delimiters
//!   ([`split_block`]).
//! - A block with quotes is parsed with `csv-core`, the state machine
//!   behind the `csv` crate ([`quoted_block`]). The reader cut it at the
//!   last line end with an even number of quotes before it, which is a
//!   record end in any file that follows RFC 4180. A file with stray quote
//!   characters (a quote inside an unquoted field) can make that guess
//!   wrong; the worker notices, because its exact parse then ends inside a
//!   record ([`End::Unfinished`]), and the driver re-reads the rest of the
//!   file with cuts found by the exact parser ([`Cutting::Exact`]).
//!
//! Memory is the blocks in flight, not the file.

use super::decode::{sniff_delimiter, TextEncoding};
use super::row::{Fields, Visit};
use super::IngestError;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::io::Read;

/// Target size of a block of decoded text.
pub const BLOCK_BYTES: usize = 4 << 20;

/// The longest record evidex reads (64 MiB): a longer one is a quote that
/// is never closed, and the rest of the file would become one value.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// How the reader finds record ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutting {
    /// Every line end ends a record (JSON Lines).
    Lines,
    /// Delimited text: at a line end preceded by an even number of quotes.
    Parity,
    /// Delimited text: where `csv-core` ends a record (slower; used after a
    /// block showed that the parity guess fails for this file).
    Exact,
}

/// A run of whole records, decoded.
#[derive(Debug)]
pub struct Block {
    pub text: Vec<u8>,
    /// Offset of the block in the decoded text.
    pub offset: u64,
    /// 1-based line where the block starts.
    pub first_line: u64,
    /// The last block of the file.
    pub last: bool,
}

enum Decode {
    Utf8,
    Other(encoding_rs::Decoder),
}

/// Reads a text file as blocks of whole records.
pub struct TextReader {
    file: std::fs::File,
    path: String,
    decode: Decode,
    raw: Vec<u8>,
    /// Decoded bytes not handed out yet; `buf[0]` is at `offset`, on `line`.
    buf: Vec<u8>,
    eof: bool,
    offset: u64,
    line: u64,
    cutting: Cutting,
    delim: u8,
    /// Buffers of blocks the consumer is done with, for reuse.
    recycle: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
}

/// Whether the whole file is valid UTF-8 (read in parallel pieces, not
/// kept): a file that is not is read as Windows-1252, as Excel on Windows
/// writes it.
fn file_is_utf8(path: &std::path::Path, len: u64) -> std::io::Result<bool> {
    use rayon::prelude::*;
    use std::io::{Seek, SeekFrom};
    const PIECE: u64 = 64 << 20;
    // Piece boundaries moved past continuation bytes, so no character is
    // split between pieces.
    let mut bounds = vec![0u64];
    let mut f = std::fs::File::open(path)?;
    let mut at = PIECE;
    while at < len {
        f.seek(SeekFrom::Start(at))?;
        let mut four = [0u8; 4];
        let n = f.read(&mut four)?;
        let skip = four[..n].iter().take(3).take_while(|&&b| (b & 0xC0) == 0x80).count();
        bounds.push(at + skip as u64);
        at += PIECE;
    }
    bounds.push(len);
    bounds.dedup();
    bounds
        .par_windows(2)
        .map(|w| -> std::io::Result<bool> {
            let (start, end) = (w[0], w[1]);
            let mut f = std::fs::File::open(path)?;
            f.seek(SeekFrom::Start(start))?;
            let mut f = f.take(end - start);
            let mut buf = vec![0u8; 1 << 20];
            // Bytes of a character cut by the end of the previous read.
            let mut carry = 0usize;
            loop {
                let n = f.read(&mut buf[carry..])?;
                if n == 0 {
                    return Ok(carry == 0);
                }
                let filled = carry + n;
                match std::str::from_utf8(&buf[..filled]) {
                    Ok(_) => carry = 0,
                    Err(e) if e.error_len().is_none() => {
                        let from = e.valid_up_to();
                        buf.copy_within(from..filled, 0);
                        carry = filled - from;
                    }
                    Err(_) => return Ok(false),
                }
            }
        })
        .try_reduce(|| true, |a, b| Ok(a && b))
}

impl TextReader {
    /// Open `path`; the encoding comes from a byte-order mark or, without
    /// one, from whether the whole file is valid UTF-8.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(
        path: &std::path::Path,
        display: &str,
        cutting: Cutting,
    ) -> Result<(TextReader, TextEncoding), IngestError> {
        let io = |e: std::io::Error| IngestError::Io { path: display.to_string(), message: e.to_string() };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 3];
        let mut n = 0;
        while n < 3 {
            let k = file.read(&mut head[n..]).map_err(io)?;
            if k == 0 {
                break;
            }
            n += k;
        }
        let head = &head[..n];
        let (decode, encoding, skip) = if head.starts_with(b"\xEF\xBB\xBF") {
            (Decode::Utf8, TextEncoding::Utf8Bom, 3)
        } else if head.starts_with(b"\xFF\xFE") {
            (Decode::Other(encoding_rs::UTF_16LE.new_decoder_without_bom_handling()), TextEncoding::Utf16Le, 2)
        } else if head.starts_with(b"\xFE\xFF") {
            (Decode::Other(encoding_rs::UTF_16BE.new_decoder_without_bom_handling()), TextEncoding::Utf16Be, 2)
        } else if file_is_utf8(path, len).map_err(io)? {
            (Decode::Utf8, TextEncoding::Utf8, 0)
        } else {
            (Decode::Other(encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling()), TextEncoding::Windows1252, 0)
        };
        let mut r = TextReader {
            file,
            path: display.to_string(),
            decode,
            raw: vec![0u8; 1 << 20],
            buf: Vec::new(),
            eof: false,
            offset: 0,
            line: 1,
            cutting,
            delim: b',',
            recycle: None,
        };
        // The bytes read for the byte-order mark that are text.
        let text = head[skip..].to_vec();
        r.push_raw(&text, false);
        Ok((r, encoding))
    }

    /// Start reading at decoded offset `offset` (line `line`) with
    /// `cutting` (after a failed parity guess).
    ///
    /// # Errors
    /// I/O errors.
    pub fn reopen_at(
        path: &std::path::Path,
        display: &str,
        delim: u8,
        offset: u64,
        line: u64,
    ) -> Result<TextReader, IngestError> {
        let (mut r, _) = TextReader::open(path, display, Cutting::Exact)?;
        r.delim = delim;
        while r.offset + (r.buf.len() as u64) < offset && !r.eof {
            r.read_more(BLOCK_BYTES)?;
            let drop = ((offset - r.offset) as usize).min(r.buf.len());
            r.buf.drain(..drop);
            r.offset += drop as u64;
        }
        let drop = ((offset - r.offset) as usize).min(r.buf.len());
        r.buf.drain(..drop);
        r.offset += drop as u64;
        r.line = line;
        Ok(r)
    }

    fn io(&self, e: std::io::Error) -> IngestError {
        IngestError::Io { path: self.path.clone(), message: e.to_string() }
    }

    /// Decode `raw` bytes onto the buffer.
    fn push_raw(&mut self, raw: &[u8], last: bool) {
        match &mut self.decode {
            Decode::Utf8 => self.buf.extend_from_slice(raw),
            Decode::Other(d) => {
                let mut src = raw;
                loop {
                    let need = d.max_utf8_buffer_length(src.len()).unwrap_or(src.len() * 3 + 16);
                    let at = self.buf.len();
                    self.buf.resize(at + need, 0);
                    let (res, read, written, _) = d.decode_to_utf8(src, &mut self.buf[at..], last);
                    self.buf.truncate(at + written);
                    src = &src[read..];
                    if res == encoding_rs::CoderResult::InputEmpty {
                        break;
                    }
                }
            }
        }
    }

    /// Read the next piece of the file onto the buffer (UTF-8 straight into
    /// it; other encodings through the decoder).
    fn read_more(&mut self, want: usize) -> Result<(), IngestError> {
        if self.eof {
            return Ok(());
        }
        let piece = want.saturating_sub(self.buf.len()).max(64 << 10);
        if matches!(self.decode, Decode::Utf8) {
            self.buf.reserve(piece);
            let n = (&mut self.file).take(piece as u64).read_to_end(&mut self.buf).map_err(|e| self.io(e))?;
            if n == 0 {
                self.eof = true;
            }
            return Ok(());
        }
        let mut raw = std::mem::take(&mut self.raw);
        let n = loop {
            match self.file.read(&mut raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.push_raw(&raw[..n], n == 0);
        self.raw = raw;
        Ok(())
    }

    /// Fill the buffer to at least `want` bytes (or the end of the file).
    fn fill(&mut self, want: usize) -> Result<(), IngestError> {
        while self.buf.len() < want && !self.eof {
            self.read_more(want)?;
        }
        Ok(())
    }

    /// The start of the file (up to 64 KiB) for sniffing.
    ///
    /// # Errors
    /// I/O errors.
    pub fn head(&mut self) -> Result<&[u8], IngestError> {
        self.fill(64 << 10)?;
        Ok(&self.buf[..self.buf.len().min(64 << 10)])
    }

    /// Sniff the delimiter (`,`, `;` or tab) unless given.
    ///
    /// # Errors
    /// I/O errors.
    pub fn set_delimiter(&mut self, given: Option<u8>) -> Result<u8, IngestError> {
        self.delim = match given {
            Some(d) => d,
            None => {
                let head = self.head()?;
                sniff_delimiter(&String::from_utf8_lossy(head))
            }
        };
        Ok(self.delim)
    }

    /// Read the header record (`None`: the file holds no record).
    ///
    /// # Errors
    /// I/O errors, or a header longer than [`MAX_RECORD_BYTES`].
    pub fn header(&mut self) -> Result<Option<Vec<String>>, IngestError> {
        let mut want = 64 << 10;
        loop {
            self.fill(want)?;
            let mut p = CsvParser::new(self.delim);
            let (rec, end) = p.first_record(&self.buf, self.eof);
            match rec {
                Some(fields) => {
                    let consumed = &self.buf[..end];
                    self.line += count_newlines(consumed);
                    self.offset += end as u64;
                    self.buf.drain(..end);
                    return Ok(Some(fields));
                }
                None if self.eof => return Ok(None),
                None if self.buf.len() >= MAX_RECORD_BYTES => return Err(self.too_long()),
                None => want = self.buf.len() * 2,
            }
        }
    }

    /// Skip `n` bytes of the buffer (a JSON Lines file has no header line).
    fn too_long(&self) -> IngestError {
        IngestError::Malformed {
            path: self.path.clone(),
            line: self.line,
            message: format!(
                "the row starting here runs over {} MiB without ending; a quote (\") is probably never closed",
                MAX_RECORD_BYTES >> 20
            ),
        }
    }

    /// The next block of whole records (`None` at the end of the file).
    ///
    /// # Errors
    /// I/O errors, or a record longer than [`MAX_RECORD_BYTES`].
    pub fn next_block(&mut self) -> Result<Option<Block>, IngestError> {
        let mut want = BLOCK_BYTES;
        loop {
            self.fill(want)?;
            if self.buf.is_empty() && self.eof {
                return Ok(None);
            }
            let cut = if self.eof { Some(self.buf.len()) } else { self.cut() };
            match cut {
                Some(cut) if cut > 0 => {
                    // The rest goes to a buffer with room for the next block
                    // (a recycled one when the consumer returned one).
                    let mut rest = self.recycle.as_ref().and_then(|r| r.try_recv().ok()).unwrap_or_default();
                    rest.clear();
                    rest.reserve(BLOCK_BYTES + (64 << 10));
                    rest.extend_from_slice(&self.buf[cut..]);
                    self.buf.truncate(cut);
                    let text = std::mem::replace(&mut self.buf, rest);
                    let block = Block {
                        offset: self.offset,
                        first_line: self.line,
                        last: self.eof && self.buf.is_empty(),
                        text,
                    };
                    self.offset += block.text.len() as u64;
                    self.line += count_newlines(&block.text);
                    return Ok(Some(block));
                }
                _ if self.buf.len() >= MAX_RECORD_BYTES => return Err(self.too_long()),
                _ => want = self.buf.len().max(BLOCK_BYTES) * 2,
            }
        }
    }

    /// Where the buffer's last complete record ends (`None`: no complete
    /// record yet).
    fn cut(&self) -> Option<usize> {
        let b = &self.buf;
        match self.cutting {
            Cutting::Lines => memchr::memrchr(b'\n', b).map(|p| p + 1),
            Cutting::Parity => {
                if memchr::memchr(b'"', b).is_none() {
                    return memchr::memrchr2(b'\n', b'\r', b).map(|p| p + 1);
                }
                let quotes = memchr::memchr_iter(b'"', b).count();
                // Walk back from the end: at a line end, the quotes before it
                // are all quotes less those seen after it.
                let mut after = 0usize;
                let mut end = b.len();
                while let Some(p) = memchr::memrchr3(b'"', b'\n', b'\r', &b[..end]) {
                    if b[p] == b'"' {
                        after += 1;
                    } else if (quotes - after) % 2 == 0 {
                        return Some(p + 1);
                    }
                    end = p;
                }
                None
            }
            Cutting::Exact => {
                let mut p = CsvParser::new(self.delim);
                let end = p.last_record_end(b);
                (end > 0).then_some(end)
            }
        }
    }
}

/// Count `\n` bytes (line numbers count `\n`, as the `csv` crate does).
pub fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// The reader thread's ends: blocks arrive on `blocks`, at most `ahead`
/// ahead of the consumer; buffers sent back on `recycle` are reused.
pub struct Feed {
    pub blocks: std::sync::mpsc::Receiver<Result<Block, IngestError>>,
    pub recycle: std::sync::mpsc::Sender<Vec<u8>>,
}

/// Spawn the reader thread of `r` in `scope`.
pub fn spawn_reader<'s>(scope: &'s std::thread::Scope<'s, '_>, mut r: TextReader, ahead: usize) -> Feed {
    let (tx, rx) = std::sync::mpsc::sync_channel(ahead);
    let (back, recycled) = std::sync::mpsc::channel();
    r.recycle = Some(recycled);
    scope.spawn(move || loop {
        match r.next_block() {
            Ok(Some(b)) => {
                if tx.send(Ok(b)).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    });
    Feed { blocks: rx, recycle: back }
}

/// A `csv-core` parser with its buffers, with the `csv` crate's defaults
/// (quotes, doubled quotes, `\r`, `\n` or `\r\n` line ends, empty lines
/// skipped).
struct CsvParser {
    rdr: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

/// One record as `csv-core` read it.
struct CsvRecord<'p> {
    /// Unescaped field text, back to back.
    out: &'p [u8],
    ends: &'p [usize],
    /// Byte range of the record in the input (from the first byte after
    /// the previous record's end).
    start: usize,
    end: usize,
}

enum Step {
    Record {
        start: usize,
        end: usize,
        nout: usize,
        nend: usize,
    },
    /// Input ended inside a record that started at `start` (not at the end
    /// of the file).
    Partial {
        start: usize,
    },
    Done,
}

impl CsvParser {
    fn new(delim: u8) -> CsvParser {
        CsvParser {
            rdr: csv_core::ReaderBuilder::new().delimiter(delim).build(),
            out: vec![0; 4096],
            ends: vec![0; 64],
        }
    }

    /// Read the next record of `input` from `at`; `eof`: the input is the
    /// rest of the file.
    fn step(&mut self, input: &[u8], at: usize, eof: bool, first_call: bool) -> Step {
        use csv_core::ReadRecordResult as R;
        let (mut nout, mut nend) = (0, 0);
        let mut pos = at;
        // csv-core strips a UTF-8 byte-order mark at the start of the first
        // input it sees; a record that starts with U+FEFF is text here
        // (the file's own mark was removed before): feed one byte first.
        let mut limit = if first_call && input[at..].starts_with(b"\xEF\xBB\xBF") { at + 1 } else { input.len() };
        loop {
            if pos >= limit {
                if limit < input.len() {
                    limit = input.len();
                    continue;
                }
                if !eof {
                    // csv-core reads an empty input as the end of the file:
                    // stop here instead.
                    let rest = &input[at..];
                    return if rest.iter().all(|&c| c == b'\n' || c == b'\r') {
                        Step::Done
                    } else {
                        Step::Partial { start: at }
                    };
                }
                // The end of the file: finishes a last record without a line end.
                let (res, _, _, e) = self.rdr.read_record(&[], &mut self.out[nout..], &mut self.ends[nend..]);
                nend += e;
                match res {
                    R::Record => return Step::Record { start: at, end: pos, nout, nend },
                    R::OutputEndsFull => {
                        let n = self.ends.len();
                        self.ends.resize(n * 2, 0);
                        continue;
                    }
                    _ => return Step::Done,
                }
            }
            let (res, nin, o, e) =
                self.rdr.read_record(&input[pos..limit], &mut self.out[nout..], &mut self.ends[nend..]);
            pos += nin;
            nout += o;
            nend += e;
            match res {
                R::InputEmpty => {}
                R::OutputFull => {
                    let n = self.out.len();
                    self.out.resize(n * 2, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len();
                    self.ends.resize(n * 2, 0);
                }
                R::Record => return Step::Record { start: at, end: pos, nout, nend },
                R::End => return Step::Done,
            }
        }
    }

    fn record(&self, start: usize, end: usize, nout: usize, nend: usize) -> CsvRecord<'_> {
        CsvRecord { out: &self.out[..nout], ends: &self.ends[..nend], start, end }
    }

    /// The first record of `input` and where it ends.
    fn first_record(&mut self, input: &[u8], eof: bool) -> (Option<Vec<String>>, usize) {
        match self.step(input, 0, eof, true) {
            Step::Record { start, end, nout, nend } => {
                let r = self.record(start, end, nout, nend);
                let text = String::from_utf8_lossy(r.out);
                let mut fields = Vec::with_capacity(nend);
                let mut a = 0;
                for &e in r.ends {
                    fields.push(text.get(a..e).unwrap_or_default().to_string());
                    a = e;
                }
                (Some(fields), end)
            }
            _ => (None, 0),
        }
    }

    /// Where the last complete record of `input` ends (0: none).
    fn last_record_end(&mut self, input: &[u8]) -> usize {
        let mut at = 0;
        let mut first = true;
        loop {
            match self.step(input, at, false, first) {
                Step::Record { end, .. } => at = end,
                _ => return at,
            }
            first = false;
        }
    }
}

/// How a block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Clean,
    /// The block ends inside a record that starts at this offset of the
    /// decoded text, on this line: the reader's cut was wrong.
    Unfinished {
        offset: u64,
        line: u64,
    },
}

/// The message for a row whose field count differs from the header's.
pub fn field_count_message(got: usize, fields: usize, delim: u8) -> String {
    let d = if delim == b'\t' { "tab".to_string() } else { format!("'{}'", delim as char) };
    format!("has {got} fields but the header has {fields}; check for an unquoted {d} inside a value")
}

/// One record of a quote-free block: its fields are byte ranges of the text.
pub struct SplitRow<'t> {
    text: &'t str,
    line: u64,
    span: (usize, usize),
    fields: &'t [(usize, usize)],
}

impl Fields for SplitRow<'_> {
    fn line(&self) -> u64 {
        self.line
    }
    fn long_field(&self, _: usize, limit: usize) -> Option<usize> {
        self.fields.iter().position(|&(a, b)| b - a > limit)
    }
    fn field(&self, i: usize) -> &str {
        self.fields.get(i).and_then(|&(a, b)| self.text.get(a..b)).unwrap_or("")
    }
    fn raw(&self) -> String {
        raw_span(self.text, self.span)
    }
}

fn raw_span(text: &str, (a, b): (usize, usize)) -> String {
    text.get(a..b).unwrap_or_default().trim_end_matches(['\r', '\n']).to_string()
}

/// One record read by `csv-core`.
pub struct QuotedRow<'t> {
    text: &'t str,
    ends: &'t [usize],
    line: u64,
    raw: &'t str,
}

impl Fields for QuotedRow<'_> {
    fn line(&self) -> u64 {
        self.line
    }
    fn long_field(&self, _: usize, limit: usize) -> Option<usize> {
        let mut a = 0;
        self.ends.iter().position(|&b| {
            let long = b - a > limit;
            a = b;
            long
        })
    }
    fn field(&self, i: usize) -> &str {
        let Some(&b) = self.ends.get(i) else { return "" };
        let a = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(a..b).unwrap_or("")
    }
    fn raw(&self) -> String {
        self.raw.trim_end_matches(['\r', '\n']).to_string()
    }
}

/// The rows of a block of delimited text.
///
/// # Errors
/// Text that is not UTF-8 (the file changed while it was read).
pub fn delimited_block<V: Visit>(
    b: &Block,
    delim: u8,
    n_fields: usize,
    path: &str,
    v: &mut V,
) -> Result<End, IngestError> {
    let text = std::str::from_utf8(&b.text).map_err(|e| IngestError::Io {
        path: path.to_string(),
        message: format!(
            "bytes that are not valid text near offset {} (was the file changed while it was read?)",
            b.offset + e.valid_up_to() as u64
        ),
    })?;
    if memchr::memchr(b'"', &b.text).is_none() {
        split_block(text, b.first_line, delim, n_fields, v);
        Ok(End::Clean)
    } else {
        Ok(quoted_block(text, b, delim, n_fields, v))
    }
}

/// Split a quote-free text into records (a record is a line, ended by
/// `\n`, `\r\n` or a lone `\r` as the `csv` crate reads them; empty lines
/// are skipped) and the records into fields at `delim`, in place.
pub fn split_block<V: Visit>(text: &str, first_line: u64, delim: u8, n_fields: usize, v: &mut V) {
    let b = text.as_bytes();
    let to = b.len();
    let mut fields: Vec<(usize, usize)> = Vec::with_capacity(n_fields);
    let mut line = first_line;
    let mut at = 0;
    while at < to && (b[at] == b'\n' || b[at] == b'\r') {
        line += u64::from(b[at] == b'\n');
        at += 1;
    }
    while at < to {
        let end = memchr::memchr2(b'\n', b'\r', &b[at..to]).map_or(to, |p| at + p);
        fields.clear();
        split_fields(b, at, end, delim, &mut fields);
        // The span runs to the next record: past this line's end and any
        // empty lines.
        let mut next = end;
        let mut newlines = 0;
        while next < to && (b[next] == b'\n' || b[next] == b'\r') {
            newlines += u64::from(b[next] == b'\n');
            next += 1;
        }
        let row = SplitRow { text, line, span: (at, next), fields: &fields };
        if fields.iter().all(|&(x, y)| text.get(x..y).unwrap_or_default().trim().is_empty()) {
            v.blank();
        } else if fields.len() != n_fields {
            v.malformed(line, field_count_message(fields.len(), n_fields, delim), row.raw());
        } else {
            v.row(&row);
        }
        line += newlines;
        at = next;
    }
}

/// The fields of `b[from..end]` (one line, no quotes) as byte ranges, split
/// at `delim`. Eight bytes are tested at a time (a word with the delimiter
/// bytes zeroed, then the classic has-zero-byte test): fields are short, so
/// this beats one `memchr` call per field. The test can flag a byte just
/// above a true match (a borrow), so each flagged byte is checked.
pub fn split_fields(b: &[u8], from: usize, end: usize, delim: u8, fields: &mut Vec<(usize, usize)>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(delim);
    let mut start = from;
    let mut i = from;
    while i + 8 <= end {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ pattern;
        let mut flagged = x.wrapping_sub(ONES) & !x & HIGHS;
        while flagged != 0 {
            let k = i + (flagged.trailing_zeros() / 8) as usize;
            if b[k] == delim {
                fields.push((start, k));
                start = k + 1;
            }
            flagged &= flagged - 1;
        }
        i += 8;
    }
    for (k, &byte) in b.iter().enumerate().take(end).skip(i) {
        if byte == delim {
            fields.push((start, k));
            start = k + 1;
        }
    }
    fields.push((start, end));
}

/// The records of a block with quotes, read by `csv-core`.
fn quoted_block<V: Visit>(text: &str, b: &Block, delim: u8, n_fields: usize, v: &mut V) -> End {
    let input = text.as_bytes();
    let mut p = CsvParser::new(delim);
    let mut at = 0;
    let mut line = b.first_line;
    let mut first = true;
    loop {
        match p.step(input, at, b.last, first) {
            Step::Record { start, end, nout, nend } => {
                // The record starts after any empty lines csv-core skipped.
                let lead = input[start..end].iter().take_while(|&&c| c == b'\n' || c == b'\r').count();
                line += count_newlines(&input[start..start + lead]);
                let r = p.record(start + lead, end, nout, nend);
                let raw = text.get(r.start..r.end).unwrap_or_default();
                match std::str::from_utf8(r.out) {
                    Ok(fields) => {
                        let row = QuotedRow { text: fields, ends: r.ends, line, raw };
                        if fields.trim().is_empty() {
                            v.blank();
                        } else if nend != n_fields {
                            v.malformed(line, field_count_message(nend, n_fields, delim), row.raw());
                        } else {
                            v.row(&row);
                        }
                    }
                    Err(_) => v.malformed(line, "is not valid text".into(), raw.to_string()),
                }
                line += count_newlines(&input[start + lead..end]);
                at = end;
            }
            Step::Partial { start } => {
                let lead = input[start..].iter().take_while(|&&c| c == b'\n' || c == b'\r').count();
                let line = line + count_newlines(&input[start..start + lead]);
                return End::Unfinished { offset: b.offset + (start + lead) as u64, line };
            }
            Step::Done => return End::Clean,
        }
        first = false;
    }
}

// ---------------------------------------------------------------- JSON Lines

/// The keys of the JSON objects in a block, in order of first appearance
/// (lines that are not objects are skipped here; the second pass reports
/// them).
pub fn json_keys(b: &Block) -> Vec<String> {
    let mut keys = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    let text = String::from_utf8_lossy(&b.text);
    for line in text.split('\n') {
        line_keys(line.trim(), &mut keys, &mut seen);
    }
    keys
}

/// The keys of one trimmed line (if it starts as an object) not yet in
/// `seen`, read up to the first syntax error, added to `keys`. Values are
/// skipped, not parsed: a value the row reader refuses (a number out of
/// range) does not hide the keys after it.
fn line_keys(t: &str, keys: &mut Vec<String>, seen: &mut rustc_hash::FxHashSet<String>) {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys<'k>(&'k mut Vec<String>, &'k mut rustc_hash::FxHashSet<String>);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key::<KeyText<'de>>()? {
                if !self.1.contains(k.0.as_ref()) {
                    self.1.insert(k.0.to_string());
                    self.0.push(k.0.into_owned());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    if t.starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(t);
        let _ = de.deserialize_map(Keys(keys, seen));
    }
}

/// A key, borrowed from the line when it has no escapes.
struct KeyText<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(KeyText(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(KeyText(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(KeyText(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// One value of a JSON object.
#[derive(Debug)]
enum JsonValue<'t> {
    Missing,
    Null,
    Text(Cow<'t, str>),
    Bool(bool),
    Int(i128, OnceCell<String>),
    Float(f64, OnceCell<String>),
    /// An array or object, as JSON text.
    Json(String),
}

impl<'de> serde::Deserialize<'de> for JsonValue<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonValue<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(JsonValue::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(JsonValue::Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(JsonValue::Text(Cow::Owned(s)))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(JsonValue::Bool(b))
            }
            fn visit_i64<E>(self, x: i64) -> Result<Self::Value, E> {
                Ok(JsonValue::Int(i128::from(x), OnceCell::new()))
            }
            fn visit_u64<E>(self, x: u64) -> Result<Self::Value, E> {
                Ok(JsonValue::Int(i128::from(x), OnceCell::new()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Self::Value, E> {
                Ok(JsonValue::Float(x, OnceCell::new()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonValue::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(JsonValue::Null)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                let v: serde_json::Value =
                    serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(JsonValue::Json(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let v: serde_json::Value =
                    serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(JsonValue::Json(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One JSON Lines row: values by header position.
pub struct JsonRow<'t> {
    line: u64,
    raw: &'t str,
    values: Vec<JsonValue<'t>>,
}

impl Fields for JsonRow<'_> {
    fn line(&self) -> u64 {
        self.line
    }
    fn long_field(&self, _: usize, limit: usize) -> Option<usize> {
        self.values.iter().position(|v| match v {
            JsonValue::Text(s) => s.len() > limit,
            JsonValue::Json(s) => s.len() > limit,
            _ => false,
        })
    }
    fn field(&self, i: usize) -> &str {
        match self.values.get(i) {
            Some(JsonValue::Text(s)) => s,
            Some(JsonValue::Bool(true)) => "true",
            Some(JsonValue::Bool(false)) => "false",
            Some(JsonValue::Int(x, s)) => s.get_or_init(|| x.to_string()),
            Some(JsonValue::Float(x, s)) => s.get_or_init(|| x.to_string()),
            Some(JsonValue::Json(s)) => s,
            _ => "",
        }
    }
    fn stored_number(&self, i: usize) -> Option<Option<f64>> {
        match self.values.get(i) {
            Some(JsonValue::Float(x, _)) => Some(Some(*x)),
            // Integers beyond 2^53 keep their text (read as text).
            Some(JsonValue::Int(x, _)) if x.unsigned_abs() < (1u128 << 53) => Some(Some(*x as f64)),
            Some(JsonValue::Null | JsonValue::Missing) => Some(None),
            _ => None,
        }
    }
    fn raw(&self) -> String {
        self.raw.to_string()
    }
}

fn json_kind(t: &str) -> &'static str {
    match t.as_bytes().first() {
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// The rows of a block of JSON Lines; `index` gives each key's header
/// position. Returns whether a key outside `index` was seen (the header
/// was taken from the first blocks and is incomplete).
///
/// # Errors
/// Text that is not UTF-8 (the file changed while it was read).
pub fn json_block<V: Visit>(
    b: &Block,
    index: &rustc_hash::FxHashMap<String, usize>,
    path: &str,
    v: &mut V,
) -> Result<bool, IngestError> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    struct Row<'i, 't>(&'i rustc_hash::FxHashMap<String, usize>, &'i mut Vec<JsonValue<'t>>, &'i mut bool);
    impl<'de> Visitor<'de> for Row<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key::<KeyText<'de>>()? {
                // Seen before its value, as the key pass sees it.
                let slot = self.0.get(k.0.as_ref()).copied();
                if slot.is_none() {
                    *self.2 = true;
                }
                let value: JsonValue<'de> = map.next_value()?;
                if let Some(i) = slot {
                    self.1[i] = value;
                }
            }
            Ok(())
        }
    }
    let mut late = false;
    let text = std::str::from_utf8(&b.text).map_err(|e| IngestError::Io {
        path: path.to_string(),
        message: format!("bytes that are not valid text near offset {}", b.offset + e.valid_up_to() as u64),
    })?;
    for (this, l) in (b.first_line..).zip(text.split_inclusive('\n')) {
        let t = l.trim();
        if t.is_empty() {
            v.blank();
            continue;
        }
        if !t.starts_with('{') {
            let msg = match serde_json::from_str::<serde::de::IgnoredAny>(t) {
                Ok(_) => format!("is a JSON {} but each line must be one JSON object", json_kind(t)),
                Err(e) => format!("is not valid JSON: {e}"),
            };
            v.malformed(this, msg, t.to_string());
            continue;
        }
        let mut values: Vec<JsonValue<'_>> = (0..index.len()).map(|_| JsonValue::Missing).collect();
        let mut de = serde_json::Deserializer::from_str(t);
        let parsed = de.deserialize_map(Row(index, &mut values, &mut late)).and_then(|()| de.end());
        match parsed {
            Ok(()) => v.row(&JsonRow { line: this, raw: t, values }),
            Err(e) => {
                if !late {
                    // The key pass reads past a value this parse refuses.
                    let mut keys = Vec::new();
                    line_keys(t, &mut keys, &mut rustc_hash::FxHashSet::default());
                    late = keys.iter().any(|k| !index.contains_key(k));
                }
                v.malformed(this, format!("is not valid JSON: {e}"), t.to_string());
            }
        }
    }
    Ok(late)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a visitor saw: rows (line, raw, fields), malformed rows (line,
    /// message, raw) and blank rows.
    #[derive(Debug, Default, PartialEq)]
    pub struct Seen {
        pub rows: Vec<(u64, String, Vec<String>)>,
        pub bad: Vec<(u64, String, String)>,
        pub blank: u64,
        width: usize,
    }

    impl Visit for Seen {
        fn row<F: Fields>(&mut self, f: &F) {
            let fields = (0..self.width).map(|i| f.field(i).to_string()).collect();
            self.rows.push((f.line(), f.raw(), fields));
        }
        fn malformed(&mut self, line: u64, message: String, raw: String) {
            self.bad.push((line, message, raw));
        }
        fn blank(&mut self) {
            self.blank += 1;
        }
    }

    /// The reference: the `csv` crate over the whole text, with its line
    /// numbers and raw record text.
    fn by_csv_crate(text: &str, delim: u8, width: usize) -> Seen {
        let mut s = Seen { width, ..Seen::default() };
        let mut rdr =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delim).from_reader(text.as_bytes());
        let mut rec = csv::StringRecord::new();
        let b = text.as_bytes();
        while rdr.read_record(&mut rec).unwrap_or(false) {
            let pos = rec.position().expect("position");
            let start = pos.byte() as usize;
            let lead = b[start..].iter().take_while(|&&c| c == b'\n' || c == b'\r').count();
            let line = 1 + count_newlines(&b[..start + lead]);
            let end = rdr.position().byte() as usize;
            let raw = text[start + lead..end].trim_end_matches(['\r', '\n']).to_string();
            if rec.iter().collect::<String>().trim().is_empty() {
                s.blank += 1;
            } else if rec.len() != width {
                s.bad.push((line, field_count_message(rec.len(), width, delim), raw));
            } else {
                s.rows.push((line, raw, rec.iter().map(String::from).collect()));
            }
        }
        s
    }

    /// All blocks of `text` (written to a file) through the reader and the
    /// block parser, as the driver does (including the re-read after a
    /// failed parity guess).
    fn by_blocks(text: &str, delim: u8, width: usize, block: usize) -> Seen {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let mut s = Seen { width, ..Seen::default() };
        let (mut r, _) = TextReader::open(&path, "t.csv", Cutting::Parity).unwrap();
        r.delim = delim;
        while let Some(b) = next_small(&mut r, block) {
            match delimited_block(&b, delim, width, "t.csv", &mut s).unwrap() {
                End::Clean => {}
                End::Unfinished { offset, line } => {
                    r = TextReader::reopen_at(&path, "t.csv", delim, offset, line).unwrap();
                }
            }
        }
        s
    }

    /// A block cut with a small target size (to test the cuts).
    fn next_small(r: &mut TextReader, size: usize) -> Option<Block> {
        let mut want = size;
        loop {
            r.fill(want).unwrap();
            if r.buf.is_empty() && r.eof {
                return None;
            }
            let head = r.buf.len().min(want);
            let saved = r.buf.split_off(head);
            let cut = if r.eof && saved.is_empty() { Some(r.buf.len()) } else { r.cut() };
            r.buf.extend_from_slice(&saved);
            match cut {
                Some(c) if c > 0 => {
                    let rest = r.buf.split_off(c);
                    let text = std::mem::replace(&mut r.buf, rest);
                    let b = Block { offset: r.offset, first_line: r.line, last: r.eof && r.buf.is_empty(), text };
                    r.offset += b.text.len() as u64;
                    r.line += count_newlines(&b.text);
                    return Some(b);
                }
                _ => want = want * 2 + 1,
            }
        }
    }

    #[test]
    fn quoted_newlines_keep_line_numbers() {
        let text = "1,\"x\ny\"\n2,z\n";
        let s = by_blocks(text, b',', 2, 4);
        assert_eq!(s, by_csv_crate(text, b',', 2));
        assert_eq!(s.rows[1].0, 3);
        assert_eq!(s.rows[0].2[1], "x\ny");
    }

    #[test]
    fn crlf_line_numbers() {
        let text = "1;2\r\n3;\"x\r\ny\"\r\n5;6\r\n";
        let s = by_blocks(text, b';', 2, 5);
        assert_eq!(s.rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 4]);
        assert_eq!(s.rows[0].1, "1;2");
    }

    #[test]
    fn stray_quotes_are_read_exactly() {
        // A quote inside an unquoted field: the parity guess fails, the
        // exact re-read gives the csv crate's records.
        let text = "a,5\" tall\nb,\"x,\ny\"\nc,d\ne,\"\"\"q\"\nf,g\n";
        for block in 1..text.len() + 2 {
            assert_eq!(by_blocks(text, b',', 2, block), by_csv_crate(text, b',', 2), "block {block}");
        }
    }

    #[test]
    fn wrong_field_count_is_malformed_not_lost() {
        let text = "1,2\n1,2,3\n\n4,5\n";
        let s = by_blocks(text, b',', 2, 64);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.bad, vec![(2, field_count_message(3, 2, b','), "1,2,3".to_string())]);
    }

    #[test]
    fn windows_1252_and_utf16_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        // ASCII for the first megabytes, then "Côte" in Windows-1252: the
        // whole file decides the encoding.
        let mut b = b"a;b\n".repeat(400_000);
        b.extend_from_slice(b"C\xF4te;1\n");
        std::fs::write(&p, &b).unwrap();
        let (mut r, enc) = TextReader::open(&p, "t.csv", Cutting::Parity).unwrap();
        assert_eq!(enc, TextEncoding::Windows1252);
        let mut all = Vec::new();
        while let Some(b) = r.next_block().unwrap() {
            all.extend_from_slice(&b.text);
        }
        assert!(String::from_utf8(all).unwrap().ends_with("Côte;1\n"));

        let mut u = vec![0xFF, 0xFE];
        for c in "x,y\n\u{e9},2\n".encode_utf16() {
            u.extend_from_slice(&c.to_le_bytes());
        }
        std::fs::write(&p, &u).unwrap();
        let (mut r, enc) = TextReader::open(&p, "t.csv", Cutting::Parity).unwrap();
        assert_eq!(enc, TextEncoding::Utf16Le);
        assert_eq!(r.header().unwrap(), Some(vec!["x".to_string(), "y".to_string()]));
        assert_eq!(r.next_block().unwrap().unwrap().text, "\u{e9},2\n".as_bytes());
    }

    #[test]
    fn utf8_check_across_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let unit = "ab\u{e9}\u{20ac}\u{1f600};\n".as_bytes();
        let b: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * 20_000_000 / unit.len()).collect();
        let mut b = b;
        while std::str::from_utf8(&b).is_err() {
            b.pop();
        }
        std::fs::write(&p, &b).unwrap();
        assert!(file_is_utf8(&p, b.len() as u64).unwrap());
        for at in [64 << 20, (64 << 20) + 1, b.len() - 2] {
            if at >= b.len() {
                continue;
            }
            let mut bad = b.clone();
            bad[at] = 0xFF;
            std::fs::write(&p, &bad).unwrap();
            assert!(!file_is_utf8(&p, bad.len() as u64).unwrap(), "invalid byte at {at} not found");
        }
    }

    #[test]
    fn json_lines() {
        let text = "{\"a\":1,\"b\":\"x\"}\n[1]\n{\"b\":null,\"c\":true}\nnot json\n\n{\"a\":12345678901234567890}\n";
        let b = Block { text: text.as_bytes().to_vec(), offset: 0, first_line: 1, last: true };
        let keys = json_keys(&b);
        assert_eq!(keys, ["a", "b", "c"]);
        let index = keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        let mut s = Seen { width: 3, ..Seen::default() };
        assert!(!json_block(&b, &index, "t.jsonl", &mut s).unwrap(), "every key is in the header");
        // A header without "c" (keys taken from the first blocks): the
        // key is reported as seen late.
        let short = keys[..2].iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        assert!(json_block(&b, &short, "t.jsonl", &mut Seen { width: 2, ..Seen::default() }).unwrap());
        // A value the row parse refuses (out of range) does not hide the
        // key after it, as it does not in the key pass.
        let text = "{\"a\":1e400,\"z\":1}\n";
        let b = Block { text: text.as_bytes().to_vec(), offset: 0, first_line: 1, last: true };
        assert_eq!(json_keys(&b), ["a", "z"]);
        let only_a = [("a".to_string(), 0)].into_iter().collect();
        let mut seen = Seen { width: 1, ..Seen::default() };
        assert!(json_block(&b, &only_a, "t.jsonl", &mut seen).unwrap());
        assert_eq!(seen.bad.len(), 1, "{:?}", seen.bad);
        assert_eq!(s.rows.len(), 3);
        assert_eq!(s.rows[0].2, ["1", "x", ""]);
        assert_eq!(s.rows[1].2, ["", "", "true"]);
        assert_eq!(s.rows[1].0, 3);
        assert_eq!(s.rows[2].2[0], "12345678901234567890");
        assert_eq!(s.bad.len(), 2);
        assert_eq!(s.bad[0].0, 2);
        assert!(s.bad[0].1.contains("JSON array"), "{:?}", s.bad);
        assert_eq!(s.bad[1].0, 4);
        assert_eq!(s.blank, 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Word-at-a-time splitting equals a plain split, including bytes
        /// one above the delimiter (`-` for `,`, `:` for `;`, 0x08 for
        /// tab) right after a delimiter, where the zero-byte test flags
        /// false positives.
        #[test]
        fn fields_split_like_str_split(
            tokens in proptest::collection::vec(0usize..9, 0..40),
            delim in 0usize..3,
            from in 0usize..3,
        ) {
            const T: [&str; 9] = [",", "-", ";", ":", "\t", "\u{8}", "a", "é", ",-"];
            let text: String = tokens.iter().map(|&t| T[t]).collect();
            let d = [b',', b';', b'\t'][delim];
            let from = from.min(text.len());
            let mut got = Vec::new();
            split_fields(text.as_bytes(), from, text.len(), d, &mut got);
            let mut expected = Vec::new();
            let mut at = from;
            for part in text.as_bytes()[from..].split(|x| *x == d) {
                expected.push((at, at + part.len()));
                at += part.len() + 1;
            }
            proptest::prop_assert_eq!(got, expected);
        }

        /// Any text, quoted or not, cut into blocks of any size: the rows,
        /// lines, raw text, malformed rows and blank rows of the `csv`
        /// crate reading the whole text at once.
        #[test]
        fn blocks_read_like_the_csv_crate(
            tokens in proptest::collection::vec(0usize..16, 0..160),
            delim in 0usize..3,
            width in 1usize..4,
            block in 1usize..80,
        ) {
            const T: [&str; 16] =
                ["a", "b7", " ", ",", ";", "\t", "\n", "\r", "\r\n", "é", "-1,5", "NA", "\"", "\"\"", "\"x,y\"", "\"q\nr\""];
            let text: String = tokens.iter().map(|&t| T[t]).collect();
            let d = [b',', b';', b'\t'][delim];
            proptest::prop_assert_eq!(by_blocks(&text, d, width, block), by_csv_crate(&text, d, width));
        }
    }
}

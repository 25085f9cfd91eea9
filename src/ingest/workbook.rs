//! Excel and OpenDocument workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`,
//! `.ods`), read with calamine.
//!
//! One sheet is read: the one `--sheet` names (by name, or by its 1-based
//! position), else the first sheet that has the contract's columns. The
//! header is the first non-empty row of the sheet (or, when that row lacks
//! the contract's columns, the first of the next rows that has them, so a
//! title above the table is skipped). Cells are read as the workbook
//! stores them: numbers as numbers, booleans as true/false, dates as
//! ISO dates (`2019-05-01`), error cells as their text (`#DIV/0!`). Rows
//! are numbered and columns lettered as Excel shows them.
//!
//! A sheet is read whole, as calamine's dense range of the span from its
//! first to its last value; a span over [`MAX_SHEET_CELLS`] is refused with
//! the position of the far value (Excel itself holds 1,048,576 rows).

use super::guard::guarded;
use super::row::{csv_field, Fields, Visit};
use super::IngestError;
use calamine::{Data, Range, Reader};
use std::cell::OnceCell;

/// Which sheet `--sheet` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetChoice {
    Name(String),
    /// 1-based position.
    Index(usize),
}

impl SheetChoice {
    /// A number is a position; anything else is a name.
    pub fn parse(s: &str) -> SheetChoice {
        match s.trim().parse::<usize>() {
            Ok(i) if i > 0 => SheetChoice::Index(i),
            _ => SheetChoice::Name(s.to_string()),
        }
    }
}

/// The sheet being read.
pub struct Sheet {
    pub name: String,
    range: Range<Data>,
    /// Index (in the range) of the header row.
    header_row: usize,
    pub headers: Vec<String>,
    /// Column letters by header position.
    pub letters: Vec<String>,
}

/// Excel's letters for 0-based column `c` (A, ..., Z, AA, ...).
pub fn column_letter(c: u32) -> String {
    let mut n = u64::from(c) + 1;
    let mut s = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        s.push(b'A' + r);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn workbook_error(path: &str, message: String) -> IngestError {
    IngestError::Workbook { path: path.to_string(), message }
}

/// How many rows below the first non-empty one may hold the header.
const HEADER_SEARCH: usize = 10;

/// Whether a sheet's header row (sheet name, headers) has the contract's
/// columns, and if not, why.
pub type FitsHeader<'a> = dyn Fn(&str, &[String]) -> Result<(), IngestError> + 'a;

/// Open the workbook at `path` and pick its sheet. `fits` says whether a
/// header row has the contract's columns (`Err` with the reason if not).
///
/// # Errors
/// A workbook calamine cannot read (or panics on), a sheet that does not
/// exist, or no sheet with the contract's columns.
pub fn open(
    path: &std::path::Path,
    display: &str,
    choice: Option<&SheetChoice>,
    fits: &FitsHeader<'_>,
) -> Result<Sheet, IngestError> {
    if let Err(m) = check_cfb(path) {
        return Err(workbook_error(display, format!("the workbook is damaged ({m})")));
    }
    let mut wb = guarded(|| calamine::open_workbook_auto(path))
        .map_err(|m| workbook_error(display, m))?
        .map_err(|e| workbook_error(display, format!("cannot read the workbook: {e}")))?;
    let names = wb.sheet_names();
    if names.is_empty() {
        return Err(workbook_error(display, "the workbook has no sheets".into()));
    }
    let listed = || names.iter().enumerate().map(|(i, n)| format!("{} '{n}'", i + 1)).collect::<Vec<_>>().join(", ");
    let wanted: Vec<String> = match choice {
        None => names.clone(),
        Some(SheetChoice::Name(n)) => match names.iter().find(|s| *s == n || s.eq_ignore_ascii_case(n)) {
            Some(s) => vec![s.clone()],
            None => {
                let hint = crate::model::did_you_mean(n, &names.iter().map(String::as_str).collect::<Vec<_>>())
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                return Err(workbook_error(
                    display,
                    format!("--sheet: no sheet named '{n}'{hint}; the sheets are {}", listed()),
                ));
            }
        },
        Some(SheetChoice::Index(i)) => match names.get(i - 1) {
            Some(s) => vec![s.clone()],
            None => {
                return Err(workbook_error(
                    display,
                    format!("--sheet {i}: the workbook has {} sheet(s): {}", names.len(), listed()),
                ))
            }
        },
    };
    let mut reasons = Vec::new();
    for name in &wanted {
        let range = match guarded(|| sheet_range(&mut wb, name)) {
            Ok(Ok(r)) => r,
            // Looking for the table: a sheet that cannot be read is passed
            // over, and its reason given if no sheet fits.
            Ok(Err(m)) | Err(m) if choice.is_none() && wanted.len() > 1 => {
                reasons.push(format!("'{name}': {m}"));
                continue;
            }
            Ok(Err(m)) | Err(m) => return Err(workbook_error(display, format!("sheet '{name}': {m}"))),
        };
        let shown = sheet_display(display, name);
        match find_header(&range, &shown, fits) {
            Ok((header_row, headers)) => {
                let col0 = range.start().map_or(0, |s| s.1);
                let letters = (0..headers.len() as u32).map(|j| column_letter(col0 + j)).collect();
                return Ok(Sheet { name: name.clone(), range, header_row, headers, letters });
            }
            // With a chosen sheet, its own message.
            Err(e) if choice.is_some() => return Err(e),
            Err(e) => reasons.push(format!("'{name}': {}", short_reason(&e))),
        }
    }
    Err(workbook_error(
        display,
        format!(
            "no sheet has the columns evidex needs ({}); choose one with --sheet NAME or --sheet NUMBER",
            reasons.join("; ")
        ),
    ))
}

/// The most cells a sheet's values may span (rows x columns from its
/// first to its last value): calamine makes one dense grid of that span,
/// about 32 bytes a cell, so 2^26 cells are about 2 GiB. Judgement: far
/// above any evidence table (Excel's 1,048,576 rows x 64 columns).
pub const MAX_SHEET_CELLS: u64 = 1 << 26;

/// One sheet as a dense range. `.xlsx` and `.xlsb` sheets are read cell by
/// cell first, so a value far from the table (a stray entry in XFD1048576)
/// is refused with its position instead of making calamine allocate
/// hundreds of gigabytes; `.xls` extents are checked by [`check_cfb`].
fn sheet_range<RS: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Sheets<RS>,
    name: &str,
) -> Result<Range<Data>, String> {
    match wb {
        calamine::Sheets::Xlsx(x) => {
            let mut r = x.worksheet_cells_reader(name).map_err(|e| format!("cannot read it: {e}"))?;
            dense_range(|| r.next_cell().map_err(|e| e.to_string()))
        }
        calamine::Sheets::Xlsb(x) => {
            let mut r = x.worksheet_cells_reader(name).map_err(|e| format!("cannot read it: {e}"))?;
            dense_range(|| r.next_cell().map_err(|e| e.to_string()))
        }
        other => other.worksheet_range(name).map_err(|e| format!("cannot read it: {e}")),
    }
}

/// The values `next` yields as a dense range, unless their span exceeds
/// [`MAX_SHEET_CELLS`].
fn dense_range<'a>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<calamine::DataRef<'a>>>, String>,
) -> Result<Range<Data>, String> {
    let mut cells = Vec::new();
    let (mut lo, mut hi) = ((u32::MAX, u32::MAX), (0u32, 0u32));
    let (mut last_row, mut last_col) = ((0u32, 0u32), (0u32, 0u32));
    while let Some(c) = next().map_err(|e| format!("cannot read it: {e}"))? {
        let v = Data::from(c.get_value().clone());
        if v == Data::Empty {
            continue;
        }
        let (r, col) = c.get_position();
        lo = (lo.0.min(r), lo.1.min(col));
        if r >= hi.0 {
            hi.0 = r;
            last_row = (r, col);
        }
        if col >= hi.1 {
            hi.1 = col;
            last_col = (r, col);
        }
        cells.push(calamine::Cell::new((r, col), v));
    }
    if cells.is_empty() {
        return Ok(Range::empty());
    }
    let (rows, cols) = (u64::from(hi.0 - lo.0) + 1, u64::from(hi.1 - lo.1) + 1);
    if rows * cols > MAX_SHEET_CELLS {
        let at = |(r, c): (u32, u32)| format!("{}{}", column_letter(c), r + 1);
        return Err(format!(
            "its values span {}:{} ({rows} rows x {cols} columns = {} cells), more than the {MAX_SHEET_CELLS} cells evidex reads from a sheet; \
             the last row's value is at {} and the last column's at {}. A stray value far from the table usually causes this: \
             delete it, or save the table as CSV",
            at(lo),
            at(hi),
            rows * cols,
            at(last_row),
            at(last_col)
        ));
    }
    Ok(Range::from_sparse(cells))
}

/// Check the sector tables of an Excel 97-2003 file (Compound File Binary,
/// MS-CFB section 2) before calamine reads it: calamine sizes buffers from
/// sector numbers, so a damaged table can ask for terabytes, which ends the
/// process instead of giving an error. Every sector number must lie in the
/// file and every chain must end. Files of other formats pass.
fn check_cfb(path: &std::path::Path) -> Result<(), String> {
    const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    const MAXREGSECT: u32 = 0xFFFF_FFFA;
    const DIFSECT: u32 = 0xFFFF_FFFC;
    let b = std::fs::read(path).map_err(|e| e.to_string())?;
    if !b.starts_with(&SIGNATURE) {
        return Ok(());
    }
    let u16_at = |i: usize| b.get(i..i + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let u32_at = |i: usize| b.get(i..i + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
    let size: usize = match u16_at(30) {
        Some(9) => 512,
        Some(12) => 4096,
        _ => return Err("unknown sector size".into()),
    };
    if b.len() < size {
        return Err("shorter than its header".into());
    }
    let n = ((b.len() - size) / size) as u32;
    let sector = |id: u32| -> Result<&[u8], String> {
        if id >= n {
            return Err(format!("sector {id} is past the end of the file ({n} sectors)"));
        }
        let a = size + id as usize * size;
        Ok(&b[a..a + size])
    };
    let ids =
        |s: &[u8]| -> Vec<u32> { s.chunks_exact(4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])).collect() };
    let word = |i: usize| u32_at(i).ok_or_else(|| "header cut short".to_string());
    let fat_len = word(44)?;
    let dir_start = word(48)?;
    let mini_fat_start = word(60)?;
    let mini_fat_len = word(64)?;
    let difat_start = word(68)?;
    if fat_len > n || mini_fat_len > n {
        return Err("table sizes exceed the file".into());
    }
    // The FAT sector list: 109 entries in the header, then DIFAT sectors.
    let mut fat_sectors: Vec<u32> = ids(&b[76..512]);
    let mut next = difat_start;
    let mut steps = 0;
    while next < MAXREGSECT {
        steps += 1;
        if steps > n {
            return Err("the sector list loops".into());
        }
        let mut entries = ids(sector(next)?);
        next = entries.pop().unwrap_or(ENDOFCHAIN);
        fat_sectors.extend(entries);
    }
    // calamine loads every listed sector below DIFSECT.
    fat_sectors.retain(|&s| s < DIFSECT);
    let mut fat = Vec::new();
    for &s in &fat_sectors {
        fat.extend(ids(sector(s)?));
    }
    if fat.iter().any(|&e| e < MAXREGSECT && e >= n) {
        return Err("the allocation table points past the end of the file".into());
    }
    let n_fat = fat.len().min(n as usize);
    chain(dir_start, &fat, n_fat, "sector")?;
    if mini_fat_len > 0 {
        chain(mini_fat_start, &fat, n_fat, "sector")?;
    }
    // The directory: every stream's chain must end and its length fit the
    // file (calamine reserves the length, then follows the chain until it
    // ends; a loop grows its buffer until memory runs out). Streams below
    // 4,096 bytes live in the mini stream, chained through the mini FAT.
    let gather = |ids: &[u32], unit: &dyn Fn(u32) -> Result<Vec<u8>, String>| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for &id in ids {
            out.extend(unit(id)?);
        }
        Ok(out)
    };
    let whole = |id: u32| sector(id).map(<[u8]>::to_vec);
    let dir = gather(&chain(dir_start, &fat, n_fat, "sector")?, &whole)?;
    let mini_fat = if mini_fat_len > 0 {
        ids(&gather(&chain(mini_fat_start, &fat, n_fat, "sector")?, &whole)?)
    } else {
        Vec::new()
    };
    let entries: Vec<DirEntry> = dir.chunks_exact(128).map(|e| DirEntry::parse(e, size)).collect();
    let root_len = entries.first().map_or(0, |r| r.len) as usize;
    for (i, e) in entries.iter().enumerate() {
        if e.kind != 2 && e.kind != 5 {
            continue; // unused, or a storage (no data of its own)
        }
        if e.len > b.len() as u64 {
            return Err(format!("directory entry {i} claims a stream of {} bytes, longer than the file", e.len));
        }
        if e.len == 0 {
            continue;
        }
        if e.in_mini_stream() {
            if e.len as usize > root_len {
                return Err(format!("directory entry {i} claims more bytes than the mini stream holds"));
            }
            chain(e.start, &mini_fat, mini_fat.len(), "mini sector")?;
        } else {
            chain(e.start, &fat, n_fat, "sector")?;
        }
    }
    // The workbook stream (calamine reads "Workbook", else "Book"): chains
    // are known to end now, so it can be gathered.
    let named = |want: &str| entries.iter().find(|e| e.kind == 2 && e.name == want);
    let Some(wb) = named("Workbook").or_else(|| named("Book")) else {
        return Ok(()); // calamine names the missing stream itself
    };
    let mut stream = if wb.in_mini_stream() {
        let root = &entries[0];
        let mut mini = gather(&chain(root.start, &fat, n_fat, "sector")?, &whole)?;
        mini.truncate(root_len);
        let mini_sector = |id: u32| {
            let a = id as usize * 64;
            mini.get(a..a + 64).map(<[u8]>::to_vec).ok_or_else(|| format!("mini sector {id} is past the mini stream"))
        };
        gather(&chain(wb.start, &mini_fat, mini_fat.len(), "mini sector")?, &mini_sector)?
    } else {
        gather(&chain(wb.start, &fat, n_fat, "sector")?, &whole)?
    };
    stream.truncate(wb.len as usize);
    check_biff_dimensions(&stream)
}

/// The end of a sector chain (MS-CFB section 2.1).
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;

/// The sectors of the chain from `start` through `table`, whose first
/// `limit` entries are usable: the chain must end (ENDOFCHAIN) there,
/// without a loop.
fn chain(start: u32, table: &[u32], limit: usize, what: &str) -> Result<Vec<u32>, String> {
    let mut ids = Vec::new();
    let mut id = start;
    while id != ENDOFCHAIN {
        // More steps than usable entries means the chain came back on itself.
        if ids.len() >= limit || id as usize >= limit {
            return Err(format!("a chain from {what} {start} does not end"));
        }
        ids.push(id);
        id = table[id as usize];
    }
    Ok(ids)
}

/// One 128-byte directory entry (MS-CFB section 2.6).
struct DirEntry {
    name: String,
    /// 2 stream, 5 root; others have no data.
    kind: u8,
    start: u32,
    len: u64,
}

impl DirEntry {
    fn parse(e: &[u8], sector_size: usize) -> DirEntry {
        let n = (u16::from_le_bytes([e[64], e[65]]) as usize).min(64);
        let name: Vec<u16> =
            e[..n.saturating_sub(2)].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let len = u64::from_le_bytes(e[120..128].try_into().expect("8 bytes"));
        DirEntry {
            name: String::from_utf16_lossy(&name),
            kind: e[66],
            start: u32::from_le_bytes([e[116], e[117], e[118], e[119]]),
            // Version 3 files (512-byte sectors) use only the low half.
            len: if sector_size == 512 { len & 0xFFFF_FFFF } else { len },
        }
    }

    /// A stream below 4,096 bytes lives in the mini stream (not the root,
    /// which holds the mini stream itself).
    fn in_mini_stream(&self) -> bool {
        self.kind == 2 && self.len < 4096
    }
}

/// The most cells an Excel 97-2003 sheet holds (65,536 rows x 256 columns).
const XLS_MAX_CELLS: u64 = 65_536 * 256;

/// BIFF records of the workbook stream from `at`: (type, data), until the
/// stream ends, a record is cut short, or (`stop_at_eof`) an EOF record.
fn biff_records(stream: &[u8], at: usize, stop_at_eof: bool) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = stream.get(at..).unwrap_or(&[]);
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let typ = u16::from_le_bytes([rest[0], rest[1]]);
        let n = u16::from_le_bytes([rest[2], rest[3]]) as usize;
        let data = rest.get(4..4 + n)?;
        rest = &rest[4 + n..];
        (!(stop_at_eof && typ == 0x000A)).then_some((typ, data))
    })
}

/// Each sheet's Dimensions record (MS-XLS 2.4.90) must describe at most
/// [`XLS_MAX_CELLS`]: calamine reserves room for rows x columns of it
/// before reading a cell, so a damaged record asks for terabytes.
fn check_biff_dimensions(stream: &[u8]) -> Result<(), String> {
    let sheets: Vec<usize> = biff_records(stream, 0, true)
        .filter(|(t, d)| *t == 0x0085 && d.len() >= 4)
        .map(|(_, d)| u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    for pos in sheets {
        // Cell records' extent: calamine makes one dense range of it.
        let (mut lo, mut hi) = ((u32::MAX, u32::MAX), (0u32, 0u32));
        let mut seen = false;
        for (typ, d) in biff_records(stream, pos, true) {
            // Number, Label, BoolErr, RK, LabelSST, Formula, RString carry
            // (row, column) first; MulRk (0x00BD) its last column at the end.
            if matches!(typ, 0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x0006 | 0x00D6 | 0x00BD) && d.len() >= 4 {
                let row = u16::from_le_bytes([d[0], d[1]]) as u32;
                let first = u16::from_le_bytes([d[2], d[3]]) as u32;
                let last = if typ == 0x00BD && d.len() >= 6 {
                    u16::from_le_bytes([d[d.len() - 2], d[d.len() - 1]]) as u32
                } else {
                    first
                };
                lo = (lo.0.min(row), lo.1.min(first.min(last)));
                hi = (hi.0.max(row), hi.1.max(first.max(last)));
                seen = true;
            }
            if typ != 0x0200 {
                continue;
            }
            let u16_at = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]) as u32;
            let u32_at = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
            let (rf, rl, mut cf, cl) = match d.len() {
                10 => (u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
                14 => (u32_at(0), u32_at(4), u16_at(8), u16_at(10)),
                _ => continue, // calamine refuses it with an error
            };
            if cf > 0xFF || cl < cf {
                cf = 0;
            }
            if rl == 0 || cl == 0 {
                continue;
            }
            // As calamine computes it (u32 arithmetic that wraps).
            let rows = (rl - 1).wrapping_sub(rf).wrapping_add(1) as u64;
            let cols = (cl - 1).wrapping_sub(cf).wrapping_add(1) as u64;
            let cells = rows.saturating_mul(cols);
            if cells > XLS_MAX_CELLS {
                return Err(format!(
                    "a sheet claims {cells} cells ({rows} rows x {cols} columns), more than an .xls sheet holds (65,536 x 256)"
                ));
            }
        }
        if seen {
            if hi.1 > 255 {
                return Err(format!("a cell sits in column {}, beyond the 256 columns an .xls sheet holds", hi.1 + 1));
            }
            let (rows, cols) = ((hi.0 - lo.0 + 1) as u64, (hi.1 - lo.1 + 1) as u64);
            if rows * cols > XLS_MAX_CELLS {
                return Err(format!(
                    "a sheet's cells span {rows} rows x {cols} columns, more than an .xls sheet holds (65,536 x 256)"
                ));
            }
        }
    }
    Ok(())
}

/// The file as shown in messages: `path (sheet NAME)`.
pub fn sheet_display(path: &str, sheet: &str) -> String {
    format!("{path} (sheet {sheet})")
}

fn short_reason(e: &IngestError) -> String {
    match e {
        IngestError::MissingColumns { missing, .. } => format!("missing {}", missing.join(", ")),
        IngestError::Empty { .. } => "empty".into(),
        other => other.to_string(),
    }
}

/// The header row: the first non-empty row, or one of the next few rows
/// when that one lacks the contract's columns (a title above the table).
fn find_header(range: &Range<Data>, shown: &str, fits: &FitsHeader<'_>) -> Result<(usize, Vec<String>), IngestError> {
    let mut first_err = None;
    let mut tried = 0;
    for (i, row) in range.rows().enumerate() {
        if row.iter().all(|c| cell_text(c).trim().is_empty()) {
            continue;
        }
        let mut headers: Vec<String> = row.iter().map(|c| cell_text(c).trim().to_string()).collect();
        while headers.last().is_some_and(String::is_empty) {
            headers.pop();
        }
        match fits(shown, &headers) {
            Ok(()) => return Ok((i, headers)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
        tried += 1;
        if tried > HEADER_SEARCH {
            break;
        }
    }
    Err(first_err.unwrap_or(IngestError::Empty { path: shown.to_string() }))
}

/// A cell as text.
fn cell_text(c: &Data) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match c {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cow::Borrowed(s),
        Data::Empty => Cow::Borrowed(""),
        Data::Bool(true) => Cow::Borrowed("true"),
        Data::Bool(false) => Cow::Borrowed("false"),
        Data::Int(i) => Cow::Owned(i.to_string()),
        Data::Float(f) => Cow::Owned(float_text(*f)),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, da, h, mi, s, _) = d.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                Cow::Owned(format!("{y:04}-{mo:02}-{da:02}"))
            } else {
                Cow::Owned(format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02}"))
            }
        }
        Data::DateTime(d) => Cow::Owned(float_text(d.as_f64())),
        Data::Error(e) => Cow::Owned(e.to_string()),
    }
}

/// A number cell as text: whole numbers without a decimal point (a record
/// id typed as 17 reads "17"), others in shortest round-trip form.
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

impl Sheet {
    /// Data rows below the header.
    pub fn data_rows(&self) -> usize {
        self.range.height().saturating_sub(self.header_row + 1)
    }

    /// Excel's number of range row `i`.
    fn excel_row(&self, i: usize) -> u64 {
        u64::from(self.range.start().map_or(0, |s| s.0)) + i as u64 + 1
    }

    /// Data rows `from..to` (counted below the header) through `v`.
    pub fn rows<V: Visit>(&self, from: usize, to: usize, v: &mut V) {
        let width = self.headers.len();
        let mut texts: Vec<OnceCell<String>> = (0..width).map(|_| OnceCell::new()).collect();
        for (k, row) in self.range.rows().skip(self.header_row + 1 + from).take(to - from).enumerate() {
            for t in &mut texts {
                t.take();
            }
            let r = SheetRow { cells: row, texts: &texts, line: self.excel_row(self.header_row + 1 + from + k), width };
            if row.iter().all(|c| cell_text(c).trim().is_empty()) {
                v.blank();
            } else if row.len() > width && row[width..].iter().any(|c| !cell_text(c).trim().is_empty()) {
                let extra = row.iter().rposition(|c| !cell_text(c).trim().is_empty()).map_or(0, |p| p + 1);
                v.malformed(
                    r.line,
                    format!(
                        "has a value in column {} but the header ends at column {}; give that column a header or clear it",
                        column_letter(self.range.start().map_or(0, |s| s.1) + extra as u32 - 1),
                        self.letters.last().map_or("A", String::as_str)
                    ),
                    r.raw(),
                );
            } else {
                v.row(&r);
            }
        }
    }
}

/// One row of a sheet.
struct SheetRow<'s> {
    cells: &'s [Data],
    texts: &'s [OnceCell<String>],
    line: u64,
    width: usize,
}

impl Fields for SheetRow<'_> {
    fn line(&self) -> u64 {
        self.line
    }
    fn field(&self, i: usize) -> &str {
        match self.cells.get(i) {
            None | Some(Data::Empty) => "",
            Some(Data::String(s)) => s,
            Some(c) => self.texts[i].get_or_init(|| cell_text(c).into_owned()),
        }
    }
    fn stored_number(&self, i: usize) -> Option<Option<f64>> {
        match self.cells.get(i) {
            None | Some(Data::Empty) => Some(None),
            Some(Data::Float(f)) => Some(Some(*f)),
            Some(Data::Int(x)) => Some(Some(*x as f64)),
            _ => None,
        }
    }
    fn long_field(&self, _: usize, limit: usize) -> Option<usize> {
        self.cells.iter().position(|c| matches!(c, Data::String(s) if s.len() > limit))
    }
    fn raw(&self) -> String {
        (0..self.width).map(|i| csv_field(self.field(i))).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_as_excel_shows_them() {
        let got: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702, 16383].iter().map(|&c| column_letter(c)).collect();
        assert_eq!(got, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "XFD"]);
    }

    #[test]
    fn sheet_choices() {
        assert_eq!(SheetChoice::parse("2"), SheetChoice::Index(2));
        assert_eq!(SheetChoice::parse("Bewijs"), SheetChoice::Name("Bewijs".into()));
        assert_eq!(SheetChoice::parse("0"), SheetChoice::Name("0".into()));
    }

    #[test]
    fn numbers_as_text() {
        assert_eq!(float_text(17.0), "17");
        assert_eq!(float_text(0.35), "0.35");
        assert_eq!(float_text(-2.5e-7), "-0.00000025");
    }
}

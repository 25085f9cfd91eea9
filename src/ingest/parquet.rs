//! Parquet, read one row group at a time through its typed arrays.
//!
//! Only the columns the contract reads are decoded. String columns are
//! read in place (Arrow string views); integer and `Float64` columns that
//! feed number fields are read as numbers, without a trip through text.
//! Each string view is also the field's identity, so a vocabulary column
//! is parsed once per distinct value of a chunk (dictionary-encoded
//! columns repeat views).
//!
//! polars can panic on a damaged file (its metadata reader trusts the
//! file's lengths). Every call into it goes through [`guarded`], which
//! turns a panic into the file's error (exit code 2) with its message.

use super::columns::Source;
use super::guard::guarded;
use super::row::{Fields, RowContext, Visit};
use super::IngestError;
use polars::prelude::*;
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};
use std::sync::Arc;

/// Rows per parallel task.
pub const TASK_ROWS: usize = 1 << 16;

/// A Parquet file with its row groups.
pub struct ParquetSource {
    bytes: Arc<memmap2::Mmap>,
    metadata: Arc<polars::io::parquet::read::FileMetadata>,
    pub headers: Vec<String>,
    /// `(first row, rows)` per row group.
    pub groups: Vec<(usize, usize)>,
    path: String,
}

impl ParquetSource {
    /// # Errors
    /// I/O errors, or what polars reports (or panics on) for a damaged file.
    pub fn open(path: &std::path::Path, display: &str) -> Result<ParquetSource, IngestError> {
        let io = |e: std::io::Error| IngestError::Io { path: display.to_string(), message: e.to_string() };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: a read-only private mapping; evidex never writes its
        // inputs. A file changed by another program while it is read is
        // not supported (polars reads the bytes as they are then).
        let bytes = Arc::new(unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(io)?);
        let err = |m: String| IngestError::Parquet { path: display.to_string(), message: m };
        let (headers, metadata) = guarded(|| -> PolarsResult<_> {
            let mut r = ParquetReader::new(std::io::Cursor::new(&bytes[..]));
            let schema = r.schema()?;
            let headers: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
            let metadata = r.get_metadata()?.clone();
            Ok((headers, metadata))
        })
        .map_err(err)?
        .map_err(|e| err(e.to_string()))?;
        let mut groups = Vec::with_capacity(metadata.row_groups.len());
        let mut at = 0;
        for g in &metadata.row_groups {
            groups.push((at, g.num_rows()));
            at += g.num_rows();
        }
        Ok(ParquetSource { bytes, metadata, headers, groups, path: display.to_string() })
    }

    /// The file's name as shown in messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Row group `g`, only the columns in `columns` (sorted file indices).
    ///
    /// # Errors
    /// What polars reports (or panics on) for a damaged file.
    pub fn read_group(&self, g: usize, columns: &[usize]) -> Result<DataFrame, IngestError> {
        let (start, len) = self.groups[g];
        let err =
            |m: String| IngestError::Parquet { path: self.path.clone(), message: format!("row group {}: {m}", g + 1) };
        // Page headers first: polars sizes buffers from them (pages.rs).
        for (i, col) in self.metadata.row_groups[g].parquet_columns().iter().enumerate() {
            let name = self.headers.get(i).map_or_else(|| format!("{}", i + 1), |h| format!("'{h}'"));
            let r = col.byte_range();
            let chunk = usize::try_from(r.start)
                .ok()
                .zip(usize::try_from(r.end).ok())
                .and_then(|(a, b)| self.bytes.get(a..b))
                .ok_or_else(|| err(format!("the file is damaged: column {name} lies outside the file")))?;
            super::pages::check_chunk(chunk, col.num_values())
                .map_err(|m| err(format!("the file is damaged: column {name}: {m}")))?;
        }
        guarded(|| {
            let mut r = ParquetReader::new(std::io::Cursor::new(&self.bytes[..]))
                .with_slice(Some((start, len)))
                .with_projection(Some(columns.to_vec()));
            r.set_metadata(self.metadata.clone());
            r.finish()
        })
        .map_err(err)?
        .map_err(|e| err(e.to_string()))
    }
}

/// Whether a column of this type can be read as numbers with the same
/// values as its text: integers and `Float64` (polars writes them in
/// shortest round-trip form, so parsing the text gives the same `f64`).
/// `Float32` is not: its text is the shortest `f32` form.
fn typed_number(dtype: &DataType) -> bool {
    dtype.is_integer() || matches!(dtype, DataType::Float64)
}

/// A slice of a row group, by header position.
pub struct ParquetSlice {
    text: Vec<Option<Utf8ViewArray>>,
    nums: Vec<Option<PrimitiveArray<f64>>>,
    /// Data row number of the slice's first row, less one.
    first: u64,
    len: usize,
}

impl ParquetSlice {
    /// Rows `offset..offset + len` of `df`, whose columns sit at header
    /// `positions` among `width`; the group starts at data row `group_first`.
    ///
    /// # Errors
    /// A column polars cannot cast.
    pub fn new(
        ctx: &RowContext<'_>,
        df: &DataFrame,
        positions: &[usize],
        width: usize,
        first: u64,
        path: &str,
    ) -> Result<ParquetSlice, IngestError> {
        let err = |m: String| IngestError::Parquet { path: path.to_string(), message: m };
        guarded(|| -> PolarsResult<ParquetSlice> {
            let mut nums: Vec<Option<PrimitiveArray<f64>>> = vec![None; width];
            for (j, &pos) in positions.iter().enumerate() {
                let col = &df.columns()[j];
                if typed_number(col.dtype()) {
                    let f = col.as_materialized_series().cast(&DataType::Float64)?;
                    nums[pos] = f.f64()?.rechunk().downcast_iter().next().cloned();
                }
            }
            // A file column is read as text unless every contract column it
            // feeds takes it as a stored number.
            let mut as_text = vec![false; width];
            for (c, src) in &ctx.resolved.sources {
                match src {
                    Source::Columns(idx) => {
                        for &pos in idx {
                            let typed =
                                c.is_number() && ctx.plain_number_source(*c) == Some(pos) && nums[pos].is_some();
                            if !typed {
                                as_text[pos] = true;
                            }
                        }
                    }
                    // The parts of a sum are added as stored numbers where
                    // the file stores numbers, else read as text.
                    Source::Sum(idx) => {
                        for &pos in idx {
                            if nums[pos].is_none() {
                                as_text[pos] = true;
                            }
                        }
                    }
                    Source::Constant(_) => {}
                }
            }
            let mut text: Vec<Option<Utf8ViewArray>> = vec![None; width];
            for (j, &pos) in positions.iter().enumerate() {
                if as_text[pos] {
                    let s = df.columns()[j].as_materialized_series().cast(&DataType::String)?;
                    text[pos] = s.str()?.rechunk().downcast_iter().next().cloned();
                }
            }
            Ok(ParquetSlice { text, nums, first, len: df.height() })
        })
        .map_err(err)?
        .map_err(|e| err(e.to_string()))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each row through `v`.
    pub fn rows<V: Visit>(&self, v: &mut V) {
        for i in 0..self.len {
            v.row(&ParquetRow { s: self, i });
        }
    }
}

/// One row of a [`ParquetSlice`].
pub struct ParquetRow<'s> {
    s: &'s ParquetSlice,
    i: usize,
}

impl Fields for ParquetRow<'_> {
    fn line(&self) -> u64 {
        self.s.first + self.i as u64 + 1
    }
    fn long_field(&self, _: usize, limit: usize) -> Option<usize> {
        // A string view holds its length.
        self.s.text.iter().position(|a| a.as_ref().is_some_and(|a| a.views()[self.i].length as usize > limit))
    }
    fn field(&self, pos: usize) -> &str {
        match self.s.text.get(pos) {
            Some(Some(a)) if !a.is_null(self.i) => a.value(self.i),
            _ => "",
        }
    }
    fn stored_number(&self, pos: usize) -> Option<Option<f64>> {
        let a = self.s.nums.get(pos)?.as_ref()?;
        Some((!a.is_null(self.i)).then(|| a.value(self.i)))
    }
    /// The field's string view: its length and bytes when short, else its
    /// length, prefix and place in the array's buffers, so equal views mean
    /// equal text within the slice.
    fn ident(&self, pos: usize) -> Option<u128> {
        let a = self.s.text.get(pos)?.as_ref()?;
        (!a.is_null(self.i)).then(|| a.views()[self.i].as_u128())
    }
    /// Filled in by [`raw_rows`] (a rejected row is shown with all its
    /// columns, which the slice may not hold).
    fn raw(&self) -> String {
        String::new()
    }
}

/// The rows `lines` (data row numbers, sorted) of row group `g`, all
/// columns, as CSV lines (for rejected rows).
///
/// # Errors
/// What polars reports for a damaged file.
pub fn raw_rows(p: &ParquetSource, g: usize, lines: &[u64]) -> Result<Vec<String>, IngestError> {
    let all: Vec<usize> = (0..p.headers.len()).collect();
    let df = p.read_group(g, &all)?;
    let err = |m: String| IngestError::Parquet { path: p.path.clone(), message: m };
    let first = p.groups[g].0 as u64;
    guarded(|| -> PolarsResult<Vec<String>> {
        let mut cols = Vec::with_capacity(df.width());
        for c in df.columns() {
            cols.push(c.as_materialized_series().cast(&DataType::String)?.str()?.rechunk().into_owned());
        }
        Ok(lines
            .iter()
            .map(|&l| {
                let i = (l - first - 1) as usize;
                cols.iter().map(|c| super::row::csv_field(c.get(i).unwrap_or(""))).collect::<Vec<_>>().join(",")
            })
            .collect())
    })
    .map_err(err)?
    .map_err(|e| err(e.to_string()))
}

/// Which file columns the contract reads (sorted).
pub fn read_columns(ctx: &RowContext<'_>, width: usize) -> Vec<usize> {
    (0..width).filter(|i| ctx.resolved.reads(*i)).collect()
}

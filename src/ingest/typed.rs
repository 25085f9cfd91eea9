//! Typed access to a slice of a Parquet row group for the streaming fast
//! path: string columns are read in place (no copy into a row buffer) and
//! integer or `Float64` columns that feed only number fields are read as
//! numbers, without the round trip through text.
//!
//! The cells the fast path sees are the same as on the text path: strings
//! go through the same trimming, null tokens and value maps
//! (as [`RowContext::text_ref`]); a number column is read typed only when nothing
//! acts on its text (a single source column, no value map, no custom null
//! tokens), and a value that is not finite is handed to the record
//! converter, which reads the row as text (polars' cast) like every other
//! row it rejects or accepts.

use super::columns::{Col, Source};
use super::convert::RowContext;
use super::fast::{text_number, Cells, NotANumber};
use polars::prelude::*;
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};
use std::borrow::Cow;

/// One slice of a data frame, read through the contract.
pub struct TypedSlice<'c> {
    ctx: &'c RowContext<'c>,
    /// Text per header position (`None`: not read as text).
    text: Vec<Option<Utf8ViewArray>>,
    /// Typed numbers per contract column.
    nums: Vec<Option<PrimitiveArray<f64>>>,
    /// The one file column a contract column is read from (no coalescing,
    /// no constant), for cell identities.
    single: Vec<Option<usize>>,
    first_line: u64,
    len: usize,
}

/// Whether a column of this type can be read as numbers with the same
/// values as its text: integers and `Float64` (polars writes them in
/// shortest round-trip form, so parsing the text gives the same `f64`).
/// `Float32` is not: its text is the shortest `f32` form.
fn typed_number(dtype: &DataType) -> bool {
    dtype.is_integer() || matches!(dtype, DataType::Float64)
}

impl<'c> TypedSlice<'c> {
    /// `df`'s columns sit at header `positions` among `width` columns; its
    /// first row is data row `first_line + 1`.
    ///
    /// # Errors
    /// A column polars cannot cast.
    pub fn new(
        ctx: &'c RowContext<'c>,
        df: &DataFrame,
        positions: &[usize],
        width: usize,
        first_line: u64,
    ) -> PolarsResult<TypedSlice<'c>> {
        let column_of = |pos: usize| positions.iter().position(|p| *p == pos);
        let mut nums: Vec<Option<PrimitiveArray<f64>>> = vec![None; Col::ALL.len()];
        let mut as_number = vec![false; width];
        for c in Col::ALL {
            let Some(pos) = ctx.plain_number_source(c).filter(|_| c.is_number()) else { continue };
            let Some(j) = column_of(pos) else { continue };
            let col = &df.columns()[j];
            if typed_number(col.dtype()) {
                let f = col.as_materialized_series().cast(&DataType::Float64)?;
                let f = f.f64()?.rechunk();
                nums[c as usize] = f.downcast_iter().next().cloned();
                as_number[pos] = true;
            }
        }
        // A file column is read as text unless every contract column it
        // feeds reads it as numbers.
        let mut as_text = vec![false; width];
        for (c, src) in &ctx.resolved.sources {
            if let Source::Columns(idx) = src {
                for &pos in idx {
                    if nums[*c as usize].is_none() || !as_number[pos] {
                        as_text[pos] = true;
                    }
                }
            }
        }
        let mut text: Vec<Option<Utf8ViewArray>> = vec![None; width];
        for (j, &pos) in positions.iter().enumerate() {
            if as_text[pos] {
                let s = df.columns()[j].as_materialized_series().cast(&DataType::String)?;
                let s = s.str()?.rechunk();
                text[pos] = s.downcast_iter().next().cloned();
            }
        }
        let single = Col::ALL.iter().map(|c| ctx.single_source(*c)).collect();
        Ok(TypedSlice { ctx, text, nums, single, first_line, len: df.height() })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Row `i` of the slice.
    pub fn row(&self, i: usize) -> TypedRow<'_> {
        TypedRow { s: self, i }
    }

    fn cell(&self, pos: usize, i: usize) -> &str {
        match self.text.get(pos) {
            Some(Some(a)) if !a.is_null(i) => a.value(i),
            _ => "",
        }
    }
}

/// One row of a [`TypedSlice`].
pub struct TypedRow<'s> {
    s: &'s TypedSlice<'s>,
    i: usize,
}

impl Cells for TypedRow<'_> {
    fn text(&self, col: Col) -> Option<Cow<'_, str>> {
        self.s.ctx.pick(col, |pos| self.s.cell(pos, self.i))
    }

    fn number(&self, col: Col) -> Result<Option<f64>, NotANumber> {
        if let Some(a) = &self.s.nums[col as usize] {
            if a.is_null(self.i) {
                return Ok(None);
            }
            let v = a.value(self.i);
            return if v.is_finite() { Ok(Some(v)) } else { Err(NotANumber) };
        }
        text_number(self.text(col), self.s.ctx)
    }

    fn line(&self) -> u64 {
        self.s.first_line + self.i as u64 + 1
    }

    /// The cell's string view: its length and bytes when short, else its
    /// length, prefix and place in the array's buffers, so equal views mean
    /// equal text (dictionary-decoded columns repeat views).
    fn ident(&self, col: Col) -> Option<u128> {
        let a = self.s.text[self.s.single[col as usize]?].as_ref()?;
        (!a.is_null(self.i)).then(|| a.views()[self.i].as_u128())
    }
}

//! Parquet page headers checked before polars decodes a row group.
//!
//! polars sizes buffers from a page header's value count: a damaged header
//! with a negative count (read as an unsigned size) asks for 2^61 bytes, and
//! an allocation failure ends the process instead of giving an error. So
//! every page header of the row group is read first (Thrift compact
//! protocol, Apache Parquet format `PageHeader`) and its counts and sizes
//! checked against the column chunk.

/// A reader of the Thrift compact protocol over a byte slice.
struct Compact<'a> {
    b: &'a [u8],
    at: usize,
}

const DEPTH: u32 = 32;

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let v = *self.b.get(self.at).ok_or("a page header is cut short")?;
        self.at += 1;
        Ok(v)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let x = self.byte()?;
            v |= u64::from(x & 0x7F) << shift.min(63);
            if x & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a page header has an overlong number".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn bytes(&mut self, n: u64) -> Result<(), String> {
        let end = (self.at as u64).checked_add(n).filter(|&e| e <= self.b.len() as u64);
        self.at = end.ok_or("a page header is cut short")? as usize;
        Ok(())
    }

    /// The next field's (id, type), or `None` at the struct's end.
    fn field(&mut self, last: &mut i64) -> Result<Option<(i64, u8)>, String> {
        let h = self.byte()?;
        if h == 0 {
            return Ok(None);
        }
        let delta = i64::from(h >> 4);
        let id = if delta == 0 { self.zigzag()? } else { *last + delta };
        *last = id;
        Ok(Some((id, h & 0x0F)))
    }

    /// Skip a value of compact type `ty`.
    fn skip(&mut self, ty: u8, depth: u32) -> Result<(), String> {
        if depth > DEPTH {
            return Err("a page header nests too deep".into());
        }
        match ty {
            1 | 2 => Ok(()), // a boolean field: the value is in the type
            3 => self.byte().map(drop),
            4..=6 => self.varint().map(drop),
            7 => self.bytes(8),
            8 => {
                let n = self.varint()?;
                self.bytes(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let n = if h >> 4 == 15 { self.varint()? } else { u64::from(h >> 4) };
                let et = h & 0x0F;
                for _ in 0..n {
                    // Every element takes at least one byte, so a false
                    // count runs out of bytes.
                    if et == 1 || et == 2 {
                        self.byte()?;
                    } else {
                        self.skip(et, depth + 1)?;
                    }
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        self.skip(kv >> 4, depth + 1)?;
                        self.skip(kv & 0x0F, depth + 1)?;
                    }
                }
                Ok(())
            }
            12 => {
                let mut last = 0;
                while let Some((_, t)) = self.field(&mut last)? {
                    self.skip(t, depth + 1)?;
                }
                Ok(())
            }
            t => Err(format!("a page header has a field of unknown type {t}")),
        }
    }
}

/// What the checks need from one page header.
#[derive(Debug, Default, PartialEq)]
struct PageHead {
    /// 0 data page, 1 index page, 2 dictionary page, 3 data page v2.
    kind: i64,
    compressed: i64,
    uncompressed: i64,
    /// The value count of the data or dictionary page header.
    values: Option<i64>,
    /// Data page v2: nulls and rows, each at most `values`.
    nulls: Option<i64>,
    rows: Option<i64>,
    /// Bytes of the header itself.
    len: usize,
}

fn page_head(b: &[u8]) -> Result<PageHead, String> {
    let mut c = Compact { b, at: 0 };
    let mut h = PageHead::default();
    let mut last = 0;
    while let Some((id, ty)) = c.field(&mut last)? {
        match (id, ty) {
            (1, 5) => h.kind = c.zigzag()?,
            (2, 5) => h.uncompressed = c.zigzag()?,
            (3, 5) => h.compressed = c.zigzag()?,
            // DataPageHeader, DictionaryPageHeader, DataPageHeaderV2: field
            // 1 is the value count; v2 has nulls (2) and rows (3).
            (5 | 7 | 8, 12) => {
                let mut l = 0;
                while let Some((fid, t)) = c.field(&mut l)? {
                    match (fid, t) {
                        (1, 5) => h.values = Some(c.zigzag()?),
                        (2, 5) if id == 8 => h.nulls = Some(c.zigzag()?),
                        (3, 5) if id == 8 => h.rows = Some(c.zigzag()?),
                        (_, t) => c.skip(t, 1)?,
                    }
                }
            }
            (_, t) => c.skip(t, 0)?,
        }
    }
    h.len = c.at;
    Ok(h)
}

/// Check every page header of one column chunk (`chunk`: its bytes, which
/// hold `total` values).
pub fn check_chunk(chunk: &[u8], total: i64) -> Result<(), String> {
    if total < 0 {
        return Err(format!("a column chunk claims {total} values"));
    }
    let mut at = 0usize;
    let mut seen = 0i64;
    while seen < total && at < chunk.len() {
        let h = page_head(&chunk[at..])?;
        if h.compressed < 0 || h.uncompressed < 0 {
            return Err("a page claims a negative size".into());
        }
        let end = (at + h.len).checked_add(h.compressed as usize).filter(|&e| e <= chunk.len());
        let Some(end) = end else {
            return Err("a page runs past its column chunk".into());
        };
        if let Some(n) = h.values {
            if n < 0 {
                return Err(format!("a page claims {n} values"));
            }
            if h.kind == 0 || h.kind == 3 {
                if n > total - seen {
                    return Err(format!("a page claims {n} values; its column chunk has {} left", total - seen));
                }
                seen += n;
            }
            for (what, v) in [("nulls", h.nulls), ("rows", h.rows)] {
                if v.is_some_and(|v| v < 0 || v > n) {
                    return Err(format!("a page of {n} values claims {} {what}", v.unwrap_or(0)));
                }
            }
        }
        at = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact-protocol page header written by hand: data page (v1) of
    /// `values` values and `size` bytes.
    fn header(values: i64, size: i64) -> Vec<u8> {
        let zz = |v: i64| {
            let mut u = ((v << 1) ^ (v >> 63)) as u64;
            let mut out = Vec::new();
            loop {
                let b = (u & 0x7F) as u8;
                u >>= 7;
                if u == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out
        };
        let mut h = vec![0x15];
        h.extend(zz(0)); // 1: type = DATA_PAGE
        h.push(0x15);
        h.extend(zz(size)); // 2: uncompressed size
        h.push(0x15);
        h.extend(zz(size)); // 3: compressed size
        h.push(0x2C); // 5: data_page_header (delta 2, struct)
        h.push(0x15);
        h.extend(zz(values)); // 1: num_values
        h.push(0x15);
        h.extend(zz(0)); // 2: encoding
        h.push(0x00); // end of data_page_header
        h.push(0x00); // end of PageHeader
        h
    }

    #[test]
    fn sound_pages_pass_and_false_counts_are_named() {
        let mut chunk = header(3, 4);
        chunk.extend([0; 4]);
        chunk.extend(header(2, 1));
        chunk.push(0);
        assert_eq!(page_head(&chunk).unwrap().values, Some(3));
        assert_eq!(check_chunk(&chunk, 5), Ok(()));
        // A negative count (what made polars ask for 2^61 bytes).
        let mut bad = header(-1, 4);
        bad.extend([0; 4]);
        assert_eq!(check_chunk(&bad, 5), Err("a page claims -1 values".into()));
        // More values than the chunk holds; a page past the chunk's end.
        assert!(check_chunk(&chunk, 2).unwrap_err().contains("has 2 left"));
        assert_eq!(check_chunk(&header(3, 400), 3), Err("a page runs past its column chunk".into()));
        // Cut short anywhere: an error, never a panic.
        for n in 0..chunk.len() {
            let _ = check_chunk(&chunk[..n], 5);
        }
    }
}

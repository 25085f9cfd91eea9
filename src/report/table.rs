//! A small result table (named columns of typed cells) and its renderings:
//! CSV, JSON (array of objects), Parquet (with key-value metadata) and an
//! aligned terminal table. Float formatting is Rust's shortest round-trip
//! form, so identical results give identical bytes.

use serde_json::{json, Map, Value};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Null,
}

impl Cell {
    pub fn opt_str(s: Option<impl ToString>) -> Cell {
        s.map_or(Cell::Null, |v| Cell::Str(v.to_string()))
    }
    pub fn opt_num(x: Option<f64>) -> Cell {
        x.map_or(Cell::Null, Cell::Num)
    }

    fn text(&self) -> String {
        match self {
            Cell::Str(s) => s.clone(),
            Cell::Num(x) if x.is_finite() => format!("{x}"),
            Cell::Num(_) => "NaN".into(),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Null => String::new(),
        }
    }

    fn short(&self) -> String {
        match self {
            Cell::Num(x) if x.is_finite() => format!("{x:.3}"),
            other => other.text(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Str(s) => json!(s),
            Cell::Num(x) if x.is_finite() => json!(x),
            Cell::Num(_) | Cell::Null => Value::Null,
            Cell::Int(i) => json!(i),
            Cell::Bool(b) => json!(b),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[&str]) -> Table {
        Table { columns: columns.iter().map(|s| s.to_string()).collect(), rows: Vec::new() }
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        let head: Vec<String> = self.columns.iter().map(|c| super::csv_field(c)).collect();
        s.push_str(&head.join(","));
        s.push('\n');
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| super::csv_field(&c.text())).collect();
            s.push_str(&cells.join(","));
            s.push('\n');
        }
        s
    }

    pub fn to_json_rows(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    let m: Map<String, Value> = self.columns.iter().cloned().zip(r.iter().map(Cell::json)).collect();
                    Value::Object(m)
                })
                .collect(),
        )
    }

    /// Aligned text with the chosen columns only (long text truncated).
    pub fn to_text(&self, columns: &[&str], max_width: usize) -> String {
        let idx: Vec<usize> = columns.iter().filter_map(|c| self.columns.iter().position(|x| x == c)).collect();
        let clip = |s: String| {
            if s.chars().count() > max_width {
                format!("{}…", s.chars().take(max_width - 1).collect::<String>())
            } else {
                s
            }
        };
        let cells: Vec<Vec<String>> =
            self.rows.iter().map(|r| idx.iter().map(|&i| clip(r[i].short())).collect()).collect();
        let mut width: Vec<usize> = idx.iter().map(|&i| self.columns[i].chars().count()).collect();
        for r in &cells {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut s = String::new();
        let line = |s: &mut String, vals: Vec<String>| {
            let parts: Vec<String> = vals.iter().zip(&width).map(|(v, w)| format!("{v:<w$}")).collect();
            let _ = writeln!(s, "{}", parts.join("  ").trim_end());
        };
        line(&mut s, idx.iter().map(|&i| self.columns[i].clone()).collect());
        line(&mut s, width.iter().map(|w| "-".repeat(*w)).collect());
        for r in cells {
            line(&mut s, r);
        }
        s
    }

    /// Parquet bytes; `metadata` goes into the file's key-value metadata.
    ///
    /// # Errors
    /// polars errors while building or writing the frame.
    pub fn to_parquet(&self, metadata: Vec<(String, String)>) -> Result<Vec<u8>, String> {
        use polars::prelude::*;
        let mut cols: Vec<Column> = Vec::with_capacity(self.columns.len());
        for (j, name) in self.columns.iter().enumerate() {
            let vals: Vec<&Cell> = self.rows.iter().map(|r| &r[j]).collect();
            let kind = vals.iter().find(|c| !matches!(c, Cell::Null));
            let name = PlSmallStr::from(name.as_str());
            let col = match kind {
                Some(Cell::Num(_)) => Column::new(
                    name,
                    vals.iter()
                        .map(|c| if let Cell::Num(x) = c { Some(*x) } else { None })
                        .collect::<Vec<Option<f64>>>(),
                ),
                Some(Cell::Int(_)) => Column::new(
                    name,
                    vals.iter()
                        .map(|c| if let Cell::Int(x) = c { Some(*x) } else { None })
                        .collect::<Vec<Option<i64>>>(),
                ),
                Some(Cell::Bool(_)) => Column::new(
                    name,
                    vals.iter()
                        .map(|c| if let Cell::Bool(x) = c { Some(*x) } else { None })
                        .collect::<Vec<Option<bool>>>(),
                ),
                _ => Column::new(
                    name,
                    vals.iter()
                        .map(|c| match c {
                            Cell::Null => None,
                            other => Some(other.text()),
                        })
                        .collect::<Vec<Option<String>>>(),
                ),
            };
            cols.push(col);
        }
        let mut df = DataFrame::new(self.rows.len(), cols).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf)
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
            .finish(&mut df)
            .map_err(|e| e.to_string())?;
        Ok(buf)
    }
}

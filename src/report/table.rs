//! A small result table (named columns of typed values) and its renderings:
//! CSV, JSON (array of objects), Parquet (with key-value metadata) and an
//! aligned terminal table. Float formatting is Rust's shortest round-trip
//! form, so identical results give identical bytes.

use serde_json::{json, Map, Value as Json};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Null,
}

impl Value {
    pub fn opt_str(s: Option<impl ToString>) -> Value {
        s.map_or(Value::Null, |v| Value::Str(v.to_string()))
    }
    pub fn opt_num(x: Option<f64>) -> Value {
        x.map_or(Value::Null, Value::Num)
    }

    fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(x) if x.is_finite() => format!("{x}"),
            Value::Num(_) => "NaN".into(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
        }
    }

    fn short(&self) -> String {
        match self {
            Value::Num(x) if x.is_finite() => format!("{x:.3}"),
            other => other.text(),
        }
    }

    fn json(&self) -> Json {
        match self {
            Value::Str(s) => json!(s),
            Value::Num(x) if x.is_finite() => json!(x),
            Value::Num(_) | Value::Null => Json::Null,
            Value::Int(i) => json!(i),
            Value::Bool(b) => json!(b),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
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
            let values: Vec<String> = r.iter().map(|c| super::csv_field(&c.text())).collect();
            s.push_str(&values.join(","));
            s.push('\n');
        }
        s
    }

    pub fn to_json_rows(&self) -> Json {
        Json::Array(
            self.rows
                .iter()
                .map(|r| {
                    let m: Map<String, Json> = self.columns.iter().cloned().zip(r.iter().map(Value::json)).collect();
                    Json::Object(m)
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
            let vals: Vec<&Value> = self.rows.iter().map(|r| &r[j]).collect();
            let kind = vals.iter().find(|c| !matches!(c, Value::Null));
            let name = PlSmallStr::from(name.as_str());
            let col = match kind {
                Some(Value::Num(_)) => Column::new(
                    name,
                    vals.iter()
                        .map(|c| if let Value::Num(x) = c { Some(*x) } else { None })
                        .collect::<Vec<Option<f64>>>(),
                ),
                Some(Value::Int(_)) => Column::new(
                    name,
                    vals.iter()
                        .map(|c| if let Value::Int(x) = c { Some(*x) } else { None })
                        .collect::<Vec<Option<i64>>>(),
                ),
                Some(Value::Bool(_)) => Column::new(
                    name,
                    vals.iter()
                        .map(|c| if let Value::Bool(x) = c { Some(*x) } else { None })
                        .collect::<Vec<Option<bool>>>(),
                ),
                _ => Column::new(
                    name,
                    vals.iter()
                        .map(|c| match c {
                            Value::Null => None,
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

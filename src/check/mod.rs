//! Regression checks: compare two result files (CSV, JSON or Parquet, any
//! mix) cell by cell, with verdict changes reported first and separately
//! from numeric drift; and reference suites (`suite.toml`) of cases to
//! re-run and compare.

pub mod suite;

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use thiserror::Error;

pub use suite::{Case, Manifest};

/// A value read from a result file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Val {
    Num(f64),
    Bool(bool),
    Str(String),
    Null,
}

impl Val {
    fn from_text(s: &str) -> Val {
        if s.is_empty() {
            return Val::Null;
        }
        match s {
            "true" => return Val::Bool(true),
            "false" => return Val::Bool(false),
            "NaN" | "nan" => return Val::Num(f64::NAN),
            _ => {}
        }
        match s.parse::<f64>() {
            Ok(x) => Val::Num(x),
            Err(_) => Val::Str(s.to_string()),
        }
    }

    fn from_json(v: &serde_json::Value) -> Val {
        match v {
            serde_json::Value::Null => Val::Null,
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Number(n) => Val::Num(n.as_f64().unwrap_or(f64::NAN)),
            // An empty text is a missing value, as an empty CSV cell is.
            serde_json::Value::String(s) if s.is_empty() => Val::Null,
            serde_json::Value::String(s) => Val::Str(s.clone()),
            other => Val::Str(other.to_string()),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Val::Num(x) => format!("{x}"),
            Val::Bool(b) => b.to_string(),
            Val::Str(s) => s.clone(),
            Val::Null => String::new(),
        }
    }
}

/// A result table with its run metadata (when the file carries it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Val>>,
    pub run: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CheckError {
    #[error("{path}: cannot read: {message}")]
    Io { path: String, message: String },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    #[error("key column '{column}' is not in {which} ({path}); columns there: {present}")]
    MissingKey { column: String, which: &'static str, path: String, present: String },
    #[error("key columns ({keys}) are not unique in {which} ({path}): '{value}' appears more than once; choose keys with --key")]
    DuplicateKey { keys: String, which: &'static str, path: String, value: String },
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
}

/// Read CSV (with an optional `<file>.meta.json` sidecar), JSON (`{"run",
/// "rows"}`, an array of objects, or a `meta` result) or Parquet.
///
/// # Errors
/// Unreadable or malformed files.
pub fn read_result(path: &Path) -> Result<ResultTable, CheckError> {
    let display = path.display().to_string();
    let io = |e: std::io::Error| CheckError::Io { path: display.clone(), message: e.to_string() };
    let fmt = |m: String| CheckError::Format { path: display.clone(), message: m };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            let columns: Vec<String> =
                rdr.headers().map_err(|e| fmt(e.to_string()))?.iter().map(String::from).collect();
            let mut rows = Vec::new();
            for r in rdr.records() {
                let r = r.map_err(|e| fmt(e.to_string()))?;
                rows.push(r.iter().map(Val::from_text).collect());
            }
            let mut side = path.as_os_str().to_owned();
            side.push(".meta.json");
            let run = std::fs::read_to_string(&side).ok().and_then(|t| serde_json::from_str(&t).ok());
            Ok(ResultTable { columns, rows, run })
        }
        "json" => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| fmt(format!("not valid JSON: {e}")))?;
            json_table(&v).map_err(fmt)
        }
        "parquet" | "pq" => parquet_table(path, &display),
        other => Err(fmt(format!("unknown result format '.{other}'; expected .csv, .json or .parquet"))),
    }
}

fn json_table(v: &serde_json::Value) -> Result<ResultTable, String> {
    let (rows_v, run) = match v {
        serde_json::Value::Array(a) => (a.clone(), None),
        serde_json::Value::Object(o) if o.get("rows").is_some_and(|r| r.is_array()) => {
            (o["rows"].as_array().cloned().unwrap_or_default(), o.get("run").cloned())
        }
        serde_json::Value::Object(o) => {
            // A `meta` result: the overall analysis and each subgroup as rows.
            let mut rows = Vec::new();
            let flat = |x: &serde_json::Value, group: String| {
                let mut m = serde_json::Map::new();
                m.insert("group".into(), serde_json::Value::String(group));
                if let serde_json::Value::Object(obj) = x {
                    for (k, val) in obj {
                        if !(val.is_array() || val.is_object()) {
                            m.insert(k.clone(), val.clone());
                        }
                    }
                    for sub in ["exp", "egger", "robust"] {
                        if let Some(serde_json::Value::Object(so)) = obj.get(sub) {
                            for (k, val) in so {
                                if !(val.is_array() || val.is_object()) {
                                    m.insert(format!("{sub}_{k}"), val.clone());
                                }
                            }
                        }
                    }
                }
                serde_json::Value::Object(m)
            };
            if let Some(over) = o.get("overall") {
                rows.push(flat(over, "overall".into()));
                for s in o.get("subgroups").and_then(|s| s.as_array()).into_iter().flatten() {
                    let g = s
                        .get("group")
                        .and_then(|g| g.as_object())
                        .map(|g| {
                            g.iter()
                                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                                .collect::<Vec<_>>()
                                .join(";")
                        })
                        .unwrap_or_default();
                    rows.push(flat(s, g));
                }
            } else {
                rows.push(flat(v, "overall".into()));
            }
            (rows, o.get("run").cloned())
        }
        _ => return Err("expected a JSON array of objects or an evidex result object".into()),
    };
    // Nested values (a row's `domains` array) are detail of the flat
    // columns (`category_violence`, ...), which are what is compared, so a
    // JSON result and its CSV twin compare equal.
    let mut columns: Vec<String> = Vec::new();
    for r in &rows_v {
        let obj = r.as_object().ok_or("every row must be a JSON object")?;
        for (k, val) in obj {
            if val.is_array() || val.is_object() {
                continue;
            }
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let rows =
        rows_v.iter().map(|r| columns.iter().map(|c| r.get(c).map_or(Val::Null, Val::from_json)).collect()).collect();
    Ok(ResultTable { columns, rows, run })
}

fn parquet_table(path: &Path, display: &str) -> Result<ResultTable, CheckError> {
    use polars::prelude::*;
    let fmt = |m: String| CheckError::Format { path: display.to_string(), message: m };
    let file =
        std::fs::File::open(path).map_err(|e| CheckError::Io { path: display.into(), message: e.to_string() })?;
    let mut reader = ParquetReader::new(file);
    let run = reader
        .get_metadata()
        .ok()
        .and_then(|m| m.key_value_metadata().clone())
        .and_then(|kv| kv.into_iter().find(|k| k.key == "evidex_run").and_then(|k| k.value))
        .and_then(|v| serde_json::from_str(&v).ok());
    let df = reader.finish().map_err(|e| fmt(e.to_string()))?;
    let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let mut cols: Vec<Vec<Val>> = Vec::new();
    for c in df.columns() {
        let s = c.as_materialized_series();
        let vals: Vec<Val> = match s.dtype() {
            DataType::Float64
            | DataType::Float32
            | DataType::Int64
            | DataType::Int32
            | DataType::UInt64
            | DataType::UInt32 => {
                let f = s.cast(&DataType::Float64).map_err(|e| fmt(e.to_string()))?;
                f.f64().map_err(|e| fmt(e.to_string()))?.iter().map(|x| x.map_or(Val::Null, Val::Num)).collect()
            }
            DataType::Boolean => {
                s.bool().map_err(|e| fmt(e.to_string()))?.iter().map(|x| x.map_or(Val::Null, Val::Bool)).collect()
            }
            _ => {
                let t = s.cast(&DataType::String).map_err(|e| fmt(e.to_string()))?;
                t.str()
                    .map_err(|e| fmt(e.to_string()))?
                    .iter()
                    .map(|x| x.filter(|v| !v.is_empty()).map_or(Val::Null, |v| Val::Str(v.into())))
                    .collect()
            }
        };
        cols.push(vals);
    }
    let rows = (0..df.height()).map(|i| cols.iter().map(|c| c[i].clone()).collect()).collect();
    Ok(ResultTable { columns, rows, run })
}

/// Absolute and relative tolerance: values match when `|a - b| <= abs` or
/// `|a - b| <= rel * max(|a|, |b|)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    #[serde(default)]
    pub abs: f64,
    #[serde(default)]
    pub rel: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { abs: 1e-9, rel: 1e-9 }
    }
}

impl Tolerance {
    pub fn within(&self, a: f64, b: f64) -> bool {
        if a.is_nan() && b.is_nan() {
            return true;
        }
        let d = (a - b).abs();
        d <= self.abs || d <= self.rel * a.abs().max(b.abs())
    }
}

/// Columns whose changes are verdicts: must match exactly, reported first.
pub const VERDICT_COLUMNS: &[&str] = &["category", "certainty", "harm_flag", "rank"];
/// Candidate key columns, in order; the default key is those present.
pub const KEY_CANDIDATES: &[&str] =
    &["intervention", "target_group", "income_setting", "strategy", "design", "country", "outcome", "group"];

/// How to compare.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    pub keys: Option<Vec<String>>,
    pub tolerance: Tolerance,
    pub per_column: BTreeMap<String, Tolerance>,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    Verdict { key: Vec<String>, column: String, old: Val, new: Val },
    Numeric { key: Vec<String>, column: String, old: f64, new: f64, abs_diff: f64, rel_diff: f64 },
    Value { key: Vec<String>, column: String, old: Val, new: Val },
    Added { key: Vec<String> },
    Removed { key: Vec<String> },
    ColumnAdded { column: String },
    ColumnRemoved { column: String },
    ModelVersion { old: String, new: String },
    ConfigHash { old: String, new: String },
}

impl Difference {
    /// Sort order of the report: verdicts first, then rows added/removed,
    /// schema and model changes, numeric drift, other values.
    pub fn rank(&self) -> u8 {
        match self {
            Difference::Verdict { .. } => 0,
            Difference::Added { .. } | Difference::Removed { .. } => 1,
            Difference::ColumnAdded { .. } | Difference::ColumnRemoved { .. } => 2,
            Difference::ModelVersion { .. } | Difference::ConfigHash { .. } => 3,
            Difference::Numeric { .. } => 4,
            Difference::Value { .. } => 5,
        }
    }
}

/// The outcome of comparing two tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub keys: Vec<String>,
    pub rows_compared: usize,
    pub differences: Vec<Difference>,
}

impl Comparison {
    pub fn regression(&self) -> bool {
        !self.differences.is_empty()
    }
    pub fn verdict_changes(&self) -> usize {
        self.differences.iter().filter(|d| matches!(d, Difference::Verdict { .. })).count()
    }
}

fn key_index(
    t: &ResultTable,
    keys: &[String],
    which: &'static str,
    path: &str,
) -> Result<BTreeMap<Vec<String>, usize>, CheckError> {
    let idx: Vec<usize> = keys
        .iter()
        .map(|k| {
            t.columns.iter().position(|c| c == k).ok_or_else(|| CheckError::MissingKey {
                column: k.clone(),
                which,
                path: path.into(),
                present: t.columns.join(", "),
            })
        })
        .collect::<Result<_, _>>()?;
    let mut map = BTreeMap::new();
    for (i, r) in t.rows.iter().enumerate() {
        let k: Vec<String> = idx.iter().map(|&j| r[j].text()).collect();
        if map.contains_key(&k) {
            return Err(CheckError::DuplicateKey {
                keys: keys.join(", "),
                which,
                path: path.into(),
                value: k.join(" | "),
            });
        }
        map.insert(k, i);
    }
    Ok(map)
}

/// Compare `expected` with `actual`.
///
/// # Errors
/// Key columns absent or not unique in either table.
pub fn compare(
    expected: &ResultTable,
    actual: &ResultTable,
    opts: &CompareOptions,
    paths: (&str, &str),
) -> Result<Comparison, CheckError> {
    let run_keys = |t: &ResultTable| -> Option<Vec<String>> {
        let k = t.run.as_ref()?.get("keys")?.as_array()?;
        let k: Vec<String> = k.iter().filter_map(|v| v.as_str().map(String::from)).collect();
        (!k.is_empty()).then_some(k)
    };
    let keys: Vec<String> = match (&opts.keys, run_keys(expected)) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => k,
        (None, None) => {
            let k: Vec<String> = KEY_CANDIDATES
                .iter()
                .filter(|c| expected.columns.iter().any(|x| x == *c) && actual.columns.iter().any(|x| x == *c))
                .map(|s| s.to_string())
                .collect();
            if k.is_empty() {
                return Err(CheckError::MissingKey {
                    column: KEY_CANDIDATES.join("/"),
                    which: "either file",
                    path: format!("{} / {}", paths.0, paths.1),
                    present: expected.columns.join(", "),
                });
            }
            k
        }
    };
    let ei = key_index(expected, &keys, "the expected file", paths.0)?;
    let ai = key_index(actual, &keys, "the actual file", paths.1)?;
    let mut diffs = Vec::new();
    let ecols: BTreeSet<&String> = expected.columns.iter().collect();
    let acols: BTreeSet<&String> = actual.columns.iter().collect();
    for c in ecols.difference(&acols) {
        diffs.push(Difference::ColumnRemoved { column: (*c).clone() });
    }
    for c in acols.difference(&ecols) {
        diffs.push(Difference::ColumnAdded { column: (*c).clone() });
    }
    let run_field =
        |t: &ResultTable, f: &str| t.run.as_ref().and_then(|r| r.get(f)).and_then(|v| v.as_str()).map(String::from);
    if let (Some(o), Some(n)) = (run_field(expected, "model_version"), run_field(actual, "model_version")) {
        if o != n {
            diffs.push(Difference::ModelVersion { old: o, new: n });
        }
    }
    if let (Some(o), Some(n)) = (run_field(expected, "config_sha256"), run_field(actual, "config_sha256")) {
        if o != n {
            diffs.push(Difference::ConfigHash { old: o, new: n });
        }
    }
    let common: Vec<(&String, usize, usize)> = expected
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !keys.contains(c))
        .filter_map(|(i, c)| actual.columns.iter().position(|x| x == c).map(|j| (c, i, j)))
        .collect();
    let mut rows_compared = 0;
    for (k, &er) in &ei {
        let Some(&ar) = ai.get(k) else {
            diffs.push(Difference::Removed { key: k.clone() });
            continue;
        };
        rows_compared += 1;
        for (col, i, j) in &common {
            let (o, n) = (&expected.rows[er][*i], &actual.rows[ar][*j]);
            let verdict = VERDICT_COLUMNS.contains(&col.as_str());
            match (o, n) {
                (Val::Num(a), Val::Num(b)) if !verdict => {
                    let tol = opts.per_column.get(*col).copied().unwrap_or(opts.tolerance);
                    if !tol.within(*a, *b) {
                        let abs_diff = (a - b).abs();
                        let rel_diff = abs_diff / a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
                        diffs.push(Difference::Numeric {
                            key: k.clone(),
                            column: (*col).clone(),
                            old: *a,
                            new: *b,
                            abs_diff,
                            rel_diff,
                        });
                    }
                }
                _ if o == n => {}
                (Val::Num(a), Val::Num(b)) if a.is_nan() && b.is_nan() => {}
                _ if verdict => diffs.push(Difference::Verdict {
                    key: k.clone(),
                    column: (*col).clone(),
                    old: o.clone(),
                    new: n.clone(),
                }),
                _ => diffs.push(Difference::Value {
                    key: k.clone(),
                    column: (*col).clone(),
                    old: o.clone(),
                    new: n.clone(),
                }),
            }
        }
    }
    for k in ai.keys() {
        if !ei.contains_key(k) {
            diffs.push(Difference::Added { key: k.clone() });
        }
    }
    diffs.sort_by_key(|d| d.rank());
    Ok(Comparison { keys, rows_compared, differences: diffs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cols: &[&str], rows: Vec<Vec<Val>>) -> ResultTable {
        ResultTable { columns: cols.iter().map(|s| s.to_string()).collect(), rows, run: None }
    }

    #[test]
    fn verdicts_first_numeric_within_tolerance_and_nan() {
        let e = t(
            &["intervention", "score", "category", "x"],
            vec![
                vec![Val::Str("A".into()), Val::Num(0.5), Val::Str("effective".into()), Val::Num(f64::NAN)],
                vec![Val::Str("B".into()), Val::Num(0.5), Val::Str("promising".into()), Val::Num(1.0)],
            ],
        );
        let a = t(
            &["intervention", "score", "category", "x"],
            vec![
                vec![Val::Str("A".into()), Val::Num(0.5 + 1e-12), Val::Str("effective".into()), Val::Num(f64::NAN)],
                vec![Val::Str("B".into()), Val::Num(0.6), Val::Str("prudent".into()), Val::Num(1.0)],
            ],
        );
        let c = compare(&e, &a, &CompareOptions::default(), ("e", "a")).unwrap();
        assert_eq!(c.keys, ["intervention"]);
        assert_eq!(c.differences.len(), 2, "{:?}", c.differences);
        assert!(matches!(c.differences[0], Difference::Verdict { ref column, .. } if column == "category"));
        assert!(matches!(c.differences[1], Difference::Numeric { ref column, .. } if column == "score"));
    }

    #[test]
    fn duplicate_and_missing_keys_are_errors() {
        let e = t(
            &["intervention", "score"],
            vec![vec![Val::Str("A".into()), Val::Num(1.0)], vec![Val::Str("A".into()), Val::Num(2.0)]],
        );
        let err = compare(&e, &e, &CompareOptions::default(), ("e.csv", "a.csv")).unwrap_err();
        assert!(err.to_string().contains("not unique in the expected file (e.csv)"), "{err}");
        let opts = CompareOptions { keys: Some(vec!["nope".into()]), ..Default::default() };
        let err = compare(&e, &e, &opts, ("e.csv", "a.csv")).unwrap_err();
        assert!(err.to_string().contains("key column 'nope' is not in the expected file"), "{err}");
    }

    #[test]
    fn tolerance() {
        let t = Tolerance { abs: 0.0, rel: 1e-6 };
        assert!(t.within(1.0, 1.0 + 1e-7));
        assert!(!t.within(1.0, 1.0 + 1e-5));
        assert!(t.within(f64::NAN, f64::NAN));
        assert!(!t.within(f64::NAN, 1.0));
    }
}

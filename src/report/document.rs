//! The result documents `score` and `rank` write, as bytes: JSON (`{"run":
//! metadata, "rows": [...]}`, pretty, with a final newline) and CSV. The
//! command line and `evidex serve`'s API both call these, so the API's
//! answer is the command's output byte for byte by construction.

use super::score as rs;
use super::table::Table;
use crate::ingest::Ingested;
use crate::score::rank::RankResult;
use crate::score::{ScoreResult, ScoringConfig};
use serde_json::Value as Json;

/// The JSON document of a result table: its run metadata and its rows.
pub fn json_document(run: &Json, rows: Json) -> String {
    let v = serde_json::json!({"run": run, "rows": rows});
    // A `Value` always serialises (string keys, finite or null numbers).
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// The CSV document of a result table.
pub fn csv_document(t: &Table) -> String {
    t.to_csv()
}

/// Run metadata of `score` for the group keys of `res`.
pub fn score_run(ing: &Ingested, cfg: &ScoringConfig, res: &ScoreResult) -> Json {
    let keys: Vec<&str> = res.keys.iter().map(|k| k.name()).collect();
    rs::run_metadata(ing, Some(cfg), &keys)
}

/// Run metadata of `rank` (rows keyed by intervention).
pub fn rank_run(ing: &Ingested, cfg: &ScoringConfig) -> Json {
    rs::run_metadata(ing, Some(cfg), &["intervention"])
}

/// `evidex score --format json`.
pub fn score_json_document(res: &ScoreResult, run: &Json) -> String {
    json_document(run, rs::score_json_rows(res))
}

/// `evidex rank --format json`.
pub fn rank_json_document(res: &RankResult, run: &Json) -> String {
    json_document(run, rs::rank_json_rows(res))
}

/// `evidex score --format csv`.
pub fn score_csv_document(res: &ScoreResult) -> String {
    csv_document(&rs::score_table(res))
}

/// `evidex rank --format csv`.
pub fn rank_csv_document(res: &RankResult) -> String {
    csv_document(&rs::rank_table(res))
}

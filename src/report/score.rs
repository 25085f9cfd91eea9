//! Rendering of scores, rankings and explanations.

use super::table::{Cell, Table};
use crate::ingest::Ingested;
use crate::model::EvaluationRecord;
use crate::score::rank::RankResult;
use crate::score::weight::{record_weight, used_rating};
use crate::score::{CellResult, ScoreResult, ScoringConfig};
use serde_json::{json, Value};
use std::fmt::Write;

/// Columns after the key columns, in order (docs/output-format.md).
pub const SCORE_COLUMNS: &[&str] = &[
    "n_records",
    "n_studies",
    "n_effective",
    "n_promising",
    "n_prudent",
    "n_needs_research",
    "n_ineffective",
    "n_derived",
    "best_design",
    "total_sample",
    "rigorous_positive",
    "rigorous_null",
    "rigorous_harmful",
    "score",
    "score_low",
    "score_high",
    "category",
    "consensus_rating",
    "disagreement",
    "certainty",
    "harm_flag",
    "strategy",
    "pooled_k",
    "pooled_measure",
    "pooled_estimate",
    "pooled_ci_lower",
    "pooled_ci_upper",
    "pooled_pi_lower",
    "pooled_pi_upper",
    "pooled_i2",
    "category_rule",
    "certainty_downgrades",
    "pooled_note",
];

fn cell_values(c: &CellResult) -> Vec<Cell> {
    let p = c.pooled.as_ref();
    vec![
        Cell::Int(c.n_records as i64),
        Cell::Int(c.n_studies as i64),
        Cell::Int(c.rating_counts[0] as i64),
        Cell::Int(c.rating_counts[1] as i64),
        Cell::Int(c.rating_counts[2] as i64),
        Cell::Int(c.rating_counts[3] as i64),
        Cell::Int(c.rating_counts[4] as i64),
        Cell::Int(c.n_derived as i64),
        Cell::opt_str(c.best_design.map(|d| d.key())),
        Cell::Int(c.total_sample as i64),
        Cell::Int(i64::from(c.rigorous_positive)),
        Cell::Int(i64::from(c.rigorous_null)),
        Cell::Int(i64::from(c.rigorous_harmful)),
        Cell::Num(c.score),
        Cell::Num(c.score_low),
        Cell::Num(c.score_high),
        Cell::Str(c.category.key().into()),
        Cell::opt_str(c.consensus_rating.map(|r| r.key())),
        Cell::Bool(c.disagreement),
        Cell::Str(c.certainty.key().into()),
        Cell::Bool(c.harm_flag),
        Cell::opt_str(c.strategy.map(|s| s.key())),
        p.map_or(Cell::Null, |p| Cell::Int(p.k as i64)),
        Cell::opt_str(p.map(|p| p.measure.name())),
        Cell::opt_num(p.map(|p| p.estimate)),
        Cell::opt_num(p.map(|p| p.ci_lower)),
        Cell::opt_num(p.map(|p| p.ci_upper)),
        Cell::opt_num(p.map(|p| p.pi_lower)),
        Cell::opt_num(p.map(|p| p.pi_upper)),
        Cell::opt_num(p.map(|p| p.i2)),
        Cell::Str(c.category_rule.clone()),
        Cell::Str(c.downgrades.join("; ")),
        Cell::opt_str(c.pooled_note.as_ref()),
    ]
}

/// One row per cell: the key columns, then [`SCORE_COLUMNS`] (a statistic
/// named like a key column, e.g. `strategy` under `--by strategy`, is left
/// out: the key already says it).
pub fn score_table(r: &ScoreResult) -> Table {
    let keys: Vec<&str> = r.keys.iter().map(|k| k.name()).collect();
    let keep: Vec<bool> = SCORE_COLUMNS.iter().map(|c| !keys.contains(c)).collect();
    let mut cols = keys.clone();
    cols.extend(SCORE_COLUMNS.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| *c));
    let mut t = Table::new(&cols);
    for c in &r.cells {
        let mut row: Vec<Cell> = c.key.iter().map(|(_, v)| Cell::Str(v.clone())).collect();
        row.extend(cell_values(c).into_iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| v));
        t.rows.push(row);
    }
    t
}

/// Columns shown in the terminal table of `score`.
pub fn score_text(r: &ScoreResult) -> String {
    let t = score_table(r);
    let mut cols: Vec<&str> = r.keys.iter().map(|k| k.name()).collect();
    cols.extend(["n_studies", "score", "score_low", "score_high", "category", "certainty", "harm_flag"]);
    t.to_text(&cols, 44)
}

pub const RANK_COLUMNS: &[&str] = &[
    "rank",
    "intervention",
    "strategy",
    "category",
    "score",
    "score_low",
    "score_high",
    "certainty",
    "n_studies",
    "n_borrowed_studies",
    "borrowed_from",
    "harm_flag",
    "consensus_rating",
    "why",
];

pub fn rank_table(r: &RankResult) -> Table {
    let mut t = Table::new(RANK_COLUMNS);
    for row in &r.rows {
        let c = &row.cell;
        let from: Vec<&str> = c.borrowed_from.iter().map(|b| b.key()).collect();
        t.rows.push(vec![
            Cell::Int(row.rank as i64),
            Cell::Str(row.intervention.clone()),
            Cell::opt_str(c.strategy.map(|s| s.key())),
            Cell::Str(c.category.key().into()),
            Cell::Num(c.score),
            Cell::Num(c.score_low),
            Cell::Num(c.score_high),
            Cell::Str(c.certainty.key().into()),
            Cell::Int(c.n_studies as i64),
            Cell::Int(c.n_borrowed_studies as i64),
            Cell::Str(from.join(";")),
            Cell::Bool(c.harm_flag),
            Cell::opt_str(c.consensus_rating.map(|r| r.key())),
            Cell::Str(row.why.clone()),
        ]);
    }
    t
}

pub fn rank_text(r: &RankResult) -> String {
    let mut s = format!(
        "What works for {} in {} settings{} (model {}):\n\n",
        r.target_group,
        r.income_setting,
        r.strategy.map(|x| format!(", strategy {}", x.key())).unwrap_or_default(),
        r.model_version
    );
    if r.rows.is_empty() {
        s.push_str("no interventions evaluated for this group match the filters\n");
        return s;
    }
    for row in &r.rows {
        let c = &row.cell;
        let borrowed = if c.n_borrowed_studies > 0 { " [borrowed evidence]" } else { "" };
        let harm = if c.harm_flag { " [HARMFUL]" } else { "" };
        let _ = writeln!(
            s,
            "{:>2}. {}{harm}{borrowed}\n    {} | score {:.2} [{:.2}, {:.2}] | certainty {} | {} stud{}\n    why: {}",
            row.rank,
            row.intervention,
            c.category,
            c.score,
            c.score_low,
            c.score_high,
            c.certainty,
            c.n_studies,
            if c.n_studies == 1 { "y" } else { "ies" },
            row.why
        );
    }
    s
}

/// Run metadata: versions, config hash (scoring commands), inputs with
/// hashes, row counts. No timestamps, so reruns are byte-identical.
/// `keys` are the columns that identify a row (used by `evidex check`).
pub fn run_metadata(ing: &Ingested, cfg: Option<&ScoringConfig>, keys: &[&str]) -> Value {
    let files: Vec<Value> = ing.files.iter().map(|f| json!({"path": f.path, "sha256": f.sha256})).collect();
    json!({
        "evidex_version": env!("CARGO_PKG_VERSION"),
        "keys": keys,
        "model_version": cfg.map(|_| crate::score::MODEL_VERSION),
        "config_sha256": cfg.map(|c| c.hash()),
        "inputs": files,
        "rows_read": ing.rows_read(),
        "accepted": ing.accepted(),
        "rejected": ing.rejected_count(),
    })
}

/// Key-value pairs of the run metadata (for Parquet).
pub fn run_metadata_pairs(meta: &Value) -> Vec<(String, String)> {
    vec![("evidex_run".to_string(), meta.to_string())]
}

/// A record's share of the cell: its study's share times its share of the
/// study's record weights (a study weighs the mean of its records).
fn record_share(st: &crate::score::StudyView, w: f64, cell_total: f64) -> f64 {
    let study_sum = crate::score::accum::unfx(st.acc.sum_w);
    if cell_total <= 0.0 || study_sum <= 0.0 {
        return 0.0;
    }
    100.0 * (st.weight / cell_total) * (w / study_sum)
}

/// Explanation of one cell: records with weight components and shares, the
/// category rule, certainty downgrades, interval, pooled effect.
pub fn explain_text(
    c: &CellResult,
    records: &[&EvaluationRecord],
    cfg: &ScoringConfig,
    reference_year: i32,
    files: &[String],
) -> String {
    let mut s = String::new();
    let key: Vec<String> = c.key.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let _ = writeln!(s, "{}", key.join(", "));
    let _ = writeln!(
        s,
        "category: {} ({})\nscore: {:.3}, interval [{:.3}, {:.3}] ({:.0}% credible, shrunk toward 0.5 with prior weight {})",
        c.category,
        c.category_rule,
        c.score,
        c.score_low,
        c.score_high,
        cfg.score.interval_level * 100.0,
        cfg.score.prior_weight
    );
    let _ = writeln!(s, "certainty: {}", c.certainty);
    for d in &c.downgrades {
        let _ = writeln!(s, "  - down: {d}");
    }
    match c.consensus_rating {
        Some(r) if c.disagreement => {
            let _ = writeln!(s, "reviewers' consensus rating: {r} (DISAGREES with the derived category)");
        }
        Some(r) => {
            let _ = writeln!(s, "reviewers' consensus rating: {r}");
        }
        None => {
            let _ = writeln!(s, "reviewers' consensus rating: none (no reviewer-assigned ratings)");
        }
    }
    if c.harm_flag {
        let _ = writeln!(s, "HARM: credible evidence of harm; this cell ranks last");
    }
    if let Some(p) = &c.pooled {
        let _ = writeln!(
            s,
            "pooled effect ({}, k = {} studies, REML): {:.3} [{:.3}, {:.3}], prediction interval [{:.3}, {:.3}], I^2 = {:.1}%",
            p.measure, p.k, p.estimate, p.ci_lower, p.ci_upper, p.pi_lower, p.pi_upper, p.i2
        );
    } else if let Some(n) = &c.pooled_note {
        let _ = writeln!(s, "pooled effect: {n}");
    }
    let total_w: f64 = c.studies.iter().map(|st| st.weight).sum();
    let _ = writeln!(s, "\n{} studies, {} records (reference year {reference_year}):", c.n_studies, c.n_records);
    for st in &c.studies {
        let borrowed = st.borrowed_from.map(|b| format!(", borrowed from {b}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "  study {}: weight {:.3} ({:.1}% of the cell), value {:.2}, design {}, rigorous {}{}",
            st.study,
            st.weight,
            if total_w > 0.0 { 100.0 * st.weight / total_w } else { 0.0 },
            st.value,
            st.acc.best_design.map_or("unknown", |d| d.key()),
            if st.rigorous() { "yes" } else { "no" },
            borrowed
        );
        let key = st.study.rsplit('/').next().unwrap_or(&st.study);
        for r in records.iter().filter(|r| r.study_key() == key || r.study_key() == st.study) {
            if let Some(b) = st.borrowed_from {
                if r.income_setting != b {
                    continue;
                }
            }
            let Some(u) = used_rating(r, cfg) else {
                let _ = writeln!(s, "    record {}: no rating and no usable effect size (not scored)", r.record_id);
                continue;
            };
            let w = record_weight(r, cfg, reference_year, u.derived);
            let file = files.get(r.provenance.file as usize).map_or("?", |f| f.as_str());
            let _ = writeln!(
                s,
                "    record {} ({file}:{}): {}{}{} | {:.1}% of the cell | weight {:.3} = design {:.2} x risk of bias {:.2} x sample {:.2} x age {:.2}{}",
                r.record_id,
                r.provenance.line,
                u.rating,
                if u.derived { " (derived from effect size)" } else { "" },
                if u.harm { ", harm" } else { "" },
                record_share(st, w.total, total_w),
                w.total,
                w.design,
                w.risk_of_bias,
                w.sample,
                w.age,
                if u.derived { format!(" x derived {:.2}", w.derived) } else { String::new() }
            );
        }
    }
    s
}

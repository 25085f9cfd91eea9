//! Rendering of scores, rankings and explanations.

use super::table::{Table, Value};
use super::words;
use crate::ingest::Ingested;
use crate::model::{EvaluationRecord, OutcomeDomain};
use crate::score::rank::{RankResult, RANK_ORDER};
use crate::score::weight::record_weight;
use crate::score::{CellResult, ScoreResult, ScoringConfig};
use serde_json::{json, Value as Json};
use std::fmt::Write;

/// Columns after the key columns, in order (docs/output-format.md).
pub const SCORE_COLUMNS: &[&str] = &[
    "category",
    "harm_flag",
    "domain",
    "basis",
    "certainty",
    "robustness",
    "fragile",
    "flip",
    "score",
    "score_low",
    "score_high",
    "category_violence",
    "category_behaviour",
    "category_other",
    "category_risk_factor",
    "category_local",
    "category_borrowed",
    "n_records",
    "n_studies",
    "n_borrowed_studies",
    "borrowed_from",
    "n_effective",
    "n_promising",
    "n_prudent",
    "n_needs_research",
    "n_ineffective",
    "n_unrated",
    "best_design",
    "total_sample",
    "rigorous_positive",
    "rigorous_null",
    "harm_signal",
    "consensus_rating",
    "disagreement",
    "strategy",
    "pooled_k",
    "pooled_measure",
    "pooled_direction",
    "pooled_estimate",
    "pooled_ci_lower",
    "pooled_ci_upper",
    "pooled_pi_lower",
    "pooled_pi_upper",
    "pooled_i2",
    "pooled_tau2",
    "category_rule",
    "certainty_downgrades",
    "pooled_note",
];

fn domain_value(c: &CellResult, d: OutcomeDomain) -> Value {
    Value::opt_str(c.domain_result(d).map(|x| words::category_value(x.category, x.harm)))
}

fn cell_values(c: &CellResult) -> Vec<Value> {
    let p = c.pooled.as_ref();
    let from: Vec<&str> = c.borrowed_from.iter().map(|b| b.key()).collect();
    let downgrades: Vec<String> = c.downgrades.iter().map(words::downgrade).collect();
    vec![
        Value::Str(c.category.key().into()),
        Value::Bool(c.harm_flag),
        Value::Str(c.domain.key().into()),
        Value::Str(c.basis.key().into()),
        Value::Str(c.certainty.key().into()),
        Value::opt_num(c.robustness),
        Value::Bool(c.fragile),
        Value::opt_str(c.flip.as_ref().map(words::flip)),
        Value::Num(c.score),
        Value::Num(c.score_low),
        Value::Num(c.score_high),
        domain_value(c, OutcomeDomain::Violence),
        domain_value(c, OutcomeDomain::Behaviour),
        domain_value(c, OutcomeDomain::Other),
        domain_value(c, OutcomeDomain::RiskFactor),
        Value::opt_str(c.category_local.map(|r| words::category_value(r, c.harm_local))),
        Value::opt_str(c.category_borrowed.map(|r| r.key())),
        Value::Int(c.n_records as i64),
        Value::Int(c.n_studies as i64),
        Value::Int(c.n_borrowed_studies as i64),
        Value::Str(from.join(";")),
        Value::Int(c.rating_counts[0] as i64),
        Value::Int(c.rating_counts[1] as i64),
        Value::Int(c.rating_counts[2] as i64),
        Value::Int(c.rating_counts[3] as i64),
        Value::Int(c.rating_counts[4] as i64),
        Value::Int(c.n_unrated as i64),
        Value::opt_str(c.best_design.map(|d| d.key())),
        Value::Int(c.total_sample as i64),
        Value::Int(i64::from(c.rigorous_positive)),
        Value::Int(i64::from(c.rigorous_null)),
        Value::Int(i64::from(c.harm_signal)),
        Value::opt_str(c.consensus_rating.map(|r| r.key())),
        Value::Bool(c.disagreement),
        Value::opt_str(c.strategy.map(|s| s.key())),
        p.map_or(Value::Null, |p| Value::Int(p.k as i64)),
        Value::opt_str(p.map(|p| p.measure.name())),
        Value::opt_str(p.map(|p| p.direction.key())),
        Value::opt_num(p.map(|p| p.estimate)),
        Value::opt_num(p.map(|p| p.ci_lower)),
        Value::opt_num(p.map(|p| p.ci_upper)),
        Value::opt_num(p.map(|p| p.pi_lower)),
        Value::opt_num(p.map(|p| p.pi_upper)),
        Value::opt_num(p.map(|p| p.i2)),
        Value::opt_num(p.map(|p| p.tau2)),
        Value::Str(words::verdict_sentence(c)),
        Value::Str(downgrades.join("; ")),
        Value::opt_str(c.pooled_note.as_ref().map(words::pool_note)),
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
        let mut row: Vec<Value> = c.key.iter().map(|(_, v)| Value::Str(v.clone())).collect();
        row.extend(cell_values(c).into_iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| v));
        t.rows.push(row);
    }
    t
}

/// Each cell's verdict per outcome domain (the `domains` array of JSON rows).
pub fn domains_json(c: &CellResult) -> Json {
    Json::Array(
        c.domains
            .iter()
            .map(|d| {
                json!({
                    "domain": d.domain.key(),
                    "category": d.category.key(),
                    "harm": d.harm,
                    "rule": words::rule_sentence(d.rule, d.category, d.harm, d.domain, d.rigorous_positive, d.rigorous_null, d.n_studies),
                    "n_studies": d.n_studies,
                    "rigorous_positive": d.rigorous_positive,
                    "rigorous_null": d.rigorous_null,
                    "harm_signal": d.harm_signal,
                    "pooled": d.pooled,
                    "pooled_note": d.pooled_note.as_ref().map(words::pool_note),
                })
            })
            .collect(),
    )
}

/// JSON rows of [`score_table`], each with its `domains` array.
pub fn score_json_rows(r: &ScoreResult) -> Json {
    let mut rows = score_table(r).to_json_rows();
    if let Json::Array(v) = &mut rows {
        for (row, c) in v.iter_mut().zip(&r.cells) {
            if let Json::Object(m) = row {
                m.insert("domains".into(), domains_json(c));
            }
        }
    }
    rows
}

/// Columns shown in the terminal table of `score`.
pub fn score_text(r: &ScoreResult) -> String {
    let t = score_table(r);
    let mut cols: Vec<&str> = r.keys.iter().map(|k| k.name()).collect();
    cols.extend(["category", "domain", "basis", "certainty", "robustness", "fragile", "n_studies", "score"]);
    let mut s = t.to_text(&cols, 44);
    s.push_str(
        "\ncategory: on the UNICEF scale, resting on the outcome domain in `domain` (violence, then behaviour, other outcomes, risk factors); basis: local evidence, or borrowed from other income settings; robustness: share of plausible configurations keeping the category. "
    );
    s.push_str("Rules: docs/scoring.md\n");
    s
}

pub const RANK_COLUMNS: &[&str] = &[
    "rank",
    "intervention",
    "strategy",
    "category",
    "harm_flag",
    "domain",
    "basis",
    "certainty",
    "score",
    "score_low",
    "score_high",
    "robustness",
    "fragile",
    "flip",
    "category_local",
    "category_borrowed",
    "n_studies",
    "n_borrowed_studies",
    "borrowed_from",
    "consensus_rating",
    "why",
];

pub fn rank_table(r: &RankResult) -> Table {
    let mut t = Table::new(RANK_COLUMNS);
    for row in &r.rows {
        let c = &row.cell;
        let from: Vec<&str> = c.borrowed_from.iter().map(|b| b.key()).collect();
        t.rows.push(vec![
            Value::Int(row.rank as i64),
            Value::Str(row.intervention.clone()),
            Value::opt_str(c.strategy.map(|s| s.key())),
            Value::Str(c.category.key().into()),
            Value::Bool(c.harm_flag),
            Value::Str(c.domain.key().into()),
            Value::Str(c.basis.key().into()),
            Value::Str(c.certainty.key().into()),
            Value::Num(c.score),
            Value::Num(c.score_low),
            Value::Num(c.score_high),
            Value::opt_num(c.robustness),
            Value::Bool(c.fragile),
            Value::opt_str(c.flip.as_ref().map(words::flip)),
            Value::opt_str(c.category_local.map(|x| words::category_value(x, c.harm_local))),
            Value::opt_str(c.category_borrowed.map(|x| x.key())),
            Value::Int(c.n_studies as i64),
            Value::Int(c.n_borrowed_studies as i64),
            Value::Str(from.join(";")),
            Value::opt_str(c.consensus_rating.map(|r| r.key())),
            Value::Str(words::why(c)),
        ]);
    }
    t
}

pub fn rank_text(r: &RankResult, cfg: &ScoringConfig) -> String {
    let mut s = format!(
        "What works for {} in {} settings{} (model {})\nRanked: {RANK_ORDER}.\n\n",
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
        let mut marks = String::new();
        if c.harm_flag {
            marks.push_str(" [HARMFUL]");
        }
        if c.basis == crate::score::Basis::Borrowed {
            marks.push_str(" [borrowed evidence]");
        }
        if c.fragile {
            marks.push_str(" [fragile]");
        }
        let robust = c.robustness.map(|x| format!(" | robustness {:.0}%", 100.0 * x)).unwrap_or_default();
        let _ = writeln!(
            s,
            "{:>2}. {}{marks}\n    {} on {} | certainty {} | {}{robust}",
            row.rank,
            row.intervention,
            words::category(c.category, c.harm_flag),
            c.domain.label(),
            c.certainty.label(),
            words::score_band(c, cfg.score.interval_level),
        );
        if let (Some(l), Some(b)) = (c.category_local, c.category_borrowed) {
            let _ = writeln!(
                s,
                "    local evidence: {}; with borrowed evidence: {}",
                words::category(l, c.harm_local),
                b.label()
            );
        }
        let _ = writeln!(s, "    why: {}", words::why(c));
        if let Some(f) = &c.flip {
            let _ = writeln!(s, "    closest change: {}", words::flip(f));
        }
    }
    s
}

/// Run metadata: versions, config hash (scoring commands), inputs with
/// hashes, row counts. No timestamps, so reruns are byte-identical.
/// `keys` are the columns that identify a row (used by `evidex check`).
pub fn run_metadata(ing: &Ingested, cfg: Option<&ScoringConfig>, keys: &[&str]) -> Json {
    let files: Vec<Json> = ing.files.iter().map(|f| json!({"path": f.path, "sha256": f.sha256})).collect();
    json!({
        "evidex_version": env!("CARGO_PKG_VERSION"),
        "keys": keys,
        "model_version": cfg.map(|_| crate::score::MODEL_VERSION),
        "config_sha256": cfg.map(|c| c.hash()),
        "inputs": files,
        "rows_read": ing.rows_read(),
        "accepted": ing.accepted(),
        "rejected": ing.rejected_count(),
        "left_out": ing.left_out(),
        "warnings": ing.warnings,
    })
}

/// Key-value pairs of the run metadata (for Parquet).
pub fn run_metadata_pairs(meta: &Json) -> Vec<(String, String)> {
    vec![("evidex_run".to_string(), meta.to_string())]
}

/// Explanation of one cell: the verdict and why, each outcome domain, each
/// study with its standing and each finding with its weight parts.
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
    let _ = writeln!(s, "verdict: {}", words::verdict_sentence(c));
    let _ = writeln!(
        s,
        "basis: {}{}",
        c.basis.key(),
        match (c.category_local, c.category_borrowed) {
            (Some(l), Some(b)) => format!(
                " (local evidence alone: {}; with borrowed evidence: {})",
                words::category(l, c.harm_local),
                b.label()
            ),
            (None, Some(_)) => " (no local study)".to_string(),
            _ => String::new(),
        }
    );
    let _ = writeln!(
        s,
        "{} (the band is the {:.0}% interval of a Beta summary that widens when studies disagree; not a credible interval)",
        words::score_band(c, cfg.score.interval_level),
        100.0 * cfg.score.interval_level
    );
    let _ = writeln!(s, "certainty: {}", c.certainty.label());
    for d in &c.downgrades {
        let _ = writeln!(s, "  - down for {}", words::downgrade(d));
    }
    if let Some(r) = c.robustness {
        let _ = writeln!(
            s,
            "robustness: the category holds in {:.1}% of {} plausible configurations",
            100.0 * r,
            cfg.robustness.draws
        );
    }
    let _ = writeln!(s, "fragile: {}", if c.fragile { "yes (leaving out one study changes it)" } else { "no" });
    if let Some(f) = &c.flip {
        let _ = writeln!(s, "closest change: {}", words::flip(f));
    }
    match (c.consensus_rating, words::consensus_reason(c)) {
        (_, Some(r)) => {
            let _ = writeln!(s, "{r}");
        }
        (Some(r), None) => {
            let _ = writeln!(s, "reviewers' consensus: {} (agrees)", r.label());
        }
        (None, None) => {
            let _ = writeln!(s, "reviewers' consensus: none (no reviewer-assigned ratings)");
        }
    }
    if c.harm_signal > 0 {
        let _ = writeln!(
            s,
            "weak harm signal: {} with a significantly harmful finding that is not credible enough for the verdict",
            words::count(c.harm_signal, "study", "studies")
        );
    }
    let _ = writeln!(s, "\nby outcome domain:");
    for d in &c.domains {
        let _ = writeln!(
            s,
            "  {}: {}",
            d.domain.label(),
            words::rule_sentence(
                d.rule,
                d.category,
                d.harm,
                d.domain,
                d.rigorous_positive,
                d.rigorous_null,
                d.n_studies
            )
        );
        if let Some(p) = &d.pooled {
            let _ = writeln!(
                s,
                "    pooled {} ({}, k = {}, REML, modified Hartung-Knapp): {:.3}, 95% CI [{:.3}, {:.3}], 95% prediction interval [{:.3}, {:.3}], I^2 = {:.1}%{}",
                p.measure,
                p.direction.key().replace('_', " "),
                p.k,
                p.estimate,
                p.ci_lower,
                p.ci_upper,
                p.pi_lower,
                p.pi_upper,
                p.i2,
                p.egger_p.map(|e| format!(", Egger's test p = {e:.3}")).unwrap_or_default()
            );
        } else if let Some(n) = &d.pooled_note {
            let _ = writeln!(s, "    {}", words::pool_note(n));
        }
    }
    let n_borrowed = c.n_borrowed_studies;
    let _ = writeln!(
        s,
        "\n{}{}, {} (reference year {reference_year}):",
        words::count(c.n_studies as u64, "local study", "local studies"),
        if n_borrowed > 0 { format!(" + {n_borrowed} borrowed") } else { String::new() },
        words::count(c.n_records, "local finding", "local findings")
    );
    for st in &c.studies {
        let borrowed =
            st.borrowed_from.map(|b| format!(", borrowed from {b} (weight x {:.2})", st.transfer)).unwrap_or_default();
        let _ = writeln!(
            s,
            "  study {}: {}, risk of bias {}, {}{borrowed}",
            st.study,
            st.best_design.map_or("design unknown", |d| d.key()),
            st.best_rob.map_or("unknown", |r| r.key()),
            if st.rigorous { "rigorous" } else { "not rigorous" }
        );
        for d in &st.domains {
            let _ = writeln!(
                s,
                "    {}: {} (from {} {}{}), weight {:.3}{}{}",
                d.domain.label(),
                d.standing.label(),
                words::count(d.n_findings, "finding", "findings"),
                if d.primary { "primary " } else { "" },
                if d.from_ratings { "rated by reviewers" } else { "judged from the effect size" },
                d.weight,
                if d.credible_harm { ", credible harm" } else { "" },
                if d.harm_signal { ", weak harm signal" } else { "" }
            );
        }
        let setting = st.borrowed_from;
        for r in records.iter().filter(|r| r.study_key() == st.study && setting.is_none_or(|b| r.income_setting == b)) {
            let w = record_weight(r, cfg, reference_year);
            let file = files.get(r.provenance.file as usize).map_or("?", |f| f.as_str());
            let at = format!("{file}:{}", r.provenance.line);
            let name = if r.record_id == at { at } else { format!("{} ({at})", r.record_id) };
            let rating = match r.rating {
                Some(x) => words::category(x, r.harm).to_string(),
                None if r.effect().is_usable() => "no rating (judged from its effect size)".into(),
                None => "no rating and no usable effect size (not scored)".into(),
            };
            let _ = writeln!(
                s,
                "      finding {name}: {} | {}{} | weight {:.3} = design {:.2} x risk of bias {:.2} x sample {:.2} x age {:.2}{}",
                r.outcome_domain.label(),
                rating,
                match r.primary {
                    Some(true) => ", primary",
                    Some(false) => ", secondary",
                    None => "",
                },
                w.total,
                w.design,
                w.risk_of_bias,
                w.sample,
                w.age,
                if r.rating.is_none() { format!(" x unrated {:.2}", w.unrated) } else { String::new() }
            );
        }
    }
    s
}

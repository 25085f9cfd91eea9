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
    "certainty_start",
    "harm_signals",
    "consensus_rating",
    "disagreement",
    "strategy",
    "pooled_k",
    "pooled_measure",
    "pooled_direction",
    "pooled_estimate",
    "pooled_se",
    "pooled_ci_lower",
    "pooled_ci_upper",
    "pooled_hksj_lower",
    "pooled_hksj_upper",
    "pooled_pi_lower",
    "pooled_pi_upper",
    "pooled_i2",
    "pooled_tau2",
    "pooled_standing",
    "pooled_descriptive",
    "category_rule",
    "certainty_downgrades",
    "pooled_note",
];

fn domain_value(c: &CellResult, d: OutcomeDomain) -> Value {
    Value::opt_str(c.domain_result(d).map(|x| words::category_value(x.category, x.harm)))
}

fn cell_values(c: &CellResult) -> Vec<Value> {
    let p = c.pooled.as_ref().map(|p| (p.direction, &p.synthesis));
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
        Value::Str(c.certainty_start.key().into()),
        Value::opt_str(words::harm_signals(c)),
        Value::opt_str(c.consensus_rating.map(|r| r.key())),
        Value::Bool(c.disagreement),
        Value::opt_str(c.strategy.map(|s| s.key())),
        p.map_or(Value::Null, |p| Value::Int(p.1.k as i64)),
        Value::opt_str(p.map(|p| p.1.measure.name())),
        Value::opt_str(p.map(|p| p.0.key())),
        Value::opt_num(p.map(|p| p.1.estimate)),
        Value::opt_num(p.map(|p| p.1.se)),
        Value::opt_num(p.map(|p| p.1.ci_lower)),
        Value::opt_num(p.map(|p| p.1.ci_upper)),
        Value::opt_num(p.map(|p| p.1.hksj_lower)),
        Value::opt_num(p.map(|p| p.1.hksj_upper)),
        Value::opt_num(p.and_then(|p| p.1.pi_lower)),
        Value::opt_num(p.and_then(|p| p.1.pi_upper)),
        Value::opt_num(p.map(|p| p.1.i2)),
        Value::opt_num(p.map(|p| p.1.tau2)),
        Value::opt_str(c.domain_result(c.domain).and_then(|d| d.standing).map(|s| s.key())),
        c.pooled.as_ref().map_or(Value::Null, |p| Value::Bool(p.descriptive)),
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
                    "category": words::category_value(d.category, d.harm),
                    "conclusive": d.conclusive,
                    "capped": d.capped,
                    "certainty": d.certainty.key(),
                    "rule": words::rule_sentence(d),
                    "n_studies": d.n_studies,
                    "n_eligible": d.n_eligible,
                    "n_benefit": d.n_benefit,
                    "standing": d.standing.map(|s| s.key()),
                    "harm_signals": d.harm_signals,
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

/// JSON rows of [`rank_table`], each with its cell's `domains` array.
pub fn rank_json_rows(r: &RankResult) -> Json {
    let mut rows = rank_table(r).to_json_rows();
    if let Json::Array(v) = &mut rows {
        for (row, x) in v.iter_mut().zip(&r.rows) {
            if let Json::Object(m) = row {
                m.insert("domains".into(), domains_json(&x.cell));
            }
        }
    }
    rows
}

/// The terminal table of `score`: the key columns, then the verdict in
/// words (as `rank` words it, robustness as a percentage).
pub fn score_text(r: &ScoreResult) -> String {
    let mut cols: Vec<&str> = r.keys.iter().map(|k| k.name()).collect();
    cols.extend([
        "verdict",
        "rests on",
        "evidence",
        "certainty",
        "robustness",
        "one study decides",
        "studies",
        "score",
    ]);
    let mut t = Table::new(&cols);
    for c in &r.cells {
        let mut row: Vec<Value> = c.key.iter().map(|(_, v)| Value::Str(v.clone())).collect();
        row.extend([
            Value::Str(words::category(c.category, c.harm_flag).into()),
            Value::Str(c.domain.label().into()),
            Value::Str(words::basis(c)),
            Value::Str(c.certainty.label().into()),
            Value::Str(c.robustness.map_or_else(|| "not computed".into(), words::percent)),
            Value::Str(if c.fragile { "yes" } else { "no" }.into()),
            Value::Int((c.n_studies + c.n_borrowed_studies) as i64),
            Value::Str(format!("{:.2}", c.score)),
        ]);
        t.rows.push(row);
    }
    let mut s = t.to_text(&cols, 44);
    s.push_str(
        "\nverdict: on the UNICEF scale, resting on the outcome domain in `rests on` (violence, then behaviour, other outcomes, risk factors); evidence: local, or borrowed from other income settings; robustness: share of plausible analysis settings keeping the verdict; one study decides: leaving out one study changes it; score: probability of benefit on that domain. "
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

pub fn rank_text(r: &RankResult, _cfg: &ScoringConfig) -> String {
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
        let _ = writeln!(
            s,
            "{:>2}. {}{marks}\n    {} on {}{} | certainty {} | {}",
            row.rank,
            row.intervention,
            words::category(c.category, c.harm_flag),
            c.domain.label(),
            c.pooled.as_ref().map(|p| format!(": {}", words::effect_text(p))).unwrap_or_default(),
            c.certainty.label(),
            words::score_text(c),
        );
        let _ = writeln!(s, "    how sure: {}", words::sureness(c));
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
    let basis = match c.score_basis {
        crate::score::cell::ScoreBasis::Synthesis => {
            format!(" (the probability that the intervention benefits {}, from its synthesis)", c.domain.label())
        }
        crate::score::cell::ScoreBasis::Studies => String::new(),
    };
    let _ = writeln!(s, "score: {}{basis}", words::score_text(c));
    let _ = writeln!(
        s,
        "certainty: {} (started {}: {})",
        c.certainty.label(),
        c.certainty_start.label(),
        words::certainty_start_reason(c.certainty_start)
    );
    for d in &c.downgrades {
        let _ = writeln!(s, "  - down for {}", words::downgrade(d));
    }
    if let Some(r) = c.robustness {
        let _ = writeln!(
            s,
            "robustness: the category holds under {:.1}% of {} plausible analysis settings (band of unimportant effects, optimal information size, inconsistency threshold)",
            100.0 * r,
            cfg.robustness.draws
        );
    }
    let _ = writeln!(
        s,
        "fragile: {}",
        if c.fragile {
            "yes (leaving out one study and re-pooling changes it)"
        } else {
            "no (no single study's removal changes it)"
        }
    );
    let _ = writeln!(s, "how sure: {}", words::sureness(c));
    if let Some(f) = &c.flip {
        let _ = writeln!(s, "closest change: {}", words::flip(f));
    }
    let _ = writeln!(s, "{}", words::consensus_line(c));
    if let Some(h) = words::harm_signals(c) {
        let _ = writeln!(s, "{h}");
    }
    let _ = writeln!(s, "\nby outcome domain:");
    for d in &c.domains {
        let _ = writeln!(s, "  {}: {} (certainty {})", d.domain.label(), words::rule_sentence(d), d.certainty.label());
        if let Some(p) = &d.pooled {
            let x = &p.synthesis;
            let pi = match (x.pi_lower, x.pi_upper) {
                (Some(lo), Some(hi)) => format!(", 95% prediction interval [{lo:.3}, {hi:.3}]"),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "    {} {} ({}, k = {}, REML): {:.3}, 95% CI [{:.3}, {:.3}]{}, Hartung-Knapp 95% CI [{:.3}, {:.3}]{pi}, tau^2 = {:.4}, I^2 = {:.1}%{}",
                if p.descriptive { "uncontrolled studies pooled for description" } else { "synthesis" },
                x.measure,
                p.direction.key().replace('_', " "),
                x.k,
                x.estimate,
                x.ci_lower,
                x.ci_upper,
                if p.descriptive { " (does not set the verdict)" } else { " (decides)" },
                x.hksj_lower,
                x.hksj_upper,
                x.tau2,
                x.i2,
                x.egger_p.map(|e| format!(", Egger's test p = {e:.3}")).unwrap_or_default()
            );
            for n in &x.notes {
                let _ = writeln!(s, "    note: {n}");
            }
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
        let borrowed = st
            .borrowed_from
            .map(|b| format!(", borrowed from {b} (keeps {:.0}% of its information)", 100.0 * st.transfer))
            .unwrap_or_default();
        let counts_fully = cfg.quality.unknown_rob_max == crate::model::Rating::Effective;
        let _ = writeln!(
            s,
            "  study {}: {}, risk of bias {}; {}{borrowed}",
            st.study,
            st.best_design.map_or("design unknown", |d| d.key()),
            st.best_rob.map_or("not assessed", |r| r.key()),
            words::appraisal(st.appraisal, counts_fully)
        );
        for d in &st.domains {
            let effect = match d.composites.as_slice() {
                [] => "rated by reviewers".to_string(),
                cs => cs
                    .iter()
                    .map(|c| {
                        let (lo, hi) = c.ci();
                        format!("{} {:.3} [{:.3}, {:.3}] in the benefit direction", c.measure.name(), c.yi, lo, hi)
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let _ = writeln!(
                s,
                "    {}: {} (from {}{}: {effect}), weight {:.3}{}",
                d.domain.label(),
                d.standing(&cfg.effects.delta, 1.0).label(),
                words::count(d.n_findings, "finding", "findings"),
                if d.primary { ", primary" } else { ", none flagged primary" },
                d.weight,
                if d.explicit_harm { ", marked harmful" } else { "" },
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

//! Ranking for programme designers: "what works for this group in this
//! setting?" The verdicts are `score`'s (local first, the borrowed verdict
//! beside it; docs/scoring.md section 5), so the two always agree; cells
//! the setting lacks get a verdict from borrowed evidence.

use super::{score_facts_with, CellResult, FactSet, Fill, GroupKey, ScoreOptions, ScoringConfig, MODEL_VERSION};
use crate::model::{did_you_mean, EvaluationRecord, IncomeSetting, Strategy, TargetGroup};
use serde::Serialize;
use std::collections::BTreeSet;

/// What to rank.
#[derive(Debug, Clone)]
pub struct RankQuery {
    pub target_group: TargetGroup,
    pub income_setting: IncomeSetting,
    pub strategy: Option<Strategy>,
    pub top: Option<usize>,
}

/// One ranked intervention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedRow {
    pub rank: usize,
    pub intervention: String,
    pub cell: CellResult,
}

/// The order rows are ranked in (said in every output).
pub const RANK_ORDER: &str =
    "interventions without credible harm first, then by category, certainty and score (higher first), then by number of studies";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankResult {
    pub model_version: &'static str,
    pub config_hash: String,
    pub reference_year: i32,
    pub target_group: String,
    pub income_setting: IncomeSetting,
    pub strategy: Option<Strategy>,
    pub rows: Vec<RankedRow>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RankError {
    #[error("target group '{value}' is not in the data{hint}; target groups present: {present}")]
    UnknownTargetGroup { value: String, hint: String, present: String },
}

/// Rank the interventions evaluated for the query's target group.
///
/// # Errors
/// [`RankError::UnknownTargetGroup`] listing the groups present.
pub fn rank(records: &[EvaluationRecord], q: &RankQuery, cfg: &ScoringConfig) -> Result<RankResult, RankError> {
    let present: BTreeSet<String> = records.iter().map(|r| r.target_group.display().to_string()).collect();
    if !records.iter().any(|r| r.target_group == q.target_group) {
        let list: Vec<&str> = present.iter().map(|s| s.as_str()).collect();
        let hint = did_you_mean(q.target_group.display(), &list)
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default();
        return Err(RankError::UnknownTargetGroup {
            value: q.target_group.display().into(),
            hint,
            present: list.join(", "),
        });
    }
    // The reference year of the whole table, as `score` uses.
    let ref_year = super::reference_year(records, cfg);
    let group: Vec<EvaluationRecord> = records.iter().filter(|r| r.target_group == q.target_group).cloned().collect();
    let tg_display = group.first().map(|r| r.target_group.display().to_string()).unwrap_or_default();
    let fs = FactSet::from_records(&group, &GroupKey::DEFAULT, cfg);
    let opts = ScoreOptions { keep_studies: true, fill: Fill::One(q.income_setting), reference_year: Some(ref_year) };
    let res = score_facts_with(&fs, &GroupKey::DEFAULT, cfg, &opts);
    Ok(rank_cells(res.cells, q, tg_display, ref_year, cfg))
}

/// The ranking of already scored cells (keys intervention, target group,
/// income setting; filled for the query's setting): the cells of the
/// query's setting (and strategy), in [`RANK_ORDER`]. `rank` and the
/// portal's view model (which scores every setting in one pass) both
/// rank with it. The cells must be of the query's target group.
pub fn rank_cells(
    cells: impl IntoIterator<Item = CellResult>,
    q: &RankQuery,
    target_group: String,
    reference_year: i32,
    cfg: &ScoringConfig,
) -> RankResult {
    let mut rows: Vec<RankedRow> = cells
        .into_iter()
        .filter(|c| c.get("income_setting") == Some(q.income_setting.key()))
        .filter(|c| q.strategy.is_none() || c.strategy == q.strategy)
        .map(|cell| RankedRow { rank: 0, intervention: cell.get("intervention").unwrap_or_default().to_string(), cell })
        .collect();
    rows.sort_by(|a, b| {
        let (x, y) = (&a.cell, &b.cell);
        x.harm_flag
            .cmp(&y.harm_flag)
            .then(x.category.cmp(&y.category))
            .then(y.certainty.cmp(&x.certainty))
            .then(y.score.total_cmp(&x.score))
            .then((y.n_studies + y.n_borrowed_studies).cmp(&(x.n_studies + x.n_borrowed_studies)))
            .then(a.intervention.cmp(&b.intervention))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    if let Some(n) = q.top {
        rows.truncate(n);
    }
    RankResult {
        model_version: MODEL_VERSION,
        config_hash: cfg.hash(),
        reference_year,
        target_group,
        income_setting: q.income_setting,
        strategy: q.strategy,
        rows,
    }
}

//! Ranking for programme designers: "what works for this group in this
//! setting?", with evidence borrowed from other income settings where the
//! target setting has too little of its own.

use super::{aggregate, evaluate, reference_year, CellResult, GroupKey, ScoringConfig, StudyView, MODEL_VERSION};
use crate::model::{did_you_mean, EvaluationRecord, IncomeSetting, Strategy, TargetGroup};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Category rule, studies and certainty in one sentence.
    pub why: String,
}

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
    let ref_year = reference_year(records, cfg);
    let group: Vec<EvaluationRecord> = records.iter().filter(|r| r.target_group == q.target_group).cloned().collect();
    let agg = aggregate(&group, &GroupKey::DEFAULT, cfg, ref_year);
    let tg_display = group.first().map(|r| r.target_group.display().to_string()).unwrap_or_default();

    // intervention -> setting -> studies
    let mut by_int: BTreeMap<String, BTreeMap<IncomeSetting, Vec<StudyView>>> = BTreeMap::new();
    for (key, studies) in agg.cells {
        let setting = IncomeSetting::parse(&key[2]).expect("income key is canonical");
        let views = studies.into_iter().filter_map(|(s, a)| StudyView::new(s, a, 1.0, None)).collect();
        by_int.entry(key[0].clone()).or_default().insert(setting, views);
    }
    let mut rows: Vec<RankedRow> = Vec::new();
    for (intervention, settings) in by_int {
        let mut studies: Vec<StudyView> = settings.get(&q.income_setting).cloned().unwrap_or_default();
        if (studies.len() as u32) < cfg.borrowing.min_local_studies {
            for (from, other) in &settings {
                if *from == q.income_setting {
                    continue;
                }
                let f = cfg.borrowing.factor(*from, q.income_setting);
                if f <= 0.0 {
                    continue;
                }
                for s in other {
                    let mut b = s.clone();
                    b.study = format!("{}/{}", from.key(), s.study);
                    b.weight *= f;
                    b.borrowed_from = Some(*from);
                    studies.push(b);
                }
            }
        }
        if studies.is_empty() {
            continue;
        }
        let key = vec![
            ("intervention".to_string(), intervention.clone()),
            ("target_group".to_string(), tg_display.clone()),
            ("income_setting".to_string(), q.income_setting.key().to_string()),
        ];
        let cell = evaluate(key, studies, cfg);
        if q.strategy.is_some() && cell.strategy != q.strategy {
            continue;
        }
        let why = explain_line(&cell);
        rows.push(RankedRow { rank: 0, intervention, cell, why });
    }
    rows.sort_by(|a, b| {
        a.cell
            .harm_flag
            .cmp(&b.cell.harm_flag)
            .then(a.cell.category.cmp(&b.cell.category))
            .then(b.cell.score_low.total_cmp(&a.cell.score_low))
            .then(b.cell.n_studies.cmp(&a.cell.n_studies))
            .then(a.intervention.cmp(&b.intervention))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    if let Some(n) = q.top {
        rows.truncate(n);
    }
    Ok(RankResult {
        model_version: MODEL_VERSION,
        config_hash: cfg.hash(),
        reference_year: ref_year,
        target_group: tg_display,
        income_setting: q.income_setting,
        strategy: q.strategy,
        rows,
    })
}

/// One sentence: why this cell sits where it does.
pub fn explain_line(c: &CellResult) -> String {
    let local = c.n_studies - c.n_borrowed_studies;
    let mut s = format!("{}; {local} local stud{}", c.category_rule, if local == 1 { "y" } else { "ies" });
    if c.n_borrowed_studies > 0 {
        let from: Vec<&str> = c.borrowed_from.iter().map(|b| b.key()).collect();
        s.push_str(&format!(" + {} borrowed from {}", c.n_borrowed_studies, from.join(", ")));
    }
    s.push_str(&format!("; certainty {}", c.certainty));
    if !c.downgrades.is_empty() {
        let short: Vec<&str> = c.downgrades.iter().map(|d| d.split(':').next().unwrap_or(d)).collect();
        s.push_str(&format!(" (down for {})", short.join(", ")));
    }
    if c.harm_flag {
        s.push_str("; HARM");
    }
    if c.disagreement {
        if let Some(r) = c.consensus_rating {
            s.push_str(&format!("; reviewers' consensus: {r}"));
        }
    }
    s
}

//! A whole meta-analysis from effect rows: effect sizes, exclusions with
//! reasons, within-study aggregation or cluster-robust inference,
//! subgroups, small-study test and leave-one-out. Plain data out; rendering
//! is in `report::meta`.

use super::effect::{compute_effect, Measure};
use super::extra::{aggregate_within_studies, egger, leave_one_out, robust_cr1, robust_cr2, subgroup_test, Vcov};
use super::{Egger, FitOptions, LeaveOneOut, MetaFit, Robust, SubgroupTest};
use crate::model::{normalise_header, EffectRow};
use crate::stats::Stat;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Default assumed correlation between effect sizes of one study.
pub const DEFAULT_RHO: f64 = 0.5;

/// Options for [`run_meta`].
#[derive(Debug, Clone)]
pub struct MetaOptions {
    pub measure: Option<Measure>,
    pub fit: FitOptions,
    pub by: Vec<String>,
    pub cluster: Option<String>,
    /// The cluster-robust variance with `cluster`.
    pub vcov: Vcov,
    /// Merge rows that share a study label into one composite per study
    /// (otherwise every row is its own unit, as in metafor).
    pub combine_within_study: bool,
    /// Within-study correlation for composites.
    pub rho: f64,
    pub leave_one_out: bool,
}

impl Default for MetaOptions {
    fn default() -> Self {
        MetaOptions {
            measure: None,
            fit: FitOptions::default(),
            by: Vec::new(),
            cluster: None,
            vcov: Vcov::CR1,
            combine_within_study: false,
            rho: DEFAULT_RHO,
            leave_one_out: false,
        }
    }
}

/// A row that could not contribute, with the reason (never silently dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub file: u32,
    pub line: u64,
    pub study: String,
    pub reason: String,
}

/// One pooled unit (a study, or a record under `--cluster`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyEffect {
    pub study: String,
    pub yi: f64,
    pub vi: f64,
    /// Records combined into this unit.
    pub records: usize,
    /// Model weight in percent.
    pub weight: f64,
    pub cluster: Option<String>,
}

/// The analysis of one subgroup (or of everything).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    /// `(column, value)` pairs; empty for the overall analysis.
    pub group: Vec<(String, String)>,
    pub records: usize,
    /// Records merged into within-study composites (0 when none).
    pub records_combined: usize,
    pub studies: Vec<StudyEffect>,
    pub fit: Option<MetaFit>,
    /// Why there is no fit.
    pub error: Option<String>,
    /// Egger's test (`None` below 3 studies, where it is not attempted).
    pub egger: Option<Stat<Egger>>,
    /// Cluster-robust inference (`None` without `--cluster`).
    pub robust: Option<Stat<Robust>>,
    pub leave_one_out: Vec<LeaveOneOut>,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetaReport {
    pub measure: Measure,
    pub overall: GroupResult,
    pub subgroups: Vec<GroupResult>,
    pub subgroup_test: Option<Stat<SubgroupTest>>,
    pub excluded: Vec<Excluded>,
    /// Things worth a look (e.g. rows that share a study label but are
    /// pooled as separate studies).
    pub warnings: Vec<String>,
}

/// Problems that stop the analysis as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetaRunError {
    #[error("the rows use different effect measures ({0}); pool one measure at a time (filter the rows, or choose one with --measure)")]
    MixedMeasures(String),
    #[error("no row has a usable effect size ({0} rows excluded; the first reason: {1})")]
    NoEffects(usize, String),
    #[error("column '{0}' is not in the input; columns present: {1}")]
    UnknownColumn(String, String),
    #[error("2x2 counts need a measure: use --measure RR, OR or RD")]
    CountsNeedMeasure,
}

fn column_value(row: &EffectRow, col: &str) -> Option<String> {
    let c = normalise_header(col);
    if c == "study_id" {
        return row.study_id.clone();
    }
    row.fields.get(&c).filter(|v| !v.is_empty()).cloned()
}

/// Run the analysis.
///
/// # Errors
/// [`MetaRunError`] for mixed measures, no usable rows or unknown columns.
pub fn run_meta(rows: &[EffectRow], opts: &MetaOptions) -> Result<MetaReport, MetaRunError> {
    for col in opts.by.iter().chain(opts.cluster.iter()) {
        let c = normalise_header(col);
        let known = c == "study_id" || rows.first().is_some_and(|r| r.fields.contains_key(&c));
        if !known {
            let present: Vec<String> = rows.first().map(|r| r.fields.keys().cloned().collect()).unwrap_or_default();
            return Err(MetaRunError::UnknownColumn(col.clone(), present.join(", ")));
        }
    }
    let mut measure = opts.measure;
    let declared: BTreeSet<String> = rows.iter().filter_map(|r| r.effect.measure.clone()).collect();
    if let Some(m) = measure {
        let other: Vec<&String> = declared.iter().filter(|d| Measure::parse(d) != Some(m)).collect();
        if !other.is_empty() {
            let mut all: BTreeSet<String> = declared.clone();
            all.insert(m.name().to_string());
            return Err(MetaRunError::MixedMeasures(all.into_iter().collect::<Vec<_>>().join(", ")));
        }
    }
    if measure.is_none() {
        if declared.len() > 1 {
            return Err(MetaRunError::MixedMeasures(declared.into_iter().collect::<Vec<_>>().join(", ")));
        }
        let needs =
            rows.iter().any(|r| r.effect.effect_size.is_none() && r.effect.yi.is_none() && r.effect.events_t.is_some());
        if needs && declared.is_empty() {
            return Err(MetaRunError::CountsNeedMeasure);
        }
    }
    let mut usable: Vec<(&EffectRow, f64, f64)> = Vec::new();
    let mut excluded = Vec::new();
    let mut found: BTreeSet<Measure> = BTreeSet::new();
    for r in rows {
        match compute_effect(&r.effect, measure) {
            Ok(e) => {
                found.insert(e.measure);
                usable.push((r, e.yi, e.vi));
            }
            Err(e) => excluded.push(Excluded {
                file: r.provenance.file,
                line: r.provenance.line,
                study: r.label.clone(),
                reason: e.0,
            }),
        }
    }
    if found.len() > 1 {
        return Err(MetaRunError::MixedMeasures(found.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")));
    }
    let Some(&m) = found.iter().next() else {
        let first = excluded.first().map(|e| e.reason.clone()).unwrap_or_default();
        return Err(MetaRunError::NoEffects(excluded.len(), first));
    };
    measure = Some(m);

    let overall = analyse(&usable, opts, Vec::new());
    let mut subgroups = Vec::new();
    if !opts.by.is_empty() {
        let mut groups: BTreeMap<Vec<String>, Vec<(&EffectRow, f64, f64)>> = BTreeMap::new();
        for u in &usable {
            let key: Vec<String> =
                opts.by.iter().map(|c| column_value(u.0, c).unwrap_or_else(|| "(missing)".into())).collect();
            groups.entry(key).or_default().push(*u);
        }
        for (key, members) in groups {
            let label = opts.by.iter().cloned().zip(key).collect();
            subgroups.push(analyse(&members, opts, label));
        }
    }
    let fits: Vec<&MetaFit> = subgroups.iter().filter_map(|g| g.fit.as_ref()).collect();
    let subgroup_test = if fits.len() == subgroups.len() { subgroup_test(&fits) } else { None };
    let warnings =
        if opts.cluster.is_none() && !opts.combine_within_study { repeated_labels(&usable) } else { Vec::new() };
    Ok(MetaReport { measure: measure.unwrap_or(Measure::GEN), overall, subgroups, subgroup_test, excluded, warnings })
}

/// Study labels that several rows share while each row is pooled as its
/// own study: one warning per label, naming its column and rows.
fn repeated_labels(usable: &[(&EffectRow, f64, f64)]) -> Vec<String> {
    let mut by: BTreeMap<(&str, Option<&str>), Vec<u64>> = BTreeMap::new();
    for (r, _, _) in usable {
        by.entry((r.label.as_str(), r.label_column.as_deref())).or_default().push(r.provenance.line);
    }
    by.into_iter()
        .filter(|(_, lines)| lines.len() > 1)
        .map(|((label, col), lines)| {
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            format!(
                "{} '{}' repeats on lines {}; each row is pooled as its own study, as metafor does. If they are findings of one study, use --cluster {} for cluster-robust inference or --combine-within-study to merge them",
                col.map_or("label".to_string(), |c| format!("column '{c}': value")),
                crate::model::shown(label),
                lines.join(", "),
                col.unwrap_or("study_id")
            )
        })
        .collect()
}

fn analyse(members: &[(&EffectRow, f64, f64)], opts: &MetaOptions, group: Vec<(String, String)>) -> GroupResult {
    let records = members.len();
    let row_units = |cluster: Option<&String>| -> Vec<StudyEffect> {
        members
            .iter()
            .map(|(r, y, v)| StudyEffect {
                study: r.label.clone(),
                yi: *y,
                vi: *v,
                records: 1,
                weight: 0.0,
                cluster: cluster
                    .map(|col| column_value(r, col).unwrap_or_else(|| format!("row {}", r.provenance.line))),
            })
            .collect()
    };
    let (studies, combined): (Vec<StudyEffect>, usize) = match &opts.cluster {
        Some(col) => (row_units(Some(col)), 0),
        None if !opts.combine_within_study => (row_units(None), 0),
        None => {
            let labels: Vec<String> = members.iter().map(|(r, _, _)| r.label.clone()).collect();
            let y: Vec<f64> = members.iter().map(|m| m.1).collect();
            let v: Vec<f64> = members.iter().map(|m| m.2).collect();
            let comps = aggregate_within_studies(&labels, &y, &v, opts.rho);
            let combined = comps.iter().filter(|c| c.combined > 1).map(|c| c.combined).sum();
            (
                comps
                    .into_iter()
                    .map(|c| StudyEffect {
                        study: c.study,
                        yi: c.yi,
                        vi: c.vi,
                        records: c.combined,
                        weight: 0.0,
                        cluster: None,
                    })
                    .collect(),
                combined,
            )
        }
    };
    let y: Vec<f64> = studies.iter().map(|s| s.yi).collect();
    let v: Vec<f64> = studies.iter().map(|s| s.vi).collect();
    let mut res = GroupResult {
        group,
        records,
        records_combined: combined,
        studies,
        fit: None,
        error: None,
        egger: None,
        robust: None,
        leave_one_out: Vec::new(),
    };
    match super::fit(&y, &v, &opts.fit) {
        Ok(f) => {
            for (s, w) in res.studies.iter_mut().zip(&f.weights) {
                s.weight = *w;
            }
            res.egger = (y.len() >= 3).then(|| egger(&y, &v));
            if opts.cluster.is_some() {
                let cl: Vec<String> = res.studies.iter().map(|s| s.cluster.clone().unwrap_or_default()).collect();
                res.robust = Some(match opts.vcov {
                    Vcov::CR1 => robust_cr1(&y, &v, f.tau2, &cl, opts.fit.level),
                    Vcov::CR2 => robust_cr2(&y, &v, f.tau2, &cl, opts.fit.level),
                });
            }
            if opts.leave_one_out {
                match leave_one_out(&y, &v, &opts.fit) {
                    Ok(l) => res.leave_one_out = l,
                    Err(e) => res.error = Some(format!("leave-one-out: {e}")),
                }
            }
            res.fit = Some(f);
        }
        Err(e) => res.error = Some(e.to_string()),
    }
    res
}

//! The evidence portal's view model: everything `evidex serve` and
//! `evidex report` show, computed once from one read of the inputs.
//!
//! The URLs every page links to, the element ids the browser test uses and
//! the rules the pages follow (no inline script or style, so the portal's
//! `default-src 'self'` policy holds) are in docs/portal.md.
//! - [`Site::build`] reads nothing: it takes ingested records and a
//!   configuration, scores once, and returns immutable plain data. The
//!   server holds it behind an `Arc` and swaps it on `--watch`.
//! - [`Site::rank`] gives exactly what `evidex rank` gives for the same
//!   query (`report::score::rank_json_rows` of it, wrapped as the CLI
//!   wraps it, is the API's JSON byte for byte).
//! - [`Site::score`] is exactly `evidex score`'s result (default keys).
//! - [`pages::render`] turns a [`Page`] into a complete HTML document;
//!   [`pages::static_report`] is the self-contained report file. Both are
//!   rendered from this view model only.
//! - [`Query`] is parsed from URL query pairs with errors in words.

use crate::ingest::Ingested;
use crate::meta::{run_meta, MetaOptions, MetaReport};
use crate::model::{EffectRow, EvaluationRecord, IncomeSetting, OutcomeDomain, Strategy, TargetGroup};
use crate::report::gapmap::{self, GapMap, GapMapOptions, Level};
use crate::score::rank::{rank_cells, RankError, RankQuery, RankResult};
use crate::score::{
    reference_year, score_facts_with, CellResult, FactSet, Fill, GroupKey, ScoreOptions, ScoreResult, ScoringConfig,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub mod pages;

/// Where the data came from (shown on /data and in the report footer).
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// When the inputs were read, as the server saw it (RFC 3339, UTC), or
    /// `None` for byte-identical static output.
    pub loaded_at: Option<String>,
    /// The last failed re-read under `--watch` (the state shown is older).
    pub reload_error: Option<String>,
}

/// One intervention in the data, with its URL slug.
#[derive(Debug, Clone, PartialEq)]
pub struct InterventionEntry {
    /// Lower-case ASCII letters, digits and '-', unique in the site.
    pub slug: String,
    pub name: String,
    pub strategy: Option<Strategy>,
}

/// The immutable, scored state of the portal and the report.
#[derive(Debug)]
pub struct Site {
    pub ing: Ingested,
    pub cfg: ScoringConfig,
    pub provenance: Provenance,
    /// `evidex score`'s result: one cell per intervention x target group x
    /// income setting with local studies (studies kept for explanations).
    pub score: ScoreResult,
    /// `evidex rank`'s result per (target group as displayed, setting),
    /// for every target group in the data and every income setting.
    ranks: BTreeMap<(String, IncomeSetting), RankResult>,
    pub interventions: Vec<InterventionEntry>,
    /// Target groups as displayed, in order.
    pub target_groups: Vec<String>,
    /// Indexes into `ing.records` per (intervention, target group as
    /// displayed, setting).
    records_by_cell: BTreeMap<(String, String, IncomeSetting), Vec<usize>>,
    /// The one scoring pass: `score`'s cells plus, for every setting a
    /// cell lacks, its verdict from borrowed evidence (what `rank` adds).
    filled: Vec<CellResult>,
    /// Strategy-level cells (a map of strategies groups studies of several
    /// interventions: a second pass, made the first time it is asked for).
    strategy_cells: OnceLock<Vec<CellResult>>,
}

/// What a visitor asked for; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub target_group: Option<String>,
    pub income_setting: Option<IncomeSetting>,
    pub strategy: Option<Strategy>,
    pub domain: Option<OutcomeDomain>,
    /// Rows of the gap map (`level=intervention|strategy`; default
    /// interventions).
    pub level: Option<Level>,
}

/// A query value that cannot be used, in words for the visitor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

impl Query {
    /// Parse URL query pairs (already percent-decoded). Empty values count
    /// as absent; unknown keys are ignored.
    ///
    /// # Errors
    /// The first unusable value, naming its field and what is allowed.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Query, QueryError> {
        let mut q = Query::default();
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k {
                "target_group" => q.target_group = Some(v.to_string()),
                "income_setting" => {
                    q.income_setting = Some(
                        IncomeSetting::parse(v)
                            .map_err(|e| QueryError { field: "income_setting", message: e.to_string() })?,
                    )
                }
                "strategy" => {
                    q.strategy =
                        Some(Strategy::parse(v).map_err(|e| QueryError { field: "strategy", message: e.to_string() })?)
                }
                "domain" => {
                    q.domain = Some(
                        OutcomeDomain::parse(v).map_err(|e| QueryError { field: "domain", message: e.to_string() })?,
                    )
                }
                "level" => {
                    q.level = Some(match v {
                        "intervention" | "interventions" => Level::Intervention,
                        "strategy" | "strategies" => Level::Strategy,
                        _ => {
                            return Err(QueryError {
                                field: "level",
                                message: format!("unknown value '{v}'; expected intervention or strategy"),
                            })
                        }
                    })
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

/// A page of the portal.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    /// `/`: the question form.
    Home(Query),
    /// `/find?...`: one row per intervention for the query.
    Find(Query),
    /// `/intervention/{slug}`.
    Intervention(String),
    /// `/compare?ids=a,b&...`: two to four interventions side by side.
    Compare { slugs: Vec<String>, query: Query },
    /// `/gap-map?...`.
    GapMap(Query),
    /// `/method`.
    Method,
    /// `/data`.
    Data,
}

/// Why a page cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    BadQuery(String),
}

/// A URL slug: lower-case ASCII letters and digits, other runs as '-'.
pub fn slug_of(name: &str) -> String {
    let mut s = String::new();
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            s.push(ch);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        s.push_str("intervention");
    }
    s
}

impl Site {
    /// Score the ingested records once into the portal's state: one pass
    /// over every intervention x target group x income setting, each cell
    /// a setting lacks filled from borrowed evidence; `score` is the local
    /// cells, each `rank` the cells of one group and setting in rank order.
    pub fn build(ing: Ingested, cfg: ScoringConfig, provenance: Provenance) -> Site {
        let ref_year = reference_year(&ing.records, &cfg);
        let keys = GroupKey::DEFAULT;
        let fs = FactSet::from_records(&ing.records, &keys, &cfg);
        let opts = ScoreOptions { keep_studies: true, fill: Fill::All, reference_year: Some(ref_year) };
        let all = score_facts_with(&fs, &keys, &cfg, &opts);
        drop(fs);

        let mut records_by_cell: BTreeMap<(String, String, IncomeSetting), Vec<usize>> = BTreeMap::new();
        // First display of each target group (as `rank` names it).
        let mut displays: Vec<(TargetGroup, String)> = Vec::new();
        for (i, r) in ing.records.iter().enumerate() {
            let tg = r.target_group.display().to_string();
            records_by_cell.entry((r.intervention.clone(), tg.clone(), r.income_setting)).or_default().push(i);
            if !displays.iter().any(|(g, _)| *g == r.target_group) {
                displays.push((r.target_group.clone(), tg));
            }
        }
        let is_local = |c: &CellResult| {
            let setting = c.get("income_setting").and_then(|s| IncomeSetting::parse(s).ok());
            match (c.get("intervention"), c.get("target_group"), setting) {
                (Some(i), Some(g), Some(s)) => records_by_cell.contains_key(&(i.to_string(), g.to_string(), s)),
                _ => false,
            }
        };
        let score = ScoreResult {
            model_version: all.model_version,
            config_hash: all.config_hash.clone(),
            reference_year: all.reference_year,
            keys: all.keys.clone(),
            cells: all.cells.iter().filter(|c| is_local(c)).cloned().collect(),
        };

        let mut target_groups: Vec<String> = records_by_cell.keys().map(|(_, g, _)| g.clone()).collect();
        target_groups.sort();
        target_groups.dedup();
        let mut ranks = BTreeMap::new();
        for g in &target_groups {
            let Some(tg) = TargetGroup::new(g) else { continue };
            let Some((_, shown)) = displays.iter().find(|(x, _)| *x == tg) else { continue };
            let of_group: Vec<&CellResult> = all
                .cells
                .iter()
                .filter(|c| c.get("target_group").and_then(TargetGroup::new).as_ref() == Some(&tg))
                .collect();
            for s in IncomeSetting::ALL {
                let q = RankQuery { target_group: tg.clone(), income_setting: s, strategy: None, top: None };
                let cells = of_group.iter().map(|c| (*c).clone());
                ranks.insert((g.clone(), s), rank_cells(cells, &q, shown.clone(), ref_year, &cfg));
            }
        }

        let mut names: BTreeMap<String, Option<Strategy>> = BTreeMap::new();
        for r in &ing.records {
            names.entry(r.intervention.clone()).or_insert(r.strategy);
        }
        let mut interventions = Vec::new();
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        for (name, strategy) in names {
            let base = slug_of(&name);
            let n = used.entry(base.clone()).or_insert(0);
            *n += 1;
            let slug = if *n == 1 { base } else { format!("{base}-{n}") };
            interventions.push(InterventionEntry { slug, name, strategy });
        }
        Site {
            ing,
            cfg,
            provenance,
            score,
            ranks,
            interventions,
            target_groups,
            records_by_cell,
            filled: all.cells,
            strategy_cells: OnceLock::new(),
        }
    }

    /// `evidex rank`'s result for a target group (as written in the data or
    /// any spelling `TargetGroup::new` accepts), setting and strategy.
    ///
    /// # Errors
    /// The target group is not in the data (listing the groups present).
    pub fn rank(
        &self,
        target_group: &str,
        income_setting: IncomeSetting,
        strategy: Option<Strategy>,
    ) -> Result<RankResult, RankError> {
        let tg = TargetGroup::new(target_group);
        let hit = tg.as_ref().and_then(|tg| {
            self.ranks.iter().find(|((g, s), _)| *s == income_setting && TargetGroup::new(g).as_ref() == Some(tg))
        });
        let Some((_, r)) = hit else {
            // Not present: let the CLI's function produce its message.
            let q = RankQuery {
                target_group: tg.unwrap_or_else(|| TargetGroup::new("?").expect("non-empty")),
                income_setting,
                strategy,
                top: None,
            };
            return crate::score::rank::rank(&self.ing.records, &q, &self.cfg);
        };
        let mut r = r.clone();
        if let Some(st) = strategy {
            r.strategy = Some(st);
            r.rows.retain(|row| row.cell.strategy == Some(st));
            for (i, row) in r.rows.iter_mut().enumerate() {
                row.rank = i + 1;
            }
        }
        Ok(r)
    }

    /// The intervention with this slug.
    pub fn intervention(&self, slug: &str) -> Option<&InterventionEntry> {
        self.interventions.iter().find(|i| i.slug == slug)
    }

    /// The error for an intervention slug that is not in the data, with the
    /// closest slug (a typo) or the slugs sharing a word with it.
    pub fn unknown_intervention(&self, slug: &str) -> PageError {
        let slugs: Vec<&str> = self.interventions.iter().map(|i| i.slug.as_str()).collect();
        let near: Vec<&str> = match crate::model::did_you_mean(slug, &slugs) {
            Some(best) => slugs.iter().copied().filter(|s| *s == best).collect(),
            None => {
                let words: Vec<&str> = slug.split('-').filter(|w| w.len() >= 4).collect();
                slugs.iter().copied().filter(|s| s.split('-').any(|w| words.contains(&w))).take(3).collect()
            }
        };
        let hint = if near.is_empty() {
            format!("the data has {} interventions, listed on the ranked lists and the gap map", slugs.len())
        } else {
            format!("did you mean {}?", near.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))
        };
        PageError::NotFound(format!("intervention '{slug}' is not in the data; {hint}"))
    }

    /// The error for a target group that is not in the data, with the
    /// closest one present (as `evidex rank` words it).
    pub fn unknown_target_group(&self, g: &str) -> PageError {
        let present: Vec<&str> = self.target_groups.iter().map(String::as_str).collect();
        let hint =
            crate::model::did_you_mean(g, &present).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
        PageError::BadQuery(format!(
            "target group '{g}' is not in the data{hint}; target groups present: {}",
            present.join(", ")
        ))
    }

    /// A target group as the data displays it, for any accepted spelling.
    pub fn target_group_shown(&self, target_group: &str) -> Option<&str> {
        let want = TargetGroup::new(target_group)?;
        self.target_groups.iter().find(|g| TargetGroup::new(g).as_ref() == Some(&want)).map(String::as_str)
    }

    /// The slug of an intervention name.
    pub fn slug(&self, name: &str) -> Option<&str> {
        self.interventions.iter().find(|i| i.name == name).map(|i| i.slug.as_str())
    }

    /// The cells of `score` for an intervention, by target group and setting.
    pub fn cells_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a CellResult> + 'a {
        self.score.cells.iter().filter(move |c| c.get("intervention") == Some(name))
    }

    /// The cell of `score` or, for a setting without local studies, the
    /// verdict from borrowed evidence that `rank` gives.
    pub fn cell(&self, name: &str, target_group: &str, setting: IncomeSetting) -> Option<&CellResult> {
        self.filled.iter().find(|c| {
            c.get("intervention") == Some(name)
                && c.get("target_group") == Some(target_group)
                && c.get("income_setting") == Some(setting.key())
        })
    }

    /// The records of one cell, in input order.
    pub fn records_of(&self, name: &str, target_group: &str, setting: IncomeSetting) -> Vec<&EvaluationRecord> {
        let key = (name.to_string(), target_group.to_string(), setting);
        self.records_by_cell.get(&key).map_or_else(Vec::new, |ix| ix.iter().map(|&i| &self.ing.records[i]).collect())
    }

    /// The meta-analysis behind a forest plot of one cell and domain: its
    /// local findings with a usable effect size, one row per study (as
    /// `evidex meta` with the scoring configuration's rho; one study is
    /// shown on its own). `None` without effect sizes or a fit.
    pub fn forest(
        &self,
        name: &str,
        target_group: &str,
        setting: IncomeSetting,
        domain: OutcomeDomain,
    ) -> Option<MetaReport> {
        let rows: Vec<EffectRow> = self
            .records_of(name, target_group, setting)
            .into_iter()
            .filter(|r| r.outcome_domain == domain && r.effect().is_usable())
            .map(|r| EffectRow {
                label: r.study_key().to_string(),
                label_column: None,
                study_id: r.study_id.clone(),
                effect: r.effect().clone(),
                design: r.design,
                fields: BTreeMap::new(),
                provenance: r.provenance,
            })
            .collect();
        if rows.is_empty() {
            return None;
        }
        let opts = MetaOptions { rho: self.cfg.effects.rho, ..MetaOptions::default() };
        run_meta(&rows, &opts).ok().filter(|m| m.overall.fit.is_some())
    }

    /// The gap map for a query (target group, setting, strategy and domain
    /// filters) from the one scoring pass (strategy level: the strategy
    /// pass).
    pub fn gap_map(&self, q: &Query) -> (GapMap, GapMapOptions) {
        let level = q.level.unwrap_or(Level::Intervention);
        let opts = GapMapOptions {
            level,
            income_setting: q.income_setting,
            domain: q.domain,
            title: None,
            data_note: self.data_note(),
        };
        let cells: &[CellResult] = match level {
            Level::Intervention => &self.filled,
            Level::Strategy => self.strategy_cells.get_or_init(|| {
                let keys = [GroupKey::Strategy, GroupKey::TargetGroup, GroupKey::IncomeSetting];
                let fs = FactSet::from_records(&self.ing.records, &keys, &self.cfg);
                let opts = ScoreOptions {
                    keep_studies: false,
                    fill: Fill::All,
                    reference_year: Some(self.score.reference_year),
                };
                score_facts_with(&fs, &keys, &self.cfg, &opts).cells
            }),
        };
        let tg = q.target_group.as_deref().and_then(TargetGroup::new);
        let keep = |r: &&EvaluationRecord| {
            tg.as_ref().is_none_or(|g| r.target_group == *g) && q.strategy.is_none_or(|s| r.strategy == Some(s))
        };
        let records: Vec<&EvaluationRecord> = self.ing.records.iter().filter(keep).collect();
        let mut map = if tg.is_none() && q.strategy.is_none() {
            gapmap::from_cells(cells, &records, &opts)
        } else {
            let rows: BTreeSet<&str> = records.iter().map(|r| gapmap::row_key(level).value_ref(r)).collect();
            let cells = cells.iter().filter(|c| {
                rows.contains(c.key[0].1.as_str())
                    && tg.as_ref().is_none_or(|g| TargetGroup::new(&c.key[1].1).as_ref() == Some(g))
            });
            gapmap::from_cells(cells, &records, &opts)
        };
        map.groups.retain(|(_, rows)| !rows.is_empty());
        (map, opts)
    }

    /// The data in one line: files with the start of their hashes, records
    /// accepted and rejected (footer of pictures and pages).
    pub fn data_note(&self) -> String {
        let files: Vec<String> = self
            .ing
            .files
            .iter()
            .map(|f| format!("{} (sha256 {})", f.path, &f.sha256[..12.min(f.sha256.len())]))
            .collect();
        format!(
            "data: {}; {} records accepted, {} rejected",
            files.join(", "),
            self.ing.accepted(),
            self.ing.rejected_count()
        )
    }
}

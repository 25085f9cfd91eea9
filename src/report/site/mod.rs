//! The evidence portal's view model: everything `evidex serve` and
//! `evidex report` show, computed once from one read of the inputs.
//!
//! CONTRACT between the two halves of issue 21 (kept stable while they are
//! built in parallel). READ `src/report/site/CONTRACT.md` FIRST: the URLs
//! every page links to, the element ids/classes the browser test uses, and
//! the CSP rules (no inline script/style) the pages must follow.
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
use crate::model::{IncomeSetting, OutcomeDomain, Strategy, TargetGroup};
use crate::score::rank::{RankError, RankQuery, RankResult};
use crate::score::{GroupKey, ScoreResult, ScoringConfig};
use std::collections::BTreeMap;

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
}

/// What a visitor asked for; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub target_group: Option<String>,
    pub income_setting: Option<IncomeSetting>,
    pub strategy: Option<Strategy>,
    pub domain: Option<OutcomeDomain>,
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
    /// Score the ingested records once into the portal's state.
    pub fn build(ing: Ingested, cfg: ScoringConfig, provenance: Provenance) -> Site {
        let score = crate::score::score_records(&ing.records, &GroupKey::DEFAULT, &cfg);
        let mut target_groups: Vec<String> = ing.records.iter().map(|r| r.target_group.display().to_string()).collect();
        target_groups.sort();
        target_groups.dedup();
        let mut ranks = BTreeMap::new();
        for g in &target_groups {
            let Some(tg) = TargetGroup::new(g) else { continue };
            for s in IncomeSetting::ALL {
                let q = RankQuery { target_group: tg.clone(), income_setting: s, strategy: None, top: None };
                if let Ok(r) = crate::score::rank::rank(&ing.records, &q, &cfg) {
                    ranks.insert((g.clone(), s), r);
                }
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
        Site { ing, cfg, provenance, score, ranks, interventions, target_groups }
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
}

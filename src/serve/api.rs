//! The JSON and CSV API (`/api/v1/...`) and its OpenAPI document, generated
//! from the handlers' `#[utoipa::path]` attributes. Verdicts are the bytes
//! `evidex rank` / `evidex score` write (`report::document`), so a script
//! may switch between the command line and the server.

use super::routes::{typed, AppState, Params};
use super::state::Snapshot;
use crate::model::TargetGroup;
use crate::report::document;
use crate::report::site::{PageError, Query, Site};
use crate::report::table::{Table, Value};
use crate::score::ScoreResult;
use axum::extract::{Path, RawQuery, State as Ext};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use utoipa::OpenApi;

const JSON: &str = "application/json";
const CSV: &str = "text/csv; charset=utf-8";

/// The API's routes (the router adds state and security).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verdicts", get(verdicts))
        .route("/api/v1/verdicts.csv", get(verdicts_csv))
        .route("/api/v1/interventions/{file}", get(intervention))
        .route("/api/v1/gap-map", get(gap_map))
        .route("/api/v1/gap-map.csv", get(gap_map_csv))
        .route("/api/v1/studies", get(studies))
        .route("/api/v1/studies.csv", get(studies_csv))
        .route("/api/v1/openapi.json", get(openapi))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "evidex portal API",
        description = "Verdicts, interventions, the evidence and gap map and the studies of the data `evidex serve` \
                       was started with. Read-only; every list also as CSV (`.csv`)."
    ),
    paths(verdicts, verdicts_csv, intervention, gap_map, gap_map_csv, studies, studies_csv, openapi)
)]
pub struct ApiDoc;

/// JSON error answer: `{"error": "..."}`.
fn error(status: StatusCode, message: &str) -> Response {
    let mut s = serde_json::to_string_pretty(&json!({ "error": message })).unwrap_or_default();
    s.push('\n');
    typed(status, JSON, s)
}

fn page_error(e: &PageError) -> Response {
    match e {
        PageError::NotFound(m) => error(StatusCode::NOT_FOUND, &format!("not found: {m}")),
        PageError::BadQuery(m) => error(StatusCode::BAD_REQUEST, m),
    }
}

/// Which document a list URL asks for (`.csv` or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// A document, or the JSON error.
fn answer(r: Result<String, PageError>, f: Format) -> Response {
    match r {
        Ok(doc) => typed(StatusCode::OK, if f == Format::Csv { CSV } else { JSON }, doc),
        Err(e) => page_error(&e),
    }
}

/// `score`'s result restricted to the cells `keep` accepts (the result
/// itself when it keeps every cell).
fn filtered(res: &ScoreResult, keep: impl Fn(&crate::score::CellResult) -> bool) -> std::borrow::Cow<'_, ScoreResult> {
    if res.cells.iter().all(&keep) {
        return std::borrow::Cow::Borrowed(res);
    }
    std::borrow::Cow::Owned(ScoreResult {
        model_version: res.model_version,
        config_hash: res.config_hash.clone(),
        reference_year: res.reference_year,
        keys: res.keys.clone(),
        cells: res.cells.iter().filter(|c| keep(c)).cloned().collect(),
    })
}

/// The value of key column `name` in a cell.
fn key_of<'a>(c: &'a crate::score::CellResult, name: &str) -> Option<&'a str> {
    c.key.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `score`'s document for the cells matching `q`.
fn score_document(snap: &Snapshot, q: &Query, intervention: Option<&str>, f: Format) -> String {
    let tg = q.target_group.as_deref().and_then(TargetGroup::new);
    let res = filtered(&snap.site.score, |c| {
        intervention.is_none_or(|i| key_of(c, "intervention") == Some(i))
            && tg.as_ref().is_none_or(|tg| key_of(c, "target_group").and_then(TargetGroup::new).as_ref() == Some(tg))
            && q.income_setting.is_none_or(|s| key_of(c, "income_setting") == Some(s.key()))
            && q.strategy.is_none_or(|s| c.strategy == Some(s))
    });
    match f {
        Format::Json => document::score_json_document(&res, &snap.score_run),
        Format::Csv => document::score_csv_document(&res),
    }
}

fn verdict_document(snap: &Snapshot, raw: Option<&str>, f: Format) -> Result<String, PageError> {
    let q = Params::parse(raw).query()?;
    match (q.target_group.as_deref(), q.income_setting) {
        (Some(tg), Some(setting)) => {
            let res = snap.site.rank(tg, setting, q.strategy).map_err(|e| PageError::BadQuery(e.to_string()))?;
            Ok(match f {
                Format::Json => document::rank_json_document(&res, &snap.rank_run),
                Format::Csv => document::rank_csv_document(&res),
            })
        }
        _ => Ok(score_document(snap, &q, None, f)),
    }
}

/// Verdicts: with a target group and an income setting, `evidex rank`'s
/// JSON for them (byte for byte); otherwise `evidex score`'s JSON, only the
/// cells matching what was given.
#[utoipa::path(
    get,
    path = "/api/v1/verdicts",
    params(
        ("target_group" = Option<String>, Query, description = "Target group (any spelling `rank` accepts)"),
        ("income_setting" = Option<String>, Query, description = "LIC, LMC, UMC or HIC (or an alias)"),
        ("strategy" = Option<String>, Query, description = "INSPIRE strategy"),
    ),
    responses(
        (status = 200, description = "`{\"run\": metadata, \"rows\": [...]}` as `evidex rank`/`score --format json`", content_type = "application/json"),
        (status = 400, description = "A value that cannot be used, in words", content_type = "application/json"),
    )
)]
pub async fn verdicts(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    answer(verdict_document(&st.snapshot(), q.as_deref(), Format::Json), Format::Json)
}

/// [`verdicts`] as CSV (`evidex rank`/`score --format csv`).
#[utoipa::path(
    get,
    path = "/api/v1/verdicts.csv",
    params(
        ("target_group" = Option<String>, Query, description = "Target group"),
        ("income_setting" = Option<String>, Query, description = "LIC, LMC, UMC or HIC"),
        ("strategy" = Option<String>, Query, description = "INSPIRE strategy"),
    ),
    responses(
        (status = 200, description = "CSV as `evidex rank`/`score --format csv`", content_type = "text/csv"),
        (status = 400, description = "A value that cannot be used", content_type = "application/json"),
    )
)]
pub async fn verdicts_csv(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    answer(verdict_document(&st.snapshot(), q.as_deref(), Format::Csv), Format::Csv)
}

/// One intervention's cells, as `evidex score` gives them; `SLUG.csv` for CSV.
#[utoipa::path(
    get,
    path = "/api/v1/interventions/{slug}",
    params(("slug" = String, Path, description = "The intervention's slug (as in /intervention/SLUG); SLUG.csv for CSV")),
    responses(
        (status = 200, description = "`evidex score`'s document for this intervention's cells", content_type = "application/json"),
        (status = 404, description = "No intervention with this slug", content_type = "application/json"),
    )
)]
pub async fn intervention(Ext(st): Ext<AppState>, Path(file): Path<String>) -> Response {
    let snap = st.snapshot();
    let (slug, f) = match file.strip_suffix(".csv") {
        Some(s) => (s, Format::Csv),
        None => (file.as_str(), Format::Json),
    };
    let r = snap
        .site
        .intervention(slug)
        .map(|i| score_document(&snap, &Query::default(), Some(&i.name), f))
        .ok_or_else(|| snap.site.unknown_intervention(slug));
    answer(r, f)
}

/// The gap map's bubbles as a table (`Site::gap_map`, as the page draws it).
fn gap_map_table(site: &Site, q: &Query) -> Table {
    let (map, _) = site.gap_map(q);
    let mut t = Table::new(&[
        "row",
        "strategy",
        "target_group",
        "income_setting",
        "category",
        "harm",
        "borrowed",
        "domain",
        "certainty",
        "score",
        "robustness",
        "n_studies",
    ]);
    for (strategy, rows) in &map.groups {
        for row in rows {
            for (col, head) in map.columns.iter().zip(&map.heads) {
                let Some(c) = map.cells.get(&(row.clone(), col.clone())) else { continue };
                t.rows.push(vec![
                    Value::Str(row.clone()),
                    Value::opt_str(strategy.map(|s| s.key())),
                    Value::Str(head.group.clone()),
                    Value::Str(head.setting.key().into()),
                    Value::Str(c.category.key().into()),
                    Value::Bool(c.harm),
                    Value::Bool(c.borrowed),
                    Value::Str(c.domain.key().into()),
                    Value::Str(c.certainty.key().into()),
                    Value::Num(c.score),
                    Value::opt_num(c.robustness),
                    Value::Int(c.n_studies as i64),
                ]);
            }
        }
    }
    t
}

fn gap_map_document(snap: &Snapshot, raw: Option<&str>, f: Format) -> Result<String, PageError> {
    let t = gap_map_table(&snap.site, &Params::parse(raw).query()?);
    Ok(match f {
        Format::Json => document::json_document(&snap.rank_run, t.to_json_rows()),
        Format::Csv => document::csv_document(&t),
    })
}

/// The evidence and gap map: one row per bubble (row x target group x
/// setting) with its verdict and the number of studies it rests on.
#[utoipa::path(
    get,
    path = "/api/v1/gap-map",
    params(
        ("income_setting" = Option<String>, Query, description = "One setting (borrowing where thin); default every setting"),
        ("domain" = Option<String>, Query, description = "An outcome domain's verdicts instead of the headline"),
        ("level" = Option<String>, Query, description = "intervention (default) or strategy"),
    ),
    responses(
        (status = 200, description = "`{\"run\": metadata, \"rows\": [...]}`", content_type = "application/json"),
        (status = 400, description = "A value that cannot be used", content_type = "application/json"),
    )
)]
pub async fn gap_map(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    answer(gap_map_document(&st.snapshot(), q.as_deref(), Format::Json), Format::Json)
}

/// [`gap_map`] as CSV.
#[utoipa::path(
    get,
    path = "/api/v1/gap-map.csv",
    params(
        ("income_setting" = Option<String>, Query, description = "One setting"),
        ("domain" = Option<String>, Query, description = "An outcome domain"),
        ("level" = Option<String>, Query, description = "intervention or strategy"),
    ),
    responses((status = 200, description = "CSV, one row per bubble", content_type = "text/csv"))
)]
pub async fn gap_map_csv(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    answer(gap_map_document(&st.snapshot(), q.as_deref(), Format::Csv), Format::Csv)
}

fn studies_document(snap: &Snapshot, raw: Option<&str>, f: Format) -> Result<String, PageError> {
    let p = Params::parse(raw);
    let q = p.query()?;
    let site = &snap.site;
    let name = match p.get("intervention") {
        Some(slug) => {
            Some(site.intervention(slug).map(|i| i.name.as_str()).ok_or_else(|| site.unknown_intervention(slug))?)
        }
        None => None,
    };
    let tg = q.target_group.as_deref().and_then(TargetGroup::new);
    let keep = |r: &crate::model::EvaluationRecord| {
        name.is_none_or(|n| r.intervention == n)
            && tg.as_ref().is_none_or(|tg| r.target_group.key() == tg.key())
            && q.income_setting.is_none_or(|s| r.income_setting == s)
            && q.strategy.is_none_or(|s| r.strategy == Some(s))
            && q.domain.is_none_or(|d| r.outcome_domain == d)
    };
    Ok(match f {
        Format::Json => {
            let rows = site.ing.records.iter().filter(|r| keep(r)).map(|r| serde_json::to_value(r).unwrap_or_default());
            document::json_document(&snap.rank_run, serde_json::Value::Array(rows.collect()))
        }
        Format::Csv => crate::report::validate::accepted_csv(&site.ing, keep),
    })
}

/// The evaluation records (studies' findings) behind the verdicts.
#[utoipa::path(
    get,
    path = "/api/v1/studies",
    params(
        ("intervention" = Option<String>, Query, description = "An intervention's slug"),
        ("target_group" = Option<String>, Query, description = "Target group"),
        ("income_setting" = Option<String>, Query, description = "LIC, LMC, UMC or HIC"),
        ("strategy" = Option<String>, Query, description = "INSPIRE strategy"),
        ("domain" = Option<String>, Query, description = "Outcome domain"),
    ),
    responses(
        (status = 200, description = "`{\"run\": metadata, \"rows\": [record, ...]}`", content_type = "application/json"),
        (status = 404, description = "No intervention with this slug", content_type = "application/json"),
    )
)]
pub async fn studies(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    answer(studies_document(&st.snapshot(), q.as_deref(), Format::Json), Format::Json)
}

/// [`studies`] as CSV: the columns of `evidex validate --accepted`.
#[utoipa::path(
    get,
    path = "/api/v1/studies.csv",
    params(
        ("intervention" = Option<String>, Query, description = "An intervention's slug"),
        ("target_group" = Option<String>, Query, description = "Target group"),
        ("income_setting" = Option<String>, Query, description = "LIC, LMC, UMC or HIC"),
    ),
    responses((status = 200, description = "CSV as `evidex validate --accepted` writes it", content_type = "text/csv"))
)]
pub async fn studies_csv(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    answer(studies_document(&st.snapshot(), q.as_deref(), Format::Csv), Format::Csv)
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API", content_type = "application/json"))
)]
pub async fn openapi() -> Response {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    typed(StatusCode::OK, JSON, s)
}

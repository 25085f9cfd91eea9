//! The portal's URLs (docs/portal.md): pages, images, the
//! report download and the static assets. Handlers take the current
//! snapshot, look things up in it and serialise; nothing here scores, and
//! no part of a URL ever names a file.

use super::api;
use super::security::{self, HostPolicy};
use super::state::{Snapshot, State};
use crate::model::OutcomeDomain;
use crate::report::site::{pages, Page, PageError, Query, Site};
use axum::extract::{Path, RawQuery, State as Ext};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub type AppState = Arc<State>;

/// The whole application: every route, the 404 page, the answer cache
/// and, in front of everything, the security middleware.
pub fn router(state: AppState, policy: HostPolicy) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/find", get(find))
        .route("/intervention/{slug}", get(intervention))
        .route("/compare", get(compare))
        .route("/gap-map", get(gap_map))
        .route("/method", get(method))
        .route("/data", get(data))
        .route("/gap-map.svg", get(gap_map_svg))
        .route("/gap-map.png", get(gap_map_png))
        .route("/forest/{file}", get(forest))
        .route("/report.html", get(report))
        .route("/static/evidex.css", get(css))
        .route("/static/evidex.js", get(js))
        .route("/favicon.ico", get(no_icon))
        .merge(api::routes())
        .fallback(not_found)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(state, super::cache::layer))
        .layer(axum::middleware::from_fn_with_state(Arc::new(policy), security::guard))
}

/// Percent-decoded query pairs, in order.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect())
    }

    /// The visitor's question (unknown keys ignored).
    pub fn query(&self) -> Result<Query, PageError> {
        Query::from_pairs(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| PageError::BadQuery(e.to_string()))
    }

    /// The last non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim())
    }

    /// Every value of `key`, comma-separated lists split.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }
}

/// A body with its content type.
pub fn typed(status: StatusCode, content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

pub const HTML: &str = "text/html; charset=utf-8";

/// A page, or the error page its error calls for.
fn page(site: &Site, p: Result<Page, PageError>) -> Response {
    match p.and_then(|p| pages::render(site, &p)) {
        Ok(html) => typed(StatusCode::OK, HTML, html),
        Err(e) => error_page(&e),
    }
}

/// 404 for something that is not there, 400 for a question that cannot be
/// answered, with the reason in words (the view's error page).
pub fn error_page(e: &PageError) -> Response {
    let status = match e {
        PageError::NotFound(_) => StatusCode::NOT_FOUND,
        PageError::BadQuery(_) => StatusCode::BAD_REQUEST,
    };
    typed(status, HTML, pages::error_page(e))
}

async fn home(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    let snap = st.snapshot();
    page(&snap.site, Params::parse(q.as_deref()).query().map(Page::Home))
}

async fn find(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    let snap = st.snapshot();
    page(&snap.site, Params::parse(q.as_deref()).query().map(Page::Find))
}

async fn intervention(Ext(st): Ext<AppState>, Path(slug): Path<String>) -> Response {
    let snap = st.snapshot();
    page(&snap.site, Ok(Page::Intervention(slug)))
}

async fn compare(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    let snap = st.snapshot();
    let p = Params::parse(q.as_deref());
    page(&snap.site, p.query().map(|query| Page::Compare { slugs: p.list("ids"), query }))
}

async fn gap_map(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    let snap = st.snapshot();
    page(&snap.site, Params::parse(q.as_deref()).query().map(Page::GapMap))
}

async fn method(Ext(st): Ext<AppState>) -> Response {
    page(&st.snapshot().site, Ok(Page::Method))
}

async fn data(Ext(st): Ext<AppState>) -> Response {
    page(&st.snapshot().site, Ok(Page::Data))
}

/// An image as SVG, or as PNG rendered from it.
fn image(svg: Result<String, PageError>, png: bool) -> Response {
    let svg = match svg {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    if !png {
        return typed(StatusCode::OK, "image/svg+xml", svg);
    }
    match crate::report::png::svg_to_png(&svg, 1.5) {
        Ok(bytes) => typed(StatusCode::OK, "image/png", bytes),
        Err(e) => typed(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", format!("PNG: {e}\n")),
    }
}

fn gap_map_image(snap: &Snapshot, q: Option<&str>, png: bool) -> Response {
    image(Params::parse(q).query().map(|query| pages::gap_map_svg(&snap.site, &query)), png)
}

async fn gap_map_svg(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    gap_map_image(&st.snapshot(), q.as_deref(), false)
}

async fn gap_map_png(Ext(st): Ext<AppState>, RawQuery(q): RawQuery) -> Response {
    gap_map_image(&st.snapshot(), q.as_deref(), true)
}

/// `/forest/SLUG.svg?target_group=&income_setting=&domain=` (or `.png`).
async fn forest(Ext(st): Ext<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Response {
    let snap = st.snapshot();
    let (slug, png) = match (file.strip_suffix(".svg"), file.strip_suffix(".png")) {
        (Some(s), _) => (s, false),
        (_, Some(s)) => (s, true),
        _ => return error_page(&PageError::NotFound(format!("'{file}': a forest plot is SLUG.svg or SLUG.png"))),
    };
    let p = Params::parse(q.as_deref());
    let svg = p.query().and_then(|query| {
        let (Some(tg), Some(setting)) = (query.target_group.as_deref(), query.income_setting) else {
            return Err(PageError::BadQuery("a forest plot needs target_group and income_setting".into()));
        };
        let domain = query.domain.unwrap_or(OutcomeDomain::Violence);
        pages::forest_svg(&snap.site, slug, tg, setting, domain)
            .ok_or_else(|| PageError::NotFound(format!("no pooled estimate for '{slug}' in this cell and domain")))
    });
    image(svg, png)
}

async fn report(Ext(st): Ext<AppState>) -> Response {
    let html = pages::static_report(&st.snapshot().site);
    let mut r = typed(StatusCode::OK, HTML, html);
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"evidex-report.html\""),
    );
    r
}

async fn css() -> Response {
    typed(StatusCode::OK, "text/css; charset=utf-8", pages::CSS)
}

async fn js() -> Response {
    typed(StatusCode::OK, "text/javascript; charset=utf-8", pages::JS)
}

/// Browsers ask for an icon; "no content" is not an error in their console.
async fn no_icon() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_page(&PageError::NotFound(format!("there is no page at {}", uri.path())))
}

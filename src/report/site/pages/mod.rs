//! The portal's pages and the static report, rendered from [`Site`] only
//! (nothing here scores): maud templates escape every value by
//! construction and a typo in a template fails at compile time.
//!
//! Data flows one way: [`Site`] (scored once) -> the section components of
//! [`parts`] (ranked list, a cell's explanation, studies, forest plots, gap
//! map, provenance, method) -> a page of [`portal`] or the [`report`]. The
//! same components serve both; [`Mode`] says whether links go to the
//! portal's URLs or to anchors inside the report file.

use super::{Page, PageError, Query, Site};
use crate::model::{IncomeSetting, OutcomeDomain};
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub mod parts;
pub mod portal;
pub mod report;

/// The stylesheet (`/static/evidex.css`; inlined in the static report).
pub const CSS: &str = include_str!("../assets/evidex.css");
/// The script (`/static/evidex.js`; inlined in the static report). Pages
/// work without it: it only sorts tables and filters the report.
pub const JS: &str = include_str!("../assets/evidex.js");

/// Where links point: the portal's URLs, or anchors inside the report file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Portal,
    Report,
}

impl Mode {
    /// The page (portal) or section (report) of an intervention.
    pub fn intervention_href(self, slug: &str) -> String {
        match self {
            Mode::Portal => format!("/intervention/{slug}"),
            Mode::Report => format!("#i-{slug}"),
        }
    }

    /// The element id of a cell's section.
    pub fn cell_id(self, slug: &str, target_group: &str, setting: IncomeSetting) -> String {
        match self {
            Mode::Portal => cell_anchor(target_group, setting),
            Mode::Report => format!("i-{slug}-{}", cell_anchor(target_group, setting)),
        }
    }

    /// A link to a cell's section.
    pub fn cell_href(self, slug: &str, target_group: &str, setting: IncomeSetting) -> String {
        match self {
            Mode::Portal => format!("/intervention/{slug}#{}", self.cell_id(slug, target_group, setting)),
            Mode::Report => format!("#{}", self.cell_id(slug, target_group, setting)),
        }
    }
}

/// The anchor of a cell on its intervention page: `cell-GROUPSLUG-SETTING`
/// (e.g. `cell-adolescent-girls-LIC`).
pub fn cell_anchor(target_group: &str, setting: IncomeSetting) -> String {
    format!("cell-{}-{}", super::slug_of(target_group), setting.key())
}

/// Percent-encode a query value (RFC 3986 unreserved characters kept).
pub fn url_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// A query string (`?a=1&b=2`, or empty) of the non-empty pairs.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The query's filters as URL pairs (empty values for what is not given).
pub fn query_pairs(q: &Query) -> [(&'static str, String); 4] {
    [
        ("target_group", q.target_group.clone().unwrap_or_default()),
        ("income_setting", q.income_setting.map(|s| s.key().to_string()).unwrap_or_default()),
        ("strategy", q.strategy.map(|s| s.key().to_string()).unwrap_or_default()),
        ("domain", q.domain.map(|d| d.key().to_string()).unwrap_or_default()),
    ]
}

/// [`query_string`] of a query's filters plus extra pairs.
pub fn query_href(path: &str, q: &Query, extra: &[(&str, &str)]) -> String {
    let pairs = query_pairs(q);
    let mut all: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    format!("{path}{}", query_string(&all))
}

/// Render a page as a complete HTML document.
///
/// # Errors
/// [`PageError::NotFound`] for an unknown intervention slug;
/// [`PageError::BadQuery`] for a query the page cannot answer.
pub fn render(site: &Site, page: &Page) -> Result<String, PageError> {
    let (title, body) = match page {
        Page::Home(q) => ("What works to prevent violence against children?".to_string(), portal::home(site, q)),
        Page::Find(q) => portal::find(site, q)?,
        Page::Intervention(slug) => portal::intervention(site, slug)?,
        Page::Compare { slugs, query } => portal::compare(site, slugs, query)?,
        Page::GapMap(q) => portal::gap_map(site, q)?,
        Page::Method => ("How verdicts are made".to_string(), portal::method(site)),
        Page::Data => ("Data and provenance".to_string(), portal::data(site)),
    };
    Ok(document(&title, Mode::Portal, body).into_string())
}

/// The page for a request that cannot be answered: the reason in words
/// and a way back (the server sends it with 404 or 400).
pub fn error_page(e: &PageError) -> String {
    let title = match e {
        PageError::NotFound(_) => "Not found",
        PageError::BadQuery(_) => "This question cannot be answered",
    };
    let body = html! {
        p.error { (e.to_string()) }
        p { a href="/" { "Ask another question" } }
    };
    document(title, Mode::Portal, body).into_string()
}

/// The self-contained static report (`evidex report`): the portal's
/// sections in one file, with in-file links, the stylesheet and script
/// inlined, and no request leaving the file.
pub fn static_report(site: &Site) -> String {
    let body = report::body(site);
    document("What works for whom, where, and how sure are we?", Mode::Report, body).into_string()
}

/// The gap map as a standalone SVG (`/gap-map.svg`) for the query (its
/// filters and level).
pub fn gap_map_svg(site: &Site, q: &Query) -> String {
    let (map, opts) = site.gap_map(q);
    crate::report::gapmap::render_svg(&map, &opts)
}

/// The forest plot of one cell and outcome domain as a standalone SVG
/// (`/forest/SLUG.svg`), or `None` when the cell has no study with an
/// effect size in that domain.
pub fn forest_svg(
    site: &Site,
    slug: &str,
    target_group: &str,
    setting: IncomeSetting,
    domain: OutcomeDomain,
) -> Option<String> {
    let entry = site.intervention(slug)?;
    let shown = site.target_group_shown(target_group)?;
    let meta = site.forest(&entry.name, shown, setting, domain)?;
    let title = parts::forest_title(&entry.name, shown, setting, domain);
    Some(crate::report::forest::render_svg(&meta.overall, meta.measure, &title))
}

/// The site navigation: the portal's pages, or the report's sections.
fn nav_links(mode: Mode) -> &'static [(&'static str, &'static str)] {
    match mode {
        Mode::Portal => &[
            ("/", "Ask"),
            ("/find", "Ranked lists"),
            ("/gap-map", "Gap map"),
            ("/method", "Method"),
            ("/data", "Data"),
        ],
        Mode::Report => &[
            ("#ranked-h", "Ranked lists"),
            ("#gapmap", "Gap map"),
            ("#interventions", "Interventions"),
            ("#method", "Method"),
            ("#data", "Data"),
        ],
    }
}

/// A complete document: head, site header with navigation, the body, and
/// the footer. Portal pages link the stylesheet and script (no inline
/// style or script: the server's CSP forbids them); the report inlines
/// both so the file stands alone.
fn document(title: &str, mode: Mode, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · evidex" }
                @match mode {
                    Mode::Portal => {
                        link rel="stylesheet" href="/static/evidex.css";
                        script src="/static/evidex.js" defer {}
                    }
                    Mode::Report => {
                        style { (PreEscaped(CSS)) }
                    }
                }
            }
            body {
                header.site-head {
                    div.page {
                        @match mode {
                            Mode::Portal => { a.brand href="/" { "evidex" } }
                            Mode::Report => { span.brand { "evidex report" } }
                        }
                        nav aria-label="sections" {
                            @for (href, label) in nav_links(mode) { a href=(href) { (label) } }
                        }
                    }
                }
                main.page {
                    h1 { (title) }
                    (body)
                    footer {
                        "evidex " (env!("CARGO_PKG_VERSION")) " · scoring model " (crate::score::MODEL_VERSION)
                        " · verdicts on the UNICEF scale (effective, promising, prudent, needs more research, ineffective) · "
                        @match mode {
                            Mode::Portal => { a href="/method" { "how verdicts are made" } }
                            Mode::Report => { a href="#method" { "how verdicts are made" } }
                        }
                    }
                }
                @if mode == Mode::Report {
                    script { (PreEscaped(JS)) }
                }
            }
        }
    }
}

//! The portal's pages and the static report, rendered from [`Site`] only.
//!
//! TEMPORARY: a minimal body while the one rendering path (issue 21) is
//! built; replaced by the maud templates of every page.

use super::{Page, PageError, Site};

/// Render a page as a complete HTML document.
///
/// # Errors
/// [`PageError::NotFound`] for an unknown intervention slug;
/// [`PageError::BadQuery`] for a query the page cannot answer.
pub fn render(site: &Site, page: &Page) -> Result<String, PageError> {
    let title = match page {
        Page::Home(_) => "evidex",
        Page::Find(_) => "find",
        Page::Intervention(slug) => {
            if site.intervention(slug).is_none() {
                return Err(PageError::NotFound(format!("intervention '{slug}'")));
            }
            "intervention"
        }
        Page::Compare { .. } => "compare",
        Page::GapMap(_) => "gap map",
        Page::Method => "method",
        Page::Data => "data",
    };
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    ))
}

/// The self-contained static report (`evidex report`).
pub fn static_report(site: &Site) -> String {
    crate::report::html::render(&site.ing, &site.cfg, "")
}

//! `evidex report`: one self-contained HTML file answering "what works for
//! whom, where, and how sure are we?". A thin wrapper: the report is the
//! portal's pages in one file ([`crate::report::site::pages::static_report`]),
//! rendered from the view model scored once.

use super::site::{pages, Provenance, Site};
use crate::ingest::Ingested;
use crate::score::ScoringConfig;

/// Render the report. The data note (files, hashes, counts) is made from
/// the inputs, so `_data_note` is no longer used; the CLI will call
/// [`pages::static_report`] on a [`Site`] directly.
pub fn render(ing: &Ingested, cfg: &ScoringConfig, _data_note: &str) -> String {
    let site = Site::build(ing.clone(), cfg.clone(), Provenance { loaded_at: None, reload_error: None });
    pages::static_report(&site)
}

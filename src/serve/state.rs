//! The portal's state: one scored [`Site`] behind an `Arc`, swapped whole
//! when `--watch` re-reads the inputs. Handlers take a snapshot (an `Arc`
//! clone under a read lock held for nanoseconds) and never see a half
//! update; nothing is scored in a request.

use crate::report::document;
use crate::report::site::{Provenance, Site};
use serde_json::Value as Json;
use std::sync::{Arc, RwLock};

/// One scored state with what every API answer of it shares.
#[derive(Debug)]
pub struct Snapshot {
    pub site: Site,
    /// `evidex score`'s run metadata for this data.
    pub score_run: Json,
    /// `evidex rank`'s run metadata for this data.
    pub rank_run: Json,
    /// Answers already given from this snapshot, by URL.
    pub cache: super::cache::Cache,
}

impl Snapshot {
    pub fn new(site: Site) -> Snapshot {
        let score_run = document::score_run(&site.ing, &site.cfg, &site.score);
        let rank_run = document::rank_run(&site.ing, &site.cfg);
        Snapshot { site, score_run, rank_run, cache: Default::default() }
    }
}

/// The current snapshot, replaced atomically.
#[derive(Debug)]
pub struct State {
    current: RwLock<Arc<Snapshot>>,
}

impl State {
    pub fn new(site: Site) -> State {
        State { current: RwLock::new(Arc::new(Snapshot::new(site))) }
    }

    /// The snapshot to answer one request from.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock still holds a whole snapshot (writers only swap).
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Show freshly read data.
    pub fn replace(&self, site: Site) {
        let next = Arc::new(Snapshot::new(site));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next;
    }

    /// A re-read failed: keep the data shown and say why on /data.
    pub fn reload_failed(&self, error: String) {
        let old = self.snapshot();
        let provenance = Provenance { reload_error: Some(error), ..old.site.provenance.clone() };
        self.replace(Site::build(old.site.ing.clone(), old.site.cfg.clone(), provenance));
    }
}

/// Now as RFC 3339 in UTC, to the second (`Provenance::loaded_at`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since 1970 as RFC 3339 (UTC). Days to a civil date: Howard
/// Hinnant's `civil_from_days` (proleptic Gregorian).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(1_796_258_096), "2026-12-03T00:34:56Z");
    }
}

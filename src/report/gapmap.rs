//! Evidence and gap map (Campbell / 3ie / EPPI-Mapper convention): rows are
//! interventions grouped under their INSPIRE strategy (or the strategies
//! themselves), columns are target groups, one per income setting unless
//! the map is for one setting; each cell's bubble area is proportional to
//! the number of studies its verdict rests on and its colour is the
//! verdict, exactly as `score` and `rank` give it (local first, evidence
//! borrowed from other settings drawn with a dashed outline); harmful cells
//! are marked; empty cells stay visibly empty, because the gaps are the
//! point. `domain` draws one outcome domain's verdicts instead of the
//! headline.

use super::svg::{category_colour, clip, esc, f};
use crate::model::{EvaluationRecord, IncomeSetting, OutcomeDomain, Rating, Strategy};
use crate::score::{
    reference_year, score_facts_with, Basis, Certainty, FactSet, GroupKey, ScoreOptions, ScoringConfig, MODEL_VERSION,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Rows of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Intervention,
    Strategy,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct GapMapOptions {
    pub level: Level,
    /// One setting (with borrowed evidence where a cell has too little of
    /// its own), or every setting side by side.
    pub income_setting: Option<IncomeSetting>,
    /// One outcome domain's verdicts (default: the headline verdict).
    pub domain: Option<OutcomeDomain>,
    pub title: Option<String>,
    /// Footer: data description (e.g. file names and hashes).
    pub data_note: String,
}

/// One bubble.
#[derive(Debug, Clone, PartialEq)]
pub struct MapCell {
    /// Studies the verdict rests on (local, plus borrowed ones when it is
    /// borrowed).
    pub n_studies: usize,
    pub category: Rating,
    pub harm: bool,
    /// The verdict rests on evidence borrowed from other settings.
    pub borrowed: bool,
    pub domain: OutcomeDomain,
    pub score: f64,
    pub certainty: Certainty,
    pub robustness: Option<f64>,
}

/// The map as plain data (also used by tests to check bubbles).
#[derive(Debug, Clone, PartialEq)]
pub struct GapMap {
    /// (strategy, row labels in order)
    pub groups: Vec<(Option<Strategy>, Vec<String>)>,
    pub columns: Vec<String>,
    /// (row label, column) -> cell
    pub cells: BTreeMap<(String, String), MapCell>,
}

/// A column label: the target group, with the income setting when the map
/// shows every setting.
pub fn column_label(target_group: &str, setting: Option<&str>) -> String {
    match setting {
        Some(s) => format!("{target_group} · {s}"),
        None => target_group.to_string(),
    }
}

/// Build the map data from records: the cells of `score` with keys (row,
/// target group, income setting).
pub fn build(records: &[EvaluationRecord], opts: &GapMapOptions, cfg: &ScoringConfig) -> GapMap {
    let row_key = match opts.level {
        Level::Intervention => GroupKey::Intervention,
        Level::Strategy => GroupKey::Strategy,
    };
    let keys = [row_key, GroupKey::TargetGroup, GroupKey::IncomeSetting];
    let fs = FactSet::from_records(records, &keys, cfg);
    let score_opts = ScoreOptions {
        keep_studies: false,
        fill: opts.income_setting,
        reference_year: Some(reference_year(records, cfg)),
    };
    let res = score_facts_with(&fs, &keys, cfg, &score_opts);
    let mut cells = BTreeMap::new();
    let mut columns: Vec<(String, usize)> = Vec::new();
    for c in &res.cells {
        let (row, tg, setting) = (c.key[0].1.clone(), c.key[1].1.clone(), c.key[2].1.clone());
        let label = match opts.income_setting {
            Some(want) if setting != want.key() => continue,
            Some(_) => column_label(&tg, None),
            None => column_label(&tg, Some(&setting)),
        };
        let order = IncomeSetting::parse(&setting).map_or(9, |s| s.index());
        if !columns.iter().any(|(l, _)| *l == label) {
            columns.push((label.clone(), order));
        }
        let borrowed = c.basis == Basis::Borrowed;
        let n = c.n_studies + c.n_borrowed_studies;
        let cell = match opts.domain {
            None => Some(MapCell {
                n_studies: n,
                category: c.category,
                harm: c.harm_flag,
                borrowed,
                domain: c.domain,
                score: c.score,
                certainty: c.certainty,
                robustness: c.robustness,
            }),
            Some(d) => c.domain_result(d).map(|x| MapCell {
                n_studies: x.n_studies as usize,
                category: x.category,
                harm: x.harm,
                borrowed,
                domain: d,
                score: c.score,
                certainty: c.certainty,
                robustness: c.robustness,
            }),
        };
        if let Some(cell) = cell {
            cells.insert((row, label), cell);
        }
    }
    // Target groups of all records (so a group without evidence in this
    // setting still shows its gaps), then the income setting.
    if opts.income_setting.is_some() {
        let all: BTreeSet<String> = records.iter().map(|r| r.target_group.display().to_string()).collect();
        for tg in all {
            if !columns.iter().any(|(l, _)| *l == tg) {
                columns.push((tg, 0));
            }
        }
    }
    columns.sort_by(|a, b| {
        let tg = |l: &str| l.rsplit_once(" · ").map_or(l.to_string(), |(t, _)| t.to_string());
        tg(&a.0).cmp(&tg(&b.0)).then(a.1.cmp(&b.1))
    });
    let columns: Vec<String> = columns.into_iter().map(|c| c.0).collect();
    // Strategy of each intervention: the most frequent among its records (all settings).
    let mut strat: BTreeMap<String, BTreeMap<Option<Strategy>, usize>> = BTreeMap::new();
    for r in records {
        *strat.entry(r.intervention.clone()).or_default().entry(r.strategy).or_default() += 1;
    }
    let mode = |i: &str| -> Option<Strategy> {
        strat.get(i).and_then(|m| {
            m.iter().filter(|(k, _)| k.is_some()).max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).and_then(|(k, _)| *k)
        })
    };
    let mut groups: BTreeMap<Option<Strategy>, BTreeSet<String>> = BTreeMap::new();
    match opts.level {
        Level::Intervention => {
            for i in strat.keys() {
                groups.entry(mode(i)).or_default().insert(i.clone());
            }
        }
        Level::Strategy => {
            for s in Strategy::ALL {
                groups.entry(Some(s)).or_default().insert(s.key().to_string());
            }
            if records.iter().any(|r| r.strategy.is_none()) {
                groups.entry(None).or_default().insert("(none)".into());
            }
        }
    }
    // Strategies in INSPIRE order, unassigned last.
    let mut ordered: Vec<(Option<Strategy>, Vec<String>)> =
        groups.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
    ordered.sort_by_key(|(k, _)| k.map_or(99, |s| Strategy::ALL.iter().position(|x| *x == s).unwrap_or(98)));
    GapMap { groups: ordered, columns, cells }
}

/// What the map shows, in words (its subtitle).
pub fn evidence_note(opts: &GapMapOptions) -> String {
    let what = match opts.domain {
        None => "colour = verdict (headline outcome domain)".to_string(),
        Some(d) => format!("colour = verdict on {} only", d.label()),
    };
    let setting = match opts.income_setting {
        Some(s) => format!(
            "{s}: local evidence; a dashed outline marks a verdict borrowed from other income settings (the cell has too little of its own)"
        ),
        None => "one column per target group and income setting; a dashed outline marks a verdict borrowed from other settings".to_string(),
    };
    format!("Bubble area = studies; {what}; {setting}; empty cells are evidence gaps. Model {MODEL_VERSION}.")
}

const LABEL_W: f64 = 300.0;
const CELL: f64 = 46.0;
const HEAD_H: f64 = 150.0;
const TOP: f64 = 60.0;
const ROW_CHARS: usize = 44;
const COL_CHARS: usize = 24;

/// Bubble radius for `n` studies (area proportional to n, capped).
pub fn radius(n: usize, max_n: usize) -> f64 {
    let max_r = CELL / 2.0 - 3.0;
    if n == 0 {
        return 0.0;
    }
    (max_r * (n as f64 / max_n.max(1) as f64).sqrt()).max(4.0)
}

/// Render the map as a standalone SVG.
pub fn render_svg(map: &GapMap, opts: &GapMapOptions) -> String {
    let n_rows: usize = map.groups.iter().map(|(_, r)| r.len() + 1).sum();
    let width = LABEL_W + CELL * map.columns.len() as f64 + 220.0;
    let height = TOP + HEAD_H + CELL * n_rows as f64 + 80.0;
    let max_n = map.cells.values().map(|c| c.n_studies).max().unwrap_or(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12" role="img" aria-labelledby="gm-title">"#,
        w = f(width),
        h = f(height)
    );
    let setting = opts.income_setting.map_or("every income setting".to_string(), |s| format!("{s} settings"));
    let domain = opts.domain.map(|d| format!(", {}", d.label())).unwrap_or_default();
    let title = opts.title.clone().unwrap_or_else(|| format!("Evidence and gap map: {setting}{domain}"));
    let _ = write!(s, r#"<title id="gm-title">{}</title><rect width="100%" height="100%" fill="white"/>"#, esc(&title));
    let _ = write!(s, r#"<text x="16" y="30" font-size="18" font-weight="bold">{}</text>"#, esc(&title));
    let _ = write!(s, r##"<text x="16" y="48" font-size="11" fill="#444">{}</text>"##, esc(&evidence_note(opts)));
    // Column headers, rotated, truncated with full name in <title>.
    for (j, c) in map.columns.iter().enumerate() {
        let x = LABEL_W + CELL * (j as f64 + 0.5);
        let y = TOP + HEAD_H - 8.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" transform="rotate(-45 {} {})" class="col-label"><title>{}</title>{}</text>"#,
            f(x),
            f(y),
            f(x),
            f(y),
            esc(c),
            esc(&clip(c, COL_CHARS))
        );
    }
    let mut y = TOP + HEAD_H;
    for (strategy, rows) in &map.groups {
        let name = strategy.map_or("No strategy given", |s| s.title());
        let _ = write!(
            s,
            r##"<rect x="8" y="{}" width="{}" height="{}" fill="#EEF3F8"/><text x="14" y="{}" font-weight="bold" class="strategy-label">{}</text>"##,
            f(y),
            f(LABEL_W - 8.0 + CELL * map.columns.len() as f64),
            f(CELL),
            f(y + CELL / 2.0 + 4.0),
            esc(name)
        );
        y += CELL;
        for row in rows {
            let shown = match strategy {
                Some(s) if row == s.key() => s.title().to_string(),
                _ => row.clone(),
            };
            let _ = write!(
                s,
                r#"<text x="22" y="{}" class="row-label"><title>{}</title>{}</text>"#,
                f(y + CELL / 2.0 + 4.0),
                esc(&shown),
                esc(&clip(&shown, ROW_CHARS))
            );
            for (j, col) in map.columns.iter().enumerate() {
                let cx = LABEL_W + CELL * (j as f64 + 0.5);
                let cy = y + CELL / 2.0;
                let x0 = LABEL_W + CELL * j as f64;
                match map.cells.get(&(row.clone(), col.clone())) {
                    None => {
                        let _ = write!(
                            s,
                            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#DDDDDD" stroke-dasharray="3 3" class="gap" data-row="{}" data-col="{}"><title>{} / {}: no evaluations (gap)</title></rect>"##,
                            f(x0 + 3.0),
                            f(y + 3.0),
                            f(CELL - 6.0),
                            f(CELL - 6.0),
                            esc(row),
                            esc(col),
                            esc(&shown),
                            esc(col)
                        );
                    }
                    Some(c) => {
                        let r = radius(c.n_studies, max_n);
                        let colour = category_colour(c.category, c.harm);
                        let _ = write!(
                            s,
                            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#EEEEEE"/><circle cx="{}" cy="{}" r="{}" fill="{}" stroke="{}" stroke-width="{}"{} class="bubble" data-row="{}" data-col="{}" data-studies="{}" data-category="{}" data-harm="{}" data-borrowed="{}"><title>{} / {}: {}{} on {}, {}{}, probability of benefit {:.2}, certainty {}</title></circle>"##,
                            f(x0),
                            f(y),
                            f(CELL),
                            f(CELL),
                            f(cx),
                            f(cy),
                            f(r),
                            colour,
                            if c.harm { "#000000" } else { "#333333" },
                            if c.harm {
                                "2.5"
                            } else if c.borrowed {
                                "1.6"
                            } else {
                                "0.8"
                            },
                            if c.borrowed { r#" stroke-dasharray="3 2""# } else { "" },
                            esc(row),
                            esc(col),
                            c.n_studies,
                            c.category.key(),
                            c.harm,
                            c.borrowed,
                            esc(&shown),
                            esc(col),
                            super::words::category(c.category, c.harm),
                            if c.harm { " (HARM)" } else { "" },
                            c.domain.label(),
                            super::words::count(c.n_studies as u64, "study", "studies"),
                            if c.borrowed { ", borrowed evidence" } else { "" },
                            c.score,
                            c.certainty.label()
                        );
                        if c.harm {
                            let d = r * 0.6;
                            let _ = write!(
                                s,
                                r##"<path d="M{} {}L{} {}M{} {}L{} {}" stroke="#000000" stroke-width="2.5" pointer-events="none"/>"##,
                                f(cx - d),
                                f(cy - d),
                                f(cx + d),
                                f(cy + d),
                                f(cx - d),
                                f(cy + d),
                                f(cx + d),
                                f(cy - d)
                            );
                        }
                    }
                }
            }
            y += CELL;
        }
    }
    // Legend.
    let lx = LABEL_W + CELL * map.columns.len() as f64 + 24.0;
    let mut ly = TOP + HEAD_H;
    let _ = write!(s, r#"<text x="{}" y="{}" font-weight="bold">Verdict</text>"#, f(lx), f(ly));
    ly += 8.0;
    for (cat, harm, label) in [
        (Rating::Effective, false, "effective"),
        (Rating::Promising, false, "promising"),
        (Rating::Prudent, false, "prudent"),
        (Rating::NeedsResearch, false, "needs more research"),
        (Rating::Ineffective, false, "ineffective"),
        (Rating::Ineffective, true, "harmful (marked ×)"),
    ] {
        ly += 20.0;
        let _ = write!(
            s,
            r##"<circle cx="{}" cy="{}" r="7" fill="{}" stroke="#333333"/><text x="{}" y="{}">{}</text>"##,
            f(lx + 8.0),
            f(ly - 4.0),
            category_colour(cat, harm),
            f(lx + 22.0),
            f(ly),
            label
        );
    }
    ly += 34.0;
    let _ = write!(s, r#"<text x="{}" y="{}" font-weight="bold">Studies</text>"#, f(lx), f(ly));
    let mut sizes = vec![1usize, max_n.div_ceil(2).max(1), max_n];
    sizes.dedup();
    for n in sizes {
        let r = radius(n, max_n);
        ly += 2.0 * r.max(8.0) + 6.0;
        let _ = write!(
            s,
            r##"<circle cx="{}" cy="{}" r="{}" fill="#FFFFFF" stroke="#333333"/><text x="{}" y="{}">{}</text>"##,
            f(lx + 20.0),
            f(ly - r.max(8.0)),
            f(r),
            f(lx + 46.0),
            f(ly - r.max(8.0) + 4.0),
            n
        );
    }
    ly += 24.0;
    let _ = write!(
        s,
        r##"<rect x="{}" y="{}" width="16" height="16" fill="none" stroke="#DDDDDD" stroke-dasharray="3 3"/><text x="{}" y="{}">no evaluations (gap)</text>"##,
        f(lx + 12.0),
        f(ly - 12.0),
        f(lx + 36.0),
        f(ly)
    );
    ly += 26.0;
    let _ = write!(
        s,
        r##"<circle cx="{}" cy="{}" r="8" fill="#FFFFFF" stroke="#333333" stroke-width="1.6" stroke-dasharray="3 2"/><text x="{}" y="{}">borrowed evidence</text>"##,
        f(lx + 20.0),
        f(ly - 4.0),
        f(lx + 36.0),
        f(ly)
    );
    let _ = write!(
        s,
        r##"<text x="16" y="{}" font-size="10" fill="#555">{} | evidex {} | scoring model {}</text></svg>"##,
        f(height - 16.0),
        esc(&opts.data_note),
        env!("CARGO_PKG_VERSION"),
        MODEL_VERSION
    );
    s.push('\n');
    s
}

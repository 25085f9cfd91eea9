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

use super::svg::{category_colour, clip, f, wrap};
use super::words;
use crate::model::{EvaluationRecord, IncomeSetting, OutcomeDomain, Rating, Strategy};
use crate::score::{
    reference_year, score_facts_with, Basis, CellResult, Certainty, FactSet, Fill, GroupKey, ScoreOptions,
    ScoringConfig, MODEL_VERSION,
};
use maud::{html, Markup};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Column keys: the target group, with the setting (`group · LIC`)
    /// when the map shows every setting.
    pub columns: Vec<String>,
    /// What each column is (same order as `columns`).
    pub heads: Vec<ColumnHead>,
    /// (row label, column) -> cell
    pub cells: BTreeMap<(String, String), MapCell>,
}

/// A column's target group (as displayed) and income setting.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnHead {
    pub group: String,
    pub setting: IncomeSetting,
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
/// target group, income setting), filled for the one setting shown.
pub fn build(records: &[EvaluationRecord], opts: &GapMapOptions, cfg: &ScoringConfig) -> GapMap {
    let keys = [row_key(opts.level), GroupKey::TargetGroup, GroupKey::IncomeSetting];
    let fs = FactSet::from_records(records, &keys, cfg);
    let score_opts = ScoreOptions {
        keep_studies: false,
        fill: opts.income_setting.map_or(Fill::None, Fill::One),
        reference_year: Some(reference_year(records, cfg)),
    };
    let res = score_facts_with(&fs, &keys, cfg, &score_opts);
    let records: Vec<&EvaluationRecord> = records.iter().collect();
    from_cells(&res.cells, &records, opts)
}

/// The group key of the map's rows.
pub fn row_key(level: Level) -> GroupKey {
    match level {
        Level::Intervention => GroupKey::Intervention,
        Level::Strategy => GroupKey::Strategy,
    }
}

/// The map from cells already scored with keys (row, target group, income
/// setting): local cells for every setting, plus filled cells for the
/// setting shown (cells filled for other settings are ignored), so one
/// scoring pass serves every map.
pub fn from_cells<'a>(
    scored: impl IntoIterator<Item = &'a CellResult>,
    records: &[&EvaluationRecord],
    opts: &GapMapOptions,
) -> GapMap {
    let local: BTreeSet<(&str, &str, &str)> = records
        .iter()
        .map(|r| (row_key(opts.level).value_ref(r), r.target_group.display(), r.income_setting.key()))
        .collect();
    let mut cells = BTreeMap::new();
    let mut columns: Vec<(String, usize)> = Vec::new();
    for c in scored {
        let (row, tg, setting) = (c.key[0].1.clone(), c.key[1].1.clone(), c.key[2].1.clone());
        let label = match opts.income_setting {
            Some(want) if setting != want.key() => continue,
            Some(_) => column_label(&tg, None),
            None if !local.contains(&(row.as_str(), tg.as_str(), setting.as_str())) => continue,
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
    let heads: Vec<ColumnHead> = columns
        .iter()
        .map(|(label, order)| {
            let (group, setting) = match opts.income_setting {
                Some(s) => (label.clone(), s),
                None => {
                    let (g, _) = label.rsplit_once(" · ").unwrap_or((label.as_str(), ""));
                    (g.to_string(), IncomeSetting::ALL.get(*order).copied().unwrap_or(IncomeSetting::Lic))
                }
            };
            ColumnHead { group, setting }
        })
        .collect();
    let columns: Vec<String> = columns.into_iter().map(|c| c.0).collect();
    // Strategy of each intervention: the most frequent among its records (all settings).
    let mut strat: BTreeMap<String, BTreeMap<Option<Strategy>, usize>> = BTreeMap::new();
    for r in records.iter() {
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
            // Records without a strategy are a row of their own, named in
            // words (the scoring key says "(none)").
            if records.iter().any(|r| r.strategy.is_none()) {
                groups.entry(None).or_default().insert(NO_STRATEGY.into());
                cells = cells
                    .into_iter()
                    .map(|((row, col), c)| (if row == NO_STRATEGY_KEY { NO_STRATEGY.to_string() } else { row }, col, c))
                    .map(|(row, col, c)| ((row, col), c))
                    .collect();
            }
        }
    }
    // Strategies in INSPIRE order, unassigned last.
    let mut ordered: Vec<(Option<Strategy>, Vec<String>)> =
        groups.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
    ordered.sort_by_key(|(k, _)| k.map_or(99, |s| Strategy::ALL.iter().position(|x| *x == s).unwrap_or(98)));
    GapMap { groups: ordered, columns, heads, cells }
}

/// The row of strategy-level maps for records without an INSPIRE strategy.
pub const NO_STRATEGY: &str = "no INSPIRE strategy given";
/// How the scoring keys spell a missing strategy.
const NO_STRATEGY_KEY: &str = "(none)";

/// What the map shows, in words (its subtitle).
pub fn evidence_note(opts: &GapMapOptions) -> String {
    let what = match opts.domain {
        None => "colour = verdict (headline outcome domain)".to_string(),
        Some(d) => format!("colour = verdict on {} only", d.label()),
    };
    let setting = match opts.income_setting {
        Some(s) => format!(
            "{} settings: local evidence; a dashed outline marks a verdict borrowed from other income settings (the cell has too little of its own)",
            words::setting_with_code(s)
        ),
        None => "one column per target group and income setting; a dashed outline marks a verdict borrowed from other settings".to_string(),
    };
    format!("Bubble area = studies; {what}; {setting}; empty cells are evidence gaps. Model {MODEL_VERSION}.")
}

const LABEL_W: f64 = 300.0;
const CELL: f64 = 46.0;
const HEAD_H: f64 = 150.0;
const LEGEND_W: f64 = 220.0;
const ROW_CHARS: usize = 44;
const COL_CHARS: usize = 26;
/// Characters of the 11-unit subtitle per unit of width (DejaVu Sans
/// averages about 0.6 em a character).
const SUBTITLE_CHAR_W: f64 = 6.6;

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
    emit(&layout(map, opts, &|_, _, _| None))
}

/// Where a bubble links to, from its row, target group and setting.
pub type BubbleHref<'a> = dyn Fn(&str, &str, IncomeSetting) -> Option<String> + 'a;

/// [`render_svg`] with each bubble a link (`href(row, target group,
/// setting)`; `None`: no link).
pub fn render_svg_linked(map: &GapMap, opts: &GapMapOptions, href: &BubbleHref<'_>) -> String {
    emit(&layout(map, opts, href))
}

/// The map laid out: every position, label and colour, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub title: String,
    /// The subtitle, wrapped to the image's width.
    pub subtitle: Vec<TextLine>,
    pub columns: Vec<ColumnLabel>,
    /// Strategy bands above their interventions.
    pub bands: Vec<Band>,
    pub rows: Vec<RowLabel>,
    pub gaps: Vec<GapBox>,
    pub bubbles: Vec<Bubble>,
    pub legend: Vec<LegendItem>,
    pub footer: TextLine,
}

/// A line of text at a position.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// A rotated column label: the target group, then (when the map shows
/// every setting) the income setting on a second line.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnLabel {
    pub x: f64,
    pub y: f64,
    pub full: String,
    pub group: String,
    pub setting: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub y: f64,
    pub width: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowLabel {
    pub y: f64,
    pub full: String,
    pub shown: String,
}

/// An empty cell: no evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct GapBox {
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub row: String,
    pub col: String,
    pub tip: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bubble {
    /// The cell's frame.
    pub x0: f64,
    pub y0: f64,
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
    pub fill: &'static str,
    pub stroke: &'static str,
    pub stroke_width: &'static str,
    pub dashed: bool,
    /// The × of a harmful verdict: half the arm length.
    pub cross: Option<f64>,
    pub row: String,
    pub col: String,
    pub studies: usize,
    pub category: &'static str,
    pub harm: bool,
    pub borrowed: bool,
    pub tip: String,
    pub href: Option<String>,
}

/// One legend entry: a symbol and its words.
#[derive(Debug, Clone, PartialEq)]
pub enum LegendItem {
    Heading { x: f64, y: f64, text: &'static str },
    Dot { cx: f64, cy: f64, r: f64, fill: &'static str, dashed: bool, label: String },
    Gap { x: f64, y: f64, label: &'static str },
}

/// Lay the map out.
pub fn layout(map: &GapMap, opts: &GapMapOptions, href: &BubbleHref<'_>) -> Layout {
    let strategy_level = opts.level == Level::Strategy;
    let n_rows: usize = map.groups.iter().map(|(_, r)| r.len() + usize::from(!strategy_level)).sum();
    let n_cols = map.columns.len() as f64;
    let width = LABEL_W + CELL * n_cols + LEGEND_W;
    let subtitle_lines = wrap(&evidence_note(opts), ((width - 32.0) / SUBTITLE_CHAR_W) as usize);
    let top = 40.0 + 14.0 * subtitle_lines.len() as f64 + 8.0;
    let height = top + HEAD_H + CELL * n_rows as f64 + 80.0;
    let max_n = map.cells.values().map(|c| c.n_studies).max().unwrap_or(1);
    let setting =
        opts.income_setting.map_or("every income setting".to_string(), |s| format!("{} settings", words::setting(s)));
    let domain = opts.domain.map(|d| format!(", {}", d.label())).unwrap_or_default();
    let title = opts.title.clone().unwrap_or_else(|| format!("Evidence and gap map: {setting}{domain}"));
    let subtitle = subtitle_lines
        .into_iter()
        .enumerate()
        .map(|(i, text)| TextLine { x: 16.0, y: 48.0 + 14.0 * i as f64, text })
        .collect();
    let columns = map
        .columns
        .iter()
        .zip(&map.heads)
        .enumerate()
        .map(|(j, (full, head))| ColumnLabel {
            x: LABEL_W + CELL * (j as f64 + 0.5) - 4.0,
            y: top + HEAD_H - 8.0,
            full: full.clone(),
            group: clip(&head.group, COL_CHARS),
            setting: opts.income_setting.is_none().then(|| words::setting_with_code(head.setting)),
        })
        .collect();
    let mut l = Layout {
        width,
        height,
        title,
        subtitle,
        columns,
        bands: Vec::new(),
        rows: Vec::new(),
        gaps: Vec::new(),
        bubbles: Vec::new(),
        legend: legend(LABEL_W + CELL * n_cols + 24.0, top + HEAD_H, max_n),
        footer: TextLine {
            x: 16.0,
            y: height - 16.0,
            text: format!("{} | evidex {} | scoring model {MODEL_VERSION}", opts.data_note, env!("CARGO_PKG_VERSION")),
        },
    };
    let mut y = top + HEAD_H;
    for (strategy, rows) in &map.groups {
        if !strategy_level {
            let label = strategy.map_or("No strategy given", |s| s.title()).to_string();
            l.bands.push(Band { y, width: LABEL_W - 8.0 + CELL * n_cols, label });
            y += CELL;
        }
        for row in rows {
            let shown = match strategy {
                Some(s) if row == s.key() => s.title().to_string(),
                _ => row.clone(),
            };
            l.rows.push(RowLabel { y: y + CELL / 2.0 + 4.0, shown: clip(&shown, ROW_CHARS), full: shown.clone() });
            for (j, (col, head)) in map.columns.iter().zip(&map.heads).enumerate() {
                let x0 = LABEL_W + CELL * j as f64;
                match map.cells.get(&(row.clone(), col.clone())) {
                    None => l.gaps.push(GapBox {
                        x: x0 + 3.0,
                        y: y + 3.0,
                        size: CELL - 6.0,
                        row: row.clone(),
                        col: col.clone(),
                        tip: format!("{shown} / {col}: no evaluations (gap)"),
                    }),
                    Some(c) => {
                        l.bubbles.push(bubble(c, x0, y, max_n, row, col, &shown, href(row, &head.group, head.setting)))
                    }
                }
            }
            y += CELL;
        }
    }
    l
}

#[allow(clippy::too_many_arguments)]
fn bubble(
    c: &MapCell,
    x0: f64,
    y0: f64,
    max_n: usize,
    row: &str,
    col: &str,
    shown: &str,
    href: Option<String>,
) -> Bubble {
    let r = radius(c.n_studies, max_n);
    let tip = format!(
        "{shown} / {col}: {}{} on {}, {}{}, probability of benefit {:.2}, certainty {}",
        words::category(c.category, c.harm),
        if c.harm { " (HARM)" } else { "" },
        c.domain.label(),
        words::count(c.n_studies as u64, "study", "studies"),
        if c.borrowed { ", borrowed evidence" } else { "" },
        c.score,
        c.certainty.label()
    );
    Bubble {
        x0,
        y0,
        cx: x0 + CELL / 2.0,
        cy: y0 + CELL / 2.0,
        r,
        fill: category_colour(c.category, c.harm),
        stroke: if c.harm { "#000000" } else { "#333333" },
        stroke_width: if c.harm {
            "2.5"
        } else if c.borrowed {
            "1.6"
        } else {
            "0.8"
        },
        dashed: c.borrowed,
        cross: c.harm.then_some(r * 0.6),
        row: row.to_string(),
        col: col.to_string(),
        studies: c.n_studies,
        category: c.category.key(),
        harm: c.harm,
        borrowed: c.borrowed,
        tip,
        href,
    }
}

/// The legend: verdict colours, bubble sizes, a gap, borrowed evidence.
fn legend(x: f64, y0: f64, max_n: usize) -> Vec<LegendItem> {
    let mut items = vec![LegendItem::Heading { x, y: y0, text: "Verdict" }];
    let mut y = y0 + 8.0;
    for (cat, harm, label) in [
        (Rating::Effective, false, "effective"),
        (Rating::Promising, false, "promising"),
        (Rating::Prudent, false, "prudent"),
        (Rating::NeedsResearch, false, "needs more research"),
        (Rating::Ineffective, false, "ineffective"),
        (Rating::Ineffective, true, "harmful (marked ×)"),
    ] {
        y += 20.0;
        let fill = category_colour(cat, harm);
        items.push(LegendItem::Dot { cx: x + 8.0, cy: y - 4.0, r: 7.0, fill, dashed: false, label: label.into() });
    }
    y += 34.0;
    items.push(LegendItem::Heading { x, y, text: "Studies" });
    let mut sizes = vec![1usize, max_n.div_ceil(2).max(1), max_n];
    sizes.dedup();
    for n in sizes {
        let r = radius(n, max_n);
        y += 2.0 * r.max(8.0) + 6.0;
        items.push(LegendItem::Dot {
            cx: x + 20.0,
            cy: y - r.max(8.0),
            r,
            fill: "#FFFFFF",
            dashed: false,
            label: n.to_string(),
        });
    }
    y += 24.0;
    items.push(LegendItem::Gap { x: x + 12.0, y: y - 12.0, label: "no evaluations (gap)" });
    y += 26.0;
    items.push(LegendItem::Dot {
        cx: x + 20.0,
        cy: y - 4.0,
        r: 8.0,
        fill: "#FFFFFF",
        dashed: true,
        label: "borrowed evidence".into(),
    });
    items
}

/// The laid-out map as SVG (escaped by maud; elements always closed, so
/// the file is also valid XML).
pub fn emit(l: &Layout) -> String {
    // A picture, unless its bubbles are links (an image has no controls).
    let role = if l.bubbles.iter().any(|b| b.href.is_some()) { "group" } else { "img" };
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(f(l.width)) height=(f(l.height)) viewBox=(format!("0 0 {} {}", f(l.width), f(l.height)))
            font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12" role=(role) aria-labelledby="gm-title" class="gapmap" {
            title id="gm-title" { (l.title) }
            rect width="100%" height="100%" fill="white" {}
            text x="16" y="30" font-size="18" font-weight="bold" { (l.title) }
            @for t in &l.subtitle {
                text x=(f(t.x)) y=(f(t.y)) font-size="11" fill="#444444" class="subtitle" { (t.text) }
            }
            @for c in &l.columns { (column_label_svg(c)) }
            @for b in &l.bands {
                rect x="8" y=(f(b.y)) width=(f(b.width)) height=(f(CELL)) fill="#EEF3F8" {}
                text x="14" y=(f(b.y + CELL / 2.0 + 4.0)) font-weight="bold" class="strategy-label" { (b.label) }
            }
            @for r in &l.rows {
                text x="22" y=(f(r.y)) class="row-label" { title { (r.full) } (r.shown) }
            }
            @for g in &l.gaps {
                rect x=(f(g.x)) y=(f(g.y)) width=(f(g.size)) height=(f(g.size)) fill="none" stroke="#DDDDDD" stroke-dasharray="3 3"
                    class="gap" data-row=(g.row) data-col=(g.col) { title { (g.tip) } }
            }
            @for b in &l.bubbles { (bubble_svg(b)) }
            @for item in &l.legend { (legend_svg(item)) }
            text x=(f(l.footer.x)) y=(f(l.footer.y)) font-size="10" fill="#555555" { (l.footer.text) }
        }
    };
    let mut s = svg.into_string();
    s.push('\n');
    s
}

fn column_label_svg(c: &ColumnLabel) -> Markup {
    let rotate = format!("rotate(-45 {} {})", f(c.x), f(c.y));
    html! {
        text x=(f(c.x)) y=(f(c.y)) transform=(rotate) class="col-label" {
            title { (c.full) }
            @match &c.setting {
                Some(s) => {
                    tspan x=(f(c.x)) dy="-7" { (c.group) }
                    tspan x=(f(c.x)) dy="13" font-size="10" fill="#444444" { (s) }
                }
                None => { (c.group) }
            }
        }
    }
}

fn bubble_svg(b: &Bubble) -> Markup {
    let circle = html! {
        rect x=(f(b.x0)) y=(f(b.y0)) width=(f(CELL)) height=(f(CELL)) fill="none" stroke="#EEEEEE" {}
        circle cx=(f(b.cx)) cy=(f(b.cy)) r=(f(b.r)) fill=(b.fill) stroke=(b.stroke) stroke-width=(b.stroke_width)
            stroke-dasharray=[b.dashed.then_some("3 2")] class="bubble" data-row=(b.row) data-col=(b.col)
            data-studies=(b.studies) data-category=(b.category) data-harm=(b.harm) data-borrowed=(b.borrowed) {
            title { (b.tip) }
        }
        @if let Some(d) = b.cross {
            path d=(format!("M{} {}L{} {}M{} {}L{} {}", f(b.cx - d), f(b.cy - d), f(b.cx + d), f(b.cy + d), f(b.cx - d), f(b.cy + d), f(b.cx + d), f(b.cy - d)))
                stroke="#000000" stroke-width="2.5" pointer-events="none" {}
        }
    };
    html! {
        @match &b.href {
            Some(h) => { a href=(h) aria-label=(b.tip) { (circle) } }
            None => { (circle) }
        }
    }
}

fn legend_svg(item: &LegendItem) -> Markup {
    html! {
        @match item {
            LegendItem::Heading { x, y, text: label } => { text x=(f(*x)) y=(f(*y)) font-weight="bold" { (label) } }
            LegendItem::Dot { cx, cy, r, fill, dashed, label } => {
                circle cx=(f(*cx)) cy=(f(*cy)) r=(f(*r)) fill=(fill) stroke="#333333"
                    stroke-width=[dashed.then_some("1.6")] stroke-dasharray=[dashed.then_some("3 2")] {}
                text x=(f(cx + 16.0 + (r - 7.0).max(0.0))) y=(f(cy + 4.0)) { (label) }
            }
            LegendItem::Gap { x, y, label } => {
                rect x=(f(*x)) y=(f(*y)) width="16" height="16" fill="none" stroke="#DDDDDD" stroke-dasharray="3 3" {}
                text x=(f(x + 24.0)) y=(f(y + 12.0)) { (label) }
            }
        }
    }
}

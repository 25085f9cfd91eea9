//! Forest plot (as metafor's `forest()`): one row per study with its CI and
//! a square sized by weight, the estimate \[CI\] and weight printed beside each
//! row, the pooled diamond, the prediction interval, and "tau^2, I^2, Q(df),
//! p" under it. Ratio measures use a log axis labelled on the ratio scale.

use super::meta::pfmt;
use super::svg::{clip, f, wrap};
use crate::meta::{GroupResult, Measure, Method};
use maud::{html, Markup};

const LEFT: f64 = 220.0;
const PLOT_W: f64 = 360.0;
const RIGHT: f64 = 200.0;
const ROW: f64 = 20.0;
const TOP: f64 = 56.0;

fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= 6.0).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut v = Vec::new();
    while t <= hi + 1e-12 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

/// `x` to `d` decimals, in scientific notation from 1e9 on, or "not
/// computable" (e.g. a ratio too large to exponentiate).
fn num(x: f64, d: usize) -> String {
    if !x.is_finite() {
        "not computable".into()
    } else if x.abs() >= 1e9 {
        format!("{x:.d$e}")
    } else {
        format!("{x:.d$}")
    }
}

fn fmt_est(x: f64, ratio: bool) -> String {
    num(if ratio { x.exp() } else { x }, 2)
}

/// Render the overall (or one subgroup's) analysis as SVG.
pub fn render_svg(g: &GroupResult, measure: Measure, title: &str) -> String {
    let mut s = match layout(g, measure, title) {
        Some(l) => emit(&l).into_string(),
        None => no_fit(title, g.error.as_deref().unwrap_or("unknown")).into_string(),
    };
    s.push('\n');
    s
}

/// A forest plot laid out: positions and texts, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// The whole title (for the accessible name).
    pub title: String,
    /// The title wrapped to the image's width.
    pub title_lines: Vec<(f64, String)>,
    /// Baseline of the column headings.
    pub head_y: f64,
    pub scale_note: String,
    /// The no-effect line.
    pub zero_x: f64,
    pub zero_y1: f64,
    pub zero_y2: f64,
    pub studies: Vec<StudyRow>,
    pub pooled: PooledRow,
    pub axis_y: f64,
    pub ticks: Vec<(f64, String)>,
    pub heterogeneity: (f64, String),
}

/// One study's row: its label, CI line, weight square and numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRow {
    pub y: f64,
    pub study: String,
    pub yi: f64,
    pub weight: f64,
    pub label: String,
    pub shown: String,
    pub ci_x1: f64,
    pub ci_x2: f64,
    pub square_x: f64,
    pub square_y: f64,
    pub side: f64,
    pub numbers: String,
}

/// The pooled diamond, prediction interval and numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct PooledRow {
    pub y: f64,
    pub estimate: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub pi_lower: f64,
    pub pi_upper: f64,
    pub pi_x1: f64,
    pub pi_x2: f64,
    pub lo_x: f64,
    pub est_x: f64,
    pub hi_x: f64,
    pub model: String,
    pub numbers: String,
}

/// Characters of the 14-unit bold title per unit of width.
const TITLE_CHAR_W: f64 = 8.6;

/// Lay out a fitted analysis (`None`: no fit).
pub fn layout(g: &GroupResult, measure: Measure, title: &str) -> Option<Layout> {
    let fit = g.fit.as_ref()?;
    let ratio = measure.is_ratio();
    let k = g.studies.len();
    let ci = |y: f64, v: f64| (y - 1.959_963_984_540_054 * v.sqrt(), y + 1.959_963_984_540_054 * v.sqrt());
    let mut lo = fit.pi_lower.min(fit.ci_lower);
    let mut hi = fit.pi_upper.max(fit.ci_upper);
    for s in &g.studies {
        let (a, b) = ci(s.yi, s.vi);
        lo = lo.min(a);
        hi = hi.max(b);
    }
    // The no-effect line stays on the axis: 0, or log 1 for a ratio.
    lo = lo.min(0.0);
    hi = hi.max(0.0);
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    // Bounds near the largest finite number: draw on a nominal axis rather
    // than compute NaN coordinates.
    let (lo, hi) = if (hi - lo).is_finite() && hi > lo { (lo, hi) } else { (-1.0, 1.0) };
    let x = |v: f64| LEFT + (v.clamp(lo, hi) - lo) / (hi - lo) * PLOT_W;
    let width = LEFT + PLOT_W + RIGHT;
    let title_lines: Vec<(f64, String)> = wrap(title, ((width - 20.0) / TITLE_CHAR_W) as usize)
        .into_iter()
        .enumerate()
        .map(|(i, t)| (22.0 + 18.0 * i as f64, t))
        .collect();
    let top = TOP + 18.0 * (title_lines.len() as f64 - 1.0);
    let height = top + ROW * (k as f64 + 5.0) + 60.0;
    let wmax = g.studies.iter().map(|s| s.weight).fold(0.0, f64::max).max(1e-9);
    let bottom = top + ROW * (k as f64 + 1.0);
    let studies = g
        .studies
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let y = top + ROW * (i as f64 + 0.5);
            let (a, b) = ci(st.yi, st.vi);
            let side = 4.0 + 10.0 * (st.weight / wmax).sqrt();
            let label =
                if st.records > 1 { format!("{} ({} records)", st.study, st.records) } else { st.study.clone() };
            StudyRow {
                y,
                study: st.study.clone(),
                yi: st.yi,
                weight: st.weight,
                shown: clip(&label, 30),
                label,
                ci_x1: x(a),
                ci_x2: x(b),
                square_x: x(st.yi) - side / 2.0,
                square_y: y - side / 2.0,
                side,
                numbers: format!(
                    "{} [{}, {}]   {:.1}%",
                    fmt_est(st.yi, ratio),
                    fmt_est(a, ratio),
                    fmt_est(b, ratio),
                    st.weight
                ),
            }
        })
        .collect();
    let yd = bottom + ROW * 0.8;
    let model = if fit.method == Method::EE { "EE model".to_string() } else { format!("RE model ({})", fit.method) };
    let pooled = PooledRow {
        y: yd,
        estimate: fit.estimate,
        ci_lower: fit.ci_lower,
        ci_upper: fit.ci_upper,
        pi_lower: fit.pi_lower,
        pi_upper: fit.pi_upper,
        pi_x1: x(fit.pi_lower),
        pi_x2: x(fit.pi_upper),
        lo_x: x(fit.ci_lower),
        est_x: x(fit.estimate),
        hi_x: x(fit.ci_upper),
        model,
        numbers: format!(
            "{} [{}, {}]   100%",
            fmt_est(fit.estimate, ratio),
            fmt_est(fit.ci_lower, ratio),
            fmt_est(fit.ci_upper, ratio)
        ),
    };
    let axis_y = yd + ROW;
    let ticks = axis_ticks(lo, hi, ratio).into_iter().map(|t| (x(t), tick_label(t, ratio))).collect();
    let het = format!(
        "tau^2 = {}, I^2 = {:.1}%, Q({}) = {}, p = {}; prediction interval [{}, {}]",
        num(fit.tau2, 3),
        fit.i2,
        fit.q_df,
        num(fit.q, 2),
        super::meta::stat_text(&fit.q_pval, pfmt),
        fmt_est(fit.pi_lower, ratio),
        fmt_est(fit.pi_upper, ratio)
    );
    Some(Layout {
        width,
        height,
        title: title.to_string(),
        title_lines,
        head_y: top - 8.0,
        scale_note: if ratio { format!("{measure} (log scale)") } else { measure.to_string() },
        zero_x: x(0.0),
        zero_y1: top - 4.0,
        zero_y2: bottom,
        studies,
        pooled,
        axis_y,
        ticks,
        heterogeneity: (axis_y + 40.0, het),
    })
}

/// Tick positions on the analysis scale: round ratios for ratio measures.
fn axis_ticks(lo: f64, hi: f64, ratio: bool) -> Vec<f64> {
    if !ratio {
        return nice_ticks(lo, hi);
    }
    let cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0];
    let inside: Vec<f64> = cands.iter().map(|c: &f64| c.ln()).filter(|l| *l >= lo && *l <= hi).collect();
    if inside.len() > 7 {
        inside.into_iter().step_by(2).collect()
    } else {
        inside
    }
}

fn tick_label(t: f64, ratio: bool) -> String {
    if ratio {
        format!("{}", (t.exp() * 100.0).round() / 100.0)
    } else {
        format!("{}", (t * 1000.0).round() / 1000.0)
    }
}

/// A plot that cannot be drawn says why.
fn no_fit(title: &str, reason: &str) -> Markup {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="600" height="60" class="forest" {
            text x="10" y="30" { (title) ": no fit (" (reason) ")" }
        }
    }
}

/// The laid-out plot as SVG (escaped by maud; valid XML).
pub fn emit(l: &Layout) -> Markup {
    let right = f(l.width - 10.0);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(f(l.width)) height=(f(l.height)) viewBox=(format!("0 0 {} {}", f(l.width), f(l.height)))
            font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="11" role="img" aria-label=(l.title) class="forest" {
            rect width="100%" height="100%" fill="white" {}
            @for (y, t) in &l.title_lines {
                text x="10" y=(f(*y)) font-size="14" font-weight="bold" class="forest-title" { (t) }
            }
            text x="10" y=(f(l.head_y)) font-weight="bold" { "Study" }
            text x=(right) y=(f(l.head_y)) font-weight="bold" text-anchor="end" xml:space="preserve" { (l.scale_note) " [95% CI]   weight" }
            line x1=(f(l.zero_x)) y1=(f(l.zero_y1)) x2=(f(l.zero_x)) y2=(f(l.zero_y2)) stroke="#999999" stroke-dasharray="2 2" {}
            @for st in &l.studies { (study_row(st, &right)) }
            (pooled_row(&l.pooled, &right))
            line x1=(f(LEFT)) y1=(f(l.axis_y)) x2=(f(LEFT + PLOT_W)) y2=(f(l.axis_y)) stroke="#000000" {}
            @for (x, label) in &l.ticks {
                line x1=(f(*x)) y1=(f(l.axis_y)) x2=(f(*x)) y2=(f(l.axis_y + 4.0)) stroke="#000000" {}
                text x=(f(*x)) y=(f(l.axis_y + 16.0)) text-anchor="middle" class="tick" { (label) }
            }
            text x="10" y=(f(l.heterogeneity.0)) class="heterogeneity" { (l.heterogeneity.1) }
        }
    }
}

fn study_row(st: &StudyRow, right: &str) -> Markup {
    html! {
        g class="study" data-study=(st.study) data-yi=(st.yi) data-weight=(st.weight) {
            text x="10" y=(f(st.y + 4.0)) { title { (st.label) } (st.shown) }
            line x1=(f(st.ci_x1)) y1=(f(st.y)) x2=(f(st.ci_x2)) y2=(f(st.y)) stroke="#000000" {}
            rect x=(f(st.square_x)) y=(f(st.square_y)) width=(f(st.side)) height=(f(st.side)) fill="#0072B2" {}
            text x=(right) y=(f(st.y + 4.0)) text-anchor="end" xml:space="preserve" { (st.numbers) }
        }
    }
}

fn pooled_row(p: &PooledRow, right: &str) -> Markup {
    let points = format!(
        "{},{y} {},{} {},{y} {},{}",
        f(p.lo_x),
        f(p.est_x),
        f(p.y - 6.0),
        f(p.hi_x),
        f(p.est_x),
        f(p.y + 6.0),
        y = f(p.y)
    );
    html! {
        g class="pooled" data-estimate=(p.estimate) data-ci-lower=(p.ci_lower) data-ci-upper=(p.ci_upper)
            data-pi-lower=(p.pi_lower) data-pi-upper=(p.pi_upper) {
            line x1=(f(p.pi_x1)) y1=(f(p.y)) x2=(f(p.pi_x2)) y2=(f(p.y)) stroke="#555555" stroke-dasharray="4 2" {}
            polygon points=(points) fill="#333333" {}
            text x="10" y=(f(p.y + 4.0)) font-weight="bold" { (p.model) }
            text x=(right) y=(f(p.y + 4.0)) text-anchor="end" font-weight="bold" xml:space="preserve" { (p.numbers) }
        }
    }
}

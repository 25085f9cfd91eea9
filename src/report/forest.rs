//! Forest plot (as metafor's `forest()`): one row per study with its CI and
//! a square sized by weight, the estimate \[CI\] and weight printed beside each
//! row, the pooled diamond, the prediction interval, and "tau^2, I^2, Q(df),
//! p" under it. Ratio measures use a log axis labelled on the ratio scale.

use super::meta::pfmt;
use super::svg::{clip, esc, f};
use crate::meta::{GroupResult, Measure, Method};
use std::fmt::Write;

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
    let Some(fit) = &g.fit else {
        return format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"60\"><text x=\"10\" y=\"30\">{}: no fit ({})</text></svg>\n",
            esc(title),
            esc(g.error.as_deref().unwrap_or("unknown"))
        );
    };
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
    let height = TOP + ROW * (k as f64 + 5.0) + 60.0;
    let width = LEFT + PLOT_W + RIGHT;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="11" role="img" aria-label="{t}"><rect width="100%" height="100%" fill="white"/>"#,
        w = f(width),
        h = f(height),
        t = esc(title)
    );
    let _ = write!(s, r#"<text x="10" y="22" font-size="14" font-weight="bold">{}</text>"#, esc(title));
    let scale_note = if ratio { format!("{measure} (log scale)") } else { measure.to_string() };
    let _ = write!(
        s,
        r#"<text x="10" y="{}" font-weight="bold">Study</text><text x="{}" y="{}" font-weight="bold" text-anchor="end">{} [95% CI]   weight</text>"#,
        f(TOP - 8.0),
        f(width - 10.0),
        f(TOP - 8.0),
        esc(&scale_note)
    );
    let wmax = g.studies.iter().map(|s| s.weight).fold(0.0, f64::max).max(1e-9);
    let zero = x(0.0);
    let bottom = TOP + ROW * (k as f64 + 1.0);
    let _ = write!(
        s,
        r##"<line x1="{z}" y1="{}" x2="{z}" y2="{}" stroke="#999999" stroke-dasharray="2 2"/>"##,
        f(TOP - 4.0),
        f(bottom),
        z = f(zero)
    );
    for (i, st) in g.studies.iter().enumerate() {
        let y = TOP + ROW * (i as f64 + 0.5);
        let (a, b) = ci(st.yi, st.vi);
        let side = 4.0 + 10.0 * (st.weight / wmax).sqrt();
        let label = if st.records > 1 { format!("{} ({} records)", st.study, st.records) } else { st.study.clone() };
        let _ = write!(
            s,
            r##"<g class="study" data-study="{}" data-yi="{}" data-weight="{}"><text x="10" y="{}"><title>{}</title>{}</text><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#000000"/><rect x="{}" y="{}" width="{}" height="{}" fill="#0072B2"/><text x="{}" y="{}" text-anchor="end">{} [{}, {}]   {:.1}%</text></g>"##,
            esc(&st.study),
            st.yi,
            st.weight,
            f(y + 4.0),
            esc(&label),
            esc(&clip(&label, 30)),
            f(x(a)),
            f(y),
            f(x(b)),
            f(y),
            f(x(st.yi) - side / 2.0),
            f(y - side / 2.0),
            f(side),
            f(side),
            f(width - 10.0),
            f(y + 4.0),
            fmt_est(st.yi, ratio),
            fmt_est(a, ratio),
            fmt_est(b, ratio),
            st.weight
        );
    }
    // Pooled diamond and prediction interval.
    let yd = bottom + ROW * 0.8;
    let model = if fit.method == Method::EE { "EE model".to_string() } else { format!("RE model ({})", fit.method) };
    let _ = write!(
        s,
        r##"<g class="pooled" data-estimate="{}" data-ci-lower="{}" data-ci-upper="{}" data-pi-lower="{}" data-pi-upper="{}"><line x1="{}" y1="{yd}" x2="{}" y2="{yd}" stroke="#555555" stroke-dasharray="4 2"/><polygon points="{},{yd} {},{} {},{yd} {},{}" fill="#333333"/><text x="10" y="{}" font-weight="bold">{}</text><text x="{}" y="{}" text-anchor="end" font-weight="bold">{} [{}, {}]   100%</text></g>"##,
        fit.estimate,
        fit.ci_lower,
        fit.ci_upper,
        fit.pi_lower,
        fit.pi_upper,
        f(x(fit.pi_lower)),
        f(x(fit.pi_upper)),
        f(x(fit.ci_lower)),
        f(x(fit.estimate)),
        f(yd - 6.0),
        f(x(fit.ci_upper)),
        f(x(fit.estimate)),
        f(yd + 6.0),
        f(yd + 4.0),
        esc(&model),
        f(width - 10.0),
        f(yd + 4.0),
        fmt_est(fit.estimate, ratio),
        fmt_est(fit.ci_lower, ratio),
        fmt_est(fit.ci_upper, ratio),
        yd = f(yd)
    );
    // Axis.
    let ya = yd + ROW;
    let _ = write!(
        s,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#000000"/>"##,
        f(LEFT),
        f(ya),
        f(LEFT + PLOT_W),
        f(ya)
    );
    let ticks: Vec<f64> = if ratio {
        let cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0];
        let inside: Vec<f64> = cands.iter().map(|c: &f64| c.ln()).filter(|l| *l >= lo && *l <= hi).collect();
        if inside.len() > 7 {
            inside.into_iter().step_by(2).collect()
        } else {
            inside
        }
    } else {
        nice_ticks(lo, hi)
    };
    for t in ticks {
        let label = if ratio {
            format!("{}", (t.exp() * 100.0).round() / 100.0)
        } else {
            format!("{}", (t * 1000.0).round() / 1000.0)
        };
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#000000"/><text x="{x}" y="{}" text-anchor="middle" class="tick">{}</text>"##,
            f(ya),
            f(ya + 4.0),
            f(ya + 16.0),
            label,
            x = f(x(t))
        );
    }
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
    let _ = write!(s, r#"<text x="10" y="{}" class="heterogeneity">{}</text></svg>"#, f(ya + 40.0), esc(&het));
    s.push('\n');
    s
}

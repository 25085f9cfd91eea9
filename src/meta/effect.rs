//! Effect sizes `yi` and sampling variances `vi`, as metafor's `escalc()`
//! computes them.

use crate::model::{is_ratio_measure, EffectInput};
use crate::stats::{self, Stat};
use serde::Serialize;
use std::fmt;

/// z quantile for a two-sided 95% interval, as used to back-calculate SEs.
pub const Z975: f64 = 1.959_963_984_540_054;

/// Effect-size measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Measure {
    /// log risk ratio
    RR,
    /// log odds ratio
    OR,
    /// risk difference
    RD,
    /// raw mean difference
    MD,
    /// standardised mean difference (Hedges' g)
    SMD,
    /// generic: effect and SE given as they are
    GEN,
}

impl Measure {
    pub const NAMES: &'static str = "RR, OR, RD, MD, SMD, GEN";

    pub fn parse(s: &str) -> Option<Measure> {
        let s = s.trim();
        for m in [Measure::RR, Measure::OR, Measure::RD, Measure::MD, Measure::SMD, Measure::GEN] {
            if s.eq_ignore_ascii_case(m.name()) {
                return Some(m);
            }
        }
        match s.to_ascii_uppercase().as_str() {
            "RR" | "LOGRR" | "RISK RATIO" => Some(Measure::RR),
            "OR" | "LOGOR" | "ODDS RATIO" => Some(Measure::OR),
            "RD" | "RISK DIFFERENCE" => Some(Measure::RD),
            "MD" | "MEAN DIFFERENCE" => Some(Measure::MD),
            "SMD" | "D" | "G" | "HEDGES G" | "COHEN D" | "GLASS" => Some(Measure::SMD),
            "GEN" | "GENERIC" => Some(Measure::GEN),
            _ => None,
        }
    }

    /// Measures of how often something happens (risk and odds ratios, risk
    /// differences): on violence outcomes fewer is better.
    pub fn is_incidence(self) -> bool {
        matches!(self, Measure::RR | Measure::OR | Measure::RD)
    }

    /// Analysed on the log scale, reported exponentiated.
    pub fn is_ratio(self) -> bool {
        matches!(self, Measure::RR | Measure::OR)
    }

    pub fn name(self) -> &'static str {
        match self {
            Measure::RR => "RR",
            Measure::OR => "OR",
            Measure::RD => "RD",
            Measure::MD => "MD",
            Measure::SMD => "SMD",
            Measure::GEN => "GEN",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which inputs produced an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectSource {
    /// `yi` with `vi` (or `se`) on the analysis scale.
    GivenYiVi,
    /// `effect_size` with `se` or `variance`.
    GivenSe,
    /// `effect_size` with a 95% CI.
    GivenCi,
    /// 2x2 counts.
    Counts,
    /// Counts with 0.5 added to every cell (a zero cell).
    CountsCorrected,
    /// Means, SDs and group sizes.
    Means,
}

/// An effect on the analysis scale with its sampling variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effect {
    pub yi: f64,
    pub vi: f64,
    pub measure: Measure,
    pub source: EffectSource,
}

/// Why no effect could be computed for a row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EffectError(pub String);

/// Compute `yi`, `vi` for one row, in the documented order of preference:
/// given effect with SE/variance; given effect with 95% CI; 2x2 counts;
/// means and SDs. `wanted` is the analysis's measure (needed for counts and
/// means; checked against the row's own `measure` otherwise).
///
/// # Formula
/// RR: `yi = ln((a/n1)/(c/n2))`, `vi = 1/a - 1/n1 + 1/c - 1/n2`;
/// OR: `yi = ln(a d / (b c))`, `vi = 1/a + 1/b + 1/c + 1/d`;
/// RD: `yi = a/n1 - c/n2`, `vi = p1(1-p1)/n1 + p2(1-p2)/n2`;
/// with 0.5 added to all four cells of a table with a zero cell (metafor's
/// `add=1/2, to="only0"`); tables with no events (or only events) in both
/// arms are excluded for RR and OR.
/// MD: `yi = m1 - m2`, `vi = sd1^2/n1 + sd2^2/n2`.
/// SMD (Hedges' g): `g = J(m) (m1 - m2) / s_pooled`, `m = n1 + n2 - 2`,
/// `J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))`,
/// `vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`.
/// Source: Viechtbauer (2010), metafor `escalc()` documentation; Borenstein
/// et al. (2009), ch. 4-5; Hedges (1981).
///
/// # Errors
/// Non-positive variance, n <= 1 for an SMD, a double-zero table for RR/OR,
/// a measure that contradicts the row's own, missing inputs.
pub fn compute_effect(e: &EffectInput, wanted: Option<Measure>) -> Result<Effect, EffectError> {
    let row_measure = match e.measure.as_deref() {
        Some(m) => Some(
            Measure::parse(m)
                .ok_or_else(|| EffectError(format!("unknown measure '{m}'; expected one of {}", Measure::NAMES)))?,
        ),
        None => None,
    };
    if let (Some(w), Some(r)) = (wanted, row_measure) {
        if w != r {
            return Err(EffectError(format!("row's measure is {r} but the analysis uses {w}")));
        }
    }
    let m = wanted.or(row_measure);
    let ratio_given = e.measure.as_deref().is_some_and(is_ratio_measure) || m.is_some_and(Measure::is_ratio);

    if let Some(yi) = e.yi {
        let vi = match (e.vi, e.se) {
            (Some(v), _) => v,
            (None, Some(se)) => se_variance(se)?,
            (None, None) => return Err(EffectError("yi is given without vi or se".into())),
        };
        return finish(yi, vi, m.unwrap_or(Measure::GEN), EffectSource::GivenYiVi);
    }
    if let Some(es) = e.effect_size {
        let yi = if ratio_given {
            if es <= 0.0 {
                return Err(EffectError(format!("effect_size {es} must be > 0 for a ratio measure")));
            }
            es.ln()
        } else {
            es
        };
        if let Some(v) = e.variance.map(Ok).or(e.se.map(se_variance)) {
            return finish(yi, v?, m.unwrap_or(Measure::GEN), EffectSource::GivenSe);
        }
        if let (Some(lo), Some(hi)) = (e.ci_lower, e.ci_upper) {
            if hi.is_nan() || lo.is_nan() || hi <= lo {
                return Err(EffectError(format!(
                    "the 95% CI [{lo}, {hi}] has {}; ci_upper must be greater than ci_lower",
                    if hi == lo { "zero width" } else { "its bounds reversed" }
                )));
            }
            let se = if ratio_given {
                if lo <= 0.0 || hi <= 0.0 {
                    return Err(EffectError(format!("ratio-scale CI [{lo}, {hi}] must have positive bounds")));
                }
                (hi.ln() - lo.ln()) / (2.0 * Z975)
            } else {
                (hi - lo) / (2.0 * Z975)
            };
            return finish(yi, se * se, m.unwrap_or(Measure::GEN), EffectSource::GivenCi);
        }
    }
    if let (Some(a), Some(n1), Some(c), Some(n2)) = (e.events_t, e.n_t, e.events_c, e.n_c) {
        let m = m.ok_or_else(|| EffectError("2x2 counts need a measure: RR, OR or RD (--measure)".into()))?;
        return counts(a, n1, c, n2, m);
    }
    if let (Some(m1), Some(s1), Some(n1), Some(m2), Some(s2), Some(n2)) =
        (e.mean_t, e.sd_t, e.n_t, e.mean_c, e.sd_c, e.n_c)
    {
        return means(m1, s1, n1, m2, s2, n2, m.unwrap_or(Measure::SMD));
    }
    Err(EffectError(
        "no usable effect size: give effect_size with se/variance or a 95% CI, yi with vi, 2x2 counts, or means/SDs/ns"
            .into(),
    ))
}

fn finish(yi: f64, vi: f64, measure: Measure, source: EffectSource) -> Result<Effect, EffectError> {
    if !yi.is_finite() {
        let why = if yi.is_nan() { "is not a number" } else { "overflows (too large for a floating-point number)" };
        return Err(EffectError(format!("the effect on the analysis scale {why}")));
    }
    if vi.is_nan() {
        return Err(EffectError("the sampling variance is not a number".into()));
    }
    if vi.is_infinite() {
        return Err(EffectError("the sampling variance overflows (the standard error is too large)".into()));
    }
    if vi <= 0.0 {
        return Err(EffectError(format!("sampling variance {vi} must be finite and > 0")));
    }
    // Weights are 1/vi: below the smallest normal number they overflow.
    if vi < f64::MIN_POSITIVE {
        return Err(EffectError(format!("sampling variance {vi:e} is below 2.2e-308 (its weight would overflow)")));
    }
    Ok(Effect { yi, vi, measure, source })
}

fn counts(a: f64, n1: f64, c: f64, n2: f64, m: Measure) -> Result<Effect, EffectError> {
    if !matches!(m, Measure::RR | Measure::OR | Measure::RD) {
        return Err(EffectError(format!("2x2 counts give RR, OR or RD, not {m}")));
    }
    let (b, d) = (n1 - a, n2 - c);
    if a < 0.0 || b < 0.0 || c < 0.0 || d < 0.0 {
        return Err(EffectError(format!("events exceed group size (events_t {a}, n_t {n1}, events_c {c}, n_c {n2})")));
    }
    if m != Measure::RD && ((a == 0.0 && c == 0.0) || (b == 0.0 && d == 0.0)) {
        let what = if a == 0.0 { "no events" } else { "only events" };
        return Err(EffectError(format!(
            "{what} in both arms: the {m} is not estimable; the study is excluded from {m} pooling"
        )));
    }
    let zero = a == 0.0 || b == 0.0 || c == 0.0 || d == 0.0;
    let (a, b, c, d, src) = if zero {
        (a + 0.5, b + 0.5, c + 0.5, d + 0.5, EffectSource::CountsCorrected)
    } else {
        (a, b, c, d, EffectSource::Counts)
    };
    let (n1, n2) = (a + b, c + d);
    let (yi, vi) = match m {
        Measure::RR => (((a / n1) / (c / n2)).ln(), 1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2),
        Measure::OR => (((a * d) / (b * c)).ln(), 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d),
        _ => {
            let (p1, p2) = (a / n1, c / n2);
            (p1 - p2, p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2)
        }
    };
    finish(yi, vi, m, src)
}

/// `se^2` for a standard error that is finite and > 0 (a negative SE is
/// a data error, not a variance to square away).
fn se_variance(se: f64) -> Result<f64, EffectError> {
    if se.is_finite() && se > 0.0 {
        Ok(se * se)
    } else {
        Err(EffectError(format!("se {se} must be a finite number greater than 0")))
    }
}

/// Hedges' exact small-sample correction J(m).
///
/// # Errors
/// Not computable for `m <= 1` or non-finite `m`.
pub fn hedges_j(m: f64) -> Stat {
    let j = (stats::ln_gamma(m / 2.0)? - (m / 2.0).sqrt().ln() - stats::ln_gamma((m - 1.0) / 2.0)?).exp();
    stats::finite("Hedges' correction J", j)
}

fn means(m1: f64, s1: f64, n1: f64, m2: f64, s2: f64, n2: f64, m: Measure) -> Result<Effect, EffectError> {
    match m {
        Measure::MD => finish(m1 - m2, s1 * s1 / n1 + s2 * s2 / n2, m, EffectSource::Means),
        Measure::SMD => {
            if n1 <= 1.0 || n2 <= 1.0 {
                return Err(EffectError(format!(
                    "an SMD needs more than 1 participant per group (n_t {n1}, n_c {n2})"
                )));
            }
            let df = n1 + n2 - 2.0;
            let sp = (((n1 - 1.0) * s1 * s1 + (n2 - 1.0) * s2 * s2) / df).sqrt();
            if sp <= 0.0 {
                return Err(EffectError("both SDs are 0: the SMD is undefined".into()));
            }
            let j =
                hedges_j(df).map_err(|e| EffectError(format!("Hedges' correction J({df}): not computable ({e})")))?;
            let g = j * (m1 - m2) / sp;
            finish(g, 1.0 / n1 + 1.0 / n2 + g * g / (2.0 * (n1 + n2)), m, EffectSource::Means)
        }
        other => Err(EffectError(format!("means and SDs give MD or SMD, not {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn hedges_j_closed_form_approximation() {
        // J(m) ~ 1 - 3/(4m - 1) (Hedges 1981); exact value at m = 10:
        // Gamma(5)/(sqrt(5) Gamma(4.5)) = 24 / (2.2360680 * 11.6317284) = 0.9227456
        assert!(close(hedges_j(10.0).unwrap(), 0.922_745_6, 1e-6));
        assert!((hedges_j(200.0).unwrap() - (1.0 - 3.0 / 799.0)).abs() < 1e-5);
    }

    #[test]
    fn log_rr_by_hand() {
        // dat.bcg trial 1 (Aronson 1948): 4/123 vs 11/139.
        let e = EffectInput {
            events_t: Some(4.0),
            n_t: Some(123.0),
            events_c: Some(11.0),
            n_c: Some(139.0),
            ..Default::default()
        };
        let r = compute_effect(&e, Some(Measure::RR)).unwrap();
        let yi = ((4.0 / 123.0) / (11.0 / 139.0_f64)).ln();
        assert!(close(r.yi, yi, 1e-12));
        assert!(close(r.vi, 1.0 / 4.0 - 1.0 / 123.0 + 1.0 / 11.0 - 1.0 / 139.0, 1e-12));
        // metafor escalc(measure="RR") for this trial: yi = -0.8893, vi = 0.3256
        assert!((r.yi - -0.8893).abs() < 5e-5 && (r.vi - 0.3256).abs() < 5e-5);
    }

    #[test]
    fn zero_cells() {
        let e = EffectInput {
            events_t: Some(0.0),
            n_t: Some(10.0),
            events_c: Some(2.0),
            n_c: Some(10.0),
            ..Default::default()
        };
        let r = compute_effect(&e, Some(Measure::OR)).unwrap();
        assert_eq!(r.source, EffectSource::CountsCorrected);
        assert!(close(r.yi, ((0.5 * 8.5) / (10.5 * 2.5_f64)).ln(), 1e-12));
        let e = EffectInput {
            events_t: Some(0.0),
            n_t: Some(10.0),
            events_c: Some(0.0),
            n_c: Some(12.0),
            ..Default::default()
        };
        assert!(compute_effect(&e, Some(Measure::RR)).unwrap_err().0.contains("no events in both arms"));
        assert!(compute_effect(&e, Some(Measure::RD)).is_ok());
    }

    #[test]
    fn ratio_ci_back_calculation() {
        // dat.hackshaw1998 study 1: OR 1.18 [0.90, 1.54]; vi as in the README formula.
        let e = EffectInput {
            effect_size: Some(1.18),
            ci_lower: Some(0.9),
            ci_upper: Some(1.54),
            measure: Some("OR".into()),
            ..Default::default()
        };
        let r = compute_effect(&e, None).unwrap();
        assert!(close(r.yi, 0.165_514_438_477_573_33, 1e-12));
        assert!(close(r.vi, 0.018_776_885_485_068_11, 1e-9));
    }

    #[test]
    fn smd_and_errors() {
        let e = EffectInput {
            mean_t: Some(55.0),
            sd_t: Some(47.0),
            n_t: Some(155.0),
            mean_c: Some(75.0),
            sd_c: Some(64.0),
            n_c: Some(156.0),
            ..Default::default()
        };
        let r = compute_effect(&e, Some(Measure::MD)).unwrap();
        assert!(close(r.yi, -20.0, 1e-12));
        assert!(close(r.vi, 47.0 * 47.0 / 155.0 + 64.0 * 64.0 / 156.0, 1e-12));
        let r = compute_effect(&e, Some(Measure::SMD)).unwrap();
        let sp = ((154.0 * 47.0 * 47.0 + 155.0 * 64.0 * 64.0) / 309.0_f64).sqrt();
        let g = hedges_j(309.0).unwrap() * -20.0 / sp;
        assert!(close(r.yi, g, 1e-12));
        let mut e1 = e.clone();
        e1.n_t = Some(1.0);
        assert!(compute_effect(&e1, Some(Measure::SMD)).unwrap_err().0.contains("more than 1"));
        let mixed =
            EffectInput { effect_size: Some(0.2), se: Some(0.1), measure: Some("OR".into()), ..Default::default() };
        assert!(compute_effect(&mixed, Some(Measure::SMD)).unwrap_err().0.contains("uses SMD"));
    }
}

//! Equal- and random-effects models for `yi`, `vi` (intercept only), with
//! the tau^2 estimators and inference of metafor's `rma.uni()`.

use crate::stats::{self, NotComputable, Stat};
use serde::Serialize;
use std::fmt;

/// Estimator of the between-study variance tau^2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// Equal (fixed) effect: tau^2 = 0.
    EE,
    /// DerSimonian-Laird.
    DL,
    /// Hedges (variance-component / Cochran ANOVA).
    HE,
    /// Sidik-Jonkman.
    SJ,
    /// Maximum likelihood (Fisher scoring).
    ML,
    /// Restricted maximum likelihood (Fisher scoring), metafor's default.
    REML,
    /// Paule-Mandel (generalised Q = k - 1).
    PM,
}

impl Method {
    pub const NAMES: &'static str = "EE, DL, HE, SJ, ML, REML, PM";

    pub fn parse(s: &str) -> Option<Method> {
        match s.trim().to_ascii_uppercase().as_str() {
            "EE" | "FE" => Some(Method::EE),
            "DL" => Some(Method::DL),
            "HE" => Some(Method::HE),
            "SJ" => Some(Method::SJ),
            "ML" => Some(Method::ML),
            "REML" => Some(Method::REML),
            "PM" => Some(Method::PM),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Test statistic for the pooled estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// Normal (z) test.
    Z,
    /// Knapp-Hartung / Hartung-Knapp-Sidik-Jonkman: t with k - 1 df.
    Knha,
    /// The modified Knapp-Hartung method (Röver, Knapp & Friede 2015): as
    /// `Knha`, with the variance factor at least 1 (metafor `test = "adhoc"`).
    Adhoc,
}

impl fmt::Display for TestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TestKind::Z => "z",
            TestKind::Knha => "knha",
            TestKind::Adhoc => "adhoc",
        })
    }
}

/// Fitting options. Defaults: REML, z-test, 95% level, tolerance 1e-10 on
/// tau^2 change, at most 1000 Fisher-scoring iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    pub method: Method,
    pub test: TestKind,
    pub level: f64,
    pub tol: f64,
    pub max_iter: usize,
    /// Compute the Q-profile CI for tau^2 (skipped in per-cell scoring).
    pub tau2_ci: bool,
    /// Compute the test statistic's and Q's p-values (skipped in per-cell
    /// scoring, which reads neither; they are then "not computable" with
    /// that reason).
    pub p_values: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            method: Method::REML,
            test: TestKind::Z,
            level: 0.95,
            tol: 1e-10,
            max_iter: 1000,
            tau2_ci: true,
            p_values: true,
        }
    }
}

/// Fitting failures; each is a reported result, never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetaError {
    #[error("no studies to pool")]
    Empty,
    #[error("yi and vi have different lengths ({0} and {1})")]
    Length(usize, usize),
    #[error("study {index}: {}", bad_variance(*vi))]
    BadVariance { index: usize, vi: f64 },
    #[error("study {index}: the effect {}", if yi.is_nan() { "is not a number" } else { "overflows (too large for a floating-point number)" })]
    BadEffect { index: usize, yi: f64 },
    /// A core number of the fit (estimate, SE, CI, tau^2, Q, I^2) has no
    /// finite value, e.g. effects so large that their squares overflow.
    #[error("{what}: not computable ({reason})")]
    NotComputable { what: &'static str, reason: NotComputable },
}

/// Results of one fit, named as in metafor's output. Every `f64` is
/// finite (the fit is refused otherwise); the test statistic, p-values and
/// the tau^2 CI can each be "not computable" with a reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetaFit {
    pub k: usize,
    /// The estimator used (DL when ML, REML or PM did not converge; see
    /// `notes`).
    pub method: Method,
    pub test: TestKind,
    pub estimate: f64,
    pub se: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    /// z or t statistic (not computable when the SE is 0).
    pub stat: Stat,
    /// Degrees of freedom of the t-test (Knapp-Hartung), `None` for z.
    pub df: Option<f64>,
    pub pval: Stat,
    pub tau2: f64,
    pub tau: f64,
    /// Q-profile CI for tau^2 (`None` when k < 2 or not asked for).
    pub tau2_ci_lower: Option<Stat>,
    pub tau2_ci_upper: Option<Stat>,
    /// I^2 in percent.
    pub i2: f64,
    pub h2: f64,
    pub q: f64,
    pub q_df: usize,
    pub q_pval: Stat,
    pub pi_lower: f64,
    pub pi_upper: f64,
    /// Model weights in percent, in input order.
    pub weights: Vec<f64>,
    /// Fisher-scoring iterations (ML/REML), else 0.
    pub iterations: usize,
    /// Why the fit differs from what was asked (e.g. k < 2, an estimator
    /// that did not converge).
    pub notes: Vec<String>,
}

/// Fit the model.
///
/// # Formula
/// Weights `w_i = 1/(v_i + tau^2)`; estimate `sum w y / sum w`; `se =
/// sqrt(1/sum w)`; Q uses `w_i = 1/v_i`. tau^2 estimators as in
/// Viechtbauer (2005) and metafor's `rma.uni()`; I^2 = tau^2/(tau^2 + s^2)
/// with `s^2 = (k-1) sum w / ((sum w)^2 - sum w^2)` (Higgins & Thompson
/// 2002); prediction interval `estimate -/+ crit sqrt(se^2 + tau^2)`;
/// tau^2 CI by the Q-profile method (Viechtbauer 2007). Full derivations in
/// `docs/meta-analysis.md`.
///
/// With k = 1 a random-effects fit is reported as EE with a note. When
/// ML, REML or PM does not converge (or meets a non-finite value), the
/// DerSimonian-Laird estimate is used and a note says why.
///
/// # Errors
/// [`MetaError`] for empty or invalid input, and when a core number has no
/// finite value.
pub fn fit(yi: &[f64], vi: &[f64], opts: &FitOptions) -> Result<MetaFit, MetaError> {
    validate(yi, vi)?;
    let k = yi.len();
    let mut notes = Vec::new();
    let mut method = opts.method;
    if k < 2 && method != Method::EE {
        notes.push(format!(
            "k = {k}: a random-effects model ({method}) needs at least 2 studies; reporting the equal-effects (EE) fit"
        ));
        method = Method::EE;
    }
    let core =
        |what: &'static str, x: f64| stats::finite(what, x).map_err(|reason| MetaError::NotComputable { what, reason });
    let (tau2, iterations) = match estimate_tau2(yi, vi, method, opts) {
        Ok(t) => t,
        Err(reason) if matches!(method, Method::ML | Method::REML | Method::PM) => {
            let dl = estimate_tau2(yi, vi, Method::DL, opts).map_err(|reason| MetaError::NotComputable {
                what: "tau^2 (neither the estimator asked for nor the DerSimonian-Laird fallback)",
                reason,
            })?;
            notes.push(match &reason {
                NotComputable::NotConverged { iterations, .. } => {
                    format!("{method} did not converge in {iterations} iterations; DerSimonian-Laird used")
                }
                other => format!("{method}: not computable ({other}); DerSimonian-Laird used"),
            });
            method = Method::DL;
            dl
        }
        Err(reason) => return Err(MetaError::NotComputable { what: "tau^2", reason }),
    };
    let tau2 = core("tau^2", tau2)?;
    let (q, q_df) = cochran_q(yi, vi);
    let q = core("Cochran's Q", q)?;
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw = core("the sum of the weights", w.iter().sum())?;
    let est = core("the pooled estimate", weighted_mean(&w, yi, sw))?;
    let mut se = core("the standard error", (1.0 / sw).sqrt())?;
    let mut test = opts.test;
    if matches!(test, TestKind::Knha | TestKind::Adhoc) && k < 2 {
        notes.push("k < 2: the Knapp-Hartung test needs k - 1 >= 1 degrees of freedom; using the z-test".into());
        test = TestKind::Z;
    }
    let alpha = 1.0 - opts.level;
    let (crit, df) = match test {
        TestKind::Z => (stats::normal_quantile(1.0 - alpha / 2.0), None),
        TestKind::Knha | TestKind::Adhoc => {
            let df = (k - 1) as f64;
            let mut s2 = w.iter().zip(yi).map(|(wi, y)| wi * (y - est).powi(2)).sum::<f64>() / df;
            if test == TestKind::Adhoc {
                s2 = s2.max(1.0);
            }
            se = core("the Knapp-Hartung standard error", (s2 / sw).sqrt())?;
            (stats::t_quantile(1.0 - alpha / 2.0, df), Some(df))
        }
    };
    let crit = crit.map_err(|reason| MetaError::NotComputable { what: "the critical value", reason })?;
    let stat = if se > 0.0 {
        stats::finite("the test statistic", est / se)
    } else {
        Err(NotComputable::degenerate(
            "the standard error is 0: the effects do not vary around the estimate".to_string(),
        ))
    };
    let not_asked = || Err(NotComputable::degenerate("p-values were not asked for".to_string()));
    let pval = if opts.p_values {
        stat.clone().and_then(|s| match df {
            None => stats::normal_sf(s.abs()).map(|p| 2.0 * p),
            Some(d) => stats::t_sf(s.abs(), d).map(|p| 2.0 * p),
        })
    } else {
        not_asked()
    };
    let (i2, h2) = if method == Method::EE {
        if q_df > 0 && q > 0.0 {
            ((100.0 * ((q - q_df as f64) / q)).max(0.0), q / q_df as f64)
        } else {
            (0.0, 1.0)
        }
    } else {
        let s2 = typical_variance(vi);
        (100.0 * (tau2 / (tau2 + s2)), (tau2 + s2) / s2)
    };
    let i2 = core("I^2", i2)?;
    let h2 = core("H^2", h2)?;
    let half = core("the CI half-width", crit * se)?;
    let pi_half = core("the prediction interval half-width", crit * (se * se + tau2).sqrt())?;
    let (tau2_ci_lower, tau2_ci_upper) = if k >= 2 && opts.tau2_ci {
        match q_profile_ci(yi, vi, opts.level) {
            Ok((lo, hi)) => (Some(Ok(lo)), Some(Ok(hi))),
            Err(e) => (Some(Err(e.clone())), Some(Err(e))),
        }
    } else {
        (None, None)
    };
    let weights: Vec<f64> = w.iter().map(|wi| 100.0 * wi / sw).collect();
    Ok(MetaFit {
        k,
        method,
        test,
        estimate: est,
        se,
        ci_lower: core("the CI lower bound", est - half)?,
        ci_upper: core("the CI upper bound", est + half)?,
        stat,
        df,
        pval,
        tau2,
        tau: tau2.sqrt(),
        tau2_ci_lower,
        tau2_ci_upper,
        i2,
        h2,
        q,
        q_df,
        q_pval: if !opts.p_values {
            not_asked()
        } else if q_df > 0 {
            stats::chisq_sf(q, q_df as f64)
        } else {
            Ok(1.0)
        },
        pi_lower: core("the prediction interval lower bound", est - pi_half)?,
        pi_upper: core("the prediction interval upper bound", est + pi_half)?,
        weights,
        iterations,
        notes,
    })
}

fn bad_variance(vi: f64) -> String {
    if vi.is_nan() {
        "the sampling variance is not a number".into()
    } else if vi.is_infinite() {
        "the sampling variance overflows (too large for a floating-point number)".into()
    } else if vi <= 0.0 {
        format!("sampling variance {vi} must be finite and > 0")
    } else {
        format!("sampling variance {vi:e} is below 2.2e-308 (its weight would overflow)")
    }
}

fn validate(yi: &[f64], vi: &[f64]) -> Result<(), MetaError> {
    if yi.len() != vi.len() {
        return Err(MetaError::Length(yi.len(), vi.len()));
    }
    if yi.is_empty() {
        return Err(MetaError::Empty);
    }
    for (index, (&y, &v)) in yi.iter().zip(vi).enumerate() {
        if !y.is_finite() {
            return Err(MetaError::BadEffect { index, yi: y });
        }
        if !(v.is_finite() && v >= f64::MIN_POSITIVE) {
            return Err(MetaError::BadVariance { index, vi: v });
        }
    }
    Ok(())
}

/// `sum w y / sw`, computed about the first value (`y_0 + sum w (y - y_0) /
/// sw`): identical effects give exactly their common value, so their
/// residuals, Q and the Knapp-Hartung factor are exactly 0.
pub(crate) fn weighted_mean(w: &[f64], y: &[f64], sw: f64) -> f64 {
    let y0 = y.first().copied().unwrap_or(0.0);
    y0 + w.iter().zip(y).map(|(w, y)| w * (y - y0)).sum::<f64>() / sw
}

/// `sum (y - ybar)^2`, the mean taken about the first value (exactly 0
/// for identical effects).
fn sum_of_squares(yi: &[f64]) -> f64 {
    // `weighted_mean` with unit weights (1 x d is d exactly), unallocated.
    let y0 = yi.first().copied().unwrap_or(0.0);
    let mean = y0 + yi.iter().map(|y| y - y0).sum::<f64>() / yi.len() as f64;
    yi.iter().map(|y| (y - mean).powi(2)).sum()
}

/// Cochran's Q with inverse-variance weights, and its df.
pub fn cochran_q(yi: &[f64], vi: &[f64]) -> (f64, usize) {
    (generalised_q_with(yi, vi, |v| 1.0 / v), yi.len().saturating_sub(1))
}

/// Generalised Q at a given tau^2: `sum w_i (y_i - mu(tau^2))^2`.
pub fn generalised_q(yi: &[f64], vi: &[f64], tau2: f64) -> f64 {
    generalised_q_with(yi, vi, |v| 1.0 / (v + tau2))
}

/// `sum w (y - mu)^2` with `w = weight(v)`, `mu` as [`weighted_mean`]
/// computes it (the weights are recomputed instead of stored: the same
/// values, in the same order, without an allocation).
fn generalised_q_with(yi: &[f64], vi: &[f64], weight: impl Fn(f64) -> f64) -> f64 {
    let y0 = yi.first().copied().unwrap_or(0.0);
    let (sw, swd) = weighted_sums(yi, vi, y0, &weight);
    let mu = y0 + swd / sw;
    vi.iter().zip(yi).map(|(v, y)| weight(*v) * (y - mu).powi(2)).sum()
}

/// `(sum w, sum w (y - y0))` with `w = weight(v)`, each summed in input
/// order from -0.0 as `Iterator::sum` does.
fn weighted_sums(yi: &[f64], vi: &[f64], y0: f64, weight: impl Fn(f64) -> f64) -> (f64, f64) {
    let (mut sw, mut swd) = (-0.0, -0.0);
    for (v, y) in vi.iter().zip(yi) {
        let w = weight(*v);
        sw += w;
        swd += w * (y - y0);
    }
    (sw, swd)
}

/// metafor's "typical" within-study variance s^2 used for I^2 and H^2.
/// `(sum w)^2 - sum w^2` is computed as `sum_i w_i (sum_{j != i} w_j)`,
/// on weights scaled to a maximum of 1, so that neither cancellation nor
/// overflow can make it 0 or infinite for valid variances.
fn typical_variance(vi: &[f64]) -> f64 {
    let k = vi.len() as f64;
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
    let top = w.iter().cloned().fold(0.0, f64::max);
    let u: Vec<f64> = w.iter().map(|x| x / top).collect();
    let su: f64 = u.iter().sum();
    let mut after = vec![0.0; u.len() + 1];
    for i in (0..u.len()).rev() {
        after[i] = after[i + 1] + u[i];
    }
    let mut before = 0.0;
    let mut cross = 0.0;
    for (i, x) in u.iter().enumerate() {
        cross += x * (before + after[i + 1]);
        before += x;
    }
    (k - 1.0) * su / cross / top
}

fn estimate_tau2(yi: &[f64], vi: &[f64], method: Method, opts: &FitOptions) -> Stat<(f64, usize)> {
    let k = yi.len() as f64;
    let ss = sum_of_squares(yi);
    let tau2 = match method {
        Method::EE => 0.0,
        Method::DL => {
            let (q, _) = cochran_q(yi, vi);
            let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
            let sw: f64 = w.iter().sum();
            let sw2: f64 = w.iter().map(|x| x * x).sum();
            ((q - (k - 1.0)) / (sw - sw2 / sw)).max(0.0)
        }
        Method::HE => (ss / (k - 1.0) - vi.iter().sum::<f64>() / k).max(0.0),
        Method::SJ => {
            let t0 = ss / k;
            if t0 <= 0.0 {
                0.0
            } else {
                t0 * generalised_q(yi, vi, t0) / (k - 1.0)
            }
        }
        Method::ML | Method::REML => return fisher_scoring(yi, vi, method, opts),
        Method::PM => paule_mandel(yi, vi)?,
    };
    // `max(0.0)` turns NaN into 0: check the unclamped ingredients too.
    if !ss.is_finite() {
        return Err(NotComputable::NotFinite {
            what: "the sum of squared deviations of the effects".into(),
            value: ss,
        });
    }
    Ok((stats::finite(&format!("tau^2 ({method})"), tau2)?, 0))
}

/// Fisher scoring for ML and REML, started at the HE estimate (0 if
/// negative); a step below 0 is truncated at 0.
fn fisher_scoring(yi: &[f64], vi: &[f64], method: Method, opts: &FitOptions) -> Stat<(f64, usize)> {
    let k = yi.len() as f64;
    let ss = sum_of_squares(yi);
    let start = (ss / (k - 1.0) - vi.iter().sum::<f64>() / k).max(0.0);
    let start = if ss.is_finite() { start } else { f64::NAN };
    let y0 = yi.first().copied().unwrap_or(0.0);
    // One pass for the sums, one for the residuals; no allocation. Each sum
    // runs in input order from -0.0, as `Iterator::sum` does, so the
    // iterates are the same numbers as with stored weights.
    let step = |tau2: f64| {
        let (mut sw, mut sw2, mut sw3, mut swd) = (-0.0, -0.0, -0.0, -0.0);
        for (v, y) in vi.iter().zip(yi) {
            let x = 1.0 / (v + tau2);
            sw += x;
            sw2 += x * x;
            sw3 += x * x * x;
            swd += x * (y - y0);
        }
        let mu = y0 + swd / sw;
        // P y = W (y - mu); y'PPy = sum w^2 (y - mu)^2.
        let ypy2: f64 = vi.iter().zip(yi).map(|(v, y)| (1.0 / (v + tau2) * (y - mu)).powi(2)).sum();
        let adj = match method {
            Method::ML => (ypy2 - sw) / sw2,
            _ => {
                let tr_p = sw - sw2 / sw;
                let tr_pp = sw2 - 2.0 * sw3 / sw + (sw2 / sw).powi(2);
                (ypy2 - tr_p) / tr_pp
            }
        };
        // Truncate at 0 (the boundary optimum is then reached exactly); a
        // NaN step stays NaN and is reported.
        let new = tau2 + adj;
        if new.is_nan() {
            new
        } else {
            new.max(0.0)
        }
    };
    let c = stats::iterate(&method.to_string(), start, opts.tol, opts.max_iter, step)?;
    Ok((c.value, c.iterations))
}

/// Paule-Mandel: the tau^2 at which the generalised Q equals k - 1 (0 when
/// Q(0) <= k - 1), found by bisection to machine precision.
fn paule_mandel(yi: &[f64], vi: &[f64]) -> Stat {
    let target = (yi.len() - 1) as f64;
    Ok(solve_q("the Paule-Mandel equation", yi, vi, target)?.unwrap_or(0.0))
}

/// The tau^2 >= 0 where the (decreasing) generalised Q equals `target`;
/// `None` when Q(0) <= target.
fn solve_q(what: &str, yi: &[f64], vi: &[f64], target: f64) -> Stat<Option<f64>> {
    let hi = 1.0_f64.max(vi.iter().cloned().fold(0.0, f64::max));
    stats::root_decreasing(what, |t| generalised_q(yi, vi, t), target, hi)
}

/// Q-profile confidence interval for tau^2 (Viechtbauer 2007): the tau^2
/// values where the generalised Q equals the chi-square(k-1) quantiles
/// 1 - alpha/2 (lower bound) and alpha/2 (upper bound), truncated at 0.
///
/// # Errors
/// k < 2, a level outside (0, 1), or a root that cannot be found.
pub fn q_profile_ci(yi: &[f64], vi: &[f64], level: f64) -> Stat<(f64, f64)> {
    if yi.len() < 2 {
        return Err(NotComputable::degenerate(format!("k = {}: the Q-profile needs at least 2 studies", yi.len())));
    }
    let df = (yi.len() - 1) as f64;
    let alpha = 1.0 - level;
    let lo = solve_q("the Q-profile lower bound", yi, vi, stats::chisq_quantile(1.0 - alpha / 2.0, df)?)?;
    let hi = solve_q("the Q-profile upper bound", yi, vi, stats::chisq_quantile(alpha / 2.0, df)?)?;
    Ok((lo.unwrap_or(0.0), hi.unwrap_or(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An estimator that does not converge falls back to DerSimonian-Laird
    /// with a note in words, instead of failing the fit. y = (0, 1), v =
    /// (0.01, 0.04): DL tau^2 = ((y1 - y2)^2 - v1 - v2)/2 = 0.475.
    #[test]
    fn reml_that_does_not_converge_falls_back_to_dl_with_a_note() {
        let opts = FitOptions { method: Method::REML, max_iter: 1, tol: 0.0, ..FitOptions::default() };
        let f = fit(&[0.0, 1.0], &[0.01, 0.04], &opts).unwrap();
        assert_eq!(f.method, Method::DL);
        assert!((f.tau2 - 0.475).abs() < 1e-12, "{}", f.tau2);
        assert_eq!(f.notes, vec!["REML did not converge in 1 iterations; DerSimonian-Laird used".to_string()]);
    }

    /// Effects whose squares overflow: the fit is refused with the reason.
    #[test]
    fn overflowing_effects_are_not_computable() {
        let e = fit(&[1e300, -1e300], &[0.01, 0.01], &FitOptions::default()).unwrap_err();
        assert!(matches!(e, MetaError::NotComputable { .. }), "{e}");
        assert!(e.to_string().contains("not computable"), "{e}");
    }

    /// Regression (found by the property test): `100 (Q - df)/Q` rounded to
    /// 100.00000000000001 for the EE fit of this table.
    #[test]
    fn i2_never_exceeds_100() {
        let t = [
            (0.0, 1.7555051356732172),
            (0.3, 1.418720263116087),
            (0.0, 1.1575463010087614),
            (0.0, 0.161245154965971),
            (-7.97561334273505e149, 5.380669377300245e-7),
            (0.0, 0.3599173386364679),
            (0.0, 0.32174685425386623),
            (0.0, 0.9220690860551757),
            (0.0, 0.3745709555162168),
            (1e-300, 0.20573353007384002),
        ];
        let y: Vec<f64> = t.iter().map(|x| x.0).collect();
        let v: Vec<f64> = t.iter().map(|x| x.1 * x.1).collect();
        for method in [Method::EE, Method::DL, Method::REML] {
            let f = fit(&y, &v, &FitOptions { method, ..FitOptions::default() }).unwrap();
            assert!((0.0..=100.0).contains(&f.i2), "{method}: {}", f.i2);
        }
    }
}

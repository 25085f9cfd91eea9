//! Total statistics: every distribution function, decomposition and
//! iteration the rest of evidex needs, as functions that never panic.
//!
//! This module is the only place that calls `statrs` (and `nalgebra`); a
//! test (`tests/integration/degenerate.rs`) fails if any other file under
//! `src/` mentions either. statrs validates its constructors but panics
//! deep inside on some arguments (e.g. `StudentsT::sf` on NaN:
//! `XOutOfRange` in `beta_reg`); metafor answers `NA` with a warning. Here
//! each function checks its arguments first and answers
//! `Err(`[`NotComputable`]`)` with a reason in words when an argument is
//! not finite, out of range or degenerate, or when the result would not be
//! a finite number. Callers show "not computable (reason)" instead of NaN.
//!
//! "Not computable" means: the formula has no finite answer for these
//! inputs (a t statistic with a standard error of 0, a regression whose
//! residuals have no variance, an iteration that did not converge, a
//! probability outside (0, 1)). It is a result to report, not an error in
//! the program.
//!
//! Data flow: `meta` (fit, Egger, cluster-robust inference, Q-profile) and
//! `score` (beta intervals of the score band) call in; nothing here formats
//! text for people beyond the reason.

use serde::Serialize;
use statrs::distribution::{Beta, ContinuousCDF, Normal, StudentsT};
use std::fmt;

/// Why a statistic has no finite value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NotComputable {
    /// An argument or intermediate result is NaN or infinite.
    #[error("{what} {}", if value.is_nan() { "is not a number" } else { "overflows (too large for a floating-point number)" })]
    NotFinite { what: String, value: f64 },
    /// An argument outside the domain of the function.
    #[error("{what} is {value}; it must be {allowed}")]
    OutOfRange { what: String, value: f64, allowed: &'static str },
    /// The data leave the statistic undefined (the reason in words).
    #[error("{0}")]
    Degenerate(String),
    /// An iteration that reached its limit.
    #[error("{what} did not converge in {iterations} iterations (last change {change:e})")]
    NotConverged { what: String, iterations: usize, change: f64 },
}

impl NotComputable {
    /// A degenerate-data reason.
    pub fn degenerate(reason: impl Into<String>) -> Self {
        NotComputable::Degenerate(reason.into())
    }
}

impl Serialize for NotComputable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A number, or why there is none.
pub type Stat<T = f64> = Result<T, NotComputable>;

/// `x` itself when finite.
///
/// # Errors
/// [`NotComputable::NotFinite`] naming `what`.
pub fn finite(what: &str, x: f64) -> Stat {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(NotComputable::NotFinite { what: what.to_string(), value: x })
    }
}

fn not_nan(what: &str, x: f64) -> Stat {
    if x.is_nan() {
        Err(NotComputable::NotFinite { what: what.to_string(), value: x })
    } else {
        Ok(x)
    }
}

fn probability_open(p: f64) -> Stat {
    if p.is_finite() && p > 0.0 && p < 1.0 {
        Ok(p)
    } else {
        Err(NotComputable::OutOfRange { what: "the probability".into(), value: p, allowed: "strictly between 0 and 1" })
    }
}

/// Degrees of freedom: `> 0` and large enough that `df / 2` is positive;
/// `+inf` is allowed where the limit is the normal distribution.
fn degrees_of_freedom(df: f64, allow_inf: bool) -> Stat {
    if df.is_nan() || (df.is_infinite() && !(allow_inf && df > 0.0)) {
        return Err(NotComputable::NotFinite { what: "the degrees of freedom".into(), value: df });
    }
    // Not NaN here (checked above), so `<=` is the whole test.
    if df / 2.0 <= 0.0 {
        return Err(NotComputable::OutOfRange {
            what: "the degrees of freedom".into(),
            value: df,
            allowed: "greater than 0",
        });
    }
    Ok(df)
}

fn result(what: &str, x: f64) -> Stat {
    finite(what, x)
}

/// A probability that came out of a library call, checked to be in [0, 1].
fn probability_result(what: &str, p: f64) -> Stat {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(NotComputable::NotFinite { what: what.to_string(), value: p })
    }
}

fn standard_normal() -> Stat<Normal> {
    Normal::new(0.0, 1.0).map_err(|e| NotComputable::degenerate(format!("the standard normal distribution: {e}")))
}

/// Standard normal distribution function `P(Z <= x)`; `x` may be infinite.
///
/// # Errors
/// `x` is NaN.
pub fn normal_cdf(x: f64) -> Stat {
    not_nan("the normal quantile", x)?;
    probability_result("the normal probability", standard_normal()?.cdf(x))
}

/// Standard normal survival function `P(Z > x)`; `x` may be infinite.
///
/// # Errors
/// `x` is NaN.
pub fn normal_sf(x: f64) -> Stat {
    not_nan("the normal quantile", x)?;
    probability_result("the normal probability", standard_normal()?.sf(x))
}

/// Standard normal quantile: the `x` with `P(Z <= x) = p`.
///
/// # Errors
/// `p` not strictly between 0 and 1 (the quantile would be infinite).
///
/// # Examples
/// ```
/// let z = evidex::stats::normal_quantile(0.975).unwrap();
/// assert!((z - 1.959_963_984_540_054).abs() < 1e-12);
/// assert!(evidex::stats::normal_quantile(1.0).is_err());
/// ```
pub fn normal_quantile(p: f64) -> Stat {
    probability_open(p)?;
    result("the normal quantile", standard_normal()?.inverse_cdf(p))
}

/// Upper tail `P(T > |x|)`-style half of the regularised incomplete beta
/// function: `0.5 I_h(df/2, 1/2)` with `h = df / (df + x^2)`.
fn t_half_tail(x: f64, df: f64) -> Stat {
    let h = df / (df + x * x);
    let h = if h.is_nan() { 0.0 } else { h.clamp(0.0, 1.0) };
    statrs::function::beta::checked_beta_reg(df / 2.0, 0.5, h)
        .map(|ib| 0.5 * ib)
        .map_err(|e| NotComputable::degenerate(format!("the t distribution with {df} degrees of freedom at {x}: {e}")))
}

/// Student t distribution function `P(T <= x)` on `df` degrees of freedom
/// (`df = inf` is the normal distribution); `x` may be infinite.
///
/// # Errors
/// `x` is NaN, or `df` is NaN or not positive.
pub fn t_cdf(x: f64, df: f64) -> Stat {
    not_nan("the t statistic", x)?;
    degrees_of_freedom(df, true)?;
    if df.is_infinite() {
        return normal_cdf(x);
    }
    if x.is_infinite() {
        return Ok(if x > 0.0 { 1.0 } else { 0.0 });
    }
    let tail = t_half_tail(x, df)?;
    probability_result("the t probability", if x <= 0.0 { tail } else { 1.0 - tail })
}

/// Student t survival function `P(T > x)` on `df` degrees of freedom.
///
/// # Errors
/// As [`t_cdf`].
///
/// # Examples
/// ```
/// // t(1) is the Cauchy distribution: P(T > 1) = 1/4.
/// assert!((evidex::stats::t_sf(1.0, 1.0).unwrap() - 0.25).abs() < 1e-12);
/// assert!(evidex::stats::t_sf(f64::NAN, 3.0).is_err());
/// ```
pub fn t_sf(x: f64, df: f64) -> Stat {
    not_nan("the t statistic", x)?;
    degrees_of_freedom(df, true)?;
    if df.is_infinite() {
        return normal_sf(x);
    }
    if x.is_infinite() {
        return Ok(if x > 0.0 { 0.0 } else { 1.0 });
    }
    let tail = t_half_tail(x, df)?;
    probability_result("the t probability", if x <= 0.0 { 1.0 - tail } else { tail })
}

/// Student t quantile on `df` degrees of freedom.
///
/// # Errors
/// `p` not strictly between 0 and 1, `df` NaN or not positive, or a
/// quantile too large to represent.
pub fn t_quantile(p: f64, df: f64) -> Stat {
    probability_open(p)?;
    degrees_of_freedom(df, true)?;
    if df.is_infinite() {
        return normal_quantile(p);
    }
    let d = StudentsT::new(0.0, 1.0, df)
        .map_err(|e| NotComputable::degenerate(format!("the t distribution with {df} degrees of freedom: {e}")))?;
    result("the t quantile", d.inverse_cdf(p))
}

/// Chi-squared survival function `P(X > x)` on `df` degrees of freedom.
///
/// # Errors
/// `x` NaN, or `df` not finite and positive.
pub fn chisq_sf(x: f64, df: f64) -> Stat {
    not_nan("the chi-squared statistic", x)?;
    degrees_of_freedom(df, false)?;
    if x <= 0.0 {
        return Ok(1.0);
    }
    if x.is_infinite() {
        return Ok(0.0);
    }
    let p = statrs::function::gamma::checked_gamma_ur(df / 2.0, x / 2.0).map_err(|e| {
        NotComputable::degenerate(format!("the chi-squared distribution with {df} degrees of freedom at {x}: {e}"))
    })?;
    probability_result("the chi-squared probability", p)
}

/// Chi-squared quantile on `df` degrees of freedom, by bisection on the
/// distribution function (lower half) or the survival function (upper
/// half), to machine precision. (statrs' `ChiSquared::inverse_cdf` answers
/// NaN for 1 df at p = 0.025.)
///
/// # Errors
/// `p` not strictly between 0 and 1, or `df` not finite and positive.
pub fn chisq_quantile(p: f64, df: f64) -> Stat {
    probability_open(p)?;
    degrees_of_freedom(df, false)?;
    let a = df / 2.0;
    let x = if p <= 0.5 {
        let cdf = |x: f64| {
            if x <= 0.0 {
                0.0
            } else {
                statrs::function::gamma::checked_gamma_lr(a, x / 2.0).unwrap_or(f64::NAN)
            }
        };
        root_decreasing("the chi-squared quantile", |x| -cdf(x), -p, df.max(1.0))?
    } else {
        let sf = |x: f64| {
            if x <= 0.0 {
                1.0
            } else {
                statrs::function::gamma::checked_gamma_ur(a, x / 2.0).unwrap_or(f64::NAN)
            }
        };
        root_decreasing("the chi-squared quantile", sf, 1.0 - p, df.max(1.0))?
    };
    let x = x.ok_or_else(|| NotComputable::degenerate(format!("no chi-squared({df}) quantile at {p}")))?;
    result("the chi-squared quantile", x)
}

/// Quantile of Beta(`a`, `b`) at `p` in [0, 1].
///
/// # Errors
/// `a` or `b` not finite and positive, or `p` outside [0, 1].
pub fn beta_quantile(p: f64, a: f64, b: f64) -> Stat {
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        return Err(NotComputable::OutOfRange { what: "the probability".into(), value: p, allowed: "between 0 and 1" });
    }
    for (what, s) in [("the first Beta shape", a), ("the second Beta shape", b)] {
        finite(what, s)?;
        if s <= 0.0 {
            return Err(NotComputable::OutOfRange { what: what.into(), value: s, allowed: "greater than 0" });
        }
    }
    let d = Beta::new(a, b).map_err(|e| NotComputable::degenerate(format!("Beta({a}, {b}): {e}")))?;
    probability_result("the Beta quantile", d.inverse_cdf(p))
}

/// `ln Gamma(x)` for finite `x > 0`.
///
/// # Errors
/// `x` not finite and positive, or a result that overflows.
pub fn ln_gamma(x: f64) -> Stat {
    finite("the argument of ln Gamma", x)?;
    if x <= 0.0 {
        return Err(NotComputable::OutOfRange {
            what: "the argument of ln Gamma".into(),
            value: x,
            allowed: "greater than 0",
        });
    }
    result("ln Gamma", statrs::function::gamma::ln_gamma(x))
}

/// `G^(-1/2)` of a symmetric positive-definite `n x n` matrix (row-major),
/// by eigen-decomposition.
///
/// # Errors
/// A non-finite entry, an eigenvalue not clearly positive (below `1e-14`
/// times the largest), or a non-finite result.
pub fn inverse_sqrt_spd(g: &[f64], n: usize) -> Stat<Vec<f64>> {
    use nalgebra::{DMatrix, SymmetricEigen};
    if g.len() != n * n {
        return Err(NotComputable::degenerate(format!("a {n} x {n} matrix needs {} entries, not {}", n * n, g.len())));
    }
    if let Some(x) = g.iter().find(|x| !x.is_finite()) {
        return Err(NotComputable::NotFinite { what: "a matrix entry".into(), value: *x });
    }
    let eig = SymmetricEigen::new(DMatrix::from_row_slice(n, n, g));
    let top = eig.eigenvalues.iter().cloned().fold(0.0, f64::max);
    if let Some(l) = eig.eigenvalues.iter().find(|l| l.is_nan() || **l <= 1e-14 * top.max(f64::MIN_POSITIVE)) {
        return Err(NotComputable::degenerate(format!("the matrix is not positive definite (eigenvalue {l:e})")));
    }
    let v = &eig.eigenvectors;
    let mut out = vec![0.0; n * n];
    for r in 0..n {
        for c in 0..n {
            let x: f64 = (0..n).map(|j| v[(r, j)] * v[(c, j)] / eig.eigenvalues[j].sqrt()).sum();
            out[r * n + c] = finite("an entry of the inverse square root", x)?;
        }
    }
    Ok(out)
}

/// A converged iteration: its value and the iterations used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Converged {
    pub value: f64,
    pub iterations: usize,
}

/// Iterate `x <- step(x)` from `start` until the change is below `tol`,
/// at most `max_iter` times.
///
/// # Errors
/// A non-finite value (named by `what`) or no convergence within
/// `max_iter` iterations.
pub fn iterate(what: &str, start: f64, tol: f64, max_iter: usize, mut step: impl FnMut(f64) -> f64) -> Stat<Converged> {
    // The messages are formatted only on failure (iterations are hot).
    if !start.is_finite() {
        return Err(NotComputable::NotFinite { what: format!("the starting value of {what}"), value: start });
    }
    let mut x = start;
    let mut change = f64::INFINITY;
    for it in 1..=max_iter {
        let new = step(x);
        if !new.is_finite() {
            return Err(NotComputable::NotFinite { what: format!("{what} at iteration {it}"), value: new });
        }
        change = (new - x).abs();
        x = new;
        if change < tol {
            return Ok(Converged { value: x, iterations: it });
        }
    }
    Err(NotComputable::NotConverged { what: what.to_string(), iterations: max_iter, change })
}

/// Bisection steps enough to narrow any bracket in `[0, f64::MAX]` to
/// relative machine precision.
const BISECTION_STEPS: usize = 2200;

/// The `x >= 0` where the decreasing function `g` equals `target`, or
/// `None` when `g(0) <= target`. The bracket starts at `[0, hi]` and
/// doubles until `g(hi) <= target`; bisection then runs to machine
/// precision.
///
/// # Errors
/// `g` not finite at a point it is evaluated at, or no bracket below the
/// largest finite number.
pub fn root_decreasing(what: &str, g: impl Fn(f64) -> f64, target: f64, hi: f64) -> Stat<Option<f64>> {
    finite(&format!("the target of {what}"), target)?;
    let at = |x: f64| finite(&format!("{what} at {x:e}"), g(x));
    if at(0.0)? <= target {
        return Ok(None);
    }
    let mut hi = finite(&format!("the starting bracket of {what}"), hi)?.max(f64::MIN_POSITIVE);
    while at(hi)? > target {
        hi *= 2.0;
        if !hi.is_finite() {
            return Err(NotComputable::degenerate(format!("{what}: no solution below the largest finite number")));
        }
    }
    let mut lo = 0.0;
    for _ in 0..BISECTION_STEPS {
        let mid = 0.5 * (lo + hi);
        if at(mid)? > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi.max(1e-300) {
            return Ok(Some(0.5 * (lo + hi)));
        }
    }
    Err(NotComputable::NotConverged { what: what.to_string(), iterations: BISECTION_STEPS, change: hi - lo })
}

/// "not computable (reason)", as every renderer shows a missing number.
pub struct Shown<'a>(pub &'a NotComputable);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not computable ({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values in closed form: t(1) is Cauchy, t(2) has
    // P(T > t) = 1/2 - t / (2 sqrt(t^2 + 2)) and quantile
    // (2p - 1) / sqrt(2 p (1 - p)); chi-squared(2) has P(X > x) = exp(-x/2)
    // and quantile -2 ln(1 - p); Beta(a, 1) has quantile p^(1/a);
    // Gamma(10) = 9!; Phi(-1) and the 97.5% normal quantile to 17 digits
    // (Abramowitz & Stegun, table 26.1; statrs' erfc is good to about
    // 1e-10 relative).
    #[test]
    fn values_agree_with_closed_forms() {
        let close = |a: f64, b: f64, tol: f64| assert!((a - b).abs() <= tol * b.abs().max(1e-300), "{a} vs {b}");
        close(normal_cdf(-1.0).unwrap(), 0.158_655_253_931_457_05, 1e-9);
        close(normal_sf(1.0).unwrap(), 0.158_655_253_931_457_05, 1e-9);
        close(normal_quantile(0.975).unwrap(), 1.959_963_984_540_054, 1e-12);
        close(t_sf(1.0, 1.0).unwrap(), 0.25, 1e-12);
        close(t_cdf(-1.0, 1.0).unwrap(), 0.25, 1e-12);
        let t2 = |t: f64| 0.5 - t / (2.0 * (t * t + 2.0).sqrt());
        close(t_sf(3.0, 2.0).unwrap(), t2(3.0), 1e-10);
        close(t_cdf(3.0, 2.0).unwrap(), 1.0 - t2(3.0), 1e-12);
        let q2 = |p: f64| (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
        close(t_quantile(0.975, 2.0).unwrap(), q2(0.975), 1e-9);
        close(t_quantile(0.1, 2.0).unwrap(), q2(0.1), 1e-9);
        close(chisq_sf(3.0, 2.0).unwrap(), (-1.5f64).exp(), 1e-10);
        close(chisq_quantile(0.025, 2.0).unwrap(), -2.0 * 0.975f64.ln(), 1e-12);
        close(chisq_quantile(0.975, 2.0).unwrap(), -2.0 * 0.025f64.ln(), 1e-12);
        // chi-squared(1) is Z^2: its p-quantile is the square of the normal
        // (1 + p)/2 quantile (a separate code path: erfc_inv); statrs' own
        // chi-squared inverse gives NaN at 0.025.
        let z = normal_quantile(0.5125).unwrap();
        close(chisq_quantile(0.025, 1.0).unwrap(), z * z, 1e-9);
        let z = normal_quantile(0.9875).unwrap();
        close(chisq_quantile(0.975, 1.0).unwrap(), z * z, 1e-9);
        close(beta_quantile(0.3, 2.0, 1.0).unwrap(), 0.3f64.sqrt(), 1e-10);
        close(beta_quantile(0.5, 2.0, 2.0).unwrap(), 0.5, 1e-12);
        close(ln_gamma(10.0).unwrap(), 362_880_f64.ln(), 1e-13);
    }

    #[test]
    fn out_of_domain_arguments_are_not_computable() {
        let x = f64::NAN;
        assert!(normal_cdf(x).is_err());
        assert!(normal_sf(x).is_err());
        assert!(t_sf(x, 3.0).is_err());
        assert!(t_cdf(x, 3.0).is_err());
        assert!(chisq_sf(x, 3.0).is_err());
        for p in [0.0, 1.0, -0.1, 1.1, f64::NAN, f64::INFINITY] {
            assert!(normal_quantile(p).is_err());
            assert!(t_quantile(p, 3.0).is_err());
            assert!(chisq_quantile(p, 3.0).is_err());
        }
        for df in [0.0, -1.0, f64::NAN, 5e-324] {
            assert!(t_sf(1.0, df).is_err(), "{df}");
            assert!(t_quantile(0.5, df).is_err(), "{df}");
            assert!(chisq_sf(1.0, df).is_err(), "{df}");
        }
        assert!(chisq_sf(1.0, f64::INFINITY).is_err());
        assert!(beta_quantile(0.5, 0.0, 1.0).is_err());
        assert!(beta_quantile(0.5, f64::NAN, 1.0).is_err());
        assert!(beta_quantile(1.5, 1.0, 1.0).is_err());
        assert!(ln_gamma(0.0).is_err());
        assert!(ln_gamma(f64::INFINITY).is_err());
    }

    #[test]
    fn infinite_statistics_have_limits() {
        assert_eq!(t_sf(f64::INFINITY, 3.0), Ok(0.0));
        assert_eq!(t_sf(f64::NEG_INFINITY, 3.0), Ok(1.0));
        assert_eq!(chisq_sf(f64::INFINITY, 2.0), Ok(0.0));
        assert_eq!(chisq_sf(0.0, 2.0), Ok(1.0));
        // t with infinite df is the normal distribution.
        assert_eq!(t_sf(1.5, f64::INFINITY), normal_sf(1.5));
    }

    #[test]
    fn inverse_square_root_of_a_diagonal_matrix() {
        let m = inverse_sqrt_spd(&[4.0, 0.0, 0.0, 9.0], 2).unwrap();
        let want = [0.5, 0.0, 0.0, 1.0 / 3.0];
        for (a, b) in m.iter().zip(want) {
            assert!((a - b).abs() < 1e-14, "{m:?}");
        }
        assert!(inverse_sqrt_spd(&[1.0, 1.0, 1.0, 1.0], 2).is_err(), "singular");
        assert!(inverse_sqrt_spd(&[f64::NAN], 1).is_err());
    }

    #[test]
    fn iterations_report_non_convergence_and_non_finite_values() {
        // x <- x/2 + 1 converges to 2.
        let c = iterate("halving", 0.0, 1e-12, 100, |x| x / 2.0 + 1.0).unwrap();
        assert!((c.value - 2.0).abs() < 1e-11);
        let e = iterate("REML", 0.0, 1e-10, 100, |x| x + 1.0).unwrap_err();
        assert!(e.to_string().starts_with("REML did not converge in 100 iterations"), "{e}");
        assert!(iterate("growth", 1.0, 1e-10, 5000, |x| x * 1e300).is_err());
        // sqrt(2) as the root of 4 - x^2 = 2.
        let r = root_decreasing("root", |x| 4.0 - x * x, 2.0, 1.0).unwrap().unwrap();
        assert!((r - 2f64.sqrt()).abs() < 1e-14);
        assert_eq!(root_decreasing("root", |x| 1.0 - x, 2.0, 1.0), Ok(None));
        assert!(root_decreasing("root", |_| f64::NAN, 2.0, 1.0).is_err());
        assert!(root_decreasing("root", |_| 3.0, 2.0, 1.0).is_err(), "no bracket");
    }
}

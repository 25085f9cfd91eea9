//! Small-study effects (Egger), leave-one-out, subgroup differences,
//! within-study aggregation and cluster-robust (CR1) inference.

use super::fit::{fit, weighted_mean, FitOptions, MetaError, MetaFit};
use crate::stats::{self, NotComputable, Stat};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Egger's regression test (classical version: weighted least squares of
/// `yi` on `sqrt(vi)` with weights `1/vi`, as metafor's
/// `regtest(model = "lm")`); tests the slope with t on k - 2 df.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Egger {
    pub intercept: f64,
    pub slope: f64,
    pub stat: f64,
    pub df: f64,
    pub pval: f64,
}

/// # Formula
/// Fit `y_i = b0 + b1 sqrt(v_i) + e_i`, `Var(e_i) = phi v_i`; `t = b1 /
/// se(b1)` with `se(b1)^2 = phi / S_xx`, `S_xx = sum w (x - xbar_w)^2`,
/// `phi = RSS_w/(k-2)` (sums computed about the weighted means, so equal
/// standard errors give `S_xx = 0` exactly rather than rounding noise).
/// Egger, Davey Smith, Schneider & Minder (1997), BMJ 315:629.
///
/// # Errors
/// Not computable when k < 3, when the standard errors are all equal
/// (nothing to regress on), when the residuals have no variance (e.g.
/// identical effects), or when a number overflows.
pub fn egger(yi: &[f64], vi: &[f64]) -> Stat<Egger> {
    let k = yi.len();
    if k < 3 {
        return Err(NotComputable::degenerate(format!("k = {k}: it needs at least 3 studies")));
    }
    let x: Vec<f64> = vi.iter().map(|v| v.sqrt()).collect();
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
    let sw = stats::finite("the sum of the weights", w.iter().sum())?;
    let xbar = weighted_mean(&w, &x, sw);
    let ybar = stats::finite("the weighted mean effect", weighted_mean(&w, yi, sw))?;
    let sxx: f64 = w.iter().zip(&x).map(|(w, x)| w * (x - xbar).powi(2)).sum();
    // Relative spread of the standard errors below 1e-10: rounding noise
    // (a NaN, incomparable, is refused too).
    if sxx.partial_cmp(&(1e-20 * sw * xbar * xbar)) != Some(Ordering::Greater) {
        return Err(NotComputable::degenerate("the standard errors are all equal, so there is nothing to regress on"));
    }
    let sxy: f64 = w.iter().zip(&x).zip(yi).map(|((w, x), y)| w * (x - xbar) * (y - ybar)).sum();
    let b1 = stats::finite("the slope", sxy / sxx)?;
    let b0 = stats::finite("the intercept", ybar - b1 * xbar)?;
    let syy: f64 = w.iter().zip(yi).map(|(w, y)| w * (y - ybar).powi(2)).sum();
    let rss: f64 = w.iter().zip(&x).zip(yi).map(|((w, x), y)| w * (y - b0 - b1 * x).powi(2)).sum();
    stats::finite("the residual sum of squares", rss)?;
    if rss.partial_cmp(&(1e-24 * syy)) != Some(Ordering::Greater) || syy == 0.0 {
        return Err(NotComputable::degenerate("the residuals have no variance"));
    }
    let df = (k - 2) as f64;
    let se_b1 = (rss / df / sxx).sqrt();
    let stat = stats::finite("the t statistic", b1 / se_b1)?;
    let pval = 2.0 * stats::t_sf(stat.abs(), df)?;
    Ok(Egger { intercept: b0, slope: b1, stat, df, pval })
}

/// [`egger`] when it is computable.
pub fn egger_test(yi: &[f64], vi: &[f64]) -> Option<Egger> {
    egger(yi, vi).ok()
}

/// One row of the leave-one-out table: the fit without study `omitted`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaveOneOut {
    pub omitted: usize,
    pub fit: MetaFit,
}

/// Refit with each study left out in turn (k >= 2).
///
/// # Errors
/// A refit that fails (e.g. non-convergence) is returned as the error.
pub fn leave_one_out(yi: &[f64], vi: &[f64], opts: &FitOptions) -> Result<Vec<LeaveOneOut>, MetaError> {
    if yi.len() < 2 {
        return Ok(Vec::new());
    }
    (0..yi.len())
        .map(|i| {
            let y: Vec<f64> = yi.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, v)| *v).collect();
            let v: Vec<f64> = vi.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, v)| *v).collect();
            Ok(LeaveOneOut { omitted: i, fit: fit(&y, &v, opts)? })
        })
        .collect()
}

/// Test for subgroup differences: `Q_between = sum_g (mu_g - mu)^2 / se_g^2`
/// with `mu` the inverse-variance mean of subgroup estimates, on G - 1 df
/// (Borenstein et al. 2009, ch. 19; the "test for subgroup differences"
/// of RevMan and R's meta).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupTest {
    pub q_between: f64,
    pub df: usize,
    pub pval: f64,
}

/// # Errors
/// Not computable when a subgroup's SE is 0 or a number overflows.
pub fn subgroup_test(fits: &[&MetaFit]) -> Option<Stat<SubgroupTest>> {
    if fits.len() < 2 {
        return None;
    }
    Some(subgroup_q(fits))
}

fn subgroup_q(fits: &[&MetaFit]) -> Stat<SubgroupTest> {
    if fits.iter().any(|f| f.se.is_nan() || f.se <= 0.0) {
        return Err(NotComputable::degenerate("a subgroup's standard error is 0"));
    }
    let w: Vec<f64> = fits.iter().map(|f| 1.0 / (f.se * f.se)).collect();
    let est: Vec<f64> = fits.iter().map(|f| f.estimate).collect();
    let mu = weighted_mean(&w, &est, w.iter().sum::<f64>());
    let q = stats::finite("Q_between", w.iter().zip(&est).map(|(w, e)| w * (e - mu).powi(2)).sum())?;
    let df = fits.len() - 1;
    Ok(SubgroupTest { q_between: q, df, pval: stats::chisq_sf(q, df as f64)? })
}

/// A study's composite effect after aggregating its effect sizes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Composite {
    pub study: String,
    pub yi: f64,
    pub vi: f64,
    /// Number of records combined.
    pub combined: usize,
}

/// Aggregate several effect sizes of one study into a composite: the mean
/// effect, with variance `(1/m^2) (sum v_i + sum_{i != j} r sqrt(v_i v_j))`
/// for an assumed within-study correlation `r` (Borenstein et al. 2009,
/// ch. 24). Studies keep the order of their first appearance.
pub fn aggregate_within_studies(studies: &[String], yi: &[f64], vi: &[f64], r: f64) -> Vec<Composite> {
    let mut order: Vec<&String> = Vec::new();
    let mut groups: BTreeMap<&String, Vec<usize>> = BTreeMap::new();
    for (i, s) in studies.iter().enumerate() {
        groups
            .entry(s)
            .or_insert_with(|| {
                order.push(s);
                Vec::new()
            })
            .push(i);
    }
    order
        .into_iter()
        .map(|s| {
            let idx = &groups[s];
            let y: Vec<f64> = idx.iter().map(|&i| yi[i]).collect();
            let v: Vec<f64> = idx.iter().map(|&i| vi[i]).collect();
            let (cy, cv) = composite(&y, &v, r);
            Composite { study: s.clone(), yi: cy, vi: cv, combined: idx.len() }
        })
        .collect()
}

/// The composite of one study's effect sizes `(y, v)`, in the given order:
/// mean effect and `(1/m^2) (sum v_i + sum_{i != j} r sqrt(v_i v_j))`.
pub fn composite(y: &[f64], v: &[f64], r: f64) -> (f64, f64) {
    let m = y.len() as f64;
    let mean = y.iter().sum::<f64>() / m;
    let mut var = 0.0;
    for (i, vi) in v.iter().enumerate() {
        for (j, vj) in v.iter().enumerate() {
            var += if i == j { *vi } else { r * (vi * vj).sqrt() };
        }
    }
    (mean, var / (m * m))
}

/// The small-sample adjustment of a cluster-robust variance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Vcov {
    /// `J/(J-1)` times the sandwich, t with `J - 1` df (metafor `robust(...,
    /// adjust = TRUE)`).
    CR1,
    /// Bell & McCaffrey's bias-reduced linearisation with
    /// Satterthwaite-type df (Pustejovsky & Tipton 2018; clubSandwich
    /// `vcovCR(type = "CR2")` with `coef_test(test = "Satterthwaite")`).
    CR2,
}

/// Cluster-robust (sandwich) inference for the pooled estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robust {
    pub vcov: Vcov,
    pub estimate: f64,
    pub se: f64,
    pub stat: f64,
    pub df: f64,
    pub pval: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub clusters: usize,
}

/// # Formula
/// With model weights `w_i = 1/(v_i + tau^2)` and residuals `e_i = y_i - b`:
/// `V = n_c/(n_c - 1) * sum_c (sum_{i in c} w_i e_i)^2 / (sum w)^2`,
/// t-test on `n_c - 1` df (metafor `robust(x, cluster, adjust = TRUE)`;
/// Hedges, Tipton & Johnson 2010).
///
/// # Errors
/// Not computable with fewer than 2 clusters, a robust SE of 0 or a
/// number that overflows.
pub fn robust_cr1(yi: &[f64], vi: &[f64], tau2: f64, clusters: &[String], level: f64) -> Stat<Robust> {
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw: f64 = w.iter().sum();
    let b = weighted_mean(&w, yi, sw);
    let mut per: BTreeMap<&String, f64> = BTreeMap::new();
    for ((c, wi), y) in clusters.iter().zip(&w).zip(yi) {
        *per.entry(c).or_default() += wi * (y - b);
    }
    let nc = per.len();
    if nc < 2 {
        return Err(few_clusters(nc));
    }
    let meat: f64 = per.values().map(|s| s * s).sum();
    let v = (nc as f64 / (nc as f64 - 1.0)) * meat / (sw * sw);
    let se = v.sqrt();
    Robust::t_test(Vcov::CR1, b, se, (nc - 1) as f64, nc, level)
}

fn few_clusters(nc: usize) -> NotComputable {
    NotComputable::degenerate(format!("{nc} cluster(s): cluster-robust inference needs at least 2"))
}

impl Robust {
    /// The t-test and CI of an estimate with its robust SE on `df` df.
    fn t_test(vcov: Vcov, estimate: f64, se: f64, df: f64, clusters: usize, level: f64) -> Stat<Robust> {
        let estimate = stats::finite("the estimate", estimate)?;
        let se = stats::finite("the cluster-robust standard error", se)?;
        if se <= 0.0 {
            return Err(NotComputable::degenerate("the cluster-robust standard error is 0 (every residual is 0)"));
        }
        let stat = stats::finite("the t statistic", estimate / se)?;
        let crit = stats::t_quantile(1.0 - (1.0 - level) / 2.0, df)?;
        let half = stats::finite("the CI half-width", crit * se)?;
        Ok(Robust {
            vcov,
            estimate,
            se,
            stat,
            df,
            pval: 2.0 * stats::t_sf(stat.abs(), df)?,
            ci_lower: estimate - half,
            ci_upper: estimate + half,
            clusters,
        })
    }
}

/// # Formula
/// Intercept-only model with weights `w_i = 1/(v_i + tau^2)`, working
/// variances `phi_i = 1/w_i`, `B = 1/sum w`, residuals `e = y - b`. For
/// cluster `j` (Pustejovsky & Tipton 2018, eq. 7, with the working model
/// inverse-variance): `G_j = D_j (Phi_j - B 1 1') D_j` with
/// `D_j = diag(sqrt(phi))`, adjustment `A_j = D_j G_j^(-1/2) D_j`,
/// `u_j = B A_j W_j 1`; `V = sum_j (u_j' e_j)^2`. Satterthwaite df
/// `nu = (sum_j P_jj)^2 / sum_jk P_jk^2` (in closed form) with
/// `P_jk = [j = k] sum_i u_ji^2 phi_i - B (sum u_j)(sum u_k)`.
/// Agrees with clubSandwich's `vcovCR(rma, type = "CR2")` and
/// `coef_test(test = "Satterthwaite")`.
///
/// # Errors
/// Not computable with fewer than 2 clusters, a cluster that holds (almost)
/// all the weight (its `G_j` is not positive definite), or non-finite
/// degrees of freedom.
pub fn robust_cr2(yi: &[f64], vi: &[f64], tau2: f64, clusters: &[String], level: f64) -> Stat<Robust> {
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw: f64 = w.iter().sum();
    let bread = 1.0 / sw;
    let b = weighted_mean(&w, yi, sw);
    let mut members: BTreeMap<&String, Vec<usize>> = BTreeMap::new();
    for (i, c) in clusters.iter().enumerate() {
        members.entry(c).or_default().push(i);
    }
    let nc = members.len();
    if nc < 2 {
        return Err(few_clusters(nc));
    }
    let mut us: Vec<Vec<f64>> = Vec::with_capacity(nc);
    let mut meat = 0.0;
    for (name, idx) in &members {
        let n = idx.len();
        let root: Vec<f64> = idx.iter().map(|&i| (1.0 / w[i]).sqrt()).collect();
        // G_j = D (Phi_j - B 1 1') D = diag(phi^2) - B (sqrt phi)(sqrt phi)'.
        let mut g = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..n {
                let diag = if r == c { root[r].powi(4) } else { 0.0 };
                g[r * n + c] = diag - bread * root[r] * root[c];
            }
        }
        let g_inv_sqrt = stats::inverse_sqrt_spd(&g, n).map_err(|e| {
            NotComputable::degenerate(format!(
                "CR2 adjustment of cluster '{name}' (it holds almost all the weight): {e}"
            ))
        })?;
        // u = B A_j W_j 1 with A_j = D G^(-1/2) D.
        let u: Vec<f64> = (0..n)
            .map(|r| bread * root[r] * (0..n).map(|c| g_inv_sqrt[r * n + c] * root[c] * w[idx[c]]).sum::<f64>())
            .collect();
        let ue: f64 = u.iter().zip(idx).map(|(u, &i)| u * (yi[i] - b)).sum();
        meat += ue * ue;
        us.push(u);
    }
    let se = meat.sqrt();
    // Satterthwaite degrees of freedom.
    let sums: Vec<f64> = us.iter().map(|u| u.iter().sum()).collect();
    let diag: Vec<f64> =
        us.iter().zip(members.values()).map(|(u, idx)| u.iter().zip(idx).map(|(u, &i)| u * u / w[i]).sum()).collect();
    // P = diag(d) - B s s': its trace and sum of squares in closed form.
    let s2: f64 = sums.iter().map(|x| x * x).sum();
    let trace = diag.iter().sum::<f64>() - bread * s2;
    let ss = diag.iter().map(|x| x * x).sum::<f64>()
        - 2.0 * bread * diag.iter().zip(&sums).map(|(d, s)| d * s * s).sum::<f64>()
        + bread * bread * s2 * s2;
    let df = stats::finite("the Satterthwaite degrees of freedom", trace * trace / ss)?;
    Robust::t_test(Vcov::CR2, b, se, df, nc, level)
}

//! Small-study effects (Egger), leave-one-out, subgroup differences,
//! within-study aggregation and cluster-robust (CR1) inference.

use super::fit::{chisq_sf, dot, fit, t_sf, FitOptions, MetaError, MetaFit};
use serde::Serialize;
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
/// se(b1)` with `se(b1)^2 = phi [(X'WX)^-1]_{11}`, `phi = RSS_w/(k-2)`.
/// Egger, Davey Smith, Schneider & Minder (1997), BMJ 315:629.
///
/// Returns `None` when k < 3.
pub fn egger_test(yi: &[f64], vi: &[f64]) -> Option<Egger> {
    let k = yi.len();
    if k < 3 {
        return None;
    }
    let x: Vec<f64> = vi.iter().map(|v| v.sqrt()).collect();
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
    let sw: f64 = w.iter().sum();
    let swx = dot(&w, &x);
    let swy = dot(&w, yi);
    let swxx: f64 = w.iter().zip(&x).map(|(w, x)| w * x * x).sum();
    let swxy: f64 = w.iter().zip(&x).zip(yi).map(|((w, x), y)| w * x * y).sum();
    let det = sw * swxx - swx * swx;
    if det.abs() < 1e-300 {
        return None;
    }
    let b1 = (sw * swxy - swx * swy) / det;
    let b0 = (swy - b1 * swx) / sw;
    let df = (k - 2) as f64;
    let rss: f64 = w.iter().zip(&x).zip(yi).map(|((w, x), y)| w * (y - b0 - b1 * x).powi(2)).sum();
    let phi = rss / df;
    let se_b1 = (phi * sw / det).sqrt();
    let stat = b1 / se_b1;
    Some(Egger { intercept: b0, slope: b1, stat, df, pval: 2.0 * t_sf(stat.abs(), df) })
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

pub fn subgroup_test(fits: &[&MetaFit]) -> Option<SubgroupTest> {
    if fits.len() < 2 {
        return None;
    }
    let w: Vec<f64> = fits.iter().map(|f| 1.0 / (f.se * f.se)).collect();
    let est: Vec<f64> = fits.iter().map(|f| f.estimate).collect();
    let mu = dot(&w, &est) / w.iter().sum::<f64>();
    let q: f64 = w.iter().zip(&est).map(|(w, e)| w * (e - mu).powi(2)).sum();
    let df = fits.len() - 1;
    Some(SubgroupTest { q_between: q, df, pval: chisq_sf(q, df as f64) })
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
pub fn robust_cr1(yi: &[f64], vi: &[f64], tau2: f64, clusters: &[String], level: f64) -> Option<Robust> {
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw: f64 = w.iter().sum();
    let b = dot(&w, yi) / sw;
    let mut per: BTreeMap<&String, f64> = BTreeMap::new();
    for ((c, wi), y) in clusters.iter().zip(&w).zip(yi) {
        *per.entry(c).or_default() += wi * (y - b);
    }
    let nc = per.len();
    if nc < 2 {
        return None;
    }
    let meat: f64 = per.values().map(|s| s * s).sum();
    let v = (nc as f64 / (nc as f64 - 1.0)) * meat / (sw * sw);
    let se = v.sqrt();
    Some(Robust::t_test(Vcov::CR1, b, se, (nc - 1) as f64, nc, level))
}

impl Robust {
    /// The t-test and CI of an estimate with its robust SE on `df` df.
    fn t_test(vcov: Vcov, estimate: f64, se: f64, df: f64, clusters: usize, level: f64) -> Robust {
        let stat = estimate / se;
        let crit = super::fit::t_quantile(1.0 - (1.0 - level) / 2.0, df);
        Robust {
            vcov,
            estimate,
            se,
            stat,
            df,
            pval: 2.0 * t_sf(stat.abs(), df),
            ci_lower: estimate - crit * se,
            ci_upper: estimate + crit * se,
            clusters,
        }
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
pub fn robust_cr2(yi: &[f64], vi: &[f64], tau2: f64, clusters: &[String], level: f64) -> Option<Robust> {
    use nalgebra::{DMatrix, DVector, SymmetricEigen};
    let w: Vec<f64> = vi.iter().map(|v| 1.0 / (v + tau2)).collect();
    let sw: f64 = w.iter().sum();
    let bread = 1.0 / sw;
    let b = dot(&w, yi) * bread;
    let mut members: BTreeMap<&String, Vec<usize>> = BTreeMap::new();
    for (i, c) in clusters.iter().enumerate() {
        members.entry(c).or_default().push(i);
    }
    let nc = members.len();
    if nc < 2 {
        return None;
    }
    let mut us: Vec<Vec<f64>> = Vec::with_capacity(nc);
    let mut meat = 0.0;
    for idx in members.values() {
        let n = idx.len();
        let root: Vec<f64> = idx.iter().map(|&i| (1.0 / w[i]).sqrt()).collect();
        // G_j = D (Phi_j - B 1 1') D = diag(phi^2) - B (sqrt phi)(sqrt phi)'.
        let g = DMatrix::from_fn(n, n, |r, c| {
            let diag = if r == c { root[r].powi(4) } else { 0.0 };
            diag - bread * root[r] * root[c]
        });
        let eig = SymmetricEigen::new(g);
        if eig.eigenvalues.iter().any(|l| !(*l > 1e-14)) {
            // A cluster that holds (almost) all the weight: CR2 is undefined.
            return None;
        }
        let inv_sqrt = DMatrix::from_diagonal(&eig.eigenvalues.map(|l| 1.0 / l.sqrt()));
        let g_inv_sqrt = &eig.eigenvectors * inv_sqrt * eig.eigenvectors.transpose();
        let d = DMatrix::from_diagonal(&DVector::from_vec(root.clone()));
        let a = &d * g_inv_sqrt * &d;
        let wj = DVector::from_iterator(n, idx.iter().map(|&i| w[i]));
        let u: Vec<f64> = (a * wj * bread).iter().copied().collect();
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
    Some(Robust::t_test(Vcov::CR2, b, se, trace * trace / ss, nc, level))
}

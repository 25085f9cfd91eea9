//! A domain's synthesis (docs/scoring.md section 5): the eligible studies'
//! effects of one measure pooled with a random-effects model (REML tau^2).
//! The decision interval is the normal (Wald) one, metafor's default, which
//! equals the common-effect interval WWC uses when tau^2 = 0; the modified
//! Hartung-Knapp-Sidik-Jonkman interval (Cochrane 2022) and the prediction
//! interval are reported beside it and feed the certainty rating.

use crate::meta::{self, FitOptions, Measure, Method, TestKind};
use serde::Serialize;

/// One study's effect entering a synthesis (benefit direction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item {
    pub yi: f64,
    pub vi: f64,
    pub randomised: bool,
}

/// A domain's pooled effect, in the benefit direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Synthesis {
    pub k: usize,
    pub measure: Measure,
    pub estimate: f64,
    /// Standard error of the decision interval.
    pub se: f64,
    /// The decision interval: 95%, normal quantile (k = 1: the study's own).
    pub ci_lower: f64,
    pub ci_upper: f64,
    /// The modified HKSJ 95% interval: t(k - 1) with the variance factor at
    /// least 1 (equal to the decision interval when k = 1).
    pub hksj_lower: f64,
    pub hksj_upper: f64,
    /// 95% prediction interval: `estimate -/+ t(k - 1) sqrt(se^2 + tau^2)`
    /// with the decision interval's `se` (metafor's form for t-based
    /// tests); `None` for one study.
    pub pi_lower: Option<f64>,
    pub pi_upper: Option<f64>,
    pub tau2: f64,
    pub i2: f64,
    pub q: f64,
    /// Egger's test p-value (only from `egger_min` studies).
    pub egger_p: Option<f64>,
    /// Share of the synthesis weight from randomised studies.
    pub randomised_share: f64,
    /// What the fit had to say (a fallback, a test not computable).
    pub notes: Vec<String>,
}

impl Synthesis {
    /// The decision interval crosses no effect.
    pub fn includes_zero(&self) -> bool {
        self.ci_lower <= 0.0 && self.ci_upper >= 0.0
    }
}

/// Why a domain has no synthesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PoolNote {
    MixedMeasures {
        measures: Vec<Measure>,
    },
    /// A fit that failed (message of the fitting code).
    Failed {
        message: String,
    },
}

/// Pool `items` (one measure) in the order given.
///
/// # Errors
/// [`PoolNote::Failed`] when the effects cannot be fitted (non-finite or
/// non-positive variances).
pub fn synthesise(items: &[Item], measure: Measure, egger_min: usize) -> Result<Synthesis, PoolNote> {
    let k = items.len();
    let y: Vec<f64> = items.iter().map(|i| i.yi).collect();
    let v: Vec<f64> = items.iter().map(|i| i.vi).collect();
    let opts = FitOptions {
        method: Method::REML,
        test: TestKind::Z,
        tau2_ci: false,
        p_values: false,
        ..FitOptions::default()
    };
    let f = meta::fit(&y, &v, &opts).map_err(|e| PoolNote::Failed { message: e.to_string() })?;
    let w: Vec<f64> = v.iter().map(|vi| 1.0 / (vi + f.tau2)).collect();
    let sw: f64 = w.iter().sum();
    let randomised_share = items.iter().zip(&w).filter(|(i, _)| i.randomised).map(|(_, w)| w).sum::<f64>() / sw;
    let mut notes = f.notes.clone();
    let (hksj_lower, hksj_upper, pi_lower, pi_upper) = if k >= 2 {
        let df = (k - 1) as f64;
        let q = w.iter().zip(&y).map(|(wi, yi)| wi * (yi - f.estimate).powi(2)).sum::<f64>() / df;
        let se = (q.max(1.0) / sw).sqrt();
        let t = t975(k - 1);
        let half = t * (f.se * f.se + f.tau2).sqrt();
        (f.estimate - t * se, f.estimate + t * se, Some(f.estimate - half), Some(f.estimate + half))
    } else {
        notes.clear();
        (f.ci_lower, f.ci_upper, None, None)
    };
    let egger_p = if k >= egger_min.max(3) {
        match meta::extra::egger(&y, &v) {
            Ok(e) => Some(e.pval),
            Err(why) => {
                notes.push(format!("Egger's test: not computable ({why})"));
                None
            }
        }
    } else {
        None
    };
    Ok(Synthesis {
        k,
        measure,
        estimate: f.estimate,
        se: f.se,
        ci_lower: f.ci_lower,
        ci_upper: f.ci_upper,
        hksj_lower,
        hksj_upper,
        pi_lower,
        pi_upper,
        tau2: f.tau2,
        i2: f.i2,
        q: f.q,
        egger_p,
        randomised_share,
        notes,
    })
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom, from a
/// table computed once for the df syntheses meet most (the quantile costs
/// an inverse incomplete beta function each time).
fn t975(df: usize) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    const N: usize = 512;
    let table = TABLE.get_or_init(|| {
        (0..N)
            .map(|d| if d == 0 { f64::NAN } else { crate::stats::t_quantile(0.975, d as f64).unwrap_or(f64::NAN) })
            .collect()
    });
    match table.get(df) {
        Some(t) if df > 0 => *t,
        _ => crate::stats::t_quantile(0.975, df as f64).unwrap_or(f64::NAN),
    }
}

/// The probability of benefit under a synthesis: `Phi(estimate / se)`.
pub fn probability_of_benefit(estimate: f64, se: f64) -> f64 {
    if !(se > 0.0 && se.is_finite() && estimate.is_finite()) {
        return 0.5;
    }
    crate::stats::normal_cdf(estimate / se).unwrap_or(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(yi: f64, se: f64) -> Item {
        Item { yi, vi: se * se, randomised: true }
    }

    /// Two identical studies d = 0.25, se 0.1378 (CI about [-0.02, 0.52]):
    /// tau^2 = 0, so the decision interval is the common-effect one,
    /// 0.25 +- 1.959964 x 0.1378 / sqrt(2); the modified HKSJ interval has
    /// q = 0 -> factor 1 and t(1) = 12.706205.
    #[test]
    fn identical_studies_pool_to_the_common_effect() {
        let se = 0.1378;
        let s = synthesise(&[item(0.25, se), item(0.25, se)], Measure::SMD, 10).unwrap();
        let se_c = se / 2f64.sqrt();
        assert!((s.estimate - 0.25).abs() < 1e-12);
        assert!((s.se - se_c).abs() < 1e-12);
        assert!((s.ci_lower - (0.25 - 1.959_963_984_540_054 * se_c)).abs() < 1e-9);
        assert!(s.tau2.abs() < 1e-12 && s.i2.abs() < 1e-9);
        assert!((s.hksj_lower - (0.25 - 12.706_204_736_174_7 * se_c)).abs() < 1e-6, "{}", s.hksj_lower);
        assert!(s.ci_lower > 0.0 && s.hksj_lower < 0.0);
    }

    #[test]
    fn one_study_is_its_own_synthesis() {
        let s = synthesise(&[item(0.30, 0.255)], Measure::SMD, 10).unwrap();
        assert_eq!((s.k, s.estimate), (1, 0.30));
        assert!((s.ci_lower - (0.30 - 1.959_963_984_540_054 * 0.255)).abs() < 1e-12);
        assert_eq!((s.hksj_lower, s.pi_lower), (s.ci_lower, None));
    }

    #[test]
    fn probability_of_benefit_is_the_normal_cdf() {
        // The normal sf is off by about 1.1e-12 at z = 1.96; 1e-10 is
        // ample for a probability printed with 2-3 decimals.
        const TOL: f64 = 1e-10;
        let p = probability_of_benefit(1.959_963_984_540_054, 1.0);
        assert!((p - 0.975).abs() < TOL, "{p}");
        assert!((probability_of_benefit(0.0, 1.0) - 0.5).abs() < TOL);
        assert!((probability_of_benefit(-1.0, 1.0) - 0.158_655_253_931_457_05).abs() < TOL);
    }
}

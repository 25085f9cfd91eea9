//! The explicit rules: category on the UNICEF scale, consensus rating,
//! GRADE-like certainty, and the score interval. Each rule returns the
//! reason it fired, so every verdict can be explained.

use super::accum::StudyView;
use super::config::ScoringConfig;
use super::Pooled;
use crate::model::{Rating, RiskOfBias, StudyDesign};
use serde::Serialize;
use statrs::distribution::{Beta, ContinuousCDF};
use std::fmt;

/// Central interval of Beta(alpha, beta) at `level`.
pub fn beta_interval(alpha: f64, beta: f64, level: f64) -> (f64, f64) {
    let tail = (1.0 - level) / 2.0;
    match Beta::new(alpha, beta) {
        Ok(d) => (d.inverse_cdf(tail), d.inverse_cdf(1.0 - tail)),
        Err(_) => (0.0, 1.0),
    }
}

/// What the studies of a cell say, and the rule that set the category.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub category: Rating,
    pub rule: String,
    pub harm: bool,
    pub rigorous_positive: u32,
    pub rigorous_null: u32,
    pub rigorous_harmful: u32,
}

/// Study classification shared by the category and certainty rules.
pub fn is_positive(s: &StudyView, cfg: &ScoringConfig) -> bool {
    !s.acc.harm && s.value >= cfg.score.positive_threshold
}

pub fn is_null(s: &StudyView, cfg: &ScoringConfig) -> bool {
    !s.acc.harm && s.value <= cfg.score.null_threshold
}

/// Category rules, first match wins (docs/scoring.md, "Category"):
/// 1. harm: a rigorous study with a harmful finding, or a pooled effect of
///    rigorous studies whose CI lies wholly on the harmful side ->
///    ineffective + harm flag;
/// 2. effective: >= 2 rigorous positive studies, more than rigorous nulls;
/// 3. promising: >= 1 rigorous positive study, at least as many as nulls;
/// 4. ineffective: rigorous null studies outnumber rigorous positive ones;
/// 5. prudent: support (value >= the prudent value) only from
///    non-rigorous studies;
/// 6. needs_research otherwise.
///
/// Borrowed studies count, but a verdict that needs them cannot exceed
/// `category.borrowed_max`.
pub fn category(studies: &[StudyView], pooled: Option<&Pooled>, cfg: &ScoringConfig) -> Verdict {
    let count = |local_only: bool| {
        let mut p = 0u32;
        let mut n = 0u32;
        let mut h = 0u32;
        for s in studies.iter().filter(|s| s.rigorous() && (!local_only || s.borrowed_from.is_none())) {
            if s.acc.harm {
                h += 1;
            } else if is_positive(s, cfg) {
                p += 1;
            } else if is_null(s, cfg) {
                n += 1;
            }
        }
        (p, n, h)
    };
    let (p, n, h) = count(false);
    let mut v = Verdict {
        category: Rating::NeedsResearch,
        rule: String::new(),
        harm: false,
        rigorous_positive: p,
        rigorous_null: n,
        rigorous_harmful: h,
    };
    let pooled_harm = pooled.is_some_and(|pl| {
        let harmful_side = if cfg.effects.higher_is_better { pl.ci_upper < 0.0 } else { pl.ci_lower > 0.0 };
        let rig_w: f64 = studies.iter().filter(|s| s.rigorous() && s.borrowed_from.is_none()).map(|s| s.weight).sum();
        let all_w: f64 = studies.iter().filter(|s| s.borrowed_from.is_none()).map(|s| s.weight).sum();
        harmful_side && rig_w > 0.5 * all_w
    });
    if h > 0 || pooled_harm {
        v.category = Rating::Ineffective;
        v.harm = true;
        v.rule = if h > 0 {
            format!("harm dominates: {h} rigorous stud{} with a harmful finding", if h == 1 { "y" } else { "ies" })
        } else {
            "harm dominates: the pooled effect of mostly rigorous studies has its CI wholly on the harmful side".into()
        };
        return v;
    }
    let c = &cfg.category;
    let (category, rule) = if p >= c.effective_min_rigorous_positive && p > n {
        (
            Rating::Effective,
            format!(
                "effective: {p} rigorous positive studies (>= {}), {n} rigorous null",
                c.effective_min_rigorous_positive
            ),
        )
    } else if p >= c.promising_min_rigorous_positive && p >= n {
        (
            Rating::Promising,
            format!(
                "promising: {p} rigorous positive stud{} (>= {}), {n} rigorous null",
                if p == 1 { "y" } else { "ies" },
                c.promising_min_rigorous_positive
            ),
        )
    } else if n > 0 && n > p {
        (
            Rating::Ineffective,
            format!("ineffective: rigorous evidence shows no effect ({n} null vs {p} positive rigorous studies)"),
        )
    } else if studies.iter().any(|s| !s.rigorous() && s.value >= cfg.rating_value.prudent - 1e-12) {
        (Rating::Prudent, "prudent: support only from non-experimental, weaker or normative evidence".to_string())
    } else {
        (
            Rating::NeedsResearch,
            format!(
                "needs_research: too few or too mixed evaluations ({} studies, none rigorous and positive)",
                studies.len()
            ),
        )
    };
    v.category = category;
    v.rule = rule;
    if studies.iter().any(|s| s.borrowed_from.is_some()) && v.category < c.borrowed_max {
        let (lp, ln, _) = count(true);
        let local_ok = match v.category {
            Rating::Effective => lp >= c.effective_min_rigorous_positive && lp > ln,
            _ => true,
        };
        if !local_ok {
            v.rule = format!("{} (capped at {}: relies on borrowed evidence)", v.rule, c.borrowed_max);
            v.category = c.borrowed_max;
        }
    }
    v
}

/// Weighted mode of reviewer-assigned ratings; ties go to the more
/// conservative (worse) rating. `None` when no rating was reviewer-assigned.
pub fn consensus(w: &[i128; 5]) -> Option<Rating> {
    let mut best: Option<(i128, Rating)> = None;
    for r in Rating::ALL {
        let x = w[r.index()];
        if x > 0 && best.is_none_or(|(bw, _)| x >= bw) {
            best = Some((x, r));
        }
    }
    best.map(|b| b.1)
}

/// GRADE-like certainty of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    VeryLow,
    Low,
    Moderate,
    High,
}

impl Certainty {
    pub fn key(self) -> &'static str {
        match self {
            Certainty::VeryLow => "very_low",
            Certainty::Low => "low",
            Certainty::Moderate => "moderate",
            Certainty::High => "high",
        }
    }

    fn from_level(l: i32) -> Certainty {
        match l {
            i32::MIN..=1 => Certainty::VeryLow,
            2 => Certainty::Low,
            3 => Certainty::Moderate,
            _ => Certainty::High,
        }
    }
}

impl fmt::Display for Certainty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Start from the best design (GRADE: randomised evidence and reviews high,
/// quasi-experiments moderate, pre-post and observational low, the rest very
/// low); down one level each for risk of bias, inconsistency, imprecision and
/// indirectness (borrowed evidence). Each downgrade carries its reason.
pub fn certainty(
    studies: &[StudyView],
    best: Option<StudyDesign>,
    total_sample: u64,
    pooled: Option<&Pooled>,
    cfg: &ScoringConfig,
) -> (Certainty, Vec<String>) {
    let start = match best {
        Some(StudyDesign::SystematicReview | StudyDesign::Rct) => 4,
        Some(StudyDesign::QuasiExperimental) => 3,
        Some(StudyDesign::PrePost | StudyDesign::Observational) => 2,
        _ => 1,
    };
    let c = &cfg.certainty;
    let mut level = start;
    let mut why = Vec::new();
    let sw: f64 = studies.iter().map(|s| s.weight).sum();
    if sw > 0.0 {
        let high: f64 = studies.iter().filter(|s| s.acc.best_rob == Some(RiskOfBias::High)).map(|s| s.weight).sum();
        if high / sw > c.high_rob_share {
            level -= 1;
            why.push(format!(
                "risk of bias: {:.0}% of the weight is from high risk-of-bias studies",
                100.0 * high / sw
            ));
        }
        let pos: f64 = studies.iter().filter(|s| is_positive(s, cfg)).map(|s| s.weight).sum();
        let neg: f64 = studies.iter().filter(|s| s.acc.harm || is_null(s, cfg)).map(|s| s.weight).sum();
        let i2 = pooled.map(|p| p.i2);
        if pos / sw >= c.inconsistency_share && neg / sw >= c.inconsistency_share {
            level -= 1;
            why.push(format!(
                "inconsistency: studies disagree ({:.0}% of the weight positive, {:.0}% null or harmful)",
                100.0 * pos / sw,
                100.0 * neg / sw
            ));
        } else if let Some(i2) = i2.filter(|i| *i >= c.inconsistency_i2) {
            level -= 1;
            why.push(format!("inconsistency: pooled effects are heterogeneous (I^2 = {i2:.0}%)"));
        }
    }
    let local = studies.iter().filter(|s| s.borrowed_from.is_none()).count() as u32;
    let mut imprecise = Vec::new();
    if local < c.imprecision_min_studies {
        imprecise.push(format!("{local} independent stud{}", if local == 1 { "y" } else { "ies" }));
    }
    if total_sample < c.imprecision_min_sample {
        imprecise.push(format!("total sample {total_sample} < {}", c.imprecision_min_sample));
    }
    if let Some(p) = pooled {
        if p.ci_lower <= 0.0 && p.ci_upper >= 0.0 {
            imprecise.push("the pooled CI includes no effect".into());
        }
    }
    if !imprecise.is_empty() {
        level -= 1;
        why.push(format!("imprecision: {}", imprecise.join("; ")));
    }
    let borrowed: Vec<String> = {
        let mut b: Vec<String> = studies.iter().filter_map(|s| s.borrowed_from.map(|x| x.key().to_string())).collect();
        b.sort();
        b.dedup();
        b
    };
    if !borrowed.is_empty() {
        level -= 1;
        why.push(format!("indirectness: evidence borrowed from {}", borrowed.join(", ")));
    }
    (Certainty::from_level(level), why)
}

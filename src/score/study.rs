//! A study as a cell's verdict sees it (docs/scoring.md sections 2-4): how
//! far its evidence may be used (its appraisal), and per outcome domain its
//! effect (the primary findings pooled within the study, turned so that
//! positive means benefit) or, where it has no effect, the reviewers'
//! judgement. Standings (benefit, harm, no important effect, inconclusive)
//! are read from confidence intervals against zero and the smallest effect
//! of interest, never from a count of significant findings.

use super::config::{Delta, ScoringConfig};
use super::fact::Fact;
use super::weight::{KeyCount, WeightKey, WeightModel};
use crate::meta::{effect::Z975, Measure};
use crate::model::{IncomeSetting, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign};
use serde::Serialize;

/// What a finding, a study or a synthesis shows in one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The 95% CI excludes zero on the beneficial side (or reviewers rated
    /// it effective or promising).
    Benefit,
    /// Reviewers rated it prudent.
    Supportive,
    /// Neither a benefit, nor a harm, nor evidence of no important effect.
    Inconclusive,
    /// Evidence of no important effect: the 95% CI lies within the band of
    /// unimportant effects (or reviewers rated it ineffective).
    Null,
    /// The 95% CI excludes zero on the harmful side (or reviewers rated it
    /// harmful).
    Harm,
}

impl Standing {
    pub fn key(self) -> &'static str {
        match self {
            Standing::Benefit => "benefit",
            Standing::Supportive => "supportive",
            Standing::Inconclusive => "inconclusive",
            Standing::Null => "null",
            Standing::Harm => "harm",
        }
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Standing::Benefit => "benefit",
            Standing::Supportive => "supportive",
            Standing::Inconclusive => "inconclusive",
            Standing::Null => "no important effect",
            Standing::Harm => "harm",
        }
    }

    /// A conclusive standing: benefit, harm, or no important effect.
    pub fn conclusive(self) -> bool {
        matches!(self, Standing::Benefit | Standing::Null | Standing::Harm)
    }
}

/// The standing an estimate's 95% CI `[lo, hi]` (benefit direction) gives:
/// benefit and harm first, then no important effect when the CI lies
/// within `(-delta, delta)`, else inconclusive (docs/scoring.md section 3).
pub fn standing_of_ci(lo: f64, hi: f64, delta: Option<f64>) -> Standing {
    if lo > 0.0 {
        Standing::Benefit
    } else if hi < 0.0 {
        Standing::Harm
    } else if delta.is_some_and(|d| lo > -d && hi < d) {
        Standing::Null
    } else {
        Standing::Inconclusive
    }
}

/// The 95% CI of an estimate and its variance.
pub fn ci95(y: f64, v: f64) -> (f64, f64) {
    let h = Z975 * v.sqrt();
    (y - h, y + h)
}

/// How far a study's evidence may be used (docs/scoring.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Appraisal {
    /// A controlled design (systematic review, RCT, quasi-experiment) with
    /// risk of bias low or some concerns.
    Appraised,
    /// A controlled design whose risk of bias was not assessed: it enters
    /// the synthesis, but supports at most `quality.unknown_rob_max`.
    NotAssessed,
    /// A controlled design at high risk of bias: support for prudent only.
    HighRisk,
    /// Pre-post, observational, qualitative, expert opinion or no design:
    /// support for prudent only.
    Uncontrolled,
}

impl Appraisal {
    pub fn of(design: Option<StudyDesign>, rob: Option<RiskOfBias>) -> Appraisal {
        if !design.is_some_and(StudyDesign::is_rigorous) {
            return Appraisal::Uncontrolled;
        }
        match rob {
            Some(RiskOfBias::Low | RiskOfBias::SomeConcerns) => Appraisal::Appraised,
            Some(RiskOfBias::High) => Appraisal::HighRisk,
            None => Appraisal::NotAssessed,
        }
    }

    /// May enter the estimate that sets effective, promising or ineffective.
    pub fn eligible(self) -> bool {
        matches!(self, Appraisal::Appraised | Appraisal::NotAssessed)
    }

    pub fn key(self) -> &'static str {
        match self {
            Appraisal::Appraised => "appraised",
            Appraisal::NotAssessed => "risk_of_bias_not_assessed",
            Appraisal::HighRisk => "high_risk_of_bias",
            Appraisal::Uncontrolled => "uncontrolled",
        }
    }
}

/// The effects of a study's findings of one measure in one domain, pooled
/// within the study (benefit direction).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Composite {
    pub yi: f64,
    pub vi: f64,
    pub measure: Measure,
    /// Every finding pooled was reported lower-is-better.
    pub all_lower: bool,
    /// Findings pooled.
    pub n: u32,
    /// Every finding's direction was given (a `direction` cell, a
    /// configured default, or the ratio-measure rule), not assumed.
    pub direction_known: bool,
    /// A finding of a cluster-assigned study whose SE could not be
    /// corrected for clustering.
    pub cluster_uncorrected: bool,
}

impl Composite {
    pub fn ci(&self) -> (f64, f64) {
        ci95(self.yi, self.vi)
    }
}

/// A study's evidence in one domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyDomain {
    pub domain: OutcomeDomain,
    /// Set by primary findings (flagged, or the study's only one here).
    pub primary: bool,
    /// Findings that set the standing.
    pub n_findings: u32,
    /// The findings' effects pooled within the study, one per measure
    /// (usually one). Empty: the standing comes from reviewer ratings.
    pub composites: Vec<Composite>,
    /// The reviewers' judgement, when the findings have no effect.
    pub rated: Option<Standing>,
    /// The best rating among them (for explanations).
    pub best_rating: Option<Rating>,
    /// A finding here carries an explicit harm judgement (a "harmful"
    /// rating or the `harm` column).
    pub explicit_harm: bool,
    /// A finding here that does not set the standing (a secondary outcome)
    /// is significantly harmful.
    pub secondary_harm: bool,
    /// The weight keys of the findings that set the standing, with counts.
    #[serde(skip)]
    pub weights: Vec<KeyCount>,
    /// The mean weight of those findings under the run's configuration.
    pub weight: f64,
}

impl StudyDomain {
    /// The standing under `delta` (times `factor`): from the effect when
    /// there is one (several measures: combined like ratings), else the
    /// reviewers' judgement.
    pub fn standing(&self, delta: &Delta, factor: f64) -> Standing {
        match self.composites.as_slice() {
            [] => self.rated.unwrap_or(Standing::Inconclusive),
            [c] => {
                let (lo, hi) = c.ci();
                standing_of_ci(lo, hi, delta.of(c.measure).map(|d| d * factor))
            }
            many => combine(many.iter().map(|c| {
                let (lo, hi) = c.ci();
                standing_of_ci(lo, hi, delta.of(c.measure).map(|d| d * factor))
            })),
        }
    }

    /// The single composite the synthesis can pool.
    pub fn composite(&self) -> Option<&Composite> {
        match self.composites.as_slice() {
            [c] => Some(c),
            _ => None,
        }
    }

    /// The effect is significantly harmful (some composite's CI below 0).
    pub fn effect_harm(&self) -> bool {
        self.composites.iter().any(|c| c.ci().1 < 0.0)
    }
}

/// Combine standings of one study's findings (WWC's rule for a study's
/// domain finding): harm if any; else benefit if some are and none is
/// null; null if some are and none is a benefit; inconclusive if both;
/// else supportive if any; else inconclusive.
pub fn combine(standings: impl Iterator<Item = Standing>) -> Standing {
    let (mut benefit, mut null, mut support, mut harm) = (false, false, false, false);
    for s in standings {
        match s {
            Standing::Benefit => benefit = true,
            Standing::Null => null = true,
            Standing::Supportive => support = true,
            Standing::Harm => harm = true,
            Standing::Inconclusive => {}
        }
    }
    if harm {
        Standing::Harm
    } else if benefit && !null {
        Standing::Benefit
    } else if null && !benefit {
        Standing::Null
    } else if benefit && null {
        Standing::Inconclusive
    } else if support {
        Standing::Supportive
    } else {
        Standing::Inconclusive
    }
}

/// The standing a reviewer's rating gives.
fn rating_standing(r: Rating, harmful: bool) -> Standing {
    if harmful {
        return Standing::Harm;
    }
    match r {
        Rating::Effective | Rating::Promising => Standing::Benefit,
        Rating::Prudent => Standing::Supportive,
        Rating::NeedsResearch => Standing::Inconclusive,
        Rating::Ineffective => Standing::Null,
    }
}

fn mean_weight(keys: &[KeyCount], m: &WeightModel) -> f64 {
    let n: u32 = keys.iter().map(|k| k.count).sum();
    if n == 0 {
        return 0.0;
    }
    keys.iter().map(|k| m.weight_of(k) * f64::from(k.count)).sum::<f64>() / f64::from(n)
}

/// A study of a cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyView {
    pub study: String,
    /// The income setting it is borrowed from (`None`: local).
    pub borrowed_from: Option<IncomeSetting>,
    /// The share of its information a borrowed study keeps (1 when local):
    /// its variances are divided by it.
    pub transfer: f64,
    pub appraisal: Appraisal,
    /// Its best design is randomised (RCT or systematic review).
    pub randomised: bool,
    pub best_design: Option<StudyDesign>,
    /// Risk of bias of the best-design finding (the better one on ties).
    pub best_rob: Option<RiskOfBias>,
    pub max_sample: u64,
    pub n_records: u64,
    /// Reviewer ratings per level (effective ... ineffective).
    pub rating_counts: [u64; 5],
    /// Findings judged from their effect size.
    pub n_unrated: u64,
    /// Findings with neither a rating nor an effect that computes.
    pub n_unscored: u64,
    #[serde(skip)]
    pub strategy_counts: [u64; 8],
    /// Reviewer-rating weights per level, for the consensus rating.
    #[serde(skip)]
    pub consensus_w: [f64; 5],
    /// Evidence per domain, in tier order.
    pub domains: Vec<StudyDomain>,
}

impl StudyView {
    pub fn domain(&self, d: OutcomeDomain) -> Option<&StudyDomain> {
        self.domains.iter().find(|x| x.domain == d)
    }

    /// The same study borrowed into another setting: it keeps `factor` of
    /// its information (variances divided by it) and of its weight.
    pub fn borrowed(&self, from: IncomeSetting, factor: f64) -> StudyView {
        let mut b = self.clone();
        b.borrowed_from = Some(from);
        b.transfer = factor;
        for d in &mut b.domains {
            d.weight *= factor;
            for c in &mut d.composites {
                c.vi /= factor;
            }
        }
        b
    }
}

fn rank_rob(r: Option<RiskOfBias>) -> u8 {
    match r {
        Some(RiskOfBias::Low) => 0,
        Some(RiskOfBias::SomeConcerns) => 1,
        None => 2,
        Some(RiskOfBias::High) => 3,
    }
}

fn key_of(f: &Fact) -> WeightKey {
    WeightKey { design: f.design, rob: f.rob, sample: f.sample_size(), year: f.year(), unrated: f.rating.is_none() }
}

/// Weight keys with counts, in a canonical order.
fn weight_keys<'a>(facts: impl Iterator<Item = &'a Fact>) -> Vec<KeyCount> {
    let mut keys: Vec<WeightKey> = facts.map(key_of).collect();
    keys.sort_unstable();
    let mut out: Vec<(WeightKey, u32)> = Vec::new();
    for k in keys {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n += 1,
            _ => out.push((k, 1)),
        }
    }
    out.into_iter().map(|(k, n)| KeyCount::new(k, n)).collect()
}

/// Pool the effects of `facts` within the study (composite, correlation
/// `rho`), one composite per measure, in a canonical order.
fn composites_of(facts: &[&Fact], rho: f64) -> Vec<Composite> {
    let mut e: Vec<&Fact> = facts.iter().copied().filter(|f| f.measure.is_some()).collect();
    e.sort_by(|a, b| a.measure.cmp(&b.measure).then(a.yi.total_cmp(&b.yi)).then(a.vi.total_cmp(&b.vi)));
    let mut out = Vec::new();
    for group in e.chunk_by(|a, b| a.measure == b.measure) {
        let y: Vec<f64> = group.iter().map(|f| f.yi).collect();
        let v: Vec<f64> = group.iter().map(|f| f.vi).collect();
        let (yi, vi) = crate::meta::extra::composite(&y, &v, rho);
        out.push(Composite {
            yi,
            vi,
            measure: group[0].measure.unwrap_or(Measure::GEN),
            all_lower: group.iter().all(|f| f.lower_is_better()),
            n: group.len() as u32,
            direction_known: group.iter().all(|f| f.direction_known()),
            cluster_uncorrected: group.iter().any(|f| f.cluster_uncorrected()),
        });
    }
    out
}

/// Build a study's view from all its facts in one cell (any order: every
/// result is independent of it). `None` when no finding can be scored.
pub fn study_of_facts(name: String, facts: &[&Fact], cfg: &ScoringConfig, weights: &WeightModel) -> Option<StudyView> {
    let mut v = StudyView {
        study: name,
        borrowed_from: None,
        transfer: 1.0,
        appraisal: Appraisal::Uncontrolled,
        randomised: false,
        best_design: None,
        best_rob: None,
        max_sample: 0,
        n_records: facts.len() as u64,
        rating_counts: [0; 5],
        n_unrated: 0,
        n_unscored: 0,
        strategy_counts: [0; 8],
        consensus_w: [0.0; 5],
        domains: Vec::new(),
    };
    let mut rated_keys: Vec<(Rating, WeightKey)> = Vec::new();
    for f in facts {
        let better = match (f.design, v.best_design) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(b)) => a < b || (a == b && rank_rob(f.rob) < rank_rob(v.best_rob)),
        };
        if better {
            v.best_design = f.design;
            v.best_rob = f.rob;
        }
        v.max_sample = v.max_sample.max(f.sample_size().unwrap_or(0));
        v.strategy_counts[f.strategy.map_or(7, |s| Strategy::ALL.iter().position(|x| *x == s).unwrap_or(7))] += 1;
        match (f.rating, f.measure) {
            (Some(r), _) => {
                v.rating_counts[r.index()] += 1;
                rated_keys.push((r, key_of(f)));
            }
            (None, Some(_)) => v.n_unrated += 1,
            (None, None) => v.n_unscored += 1,
        }
    }
    // Consensus weights summed in a canonical order (same bits whatever the
    // order of the facts).
    rated_keys.sort_unstable();
    for (r, k) in &rated_keys {
        v.consensus_w[r.index()] += weights.weight(k);
    }
    v.appraisal = Appraisal::of(v.best_design, v.best_rob);
    v.randomised = matches!(v.best_design, Some(StudyDesign::Rct | StudyDesign::SystematicReview));
    for domain in OutcomeDomain::ALL {
        let all: Vec<&Fact> = facts
            .iter()
            .copied()
            .filter(|f| f.domain() == domain && (f.rating.is_some() || f.measure.is_some() || f.harm()))
            .collect();
        if all.is_empty() {
            continue;
        }
        v.domains.push(domain_evidence(domain, &all, cfg, weights));
    }
    (!v.domains.is_empty()).then_some(v)
}

/// A study's evidence in one domain from its scored findings there: the
/// primary findings (flagged, or the only finding unless flagged
/// secondary; else all of them); their effects pooled within the study
/// where they have effects, else the reviewers' ratings combined.
fn domain_evidence(domain: OutcomeDomain, all: &[&Fact], cfg: &ScoringConfig, weights: &WeightModel) -> StudyDomain {
    let flagged: Vec<&Fact> = all.iter().copied().filter(|f| f.primary() == Some(true)).collect();
    let primaries: Vec<&Fact> = if !flagged.is_empty() {
        flagged
    } else if all.len() == 1 && all[0].primary() != Some(false) {
        all.to_vec()
    } else {
        Vec::new()
    };
    let primary = !primaries.is_empty();
    let set: &[&Fact] = if primary { &primaries } else { all };
    let composites = composites_of(set, cfg.effects.rho);
    let basis: Vec<&Fact> = if composites.is_empty() {
        set.iter().copied().filter(|f| f.rating.is_some() || f.harm()).collect()
    } else {
        set.iter().copied().filter(|f| f.measure.is_some()).collect()
    };
    let rated = composites
        .is_empty()
        .then(|| combine(basis.iter().map(|f| rating_standing(f.rating.unwrap_or(Rating::NeedsResearch), f.harm()))));
    let best_rating = basis.iter().filter_map(|f| f.rating).min();
    let keys = weight_keys(basis.iter().copied());
    StudyDomain {
        domain,
        primary,
        n_findings: basis.len() as u32,
        composites,
        rated,
        best_rating,
        explicit_harm: all.iter().any(|f| f.harm()),
        secondary_harm: primary
            && all.iter().any(|f| {
                f.measure.is_some() && f.primary() != Some(true) && !set.iter().any(|x| std::ptr::eq(*x, *f)) && {
                    let (_, hi) = ci95(f.yi, f.vi);
                    hi < 0.0
                }
            }),
        weight: mean_weight(&keys, weights),
        weights: keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_standings_follow_the_wwc_rule() {
        use Standing::*;
        let s = |xs: &[Standing]| combine(xs.iter().copied());
        assert_eq!(s(&[Benefit, Inconclusive, Inconclusive]), Benefit);
        assert_eq!(s(&[Benefit, Null]), Inconclusive);
        assert_eq!(s(&[Null, Inconclusive]), Null);
        assert_eq!(s(&[Supportive, Inconclusive]), Supportive);
        assert_eq!(s(&[Inconclusive]), Inconclusive);
        assert_eq!(s(&[Benefit, Harm]), Harm);
    }

    /// docs/scoring.md section 3: 95% CIs against 0 and +-delta.
    #[test]
    fn standings_from_the_ci_and_the_band() {
        let d = Some(0.1);
        // SMD 0.30 [-0.20, 0.80]: compatible with a useful benefit.
        assert_eq!(standing_of_ci(-0.20, 0.80, d), Standing::Inconclusive);
        assert_eq!(standing_of_ci(0.05, 0.45, d), Standing::Benefit);
        assert_eq!(standing_of_ci(-0.45, -0.05, d), Standing::Harm);
        // Inside the band: no important effect.
        assert_eq!(standing_of_ci(-0.05, 0.09, d), Standing::Null);
        // Touching the band edge is not inside it.
        assert_eq!(standing_of_ci(-0.05, 0.10, d), Standing::Inconclusive);
        // Without a band (raw mean differences by default) never null.
        assert_eq!(standing_of_ci(-0.0001, 0.0001, None), Standing::Inconclusive);
    }

    #[test]
    fn appraisal_of_designs_and_risk_of_bias() {
        use Appraisal::*;
        assert_eq!(Appraisal::of(Some(StudyDesign::Rct), Some(RiskOfBias::Low)), Appraised);
        assert_eq!(Appraisal::of(Some(StudyDesign::QuasiExperimental), Some(RiskOfBias::SomeConcerns)), Appraised);
        assert_eq!(Appraisal::of(Some(StudyDesign::Rct), None), NotAssessed);
        assert_eq!(Appraisal::of(Some(StudyDesign::Rct), Some(RiskOfBias::High)), HighRisk);
        assert_eq!(Appraisal::of(Some(StudyDesign::PrePost), Some(RiskOfBias::Low)), Uncontrolled);
        assert_eq!(Appraisal::of(None, Some(RiskOfBias::Low)), Uncontrolled);
        assert!(NotAssessed.eligible() && !HighRisk.eligible());
    }
}

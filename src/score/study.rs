//! A study as a cell's verdict sees it (docs/scoring.md section 3): whether
//! it is rigorous, and its standing in each outcome domain, set by its
//! primary findings there (or by all of them, combined without averaging),
//! from reviewer ratings or from its effect sizes pooled within the study.

use super::config::{DirectionDefault, ScoringConfig};
use super::fact::Fact;
use super::weight::{KeyCount, WeightKey, WeightModel};
use crate::meta::{effect::Z975, Measure};
use crate::model::{Direction, IncomeSetting, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign};
use serde::Serialize;

/// A study's standing in one outcome domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// A significant benefit (rated effective or promising, or a CI above 0).
    Positive,
    /// Rated prudent.
    Supportive,
    /// Rated needs research, or positive and null findings both.
    Inconclusive,
    /// No effect (rated ineffective, or a CI that includes 0).
    Null,
    /// Harm (rated harmful, or a CI below 0).
    Negative,
}

impl Standing {
    pub fn label(self) -> &'static str {
        match self {
            Standing::Positive => "positive",
            Standing::Supportive => "supportive",
            Standing::Inconclusive => "inconclusive",
            Standing::Null => "null",
            Standing::Negative => "negative",
        }
    }
}

/// The effects of a study's findings in a domain pooled within the study
/// (benefit direction).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Composite {
    pub yi: f64,
    pub vi: f64,
    pub measure: Measure,
    /// Every finding pooled was reported lower-is-better.
    pub all_lower: bool,
    /// Findings pooled.
    pub n: u32,
}

/// A study's standing in one domain, with what the verdict needs of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyDomain {
    pub domain: OutcomeDomain,
    pub standing: Standing,
    /// Set by reviewer ratings (else by effect sizes).
    pub from_ratings: bool,
    /// Set by primary findings (flagged, or the study's only one here).
    pub primary: bool,
    /// Findings that set the standing.
    pub n_findings: u32,
    /// For the score only (docs/scoring.md section 3).
    pub value: f64,
    /// Credible evidence of harm (docs/scoring.md section 4, rule 1).
    pub credible_harm: bool,
    /// A weaker harm signal: a significantly harmful finding that does not
    /// make harm credible.
    pub harm_signal: bool,
    /// The weight keys of the findings that set the standing, with counts.
    #[serde(skip)]
    pub weights: Vec<KeyCount>,
    /// The mean weight of those findings under the run's configuration.
    pub weight: f64,
    /// Effects of the findings that set the standing, pooled within the
    /// study (one measure only).
    pub composite: Option<Composite>,
    /// The findings' effects are of more than one measure (not pooled).
    pub mixed_measures: bool,
}

impl StudyDomain {
    /// The mean weight of the findings that set the standing under `m`.
    pub fn weight_under(&self, m: &WeightModel) -> f64 {
        mean_weight(&self.weights, m)
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
    /// The transfer factor its weights are multiplied by (1 when local).
    pub transfer: f64,
    pub rigorous: bool,
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
    /// Standings per domain, in tier order.
    pub domains: Vec<StudyDomain>,
}

impl StudyView {
    pub fn domain(&self, d: OutcomeDomain) -> Option<&StudyDomain> {
        self.domains.iter().find(|x| x.domain == d)
    }

    /// The same study borrowed into another setting: weights times `factor`.
    pub fn borrowed(&self, from: IncomeSetting, factor: f64) -> StudyView {
        let mut b = self.clone();
        b.borrowed_from = Some(from);
        b.transfer = factor;
        for d in &mut b.domains {
            d.weight *= factor;
        }
        b
    }
}

/// The direction of a finding: its own, else the configuration's default
/// (docs/scoring.md section 3).
pub fn direction_of(own: Option<Direction>, measure: Measure, domain: OutcomeDomain, cfg: &ScoringConfig) -> Direction {
    if let Some(d) = own {
        return d;
    }
    match cfg.effects.direction {
        DirectionDefault::HigherIsBetter => Direction::HigherIsBetter,
        DirectionDefault::LowerIsBetter => Direction::LowerIsBetter,
        DirectionDefault::Auto if domain == OutcomeDomain::Violence && measure.is_incidence() => {
            Direction::LowerIsBetter
        }
        DirectionDefault::Auto => Direction::HigherIsBetter,
    }
}

/// Rigorous: best design a systematic review, RCT or quasi-experiment, with
/// risk of bias low or some concerns (unknown only when configured).
pub fn is_rigorous(design: Option<StudyDesign>, rob: Option<RiskOfBias>, cfg: &ScoringConfig) -> bool {
    design.is_some_and(StudyDesign::is_rigorous)
        && match rob {
            Some(RiskOfBias::Low | RiskOfBias::SomeConcerns) => true,
            Some(RiskOfBias::High) => false,
            None => cfg.quality.unknown_rob_rigorous,
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

/// The standing reviewer ratings give (WWC's rule for a study's domain
/// finding): harmful if any is; else positive if some are positive and
/// none null; null if some are null and none positive; inconclusive if
/// both; else supportive if any is prudent; else inconclusive.
fn standing_of_ratings(ratings: impl Iterator<Item = (Rating, bool)>) -> (Standing, Option<Rating>) {
    let (mut pos, mut null, mut prudent, mut harm) = (false, false, false, false);
    let mut best: Option<Rating> = None;
    for (r, h) in ratings {
        if h {
            harm = true;
            continue;
        }
        match r {
            Rating::Effective | Rating::Promising => {
                pos = true;
                best = Some(best.map_or(r, |b| b.min(r)));
            }
            Rating::Prudent => prudent = true,
            Rating::NeedsResearch => {}
            Rating::Ineffective => null = true,
        }
    }
    let s = if harm {
        Standing::Negative
    } else if pos && !null {
        Standing::Positive
    } else if null && !pos {
        Standing::Null
    } else if pos && null {
        Standing::Inconclusive
    } else if prudent {
        Standing::Supportive
    } else {
        Standing::Inconclusive
    };
    (s, best)
}

/// The standing of one effect (benefit direction) from its 95% CI.
fn standing_of_effect(yi: f64, vi: f64) -> Standing {
    let half = Z975 * vi.sqrt();
    if yi - half > 0.0 {
        Standing::Positive
    } else if yi + half < 0.0 {
        Standing::Negative
    } else {
        Standing::Null
    }
}

/// Pool the effects of `facts` within the study (composite, correlation
/// `rho`), in a canonical order; `None` when they are not of one measure.
fn composite_of(facts: &[&Fact], rho: f64) -> Option<Composite> {
    let mut e: Vec<(f64, f64, Measure, bool)> =
        facts.iter().filter_map(|f| f.measure.map(|m| (f.yi, f.vi, m, f.lower_is_better()))).collect();
    let measure = e.first()?.2;
    if e.iter().any(|x| x.2 != measure) {
        return None;
    }
    e.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let y: Vec<f64> = e.iter().map(|x| x.0).collect();
    let v: Vec<f64> = e.iter().map(|x| x.1).collect();
    let (yi, vi) = crate::meta::extra::composite(&y, &v, rho);
    Some(Composite { yi, vi, measure, all_lower: e.iter().all(|x| x.3), n: e.len() as u32 })
}

/// Build a study's view from all its facts in one cell (any order: every
/// result is independent of it). `None` when no finding can be scored.
pub fn study_of_facts(name: String, facts: &[&Fact], cfg: &ScoringConfig, weights: &WeightModel) -> Option<StudyView> {
    let mut v = StudyView {
        study: name,
        borrowed_from: None,
        transfer: 1.0,
        rigorous: false,
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
    v.rigorous = is_rigorous(v.best_design, v.best_rob, cfg);
    for domain in OutcomeDomain::ALL {
        let all: Vec<&Fact> = facts
            .iter()
            .copied()
            .filter(|f| f.domain() == domain && (f.rating.is_some() || f.measure.is_some()))
            .collect();
        if all.is_empty() {
            continue;
        }
        v.domains.push(domain_standing(domain, &all, v.rigorous, cfg, weights));
    }
    (!v.domains.is_empty()).then_some(v)
}

/// The standing of a study in one domain from its scored findings there.
fn domain_standing(
    domain: OutcomeDomain,
    all: &[&Fact],
    rigorous: bool,
    cfg: &ScoringConfig,
    weights: &WeightModel,
) -> StudyDomain {
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
    let rated: Vec<&Fact> = set.iter().copied().filter(|f| f.rating.is_some()).collect();
    // A reviewer's harmful rating of any of the study's findings here is
    // credible harm (docs/scoring.md section 4, rule 1).
    let rated_harm = all.iter().any(|f| f.rating.is_some() && f.harm());
    let composite = composite_of(set, cfg.effects.rho);
    let mixed_measures = composite.is_none() && set.iter().any(|f| f.measure.is_some());
    let (standing, from_ratings, basis, best): (Standing, bool, Vec<&Fact>, Option<Rating>) = if !rated.is_empty() {
        let (s, best) =
            standing_of_ratings(rated.iter().map(|f| (f.rating.unwrap_or(Rating::NeedsResearch), f.harm())));
        (s, true, rated, best)
    } else {
        let effects: Vec<&Fact> = set.iter().copied().filter(|f| f.measure.is_some()).collect();
        let s = match &composite {
            Some(c) => standing_of_effect(c.yi, c.vi),
            // Several measures: each finding by its own CI, combined as ratings.
            None => {
                let (s, _) = standing_of_ratings(effects.iter().map(|f| match standing_of_effect(f.yi, f.vi) {
                    Standing::Positive => (Rating::Promising, false),
                    Standing::Negative => (Rating::Ineffective, true),
                    _ => (Rating::Ineffective, false),
                }));
                s
            }
        };
        (s, false, effects, None)
    };
    let effect_negative = !from_ratings && standing == Standing::Negative;
    let credible_harm = rated_harm || (effect_negative && primary && rigorous);
    // Weaker signals: an effect-based harm that is not credible, or any
    // unrated finding significantly harmful on its own.
    let harm_signal = !credible_harm
        && (effect_negative
            || all.iter().any(|f| {
                f.rating.is_none() && f.measure.is_some() && standing_of_effect(f.yi, f.vi) == Standing::Negative
            }));
    let rv = &cfg.rating_value;
    let value = match (standing, from_ratings) {
        (Standing::Positive, true) => best.map_or(rv.promising, |b| rv.of(b)),
        (Standing::Positive, false) => {
            if rigorous {
                rv.promising
            } else {
                rv.prudent
            }
        }
        (Standing::Supportive, _) => rv.prudent,
        (Standing::Inconclusive, _) => rv.needs_research,
        (Standing::Null, true) => rv.ineffective,
        (Standing::Null, false) => {
            if rigorous {
                rv.ineffective
            } else {
                rv.needs_research
            }
        }
        (Standing::Negative, _) => rv.ineffective,
    };
    let keys = weight_keys(basis.iter().copied());
    StudyDomain {
        domain,
        standing,
        from_ratings,
        primary,
        n_findings: basis.len() as u32,
        value,
        credible_harm,
        harm_signal,
        weight: mean_weight(&keys, weights),
        weights: keys,
        composite,
        mixed_measures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_standings_follow_the_wwc_rule() {
        let s = |rs: &[(Rating, bool)]| standing_of_ratings(rs.iter().copied()).0;
        use Rating::*;
        assert_eq!(s(&[(Effective, false), (NeedsResearch, false), (NeedsResearch, false)]), Standing::Positive);
        assert_eq!(s(&[(Promising, false), (Ineffective, false)]), Standing::Inconclusive);
        assert_eq!(s(&[(Ineffective, false), (NeedsResearch, false)]), Standing::Null);
        assert_eq!(s(&[(Prudent, false), (NeedsResearch, false)]), Standing::Supportive);
        assert_eq!(s(&[(NeedsResearch, false)]), Standing::Inconclusive);
        assert_eq!(s(&[(Effective, false), (Ineffective, true)]), Standing::Negative);
    }

    #[test]
    fn effect_standings_from_the_ci() {
        assert_eq!(standing_of_effect(0.25, 0.01), Standing::Positive); // z = 2.5
        assert_eq!(standing_of_effect(0.19, 0.01), Standing::Null); // z = 1.9
        assert_eq!(standing_of_effect(-0.25, 0.01), Standing::Negative);
    }

    #[test]
    fn unknown_risk_of_bias_is_not_rigorous_by_default() {
        let mut cfg = ScoringConfig::default();
        assert!(!is_rigorous(Some(StudyDesign::Rct), None, &cfg));
        assert!(is_rigorous(Some(StudyDesign::Rct), Some(RiskOfBias::SomeConcerns), &cfg));
        assert!(!is_rigorous(Some(StudyDesign::Rct), Some(RiskOfBias::High), &cfg));
        assert!(!is_rigorous(Some(StudyDesign::PrePost), Some(RiskOfBias::Low), &cfg));
        cfg.quality.unknown_rob_rigorous = true;
        assert!(is_rigorous(Some(StudyDesign::QuasiExperimental), None, &cfg));
    }

    #[test]
    fn auto_direction_turns_incidence_measures_on_violence() {
        let cfg = ScoringConfig::default();
        let d = |m, dom| direction_of(None, m, dom, &cfg);
        assert_eq!(d(Measure::RR, OutcomeDomain::Violence), Direction::LowerIsBetter);
        assert_eq!(d(Measure::RD, OutcomeDomain::Violence), Direction::LowerIsBetter);
        assert_eq!(d(Measure::SMD, OutcomeDomain::Violence), Direction::HigherIsBetter);
        assert_eq!(d(Measure::RR, OutcomeDomain::Behaviour), Direction::HigherIsBetter);
        assert_eq!(
            direction_of(Some(Direction::HigherIsBetter), Measure::RR, OutcomeDomain::Violence, &cfg),
            Direction::HigherIsBetter
        );
    }
}

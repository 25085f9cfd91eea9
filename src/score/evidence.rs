//! The evidence of one domain in a set of studies, analysed once
//! (docs/scoring.md sections 4-6): which studies are eligible for the
//! decisive synthesis, the synthesis itself, the studies counted on their
//! own (reviewer ratings, or effects of another measure), credible harm and
//! weaker harm signals with their reasons. Verdict rules read it under
//! given settings ([`super::verdict`]); robustness draws re-read it without
//! pooling again.

use super::certainty::StudyInput;
use super::study::{Appraisal, Composite, Standing, StudyDomain, StudyView};
use super::synthesis::{self, Item, PoolNote, Synthesis};
use crate::meta::Measure;
use crate::model::{IncomeSetting, OutcomeDomain};
use serde::Serialize;

/// Why something that points to harm does not make harm credible
/// (docs/scoring.md section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmReason {
    /// Harm on risk factors or other outcomes, not on violence or behaviour.
    NotViolenceOrBehaviour,
    /// Pre-post, observational, qualitative or no design.
    NotControlled,
    HighRiskOfBias,
    RiskOfBiasNotAssessed,
    /// A secondary (not primary) outcome.
    SecondaryOutcome,
    /// A standardised or raw mean difference whose direction was assumed.
    DirectionNotGiven,
    /// Clusters were assigned but the SE was computed from individuals and
    /// could not be corrected.
    ClusterNotCorrected,
    /// An explicit harm mark on a finding whose own estimate is
    /// significantly beneficial.
    ContradictsEstimate,
}

/// A finding that points to harm without making harm credible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HarmSignal {
    /// The study (`None`: the domain's synthesis).
    pub study: Option<String>,
    pub domain: OutcomeDomain,
    pub reason: HarmReason,
}

/// A study counted on its own (not pooled): a reviewer's judgement, or
/// effects that cannot join the synthesis (another measure).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit<'a> {
    /// Index of the study in the analysed set.
    pub study: usize,
    pub appraisal: Appraisal,
    pub randomised: bool,
    /// Rated standing (`None`: from `composites` under the band in force).
    pub rated: Option<Standing>,
    pub composites: &'a [Composite],
    /// Record weight (orders evidence in the score).
    pub weight: f64,
}

/// One domain of an analysed set of studies.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainAnalysis<'a> {
    pub domain: OutcomeDomain,
    /// Studies with evidence in the domain.
    pub n_studies: u32,
    /// Indices (in the analysed set) of the studies in the synthesis.
    pub pooled: Vec<usize>,
    pub synthesis: Option<Synthesis>,
    /// The synthesis of the appraised studies alone, when studies without a
    /// risk-of-bias judgement are pooled too (the sensitivity analysis
    /// effective needs; docs/scoring.md section 7).
    pub appraised_synthesis: Option<Synthesis>,
    /// What certainty is rated on for that synthesis.
    pub appraised_studies: Vec<StudyInput>,
    /// Where no controlled study can be pooled: the uncontrolled (or
    /// high-risk) studies' effects pooled for description only; it never
    /// sets a verdict.
    pub descriptive: Option<Synthesis>,
    /// Every study in `descriptive` was reported lower-is-better.
    pub descriptive_lower: bool,
    pub pool_note: Option<PoolNote>,
    /// Every pooled finding was reported lower-is-better.
    pub pooled_lower: bool,
    /// Eligible studies counted on their own.
    pub units: Vec<Unit<'a>>,
    /// Studies that are not eligible: (appraisal, standing source) for
    /// prudent and for the score when nothing is eligible.
    pub others: Vec<Unit<'a>>,
    /// Credible harm: the studies (names) and whether the synthesis is.
    pub credible_harm: Vec<String>,
    pub pooled_harm: bool,
    pub harm_signals: Vec<HarmSignal>,
    /// What certainty is rated on: the eligible studies, else all.
    pub certainty_studies: Vec<StudyInput>,
    /// Pooled studies whose risk of bias was assessed.
    pub pooled_appraised: u32,
    pub pooled_randomised: u32,
}

fn harms_violence_or_behaviour(d: OutcomeDomain) -> bool {
    matches!(d, OutcomeDomain::Violence | OutcomeDomain::Behaviour)
}

/// Why a study's harm is not credible (`None`: it is).
fn harm_reason(s: &StudyView, d: &StudyDomain, explicit: bool) -> Option<HarmReason> {
    if !harms_violence_or_behaviour(d.domain) {
        return Some(HarmReason::NotViolenceOrBehaviour);
    }
    match s.appraisal {
        Appraisal::Uncontrolled => return Some(HarmReason::NotControlled),
        Appraisal::HighRisk => return Some(HarmReason::HighRiskOfBias),
        Appraisal::NotAssessed => return Some(HarmReason::RiskOfBiasNotAssessed),
        Appraisal::Appraised => {}
    }
    if explicit {
        return (d.composites.iter().any(|c| c.ci().0 > 0.0)).then_some(HarmReason::ContradictsEstimate);
    }
    if !d.primary {
        return Some(HarmReason::SecondaryOutcome);
    }
    let harmful: Vec<&Composite> = d.composites.iter().filter(|c| c.ci().1 < 0.0).collect();
    if harmful.iter().any(|c| !c.direction_known) {
        return Some(HarmReason::DirectionNotGiven);
    }
    if harmful.iter().any(|c| c.cluster_uncorrected) {
        return Some(HarmReason::ClusterNotCorrected);
    }
    None
}

/// Why a synthesis whose CI lies below zero (k >= 2) does not make harm
/// credible (`None`: it does), from the domain and the pooled studies.
pub fn pooled_harm_reason<'s>(
    domain: OutcomeDomain,
    pooled: impl Iterator<Item = (&'s StudyView, &'s StudyDomain)> + Clone,
) -> Option<HarmReason> {
    if !harms_violence_or_behaviour(domain) {
        Some(HarmReason::NotViolenceOrBehaviour)
    } else if pooled.clone().any(|(s, _)| s.appraisal == Appraisal::NotAssessed) {
        Some(HarmReason::RiskOfBiasNotAssessed)
    } else if pooled.clone().any(|(_, d)| d.composite().is_some_and(|c| !c.direction_known)) {
        Some(HarmReason::DirectionNotGiven)
    } else if pooled.clone().any(|(_, d)| d.composite().is_some_and(|c| c.cluster_uncorrected)) {
        Some(HarmReason::ClusterNotCorrected)
    } else {
        None
    }
}

/// Shares of the evidence for the studies of a synthesis with `tau2`: k
/// times each study's inverse-variance weight over the sum of weights
/// (summing to k), in the given order; 1 each when no weight is positive.
pub fn synthesis_shares(vis: impl Iterator<Item = Option<f64>> + Clone, tau2: f64) -> Vec<f64> {
    let w: Vec<f64> = vis.map(|vi| vi.map_or(0.0, |v| 1.0 / (v + tau2))).collect();
    let sw: f64 = w.iter().sum();
    let n = w.len() as f64;
    w.iter().map(|x| if sw > 0.0 { n * x / sw } else { 1.0 }).collect()
}

/// What certainty reads of one study's evidence in a domain.
pub fn study_input(s: &StudyView, d: &StudyDomain, weight: f64) -> StudyInput {
    StudyInput {
        randomised: s.randomised,
        rob: s.best_rob,
        weight,
        sample: (s.max_sample > 0).then_some(s.max_sample),
        cluster_uncorrected: d.composites.iter().any(|c| c.cluster_uncorrected),
        ci: d.composite().map(Composite::ci),
    }
}

/// A study's harm in a domain is credible: an explicit harm judgement or a
/// significantly harmful effect, with no reason against it.
pub fn harm_is_credible(s: &StudyView, d: &StudyDomain) -> bool {
    (d.explicit_harm && harm_reason(s, d, true).is_none()) || (d.effect_harm() && harm_reason(s, d, false).is_none())
}

impl<'a> Unit<'a> {
    /// Study `i` of the analysed set, counted on its own.
    pub fn of(i: usize, s: &StudyView, d: &'a StudyDomain) -> Unit<'a> {
        Unit {
            study: i,
            appraisal: s.appraisal,
            randomised: s.randomised,
            rated: d.rated,
            composites: &d.composites,
            weight: d.weight,
        }
    }
}

/// Whether a study's evidence in a domain can join the domain's synthesis:
/// an eligible study with one composite effect.
pub fn poolable(s: &StudyView, d: &StudyDomain) -> bool {
    s.appraisal.eligible() && d.composite().is_some()
}

impl<'a> DomainAnalysis<'a> {
    /// Analyse `domain` over `studies` (in the given order, which fixes the
    /// order effects are pooled in). `None` when no study has evidence here.
    pub fn new(studies: &[&'a StudyView], domain: OutcomeDomain, egger_min: usize) -> Option<DomainAnalysis<'a>> {
        Self::build(studies, domain, egger_min, None)
    }

    /// As [`DomainAnalysis::new`], where `same_pool` was analysed over a
    /// set whose poolable studies in this domain are the ones here, in the
    /// same order (e.g. the set before leaving out a study that is not
    /// poolable here): its syntheses, a pure function of those studies'
    /// effects in that order, are taken instead of fitted again.
    pub fn with_same_pool(
        studies: &[&'a StudyView],
        domain: OutcomeDomain,
        egger_min: usize,
        same_pool: &DomainAnalysis<'_>,
    ) -> Option<DomainAnalysis<'a>> {
        Self::build(studies, domain, egger_min, Some(same_pool))
    }

    fn build(
        studies: &[&'a StudyView],
        domain: OutcomeDomain,
        egger_min: usize,
        same_pool: Option<&DomainAnalysis<'_>>,
    ) -> Option<DomainAnalysis<'a>> {
        let members: Vec<(usize, &'a StudyView, &'a StudyDomain)> =
            studies.iter().enumerate().filter_map(|(i, s)| s.domain(domain).map(|d| (i, *s, d))).collect();
        if members.is_empty() {
            return None;
        }
        // The synthesis: eligible studies with one composite, if they share
        // one measure.
        let poolable: Vec<&(usize, &StudyView, &StudyDomain)> =
            members.iter().filter(|(_, s, d)| poolable(s, d)).collect();
        let mut measures: Vec<Measure> =
            poolable.iter().filter_map(|(_, _, d)| d.composite().map(|c| c.measure)).collect();
        measures.sort();
        measures.dedup();
        let (mut synthesis, mut pool_note, mut pooled) = (None, None, Vec::new());
        if let Some(prior) = same_pool {
            synthesis = prior.synthesis.clone();
            pool_note = prior.pool_note.clone();
            if synthesis.is_some() {
                pooled = poolable.iter().map(|(i, _, _)| *i).collect();
            }
        } else if measures.len() > 1 {
            pool_note = Some(PoolNote::MixedMeasures { measures: measures.clone() });
        } else if let Some(m) = measures.first() {
            let items: Vec<Item> = poolable
                .iter()
                .filter_map(|(_, s, d)| d.composite().map(|c| Item { yi: c.yi, vi: c.vi, randomised: s.randomised }))
                .collect();
            match synthesis::synthesise(&items, *m, egger_min) {
                Ok(x) => {
                    synthesis = Some(x);
                    pooled = poolable.iter().map(|(i, _, _)| *i).collect();
                }
                Err(n) => pool_note = Some(n),
            }
        }
        let appraised_synthesis = match (&synthesis, measures.first()) {
            _ if same_pool.is_some() => same_pool.and_then(|p| p.appraised_synthesis.clone()),
            (Some(_), Some(m)) if poolable.iter().any(|(_, s, _)| s.appraisal == Appraisal::NotAssessed) => {
                let items: Vec<Item> = poolable
                    .iter()
                    .filter(|(_, s, _)| s.appraisal == Appraisal::Appraised)
                    .filter_map(|(_, s, d)| {
                        d.composite().map(|c| Item { yi: c.yi, vi: c.vi, randomised: s.randomised })
                    })
                    .collect();
                (!items.is_empty()).then(|| synthesis::synthesise(&items, *m, egger_min).ok()).flatten()
            }
            _ => None,
        };
        let descriptive = if synthesis.is_none() && poolable.is_empty() {
            let single: Vec<(&StudyView, &Composite)> =
                members.iter().filter_map(|(_, s, d)| d.composite().map(|c| (*s, c))).collect();
            let m = single.first().map(|x| x.1.measure);
            match m {
                Some(m) if single.iter().all(|x| x.1.measure == m) => {
                    let items: Vec<Item> =
                        single.iter().map(|(s, c)| Item { yi: c.yi, vi: c.vi, randomised: s.randomised }).collect();
                    synthesis::synthesise(&items, m, egger_min).ok()
                }
                _ => None,
            }
        } else {
            None
        };
        let descriptive_lower =
            descriptive.is_some() && members.iter().filter_map(|(_, _, d)| d.composite()).all(|c| c.all_lower);
        let pooled_lower =
            !pooled.is_empty() && poolable.iter().all(|(_, _, d)| d.composite().is_some_and(|c| c.all_lower));
        let unit = Unit::of;
        let mut units = Vec::new();
        let mut others = Vec::new();
        // `pooled` is in ascending order (members are in set order): walk it
        // beside the members.
        let mut next_pooled = pooled.iter().peekable();
        for (i, s, d) in &members {
            if next_pooled.next_if_eq(&i).is_some() {
                continue;
            }
            if s.appraisal.eligible() {
                units.push(unit(*i, s, d));
            } else {
                others.push(unit(*i, s, d));
            }
        }

        // Harm, from studies and from the synthesis.
        let mut credible_harm = Vec::new();
        let mut harm_signals = Vec::new();
        for (_, s, d) in &members {
            let effect_harm = d.effect_harm();
            if !(d.explicit_harm || effect_harm) {
                if d.secondary_harm {
                    harm_signals.push(HarmSignal {
                        study: Some(s.study.clone()),
                        domain,
                        reason: HarmReason::SecondaryOutcome,
                    });
                }
                continue;
            }
            let explicit_reason = d.explicit_harm.then(|| harm_reason(s, d, true));
            let effect_reason = effect_harm.then(|| harm_reason(s, d, false));
            if harm_is_credible(s, d) {
                credible_harm.push(s.study.clone());
            } else if let Some(reason) = effect_reason.flatten().or(explicit_reason.flatten()) {
                harm_signals.push(HarmSignal { study: Some(s.study.clone()), domain, reason });
            }
        }
        let mut pooled_harm = false;
        if synthesis.as_ref().is_some_and(|x| x.k >= 2 && x.ci_upper < 0.0) {
            match pooled_harm_reason(domain, poolable.iter().map(|(_, s, d)| (*s, *d))) {
                None => pooled_harm = true,
                Some(reason) => harm_signals.push(HarmSignal { study: None, domain, reason }),
            }
        }

        let eligible: Vec<&(usize, &StudyView, &StudyDomain)> =
            members.iter().filter(|(_, s, _)| s.appraisal.eligible()).collect();
        // Shares of the evidence: pooled studies by their synthesis weight
        // (summing to k), studies counted on their own as one each.
        let shares = |set: &[usize], tau2: f64| -> Vec<f64> {
            synthesis_shares(
                set.iter().map(|i| studies[*i].domain(domain).and_then(|d| d.composite()).map(|c| c.vi)),
                tau2,
            )
        };
        let pooled_shares = shares(&pooled, synthesis.as_ref().map_or(0.0, |x| x.tau2));
        let certainty_studies: Vec<StudyInput> = if eligible.is_empty() {
            members.iter().map(|(_, s, d)| study_input(s, d, 1.0)).collect()
        } else {
            eligible
                .iter()
                .map(|(i, s, d)| {
                    let w = pooled.binary_search(i).map_or(1.0, |j| pooled_shares[j]);
                    study_input(s, d, w)
                })
                .collect()
        };
        let appraised_set: Vec<usize> =
            pooled.iter().copied().filter(|i| studies[*i].appraisal == Appraisal::Appraised).collect();
        let appraised_studies: Vec<StudyInput> = if appraised_synthesis.is_some() {
            let sh = shares(&appraised_set, appraised_synthesis.as_ref().map_or(0.0, |x| x.tau2));
            appraised_set
                .iter()
                .zip(sh)
                .filter_map(|(i, w)| studies[*i].domain(domain).map(|d| study_input(studies[*i], d, w)))
                .collect()
        } else {
            Vec::new()
        };
        let pooled_appraised = pooled.iter().filter(|i| studies[**i].appraisal == Appraisal::Appraised).count() as u32;
        let pooled_randomised = pooled.iter().filter(|i| studies[**i].randomised).count() as u32;
        Some(DomainAnalysis {
            domain,
            n_studies: members.len() as u32,
            pooled,
            synthesis,
            appraised_synthesis,
            appraised_studies,
            descriptive,
            descriptive_lower,
            pool_note,
            pooled_lower,
            units,
            others,
            credible_harm,
            pooled_harm,
            harm_signals,
            certainty_studies,
            pooled_appraised,
            pooled_randomised,
        })
    }
}

/// Every domain of an analysed set of studies.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis<'a> {
    pub domains: [Option<DomainAnalysis<'a>>; 4],
    /// Local studies in the set (the first `n_local`).
    pub n_local: usize,
    /// The settings borrowed studies come from (empty: local only).
    pub borrowed_from: Vec<IncomeSetting>,
}

impl<'a> Analysis<'a> {
    pub fn new(studies: &[&'a StudyView], n_local: usize, egger_min: usize) -> Analysis<'a> {
        let mut borrowed_from: Vec<IncomeSetting> = studies[n_local..].iter().filter_map(|s| s.borrowed_from).collect();
        borrowed_from.sort();
        borrowed_from.dedup();
        Analysis {
            domains: std::array::from_fn(|i| DomainAnalysis::new(studies, OutcomeDomain::ALL[i], egger_min)),
            n_local,
            borrowed_from,
        }
    }
}

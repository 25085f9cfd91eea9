//! The verdict rules (docs/scoring.md sections 7 and 9-10): a domain's
//! verdict from its analysed evidence under given settings, the headline
//! domain, and the cell's verdict, local first with borrowing. Pure
//! functions of [`Analysis`] and [`Settings`], so robustness draws and
//! leave-one-out runs reuse them unchanged.

use super::certainty::{self, Certainty, Downgrade, Thresholds};
use super::config::{Delta, ScoringConfig};
use super::evidence::{Analysis, DomainAnalysis, Unit};
use super::study::{standing_of_ci, Appraisal, Standing};
use crate::model::{OutcomeDomain, Rating};
use serde::Serialize;

/// The settings the rules read (the configuration's, or a robustness
/// draw's).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub delta: Delta,
    /// The band of unimportant effects is `delta x delta_factor`.
    pub delta_factor: f64,
    pub thresholds: Thresholds,
    pub effective_min: u32,
    pub adequate: Certainty,
    pub unknown_rob_max: Rating,
    pub borrowed_max: Rating,
    pub min_local_studies: u32,
}

impl Settings {
    pub fn of(cfg: &ScoringConfig) -> Settings {
        Settings {
            delta: cfg.effects.delta.clone(),
            delta_factor: 1.0,
            thresholds: Thresholds {
                i2: cfg.certainty.inconsistency_i2,
                ois: cfg.certainty.ois as f64,
                some_concerns_share: cfg.certainty.some_concerns_share,
                egger_p: cfg.certainty.egger_p,
            },
            effective_min: cfg.category.effective_min_studies,
            adequate: cfg.category.adequate_certainty,
            unknown_rob_max: cfg.quality.unknown_rob_max,
            borrowed_max: cfg.category.borrowed_max,
            min_local_studies: cfg.borrowing.min_local_studies,
        }
    }

    /// The band of unimportant effects for a measure (`None`: none).
    pub fn band(&self, m: crate::meta::Measure) -> Option<f64> {
        self.delta.of(m).map(|d| d * self.delta_factor)
    }
}

/// Why a domain (or a cell) has its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A controlled, appraised study shows harm credibly (its primary
    /// outcome significantly harmful with a known direction, or an explicit
    /// harmful judgement).
    HarmStudies,
    /// The synthesis of appraised studies is significantly harmful.
    HarmPooled,
    /// Conclusive benefit together with conclusive no-effect or harm.
    Mixed,
    /// A benefit from enough appraised studies with adequate certainty.
    Effective,
    /// A benefit from one study.
    Promising,
    /// A benefit, but certainty below what effective needs.
    LowCertainty,
    /// A benefit on risk factors only (indirect; effective needs the outcome).
    RiskFactorCap,
    /// A benefit that rests on studies without a risk-of-bias judgement.
    NotAssessedCap,
    /// A benefit from non-randomised studies only (effective needs a
    /// randomised one, as WWC and Blueprints do for their top ratings).
    NotRandomised,
    /// Evidence of no important effect.
    Ineffective,
    /// No controlled, appraised evidence; support from other studies.
    Prudent,
    /// Controlled evidence, but inconclusive.
    Inconclusive,
    /// No study with a clear result.
    TooFew,
}

impl Rule {
    /// The verdict rests on conclusive controlled evidence.
    pub fn conclusive(self) -> bool {
        !matches!(self, Rule::Prudent | Rule::Inconclusive | Rule::TooFew)
    }
}

/// A domain's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainDecision {
    pub category: Rating,
    pub harm: bool,
    pub rule: Rule,
    pub certainty: Certainty,
    pub certainty_start: Certainty,
    pub downgrades: Vec<Downgrade>,
    /// The synthesis's standing under the band in force.
    pub standing: Option<Standing>,
    /// Studies behind a benefit (pooled and on their own).
    pub n_benefit: u32,
    /// Capped at `borrowed_max` (borrowed verdicts).
    pub capped: bool,
}

fn unit_standing(u: &Unit<'_>, s: &Settings) -> Standing {
    match (u.rated, u.composites) {
        (Some(r), _) => r,
        (None, [c]) => {
            let (lo, hi) = c.ci();
            standing_of_ci(lo, hi, s.band(c.measure))
        }
        (None, many) => super::study::combine(many.iter().map(|c| {
            let (lo, hi) = c.ci();
            standing_of_ci(lo, hi, s.band(c.measure))
        })),
    }
}

/// The verdict of one domain (docs/scoring.md section 7).
pub fn domain_decision(a: &DomainAnalysis<'_>, borrowed: &[crate::model::IncomeSetting], s: &Settings) -> DomainDecision {
    let standing = a.synthesis.as_ref().map(|x| standing_of_ci(x.ci_lower, x.ci_upper, s.band(x.measure)));
    let units: Vec<(Standing, &Unit<'_>)> = a.units.iter().map(|u| (unit_standing(u, s), u)).collect();
    let count = |want: Standing| units.iter().filter(|(st, _)| *st == want).count() as u32;
    let pooled_k = a.synthesis.as_ref().map_or(0, |x| x.k as u32);
    // What the evidence claims. A reviewer's "no effect" cannot stand
    // against an estimate that is compatible with a benefit (absence of
    // evidence is not evidence of absence); a reviewer's benefit stands
    // beside an inconclusive estimate only when the estimate points the same
    // way.
    let estimate_positive = a.synthesis.as_ref().is_some_and(|x| x.estimate > 0.0);
    let rated_benefit = count(Standing::Benefit) > 0;
    let benefit = standing == Some(Standing::Benefit) || rated_benefit;
    let null =
        standing == Some(Standing::Null) || (count(Standing::Null) > 0 && standing != Some(Standing::Inconclusive));
    let harm = standing == Some(Standing::Harm) || count(Standing::Harm) > 0;
    // Estimates pointing away from a claimed benefit: an inconclusive
    // synthesis, or (without one) an inconclusive study counted on its own
    // whose estimate is at or below no effect.
    let unit_against =
        units.iter().any(|(st, u)| *st == Standing::Inconclusive && u.composites.iter().any(|c| c.yi <= 0.0));
    let against = (rated_benefit && standing == Some(Standing::Inconclusive) && !estimate_positive)
        || ((standing == Some(Standing::Benefit) || rated_benefit) && unit_against);
    let inconclusive = standing == Some(Standing::Inconclusive) || count(Standing::Inconclusive) > 0;
    let (certainty, downgrades) = certainty::rate(
        &certainty::Input {
            domain: a.domain,
            studies: &a.certainty_studies,
            synthesis: a.synthesis.as_ref(),
            // An inconclusive synthesis is imprecise evidence, also where
            // reviewers' ratings claim a benefit beside it.
            inconclusive: standing == Some(Standing::Inconclusive)
                || (a.synthesis.is_none() && !(benefit || null || harm)),
            borrowed_from: borrowed,
        },
        &s.thresholds,
    );
    let certainty_start = certainty::start(&a.certainty_studies);
    let n_benefit = if standing == Some(Standing::Benefit) { pooled_k } else { 0 } + count(Standing::Benefit);
    let d = |category, rule| DomainDecision {
        category,
        harm: false,
        rule,
        certainty,
        certainty_start,
        downgrades: downgrades.clone(),
        standing,
        n_benefit,
        capped: false,
    };
    if !a.credible_harm.is_empty() || a.pooled_harm {
        let rule = if a.credible_harm.is_empty() { Rule::HarmPooled } else { Rule::HarmStudies };
        return DomainDecision { harm: true, ..d(Rating::Ineffective, rule) };
    }
    if benefit && (null || harm || against) {
        return d(Rating::NeedsResearch, Rule::Mixed);
    }
    if benefit {
        let appraised = |u: &Unit<'_>| u.appraisal == Appraisal::Appraised;
        // Studies without a risk-of-bias judgement may not be needed for
        // effective: the benefit must hold in the appraised studies' own
        // synthesis (a sensitivity analysis).
        let pooled_appraised = match (standing, &a.appraised_synthesis) {
            (Some(Standing::Benefit), None) => a.pooled_appraised,
            (Some(Standing::Benefit), Some(x))
                if standing_of_ci(x.ci_lower, x.ci_upper, s.band(x.measure)) == Standing::Benefit =>
            {
                x.k as u32
            }
            _ => 0,
        };
        let appraised_benefit =
            pooled_appraised + units.iter().filter(|(st, u)| *st == Standing::Benefit && appraised(u)).count() as u32;
        let lenient = s.unknown_rob_max == Rating::Effective;
        let counted = if lenient { n_benefit } else { appraised_benefit };
        // The appraised studies alone must also carry adequate certainty.
        let appraised_certain = lenient
            || a.appraised_synthesis.as_ref().is_none_or(|x| {
                let inputs = &a.appraised_studies;
                certainty::rate(
                    &certainty::Input {
                        domain: a.domain,
                        studies: inputs,
                        synthesis: Some(x),
                        inconclusive: false,
                        borrowed_from: borrowed,
                    },
                    &s.thresholds,
                )
                .0 >= s.adequate
            });
        let randomised = if standing == Some(Standing::Benefit) { a.pooled_randomised } else { 0 }
            + units.iter().filter(|(st, u)| *st == Standing::Benefit && u.randomised).count() as u32;
        let rule = if a.domain == OutcomeDomain::RiskFactor {
            Rule::RiskFactorCap
        } else if n_benefit < s.effective_min {
            Rule::Promising
        } else if counted < s.effective_min || !appraised_certain {
            Rule::NotAssessedCap
        } else if randomised == 0 {
            Rule::NotRandomised
        } else if certainty < s.adequate {
            Rule::LowCertainty
        } else {
            Rule::Effective
        };
        let cat = if rule == Rule::Effective { Rating::Effective } else { Rating::Promising };
        return d(cat, rule);
    }
    if null {
        return d(Rating::Ineffective, Rule::Ineffective);
    }
    if harm || inconclusive || standing.is_some() {
        return d(Rating::NeedsResearch, Rule::Inconclusive);
    }
    let support = units.iter().any(|(st, _)| *st == Standing::Supportive)
        || a.others.iter().any(|u| matches!(unit_standing(u, s), Standing::Benefit | Standing::Supportive));
    if support {
        return d(Rating::Prudent, Rule::Prudent);
    }
    d(Rating::NeedsResearch, Rule::TooFew)
}

/// A verdict over all domains of a set of studies.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The domain the verdict rests on.
    pub domain: OutcomeDomain,
    pub per_domain: [Option<DomainDecision>; 4],
}

impl Decision {
    pub fn headline(&self) -> &DomainDecision {
        self.per_domain[self.domain.index()].as_ref().expect("the headline domain has a decision")
    }
    pub fn category(&self) -> (Rating, bool) {
        let h = self.headline();
        (h.category, h.harm)
    }
}

/// The headline (docs/scoring.md section 9): credible harm in any domain;
/// else the highest-tier domain with a conclusive verdict; else the
/// highest-tier domain with evidence. `None` without evidence.
pub fn decide(a: &Analysis<'_>, s: &Settings) -> Option<Decision> {
    decide_domains(std::array::from_fn(|i| a.domains[i].as_ref()), &a.borrowed_from, s)
}

/// [`decide`] over domain analyses that may come from different sets (a
/// leave-one-out run re-analyses only the domains the study is in).
pub fn decide_domains(
    domains: [Option<&DomainAnalysis<'_>>; 4],
    borrowed: &[crate::model::IncomeSetting],
    s: &Settings,
) -> Option<Decision> {
    let per_domain: [Option<DomainDecision>; 4] =
        std::array::from_fn(|i| domains[i].map(|d| domain_decision(d, borrowed, s)));
    let pick = per_domain
        .iter()
        .position(|d| d.as_ref().is_some_and(|d| d.harm))
        .or_else(|| per_domain.iter().position(|d| d.as_ref().is_some_and(|d| d.rule.conclusive())))
        .or_else(|| per_domain.iter().position(Option::is_some))?;
    Some(Decision { domain: OutcomeDomain::ALL[pick], per_domain })
}

/// Which evidence a cell's verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Local,
    /// Local and borrowed studies (the cell had too little of its own).
    Borrowed,
}

impl Basis {
    pub fn key(self) -> &'static str {
        match self {
            Basis::Local => "local",
            Basis::Borrowed => "borrowed",
        }
    }
}

/// A cell's verdict, local first (docs/scoring.md section 10).
#[derive(Debug, Clone, PartialEq)]
pub struct CellDecision {
    pub local: Option<Decision>,
    /// Over local and borrowed studies, every domain capped at
    /// `borrowed_max`, when borrowing applies.
    pub borrowed: Option<Decision>,
    pub basis: Basis,
}

impl CellDecision {
    /// The verdict of the cell (of its basis).
    pub fn verdict(&self) -> Option<&Decision> {
        match self.basis {
            Basis::Local => self.local.as_ref(),
            Basis::Borrowed => self.borrowed.as_ref(),
        }
    }

    pub fn category(&self) -> Option<(Rating, bool)> {
        self.verdict().map(Decision::category)
    }
}

/// Cap every domain's category better than `max` at `max` (harm is never
/// better).
fn cap(mut d: Decision, max: Rating) -> Decision {
    for x in d.per_domain.iter_mut().flatten() {
        if x.category < max {
            x.category = max;
            x.capped = true;
        }
    }
    d
}

/// Local first: the local verdict stands when its headline is conclusive;
/// otherwise, when borrowing applies (`combined` given), the capped
/// verdict over local and borrowed studies.
pub fn decide_cell(local: &Analysis<'_>, combined: Option<&Analysis<'_>>, s: &Settings) -> Option<CellDecision> {
    let l = decide(local, s);
    let local_conclusive = l.as_ref().is_some_and(|d| d.headline().rule.conclusive());
    let b = if local_conclusive { None } else { combined.and_then(|c| decide(c, s)).map(|d| cap(d, s.borrowed_max)) };
    let basis = match (&l, &b) {
        (_, Some(_)) => Basis::Borrowed,
        (Some(_), None) => Basis::Local,
        (None, None) => return None,
    };
    Some(CellDecision { local: l, borrowed: b, basis })
}

//! The verdict rules (docs/scoring.md sections 7 and 9-10): a domain's
//! verdict from its analysed evidence under given settings, the headline
//! domain, and the cell's verdict, local first with borrowing. Pure
//! functions of [`Analysis`] and [`Settings`], so robustness draws and
//! leave-one-out runs reuse them unchanged.

use super::certainty::StudyInput;
use super::certainty::{self, Certainty, Downgrade, Thresholds};
use super::config::{Delta, ScoringConfig};
use super::evidence::{
    harm_is_credible, poolable, pooled_harm_reason, study_input, synthesis_shares, Analysis, DomainAnalysis, Unit,
};
use super::study::Composite;
use super::study::{standing_of_ci, Appraisal, Standing, StudyDomain, StudyView};
use super::synthesis::{self, Item};
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

fn slot(st: Standing) -> usize {
    match st {
        Standing::Benefit => 0,
        Standing::Supportive => 1,
        Standing::Inconclusive => 2,
        Standing::Null => 3,
        Standing::Harm => 4,
    }
}

/// What the verdict reads of the studies counted on their own (eligible
/// `units` and not eligible `others`) under given settings, counted, so
/// that leaving a study out is a subtraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnitTally {
    /// Eligible studies per standing (Benefit, Supportive, Inconclusive,
    /// Null, Harm).
    pub by_standing: [u32; 5],
    /// Inconclusive ones with an estimate at or below no effect.
    pub against: u32,
    /// Appraised and randomised ones that show a benefit.
    pub appraised_benefit: u32,
    pub randomised_benefit: u32,
    /// Not eligible ones that show a benefit or support.
    pub others_support: u32,
}

impl UnitTally {
    /// Count (`by = 1`) or uncount (`by = -1`, wrapping) one eligible study.
    fn unit(&mut self, u: &Unit<'_>, s: &Settings, by: u32) {
        let st = unit_standing(u, s);
        let add = |x: &mut u32, yes: bool| *x = x.wrapping_add(if yes { by } else { 0 });
        add(&mut self.by_standing[slot(st)], true);
        add(&mut self.against, st == Standing::Inconclusive && u.composites.iter().any(|c| c.yi <= 0.0));
        add(&mut self.appraised_benefit, st == Standing::Benefit && u.appraisal == Appraisal::Appraised);
        add(&mut self.randomised_benefit, st == Standing::Benefit && u.randomised);
    }

    fn other(&mut self, u: &Unit<'_>, s: &Settings, by: u32) {
        let support = matches!(unit_standing(u, s), Standing::Benefit | Standing::Supportive);
        self.others_support = self.others_support.wrapping_add(if support { by } else { 0 });
    }

    pub fn of(a: &DomainAnalysis<'_>, s: &Settings) -> UnitTally {
        let mut t = UnitTally::default();
        for u in &a.units {
            t.unit(u, s, 1);
        }
        for u in &a.others {
            t.other(u, s, 1);
        }
        t
    }
}

/// A domain's analysis with what the verdict reads of its studies tallied
/// (docs/scoring.md section 13: leave-one-out subtracts a study that is
/// not pooled from these instead of analysing the rest again).
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'x, 'a> {
    /// The analysis, read for what the tallies do not hold: the syntheses
    /// and the pooled studies.
    pub analysis: &'x DomainAnalysis<'a>,
    pub units: UnitTally,
    pub certainty: certainty::Tally,
    /// Studies whose harm is credible.
    pub credible_harm: u32,
}

impl<'x, 'a> Evidence<'x, 'a> {
    pub fn of(a: &'x DomainAnalysis<'a>, s: &Settings) -> Evidence<'x, 'a> {
        Evidence {
            analysis: a,
            units: UnitTally::of(a, s),
            certainty: certainty::Tally::of(&a.certainty_studies),
            credible_harm: a.credible_harm.len() as u32,
        }
    }

    /// The evidence without `study` (in `domain`, not poolable there): the
    /// analysis of the remaining studies would differ from this one only
    /// in the lists tallied here, and in the order of the entries. `None`
    /// where subtracting is not the same as counting the rest (the study
    /// was the only eligible one, so certainty would be rated on all the
    /// others; or [`certainty::Tally::without`] cannot say).
    pub fn without(&self, study: &StudyView, domain: &StudyDomain, s: &Settings) -> Option<Evidence<'x, 'a>> {
        let a = self.analysis;
        if poolable(study, domain) || a.n_studies < 2 {
            return None;
        }
        let mut e = *self;
        let u = Unit::of(0, study, domain);
        let n_eligible = a.pooled.len() + a.units.len();
        let eligible = study.appraisal.eligible();
        if eligible {
            e.units.unit(&u, s, u32::MAX);
        } else {
            e.units.other(&u, s, u32::MAX);
        }
        // Certainty is rated on the eligible studies, else on all.
        let rated_on = if eligible { n_eligible >= 1 } else { n_eligible == 0 };
        if eligible && n_eligible == 1 {
            return None;
        }
        if rated_on {
            e.certainty = self.certainty.without(&study_input(study, domain, 1.0), &s.thresholds)?;
        }
        e.credible_harm -= u32::from(harm_is_credible(study, domain));
        Some(e)
    }
}

/// A domain's certainty inputs split for leaving out pooled studies
/// ([`decision_without_pooled`]): the tally of the studies counted on
/// their own, and the pooled studies' inputs in pooled order.
#[derive(Debug, Clone)]
pub struct PooledSplit {
    pub units: certainty::Tally,
    pub pooled: Vec<StudyInput>,
}

impl PooledSplit {
    /// `None` where certainty is not rated on the pooled studies and the
    /// units (then nothing is split).
    pub fn of(a: &DomainAnalysis<'_>) -> Option<PooledSplit> {
        if a.certainty_studies.len() != a.pooled.len() + a.units.len() {
            return None;
        }
        let mut units = certainty::Tally::EMPTY;
        let mut pooled = Vec::with_capacity(a.pooled.len());
        for m in certainty_members(a) {
            match m? {
                (input, Some(_)) => pooled.push(*input),
                (input, None) => units.add(input),
            }
        }
        Some(PooledSplit { units, pooled })
    }
}

/// The certainty inputs of `a` (the eligible studies in set order) with
/// the pooled study each belongs to (`None`: a unit), found by walking the
/// pooled list beside the units; `None` where the lists run out.
fn certainty_members<'x>(
    a: &'x DomainAnalysis<'_>,
) -> impl Iterator<Item = Option<(&'x StudyInput, Option<usize>)>> + 'x {
    let (mut p, mut u) = (0, 0);
    a.certainty_studies.iter().map(move |input| {
        let pooled_next = match (a.pooled.get(p), a.units.get(u)) {
            (Some(j), Some(unit)) => *j < unit.study,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if pooled_next {
            p += 1;
            Some((input, Some(a.pooled[p - 1])))
        } else {
            u += 1;
            Some((input, None))
        }
    })
}

/// The decision of the domain without pooled study `i` (its index in the
/// analysed set, which `studies` maps to the study): the syntheses are
/// fitted again over the remaining pooled studies, in the order a full
/// analysis of the rest would pool them, and the rest is carried over or
/// recomputed from the pooled studies alone (docs/scoring.md section 13).
/// Equal to [`domain_decision`] of the rest analysed from scratch, without
/// building its lists; `None` where the shortcut is not the same (`i` is
/// not pooled here, or is the only pooled study, or the rest cannot be
/// pooled: the caller analyses the rest in full). With `split` the
/// certainty tally is the units' plus the pooled studies' (O(pooled)
/// instead of O(eligible)); the category, rule and certainty level are
/// still those of the full analysis, but a risk-of-bias reason's
/// some-concerns share may differ in its last bits (summed in another
/// order).
pub fn decision_without_pooled<'s>(
    e: &Evidence<'_, '_>,
    i: usize,
    studies: impl Fn(usize) -> &'s StudyView,
    s: &Settings,
    egger_min: usize,
    split: Option<&PooledSplit>,
) -> Option<DomainDecision> {
    let a = e.analysis;
    let domain = a.domain;
    let x = a.synthesis.as_ref()?;
    if a.pooled.len() < 2 || a.pooled.binary_search(&i).is_err() {
        return None;
    }
    // Certainty is rated on the eligible studies: the pooled ones and the
    // units, in set order.
    if a.certainty_studies.len() != a.pooled.len() + a.units.len() {
        return None;
    }
    let left_out = studies(i);
    let left_out_domain = left_out.domain(domain)?;
    let rest: Vec<(&StudyView, &StudyDomain, &Composite)> = a
        .pooled
        .iter()
        .filter(|j| **j != i)
        .map(|j| {
            let st = studies(*j);
            let d = st.domain(domain)?;
            Some((st, d, d.composite()?))
        })
        .collect::<Option<_>>()?;
    let item =
        |(st, _, c): &(&StudyView, &StudyDomain, &Composite)| Item { yi: c.yi, vi: c.vi, randomised: st.randomised };
    let items: Vec<Item> = rest.iter().map(item).collect();
    let synthesis = synthesis::synthesise(&items, x.measure, egger_min).ok()?;
    let not_assessed = rest.iter().any(|(st, _, _)| st.appraisal == Appraisal::NotAssessed);
    let appraised = |r: &&(&StudyView, &StudyDomain, &Composite)| r.0.appraisal == Appraisal::Appraised;
    let appraised_synthesis = if not_assessed {
        let items: Vec<Item> = rest.iter().filter(appraised).map(item).collect();
        (!items.is_empty()).then(|| synthesis::synthesise(&items, x.measure, egger_min).ok()).flatten()
    } else {
        None
    };
    let appraised_studies: Vec<StudyInput> = match &appraised_synthesis {
        Some(ap) => {
            let set: Vec<&(&StudyView, &StudyDomain, &Composite)> = rest.iter().filter(appraised).collect();
            let shares = synthesis_shares(set.iter().map(|r| Some(r.2.vi)), ap.tau2);
            set.iter().zip(shares).map(|(r, w)| study_input(r.0, r.1, w)).collect()
        }
        None => Vec::new(),
    };
    let pooled_harm = synthesis.k >= 2
        && synthesis.ci_upper < 0.0
        && pooled_harm_reason(domain, rest.iter().map(|(st, d, _)| (*st, *d))).is_none();
    // The certainty inputs of the rest: the units' as they were, the pooled
    // studies' with their shares under the new synthesis.
    let shares = synthesis_shares(rest.iter().map(|r| Some(r.2.vi)), synthesis.tau2);
    // From the split: the units' tally as it was plus the pooled studies'
    // under the new shares, O(pooled studies); where the merged sums could
    // rate differently from summing in study order, the plain count.
    let merged = split.filter(|sp| sp.pooled.len() == a.pooled.len()).and_then(|sp| {
        let mut pooled = certainty::Tally::EMPTY;
        let mut shares = shares.iter();
        for (input, j) in sp.pooled.iter().zip(&a.pooled) {
            if *j != i {
                pooled.add(&StudyInput { weight: *shares.next()?, ..*input });
            }
        }
        sp.units.merged(&pooled, &s.thresholds)
    });
    let certainty = match merged {
        Some(t) => t,
        None => {
            let mut inputs: Vec<StudyInput> = Vec::with_capacity(a.certainty_studies.len() - 1);
            let mut r = 0;
            for m in certainty_members(a) {
                match m? {
                    (_, Some(j)) if j == i => {}
                    (input, Some(_)) => {
                        inputs.push(StudyInput { weight: shares[r], ..*input });
                        r += 1;
                    }
                    (input, None) => inputs.push(*input),
                }
            }
            certainty::Tally::of(&inputs)
        }
    };
    let skeleton = DomainAnalysis {
        domain,
        n_studies: a.n_studies - 1,
        pooled_appraised: rest.iter().filter(|r| r.0.appraisal == Appraisal::Appraised).count() as u32,
        pooled_randomised: rest.iter().filter(|r| r.0.randomised).count() as u32,
        synthesis: Some(synthesis),
        appraised_synthesis,
        appraised_studies,
        pooled_harm,
        // Not read by the decision: left empty.
        pooled: Vec::new(),
        descriptive: None,
        descriptive_lower: false,
        pool_note: None,
        pooled_lower: false,
        units: Vec::new(),
        others: Vec::new(),
        credible_harm: Vec::new(),
        harm_signals: Vec::new(),
        certainty_studies: Vec::new(),
    };
    let rest_evidence = Evidence {
        analysis: &skeleton,
        units: e.units,
        certainty,
        credible_harm: e.credible_harm - u32::from(harm_is_credible(left_out, left_out_domain)),
    };
    Some(evidence_decision(&rest_evidence, &[], s))
}

/// The verdict of one domain (docs/scoring.md section 7).
pub fn domain_decision(
    a: &DomainAnalysis<'_>,
    borrowed: &[crate::model::IncomeSetting],
    s: &Settings,
) -> DomainDecision {
    evidence_decision(&Evidence::of(a, s), borrowed, s)
}

/// [`domain_decision`] from tallied evidence.
pub fn evidence_decision(
    e: &Evidence<'_, '_>,
    borrowed: &[crate::model::IncomeSetting],
    s: &Settings,
) -> DomainDecision {
    let a = e.analysis;
    let standing = a.synthesis.as_ref().map(|x| standing_of_ci(x.ci_lower, x.ci_upper, s.band(x.measure)));
    let count = |want: Standing| e.units.by_standing[slot(want)];
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
    let unit_against = e.units.against > 0;
    let against = (rated_benefit && standing == Some(Standing::Inconclusive) && !estimate_positive)
        || ((standing == Some(Standing::Benefit) || rated_benefit) && unit_against);
    let inconclusive = standing == Some(Standing::Inconclusive) || count(Standing::Inconclusive) > 0;
    let (certainty, downgrades) = certainty::rate_tally(
        &e.certainty,
        &certainty::Input {
            domain: a.domain,
            studies: &[],
            synthesis: a.synthesis.as_ref(),
            // An inconclusive synthesis is imprecise evidence, also where
            // reviewers' ratings claim a benefit beside it.
            inconclusive: standing == Some(Standing::Inconclusive)
                || (a.synthesis.is_none() && !(benefit || null || harm)),
            borrowed_from: borrowed,
        },
        &s.thresholds,
    );
    let certainty_start = e.certainty.start();
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
    if e.credible_harm > 0 || a.pooled_harm {
        let rule = if e.credible_harm == 0 { Rule::HarmPooled } else { Rule::HarmStudies };
        return DomainDecision { harm: true, ..d(Rating::Ineffective, rule) };
    }
    if benefit && (null || harm || against) {
        return d(Rating::NeedsResearch, Rule::Mixed);
    }
    if benefit {
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
        let appraised_benefit = pooled_appraised + e.units.appraised_benefit;
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
        let randomised =
            if standing == Some(Standing::Benefit) { a.pooled_randomised } else { 0 } + e.units.randomised_benefit;
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
    let support = count(Standing::Supportive) > 0 || e.units.others_support > 0;
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
    pick(std::array::from_fn(|i| domains[i].map(|d| domain_decision(d, borrowed, s))))
}

/// The headline among domain verdicts (see [`decide`]).
pub fn pick(per_domain: [Option<DomainDecision>; 4]) -> Option<Decision> {
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

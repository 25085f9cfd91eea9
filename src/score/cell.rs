//! One cell's verdict, in named steps (docs/scoring.md): the cell's
//! studies (local, and borrowable from other income settings), their
//! analysis per domain ([`super::evidence`]: eligibility, synthesis, harm),
//! the verdict rules ([`super::verdict`]: per domain with its certainty,
//! the headline, local first), the score, the consensus, and robustness
//! ([`super::robust`]). Results are plain data; `report` words them.

use super::certainty::{Certainty, Downgrade};
use super::config::ScoringConfig;
use super::evidence::{DomainAnalysis, HarmSignal};
use super::robust::{self, Analyses, CellStudies, Draws, Flip};
use super::study::{Standing, StudyView};
use super::synthesis::{probability_of_benefit, PoolNote, Synthesis};
use super::verdict::{Basis, Rule, Settings};
use crate::model::{Direction, IncomeSetting, OutcomeDomain, Rating, Strategy, StudyDesign};
use serde::Serialize;

/// A domain's synthesis as reported: turned back to lower-is-better when
/// every pooled finding was reported so (an RR on victimisation reads as
/// the RR reported).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    /// The direction the numbers are given in.
    pub direction: Direction,
    /// Uncontrolled studies pooled for description only: it does not set
    /// the verdict.
    pub descriptive: bool,
    #[serde(flatten)]
    pub synthesis: Synthesis,
}

impl Pooled {
    fn of(mut s: Synthesis, lower: bool) -> Pooled {
        if !lower {
            return Pooled { direction: Direction::HigherIsBetter, descriptive: false, synthesis: s };
        }
        let flip = |a: &mut f64, b: &mut f64| {
            let (x, y) = (-*b, -*a);
            *a = x;
            *b = y;
        };
        s.estimate = -s.estimate;
        flip(&mut s.ci_lower, &mut s.ci_upper);
        flip(&mut s.hksj_lower, &mut s.hksj_upper);
        if let (Some(mut lo), Some(mut hi)) = (s.pi_lower, s.pi_upper) {
            flip(&mut lo, &mut hi);
            (s.pi_lower, s.pi_upper) = (Some(lo), Some(hi));
        }
        Pooled { direction: Direction::LowerIsBetter, descriptive: false, synthesis: s }
    }
}

/// A domain's verdict with its evidence, for outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainResult {
    pub domain: OutcomeDomain,
    pub category: Rating,
    pub harm: bool,
    pub rule: Rule,
    /// The verdict rests on conclusive controlled evidence.
    pub conclusive: bool,
    /// Capped at `borrowed_max` (borrowed verdicts).
    pub capped: bool,
    pub certainty: Certainty,
    pub n_studies: u32,
    /// Studies whose evidence may set effective, promising or ineffective.
    pub n_eligible: u32,
    /// Studies behind a benefit.
    pub n_benefit: u32,
    /// What the synthesis shows under the default band.
    pub standing: Option<Standing>,
    pub pooled: Option<Pooled>,
    pub pooled_note: Option<PoolNote>,
    pub harm_signals: u32,
}

/// What the score was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreBasis {
    /// The headline domain's synthesis: `Phi(estimate / se)`.
    Synthesis,
    /// Its studies one by one (reviewer ratings, or effects of several
    /// measures), weighted by record weight.
    Studies,
}

impl ScoreBasis {
    pub fn key(self) -> &'static str {
        match self {
            ScoreBasis::Synthesis => "synthesis",
            ScoreBasis::Studies => "studies",
        }
    }
}

/// One verdict per cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellResult {
    /// `(key name, value)` in group-key order.
    pub key: Vec<(String, String)>,
    pub category: Rating,
    pub harm_flag: bool,
    /// The outcome domain the verdict rests on.
    pub domain: OutcomeDomain,
    pub basis: Basis,
    pub rule: Rule,
    /// The verdict was capped at `borrowed_max`.
    pub capped: bool,
    /// Local verdict (`None`: no local study) and borrowed verdict (`None`:
    /// borrowing not used).
    pub category_local: Option<Rating>,
    pub harm_local: bool,
    pub category_borrowed: Option<Rating>,
    /// Per domain with studies (in tier order), of the verdict's basis.
    pub domains: Vec<DomainResult>,
    pub certainty: Certainty,
    /// Where certainty started (randomised evidence high, else low).
    pub certainty_start: Certainty,
    pub downgrades: Vec<Downgrade>,
    /// Findings that point to harm without making it credible, with why.
    pub harm_signals: Vec<HarmSignal>,
    /// Share of robustness draws that keep the category (`None`: draws off).
    pub robustness: Option<f64>,
    pub fragile: bool,
    pub flip: Option<Flip>,
    /// The probability of benefit on the headline outcome
    /// (docs/scoring.md section 11).
    pub score: f64,
    pub score_basis: ScoreBasis,
    pub n_records: u64,
    /// Local studies.
    pub n_studies: usize,
    /// Borrowed studies the verdict uses (0 when its basis is local).
    pub n_borrowed_studies: usize,
    pub borrowed_from: Vec<IncomeSetting>,
    /// Reviewer ratings of local findings per level.
    pub rating_counts: [u64; 5],
    pub n_unrated: u64,
    pub best_design: Option<StudyDesign>,
    pub total_sample: u64,
    pub consensus_rating: Option<Rating>,
    pub disagreement: bool,
    pub strategy: Option<Strategy>,
    /// The headline domain's synthesis.
    pub pooled: Option<Pooled>,
    pub pooled_note: Option<PoolNote>,
    /// Studies the verdict rests on (kept for explanations only).
    #[serde(skip)]
    pub studies: Vec<StudyView>,
}

impl CellResult {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.key.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn domain_result(&self, d: OutcomeDomain) -> Option<&DomainResult> {
        self.domains.iter().find(|x| x.domain == d)
    }
}

/// Weighted mode of reviewer-assigned ratings; ties go to the worse rating.
pub fn consensus(w: &[f64; 5]) -> Option<Rating> {
    let mut best: Option<(f64, Rating)> = None;
    for r in Rating::ALL {
        let x = w[r.index()];
        if x > 0.0 && best.is_none_or(|(bw, _)| x >= bw) {
            best = Some((x, r));
        }
    }
    best.map(|b| b.1)
}

/// The score (docs/scoring.md section 11): the probability of benefit on
/// the domain, `Phi(estimate / se)` of its synthesis; without one, the
/// record-weighted mean of its eligible studies' probabilities of benefit
/// (an effect's `Phi(y / se)`; a reviewer's benefit 1, no effect or harm 0,
/// prudent or inconclusive 0.5), or of all its studies when none is
/// eligible.
pub fn score_of(a: &DomainAnalysis<'_>) -> (f64, ScoreBasis) {
    if let Some(x) = &a.synthesis {
        return (probability_of_benefit(x.estimate, x.se), ScoreBasis::Synthesis);
    }
    let units = if a.units.is_empty() { &a.others } else { &a.units };
    let value = |u: &super::evidence::Unit<'_>| match (u.rated, u.composites) {
        (Some(Standing::Benefit), _) => 1.0,
        (Some(Standing::Null | Standing::Harm), _) => 0.0,
        (Some(_), _) => 0.5,
        (None, [c, ..]) => probability_of_benefit(c.yi, c.vi.sqrt()),
        (None, []) => 0.5,
    };
    let sw: f64 = units.iter().map(|u| u.weight).sum();
    let score = if sw > 0.0 {
        units.iter().map(|u| u.weight * value(u)).sum::<f64>() / sw
    } else if units.is_empty() {
        0.5
    } else {
        units.iter().map(value).sum::<f64>() / units.len() as f64
    };
    (score, ScoreBasis::Studies)
}

/// Everything a cell's evaluation needs from the run.
pub struct Run<'a> {
    pub cfg: &'a ScoringConfig,
    pub reference_year: i32,
    pub settings: Settings,
    pub draws: &'a Draws,
    pub keep_studies: bool,
}

impl Run<'_> {
    fn egger_min(&self) -> usize {
        self.cfg.certainty.egger_min_studies as usize
    }
}

/// Evaluate one cell: `local` studies, `borrowable` ones from other
/// settings (with their source and factor).
pub fn evaluate(
    key: Vec<(String, String)>,
    local: &[&StudyView],
    borrowable: Vec<(&StudyView, IncomeSetting, f64)>,
    run: &Run<'_>,
) -> Option<CellResult> {
    let s = &run.settings;
    let egger_min = run.egger_min();
    // Borrowed studies matter only when the cell has, or after leaving one
    // out could have, fewer local studies than `min_local_studies`.
    let may_borrow = local.len() <= s.min_local_studies as usize;
    let cell = CellStudies {
        local: local.to_vec(),
        borrowable: if may_borrow {
            borrowable.iter().map(|(v, from, f)| v.borrowed(*from, *f)).collect()
        } else {
            Vec::new()
        },
    };
    let analyses: Analyses<'_> = cell.analyse(None, &[], s, egger_min);
    let decision = analyses.decide(s)?;
    let verdict = decision.verdict()?.clone();
    let head = verdict.domain;
    let h = verdict.headline().clone();
    let uses_borrowed = decision.basis == Basis::Borrowed;
    let analysis = if uses_borrowed { analyses.combined.as_ref()? } else { &analyses.local };

    let domains: Vec<DomainResult> = OutcomeDomain::ALL
        .iter()
        .filter_map(|d| {
            let dd = verdict.per_domain[d.index()].as_ref()?;
            let a = analysis.domains[d.index()].as_ref()?;
            Some(DomainResult {
                domain: *d,
                category: dd.category,
                harm: dd.harm,
                rule: dd.rule,
                conclusive: dd.rule.conclusive(),
                capped: dd.capped,
                certainty: dd.certainty,
                n_studies: a.n_studies,
                n_eligible: (a.pooled.len() + a.units.len()) as u32,
                n_benefit: dd.n_benefit,
                standing: dd.standing,
                pooled: match (&a.synthesis, &a.descriptive) {
                    (Some(x), _) => Some(Pooled::of(x.clone(), a.pooled_lower)),
                    (None, Some(x)) => Some(Pooled { descriptive: true, ..Pooled::of(x.clone(), a.descriptive_lower) }),
                    (None, None) => None,
                },
                pooled_note: a.pool_note.clone(),
                harm_signals: a.harm_signals.len() as u32,
            })
        })
        .collect();
    let head_result = domains.iter().find(|d| d.domain == head);
    let head_analysis = analysis.domains[head.index()].as_ref()?;
    let (score, score_basis) = score_of(head_analysis);
    let harm_signals: Vec<HarmSignal> =
        analysis.domains.iter().flatten().flat_map(|a| a.harm_signals.clone()).collect();

    // Consensus over local findings.
    let mut cw = [0.0; 5];
    for st in local {
        for (a, b) in cw.iter_mut().zip(&st.consensus_w) {
            *a += b;
        }
    }
    let consensus_rating = consensus(&cw);

    let mut strategy_counts = [0u64; 8];
    let mut rating_counts = [0u64; 5];
    let (mut n_records, mut n_unrated, mut total_sample) = (0, 0, 0);
    let mut best_design: Option<StudyDesign> = None;
    for st in local {
        n_records += st.n_records;
        n_unrated += st.n_unrated;
        total_sample += st.max_sample;
        for (a, b) in rating_counts.iter_mut().zip(&st.rating_counts) {
            *a += b;
        }
        for (a, b) in strategy_counts.iter_mut().zip(&st.strategy_counts) {
            *a += b;
        }
        if let Some(d) = st.best_design {
            best_design = Some(best_design.map_or(d, |b: StudyDesign| b.min(d)));
        }
    }
    let strategy = {
        let (slot, n) =
            strategy_counts[..7].iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0))).unwrap_or((7, &0));
        (*n > 0).then(|| Strategy::ALL[slot])
    };

    let category = (h.category, h.harm);
    let robustness = robust::robustness(&analyses, category, s, run.draws);
    let (fragile, removal) = robust::leave_one_out(&cell, &analyses, category, s, egger_min);
    let flip = robust::flip(&cell, &analyses, removal, s, run.cfg.robustness.max_added, egger_min);
    let kept: Vec<StudyView> = if run.keep_studies {
        let mut v: Vec<StudyView> = local.iter().map(|x| (*x).clone()).collect();
        if uses_borrowed {
            v.extend(cell.borrowable.iter().cloned());
        }
        v
    } else {
        Vec::new()
    };
    Some(CellResult {
        key,
        category: h.category,
        harm_flag: h.harm,
        domain: head,
        basis: decision.basis,
        rule: h.rule,
        capped: h.capped,
        category_local: decision.local.as_ref().map(|d| d.category().0),
        harm_local: decision.local.as_ref().is_some_and(|d| d.category().1),
        category_borrowed: decision.borrowed.as_ref().map(|d| d.category().0),
        pooled: head_result.and_then(|d| d.pooled.clone()),
        pooled_note: head_result.and_then(|d| d.pooled_note.clone()),
        domains,
        certainty: h.certainty,
        certainty_start: h.certainty_start,
        downgrades: h.downgrades.clone(),
        harm_signals,
        robustness,
        fragile,
        flip,
        score,
        score_basis,
        n_records,
        n_studies: local.len(),
        n_borrowed_studies: if uses_borrowed { cell.borrowable.len() } else { 0 },
        borrowed_from: if uses_borrowed { analysis.borrowed_from.clone() } else { Vec::new() },
        rating_counts,
        n_unrated,
        best_design,
        total_sample,
        disagreement: consensus_rating.is_some_and(|c| c != h.category),
        consensus_rating,
        strategy,
        studies: kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consensus_ties_go_to_the_worse_rating() {
        assert_eq!(consensus(&[1.0, 1.0, 0.1, 0.4, 0.3]), Some(Rating::Promising));
        assert_eq!(consensus(&[0.0; 5]), None);
    }
}

//! The fast paths of scoring against the plain computations they replace,
//! on random tables (issue 22): the answers must be the same numbers, bit
//! for bit, not merely close.
//!
//! * REML's Fisher scoring without stored weights against the textbook
//!   iteration with stored weights (the code before the change), started
//!   at the same Hedges estimate with the same tolerance.
//! * Leave-one-out that takes the synthesis over when the study left out is
//!   not poolable in a domain, or subtracts the study from the domain's
//!   tallies, against analysing the remaining studies from scratch.
//! * Leaving out a pooled study: the syntheses fitted again over the other
//!   pooled studies with the rest carried over, against the whole domain
//!   decision of the remaining studies analysed from scratch.

use evidex::meta::{self, FitOptions, Measure, Method};
use evidex::model::Rating;
use evidex::model::{OutcomeDomain, RiskOfBias, StudyDesign};
use evidex::score::evidence::{poolable, DomainAnalysis};
use evidex::score::robust::{self, CellStudies, Change};
use evidex::score::study::{Appraisal, Composite, Standing, StudyDomain, StudyView};
use evidex::score::verdict::{
    decision_without_pooled, domain_decision, DomainDecision, Evidence, PooledSplit, Settings,
};
use evidex::score::ScoringConfig;
use evidex::synth::Rng;

/// REML by Fisher scoring as it was written before the change: weights
/// stored per step, each sum its own pass, started at the Hedges estimate.
fn reml_reference(y: &[f64], v: &[f64]) -> f64 {
    let k = y.len() as f64;
    let ones = vec![1.0; y.len()];
    let wmean = |w: &[f64], sw: f64| {
        let y0 = y[0];
        y0 + w.iter().zip(y).map(|(w, y)| w * (y - y0)).sum::<f64>() / sw
    };
    let mean = wmean(&ones, k);
    let ss: f64 = y.iter().map(|y| (y - mean).powi(2)).sum();
    let mut tau2 = (ss / (k - 1.0) - v.iter().sum::<f64>() / k).max(0.0);
    for _ in 0..1000 {
        let w: Vec<f64> = v.iter().map(|v| 1.0 / (v + tau2)).collect();
        let sw: f64 = w.iter().sum();
        let sw2: f64 = w.iter().map(|x| x * x).sum();
        let sw3: f64 = w.iter().map(|x| x * x * x).sum();
        let mu = wmean(&w, sw);
        let ypy2: f64 = w.iter().zip(y).map(|(w, y)| (w * (y - mu)).powi(2)).sum();
        let tr_p = sw - sw2 / sw;
        let tr_pp = sw2 - 2.0 * sw3 / sw + (sw2 / sw).powi(2);
        let new = (tau2 + (ypy2 - tr_p) / tr_pp).max(0.0);
        let change = (new - tau2).abs();
        tau2 = new;
        if change < 1e-10 {
            return tau2;
        }
    }
    panic!("the reference did not converge");
}

#[test]
fn reml_without_stored_weights_gives_the_same_bits() {
    let mut rng = Rng::new(22);
    for case in 0..2000 {
        let k = 2 + (rng.f64() * 60.0) as usize;
        let spread = [0.0, 0.05, 0.3, 1.0][case % 4];
        let v: Vec<f64> = (0..k).map(|_| 0.001 + 0.2 * rng.f64()).collect();
        let y: Vec<f64> = v.iter().map(|vi| 0.2 + (vi + spread).sqrt() * rng.normal()).collect();
        let fit = meta::fit(&y, &v, &FitOptions { method: Method::REML, ..FitOptions::default() }).unwrap();
        if fit.method != Method::REML {
            continue;
        }
        let want = reml_reference(&y, &v);
        assert_eq!(fit.tau2.to_bits(), want.to_bits(), "case {case}: k = {k}, {} != {want}", fit.tau2);
    }
}

fn study(i: usize, rng: &mut Rng) -> StudyView {
    let appraisal = match (rng.f64() * 4.0) as u32 {
        0 => Appraisal::Appraised,
        1 => Appraisal::NotAssessed,
        2 => Appraisal::HighRisk,
        _ => Appraisal::Uncontrolled,
    };
    let randomised = rng.f64() < 0.5;
    let mut domains = Vec::new();
    for d in OutcomeDomain::ALL {
        if rng.f64() < 0.45 {
            continue;
        }
        let with_effect = rng.f64() < 0.7;
        let vi = 0.005 + 0.1 * rng.f64();
        let composites = if with_effect {
            vec![Composite {
                yi: 0.15 + 0.3 * rng.normal(),
                vi,
                measure: Measure::SMD,
                all_lower: false,
                n: 1,
                direction_known: rng.f64() < 0.9,
                cluster_uncorrected: rng.f64() < 0.05,
            }]
        } else {
            Vec::new()
        };
        let rated = (!with_effect).then(|| match (rng.f64() * 5.0) as u32 {
            0 => Standing::Benefit,
            1 => Standing::Null,
            2 => Standing::Inconclusive,
            3 => Standing::Supportive,
            _ => Standing::Harm,
        });
        domains.push(StudyDomain {
            domain: d,
            primary: rng.f64() < 0.8,
            n_findings: 1,
            composites,
            rated,
            best_rating: None,
            explicit_harm: rng.f64() < 0.03,
            secondary_harm: rng.f64() < 0.03,
            weights: Vec::new(),
            weight: 0.2 + rng.f64(),
        });
    }
    StudyView {
        study: format!("S{i:04}"),
        borrowed_from: None,
        transfer: 1.0,
        appraisal,
        randomised,
        best_design: Some(if randomised { StudyDesign::Rct } else { StudyDesign::QuasiExperimental }),
        best_rob: match appraisal {
            Appraisal::Appraised => Some(if rng.f64() < 0.5 { RiskOfBias::Low } else { RiskOfBias::SomeConcerns }),
            Appraisal::HighRisk => Some(RiskOfBias::High),
            _ => None,
        },
        max_sample: (rng.f64() * 400.0) as u64,
        n_records: 1,
        rating_counts: [0; 5],
        n_unrated: 0,
        n_unscored: 0,
        strategy_counts: [0; 8],
        consensus_w: [0.0; 5],
        domains,
    }
}

/// The default settings and Egger's minimum number of studies.
fn defaults() -> (Settings, usize) {
    let cfg = ScoringConfig::default();
    (Settings::of(&cfg), cfg.certainty.egger_min_studies as usize)
}

#[test]
fn leave_one_out_with_the_synthesis_taken_over_is_the_full_re_analysis() {
    let (s, egger_min) = defaults();
    let mut rng = Rng::new(2022);
    let mut reused = 0;
    for _ in 0..60 {
        let k = 3 + (rng.f64() * 40.0) as usize;
        let studies: Vec<StudyView> = (0..k).map(|i| study(i, &mut rng)).collect();
        let cell = CellStudies { local: studies.iter().collect(), borrowable: Vec::new() };
        let base = cell.analyse(None, &[], &s, egger_min);
        for i in 0..k {
            // The category the leave-one-out loop uses, against the whole
            // set analysed again without study i.
            let fast = cell.category_after(&base, Some(i), &[], &s, egger_min);
            let slow = cell.analyse(Some(i), &[], &s, egger_min).decide(&s).and_then(|d| d.category());
            assert_eq!(fast, slow, "study {i} of {k}");
            // And the analyses themselves, where the synthesis is taken over.
            let rest: Vec<&StudyView> = studies.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x).collect();
            for (d, domain) in OutcomeDomain::ALL.into_iter().enumerate() {
                let (Some(prior), Some(sd)) = (&base.local.domains[d], studies[i].domain(domain)) else {
                    continue;
                };
                if poolable(&studies[i], sd) {
                    continue;
                }
                reused += 1;
                let taken = DomainAnalysis::with_same_pool(&rest, domain, egger_min, prior);
                assert_eq!(taken, DomainAnalysis::new(&rest, domain, egger_min), "study {i} of {k}, {domain:?}");
            }
        }
    }
    assert!(reused > 500, "too few cases exercised the taken-over synthesis: {reused}");
}

#[test]
fn leave_one_out_by_subtraction_finds_what_re_analysing_finds() {
    let (s, egger_min) = defaults();
    let mut rng = Rng::new(13);
    let (mut fragile, mut steady) = (0, 0);
    for _ in 0..300 {
        let k = 2 + (rng.f64() * 30.0) as usize;
        let studies: Vec<StudyView> = (0..k).map(|i| study(i, &mut rng)).collect();
        let cell = CellStudies { local: studies.iter().collect(), borrowable: Vec::new() };
        let base = cell.analyse(None, &[], &s, egger_min);
        let Some(verdict) = base.decide(&s).and_then(|d| d.category()) else {
            continue;
        };
        // The plain loop: every study left out in turn, the rest analysed
        // from scratch; the first that changes the category.
        let nothing = (Rating::NeedsResearch, false);
        let first = (0..k).find(|&i| {
            let after = if k == 1 {
                nothing
            } else {
                cell.analyse(Some(i), &[], &s, egger_min).decide(&s).and_then(|d| d.category()).unwrap_or(nothing)
            };
            after != verdict
        });
        let (is_fragile, flip) = robust::leave_one_out(&cell, &base, verdict, &s, egger_min);
        assert_eq!(is_fragile, first.is_some(), "{k} studies");
        let left_out = flip.map(|f| match f.change {
            Change::WithoutStudy { study, .. } => study,
            other => panic!("{other:?}"),
        });
        assert_eq!(left_out, first.map(|i| studies[i].study.clone()), "{k} studies");
        if first.is_some() {
            fragile += 1;
        } else {
            steady += 1;
        }
    }
    assert!(fragile > 20 && steady > 20, "{fragile} fragile, {steady} steady");
}

#[test]
fn leaving_out_a_pooled_study_decides_as_the_full_re_analysis() {
    let (s, egger_min) = defaults();
    let mut rng = Rng::new(77);
    let (mut compared, mut with_appraised, mut harm) = (0, 0, 0);
    for _ in 0..200 {
        let k = 3 + (rng.f64() * 45.0) as usize;
        let studies: Vec<StudyView> = (0..k).map(|i| study(i, &mut rng)).collect();
        let all: Vec<&StudyView> = studies.iter().collect();
        for domain in OutcomeDomain::ALL {
            let Some(a) = DomainAnalysis::new(&all, domain, egger_min) else { continue };
            let e = Evidence::of(&a, &s);
            let split = PooledSplit::of(&a);
            for &i in &a.pooled {
                let fast = decision_without_pooled(&e, i, |j| &studies[j], &s, egger_min, None);
                let rest: Vec<&StudyView> =
                    studies.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x).collect();
                let full = DomainAnalysis::new(&rest, domain, egger_min).map(|x| domain_decision(&x, &[], &s));
                // With the split certainty tally: the same decision, but a
                // some-concerns share summed in another order.
                let from_split = decision_without_pooled(&e, i, |j| &studies[j], &s, egger_min, split.as_ref());
                assert_eq!(from_split.is_some(), fast.is_some());
                if let (Some(x), Some(full)) = (&from_split, &full) {
                    assert_same_decision(x, full, &format!("study {i} of {k}, {domain:?}, split"));
                }
                match fast {
                    Some(fast) => {
                        assert_eq!(Some(&fast), full.as_ref(), "study {i} of {k}, {domain:?}");
                        compared += 1;
                        with_appraised += usize::from(
                            DomainAnalysis::new(&rest, domain, egger_min).unwrap().appraised_synthesis.is_some(),
                        );
                        harm += usize::from(fast.harm);
                    }
                    // The shortcut declines only where the rest has one
                    // pooled study or none.
                    None => assert!(a.pooled.len() < 2, "study {i} of {k}, {domain:?}: declined"),
                }
            }
        }
    }
    assert!(
        compared > 2000 && with_appraised > 300,
        "{compared} compared, {with_appraised} with an appraised synthesis"
    );
    assert!(harm > 0, "no harmful decision exercised");
}

/// Two decisions equal in everything but the some-concerns share of a
/// risk-of-bias reason, which may differ by rounding (relative 1e-12).
fn assert_same_decision(a: &DomainDecision, b: &DomainDecision, what: &str) {
    use evidex::score::certainty::Downgrade;
    let share = |d: &DomainDecision| -> Vec<f64> {
        d.downgrades
            .iter()
            .filter_map(|g| match g {
                Downgrade::RiskOfBias { some_concerns, .. } => Some(*some_concerns),
                _ => None,
            })
            .collect()
    };
    let (sa, sb) = (share(a), share(b));
    assert_eq!(sa.len(), sb.len(), "{what}");
    for (x, y) in sa.iter().zip(&sb) {
        assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{what}: share {x} vs {y}");
    }
    let without_shares = |d: &DomainDecision| {
        let mut d = d.clone();
        for g in &mut d.downgrades {
            if let Downgrade::RiskOfBias { some_concerns, .. } = g {
                *some_concerns = 0.0;
            }
        }
        d
    };
    assert_eq!(without_shares(a), without_shares(b), "{what}");
}

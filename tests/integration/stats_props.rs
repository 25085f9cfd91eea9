//! Property tests (issue 19): random effect tables (k 1..30; effects and
//! SEs over wide ranges, with ties, zeros and extremes) through the meta
//! fit (every estimator and test), Egger's test, the renderers (meta text,
//! JSON and CSV, forest SVG) and the cell scorer. Nothing panics; every
//! printed number is finite or shown as not computable; tau^2 >= 0; every
//! CI contains its estimate; I^2 is within [0, 100]; a Q-profile CI is
//! ordered. `EVIDEX_PROP_CASES` raises the number of cases (default 48).

use evidex::meta::{self, FitOptions, GroupResult, Measure, MetaFit, MetaReport, Method, StudyEffect, TestKind};
use evidex::model::{EvaluationRecord, OutcomeDomain, Rating};
use evidex::report::{forest, meta as rm};
use evidex::score::{self, GroupKey, ScoringConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const METHODS: [Method; 7] = [Method::EE, Method::DL, Method::HE, Method::SJ, Method::ML, Method::REML, Method::PM];
const TESTS: [TestKind; 3] = [TestKind::Z, TestKind::Knha, TestKind::Adhoc];

pub fn cases(default: u32) -> u32 {
    std::env::var("EVIDEX_PROP_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// An effect: zero, ordinary, wide, extreme, or one of a few shared values
/// (ties).
pub fn effect() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => Just(0.0),
        4 => -3.0..3.0f64,
        2 => -1e6..1e6f64,
        1 => -1e150..1e150f64,
        1 => prop::sample::select(vec![1e300, -1e300, 1e-300, 5e-324, -0.0]),
        4 => prop::sample::select(vec![0.3, -0.2, 1.0]),
    ]
}

/// A standard error: ordinary, tiny, huge, tied, and (rarely) invalid (0,
/// negative) so that refusals are exercised too.
pub fn standard_error() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.01..2.0f64,
        2 => prop::sample::select(vec![0.1, 0.161_245_154_965_971, 1e-12]),
        1 => 1e-150..1e-6f64,
        1 => 1e3..1e150f64,
        1 => prop::sample::select(vec![0.0, -0.1, 1e-160, 1e160]),
    ]
}

pub fn table() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((effect(), standard_error()), 1..=30)
}

fn runner(default: u32) -> TestRunner {
    TestRunner::new(Config { cases: cases(default), failure_persistence: None, ..Config::default() })
}

/// Properties of one fit.
fn check_fit(f: &MetaFit, what: &str) -> Result<(), TestCaseError> {
    let core = [
        ("estimate", f.estimate),
        ("se", f.se),
        ("ci_lower", f.ci_lower),
        ("ci_upper", f.ci_upper),
        ("tau2", f.tau2),
        ("tau", f.tau),
        ("i2", f.i2),
        ("h2", f.h2),
        ("q", f.q),
        ("pi_lower", f.pi_lower),
        ("pi_upper", f.pi_upper),
    ];
    for (k, x) in core {
        prop_assert!(x.is_finite(), "{what}: {k} = {x}");
    }
    prop_assert!(f.weights.iter().all(|w| w.is_finite() && *w >= 0.0), "{what}: weights {:?}", f.weights);
    prop_assert!(f.tau2 >= 0.0, "{what}: tau2 {}", f.tau2);
    prop_assert!((0.0..=100.0).contains(&f.i2), "{what}: I^2 {}", f.i2);
    prop_assert!(f.se >= 0.0, "{what}: se {}", f.se);
    prop_assert!(f.ci_lower <= f.estimate && f.estimate <= f.ci_upper, "{what}: CI {f:?}");
    prop_assert!(f.pi_lower <= f.estimate && f.estimate <= f.pi_upper, "{what}: PI {f:?}");
    for (k, s) in [("stat", &f.stat), ("pval", &f.pval), ("q_pval", &f.q_pval)] {
        if let Ok(x) = s {
            prop_assert!(x.is_finite(), "{what}: {k} = {x}");
        }
    }
    for p in [&f.pval, &f.q_pval].into_iter().flatten() {
        prop_assert!((0.0..=1.0).contains(p), "{what}: p = {p}");
    }
    if let (Some(Ok(lo)), Some(Ok(hi))) = (&f.tau2_ci_lower, &f.tau2_ci_upper) {
        prop_assert!(lo.is_finite() && hi.is_finite() && 0.0 <= *lo && lo <= hi, "{what}: tau2 CI [{lo}, {hi}]");
    }
    Ok(())
}

/// No NaN or infinity among the words of a rendering.
fn no_non_finite(text: &str, what: &str) -> Result<(), TestCaseError> {
    let text = text.replace("isNaN", "");
    let bad = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .find(|t| matches!(t.to_ascii_lowercase().as_str(), "nan" | "inf" | "infinity"));
    prop_assert!(bad.is_none(), "{what} prints {bad:?}:\n{text}");
    Ok(())
}

/// Renderers: text, JSON (every null explained) and CSV of the report, and
/// the forest plot.
fn check_renderers(y: &[f64], v: &[f64], fit: Result<MetaFit, meta::MetaError>) -> Result<(), TestCaseError> {
    let studies: Vec<StudyEffect> = y
        .iter()
        .zip(v)
        .enumerate()
        .map(|(i, (y, v))| StudyEffect {
            study: format!("S{i}"),
            yi: *y,
            vi: *v,
            records: 1,
            weight: fit.as_ref().map_or(0.0, |f| f.weights[i]),
            cluster: None,
        })
        .collect();
    let (fit, error) = match fit {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let egger = (fit.is_some() && y.len() >= 3).then(|| meta::egger(y, v));
    if let Some(Ok(e)) = &egger {
        prop_assert!(e.stat.is_finite() && (0.0..=1.0).contains(&e.pval), "Egger {e:?}");
    }
    for measure in [Measure::SMD, Measure::RR] {
        let overall = GroupResult {
            group: Vec::new(),
            records: y.len(),
            records_combined: 0,
            studies: studies.clone(),
            fit: fit.clone(),
            error: error.clone(),
            egger: egger.clone(),
            robust: None,
            leave_one_out: Vec::new(),
        };
        let rep = MetaReport {
            measure,
            overall,
            subgroups: Vec::new(),
            subgroup_test: None,
            excluded: Vec::new(),
            warnings: Vec::new(),
        };
        let files = vec!["t.csv".to_string()];
        no_non_finite(&rm::meta_text(&rep, &files), "meta text")?;
        no_non_finite(&rm::meta_csv(&rep), "meta CSV")?;
        let json: serde_json::Value = serde_json::from_str(&rm::meta_json(&rep, &files, None)).unwrap();
        if rep.overall.fit.is_some() {
            for key in ["stat", "pval", "q_pval"] {
                prop_assert!(
                    json[key].is_number() || json["not_computable"][key].is_string(),
                    "{key} null without a reason: {json}"
                );
            }
        }
        let svg = forest::render_svg(&rep.overall, measure, "t");
        no_non_finite(&svg, "forest SVG")?;
    }
    Ok(())
}

/// Every estimator and test on random tables: the fit's properties, and
/// the renderers on the REML/z fit (and on each refusal).
#[test]
fn random_tables_through_the_fit_and_the_renderers() {
    runner(48)
        .run(&table(), |t| {
            let y: Vec<f64> = t.iter().map(|x| x.0).collect();
            let v: Vec<f64> = t.iter().map(|x| x.1 * x.1.abs()).collect();
            for method in METHODS {
                for test in TESTS {
                    let r = meta::fit(&y, &v, &FitOptions { method, test, ..FitOptions::default() });
                    if let Ok(f) = &r {
                        check_fit(f, &format!("{method}/{test} on {t:?}"))?;
                    }
                    if method == Method::REML && test == TestKind::Z {
                        check_renderers(&y, &v, r)?;
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

fn record(i: usize, y: f64, se: f64, domain: OutcomeDomain, rated: bool) -> Option<EvaluationRecord> {
    crate::records::r(&format!("R{i}"), &format!("S{}", i / 2))
        .domain(domain)
        .smd(y, se)
        .rating(rated.then_some(Rating::Effective))
        .try_build()
}

/// The cell scorer (REML with the modified Knapp-Hartung CI, Egger from
/// k = 10) on records built from random tables: scores in [0, 1], pooled
/// numbers finite, CIs containing their estimates, I^2 in [0, 100].
#[test]
fn random_tables_through_the_cell_scorer() {
    let cfg = ScoringConfig { reference_year: 2020, ..ScoringConfig::default() };
    runner(24)
        .run(&(table(), any::<u64>()), |(t, bits)| {
            let domains = [OutcomeDomain::Violence, OutcomeDomain::Behaviour];
            let recs: Vec<EvaluationRecord> = t
                .iter()
                .enumerate()
                .filter_map(|(i, (y, se))| record(i, *y, *se, domains[(bits >> (i % 64)) as usize & 1], bits & 1 == 0))
                .collect();
            let res = score::score_records(&recs, &GroupKey::DEFAULT, &cfg);
            for c in &res.cells {
                prop_assert!(c.score.is_finite() && (0.0..=1.0).contains(&c.score), "score = {}", c.score);
                for d in &c.domains {
                    if let Some(p) = &d.pooled {
                        let p = &p.synthesis;
                        let pi = [p.pi_lower, p.pi_upper].into_iter().flatten();
                        for x in [p.estimate, p.se, p.ci_lower, p.ci_upper, p.hksj_lower, p.hksj_upper, p.i2, p.tau2]
                            .into_iter()
                            .chain(pi)
                        {
                            prop_assert!(x.is_finite(), "{p:?}");
                        }
                        prop_assert!(p.ci_lower <= p.estimate && p.estimate <= p.ci_upper, "{p:?}");
                        prop_assert!(p.hksj_lower <= p.estimate && p.estimate <= p.hksj_upper, "{p:?}");
                        prop_assert!(p.tau2 >= 0.0 && (0.0..=100.0).contains(&p.i2), "{p:?}");
                        if let Some(e) = p.egger_p {
                            prop_assert!((0.0..=1.0).contains(&e), "{p:?}");
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

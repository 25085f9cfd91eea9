//! Meta-analysis accuracy against published metafor results (dat.bcg, from
//! the metafor documentation and Viechtbauer 2010) and against independent
//! reference values computed by tests/oracle/meta_reference.py (numpy/scipy/
//! statsmodels; see that script for how each number is obtained) and stored
//! in tests/data/meta_reference.json.

use crate::tol::{assert_close, assert_published, CLOSED_FORM_REL, ITERATIVE_REL, STATSMODELS_REL};
use crate::util::{data, run};
use evidex::ingest::{self, Contract, IngestOptions};
use evidex::meta::{self, FitOptions, Measure, Method, TestKind};
use serde_json::Value;

fn reference() -> Value {
    let text = std::fs::read_to_string(data("tests/data/meta_reference.json")).expect("reference file");
    serde_json::from_str(&text).expect("reference JSON")
}

/// Effects through the real ingest + effect-size path.
fn effects(file: &str, measure: Option<Measure>) -> (Vec<f64>, Vec<f64>, usize) {
    let opts = IngestOptions { contract: Contract::Effects, ..Default::default() };
    let ing = ingest::ingest_one(&data(file), &opts).expect("ingest");
    assert!(ing.rejected.is_empty(), "{file}: rejected rows {:?}", ing.rejected);
    let mut y = Vec::new();
    let mut v = Vec::new();
    let mut excluded = 0;
    for r in &ing.effect_rows {
        match meta::compute_effect(&r.effect, measure) {
            Ok(e) => {
                y.push(e.yi);
                v.push(e.vi);
            }
            Err(_) => excluded += 1,
        }
    }
    (y, v, excluded)
}

const CASES: &[(&str, &str, Option<Measure>)] = &[
    ("dat.bcg_RR", "tests/data/dat.bcg.csv", Some(Measure::RR)),
    ("dat.bcg_OR", "tests/data/dat.bcg.csv", Some(Measure::OR)),
    ("dat.hackshaw1998", "tests/data/dat.hackshaw1998.csv", None),
    ("dat.normand1999_MD", "tests/data/dat.normand1999.csv", Some(Measure::MD)),
    ("dat.normand1999_SMD", "tests/data/dat.normand1999.csv", Some(Measure::SMD)),
    ("dat.raudenbush1985", "tests/data/dat.raudenbush1985.csv", None),
    ("dat.li2007_OR", "tests/data/dat.li2007.csv", Some(Measure::OR)),
    ("dat.egger2001_OR", "tests/data/dat.egger2001.csv", Some(Measure::OR)),
    ("dat.hine1989_RD", "tests/data/dat.hine1989.csv", Some(Measure::RD)),
    ("clasp_OR", "tests/data/clasp_dersimonian2007.csv", Some(Measure::OR)),
    ("viechtbauer2005_example1", "tests/data/viechtbauer2005_example1.csv", None),
    ("viechtbauer2005_example2", "tests/data/viechtbauer2005_example2.csv", None),
];

#[test]
fn effect_sizes_match_the_oracle() {
    let r = reference();
    for (name, file, measure) in CASES {
        let (y, v, excluded) = effects(file, *measure);
        let ry: Vec<f64> = serde_json::from_value(r[name]["yi"].clone()).unwrap();
        let rv: Vec<f64> = serde_json::from_value(r[name]["vi"].clone()).unwrap();
        assert_eq!(y.len(), ry.len(), "{name}: k");
        if let Some(d) = r[name].get("dropped") {
            assert_eq!(excluded as u64, d.as_u64().unwrap(), "{name}: double-zero tables excluded");
        }
        for i in 0..y.len() {
            assert_close(&format!("{name} yi[{i}]"), y[i], ry[i], CLOSED_FORM_REL);
            assert_close(&format!("{name} vi[{i}]"), v[i], rv[i], CLOSED_FORM_REL);
        }
    }
}

#[test]
fn every_estimator_matches_the_oracle() {
    let r = reference();
    let methods = [
        ("EE", Method::EE, TestKind::Z),
        ("DL", Method::DL, TestKind::Z),
        ("HE", Method::HE, TestKind::Z),
        ("SJ", Method::SJ, TestKind::Z),
        ("PM", Method::PM, TestKind::Z),
        ("ML", Method::ML, TestKind::Z),
        ("REML", Method::REML, TestKind::Z),
        ("REML_knha", Method::REML, TestKind::Knha),
        ("DL_knha", Method::DL, TestKind::Knha),
        ("REML_adhoc", Method::REML, TestKind::Adhoc),
    ];
    let mut checked = 0;
    for (name, file, measure) in CASES {
        let (y, v, _) = effects(file, *measure);
        for (key, method, test) in methods {
            let f = meta::fit(&y, &v, &FitOptions { method, test, ..Default::default() }).unwrap();
            let e = &r[name]["fits"][key];
            let tol = if matches!(method, Method::ML | Method::REML) { ITERATIVE_REL } else { CLOSED_FORM_REL };
            let q = |k: &str| e[k].as_f64().unwrap();
            let what = |k: &str| format!("{name} {key} {k}");
            assert_close(&what("tau2"), f.tau2, q("tau2"), tol);
            assert_close(&what("estimate"), f.estimate, q("estimate"), tol);
            assert_close(&what("se"), f.se, q("se"), tol);
            assert_close(&what("ci_lower"), f.ci_lower, q("ci_lower"), tol);
            assert_close(&what("ci_upper"), f.ci_upper, q("ci_upper"), tol);
            assert_close(&what("pval"), f.pval.clone().unwrap(), q("pval"), tol.max(1e-7));
            assert_close(&what("i2"), f.i2, q("i2"), tol);
            assert_close(&what("h2"), f.h2, q("h2"), tol);
            assert_close(&what("q"), f.q, q("q"), CLOSED_FORM_REL);
            assert_close(&what("q_pval"), f.q_pval.clone().unwrap(), q("q_pval"), 1e-7);
            assert_close(&what("pi_lower"), f.pi_lower, q("pi_lower"), tol);
            assert_close(&what("pi_upper"), f.pi_upper, q("pi_upper"), tol);
            assert_close(&what("tau2_ci_lower"), f.tau2_ci_lower.clone().unwrap().unwrap(), q("tau2_ci_lower"), 1e-7);
            assert_close(&what("tau2_ci_upper"), f.tau2_ci_upper.clone().unwrap().unwrap(), q("tau2_ci_upper"), 1e-7);
            checked += 1;
        }
        // statsmodels' combine_effects, where its tau^2 > 0 (it does not truncate).
        for (key, method) in [("statsmodels_DL", Method::DL), ("statsmodels_PM", Method::PM)] {
            if let Some(s) = r[name].get(key) {
                let f = meta::fit(&y, &v, &FitOptions { method, ..Default::default() }).unwrap();
                assert_close(
                    &format!("{name} {key} estimate"),
                    f.estimate,
                    s["estimate"].as_f64().unwrap(),
                    STATSMODELS_REL,
                );
                assert_close(&format!("{name} {key} se"), f.se, s["se"].as_f64().unwrap(), STATSMODELS_REL);
                assert_close(&format!("{name} {key} tau2"), f.tau2, s["tau2"].as_f64().unwrap(), STATSMODELS_REL);
            }
        }
        if let Some(eg) = r[name].get("egger") {
            let got = meta::egger_test(&y, &v).unwrap();
            assert_close(&format!("{name} egger t"), got.stat, eg["stat"].as_f64().unwrap(), 1e-8);
            assert_close(&format!("{name} egger p"), got.pval, eg["pval"].as_f64().unwrap(), 1e-7);
        }
    }
    assert_eq!(checked, CASES.len() * methods.len());
}

/// metafor documentation / Viechtbauer (2010), dat.bcg, log risk ratios.
#[test]
fn dat_bcg_published_metafor_results_via_cli() {
    let r = run(&["meta", "tests/data/dat.bcg.csv", "--measure", "RR", "--method", "REML", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    let g = |k: &str| j[k].as_f64().unwrap_or_else(|| panic!("{k} missing\n{}", r.show()));
    assert_eq!(j["k"], 13);
    assert_published("REML estimate", g("estimate"), -0.7145);
    assert_published("REML se", g("se"), 0.1798);
    assert_published("REML ci_lower", g("ci_lower"), -1.0669);
    assert_published("REML ci_upper", g("ci_upper"), -0.3622);
    assert_published("REML tau2", g("tau2"), 0.3132);
    assert!((g("i2") - 92.22).abs() <= 0.005, "I^2 {}", g("i2"));
    assert!((g("h2") - 12.86).abs() <= 0.005, "H^2 {}", g("h2"));
    assert_published("PI lower (RR)", j["exp"]["pi_lower"].as_f64().unwrap(), 0.1546);
    assert_published("PI upper (RR)", j["exp"]["pi_upper"].as_f64().unwrap(), 1.5490);
    // Q-profile CI for tau^2 as printed by metafor's confint(): [0.1197, 1.1115]
    assert_published("tau2 CI lower", g("tau2_ci_lower"), 0.1197);
    assert_published("tau2 CI upper", g("tau2_ci_upper"), 1.1115);

    let ee = run(&["meta", "tests/data/dat.bcg.csv", "--measure", "RR", "--method", "EE", "--format", "json"]).json();
    assert_published("EE estimate", ee["estimate"].as_f64().unwrap(), -0.4303);
    assert_published("EE ci_lower", ee["ci_lower"].as_f64().unwrap(), -0.5097);
    assert_published("EE ci_upper", ee["ci_upper"].as_f64().unwrap(), -0.3509);
    assert_published("EE Q", ee["q"].as_f64().unwrap(), 152.2330);
    assert_eq!(ee["q_df"], 12);

    let dl = run(&["meta", "tests/data/dat.bcg.csv", "--measure", "RR", "--method", "DL", "--format", "json"]).json();
    assert_published("DL estimate", dl["estimate"].as_f64().unwrap(), -0.7141);
    assert_published("DL ci_lower", dl["ci_lower"].as_f64().unwrap(), -1.0644);
    assert_published("DL ci_upper", dl["ci_upper"].as_f64().unwrap(), -0.3638);
    assert_published("DL tau2", dl["tau2"].as_f64().unwrap(), 0.3088);
    assert!((dl["i2"].as_f64().unwrap() - 92.12).abs() <= 0.005);
}

/// sv-meta as its authors analysed it: REML with CR1 by study (Porat et al.
/// 2024 report a pooled delta of about 0.28, SE about 0.025); exact values
/// from the oracle.
#[test]
fn sv_meta_cluster_robust_matches_oracle_and_paper() {
    let r = run(&[
        "meta",
        "datasets/sv-meta/sv_meta_data.csv",
        "--columns",
        "datasets/sv-meta/mapping.toml",
        "--cluster",
        "study_id",
        "--format",
        "json",
    ]);
    r.expect_code(0);
    let j = r.json();
    let reference = reference();
    let o = &reference["sv_meta_cr1"];
    assert_eq!(j["k"], 489);
    assert_close("sv-meta tau2", j["tau2"].as_f64().unwrap(), o["tau2"].as_f64().unwrap(), ITERATIVE_REL);
    assert_close("sv-meta estimate", j["estimate"].as_f64().unwrap(), o["estimate"].as_f64().unwrap(), ITERATIVE_REL);
    assert_close("sv-meta CR1 se", j["robust"]["se"].as_f64().unwrap(), o["se"].as_f64().unwrap(), ITERATIVE_REL);
    assert_eq!(j["robust"]["df"].as_f64().unwrap(), o["df"].as_f64().unwrap());
    assert!((j["estimate"].as_f64().unwrap() - 0.28).abs() < 0.005);
}

/// CR2 with Satterthwaite degrees of freedom against the oracle's full-matrix
/// computation (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018): the
/// sv-meta table by study (295 clusters) and dat.bcg by allocation (3
/// clusters of unequal size, where CR2 matters most).
#[test]
fn cr2_with_satterthwaite_df_matches_the_oracle() {
    let reference = reference();
    let cases: [(&str, &[&str]); 2] = [
        (
            "sv_meta_cr2",
            &[
                "meta",
                "datasets/sv-meta/sv_meta_data.csv",
                "--columns",
                "datasets/sv-meta/mapping.toml",
                "--cluster",
                "study_id",
                "--vcov",
                "CR2",
                "--format",
                "json",
            ],
        ),
        (
            "dat.bcg_cr2_alloc",
            &[
                "meta",
                "tests/data/dat.bcg.csv",
                "--measure",
                "RR",
                "--cluster",
                "alloc",
                "--vcov",
                "CR2",
                "--format",
                "json",
            ],
        ),
    ];
    for (name, args) in cases {
        let r = run(args);
        r.expect_code(0);
        let j = r.json();
        let o = &reference[name];
        let rb = &j["robust"];
        assert_eq!(rb["type"], "CR2", "{name}");
        for (key, got) in [
            ("estimate", &rb["estimate"]),
            ("se", &rb["se"]),
            ("df", &rb["df"]),
            ("pval", &rb["pval"]),
            ("ci_lower", &rb["ci_lower"]),
            ("ci_upper", &rb["ci_upper"]),
        ] {
            assert_close(&format!("{name} {key}"), got.as_f64().unwrap(), o[key].as_f64().unwrap(), ITERATIVE_REL);
        }
    }
}

/// metafor pools each row of dat.egger2001 as its own trial (k = 16): three
/// different trials share the label "Shechter". evidex does the same and
/// says which rows share a label; merging them is asked for explicitly.
#[test]
fn rows_are_independent_units_unless_asked_otherwise() {
    let reference = reference();
    let o = &reference["dat.egger2001_OR"]["fits"]["REML"];
    let r = run(&["meta", "tests/data/dat.egger2001.csv", "--measure", "OR", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["k"], 16);
    assert_close("egger2001 estimate", j["estimate"].as_f64().unwrap(), o["estimate"].as_f64().unwrap(), ITERATIVE_REL);
    let warnings = j["warnings"].to_string();
    assert!(warnings.contains("column 'study': value 'Shechter' repeats on lines 7, 12, 16"), "{warnings}");
    let r =
        run(&["meta", "tests/data/dat.egger2001.csv", "--measure", "OR", "--combine-within-study", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!((j["k"].as_u64(), j["records_combined"].as_u64()), (Some(14), Some(3)));
    assert_eq!(j["warnings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn knha_with_one_study_and_single_study_fits_say_why() {
    let f = meta::fit(&[0.3], &[0.04], &FitOptions { test: TestKind::Knha, ..Default::default() }).unwrap();
    assert_eq!(f.method, Method::EE);
    assert!(f.notes.iter().any(|n| n.contains("needs at least 2 studies")), "{:?}", f.notes);
    assert_eq!(f.test, TestKind::Z);
}

#[test]
fn composite_of_one_study_with_perfect_correlation_equals_its_mean() {
    // Two effects of one study, r = 1: composite variance is ((sqrt v1 + sqrt v2)/2)^2.
    let c = meta::aggregate_within_studies(&["a".into(), "a".into()], &[0.2, 0.4], &[0.04, 0.09], 1.0);
    assert_eq!(c.len(), 1);
    assert!((c[0].yi - 0.3).abs() < 1e-15);
    assert!((c[0].vi - 0.0625).abs() < 1e-15);
}

//! Degenerate tables (issue 19) through every command that computes: `meta`
//! with each estimator and each test, `forest`, `score`, `rank`, `explain`,
//! `report` and `gapmap`. Each command either gives the numbers derived by
//! hand below or refuses with exit 1 or 2 and a message; nothing exits 101,
//! and nothing prints NaN or inf. Also: `statrs` is called from one module
//! only (src/stats.rs), and the bundled sv-meta report is written.

use crate::util::{data, repo, run, run_in, Run};
use serde_json::Value;
use std::path::Path;

const METHODS: [&str; 7] = ["EE", "DL", "HE", "SJ", "ML", "REML", "PM"];
const TESTS: [&str; 3] = ["z", "knha", "adhoc"];
const HEADER: &str =
    "record_id,study_id,intervention,target_group,income_setting,design,risk_of_bias,sample_size,year,outcome_domain,rating,effect_size,se,ci_lower,ci_upper,measure";

#[derive(Clone)]
/// One finding: effect, se, CI bounds (as text, "" for empty), measure,
/// outcome domain, study.
struct F<'a> {
    es: String,
    se: String,
    ci: (&'a str, &'a str),
    measure: &'a str,
    domain: &'a str,
    study: Option<&'a str>,
}

fn f(es: impl ToString, se: impl ToString) -> F<'static> {
    F { es: es.to_string(), se: se.to_string(), ci: ("", ""), measure: "SMD", domain: "violence", study: None }
}

fn write_table(dir: &Path, name: &str, rows: &[F]) -> String {
    let mut s = format!("{HEADER}\n");
    for (i, r) in rows.iter().enumerate() {
        let study = r.study.map_or(format!("S{}", i + 1), str::to_string);
        s.push_str(&format!(
            "R{},{study},Parenting programme,parents,LIC,rct,low,400,2020,{},effective,{},{},{},{},{}\n",
            i + 1,
            r.domain,
            r.es,
            r.se,
            r.ci.0,
            r.ci.1,
            r.measure
        ));
    }
    let file = format!("{name}.csv");
    std::fs::write(dir.join(&file), s).unwrap();
    file
}

/// Exit 0, 1 or 2 (never 101), no panic message, a message with every
/// refusal, and no NaN or infinity in what was printed.
#[track_caller]
fn sane(r: &Run) {
    assert!(matches!(r.code, 0..=2), "exit {} (a crash?)\n{}", r.code, r.show());
    assert!(!r.stderr.contains("panicked"), "panic\n{}", r.show());
    if r.code != 0 {
        assert!(r.stderr.contains("evidex:"), "a refusal without a message\n{}", r.show());
    }
    for text in [&r.stdout, &r.stderr] {
        let bad = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .find(|t| matches!(t.to_ascii_lowercase().as_str(), "nan" | "inf" | "infinity"));
        assert!(bad.is_none(), "prints {bad:?}\n{}", r.show());
    }
}

/// Every command that computes, on one file; returns the `meta` JSON runs
/// keyed by (method, test).
fn every_command(dir: &Path, file: &str) -> Vec<((&'static str, &'static str), Run)> {
    commands(dir, file, &METHODS, &TESTS)
}

fn commands(
    dir: &Path,
    file: &str,
    methods: &[&'static str],
    tests: &[&'static str],
) -> Vec<((&'static str, &'static str), Run)> {
    let mut metas = Vec::new();
    for &m in methods {
        for &t in tests {
            let r = run_in(dir, &["meta", file, "--method", m, "--test", t, "--format", "json"]);
            sane(&r);
            if r.code == 0 {
                meta_invariants(&r.json(), &r);
            }
            metas.push(((m, t), r));
        }
    }
    let g = ["--target-group", "parents", "--income-setting", "LIC"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["meta", file],
        vec!["meta", file, "--leave-one-out", "--cluster", "study_id", "--vcov", "CR2"],
        vec!["meta", file, "--by", "outcome_domain", "--format", "csv"],
        vec!["forest", file, "--out", "forest.svg"],
        vec!["score", file],
        vec!["score", file, "--format", "json"],
        [&["rank", file][..], &g[..]].concat(),
        [&["explain", file, "--intervention", "Parenting programme"][..], &g[..]].concat(),
        vec!["report", file, "--out", "report.html"],
        vec!["gapmap", file, "--out", "gapmap.svg"],
    ];
    for args in runs {
        let r = run_in(dir, &args);
        sane(&r);
        for out in ["forest.svg", "report.html", "gapmap.svg"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(out)) {
                // (the report's script calls isNaN)
                let text = text.replace("isNaN", "");
                assert!(!text.contains("NaN") && !text.contains("inf\""), "{out} holds NaN or inf\n{}", r.show());
                let _ = std::fs::remove_file(dir.join(out));
            }
        }
    }
    metas
}

fn num(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// tau^2 >= 0, I^2 in [0, 100], the CI and prediction interval contain the
/// estimate, and every null is explained (`not_computable`) or expected
/// (no df for z, no tau^2 CI below 2 studies).
#[track_caller]
fn meta_invariants(v: &Value, r: &Run) {
    let Some(est) = num(v, "estimate") else {
        assert!(v.get("error").is_some(), "no estimate and no error\n{}", r.show());
        return;
    };
    let why = v.get("not_computable").cloned().unwrap_or(Value::Null);
    let k = v["k"].as_u64().unwrap();
    for key in ["se", "ci_lower", "ci_upper", "tau2", "tau", "i2", "h2", "q", "pi_lower", "pi_upper"] {
        assert!(num(v, key).is_some_and(f64::is_finite), "{key} missing\n{}", r.show());
    }
    for key in ["stat", "pval", "q_pval", "tau2_ci_lower", "tau2_ci_upper"] {
        let expected_null = key.starts_with("tau2_ci") && k < 2;
        assert!(
            num(v, key).is_some() || why.get(key).is_some() || expected_null,
            "{key} is null without a reason\n{}",
            r.show()
        );
    }
    assert!(num(v, "tau2").unwrap() >= 0.0, "{}", r.show());
    let i2 = num(v, "i2").unwrap();
    assert!((0.0..=100.0).contains(&i2), "I^2 {i2}\n{}", r.show());
    assert!(num(v, "ci_lower").unwrap() <= est && est <= num(v, "ci_upper").unwrap(), "{}", r.show());
    assert!(num(v, "pi_lower").unwrap() <= est && est <= num(v, "pi_upper").unwrap(), "{}", r.show());
    if let Some(p) = num(v, "pval") {
        assert!((0.0..=1.0).contains(&p), "{}", r.show());
    }
}

#[track_caller]
fn close(what: &str, got: Option<f64>, want: f64, rel: f64, r: &Run) {
    let g = got.unwrap_or_else(|| panic!("{what}: missing\n{}", r.show()));
    assert!((g - want).abs() <= rel * want.abs() + 1e-300, "{what}: got {g:e}, by hand {want:e}\n{}", r.show());
}

fn json(r: &Run) -> Value {
    assert_eq!(r.code, 0, "{}", r.show());
    r.json()
}

#[track_caller]
fn not_computable(v: &Value, key: &str, reason: &str, r: &Run) {
    let why = v["not_computable"][key].as_str().unwrap_or_else(|| panic!("{key} is computable\n{}", r.show()));
    assert!(why.contains(reason), "{key}: {why:?} lacks {reason:?}\n{}", r.show());
}

/// 97.5% quantile of t(2): `(2p - 1) / sqrt(2 p (1 - p))`.
fn t2_975() -> f64 {
    0.95 / (2.0f64 * 0.975 * 0.025).sqrt()
}

/// Python `statistics.NormalDist().inv_cdf(0.975)` (an implementation
/// independent of statrs).
const Z975: f64 = 1.959_963_984_540_053_6;

/// Regression: three findings with one SE (0.161245154965971^2 = 0.026)
/// crashed `meta`, `forest` and `report` in Egger's test. By hand, with
/// `v = 0.026`, `y = 0.2, 0.3, 0.4`: the estimate is 0.3 for every
/// estimator (equal weights); `Q = 0.02/0.026 < 2`, so tau^2 = 0 for DL, HE,
/// ML, REML and PM, and I^2 = 0; SJ gives `t0 Q(t0)/2` with `t0 = 0.02/3`.
/// z and adhoc SE `sqrt((v + tau^2)/3)`; Knapp-Hartung SE `sqrt(ss/(k(k-1)))
/// = sqrt(0.01/3)` whatever tau^2. Egger: not computable (equal SEs).
#[test]
fn identical_standard_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(
        dir.path(),
        "t",
        &[f(0.2, 0.161245154965971), f(0.3, 0.161245154965971), f(0.4, 0.161245154965971)],
    );
    let v = 0.161245154965971f64.powi(2);
    for ((m, t), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        let t0 = 0.02 / 3.0;
        let tau2 = if m == "SJ" { t0 * (0.02 / (v + t0)) / 2.0 } else { 0.0 };
        close("estimate", num(&j, "estimate"), 0.3, 1e-12, &r);
        close("Q", num(&j, "q"), 0.02 / v, 1e-9, &r);
        close("tau^2", num(&j, "tau2"), tau2, 1e-9, &r);
        if m != "SJ" {
            assert_eq!(num(&j, "i2"), Some(0.0), "{}", r.show());
        }
        let (se, crit) = match t {
            "knha" => ((0.01f64 / 3.0).sqrt(), t2_975()),
            "adhoc" => (((v + tau2) / 3.0).sqrt(), t2_975()),
            _ => (((v + tau2) / 3.0).sqrt(), Z975),
        };
        // adhoc: the factor Q(tau^2)/(k-1) is below 1 here, so it is 1.
        close("se", num(&j, "se"), se, 1e-9, &r);
        close("ci_lower", num(&j, "ci_lower"), 0.3 - crit * se, 1e-9, &r);
        not_computable(&j, "egger", "standard errors are all equal", &r);
    }
    let r = run_in(dir.path(), &["meta", &file]);
    r.expect_code(0).expect_stdout("Egger's test: not computable (the standard errors are all equal");
}

/// Identical effects and SEs (0.3, se 0.1, k = 3): tau^2 = 0, Q = 0, I^2 = 0
/// for every estimator; estimate 0.3; SE `0.1/sqrt(3)` (z, and adhoc whose
/// factor is raised to 1); Knapp-Hartung SE 0, so its t statistic and
/// p-value are not computable; Egger not computable.
#[test]
fn identical_effects() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "t", &[f(0.3, 0.1), f(0.3, 0.1), f(0.3, 0.1)]);
    for ((_, t), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(num(&j, "estimate"), Some(0.3), "{}", r.show());
        assert_eq!(num(&j, "tau2"), Some(0.0), "{}", r.show());
        assert_eq!(num(&j, "q"), Some(0.0), "{}", r.show());
        assert_eq!(num(&j, "i2"), Some(0.0), "{}", r.show());
        if t == "knha" {
            assert_eq!(num(&j, "se"), Some(0.0), "{}", r.show());
            not_computable(&j, "stat", "standard error is 0", &r);
            not_computable(&j, "pval", "standard error is 0", &r);
        } else {
            close("se", num(&j, "se"), 0.1 / 3f64.sqrt(), 1e-12, &r);
        }
        not_computable(&j, "egger", "standard errors are all equal", &r);
    }
    // With SEs that differ, Egger's regression fits exactly.
    let file = write_table(dir.path(), "u", &[f(0.3, 0.1), f(0.3, 0.2), f(0.3, 0.3)]);
    let r = run_in(dir.path(), &["meta", &file, "--format", "json"]);
    let j = json(&r);
    not_computable(&j, "egger", "the residuals have no variance", &r);
    close("se", num(&j, "se"), (1.0f64 / (100.0 + 25.0 + 1.0 / 0.09)).sqrt(), 1e-12, &r);
    run_in(dir.path(), &["meta", &file]).expect_stdout("Egger's test: not computable (the residuals have no variance)");
}

/// k = 1: every random-effects estimator reports the EE fit with a note;
/// estimate and SE are the study's own; Knapp-Hartung falls back to z.
#[test]
fn one_study() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "t", &[f(0.3, 0.1)]);
    for ((m, t), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(j["method"], "EE", "{}", r.show());
        assert_eq!(j["test"], "z", "{}", r.show());
        if m != "EE" || t != "z" {
            assert!(j["notes"].to_string().contains("k"), "no note\n{}", r.show());
        }
        assert_eq!(num(&j, "estimate"), Some(0.3), "{}", r.show());
        close("se", num(&j, "se"), 0.1, 1e-12, &r);
        assert_eq!(num(&j, "q"), Some(0.0), "{}", r.show());
        assert!(j.get("egger").is_none() && j["not_computable"].get("egger").is_none(), "{}", r.show());
    }
}

/// k = 2, `y = (0, 1)`, `v = (0.01, 0.04)`: `Q = (y1 - y2)^2 / (v1 + v2) =
/// 20`; DL, HE and PM all give tau^2 = `((y1 - y2)^2 - v1 - v2)/2 = 0.475`;
/// then `w = (1/0.485, 1/0.515)`, estimate 0.485, SE `sqrt(0.485 x 0.515)`;
/// `s^2 = 0.025`, I^2 = 95, H^2 = 20. EE: estimate 0.2, SE `sqrt(1/125)`,
/// I^2 = `100 (Q - 1)/Q = 95`. Q-profile CI: `Q(t) = 1/(0.05 + 2t)` equals
/// the chi-squared(1) quantiles (Python's NormalDist, squared).
#[test]
fn two_studies() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "t", &[f(0, 0.1), f(1, 0.2)]);
    let chi975 = 5.023_886_187_314_893_4;
    let chi025 = 0.000_982_069_117_175_249_2;
    for ((m, t), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        close("Q", num(&j, "q"), 20.0, 1e-12, &r);
        if matches!(m, "EE" | "DL" | "HE" | "PM") {
            close("I^2", num(&j, "i2"), 95.0, 1e-9, &r);
        }
        close("tau2 CI lower", num(&j, "tau2_ci_lower"), (1.0 / chi975 - 0.05) / 2.0, 1e-8, &r);
        close("tau2 CI upper", num(&j, "tau2_ci_upper"), (1.0 / chi025 - 0.05) / 2.0, 1e-8, &r);
        match m {
            "DL" | "HE" | "PM" => {
                close("tau2", num(&j, "tau2"), 0.475, 1e-9, &r);
                close("estimate", num(&j, "estimate"), 0.485, 1e-9, &r);
                if t == "z" {
                    close("se", num(&j, "se"), (0.485f64 * 0.515).sqrt(), 1e-9, &r);
                }
                close("H^2", num(&j, "h2"), 20.0, 1e-9, &r);
            }
            "EE" => {
                close("estimate", num(&j, "estimate"), 0.2, 1e-12, &r);
                if t == "z" {
                    close("se", num(&j, "se"), (1.0f64 / 125.0).sqrt(), 1e-12, &r);
                }
            }
            _ => {}
        }
    }
}

/// SE 0 and a zero-width CI give no variance: the row is excluded (meta,
/// with the reason) or rejected (scoring), never pooled with weight inf.
/// A negative SE is a data error, not a variance to square.
#[test]
fn zero_and_negative_standard_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "zero", &[f(0.2, 0), f(0.3, 0), f(0.4, 0)]);
    every_command(dir.path(), &file);
    run_in(dir.path(), &["meta", &file]).expect_code(2).expect_stderr("se 0 must be a finite number greater than 0");

    let file = write_table(dir.path(), "neg", &[f(0.2, -0.1), f(0.3, 0.1), f(0.4, 0.1)]);
    for (_, r) in every_command(dir.path(), &file) {
        let j = json(&r);
        // Pooled: 0.3 and 0.4 with v = 0.01 each; Q = 0.01/0.02.
        assert_eq!(j["k"], 2, "{}", r.show());
        close("Q", num(&j, "q"), 0.5, 1e-12, &r);
        assert!(j["excluded"][0]["reason"].as_str().unwrap().contains("se -0.1"), "{}", r.show());
    }
    run_in(dir.path(), &["score", &file]).expect_stderr("must be a finite number greater than 0");

    let ci = |es: &'static str, lo: &'static str, hi: &'static str| F { ci: (lo, hi), ..f(es, "") };
    let file =
        write_table(dir.path(), "ci", &[ci("0.3", "0.3", "0.3"), ci("0.2", "0.1", "0.3"), ci("0.4", "0.3", "0.5")]);
    for (_, r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(j["k"], 2, "{}", r.show());
        assert!(j["excluded"][0]["reason"].as_str().unwrap().contains("zero width"), "{}", r.show());
        // SE from the CI: 0.2 / (2 x 1.959964); Q = 0.2^2 / (2 se^2).
        let se = 0.2 / (2.0 * Z975);
        close("Q", num(&j, "q"), 0.04 / (2.0 * se * se), 1e-9, &r);
    }
    let file =
        write_table(dir.path(), "rev", &[ci("0.3", "0.5", "0.1"), ci("0.2", "0.1", "0.3"), ci("0.4", "0.3", "0.5")]);
    for (_, r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(j["k"], 2, "{}", r.show());
        assert!(j["excluded"][0]["reason"].as_str().unwrap().contains("reversed"), "{}", r.show());
    }
}

/// SE 1e-12 (`v = 1e-24`), `y = 0.2, 0.3, 0.4`: `ss = 0.02`; DL, HE, PM,
/// REML and SJ all give tau^2 = `ss/(k-1) - v` = 0.01 (equal variances; SJ:
/// `t0 Q(t0)/2` with `Q(t0) = 3`); ML `ss/k - v` = 0.02/3; estimate 0.3;
/// I^2 = 100 to 20 digits. Egger not computable.
#[test]
fn tiny_standard_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "t", &[f(0.2, "1e-12"), f(0.3, "1e-12"), f(0.4, "1e-12")]);
    for ((m, _), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        close("estimate", num(&j, "estimate"), 0.3, 1e-9, &r);
        close("Q", num(&j, "q"), 2e22, 1e-9, &r);
        close("I^2", num(&j, "i2"), 100.0, 1e-12, &r);
        let tau2 = match m {
            "EE" => 0.0,
            "ML" => 0.02 / 3.0,
            _ => 0.01,
        };
        close("tau2", num(&j, "tau2"), tau2, 1e-9, &r);
        not_computable(&j, "egger", "standard errors are all equal", &r);
    }
}

/// Effects of 1e300 (equal): the estimate is exactly 1e300, Q = 0. Effects
/// of +1e300 and -1e300: their squares overflow; meta and forest refuse with
/// exit 2 and say so.
#[test]
fn huge_effects() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "t", &[f("1e300", 0.1), f("1e300", 0.1), f("1e300", 0.1)]);
    for (_, r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(num(&j, "estimate"), Some(1e300), "{}", r.show());
        assert_eq!(num(&j, "q"), Some(0.0), "{}", r.show());
    }
    let file = write_table(dir.path(), "u", &[f("1e300", 0.1), f("-1e300", 0.1), f("1e300", 0.1)]);
    for (_, r) in every_command(dir.path(), &file) {
        r.expect_code(2).expect_stderr("not computable");
    }
    run_in(dir.path(), &["forest", &file, "--out", "f.svg"]).expect_code(2).expect_stderr("not computable");
}

/// RR <= 0 cannot be logged: those rows are excluded with the reason; the
/// one left gives `ln 0.8` with SE `(ln 1.1 - ln 0.6) / (2 x 1.959964)`.
#[test]
fn non_positive_risk_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let rr = |es: &'static str, lo: &'static str, hi: &'static str| F { ci: (lo, hi), measure: "RR", ..f(es, "") };
    let file =
        write_table(dir.path(), "t", &[rr("0", "0.5", "1.5"), rr("-0.5", "0.5", "1.5"), rr("0.8", "0.6", "1.1")]);
    for (_, r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(j["excluded"].as_array().unwrap().len(), 2, "{}", r.show());
        assert!(j["excluded"][0]["reason"].as_str().unwrap().contains("must be > 0"), "{}", r.show());
        close("estimate", num(&j, "estimate"), 0.8f64.ln(), 1e-12, &r);
        close("se", num(&j, "se"), (1.1f64.ln() - 0.6f64.ln()) / (2.0 * Z975), 1e-12, &r);
    }
}

/// One study with findings in three domains: pooled as three rows with a
/// warning; with `--cluster study_id` cluster-robust inference is not
/// computable (1 cluster) and says so.
#[test]
fn one_study_three_domains() {
    let dir = tempfile::tempdir().unwrap();
    let row = |d: &'static str| F { domain: d, study: Some("S1"), ..f(0.3, 0.1) };
    let file = write_table(dir.path(), "t", &[row("violence"), row("behaviour"), row("risk_factor")]);
    for (_, r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(num(&j, "estimate"), Some(0.3), "{}", r.show());
        assert!(j["warnings"][0].as_str().unwrap().contains("repeats"), "{}", r.show());
    }
    let r = run_in(dir.path(), &["meta", &file, "--cluster", "study_id", "--format", "json"]);
    not_computable(&json(&r), "robust", "1 cluster(s)", &r);
    let r = run_in(
        dir.path(),
        &[
            "explain",
            &file,
            "--intervention",
            "Parenting programme",
            "--target-group",
            "parents",
            "--income-setting",
            "LIC",
        ],
    );
    r.expect_code(0);
}

/// Regression: 12 studies with identical effects and SEs, or with SE
/// 1e-12, crashed `score`, `rank`, `explain`, `report` and `gapmap` (Egger
/// runs in the scoring cell from k = 10). By hand (12 identical, 0.3 and
/// 0.1): estimate 0.3, SE `0.1/sqrt(12)`, tau^2 = Q = I^2 = 0. (SE 1e-12,
/// `y = 0.0, 0.1, ..., 1.1`): `ss = 0.01 x 143`; tau^2 (DL) = `ss/11 - v` =
/// 0.13; estimate 0.55.
#[test]
fn twelve_studies_with_egger_in_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_table(dir.path(), "same", &vec![f(0.3, 0.1); 12]);
    for ((_, t), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        assert_eq!(num(&j, "estimate"), Some(0.3), "{}", r.show());
        assert_eq!(num(&j, "q"), Some(0.0), "{}", r.show());
        assert_eq!(num(&j, "tau2"), Some(0.0), "{}", r.show());
        if t != "knha" {
            close("se", num(&j, "se"), 0.1 / 12f64.sqrt(), 1e-12, &r);
        }
        not_computable(&j, "egger", "standard errors are all equal", &r);
    }
    let rows: Vec<F> = (0..12).map(|i| f(format!("{:.1}", i as f64 / 10.0), "1e-12")).collect();
    let file = write_table(dir.path(), "tiny", &rows);
    for ((m, _), r) in every_command(dir.path(), &file) {
        let j = json(&r);
        close("estimate", num(&j, "estimate"), 0.55, 1e-9, &r);
        if m == "DL" {
            close("tau2", num(&j, "tau2"), 0.13, 1e-9, &r);
        }
    }
}

/// Random numeric tables (k 1..30; effects and SEs over wide ranges with
/// ties, zeros, extremes and invalid values) through the binary: every
/// command either answers or refuses with a message, and prints no NaN.
/// Part of the bounded fuzzing step of `.ci/run` (`damaged_` tests):
/// `EVIDEX_FUZZ_CASES / 20` tables (8 by default, 50 there).
#[test]
fn damaged_random_numeric_tables_never_crash_a_command() {
    use proptest::test_runner::{Config, TestRunner};
    let n = std::env::var("EVIDEX_FUZZ_CASES").ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(160) / 20;
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config { cases: n.max(1), failure_persistence: None, ..Config::default() });
    runner
        .run(&crate::stats_props::table(), |t| {
            let rows: Vec<F> = t.iter().map(|(y, se)| f(format!("{y:?}"), format!("{se:?}"))).collect();
            let file = write_table(dir.path(), "random", &rows);
            commands(dir.path(), &file, &["REML", "PM"], &["z", "knha"]);
            Ok(())
        })
        .unwrap();
}

/// Regression: the bundled real dataset could not be reported (statrs
/// panicked in `StudentsT::sf`).
#[test]
fn sv_meta_report_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let r = run(&[
        "report",
        data("datasets/sv-meta/sv_meta_data.csv").to_str().unwrap(),
        "--columns",
        data("datasets/sv-meta/mapping.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    r.expect_code(0);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.len() > 100_000 && !html.replace("isNaN", "").contains("NaN"), "{}", r.show());
}

/// statrs panics deep inside on some arguments; src/stats.rs wraps it in
/// total functions. Nothing else may call it (or nalgebra), so the next
/// change cannot bring the crash back.
#[test]
fn only_the_stats_module_calls_statrs() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, found);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("src/stats.rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for word in ["statrs", "nalgebra"] {
                    if text.contains(word) {
                        found.push(format!("{} mentions {word}", p.display()));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo().join("src"), &mut found);
    assert!(repo().join("src/stats.rs").exists());
    assert!(found.is_empty(), "call statrs/nalgebra through src/stats.rs only:\n{}", found.join("\n"));
}

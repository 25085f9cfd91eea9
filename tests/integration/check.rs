//! `evidex check`: the repository's reference suite passes; a changed
//! rating fails with the verdict listed first; drift within tolerance passes;
//! bad suites and files are usage errors.

use crate::util::{data, run, run_in};
use std::path::Path;

#[test]
fn reference_suite_passes() {
    let r = run(&["check", "datasets/reference"]);
    r.expect_code(0).expect_stdout("8 passed, 0 failed");
}

/// A private copy of a one-case suite over a copy of the bundled dataset.
fn mini_suite(dir: &Path, expected_from_repo: bool) {
    std::fs::copy(data("datasets/evidence_vac.csv"), dir.join("evidence.csv")).unwrap();
    std::fs::create_dir_all(dir.join("expected")).unwrap();
    if expected_from_repo {
        for f in ["bundled-score.csv", "bundled-score.csv.meta.json"] {
            std::fs::copy(data(&format!("datasets/reference/expected/{f}")), dir.join("expected").join(f)).unwrap();
        }
    }
    std::fs::write(
        dir.join("suite.toml"),
        "[[case]]\nname = \"score\"\nnote = \"verdicts of the copy\"\ncommand = \"score\"\ninputs = [\"evidence.csv\"]\nexpected = \"expected/bundled-score.csv\"\n",
    )
    .unwrap();
}

#[test]
fn one_changed_rating_fails_with_the_verdict_first() {
    let dir = tempfile::tempdir().unwrap();
    mini_suite(dir.path(), true);
    run_in(dir.path(), &["check", "."]).expect_code(0);
    // R0033 is an appraised RCT of the LIC positive-discipline parenting
    // cell, rated "promising" without an effect size: its reviewers' benefit
    // makes the cell promising. Rated "ineffective" instead, the cell has
    // no conclusive benefit left, so the verdict must move.
    let p = dir.path().join("evidence.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let line = text.lines().find(|l| l.starts_with("R0033,")).expect("record R0033").to_string();
    assert!(line.contains("Parenting programme (positive discipline)") && line.contains(",LIC,"), "{line}");
    let changed = line.replace(",promising,", ",ineffective,");
    assert_ne!(changed, line, "test data changed: {line}");
    std::fs::write(&p, text.replace(&line, &changed)).unwrap();
    let r = run_in(dir.path(), &["check", "."]);
    r.expect_code(1).expect_stdout("REGRESSION").expect_stdout("0 passed, 1 failed");
    let detail: Vec<&str> = r.stdout.lines().skip_while(|l| !l.starts_with("== score")).skip(1).collect();
    assert!(
        detail[0].starts_with("  VERDICT Parenting programme (positive discipline) | parents and caregivers | LIC:"),
        "{}",
        r.show()
    );
    let md = run_in(dir.path(), &["check", ".", "--format", "markdown"]);
    md.expect_code(1).expect_stdout("**Verdict changes (review these first)**");
    let js = run_in(dir.path(), &["check", ".", "--format", "json"]);
    let j = js.json();
    assert_eq!(j["regression"], true);
    assert_eq!(j["cases"][0]["differences"][0]["kind"], "verdict");
    // --update accepts the change; the next check passes.
    run_in(dir.path(), &["check", ".", "--update"]).expect_code(0);
    run_in(dir.path(), &["check", "."]).expect_code(0);
}

#[test]
fn numeric_drift_within_tolerance_passes_and_beyond_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expected = d.join("expected.csv");
    std::fs::copy(data("datasets/reference/expected/bundled-score.csv"), &expected).unwrap();
    let text = std::fs::read_to_string(&expected).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let score_col = headers.iter().position(|h| h == "score").unwrap();
    let mut rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let write = |rows: &[csv::StringRecord], path: &Path| {
        let mut w = csv::Writer::from_path(path).unwrap();
        w.write_record(&headers).unwrap();
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
    };
    let old: f64 = rows[0][score_col].parse().unwrap();
    let bump = |rows: &mut Vec<csv::StringRecord>, v: f64| {
        let mut rec: Vec<String> = rows[0].iter().map(String::from).collect();
        rec[score_col] = format!("{v}");
        rows[0] = csv::StringRecord::from(rec);
    };
    bump(&mut rows, old * (1.0 + 1e-12));
    let actual = d.join("actual.csv");
    write(&rows, &actual);
    let (e, a) = (expected.to_str().unwrap(), actual.to_str().unwrap());
    run(&["check", "--expected", e, "--actual", a]).expect_code(0);
    bump(&mut rows, old + 0.01);
    write(&rows, &actual);
    let r = run(&["check", "--expected", e, "--actual", a, "--key", "intervention,target_group,income_setting"]);
    r.expect_code(1).expect_stdout("numeric ").expect_stdout(": score ");
    run(&[
        "check",
        "--expected",
        e,
        "--actual",
        a,
        "--abs-tol",
        "0.02",
        "--key",
        "intervention,target_group,income_setting",
    ])
    .expect_code(0);
}

#[test]
fn mixed_formats_compare_equal() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("s.json");
    let p = dir.path().join("s.parquet");
    run(&["score", "datasets/evidence_vac.csv", "--out", j.to_str().unwrap()]).expect_code(0);
    run(&["score", "datasets/evidence_vac.csv", "--out", p.to_str().unwrap()]).expect_code(0);
    run(&["check", "--expected", "datasets/reference/expected/bundled-score.csv", "--actual", j.to_str().unwrap()])
        .expect_code(0);
    run(&["check", "--expected", j.to_str().unwrap(), "--actual", p.to_str().unwrap()]).expect_code(0);
}

#[test]
fn reruns_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    for fmt in ["csv", "json", "parquet"] {
        let a = dir.path().join(format!("a.{fmt}"));
        let b = dir.path().join(format!("b.{fmt}"));
        run(&["score", "datasets/evidence_vac.csv", "--out", a.to_str().unwrap()]).expect_code(0);
        run(&["score", "datasets/evidence_vac.csv", "--out", b.to_str().unwrap()]).expect_code(0);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{fmt}");
    }
}

#[test]
fn suite_and_file_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_in(d, &["check", "."]).expect_code(2).expect_stderr("suite.toml: cannot read");
    std::fs::write(d.join("suite.toml"), "[[case]]\nname = \"x\"\n").unwrap();
    run_in(d, &["check", "."]).expect_code(2).expect_stderr("missing field");
    std::fs::copy(data("datasets/evidence_vac.csv"), d.join("e.csv")).unwrap();
    std::fs::write(
        d.join("suite.toml"),
        "[[case]]\nname = \"x\"\nnote = \"n\"\ncommand = \"plot\"\ninputs = [\"e.csv\"]\nexpected = \"x.csv\"\n",
    )
    .unwrap();
    run_in(d, &["check", "."])
        .expect_code(2)
        .expect_stderr("unknown command 'plot'; expected one of score, rank, meta");
    std::fs::write(
        d.join("suite.toml"),
        "[[case]]\nname = \"x\"\nnote = \"n\"\ncommand = \"score\"\ninputs = [\"e.csv\"]\nexpected = \"missing.csv\"\n",
    )
    .unwrap();
    run_in(d, &["check", "."])
        .expect_code(2)
        .expect_stderr("expected file")
        .expect_stderr("does not exist (run with --update to create it)");
    let r = run(&[
        "check",
        "--expected",
        "datasets/reference/expected/bundled-score.csv",
        "--actual",
        "datasets/reference/expected/bundled-score.csv",
        "--key",
        "target_group",
    ]);
    r.expect_code(2).expect_stderr("not unique in the expected file");
    let r = run(&[
        "check",
        "--expected",
        "datasets/reference/expected/bundled-score.csv",
        "--actual",
        "datasets/reference/expected/nope.csv",
    ]);
    r.expect_code(2).expect_stderr("cannot read");
}

//! Quality gates where verdicts are shown (issue 20): placeholder
//! interventions left out and counted, `[names]` aliases, the combined
//! bottom label, "LMIC" refused, the assignment and clusters columns, and
//! the warnings of `validate` on the stderr and metadata of the commands
//! that show verdicts. Expected values are written by hand from the tables.

use crate::util::{run, run_in};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Seven rows: three name a programme, four name placeholders
/// ("treatment and control" twice, "Literature", "n/a" via a mapping, "-"
/// is a null token so it is not used here).
const TABLE: &str = "\
record_id,study_id,intervention,target_group,income_setting,rating,design,risk_of_bias
r1,s1,Safe Dates,adolescents,HIC,effective,rct,low
r2,s2,Safe Dates,adolescents,HIC,effective,rct,low
r3,s3,Green Dot,adolescents,HIC,promising,rct,low
r4,s4,treatment and control,adolescents,HIC,effective,rct,low
r5,s5,Treatment and Control,adolescents,HIC,effective,rct,low
r6,s6,Literature,adolescents,HIC,effective,rct,low
r7,s7,Experimental,adolescents,HIC,ineffective,rct,low
";

#[test]
fn placeholder_rows_are_left_out_of_score_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", TABLE);
    let r = run_in(dir.path(), &["score", &f, "--format", "json"]);
    r.expect_code(0).expect_stderr(
        // Spellings of one name together, shown as the first in sort order on a tie.
        "4 rows whose intervention is a placeholder ('Treatment and Control' 2, 'Experimental' 1, 'Literature' 1) were left out; --keep-placeholders keeps them",
    );
    let j = r.json();
    let names: Vec<&str> = j["rows"].as_array().unwrap().iter().map(|c| c["intervention"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Safe Dates") && names.contains(&"Green Dot"), "{names:?}");
    assert_eq!(j["run"]["rows_read"], 7);
    assert_eq!(j["run"]["accepted"], 3);
    assert_eq!(j["run"]["rejected"], 0);
    assert_eq!(j["run"]["left_out"], 4);
    let w = j["run"]["warnings"].to_string();
    assert!(w.contains("4 rows whose intervention is a placeholder"), "{w}");
}

#[test]
fn keep_placeholders_keeps_them_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", TABLE);
    let r = run_in(dir.path(), &["score", &f, "--format", "json", "--keep-placeholders"]);
    r.expect_code(0).expect_stderr("2 rows whose intervention is the placeholder 'treatment and control'");
    let j = r.json();
    assert_eq!(j["rows"].as_array().unwrap().len(), 5);
    assert_eq!(j["run"]["left_out"], 0);
    assert!(!r.stderr.contains("were left out"), "{}", r.show());
}

#[test]
fn rank_explain_report_and_gapmap_leave_placeholders_out_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", TABLE);
    let left = "4 rows whose intervention is a placeholder";
    let r = run_in(
        dir.path(),
        &["rank", &f, "--target-group", "adolescents", "--income-setting", "HIC", "--format", "json"],
    );
    r.expect_code(0).expect_stderr(left);
    let j = r.json();
    let names: Vec<&str> = j["rows"].as_array().unwrap().iter().map(|c| c["intervention"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(j["run"]["left_out"], 4);
    let html = dir.path().join("r.html");
    run_in(dir.path(), &["report", &f, "--out", html.to_str().unwrap()]).expect_code(0).expect_stderr(left);
    let svg = dir.path().join("g.svg");
    run_in(dir.path(), &["gapmap", &f, "--out", svg.to_str().unwrap()]).expect_code(0).expect_stderr(left);
    let map = std::fs::read_to_string(&svg).unwrap();
    assert!(!map.contains("Literature"), "a placeholder row is drawn");
    // Asking to explain a placeholder says why it is not there.
    run_in(
        dir.path(),
        &["explain", &f, "--intervention", "literature", "--target-group", "adolescents", "--income-setting", "HIC"],
    )
    .expect_code(2)
    .expect_stderr("'literature' is a placeholder name, not a programme: rows naming it are left out (4 rows left out in all); give --keep-placeholders");
    run_in(
        dir.path(),
        &[
            "explain",
            &f,
            "--intervention",
            "literature",
            "--target-group",
            "adolescents",
            "--income-setting",
            "HIC",
            "--keep-placeholders",
        ],
    )
    .expect_code(0);
}

#[test]
fn validate_keeps_placeholder_rows_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", TABLE);
    run_in(dir.path(), &["validate", &f])
        .expect_code(0)
        .expect_stdout("7 rows read, 7 accepted, 0 rejected")
        .expect_stdout("2 rows whose intervention is the placeholder 'treatment and control', not a programme name");
}

#[test]
fn quiet_drops_the_warnings_from_stderr_but_not_from_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", TABLE);
    let out = dir.path().join("s.csv");
    let r = run_in(dir.path(), &["--quiet", "score", &f, "--out", out.to_str().unwrap()]);
    r.expect_code(0);
    assert!(!r.stderr.contains("placeholder"), "{}", r.show());
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("s.csv.meta.json")).unwrap()).unwrap();
    assert_eq!(meta["left_out"], 4);
    assert!(meta["warnings"].to_string().contains("whose intervention is a placeholder"));
}

#[test]
fn names_table_reconciles_spellings_before_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.csv",
        "\
intervention,target_group,income_setting,rating
Bringing in the Bystander,students,HIC,effective
Bringing in the Bystander (BITB),students,HIC,effective
BITB,students,HIC,promising
bringing in the bystander program,students,HIC,promising
Green Dot,students,HIC,promising
",
    );
    let m = write(
        dir.path(),
        "m.toml",
        "[names]\n\"Bringing in the Bystander\" = [\"Bringing in the Bystander (BITB)\", \"BITB\", \"Bringing in the Bystander program\"]\n",
    );
    // Without the table: five names, and the look-alikes come with the line to paste.
    let r = run_in(dir.path(), &["score", &f, "--format", "json"]);
    r.expect_code(0).expect_stderr(
        "add to the mapping file's [names]: \"Bringing in the Bystander\" = [\"Bringing in the Bystander (BITB)\", \"bringing in the bystander program\"]",
    );
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 5);
    // With it: one cell of four rows, and no look-alike warning.
    let r = run_in(dir.path(), &["score", &f, "--columns", &m, "--format", "json"]);
    r.expect_code(0);
    assert!(!r.stderr.contains("looks like"), "{}", r.show());
    let rows = r.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let bitb = rows.iter().find(|c| c["intervention"] == "Bringing in the Bystander").expect("canonical name");
    assert_eq!(bitb["n_records"], 4, "{bitb}");
    // `explain` takes a variant for its canonical name.
    run_in(
        dir.path(),
        &[
            "explain",
            &f,
            "--columns",
            &m,
            "--intervention",
            "bitb",
            "--target-group",
            "students",
            "--income-setting",
            "HIC",
        ],
    )
    .expect_code(0)
    .expect_stdout("intervention = Bringing in the Bystander");
}

#[test]
fn names_table_mistakes_are_refused_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", "intervention,target_group,income_setting,rating\nA,x,HIC,effective\n");
    let m = write(dir.path(), "m.toml", "[names]\n\"Alpha\" = [\"A\"]\n\"Beta\" = [\"B\",\n  \"a\"]\n");
    run_in(dir.path(), &["validate", &f, "--columns", &m])
        .expect_code(2)
        .expect_stderr("m.toml:4:3: column mapping: [names]: 'a' is listed under both 'Alpha' and 'Beta'");
    let m = write(dir.path(), "m2.toml", "[names]\n\"treatment\" = [\"tx\"]\n");
    run_in(dir.path(), &["validate", &f, "--columns", &m])
        .expect_code(2)
        .expect_stderr("m2.toml:2:1: column mapping: [names]: 'treatment' is a placeholder, not a programme name");
}

#[test]
fn a_mapping_can_add_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.csv",
        "intervention,target_group,income_setting,rating\nlecture,x,HIC,effective\nLecture,x,HIC,effective\nSafe Dates,x,HIC,effective\n",
    );
    let m = write(dir.path(), "m.toml", "placeholders = [\"lecture\"]\n");
    let r = run_in(dir.path(), &["score", &f, "--columns", &m, "--format", "json"]);
    r.expect_code(0).expect_stderr("2 rows whose intervention is a placeholder ('Lecture' 2) were left out");
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 1);
}

#[test]
fn lmic_is_refused_as_ambiguous_in_data_and_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.csv",
        "intervention,target_group,income_setting,rating\nA,x,LMIC,effective\nB,x,low- and middle-income,effective\nC,x,LMC,effective\n",
    );
    let r = run_in(dir.path(), &["validate", &f]);
    r.expect_code(1).expect_stdout("3 rows read, 1 accepted, 2 rejected").expect_stdout(
        "t.csv:2: column 'income_setting': value 'LMIC': ambiguous: 'LMIC' means low- and middle-income (LIC, LMC and UMC) in World Bank and UNICEF usage; give the country, or one of LIC, LMC, UMC, HIC (for lower-middle income: LMC)",
    );
    assert!(
        r.stdout.contains("t.csv:3: column 'income_setting': value 'low- and middle-income': ambiguous"),
        "{}",
        r.show()
    );
    assert!(!r.stdout.contains("did you mean"), "no single group to suggest\n{}", r.show());
    run_in(dir.path(), &["rank", &f, "--target-group", "x", "--income-setting", "LMIC"])
        .expect_code(2)
        .expect_stderr("--income-setting: value 'LMIC': ambiguous: 'LMIC' means low- and middle-income");
}

#[test]
fn combined_bottom_label_is_ineffective_without_harm_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.csv",
        "\
record_id,intervention,target_group,income_setting,rating,harm,effect_size,se
r1,A,x,HIC,ineffective/harmful,,,
r2,A,x,HIC,Ineffectief / Schadelijk,,,
r3,B,x,HIC,harmful,,,
r4,C,x,HIC,,true,0.2,0.1
r5,C,x,HIC,ineffective / harmful,yes,,
",
    );
    let out = dir.path().join("clean.csv");
    let r = run_in(dir.path(), &["validate", &f, "--accepted", out.to_str().unwrap()]);
    r.expect_code(0).expect_stdout(
        "t.csv:2: 3 rows rated 'ineffective/harmful': read as ineffective (no effect); mark harm explicitly with the harm column or the label 'harmful' (first shown)",
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let (rating, harm) = (h.iter().position(|x| x == "rating").unwrap(), h.iter().position(|x| x == "harm").unwrap());
    let got: Vec<(String, String)> =
        rdr.records().map(|r| r.unwrap()).map(|r| (r[rating].to_string(), r[harm].to_string())).collect();
    let want = [
        ("ineffective", "false"), // the combined label alone: no harm
        ("ineffective", "false"),
        ("ineffective", "true"), // "harmful" still sets harm
        ("", "true"),            // harm column on an unrated row is kept
        ("ineffective", "true"), // harm column with the combined label
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, want);
    // The commands that show verdicts say it too.
    run_in(dir.path(), &["score", &f]).expect_code(0).expect_stderr("3 rows rated 'ineffective/harmful'");
}

#[test]
fn assignment_and_clusters_are_read_and_summed() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.csv",
        "\
intervention,target_group,income_setting,effect_size,se,cluster_type,n_t_group,n_c_group
A,x,HIC,0.2,0.1,cluster randomized,4,4
A,x,HIC,0.2,0.1,n groups,,
A,x,HIC,0.2,0.1,cluster_assigned,7.5,7.5
A,x,HIC,0.2,0.1,cluster rct,6,
A,x,HIC,0.2,0.1,by school,3,3
A,x,HIC,0.2,0.1,cluster,three,3
",
    );
    let m = write(
        dir.path(),
        "m.toml",
        "[columns]\ncluster_type = \"assignment\"\n[sum]\nclusters = [\"n_t_group\", \"n_c_group\"]\n",
    );
    let out = dir.path().join("clean.csv");
    let r = run_in(dir.path(), &["validate", &f, "--columns", &m, "--accepted", out.to_str().unwrap()]);
    r.expect_code(1)
        .expect_stdout("6 rows read, 4 accepted, 2 rejected")
        .expect_stdout("t.csv:6: column 'cluster_type': value 'by school': unknown value; expected one of individual, cluster, cluster_adjusted")
        .expect_stdout("t.csv:7: column 'n_t_group (summed into clusters)': value 'three': is not a number");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let (a, c) = (h.iter().position(|x| x == "assignment").unwrap(), h.iter().position(|x| x == "clusters").unwrap());
    let got: Vec<(String, String)> =
        rdr.records().map(|r| r.unwrap()).map(|r| (r[a].to_string(), r[c].to_string())).collect();
    let want = [("cluster", "8"), ("individual", ""), ("cluster", "15"), ("cluster", "6")];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn sum_needs_a_number_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", "intervention,target_group,income_setting,rating\nA,x,HIC,effective\n");
    let m = write(dir.path(), "m.toml", "[sum]\nstrategy = [\"a\", \"b\"]\n");
    run_in(dir.path(), &["validate", &f, "--columns", &m])
        .expect_code(2)
        .expect_stderr("[sum]: 'strategy' is not a number column, so it cannot be a sum; number columns are");
}

#[test]
fn sv_meta_programmes_are_named_once_and_placeholders_left_out() {
    let r = run(&[
        "score",
        "datasets/sv-meta/sv_meta_data.csv",
        "--columns",
        "datasets/sv-meta/mapping.toml",
        "--config",
        "datasets/sv-meta/scoring.toml",
        "--format",
        "json",
    ]);
    r.expect_code(0);
    let j = r.json();
    let names: std::collections::BTreeSet<String> =
        j["rows"].as_array().unwrap().iter().map(|c| c["intervention"].as_str().unwrap().to_string()).collect();
    for bad in ["treatment and control", "literature", "intervention", "experimental", "program", "treatment"] {
        assert!(!names.iter().any(|n| n.eq_ignore_ascii_case(bad)), "placeholder '{bad}' ranked: {names:?}");
    }
    let bitb: Vec<&String> = names.iter().filter(|n| n.to_lowercase().contains("bringing in the bystander")).collect();
    assert_eq!(
        bitb,
        [
            "Bringing in the Bystander",
            "Bringing in the Bystander + Know Your Power Bystander Social Marketing Campaign"
        ],
        "one name for the programme, and its combination with a campaign apart"
    );
    assert!(j["run"]["left_out"].as_u64().unwrap() > 0);
    r.expect_stderr("whose intervention is a placeholder ('intervention' 19,");
}

/// `[sum]` over Parquet: one part a typed integer column, the other text
/// (with a missing value); the records agree with the same table as CSV,
/// and placeholder rows are left out of both alike.
#[test]
fn sum_and_placeholders_read_alike_from_parquet_and_csv() {
    use evidex::ingest::{self, ColumnMapping, IngestOptions};
    use polars::prelude::*;
    let mut df = DataFrame::new(
        3,
        vec![
            Column::new("intervention".into(), vec!["Safe Dates", "treatment", "Green Dot"]),
            Column::new("target_group".into(), vec!["x", "x", "x"]),
            Column::new("income_setting".into(), vec!["HIC", "HIC", "HIC"]),
            Column::new("rating".into(), vec!["effective", "effective", "promising"]),
            Column::new("n_t_group".into(), vec![Some(4i64), Some(2), None]),
            Column::new("n_c_group".into(), vec![Some("5"), None, None]),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("t.parquet");
    ParquetWriter::new(std::fs::File::create(&pq).unwrap()).finish(&mut df).unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(
        &csv,
        "intervention,target_group,income_setting,rating,n_t_group,n_c_group\n\
         Safe Dates,x,HIC,effective,4,5\ntreatment,x,HIC,effective,2,\nGreen Dot,x,HIC,promising,,\n",
    )
    .unwrap();
    let toml = dir.path().join("m.toml");
    std::fs::write(&toml, "[sum]\nclusters = [\"n_t_group\", \"n_c_group\"]\n").unwrap();
    let opts = IngestOptions { mapping: ColumnMapping::load(&toml).unwrap(), ..IngestOptions::default() };
    for p in [&pq, &csv] {
        let ing = ingest::ingest_one(p, &opts).unwrap();
        assert!(ing.rejected.is_empty(), "{p:?}: {:?}", ing.rejected);
        assert_eq!((ing.rows_read(), ing.accepted(), ing.left_out()), (3, 2, 1), "{p:?}");
        let got: Vec<(&str, Option<u32>)> = ing.records.iter().map(|r| (r.intervention.as_str(), r.clusters)).collect();
        assert_eq!(got, [("Safe Dates", Some(9)), ("Green Dot", None)], "{p:?}");
    }
}

/// "-" and "n/a" are missing-value tokens elsewhere; as an intervention
/// they name no programme: placeholders, left out like the others (an
/// empty cell is still rejected).
#[test]
fn missing_value_tokens_as_intervention_are_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.csv",
        "intervention,target_group,income_setting,rating
-,x,HIC,effective
N/A,x,HIC,effective
,x,HIC,effective
Safe Dates,x,HIC,effective
",
    );
    let r = run_in(dir.path(), &["score", &f, "--format", "json"]);
    r.expect_code(0)
        .expect_stderr("1 of 4 rows rejected")
        .expect_stderr("t.csv:4: column 'intervention': is empty; every row must name an intervention")
        .expect_stderr("2 rows whose intervention is a placeholder ('-' 1, 'N/A' 1) were left out");
    let j = r.json();
    assert_eq!((j["run"]["accepted"].as_u64(), j["run"]["left_out"].as_u64()), (Some(1), Some(2)));
}

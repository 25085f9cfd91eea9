//! The real binary on good and bad files: exit codes, counts, messages.

use crate::util::{run, run_in};

#[test]
fn bundled_dataset_validates() {
    let r = run(&["validate", "datasets/evidence_vac.csv", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["rows_read"], 231);
    assert_eq!(j["accepted"], 231);
    assert_eq!(j["rejected"], 0);
}

#[test]
fn dutch_excel_export_gives_the_same_counts() {
    let r = run(&["validate", "datasets/evidence_vac_nl.csv"]);
    r.expect_code(0)
        .expect_stdout("Windows-1252, delimiter ';'")
        .expect_stdout("231 rows read, 231 accepted, 0 rejected");
}

#[test]
fn dutch_export_headers_give_the_english_verdicts() {
    // The Dutch export with the headers a Dutch Excel user writes (issue 19:
    // Standaardfout, Steekproefgrootte, Risico op vertekening and Maat were
    // passed through and the standard errors lost).
    let nl = std::fs::read(crate::util::data("datasets/evidence_vac_nl.csv")).unwrap();
    let end = nl.windows(2).position(|w| w == b"\r\n").expect("CRLF header line");
    let header = "Record ID;Studie ID;Interventie;Strategie;Doelgroep;Inkomensgroep;Land;Onderzoeksopzet;\
                  Risico op vertekening;Steekproefgrootte;Jaar;Uitkomst;Beoordeling;Effectgrootte;Standaardfout;Maat;Bron";
    let mut file = header.as_bytes().to_vec();
    file.extend_from_slice(&nl[end..]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.csv"), file).unwrap();
    let v = run_in(dir.path(), &["validate", "export.csv"]);
    v.expect_code(0).expect_stdout("231 rows read, 231 accepted, 0 rejected");
    assert!(!v.stdout.contains("pass-through"), "a Dutch header was not recognised\n{}", v.show());
    let nl = run_in(dir.path(), &["score", "export.csv", "--format", "csv"]);
    let en = run(&["score", "datasets/evidence_vac.csv", "--format", "csv"]);
    nl.expect_code(0);
    en.expect_code(0);
    assert!(nl.stdout == en.stdout, "verdicts differ\n{}\n{}", nl.show(), en.show());
}

#[test]
fn a_header_that_looks_like_a_contract_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.csv"),
        "intervention,target_group,income_setting,rating,effect_size,standard_eror,sample_size,n\n\
         A,girls,LIC,promising,0.3,0.1,120,120\n",
    )
    .unwrap();
    let r = run_in(dir.path(), &["validate", "in.csv"]);
    r.expect_code(0)
        .expect_stdout("column 'standard_eror' is not part of the contract and is passed through; did you mean 'se'?")
        .expect_stdout("column 'n' also names 'sample_size', which is read from 'sample_size'");
}

#[test]
fn sv_meta_loads_with_its_mapping() {
    let r = run(&[
        "validate",
        "datasets/sv-meta/sv_meta_data.csv",
        "--columns",
        "datasets/sv-meta/mapping.toml",
        "--format",
        "json",
    ]);
    r.expect_code(0);
    let j = r.json();
    // validate keeps rows naming a placeholder (noted); scoring leaves them out.
    assert_eq!((j["rows_read"].as_u64(), j["accepted"].as_u64()), (Some(489), Some(489)));
    let w = j["warnings"].to_string();
    assert!(w.contains("pass-through"), "{w}");
}

#[test]
fn fatal_input_errors_exit_2_and_say_what_was_expected() {
    let cases: &[(&[&str], &str)] = &[
        (&["validate", "tests/data/bad/empty.csv"], "the file is empty"),
        (&["validate", "tests/data/bad/header_only.csv"], "has a header but no data rows"),
        (&["validate", "tests/data/bad/evidence.xlsx"], "is not an Excel workbook"),
        (&["validate", "tests/data/bad/missing_columns.csv"], "missing required column target_group"),
        (&["validate", "tests/data/bad/missing_columns.csv"], "headers present: Intervention, Group, Income, Rating"),
        (&["validate", "tests/data/bad/no_rating_no_effects.csv"], "rating (or effect-size columns"),
        (&["validate", "tests/data/bad/ambiguous_ci.csv"], "column 'ci' is ambiguous"),
        (&["validate", "tests/data/bad/corrupt.parquet"], "cannot read Parquet"),
        (&["validate", "tests/data/bad/does_not_exist.csv"], "cannot read"),
        (
            &["validate", "datasets/evidence_vac.csv", "--columns", "tests/data/bad/bad_mapping.toml"],
            "'interventoin' is not a contract column (did you mean 'intervention'?)",
        ),
        (
            &["validate", "datasets/evidence_vac.csv", "--columns", "tests/data/bad/unknown_key_mapping.toml"],
            "unknown field",
        ),
        (&["validate", "datasets/evidence_vac.csv", "--map", "nonsense"], "not of the form source=target"),
        (&["validate"], "required"),
        (&["validate", "datasets/evidence_vac.csv", "--format", "yaml"], "invalid value 'yaml'"),
    ];
    for (args, needle) in cases {
        let r = run(args);
        r.expect_code(2).expect_stderr(needle);
    }
}

/// A Parquet file whose later row groups are damaged: `score` decodes row
/// groups ahead on another thread, and the error must still end the run
/// with exit 2, the file and polars' reason, and no output written.
#[test]
fn damaged_later_row_group_exits_2_without_output() {
    let o = evidex::synth::GenOptions { rows: 600_000, seed: 2, ..Default::default() };
    let mut bytes = evidex::synth::to_parquet(&o).unwrap();
    // Three row groups of up to 262,144 rows; 70% into the file is data of
    // a later group (the footer is at the end).
    let at = bytes.len() * 7 / 10;
    bytes[at..at + 4096].fill(0xff);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("damaged.parquet");
    std::fs::write(&file, &bytes).unwrap();
    let out = dir.path().join("scores.csv");
    run(&["score", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .expect_code(2)
        .expect_stderr("damaged.parquet: cannot read Parquet");
    assert!(!out.exists(), "no output after a fatal read error");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
}

#[test]
fn missing_column_suggests_a_mapping() {
    let r = run(&["validate", "tests/data/bad/missing_columns.csv"]);
    r.expect_code(2).expect_stderr("'Group' looks like 'target_group' (map it with --map \"Group=target_group\")");
}

#[test]
fn bad_rows_are_rejected_with_file_line_column_value_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let r =
        run(&["validate", "tests/data/bad/bad_values.csv", "--rejects", rejects.to_str().unwrap(), "--format", "json"]);
    r.expect_code(1);
    let j = r.json();
    assert_eq!(j["rows_read"], 17);
    assert_eq!(j["accepted"].as_u64().unwrap() + j["rejected"].as_u64().unwrap(), 17);
    assert_eq!(j["accepted"], 2, "B01 and B17 (Dutch label, quoted newline) are valid\n{}", r.show());
    let errors = j["errors"].as_array().unwrap();
    let find = |line: u64| {
        errors
            .iter()
            .find(|e| e["line"] == line)
            .unwrap_or_else(|| panic!("no error for line {line}\n{}", r.show()))
            .clone()
    };
    let e = find(3);
    assert_eq!(e["file"], "tests/data/bad/bad_values.csv");
    assert_eq!(e["column"], "rating");
    assert_eq!(e["value"], "promissing");
    assert_eq!(e["suggestion"], "promising");
    assert!(e["message"].as_str().unwrap().contains("expected one of effective, promising"));
    assert_eq!(find(4)["column"], "income_setting");
    assert_eq!(find(5)["column"], "sample_size");
    assert_eq!(find(6)["column"], "year");
    assert!(find(6)["message"].as_str().unwrap().contains("between 1950 and"));
    assert_eq!(find(7)["column"], "se");
    assert!(find(8)["message"].as_str().unwrap().contains("swapped"));
    assert!(find(9)["message"].as_str().unwrap().contains("outside its confidence interval"));
    assert!(find(10)["message"].as_str().unwrap().contains("has 14 fields but the header has 15"));
    assert_eq!(find(11)["column"], "intervention");
    assert_eq!(find(12)["column"], "strategy");
    assert_eq!(find(13)["suggestion"], "quasi_experimental");
    assert_eq!(find(14)["column"], "country");
    assert!(find(14)["message"].as_str().unwrap().contains("did you mean 'Kenya'"));
    assert!(find(15)["message"].as_str().unwrap().contains("not a number"));
    assert!(find(16)["message"].as_str().unwrap().contains("no usable effect size"));
    assert_eq!(find(17)["column"], "target_group");
    // The rejects file holds every rejected row verbatim.
    let rej = std::fs::read_to_string(&rejects).unwrap();
    let mut rdr = csv::Reader::from_reader(rej.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 15);
    assert!(rows
        .iter()
        .any(|r| &r[5] == "B02,S1,Parenting programme,parent_support,parents,LIC,,rct,120,2015,promissing,,,,"));
}

#[test]
fn text_output_names_file_line_and_column() {
    let r = run(&["validate", "tests/data/bad/bad_values.csv"]);
    r.expect_code(1).expect_stdout(
        "tests/data/bad/bad_values.csv:3: column 'rating': value 'promissing': unknown value; expected one of effective, promising, prudent, needs_research, ineffective (did you mean 'promising'?)",
    );
    r.expect_stdout("17 rows read, 2 accepted, 15 rejected");
}

#[test]
fn duplicates_mixed_studies_and_near_duplicate_groups() {
    let r = run(&["validate", "tests/data/bad/duplicates.csv", "--format", "json"]);
    r.expect_code(1);
    let j = r.json();
    assert_eq!(j["rejected"], 1);
    let e = &j["errors"][0];
    assert_eq!(e["column"], "record_id");
    assert!(e["message"].as_str().unwrap().contains("first used at tests/data/bad/duplicates.csv:2"));
    let w = j["warnings"].to_string();
    assert!(w.contains("study_id 'S1' mixes interventions"), "{w}");
    assert!(w.contains("target group spelled 2 ways (Girls / girls)"), "{w}");
    assert!(w.contains("'adolescent girl' and 'adolescent girls' look alike"), "{w}");
    assert!(w.contains("se disagrees with the 95% CI"), "{w}");
}

#[test]
fn jsonl_rows_and_bad_lines() {
    let r = run(&["validate", "tests/data/bad/records.jsonl", "--format", "json"]);
    r.expect_code(1);
    let j = r.json();
    assert_eq!((j["rows_read"].as_u64(), j["accepted"].as_u64(), j["rejected"].as_u64()), (Some(4), Some(2), Some(2)));
    assert!(j["errors"][0]["message"].as_str().unwrap().contains("not valid JSON"));
    assert!(j["errors"][1]["message"].as_str().unwrap().contains("JSON array"));
}

#[test]
fn strict_turns_rejections_into_failure_for_meta() {
    let r = run(&["meta", "tests/data/bad/bad_values.csv", "--strict"]);
    r.expect_code(1);
}

#[test]
fn input_format_override_and_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("records.txt");
    std::fs::write(&tsv, "intervention\ttarget_group\tincome_setting\trating\nA\tgirls\tLIC\tpromising\n").unwrap();
    let r = run_in(dir.path(), &["validate", "records.txt", "--input-format", "tsv"]);
    r.expect_code(0).expect_stdout("1 rows read, 1 accepted");
}

#[test]
fn meta_bad_input_is_counted_and_explained() {
    let r = run(&["meta", "tests/data/bad/bad_variance.csv", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["k"], 2);
    let ex = j["excluded"].as_array().unwrap();
    assert_eq!(ex.len(), 2);
    assert!(ex[0]["reason"].as_str().unwrap().contains("must be finite and > 0"));
    let r = run(&["meta", "tests/data/bad/double_zero.csv", "--measure", "OR", "--format", "json"]);
    let j = r.json();
    assert_eq!(j["k"], 2);
    assert!(j["excluded"][0]["reason"].as_str().unwrap().contains("no events in both arms"));
    let r = run(&["meta", "tests/data/bad/mixed_measures.csv"]);
    r.expect_code(2).expect_stderr("different effect measures (OR, SMD)");
    let r = run(&["meta", "tests/data/bad/mixed_measures.csv", "--measure", "OR"]);
    r.expect_code(2).expect_stderr("different effect measures (OR, SMD)");
    let r = run(&["meta", "tests/data/dat.li2007.csv"]);
    r.expect_code(2).expect_stderr("--measure RR, OR or RD");
    let r = run(&["meta", "tests/data/viechtbauer2005_example1.csv", "--by", "nope"]);
    r.expect_code(2).expect_stderr("column 'nope' is not in the input");
}

#[test]
fn meta_single_study_reports_ee_and_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.csv"), "study,yi,vi\n1,0.3,0.04\n").unwrap();
    let r = run_in(dir.path(), &["meta", "one.csv", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["method"], "EE");
    assert!(j["notes"][0].as_str().unwrap().contains("needs at least 2 studies"));
}

#[test]
fn meta_subgroups_report_the_between_test() {
    let r = run(&["meta", "tests/data/dat.bcg.csv", "--measure", "RR", "--by", "alloc", "--format", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["subgroups"].as_array().unwrap().len(), 3);
    assert_eq!(j["subgroup_test"]["df"], 2);
}

// Regression: generated record ids used the file stem, so two files named
// alike in different folders rejected each other's rows as duplicates.
#[test]
fn generated_ids_distinguish_files_but_catch_a_file_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("x.csv"),
            "intervention,target_group,income_setting,rating\nA,girls,LIC,promising\n",
        )
        .unwrap();
    }
    let r = run_in(dir.path(), &["validate", "a/x.csv", "b/x.csv", "--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["accepted"], 2);
    let r = run_in(dir.path(), &["validate", "a/x.csv", "a/x.csv", "--format", "json"]);
    r.expect_code(1);
    assert_eq!(r.json()["errors"][0]["column"], "record_id");
}

#[test]
fn accepted_records_keep_pass_through_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clean.csv");
    run(&[
        "validate",
        "datasets/sv-meta/sv_meta_data.csv",
        "--columns",
        "datasets/sv-meta/mapping.toml",
        "--accepted",
        out.to_str().unwrap(),
    ])
    .expect_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    // 489 rows, less the 193 whose "programme" is an arm label the mapping
    // lists as a placeholder: scoring leaves them out, so the accepted file
    // does too.
    assert_eq!(rows.len(), 489 - 193);
    // Pass-through columns survive, e.g. the paper title and the follow-up delay.
    let title = headers.iter().position(|h| h == "paper_title").expect("paper_title kept");
    assert!(!rows[0][title].is_empty());
    assert!(headers.iter().any(|h| h == "delay"));
    // Income settings were derived from country and year.
    let derived = headers.iter().position(|h| h == "income_derived").unwrap();
    assert!(rows.iter().all(|r| &r[derived] == "true"));
}

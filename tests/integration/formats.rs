//! One row reader, many formats: the same table written as plain CSV,
//! quoted CSV, TSV, JSON Lines, Parquet or a workbook gives the same
//! records and byte-identical scores; the two consumers of the reader
//! (records for `validate`, compact facts for `score`) agree on every row;
//! results do not depend on the thread count.

use crate::util::*;
use evidex::ingest::{self, ColumnMapping, IngestOptions, RowError};
use evidex::report::score as rs;
use evidex::score::stream::{read_facts, Streamed};
use evidex::score::{self, GroupKey, ScoringConfig};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn opts(mapping: Option<&str>) -> IngestOptions {
    let mapping = match mapping {
        Some(p) => ColumnMapping::load(&data(p)).unwrap(),
        None => ColumnMapping::default(),
    };
    IngestOptions { mapping, ..IngestOptions::default() }
}

fn facts(paths: &[PathBuf], o: &IngestOptions, keys: &[GroupKey]) -> Streamed {
    read_facts(paths, o, keys, &ScoringConfig::default()).unwrap()
}

/// Facts (what `score` reads) against records (what `validate`, `rank` and
/// `explain` read): the same rejections, counts and warnings, and the same
/// score table.
fn assert_consumers_agree(paths: &[PathBuf], o: &IngestOptions, keys: &[GroupKey]) {
    let cfg = ScoringConfig::default();
    let st = facts(paths, o, keys);
    let ing = ingest::ingest(paths, o).unwrap();
    assert_eq!(st.ing.rejected, ing.rejected, "rejections differ on {paths:?}");
    assert_eq!(st.ing.rows_read(), ing.rows_read());
    assert_eq!(st.ing.accepted(), ing.accepted());
    for (a, b) in st.ing.files.iter().zip(&ing.files) {
        assert_eq!((a.rows_read, a.accepted, a.rejected, &a.sha256), (b.rows_read, b.accepted, b.rejected, &b.sha256));
    }
    // Warnings other than the per-study mixing list (which only the record
    // consumer words).
    let keep = |w: &&ingest::Warning| !w.message.contains("mixes interventions");
    let a: Vec<_> = st.ing.warnings.iter().filter(keep).collect();
    let b: Vec<_> = ing.warnings.iter().filter(keep).collect();
    assert_eq!(a, b);
    let res = score::score_facts(&st.facts, keys, &cfg, true);
    let reference = score::score_records(&ing.records, keys, &cfg);
    assert_eq!(rs::score_table(&res).to_csv(), rs::score_table(&reference).to_csv());
}

#[test]
fn consumers_agree_on_the_bundled_datasets() {
    let keysets = [GroupKey::DEFAULT.to_vec(), vec![GroupKey::Strategy, GroupKey::Design, GroupKey::Outcome]];
    for keys in &keysets {
        assert_consumers_agree(&[data("datasets/evidence_vac.csv")], &opts(None), keys);
        assert_consumers_agree(&[data("datasets/evidence_vac_nl.csv")], &opts(None), keys);
        assert_consumers_agree(&[data("datasets/evidence_vac_nl.xlsx")], &opts(None), keys);
        assert_consumers_agree(
            &[data("datasets/sv-meta/sv_meta_data.csv")],
            &opts(Some("datasets/sv-meta/mapping.toml")),
            keys,
        );
        assert_consumers_agree(
            &[data("datasets/evidence_vac.csv"), data("tests/data/bad/bad_values.csv")],
            &opts(None),
            keys,
        );
    }
}

/// The bundled Dutch workbook (a notes sheet first, number cells, date
/// cells in the year column, text cells with a decimal comma) gives the
/// records of the English CSV, field for field, line numbers included
/// (its header is in row 1, as the CSV's is on line 1).
#[test]
fn dutch_workbook_gives_the_records_of_the_csv() {
    let en = ingest::ingest_one(&data("datasets/evidence_vac.csv"), &opts(None)).unwrap();
    let wb = ingest::ingest_one(&data("datasets/evidence_vac_nl.xlsx"), &opts(None)).unwrap();
    assert_eq!(wb.files[0].path, format!("{} (sheet Bewijs)", data("datasets/evidence_vac_nl.xlsx").display()));
    assert!(wb.rejected.is_empty(), "{:?}", wb.rejected);
    assert_eq!(en.records.len(), 231);
    assert_eq!(wb.records.len(), en.records.len());
    for (a, b) in en.records.iter().zip(&wb.records) {
        assert_eq!(a, b, "record {} differs", a.record_id);
    }
    assert!(wb.records.iter().any(|r| r.source.as_deref().is_some_and(|s| s.contains("Sánchez"))));
}

/// The same 30 records as Excel 97-2003 and OpenDocument workbooks.
#[test]
fn xls_and_ods_give_the_records_of_the_csv() {
    let en = ingest::ingest_one(&data("datasets/evidence_vac.csv"), &opts(None)).unwrap();
    for f in ["tests/data/workbooks/evidence_head.xls", "tests/data/workbooks/evidence_head.ods"] {
        let wb = ingest::ingest_one(&data(f), &opts(None)).unwrap();
        assert!(wb.rejected.is_empty(), "{f}: {:?}", wb.rejected);
        assert_eq!(wb.records.len(), 30, "{f}");
        for (a, b) in en.records.iter().zip(&wb.records) {
            assert_eq!(a, b, "{f}: record {} differs", a.record_id);
        }
    }
}

/// A title above the table, an error cell, a misspelled rating and a value
/// beyond the header: the header is found below the title, and each bad
/// row is named by sheet, Excel row and column letter.
/// A stray value far from the table (XFD1048576) would make the sheet a
/// grid of 17 billion cells: refused with where the value is (exit 2); on a
/// sheet that is not the table, that sheet is passed over.
#[test]
fn a_stray_far_value_is_refused_with_its_position() {
    let p = data("tests/data/workbooks/stray_on_table.xlsx");
    let r = run(&["validate", p.to_str().unwrap()]);
    r.expect_code(2);
    for part in ["sheet 'evidence'", "A1:XFD1048576", "the last row's value is at XFD1048576", "delete it"] {
        assert!(r.stderr.contains(part), "missing {part:?}: {}", r.show());
    }
    let p = data("tests/data/workbooks/stray_elsewhere.xlsx");
    let ing = ingest::ingest_one(&p, &IngestOptions::default()).unwrap();
    assert_eq!((ing.records.len(), ing.rejected.len()), (3, 0));
    assert!(ing.files[0].path.contains("(sheet evidence)"), "{:?}", ing.files[0].path);
}

#[test]
fn workbook_errors_name_sheet_row_and_column_letter() {
    let p = data("tests/data/workbooks/title_and_errors.xlsx");
    let ing = ingest::ingest_one(&p, &opts(None)).unwrap();
    let file = format!("{} (sheet Evidence 2024)", p.display());
    let got: Vec<(u64, Option<&str>, Option<&str>)> =
        ing.rejected.iter().map(|e| (e.line, e.column.as_deref(), e.value.as_deref())).collect();
    assert_eq!(
        got,
        [(6, Some("effect_size (G)"), Some("#DIV/0!")), (7, Some("rating (D)"), Some("efective")), (8, None, None)]
    );
    assert!(ing.rejected.iter().all(|e| e.file == file));
    assert!(ing.rejected[2].message.contains("column I") && ing.rejected[2].message.contains("column H"));
    assert_eq!(ing.records.len(), 3);
    // A date cell in the year column gives its year; a text cell "0,25" is 0.25;
    // "ja" in the harm column is true.
    assert_eq!(ing.records[0].year, Some(2019));
    assert_eq!(ing.records[1].effect().effect_size, Some(0.25));
    assert!(ing.records[2].harm);

    // --sheet by a name that does not exist lists the sheets.
    let r = run(&["validate", p.to_str().unwrap(), "--sheet", "Evidense 2024"]);
    r.expect_code(2).expect_stderr("no sheet named 'Evidense 2024' (did you mean 'Evidence 2024'?)");
    run(&["validate", p.to_str().unwrap(), "--sheet", "1"]).expect_code(1);
    run(&["validate", p.to_str().unwrap(), "--sheet", "2"]).expect_code(2).expect_stderr("has 1 sheet(s)");
    // The notes sheet of the Dutch workbook lacks the columns.
    let nl = data("datasets/evidence_vac_nl.xlsx");
    run(&["validate", nl.to_str().unwrap(), "--sheet", "Toelichting"])
        .expect_code(2)
        .expect_stderr("missing required column");
    run(&["validate", nl.to_str().unwrap(), "--sheet", "bewijs"]).expect_code(0);
}

/// A generated table as every text format: plain CSV, R-style quoted CSV
/// (strings quoted), TSV, JSON Lines (numbers as JSON numbers), and the
/// generator's own Parquet.
fn write_formats(dir: &Path, rows: u64) -> Vec<PathBuf> {
    let o = evidex::synth::GenOptions { rows, seed: 11, effect_share: 0.6, ..Default::default() };
    let mut plain = Vec::new();
    evidex::synth::to_csv(&o, &mut plain).unwrap();
    let csv_path = dir.join("g.csv");
    std::fs::write(&csv_path, &plain).unwrap();
    let mut r = csv::Reader::from_reader(&plain[..]);
    let headers = r.headers().unwrap().clone();
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();

    let quoted = dir.join("g_quoted.csv");
    let mut w = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::NonNumeric).from_path(&quoted).unwrap();
    w.write_record(&headers).unwrap();
    for rec in &recs {
        w.write_record(rec).unwrap();
    }
    w.flush().unwrap();

    let tsv = dir.join("g.tsv");
    let mut w = csv::WriterBuilder::new().delimiter(b'\t').from_path(&tsv).unwrap();
    w.write_record(&headers).unwrap();
    for rec in &recs {
        w.write_record(rec).unwrap();
    }
    w.flush().unwrap();

    let jsonl = dir.join("g.jsonl");
    let mut text = String::new();
    for rec in &recs {
        let mut m = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec) {
            if v.is_empty() {
                continue;
            }
            let value = match v.parse::<f64>() {
                Ok(x) if ["sample_size", "year", "effect_size", "se"].contains(&h) => serde_json::json!(x),
                _ => serde_json::Value::String(v.to_string()),
            };
            m.insert(h.to_string(), value);
        }
        text.push_str(&serde_json::Value::Object(m).to_string());
        text.push('\n');
    }
    std::fs::write(&jsonl, text).unwrap();

    let pq = dir.join("g.parquet");
    std::fs::write(&pq, evidex::synth::to_parquet(&o).unwrap()).unwrap();
    vec![csv_path, quoted, tsv, jsonl, pq]
}

/// Every format, several blocks and row groups, one and three threads:
/// byte-identical score tables and the same counts.
#[test]
fn every_format_gives_byte_identical_scores_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_formats(dir.path(), 200_000);
    assert!(std::fs::metadata(&files[1]).unwrap().len() > 4 * ingest::text::BLOCK_BYTES as u64, "several blocks");
    let mut outs = Vec::new();
    for f in &files {
        for threads in ["1", "3"] {
            let out = dir.path().join(format!("{}.{threads}.csv", f.file_name().unwrap().to_str().unwrap()));
            run_env(
                dir.path(),
                &["score", f.to_str().unwrap(), "--out", out.to_str().unwrap()],
                &[("RAYON_NUM_THREADS", threads)],
            )
            .expect_code(0);
            outs.push((out.clone(), std::fs::read(&out).unwrap()));
        }
    }
    for (name, bytes) in &outs[1..] {
        assert!(bytes == &outs[0].1, "{} differs from {}", name.display(), outs[0].0.display());
    }
    let counts: Vec<(u64, u64)> = files
        .iter()
        .map(|f| {
            let st = facts(std::slice::from_ref(f), &opts(None), &GroupKey::DEFAULT);
            (st.ing.rows_read(), st.ing.accepted())
        })
        .collect();
    assert!(counts.iter().all(|c| *c == counts[0]), "{counts:?}");
    assert_eq!(counts[0].0, 200_000);
}

/// Rows with every kind of problem in the middle of a file read in several
/// blocks: both consumers agree, and the text formats report the same
/// rejections (line numbers and messages) whether quoted or not.
#[test]
fn bad_rows_in_a_big_file_agree_across_consumers_and_quoting() {
    let dir = tempfile::tempdir().unwrap();
    let o = evidex::synth::GenOptions { rows: 100_000, seed: 3, effect_share: 0.6, ..Default::default() };
    let mut buf = Vec::new();
    evidex::synth::to_csv(&o, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let bad = [
        "G-x1,T1,Intervention 001 (parenting),parenting,children,HIC,rct,low,100,2015,efective,,,,",
        "G-x2,T1,Intervention 001 (parenting),parenting,children,HIC,rct,low,-5,2015,effective,,,,",
        "G-x3,T2,,parenting,children,HIC,rct,low,100,2015,effective,,,,",
        "G-x4,T3,Intervention 002 (laws),laws,kinderen,lage inkomens,RCT,laag,100,2015,effectief,,,,",
        "G-x5,T4,Intervention 002 (laws),laws,boys,LIC,rct,low,100,1890,effective,,,,",
        "G-x6,T5,Intervention 002 (laws),laws,boys,LIC,rct,low,100,2015,,0.3,-1,SMD,",
        "G-x7,T6,Intervention 002 (laws),laws,Boys ,LIC,rct,NA,1e3,2015,,0.3,0.1,smd,",
        "G-x8,T7,Intervention 002 (laws),laws,boys,LIC,rct,low,100,2015,promising,0.3,0.1,XYZ,",
        "G1,T7,Intervention 002 (laws),laws,boys,LIC,rct,low,100,2015,promising,0.3,0.1,SMD,",
        "short,row",
    ];
    for (k, b) in bad.iter().enumerate() {
        lines.insert(30_000 + k * 6_000, b.to_string());
    }
    let plain = dir.path().join("bad.csv");
    std::fs::write(&plain, lines.join("\n") + "\n").unwrap();
    assert_consumers_agree(std::slice::from_ref(&plain), &opts(None), &GroupKey::DEFAULT);

    // The same rows with strings quoted (malformed row kept as it is).
    let quoted = dir.path().join("bad_quoted.csv");
    let q: Vec<String> = lines
        .iter()
        .map(|l| {
            if l.split(',').count() != 15 {
                return l.clone();
            }
            l.split(',')
                .map(|c| if c.is_empty() || c.parse::<f64>().is_ok() { c.to_string() } else { format!("\"{c}\"") })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    std::fs::write(&quoted, q.join("\n") + "\n").unwrap();
    assert_consumers_agree(std::slice::from_ref(&quoted), &opts(None), &GroupKey::DEFAULT);
    let key = |e: &RowError| (e.line, e.column.clone(), e.value.clone(), e.message.replace(&e.file, "FILE"));
    let a = ingest::ingest_one(&plain, &opts(None)).unwrap();
    let b = ingest::ingest_one(&quoted, &opts(None)).unwrap();
    assert_eq!(a.rejected.iter().map(key).collect::<Vec<_>>(), b.rejected.iter().map(key).collect::<Vec<_>>());
    // Misspelled rating, negative sample, no intervention, 1890, negative
    // se, a repeated record id ("G1") and a short row; the Dutch row, the
    // "1e3" sample and the unknown measure with a rating are accepted.
    let lines: Vec<u64> = a.rejected.iter().map(|e| e.line).collect();
    assert_eq!(lines, [30_001, 36_001, 42_001, 54_001, 60_001, 78_001, 84_001], "{:#?}", a.rejected);
    assert!(a.rejected.iter().any(|e| e.raw == "short,row" && e.message.contains("has 2 fields")));
    let dup = a.rejected.iter().find(|e| e.message.contains("duplicate record_id")).expect("repeat found");
    assert!(dup.raw.starts_with("G1,T7,"), "the repeated row's text: {}", dup.raw);
}

#[test]
fn duplicate_ids_are_rejected_with_their_rows_by_score_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = data("tests/data/bad/duplicates.csv");
    assert_consumers_agree(std::slice::from_ref(&p), &opts(None), &GroupKey::DEFAULT);
    let out = dir.path().join("s.csv");
    let rej = dir.path().join("r.csv");
    run_in(
        &repo(),
        &["score", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--rejects", rej.to_str().unwrap()],
    )
    .expect_code(0);
    let ing = ingest::ingest_one(&p, &opts(None)).unwrap();
    assert!(ing.rejected.iter().any(|e| e.message.contains("duplicate record_id") && !e.raw.is_empty()));
    let rejects = std::fs::read_to_string(&rej).unwrap();
    assert_eq!(rejects.lines().count(), ing.rejected.len() + 1, "{rejects}");
    assert!(rejects.contains("duplicate record_id"));
}

fn cell_pool() -> Vec<Vec<&'static str>> {
    vec![
        vec!["R1", "R2", "R3", "", "R1"],            // record_id
        vec!["S1", "S2", "", "NA"],                  // study_id
        vec!["Alpha", "Beta ", " ", "n/a", "Gamma"], // intervention
        vec!["parenting", "laws", "norms", "", "Parenting", "ouderschap", "nonsense"], // strategy
        vec!["children", "adolescent girls", "Adolescent  Girls", "", "boys", "-"], // target_group
        vec!["LIC", "HIC", "lmc", "low income", "", "XIC"], // income_setting
        vec!["rct", "RCT", "pre_post", "quasi", "", "weird"], // design
        vec!["low", "high", "some concerns", "", "laag", "?"], // risk_of_bias
        vec!["100", "0", "0.4", "1,5", "abc", "", "2e3", "-3"], // sample_size
        vec!["2015", "1949", "2015.5", "", "2030", "1950", "99999999", "2016-05-01"], // year
        vec!["effective", "harmful", "promising", "", "effectief", "efective", "ineffective/harmful"], // rating
        vec!["0.3", "-0.5", "", "x", "inf", "1,2"],  // effect_size
        vec!["0.1", "0", "-1", "", "0.2", "nan"],    // se
        vec!["SMD", "smd", "RR", "", "OR", "zz"],    // measure
        vec!["yes", "no", "", "maybe", "1"],         // harm
        vec!["NLD", "Kenya", "", "Atlantis", "civ"], // country
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random rows mixing valid, Dutch, misspelled, null and out-of-range
    /// fields, as CSV and as JSON Lines: both consumers accept and reject
    /// the same rows with the same messages, and every row is counted.
    #[test]
    fn consumers_agree_on_random_rows(
        picks in proptest::collection::vec(proptest::collection::vec(0usize..8, 16), 1..60),
        semi in any::<bool>(),
    ) {
        let pool = cell_pool();
        let header = "record_id,study_id,intervention,strategy,target_group,income_setting,design,risk_of_bias,sample_size,year,rating,effect_size,se,measure,harm,country";
        let names: Vec<&str> = header.split(',').collect();
        let d = if semi { ';' } else { ',' };
        let mut text = header.replace(',', &d.to_string());
        text.push('\n');
        let mut jsonl = String::new();
        for row in &picks {
            let cells: Vec<&str> = row.iter().enumerate().map(|(i, k)| pool[i][k % pool[i].len()]).collect();
            let quoted: Vec<String> =
                cells.iter().map(|v| if v.contains(d) { format!("\"{v}\"") } else { v.to_string() }).collect();
            text.push_str(&quoted.join(&d.to_string()));
            text.push('\n');
            let m: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(&cells)
                .filter(|(_, v)| !v.is_empty())
                .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.to_string())))
                .collect();
            jsonl.push_str(&serde_json::Value::Object(m).to_string());
            jsonl.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::write(&p, &text).unwrap();
        let j = dir.path().join("p.jsonl");
        std::fs::write(&j, &jsonl).unwrap();
        for f in [p, j] {
            let o = opts(None);
            let st = read_facts(std::slice::from_ref(&f), &o, &GroupKey::DEFAULT, &ScoringConfig::default());
            let ing = ingest::ingest_one(Path::new(&f), &o);
            match (st, ing) {
                (Ok(st), Ok(ing)) => {
                    prop_assert_eq!(&st.ing.rejected, &ing.rejected);
                    prop_assert_eq!(st.ing.accepted(), ing.accepted());
                    prop_assert_eq!(ing.rows_read(), ing.accepted() + ing.rejected_count() + ing.left_out());
                    prop_assert_eq!(ing.rows_read(), picks.len() as u64);
                }
                // JSON Lines leaves empty fields out, so a required field
                // that is empty on every row is a missing column: both
                // consumers refuse the file alike.
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    let json = f.extension().is_some_and(|e| e == "jsonl");
                    prop_assert!(json && a.to_string().contains("missing"), "{}", a);
                }
                (a, b) => prop_assert!(false, "consumers disagree: {:?} vs {:?}", a.err(), b.err()),
            }
        }
    }
}

/// Parquet with rejected rows and a pass-through column: only the
/// contract's columns are decoded, so a rejected row's group is decoded
/// again to report the row with all its fields.
#[test]
fn parquet_rejections_carry_the_whole_row() {
    use polars::prelude::*;
    let n = 1000;
    let rating: Vec<&str> = (0..n).map(|i| if i % 97 == 5 { "efective" } else { "promising" }).collect();
    let income: Vec<Option<&str>> = (0..n).map(|i| if i % 211 == 7 { None } else { Some("LMC") }).collect();
    let year: Vec<Option<i64>> =
        (0..n).map(|i| Some(if i % 331 == 9 { 1890 } else { 2010 + (i % 10) as i64 })).collect();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("record_id".into(), (0..n).map(|i| format!("R{i}")).collect::<Vec<_>>()),
            Column::new("study_id".into(), (0..n).map(|i| format!("S{}", i / 3)).collect::<Vec<_>>()),
            Column::new("intervention".into(), (0..n).map(|i| format!("Programme {}", i % 7)).collect::<Vec<_>>()),
            Column::new("target_group".into(), vec!["adolescent girls"; n]),
            Column::new("income_setting".into(), income),
            Column::new("rating".into(), rating),
            Column::new("year".into(), year),
            Column::new("reviewer_notes".into(), (0..n).map(|i| format!("note {i}")).collect::<Vec<_>>()),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap()).with_row_group_size(Some(300)).finish(&mut df).unwrap();
    let st = facts(std::slice::from_ref(&p), &opts(None), &GroupKey::DEFAULT);
    assert!(st.ing.rejected.len() >= 3, "{:?}", st.ing.rejected);
    assert!(st.ing.rejected.iter().all(|e| e.raw.contains("note ")), "rejected rows keep pass-through fields");
    assert_consumers_agree(&[p], &opts(None), &GroupKey::DEFAULT);
}

/// A data frame with typed number columns (integers, `Float64` with NaN and
/// infinities, `Float32`, a fractional year), numbers stored as text,
/// nulls, and several mappings (null tokens, value maps, coalesced
/// columns, a constant): read from Parquet (typed arrays) and from a CSV of
/// polars' text of each cell, the same rows are accepted with the same
/// facts, and the same rows are rejected with the same messages (Parquet
/// numbers data rows from 1; the CSV's line 1 is its header).
#[test]
fn typed_parquet_reads_like_its_text() {
    use polars::prelude::*;
    let n = 600;
    let pick = |i: usize, k: usize| i % k == 0;
    let f64s = |f: &dyn Fn(usize) -> Option<f64>| (0..n).map(f).collect::<Vec<Option<f64>>>();
    let effect = f64s(&|i| match i % 23 {
        0 => None,
        1 => Some(f64::NAN),
        2 => Some(f64::INFINITY),
        3 => Some(-0.0),
        4 => Some(1e-7),
        _ => Some((i as f64 * 0.37).sin()),
    });
    let se: Vec<Option<f32>> =
        (0..n).map(|i| if pick(i, 29) { None } else { Some(0.05 + (i % 13) as f32 * 0.013) }).collect();
    let year = f64s(&|i| match i % 41 {
        0 => Some(2015.5),
        1 => Some(f64::NAN),
        2 => None,
        _ => Some(2000.0 + (i % 20) as f64),
    });
    let sample: Vec<Option<i32>> =
        (0..n).map(|i| if pick(i, 31) { Some(-3) } else { Some(20 + (i % 10) as i32) }).collect();
    let ci = |i: usize, d: f64| match i % 37 {
        0 => Some("n/k".to_string()),
        1 if d < 0.0 => Some("abc".to_string()),
        2..=6 => Some(format!("{:.3}", (i as f64 * 0.37).sin() + d)),
        _ => None,
    };
    let design: Vec<&str> = (0..n).map(|i| ["RCT", "rct", "pre_post", "n/k", "rct", "quasi", "rct"][i % 7]).collect();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("record_id".into(), (0..n).map(|i| i as i64).collect::<Vec<_>>()),
            Column::new("study_id".into(), (0..n).map(|i| (i / 3) as i64).collect::<Vec<_>>()),
            Column::new("programme".into(), (0..n).map(|i| format!("Programme {}", i % 5)).collect::<Vec<_>>()),
            Column::new("target_group".into(), (0..n).map(|i| ["girls", " Girls", "boys"][i % 3]).collect::<Vec<_>>()),
            Column::new(
                "income_setting".into(),
                (0..n).map(|i| ["LIC", "lmc", "HIC", "LIC", "n/k"][i % 5]).collect::<Vec<_>>(),
            ),
            Column::new(
                "rating".into(),
                (0..n).map(|i| if pick(i, 4) { None } else { Some("promising") }).collect::<Vec<_>>(),
            ),
            Column::new("design".into(), design),
            Column::new("year".into(), year),
            Column::new("sample_size".into(), sample),
            Column::new("effect_size".into(), effect),
            Column::new("se".into(), se),
            Column::new("ci_lower".into(), (0..n).map(|i| ci(i, -1.0)).collect::<Vec<_>>()),
            Column::new("ci_upper".into(), (0..n).map(|i| ci(i, 1.0)).collect::<Vec<_>>()),
            Column::new(
                "measure".into(),
                (0..n).map(|i| if pick(i, 2) { Some("smd") } else { None }).collect::<Vec<_>>(),
            ),
            Column::new("es_alt".into(), f64s(&|i| (i % 3 == 0).then_some(0.25 + (i % 5) as f64 * 0.125))),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("typed.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap()).with_row_group_size(Some(200)).finish(&mut df).unwrap();
    // polars' text of every cell, as CSV.
    let c = dir.path().join("typed.csv");
    let mut w = csv::Writer::from_path(&c).unwrap();
    w.write_record(df.get_column_names().iter().map(|s| s.as_str())).unwrap();
    let text: Vec<StringChunked> = df
        .columns()
        .iter()
        .map(|col| col.as_materialized_series().cast(&DataType::String).unwrap().str().unwrap().clone())
        .collect();
    for i in 0..n {
        w.write_record(text.iter().map(|s| s.get(i).unwrap_or(""))).unwrap();
    }
    w.flush().unwrap();

    let mappings = [
        "[columns]\nprogramme = \"intervention\"\n",
        // Custom null tokens (here also "21", a valid sample size) and value
        // maps act on the text of every column.
        "null_values = [\"n/k\", \"-3\", \"21\"]\n[columns]\nprogramme = \"intervention\"\n[values.design]\n\"quasi\" = \"quasi_experimental\"\n",
        // Coalesced sources (two number columns; a file column feeding two
        // contract columns) and a constant.
        "[columns]\nprogramme = \"intervention\"\n[coalesce]\neffect_size = [\"effect_size\", \"es_alt\"]\nstudy_id = [\"study_id\", \"record_id\"]\n[constants]\nrisk_of_bias = \"low\"\n",
    ];
    for m in mappings {
        let toml = dir.path().join("m.toml");
        std::fs::write(&toml, m).unwrap();
        let o = IngestOptions { mapping: ColumnMapping::load(&toml).unwrap(), ..IngestOptions::default() };
        let from_pq = facts(std::slice::from_ref(&p), &o, &GroupKey::DEFAULT);
        let from_csv = facts(std::slice::from_ref(&c), &o, &GroupKey::DEFAULT);
        let key = |e: &RowError, shift: u64| (e.line + shift, e.column.clone(), e.value.clone(), e.message.clone());
        let a: Vec<_> = from_pq.ing.rejected.iter().map(|e| key(e, 1)).collect();
        let b: Vec<_> = from_csv.ing.rejected.iter().map(|e| key(e, 0)).collect();
        assert_eq!(a, b, "{m}");
        let (fa, fb) = (from_pq.facts.resolved(), from_csv.facts.resolved());
        if let Some(i) = (0..fa.len().min(fb.len())).find(|&i| fa[i] != fb[i]) {
            panic!("{m}: fact {i} differs:\n{:?}\n{:?}", fa[i], fb[i]);
        }
        assert_eq!(fa.len(), fb.len(), "{m}");

        // A mix of accepted rows and rejections of several kinds.
        assert!(from_pq.ing.accepted() > n as u64 / 3 && a.len() > 20, "{m}: {}", from_pq.ing.accepted());
        assert_consumers_agree(std::slice::from_ref(&p), &o, &[GroupKey::Intervention, GroupKey::Design]);
    }
}

/// Options that name a column take the contract's names after mapping: a
/// header mapped onto `outcome` is grouped on as `outcome` by `meta --by`
/// (also when the first row leaves it empty) and by `score --by`.
#[test]
fn mapped_columns_can_be_grouped_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.csv"),
        "Studie,Resultaat,yi,vi\nA,,0.2,0.01\nB,kennis,0.3,0.02\nC,kennis,0.1,0.015\nD,gedrag,0.05,0.01\nE,gedrag,0.15,0.02\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("map.toml"), "[columns]\nStudie = \"study_id\"\nResultaat = \"outcome\"\n").unwrap();
    let r = run_in(dir.path(), &["meta", "m.csv", "--columns", "map.toml", "--by", "outcome", "--format", "json"]);
    r.expect_code(0);
    let text = r.stdout.clone();
    assert!(text.contains("kennis") && text.contains("gedrag"), "{}", r.show());
    // The cluster option names a column too: `study_id` exists only after mapping.
    let r =
        run_in(dir.path(), &["meta", "m.csv", "--columns", "map.toml", "--cluster", "study_id", "--format", "json"]);
    r.expect_code(0);
    let compact: String = r.stdout.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(compact.contains("\"clusters\":5"), "{}", r.show());

    std::fs::write(
        dir.path().join("s.csv"),
        "Programma,Groep,Inkomen,Oordeel,Resultaat\nX,girls,LIC,effective,attitudes\nX,girls,LIC,promising,violence perpetration\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("smap.toml"),
        "[columns]\nProgramma = \"intervention\"\nGroep = \"target_group\"\nInkomen = \"income_setting\"\nOordeel = \"rating\"\nResultaat = \"outcome\"\n",
    )
    .unwrap();
    let r = run_in(
        dir.path(),
        &["score", "s.csv", "--columns", "smap.toml", "--by", "intervention,outcome", "--format", "csv"],
    );
    r.expect_code(0);
    assert!(r.stdout.contains("attitudes") && r.stdout.contains("violence perpetration"), "{}", r.show());
}

/// JSON Lines is read in one pass: the header is the keys of the first
/// blocks read (threads x 2 blocks of 4 MiB). A key first seen after them
/// (here a contract column, `harm`, and a pass-through one, `notes`, on the
/// last row only) must give what a full key pass gives: the reader starts
/// over with one.
#[test]
fn json_lines_key_first_seen_after_the_first_blocks() {
    let text = std::fs::read_to_string(data("datasets/evidence_vac.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let object = |rec: &csv::StringRecord, copy: usize| {
        let mut m = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec) {
            let value = match h.as_str() {
                _ if v.is_empty() => continue,
                "record_id" | "study_id" => serde_json::Value::String(format!("{v}-{copy}")),
                _ => serde_json::Value::String(v.to_string()),
            };
            m.insert(h.clone(), value);
        }
        m
    };
    let first_blocks = rayon::current_num_threads().max(1) * 2 * evidex::ingest::text::BLOCK_BYTES;
    let mut out = String::new();
    let mut rows = 0u64;
    let mut copy = 0;
    while out.len() < first_blocks + (1 << 20) {
        for rec in &recs {
            out.push_str(&serde_json::Value::Object(object(rec, copy)).to_string());
            out.push('\n');
            rows += 1;
        }
        copy += 1;
    }
    let mut last = object(&recs[0], copy);
    last.insert("harm".into(), "yes".into());
    last.insert("notes".into(), "added late".into());
    out.push_str(&serde_json::Value::Object(last).to_string());
    out.push('\n');
    rows += 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.jsonl");
    std::fs::write(&path, out).unwrap();
    let paths = [path];
    let o = IngestOptions::default();

    let ing = ingest::ingest(&paths, &o).unwrap();
    assert_eq!(ing.rows_read(), rows);
    assert_eq!(ing.accepted(), rows, "{:?}", ing.rejected.first());
    assert_eq!(ing.extra_columns, ["notes"]);
    let end = ing.records.last().unwrap();
    assert_eq!(end.record_id, format!("R0001-{copy}"));
    assert!(end.harm, "the late `harm` column is read");
    assert_eq!(end.extra, [Some("added late".to_string())]);
    assert!(ing.records[0].extra == [None] && !ing.records[0].harm);
    let passes = |w: &[evidex::ingest::Warning]| w.iter().any(|w| w.message.contains("pass-through: notes"));
    assert!(passes(&ing.warnings), "{:?}", ing.warnings);

    let st = facts(&paths, &o, &GroupKey::DEFAULT);
    assert_eq!(st.ing.accepted(), rows);
    assert!(passes(&st.ing.warnings), "{:?}", st.ing.warnings);
}

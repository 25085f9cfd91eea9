//! Mutation fuzzing of every reader (bounded, part of `cargo test
//! --release`, so CI runs it): valid files of each format with one to six
//! bytes changed, removed or inserted at random. Nothing may panic; every
//! damaged file is either read (every row accepted or rejected) or refused
//! with the file's error. `EVIDEX_FUZZ_CASES` raises the number of cases
//! per format for a longer local run (default 160).

use crate::util::*;
use evidex::ingest::{self, IngestOptions};
use evidex::score::{stream::read_facts, GroupKey, ScoringConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

fn cases() -> u32 {
    std::env::var("EVIDEX_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(160)
}

/// One damage: at a position (a fraction of the length), overwrite,
/// remove or insert a byte.
#[derive(Debug, Clone)]
enum Edit {
    Set(f64, u8),
    Remove(f64),
    Insert(f64, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0f64, any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        (0.0..1.0f64).prop_map(Edit::Remove),
        (0.0..1.0f64, prop::sample::select(vec![b'"', b',', b';', b'\n', b'\r', b'\t', 0, 0xFF, b'{', b'}']))
            .prop_map(|(p, b)| Edit::Insert(p, b)),
    ]
}

fn damage(bytes: &[u8], edits: &[Edit], head_bias: bool) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for e in edits {
        if b.is_empty() {
            break;
        }
        // Half the edits fall in the first or last 4 KiB, where headers,
        // footers and metadata live.
        let at = |p: f64| {
            let n = b.len();
            let x = if head_bias && p < 0.25 {
                (p * 4.0 * 4096.0) as usize
            } else if head_bias && p < 0.5 {
                n.saturating_sub(1 + ((p - 0.25) * 4.0 * 4096.0) as usize)
            } else {
                (p * n as f64) as usize
            };
            x.min(n - 1)
        };
        match *e {
            Edit::Set(p, v) => {
                let i = at(p);
                b[i] = v;
            }
            Edit::Remove(p) => {
                let i = at(p);
                b.remove(i);
            }
            Edit::Insert(p, v) => {
                let i = at(p);
                b.insert(i, v);
            }
        }
    }
    b
}

/// Read a damaged file with both consumers: no panic, and either an error
/// naming the file or every row accounted for.
fn read_without_panic(path: &Path, o: &IngestOptions) -> Result<(), TestCaseError> {
    let shown = path.display().to_string();
    let paths = [path.to_path_buf()];
    let r = std::panic::catch_unwind(|| ingest::ingest(&paths, o));
    let Ok(r) = r else {
        return Err(TestCaseError::fail(format!("ingest panicked on {shown}")));
    };
    match &r {
        Ok(ing) => prop_assert_eq!(ing.rows_read(), ing.accepted() + ing.rejected_count() + ing.left_out()),
        Err(e) => prop_assert!(e.to_string().starts_with(&shown), "error does not name the file: {e}"),
    }
    let f = std::panic::catch_unwind(|| read_facts(&paths, o, &GroupKey::DEFAULT, &ScoringConfig::default()));
    let Ok(f) = f else {
        return Err(TestCaseError::fail(format!("the facts reader panicked on {shown}")));
    };
    if let Ok(st) = &f {
        prop_assert_eq!(st.ing.rows_read(), st.ing.accepted() + st.ing.rejected_count());
    }
    same_as_checking_every_row(&paths, o, &r, &f)
}

/// The vocabulary columns are checked once per distinct value (a memo per
/// worker, keyed by the text or by the Parquet value); checking every field
/// of every row afresh must accept and reject exactly the same rows, with
/// the same messages, warnings and facts.
fn same_as_checking_every_row(
    paths: &[std::path::PathBuf],
    o: &IngestOptions,
    memoised: &Result<ingest::Ingested, ingest::IngestError>,
    memoised_facts: &Result<evidex::score::stream::Streamed, ingest::IngestError>,
) -> Result<(), TestCaseError> {
    let every = IngestOptions { check_every_row: true, ..o.clone() };
    let shown = |r: &Result<ingest::Ingested, ingest::IngestError>| match r {
        Ok(i) => format!("{i:?}"),
        Err(e) => format!("error: {e}"),
    };
    let afresh = ingest::ingest(paths, &every);
    let (a, b) = (shown(memoised), shown(&afresh));
    if a != b {
        // Where they part, with some context.
        let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let around = |s: &str| {
            let mut from = at.saturating_sub(200).min(s.len());
            while !s.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (at + 200).min(s.len());
            while !s.is_char_boundary(to) {
                to += 1;
            }
            s[from..to].to_string()
        };
        return Err(TestCaseError::fail(format!(
            "{}: the memoised and the row-by-row checks differ at byte {at}\nmemoised: ...{}...\nrow by row: ...{}...",
            paths[0].display(),
            around(&a),
            around(&b)
        )));
    }
    let facts = |r: &Result<evidex::score::stream::Streamed, ingest::IngestError>| match r {
        Ok(s) => format!("{:?}\n{:?}", s.ing, s.facts),
        Err(e) => format!("error: {e}"),
    };
    let afresh = read_facts(paths, &every, &GroupKey::DEFAULT, &ScoringConfig::default());
    prop_assert!(
        facts(memoised_facts) == facts(&afresh),
        "{}: the facts reader's memoised and row-by-row checks differ",
        paths[0].display()
    );
    Ok(())
}

fn campaign(name: &str, original: &[u8], head_bias: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    let o = IngestOptions::default();
    runner
        .run(&proptest::collection::vec(edit(), 1..=6), |edits| {
            std::fs::write(&path, damage(original, &edits, head_bias)).unwrap();
            read_without_panic(&path, &o)
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn bundled_csv() -> Vec<u8> {
    std::fs::read(data("datasets/evidence_vac.csv")).unwrap()
}

#[test]
fn damaged_csv_tsv_and_quoted_csv_never_panic() {
    let csv = bundled_csv();
    campaign("e.csv", &csv, false);
    let text = String::from_utf8(csv).unwrap();
    campaign("e.tsv", text.replace(',', "\t").as_bytes(), false);
    // Every field quoted, with doubled quotes and line ends inside values.
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut w = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Always).from_writer(Vec::new());
    w.write_record(r.headers().unwrap()).unwrap();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        let fields: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(j, v)| if j == 16 && i % 3 == 0 { format!("{v} \"quoted\"\nsecond line") } else { v.to_string() })
            .collect();
        w.write_record(&fields).unwrap();
    }
    campaign("e_quoted.csv", &w.into_inner().unwrap(), false);
    // Windows-1252 with semicolons (the Dutch export).
    campaign("e_nl.csv", &std::fs::read(data("datasets/evidence_vac_nl.csv")).unwrap(), false);
}

#[test]
fn damaged_json_lines_never_panic() {
    let text = String::from_utf8(bundled_csv()).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let mut out = String::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let m: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .zip(&rec)
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| {
                let val = v.parse::<f64>().map(|x| serde_json::json!(x)).unwrap_or(serde_json::json!(v));
                (h.to_string(), val)
            })
            .collect();
        out.push_str(&serde_json::Value::Object(m).to_string());
        out.push('\n');
    }
    campaign("e.jsonl", out.as_bytes(), false);
}

/// The damage that crashed evidex before: bytes changed in a 2,000-row
/// Parquet file (footer and page headers included).
#[test]
fn damaged_parquet_never_panics() {
    let o = evidex::synth::GenOptions { rows: 2_000, seed: 7, ..Default::default() };
    let pq = evidex::synth::to_parquet(&o).unwrap();
    campaign("g.parquet", &pq, true);
}

#[test]
fn damaged_xlsx_never_panics() {
    campaign("e.xlsx", &std::fs::read(data("datasets/evidence_vac_nl.xlsx")).unwrap(), true);
}

#[test]
fn damaged_xls_never_panics() {
    campaign("e.xls", &std::fs::read(data("tests/data/workbooks/evidence_head.xls")).unwrap(), true);
}

#[test]
fn damaged_ods_never_panics() {
    campaign("e.ods", &std::fs::read(data("tests/data/workbooks/evidence_head.ods")).unwrap(), true);
}

/// Through the binary: a damaged Parquet file or workbook exits 2 with a
/// message naming the file, never 101 (a panic) and never with a
/// "panicked at" text.
#[test]
fn damaged_binary_files_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let pq =
        evidex::synth::to_parquet(&evidex::synth::GenOptions { rows: 2_000, seed: 7, ..Default::default() }).unwrap();
    let xlsx = std::fs::read(data("datasets/evidence_vac_nl.xlsx")).unwrap();
    let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
    for (name, original) in [("g.parquet", pq), ("e.xlsx", xlsx)] {
        let path = dir.path().join(name);
        runner
            .run(&proptest::collection::vec(edit(), 1..=6), |edits| {
                std::fs::write(&path, damage(&original, &edits, true)).unwrap();
                let r = run_in(dir.path(), &["validate", name]);
                prop_assert!(matches!(r.code, 0..=2), "{}", r.show());
                prop_assert!(!r.stderr.contains("panicked"), "{}", r.show());
                if r.code == 2 {
                    prop_assert!(r.stderr.contains(name), "{}", r.show());
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Damaged `.xls` files the fuzzing found (each made calamine ask for
/// gigabytes to terabytes and the process abort, or loop until memory ran
/// out): refused with exit 2 before calamine reads them, naming the damage.
#[test]
fn damaged_xls_found_by_fuzzing_exit_2() {
    for (file, reason) in [
        ("fat_loop.xls", "a chain from sector 0 does not end"),
        // Dimensions records damaged by the fuzzer: the counts are whatever
        // the damage made them, so only the kind of refusal is asserted.
        ("dims_rows.xls", "more than an .xls sheet holds (65,536 x 256)"),
        ("dims_cols.xls", "more than an .xls sheet holds (65,536 x 256)"),
        // Column bytes set by hand to 0xFFF0 (0-based), i.e. column 65521.
        ("cell_far.xls", "a cell sits in column 65521, beyond the 256 columns"),
    ] {
        let path = data(&format!("tests/data/workbooks/damaged/{file}"));
        let r = run(&["validate", path.to_str().unwrap()]);
        r.expect_code(2);
        assert!(r.stderr.contains("the workbook is damaged") && r.stderr.contains(reason), "{file}: {}", r.show());
    }
}

/// A field longer than 64 KiB is rejected naming the limit; the rest of
/// the file is read.
#[test]
fn a_field_over_64_kib_is_rejected_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("long.csv");
    let long = "x".repeat(100 * 1024);
    std::fs::write(
        &p,
        format!(
            "intervention,target_group,income_setting,rating\n{long},girls,LIC,effective\nShort,girls,LIC,effective\n"
        ),
    )
    .unwrap();
    let ing = ingest::ingest_one(&p, &IngestOptions::default()).unwrap();
    assert_eq!(ing.records.len(), 1);
    assert_eq!(ing.rejected.len(), 1);
    let e = &ing.rejected[0];
    assert_eq!((e.line, e.column.as_deref()), (2, Some("intervention")));
    assert!(e.message.contains("102400 bytes long") && e.message.contains("65536 bytes (64 KiB)"), "{}", e.message);
    assert!(e.value.as_deref().is_some_and(|v| v.len() < 100), "the value is shown cut");
    // A quote that is never closed: the file is refused once the row runs
    // past 64 MiB, not read into memory whole.
    let q = dir.path().join("open_quote.csv");
    let mut text = String::from("intervention,target_group,income_setting,rating\n\"Open,girls,LIC,effective\n");
    let filler = "a,b,c,d\n".repeat(1 << 20);
    for _ in 0..9 {
        text.push_str(&filler);
    }
    std::fs::write(&q, text).unwrap();
    let e = ingest::ingest_one(&q, &IngestOptions::default()).unwrap_err().to_string();
    assert!(e.contains(":2:") && e.contains("never closed") && e.contains("64 MiB"), "{e}");
}

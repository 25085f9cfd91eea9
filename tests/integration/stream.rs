//! The streaming `score` path against the record path: the fast row-to-fact
//! converter must give exactly the facts `convert_row` gives, and the
//! streamed reader exactly the rejections, counts and scores of `ingest`.

use crate::util::*;
use evidex::ingest::stream::{ingest_facts_with, Streamed};
use evidex::ingest::{self, ColumnMapping, IngestOptions};
use evidex::report::score as rs;
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

fn streamed(paths: &[PathBuf], o: &IngestOptions, keys: &[GroupKey], fast: bool) -> Streamed {
    ingest_facts_with(paths, o, keys, &ScoringConfig::default(), fast).unwrap()
}

/// Fast vs record converter (facts), and streamed vs `ingest` (rejections,
/// per-file counts, warnings, score table bytes).
fn assert_paths_agree(paths: &[PathBuf], o: &IngestOptions, keys: &[GroupKey]) {
    let cfg = ScoringConfig::default();
    let fast = streamed(paths, o, keys, true);
    let slow = streamed(paths, o, keys, false);
    assert_eq!(fast.facts.resolved(), slow.facts.resolved(), "fast and record converters differ on {paths:?}");
    assert_eq!(fast.ing.rejected, slow.ing.rejected);
    assert_eq!(fast.duplicate_ids, slow.duplicate_ids);

    let ing = ingest::ingest(paths, o).unwrap();
    assert_eq!(fast.ing.rejected, ing.rejected, "rejections differ from ingest on {paths:?}");
    assert_eq!(fast.ing.rows_read(), ing.rows_read());
    assert_eq!(fast.ing.accepted(), ing.accepted());
    for (a, b) in fast.ing.files.iter().zip(&ing.files) {
        assert_eq!((a.rows_read, a.accepted, a.rejected, &a.sha256), (b.rows_read, b.accepted, b.rejected, &b.sha256));
    }
    // Warnings other than the per-study mixing list (which only `ingest` words).
    let keep = |w: &&ingest::Warning| !w.message.contains("mixes interventions");
    let a: Vec<_> = fast.ing.warnings.iter().filter(keep).collect();
    let b: Vec<_> = ing.warnings.iter().filter(keep).collect();
    assert_eq!(a, b);
    if !fast.duplicate_ids {
        let res = score::score_facts(&fast.facts, keys, &cfg, true);
        let reference = score::score_records(&ing.records, keys, &cfg);
        assert_eq!(rs::score_table(&res).to_csv(), rs::score_table(&reference).to_csv());
    }
}

#[test]
fn bundled_datasets_agree_on_every_path() {
    let keysets = [GroupKey::DEFAULT.to_vec(), vec![GroupKey::Strategy, GroupKey::Design, GroupKey::Outcome]];
    for keys in &keysets {
        assert_paths_agree(&[data("datasets/evidence_vac.csv")], &opts(None), keys);
        assert_paths_agree(&[data("datasets/evidence_vac_nl.csv")], &opts(None), keys);
        assert_paths_agree(
            &[data("datasets/sv-meta/sv_meta_data.csv")],
            &opts(Some("datasets/sv-meta/mapping.toml")),
            keys,
        );
        assert_paths_agree(
            &[data("datasets/evidence_vac.csv"), data("tests/data/bad/bad_values.csv")],
            &opts(None),
            keys,
        );
    }
}

/// `evidence_vac.csv` without its country column, so the fast converter
/// serves its rows (a country column sends every row to the record
/// converter, which derives income settings from it).
fn evidence_without_country(dir: &Path) -> PathBuf {
    let mut r = csv::Reader::from_path(data("datasets/evidence_vac.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let country = headers.iter().position(|h| h == "country").expect("the bundled set has a country column");
    let keep = |rec: &csv::StringRecord| -> Vec<String> {
        rec.iter().enumerate().filter(|(i, _)| *i != country).map(|(_, v)| v.to_string()).collect()
    };
    let out = dir.join("evidence_no_country.csv");
    let mut w = csv::Writer::from_path(&out).unwrap();
    w.write_record(keep(&headers)).unwrap();
    for rec in r.records() {
        w.write_record(keep(&rec.unwrap())).unwrap();
    }
    w.flush().unwrap();
    out
}

#[test]
fn fast_path_agrees_for_every_group_key_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    let file = evidence_without_country(dir.path());
    // Outcome, strategy and design as keys read cells the default keys do
    // not (a fast path that ignored the outcome would put every finding of
    // an intervention in one cell).
    for keys in [
        GroupKey::DEFAULT.to_vec(),
        vec![GroupKey::Strategy, GroupKey::Design, GroupKey::Outcome],
        vec![GroupKey::Intervention, GroupKey::Outcome],
    ] {
        assert_paths_agree(std::slice::from_ref(&file), &opts(None), &keys);
    }
}

#[test]
fn generated_csv_and_parquet_with_bad_rows_agree() {
    let dir = tempfile::tempdir().unwrap();
    let o = evidex::synth::GenOptions { rows: 160_000, seed: 3, effect_share: 0.6, ..Default::default() };
    let mut buf = Vec::new();
    evidex::synth::to_csv(&o, &mut buf).unwrap();
    let mut text = String::from_utf8(buf).unwrap();
    // Bad rows of several kinds in the middle of a big (parallel-piece) file.
    text.push_str("G-x1,T1,Intervention 001 (parenting),parenting,children,HIC,rct,low,100,2015,efective,,,,\n");
    text.push_str("G-x2,T1,Intervention 001 (parenting),parenting,children,HIC,rct,low,-5,2015,effective,,,,\n");
    text.push_str("G-x3,T2,,parenting,children,HIC,rct,low,100,2015,effective,,,,\n");
    text.push_str("G-x4,T3,Intervention 002 (laws),laws,kinderen,lage inkomens,RCT,laag,100,2015,effectief,,,,\n");
    text.push_str("G-x5,T4,Intervention 002 (laws),laws,boys,LIC,rct,low,100,1890,effective,,,,\n");
    text.push_str("G-x6,T5,Intervention 002 (laws),laws,boys,LIC,rct,low,100,2015,,0.3,-1,SMD,\n");
    text.push_str("G-x7,T6,Intervention 002 (laws),laws,Boys ,LIC,rct,NA,1e3,2015,,0.3,0.1,smd,\n");
    text.push_str("G-x8,T7,Intervention 002 (laws),laws,boys,LIC,rct,low,100,2015,promising,0.3,0.1,XYZ,\n");
    text.push_str("short,row\n");
    let csv = dir.path().join("g.csv");
    std::fs::write(&csv, &text).unwrap();
    assert!(text.len() > 16 << 20, "big enough to be cut into pieces parsed in parallel");
    assert_paths_agree(&[csv], &opts(None), &GroupKey::DEFAULT);

    let pq = dir.path().join("g.parquet");
    std::fs::write(&pq, evidex::synth::to_parquet(&o).unwrap()).unwrap();
    assert_paths_agree(std::slice::from_ref(&pq), &opts(None), &GroupKey::DEFAULT);
    assert_paths_agree(&[pq], &opts(None), &[GroupKey::TargetGroup, GroupKey::Strategy]);
}

#[test]
fn duplicate_ids_are_flagged_and_score_matches_the_record_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = data("tests/data/bad/duplicates.csv");
    let st = streamed(std::slice::from_ref(&p), &opts(None), &GroupKey::DEFAULT, true);
    assert!(st.duplicate_ids);
    // The CLI re-reads with the record path: the repeats are rejected exactly.
    let out = dir.path().join("s.csv");
    let rej = dir.path().join("r.csv");
    let r = run_in(
        &repo(),
        &["score", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--rejects", rej.to_str().unwrap()],
    );
    r.expect_code(0);
    let ing = ingest::ingest_one(&p, &opts(None)).unwrap();
    assert!(!ing.rejected.is_empty());
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
        vec!["2015", "1949", "2015.5", "", "2030", "1950", "99999999"], // year
        vec!["effective", "harmful", "promising", "", "effectief", "efective", "ineffective/harmful"], // rating
        vec!["0.3", "-0.5", "", "x", "inf", "1,2"],  // effect_size
        vec!["0.1", "0", "-1", "", "0.2", "nan"],    // se
        vec!["SMD", "smd", "RR", "", "OR", "zz"],    // measure
        vec!["yes", "no", "", "maybe", "1"],         // harm
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random rows mixing valid, Dutch, misspelled, null and out-of-range
    /// cells: the fast converter accepts exactly what the record converter
    /// accepts, with the same facts, and leaves the same rejections.
    #[test]
    fn fast_converter_equals_record_converter(picks in proptest::collection::vec(proptest::collection::vec(0usize..8, 15), 1..60), semi in any::<bool>()) {
        let pool = cell_pool();
        let header = "record_id,study_id,intervention,strategy,target_group,income_setting,design,risk_of_bias,sample_size,year,rating,effect_size,se,measure,harm";
        let d = if semi { ';' } else { ',' };
        let mut text = header.replace(',', &d.to_string());
        text.push('\n');
        for row in &picks {
            let cells: Vec<String> = row.iter().enumerate().map(|(i, k)| {
                let v = pool[i][k % pool[i].len()];
                if v.contains(d) { format!("\"{v}\"") } else { v.to_string() }
            }).collect();
            text.push_str(&cells.join(&d.to_string()));
            text.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::write(&p, &text).unwrap();
        let o = opts(None);
        let fast = streamed(std::slice::from_ref(&p), &o, &GroupKey::DEFAULT, true);
        let slow = streamed(std::slice::from_ref(&p), &o, &GroupKey::DEFAULT, false);
        prop_assert_eq!(fast.facts.resolved(), slow.facts.resolved());
        prop_assert_eq!(&fast.ing.rejected, &slow.ing.rejected);
        let ing = ingest::ingest_one(Path::new(&p), &o).unwrap();
        if !fast.duplicate_ids {
            prop_assert_eq!(fast.ing.accepted(), ing.accepted());
        }
        prop_assert_eq!(fast.ing.rows_read(), ing.rows_read());
    }
}

/// The streaming readers on multi-chunk inputs: CSV (parallel pieces) and
/// Parquet (several row groups) give byte-identical score tables, whatever
/// the thread count.
#[test]
fn streamed_score_is_byte_identical_across_formats_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    for f in ["g.csv", "g.parquet"] {
        run_in(dir.path(), &["generate", "--rows", "300000", "--seed", "11", "--out", &d(f)]).expect_code(0);
    }
    assert!(std::fs::metadata(d("g.csv")).unwrap().len() > 16 << 20, "CSV must be cut into pieces");
    let mut outs = Vec::new();
    for f in ["g.csv", "g.parquet"] {
        for threads in ["1", "3"] {
            let out = d(&format!("{f}.{threads}.csv"));
            run_env(dir.path(), &["score", &d(f), "--out", &out], &[("RAYON_NUM_THREADS", threads)]).expect_code(0);
            outs.push((out.clone(), std::fs::read(&out).unwrap()));
        }
    }
    for (name, bytes) in &outs[1..] {
        assert!(bytes == &outs[0].1, "{name} differs from {}", outs[0].0);
    }
}

/// Parquet with rejected rows and a pass-through column: the streaming
/// reader reads only the contract's columns, so it re-reads a chunk with
/// rejections to report each rejected row with all its cells, exactly as
/// `ingest` does.
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
    let st = streamed(std::slice::from_ref(&p), &opts(None), &GroupKey::DEFAULT, true);
    assert!(st.ing.rejected.len() >= 3, "{:?}", st.ing.rejected);
    assert!(st.ing.rejected.iter().all(|e| e.raw.contains("note ")), "rejected rows keep pass-through cells");
    assert_paths_agree(&[p], &opts(None), &GroupKey::DEFAULT);
}

/// Parquet with typed number columns (integers, `Float64` with NaN and
/// infinities, `Float32`, a fractional year as `Float64`), numbers stored as
/// text, nulls, a coalesced pair, value maps and custom null tokens: the
/// typed fast path must give exactly what the record converter gives on
/// polars' text of each cell.
#[test]
fn typed_parquet_columns_read_as_their_text() {
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
    // A CI as text (both bounds), rarely broken.
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
            // A second effect column, for coalescing (numbers read as text).
            Column::new("es_alt".into(), f64s(&|i| (i % 3 == 0).then_some(0.25 + (i % 5) as f64 * 0.125))),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("typed.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap()).with_row_group_size(Some(200)).finish(&mut df).unwrap();
    // Without a mapping ("programme" is an alias of intervention or not: map it).
    let mut plain = IngestOptions::default();
    plain.mapping.add_pair("programme=intervention").unwrap();
    assert_paths_agree(std::slice::from_ref(&p), &plain, &GroupKey::DEFAULT);
    let st = streamed(std::slice::from_ref(&p), &plain, &GroupKey::DEFAULT, true);
    // The data mixes accepted rows (most) with rejected ones of several kinds.
    assert!(st.ing.accepted() > n as u64 / 3 && st.ing.rejected.len() > 20, "{}", st.ing.accepted());
    // Custom null tokens (here also "21", a valid sample size) and value
    // maps act on the text of every column.
    let toml = dir.path().join("m.toml");
    std::fs::write(
        &toml,
        "null_values = [\"n/k\", \"-3\", \"21\"]\n[columns]\nprogramme = \"intervention\"\n[values.design]\n\"quasi\" = \"quasi_experimental\"\n",
    )
    .unwrap();
    let mapped = IngestOptions { mapping: ColumnMapping::load(&toml).unwrap(), ..IngestOptions::default() };
    assert_paths_agree(std::slice::from_ref(&p), &mapped, &GroupKey::DEFAULT);
    // Coalesced sources (two number columns; a file column feeding two
    // contract columns) and a constant.
    std::fs::write(
        &toml,
        "[columns]\nprogramme = \"intervention\"\n[coalesce]\neffect_size = [\"effect_size\", \"es_alt\"]\nstudy_id = [\"study_id\", \"record_id\"]\n[constants]\nrisk_of_bias = \"low\"\n",
    )
    .unwrap();
    let coalesced = IngestOptions { mapping: ColumnMapping::load(&toml).unwrap(), ..IngestOptions::default() };
    let st = streamed(std::slice::from_ref(&p), &coalesced, &GroupKey::DEFAULT, true);
    assert!(st.ing.accepted() > n as u64 / 3, "{}", st.ing.accepted());
    assert_paths_agree(&[p], &coalesced, &[GroupKey::Intervention, GroupKey::Design]);
}

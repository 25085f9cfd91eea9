//! Stage timings of `score_records` on a generated table (diagnostics only):
//! `cargo run --release --example profile_score -- 1000000`
use evidex::ingest::{self, IngestOptions};
use evidex::score::{self, GroupKey, ScoringConfig, StudyView};
use std::time::Instant;

fn main() {
    sizes();
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.csv");
    evidex::synth::to_csv(
        &evidex::synth::GenOptions { rows: n, seed: 42, ..Default::default() },
        &mut std::fs::File::create(&p).unwrap(),
    )
    .unwrap();
    let t = Instant::now();
    let recs = ingest::ingest_one(&p, &IngestOptions::default()).unwrap().records;
    eprintln!("ingest: {:?}", t.elapsed());
    let cfg = ScoringConfig::default();
    let t = Instant::now();
    let agg = score::aggregate(&recs, &GroupKey::DEFAULT, &cfg, 2025);
    eprintln!("aggregate: {:?} ({} cells)", t.elapsed(), agg.cells.len());
    let t = Instant::now();
    let seq = score::aggregate_sequential(&recs, &GroupKey::DEFAULT, &cfg, 2025);
    eprintln!(
        "aggregate_sequential: {:?} ({} studies)",
        t.elapsed(),
        seq.cells.iter().map(|s| s.1.len()).sum::<usize>()
    );
    let t = Instant::now();
    let mut n_cells = 0;
    for (key, studies) in agg.cells {
        let views: Vec<StudyView> = studies.into_iter().filter_map(|(s, a)| StudyView::new(s, a, 1.0, None)).collect();
        let named = GroupKey::DEFAULT.iter().map(|k| k.name().to_string()).zip(key).collect();
        let _ = score::evaluate(named, views, &cfg);
        n_cells += 1;
    }
    eprintln!("evaluate (sequential): {:?} ({n_cells} cells)", t.elapsed());
    let t = Instant::now();
    let _ = score::score_records(&recs, &GroupKey::DEFAULT, &cfg);
    eprintln!("score_records: {:?}", t.elapsed());
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code)]
fn sizes() {
    eprintln!(
        "EvaluationRecord {} bytes, EffectInput {} bytes",
        std::mem::size_of::<evidex::model::EvaluationRecord>(),
        std::mem::size_of::<evidex::model::EffectInput>()
    );
}

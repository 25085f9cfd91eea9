//! Hot paths: aggregation + per-cell evaluation (10^4..10^6 records; from
//! records, and from the compact facts `score` builds), robustness draws,
//! the one row reader (CSV and Parquet, 10^5 rows) with each of its two
//! consumers (records for validate/meta/explain, facts for score), REML fits
//! (k = 5, 50, 500), ranking, and one cell's stages (its analysis,
//! robustness draws, leave-one-out, flip) at about 60 and 600 studies (the
//! cell sizes of 10^6 and 10^7 generated records).
//! Run: `cargo bench --bench scoring` (a few minutes).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evidex::ingest::{self, IngestOptions};
use evidex::meta::{self, FitOptions};
use evidex::model::{IncomeSetting, TargetGroup};
use evidex::score::robust::{self, CellStudies, Draws};
use evidex::score::verdict::Settings;
use evidex::score::{self, rank::RankQuery, GroupKey, ScoringConfig, StudyView};
use evidex::synth::{self, GenOptions};
use std::hint::black_box;

fn records(n: u64) -> Vec<evidex::model::EvaluationRecord> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.csv");
    let mut f = std::fs::File::create(&p).unwrap();
    synth::to_csv(&GenOptions { rows: n, seed: 42, ..Default::default() }, &mut f).unwrap();
    ingest::ingest_one(&p, &IngestOptions::default()).unwrap().records
}

fn bench_score(c: &mut Criterion) {
    let cfg = ScoringConfig::default();
    let mut g = c.benchmark_group("score");
    g.sample_size(10);
    for n in [10_000u64, 100_000, 1_000_000] {
        let recs = records(n);
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("aggregate+evaluate", n), &recs, |b, r| {
            b.iter(|| black_box(score::score_records(r, &GroupKey::DEFAULT, &cfg)))
        });
        // What `evidex score` runs after reading: facts -> verdicts.
        let facts = score::FactSet::from_records(&recs, &GroupKey::DEFAULT, &cfg);
        drop(recs);
        g.bench_with_input(BenchmarkId::new("facts", n), &facts, |b, f| {
            b.iter(|| black_box(score::score_facts(f, &GroupKey::DEFAULT, &cfg, false)))
        });
    }
    g.finish();
}

/// Robustness draws (docs/scoring.md section 9): 1,000 draws over 10^6
/// records against scoring them once without draws (target: under 5x).
fn bench_robustness(c: &mut Criterion) {
    let n = 1_000_000u64;
    let cfg = ScoringConfig::default();
    let recs = records(n);
    let facts = score::FactSet::from_records(&recs, &GroupKey::DEFAULT, &cfg);
    drop(recs);
    let mut g = c.benchmark_group("robustness");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    let mut once = cfg.clone();
    once.robustness.draws = 0;
    g.bench_function("score_once_no_draws/1000000", |b| {
        b.iter(|| black_box(score::score_facts(&facts, &GroupKey::DEFAULT, &once, false)))
    });
    g.bench_function("score_with_1000_draws/1000000", |b| {
        b.iter(|| black_box(score::score_facts(&facts, &GroupKey::DEFAULT, &cfg, false)))
    });
    g.finish();
}

fn bench_ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000u64;
    let o = GenOptions { rows: n, seed: 3, ..Default::default() };
    let csv = dir.path().join("g.csv");
    synth::to_csv(&o, &mut std::fs::File::create(&csv).unwrap()).unwrap();
    let pq = dir.path().join("g.parquet");
    std::fs::write(&pq, synth::to_parquet(&o).unwrap()).unwrap();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    // The same reader, record consumer (validate, meta, explain).
    g.bench_function("records_csv_100k", |b| {
        b.iter(|| black_box(ingest::ingest_one(&csv, &IngestOptions::default()).unwrap()))
    });
    g.bench_function("records_parquet_100k", |b| {
        b.iter(|| black_box(ingest::ingest_one(&pq, &IngestOptions::default()).unwrap()))
    });
    // The same reader, fact consumer (`evidex score`: rows -> compact facts).
    let cfg = ScoringConfig::default();
    for (name, path) in [("facts_csv_100k", &csv), ("facts_parquet_100k", &pq)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let paths = [path.clone()];
                black_box(evidex::score::stream::read_facts(
                    &paths,
                    &IngestOptions::default(),
                    &GroupKey::DEFAULT,
                    &cfg,
                ))
                .unwrap()
            })
        });
    }
    g.finish();
}

/// Studies of generated cells, pooled into one cell of at least `k`
/// studies (cells of 10^5 records have about 10; their studies together
/// stand in for one large cell).
fn cell_of(k: usize) -> Vec<StudyView> {
    let recs = records(100_000);
    let scored = score::score_records(&recs, &GroupKey::DEFAULT, &ScoringConfig::default());
    let mut out = Vec::new();
    for c in scored.cells {
        out.extend(c.studies.into_iter().filter(|s| s.borrowed_from.is_none()));
        if out.len() >= k {
            break;
        }
    }
    out
}

/// One cell's stages (`cell::evaluate` runs them in this order).
fn bench_cell_stages(c: &mut Criterion) {
    let cfg = ScoringConfig::default();
    let s = Settings::of(&cfg);
    let draws = Draws::new(&cfg);
    let egger_min = cfg.certainty.egger_min_studies as usize;
    let mut g = c.benchmark_group("cell");
    g.sample_size(10);
    for k in [60usize, 600] {
        let studies = cell_of(k);
        let cell = CellStudies { local: studies.iter().collect(), borrowable: Vec::new() };
        let n = cell.n_studies();
        g.throughput(Throughput::Elements(n as u64));
        let a = cell.analyse(None, &[], &s, egger_min);
        let Some(verdict) = a.decide(&s).and_then(|d| d.category()) else {
            continue;
        };
        g.bench_function(BenchmarkId::new("analyse", n), |b| {
            b.iter(|| black_box(cell.analyse(None, &[], &s, egger_min)))
        });
        g.bench_function(BenchmarkId::new("robustness_draws", n), |b| {
            b.iter(|| black_box(robust::robustness(&a, verdict, &s, &draws)))
        });
        g.bench_function(BenchmarkId::new("leave_one_out", n), |b| {
            b.iter(|| black_box(robust::leave_one_out(&cell, &a, verdict, &s, egger_min)))
        });
        g.bench_function(BenchmarkId::new("flip", n), |b| {
            b.iter(|| black_box(robust::flip(&cell, &a, None, &s, cfg.robustness.max_added, egger_min)))
        });
    }
    g.finish();
}

fn bench_reml(c: &mut Criterion) {
    let mut g = c.benchmark_group("reml");
    for k in [5usize, 50, 500] {
        let mut rng = synth::Rng::new(k as u64);
        let v: Vec<f64> = (0..k).map(|_| 0.01 + 0.2 * rng.f64()).collect();
        let y: Vec<f64> = v.iter().map(|vi| 0.3 + (vi + 0.05).sqrt() * rng.normal()).collect();
        g.throughput(Throughput::Elements(k as u64));
        g.bench_with_input(BenchmarkId::from_parameter(k), &(y, v), |b, (y, v)| {
            b.iter(|| black_box(meta::fit(y, v, &FitOptions::default()).unwrap()))
        });
    }
    g.finish();
}

fn bench_rank(c: &mut Criterion) {
    let cfg = ScoringConfig::default();
    let recs = records(100_000);
    let q = RankQuery {
        target_group: TargetGroup::new("adolescent girls").unwrap(),
        income_setting: IncomeSetting::Lic,
        strategy: None,
        top: None,
    };
    let mut g = c.benchmark_group("rank");
    g.sample_size(10);
    g.bench_function("adolescent_girls_lic_100k", |b| {
        b.iter(|| black_box(score::rank::rank(&recs, &q, &cfg).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench_score, bench_robustness, bench_ingest, bench_cell_stages, bench_reml, bench_rank);
criterion_main!(benches);

/// The binary's allocator, so the numbers are the ones users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

//! Stage timings of the streaming `score` path on a file (diagnostics only):
//! `cargo run --release --example profile_score -- FILE [REPEATS]`
//! (make FILE with `evidex generate --rows 1000000 --out g.parquet`).
use evidex::ingest::IngestOptions;
use evidex::score::stream;
use evidex::score::{self, GroupKey, ScoringConfig};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: profile_score FILE [REPEATS]");
        std::process::exit(2);
    };
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let cfg = ScoringConfig::default();
    let keys = GroupKey::DEFAULT;
    for _ in 0..repeats {
        let t = Instant::now();
        let st = stream::read_facts(&[file.clone().into()], &IngestOptions::default(), &keys, &cfg).unwrap();
        let read = t.elapsed();
        let t = Instant::now();
        let res = score::score_facts(&st.facts, &keys, &cfg, false);
        eprintln!(
            "read+facts {:?}, score {:?} ({} facts, {} studies, {} cells)",
            read,
            t.elapsed(),
            st.facts.n_facts,
            st.facts.n_studies(),
            res.cells.len()
        );
    }
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

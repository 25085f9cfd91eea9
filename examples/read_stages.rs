//! Where reading time goes (diagnostics only): the same file through a
//! worker that does nothing, one that applies the row rules, and the
//! scoring facts. `cargo run --release --example read_stages -- FILE`
use evidex::ingest::read::{read_files, RowWorker, Sink};
use evidex::ingest::row::{read_row, Fields, Memo, RowContext};
use evidex::ingest::{IngestOptions, RowError};
use std::time::Instant;

struct Nothing;
struct NothingW;
impl RowWorker for NothingW {
    type Out = ();
    fn row<F: Fields>(&mut self, _: &RowContext<'_>, _: &F) -> Result<Option<String>, RowError> {
        Ok(None)
    }
    fn finish(self) {}
}
impl Sink for Nothing {
    type Out = ();
    type Worker<'w> = NothingW;
    fn worker(&self, _: usize) -> NothingW {
        NothingW
    }
    fn absorb(&mut self, _: ()) {}
    fn restart(&mut self) {}
}

struct Rules;
struct RulesW(Memo, u64);
impl RowWorker for RulesW {
    type Out = u64;
    fn row<F: Fields>(&mut self, ctx: &RowContext<'_>, f: &F) -> Result<Option<String>, RowError> {
        let v = read_row(ctx, f, &mut self.0)?;
        self.1 += v.line;
        Ok(None)
    }
    fn finish(self) -> u64 {
        self.1
    }
}
impl Sink for Rules {
    type Out = u64;
    type Worker<'w> = RulesW;
    fn worker(&self, _: usize) -> RulesW {
        RulesW(Memo::new(), 0)
    }
    fn absorb(&mut self, _: u64) {}
    fn restart(&mut self) {}
}

fn main() {
    let file: std::path::PathBuf = std::env::args().nth(1).expect("FILE").into();
    let only_facts = std::env::args().nth(2).as_deref() == Some("facts");
    let o = IngestOptions::default();
    let paths = [file];
    for _ in 0..2 {
        if only_facts {
            let t = Instant::now();
            let cfg = evidex::score::ScoringConfig::default();
            evidex::score::stream::read_facts(&paths, &o, &evidex::score::GroupKey::DEFAULT, &cfg).unwrap();
            eprintln!("facts {:?}", t.elapsed());
            continue;
        }
        let t = Instant::now();
        read_files(&paths, &o, None, &mut Nothing).unwrap();
        let a = t.elapsed();
        let t = Instant::now();
        read_files(&paths, &o, None, &mut Rules).unwrap();
        let b = t.elapsed();
        let t = Instant::now();
        let cfg = evidex::score::ScoringConfig::default();
        evidex::score::stream::read_facts(&paths, &o, &evidex::score::GroupKey::DEFAULT, &cfg).unwrap();
        let c = t.elapsed();
        eprintln!("split only {a:?}, + row rules {b:?}, facts {c:?}");
    }
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

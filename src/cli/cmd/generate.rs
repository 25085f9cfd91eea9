//! `evidex generate`: a synthetic evidence table for benchmarks and tests.

use crate::cli::args::GenerateArgs;
use crate::cli::io::{guard, Out};
use crate::cli::EXIT_OK;
use anyhow::Context;
use evidex::report;
use evidex::report::output::{self, OutputKind, Target};

pub fn run(a: GenerateArgs) -> anyhow::Result<i32> {
    if !(0.0..=1.0).contains(&a.effect_share) {
        anyhow::bail!("--effect-share must be between 0 and 1, got {}", a.effect_share);
    }
    let main = Out::plan("--out", Some(&a.out), None, &[OutputKind::Csv, OutputKind::Parquet], OutputKind::Csv)?;
    guard(&[], &[&main])?;
    let o = evidex::synth::GenOptions {
        rows: a.rows,
        seed: a.seed,
        interventions: a.interventions,
        effect_share: a.effect_share,
    };
    let pb = crate::cli::progress::spinner(&format!("generating {} records", a.rows));
    let parquet = |w: &mut dyn std::io::Write| {
        evidex::synth::write_parquet(&o, w).map_err(|e| std::io::Error::other(format!("cannot build Parquet: {e}")))
    };
    let written = match (&main.target, main.kind) {
        (Target::Stdout, OutputKind::Csv) => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            evidex::synth::to_csv(&o, &mut w).and_then(|()| std::io::Write::flush(&mut w)).map(|()| None)
        }
        (Target::Stdout, _) => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            parquet(&mut w).and_then(|()| std::io::Write::flush(&mut w)).map(|()| None)
        }
        // Streamed to a temporary file, renamed when complete.
        (Target::File(p), OutputKind::Csv) => {
            report::write_atomic_with(p, |w| evidex::synth::to_csv(&o, w)).map(|()| Some(p))
        }
        (Target::File(p), _) => report::write_atomic_with(p, |w| parquet(w)).map(|()| Some(p)),
    };
    pb.finish_and_clear();
    let written = written.with_context(|| format!("cannot write {}", a.out.display()))?;
    if let Some(p) = written.filter(|_| !crate::cli::progress::is_quiet()) {
        let size = std::fs::metadata(p).map(|m| output::human_size(m.len())).unwrap_or_default();
        eprintln!("evidex: wrote {} ({size}, {})", p.display(), output::count(a.rows, "record", "records"));
    }
    Ok(EXIT_OK)
}

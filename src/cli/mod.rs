//! Command-line interface: clap definitions (stage one), validated run
//! settings (stage two), and the wiring to library calls.
//!
//! Exit codes: 0 success; 1 findings (rejected rows in `validate`, a
//! regression in `check`); 2 usage or unusable input.

mod args;
mod cmd;
mod common;
mod io;
mod progress;

use clap::Parser;
use std::io::Write;

pub use args::Cli;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for findings: rejected rows, regressions.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code for usage errors and unusable input.
pub const EXIT_USAGE: i32 = 2;

/// Parse arguments, run, and map errors to exit codes. A panic inside a
/// file-format library, on a thread inside a guarded call
/// (`ingest::guard::guarded`), is reported as the file's error with the
/// panic's message (exit 2), not by the panic hook; every other panic is
/// printed as usual.
pub fn run() -> i32 {
    evidex::ingest::guard::install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    progress::set_quiet(cli.quiet);
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return EXIT_OK;
            }
            let _ = writeln!(std::io::stderr(), "evidex: {e:#}");
            EXIT_USAGE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Write to stdout; a closed pipe (`evidex ... | head`) surfaces as an error
/// that [`run`] turns into a quiet exit.
pub(crate) fn out(s: &str) -> anyhow::Result<()> {
    out_bytes(s.as_bytes())
}

/// [`out`] for bytes.
pub(crate) fn out_bytes(b: &[u8]) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(b)?;
    o.flush()?;
    Ok(())
}

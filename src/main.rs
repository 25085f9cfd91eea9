//! The `evidex` binary: argument parsing and wiring only; the work is in the
//! library.

mod cli;

/// mimalloc: much faster than glibc's allocator for the many small
/// allocations of ingest and scoring (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}

//! One integration-test target (one link step): the real binary on good and
//! bad files, and the numerical references.

mod check;
mod cli;
mod degenerate;
mod formats;
mod fuzz;
mod gates;
mod ingest_props;
mod layers;
mod meta_reference;
mod outputs;
mod perf_equiv;
mod records;
mod roundtrip;
mod scoring;
mod serve;
mod site;
mod stats_props;
pub mod tol;
mod util;
mod verdicts;
mod visual;

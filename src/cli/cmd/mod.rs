//! One file per command (as xsv does): its validation of the arguments,
//! its calls into the library and its output, nothing else. Shared pieces
//! live in `cli::common` (reading inputs) and `cli::io` (writing outputs).

mod check;
mod config;
mod explain;
mod forest;
mod gapmap;
mod generate;
mod meta;
mod rank;
mod report;
mod score;
mod serve;
mod validate;

use super::args::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Meta(a) => meta::run(a),
        Command::Score(a) => score::run(a),
        Command::Rank(a) => rank::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Config(a) => config::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Check(a) => check::run(a),
        Command::Gapmap(a) => gapmap::run(a),
        Command::Forest(a) => forest::run(a),
        Command::Report(a) => report::run(a),
        Command::Serve(a) => serve::run(a),
    }
}

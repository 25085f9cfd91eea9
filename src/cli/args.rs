//! Stage one: raw arguments as clap parses them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "evidex",
    version,
    about = "Score, rank and explain evidence on interventions against violence against children"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check evaluation records against the input contract; report every rejected row.
    Validate(ValidateArgs),
}

/// Options shared by every command that reads evaluation records.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input files (CSV, TSV, JSON Lines or Parquet; chosen by extension).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Column mapping file (TOML) mapping your headers and values onto the contract.
    #[arg(long, value_name = "TOML")]
    pub columns: Option<PathBuf>,
    /// Map one header onto a contract column, e.g. --map "Programme=intervention" (repeatable).
    #[arg(long = "map", value_name = "SOURCE=TARGET")]
    pub map: Vec<String>,
    /// Override the format chosen from the file extension.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
    /// Write every rejected row (file, line, column, value, reason, row verbatim) to this CSV.
    #[arg(long, value_name = "CSV")]
    pub rejects: Option<PathBuf>,
    /// Fail (exit 1, no output written) when any row is rejected.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputFormatArg {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
    /// Most rejected rows listed in text output.
    #[arg(long, default_value_t = 50)]
    pub max_errors: usize,
}

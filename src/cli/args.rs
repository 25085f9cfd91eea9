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
    /// Pool effect sizes (random-effects meta-analysis, agreeing with R's metafor).
    Meta(MetaArgs),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MeasureArg {
    #[value(name = "RR", alias = "rr")]
    Rr,
    #[value(name = "OR", alias = "or")]
    Or,
    #[value(name = "RD", alias = "rd")]
    Rd,
    #[value(name = "MD", alias = "md")]
    Md,
    #[value(name = "SMD", alias = "smd")]
    Smd,
    #[value(name = "GEN", alias = "gen")]
    Gen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    #[value(name = "EE", alias = "ee", alias = "FE", alias = "fe")]
    Ee,
    #[value(name = "DL", alias = "dl")]
    Dl,
    #[value(name = "HE", alias = "he")]
    He,
    #[value(name = "SJ", alias = "sj")]
    Sj,
    #[value(name = "ML", alias = "ml")]
    Ml,
    #[value(name = "REML", alias = "reml")]
    Reml,
    #[value(name = "PM", alias = "pm")]
    Pm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestArg {
    Z,
    Knha,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableCsvJson {
    Table,
    Csv,
    Json,
}

/// Meta-analysis options (shared by `meta` and `forest`).
#[derive(Debug, Args)]
pub struct MetaOpts {
    /// Effect measure (needed for 2x2 counts; SMD is the default for means/SDs).
    #[arg(long, value_enum)]
    pub measure: Option<MeasureArg>,
    /// tau^2 estimator.
    #[arg(long, value_enum, default_value = "REML")]
    pub method: MethodArg,
    /// Test for the pooled estimate: z, or Knapp-Hartung (t with k-1 df).
    #[arg(long, value_enum, default_value = "z")]
    pub test: TestArg,
    /// Subgroup columns (comma-separated): per-subgroup fits and the test for subgroup differences.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Cluster column for cluster-robust (CR1) inference, e.g. study_id; effects are then not aggregated.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Assumed correlation between effect sizes of one study when aggregating them.
    #[arg(long, default_value_t = 0.5)]
    pub rho: f64,
    /// Confidence level in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    /// Add a leave-one-out sensitivity table.
    #[arg(long)]
    pub leave_one_out: bool,
}

#[derive(Debug, Args)]
pub struct MetaArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub meta: MetaOpts,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableCsvJson,
    /// Write the result to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

//! Stage one: raw arguments as clap parses them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "evidex",
    version,
    about = "Score, rank and explain evidence on interventions against violence against children",
    after_help = "Exit codes: 0 success; 1 findings (rows rejected, or a regression in `check`); 2 usage error or unusable input.\nDocs: README.md, docs/input-format.md, docs/scoring.md, docs/meta-analysis.md, docs/ci.md."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress display on stderr (it only appears on a terminal anyway), no notes on the
    /// files written, and no data warnings on stderr (they stay in the run metadata).
    #[arg(long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check evaluation records against the input contract; report every rejected row.
    Validate(ValidateArgs),
    /// Score evidence per cell (default: intervention x target group x income setting).
    Score(ScoreArgs),
    /// Rank interventions for one target group in one income setting, borrowing evidence where thin.
    Rank(RankArgs),
    /// Explain one cell: every record with its weight, the category rule, certainty downgrades.
    Explain(ExplainArgs),
    /// Pool effect sizes (random-effects meta-analysis, agreeing with R's metafor).
    Meta(MetaArgs),
    /// Print the scoring configuration (--default: the documented defaults).
    Config(ConfigArgs),
    /// Write a synthetic evidence table (for benchmarks and tests).
    Generate(GenerateArgs),
    /// Compare results for regressions: two files, or a reference suite folder (suite.toml).
    Check(CheckArgs),
    /// Draw an evidence and gap map (interventions x target groups) as SVG or PNG.
    Gapmap(GapmapArgs),
    /// Draw a forest plot of a meta-analysis as SVG.
    Forest(ForestArgs),
    /// Write one self-contained HTML report (summary, gap map, ranked tables, explanations, forest plots).
    Report(ReportArgs),
    /// Serve the evidence portal and its JSON/CSV API on this machine (read-only; scores once at start-up).
    Serve(ServeArgs),
}

/// Options shared by every command that reads evaluation records.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input files (CSV, TSV, JSON Lines, Parquet, or an Excel/OpenDocument workbook; chosen by
    /// extension).
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
    /// The workbook sheet to read, by name or by position (1 = first); default: the first sheet
    /// that has the columns evidex needs.
    #[arg(long, value_name = "NAME|NUMBER")]
    pub sheet: Option<String>,
    /// Write every rejected row (file, line, column, value, reason, row verbatim) to this CSV
    /// (`-`: standard output).
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
    Xlsx,
    Xls,
    Ods,
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
    /// Output format (default: text, or from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<TextOrJson>,
    /// Write the report to this file (atomically; `-`: standard output). Default: standard
    /// output, or standard error when --accepted or --rejects is `-` (and no --format is given).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most rejected rows listed in text output.
    #[arg(long, default_value_t = 50)]
    pub max_errors: usize,
    /// Write the accepted records to this CSV (`-`: standard output): every contract column under
    /// its contract name (canonical values, derived income settings), every pass-through column,
    /// then file and line. Scoring it gives the verdicts of scoring the input.
    #[arg(long, value_name = "CSV")]
    pub accepted: Option<PathBuf>,
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
    /// Modified Knapp-Hartung (variance factor at least 1; metafor test = "adhoc").
    Adhoc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VcovArg {
    #[value(name = "CR1", alias = "cr1")]
    Cr1,
    #[value(name = "CR2", alias = "cr2")]
    Cr2,
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
    /// Test for the pooled estimate: z, Knapp-Hartung (t with k-1 df), or the modified
    /// Knapp-Hartung ("adhoc": variance factor at least 1).
    #[arg(long, value_enum, default_value = "z")]
    pub test: TestArg,
    /// Subgroup columns (comma-separated): per-subgroup fits and the test for subgroup differences.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Cluster column for cluster-robust inference, e.g. study_id (rows stay separate units).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Cluster-robust variance with --cluster: CR1 (metafor robust()) or CR2 with Satterthwaite
    /// degrees of freedom (clubSandwich).
    #[arg(long, value_enum, default_value = "CR1", requires = "cluster")]
    pub vcov: VcovArg,
    /// Merge rows that share a study label into one within-study composite (correlation --rho)
    /// before pooling; by default every row is its own unit, as in metafor.
    #[arg(long, conflicts_with = "cluster")]
    pub combine_within_study: bool,
    /// Assumed correlation between effect sizes of one study when combining them.
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
    /// Output format (default: table, or from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<TableCsvJson>,
    /// Write the result to this file (atomically; `-`: standard output); the format follows the extension.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Scoring-model options.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Scoring configuration (TOML); see `evidex config --default`.
    #[arg(long, value_name = "TOML")]
    pub config: Option<PathBuf>,
    /// Keep rows whose intervention is a placeholder name ("treatment", "control", "treatment and
    /// control", "literature", "experimental", "program", "-", "n/a", "unknown", ... and a mapping
    /// file's `placeholders`); by default they are left out and counted in a warning.
    #[arg(long)]
    pub keep_placeholders: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Group keys, comma-separated (intervention, target_group, income_setting, strategy, design, country, outcome).
    #[arg(long, value_delimiter = ',', default_value = "intervention,target_group,income_setting")]
    pub by: Vec<String>,
    /// Write to this file (atomically; `-`: standard output); the format follows the extension
    /// (.txt, .csv, .json, .parquet) unless --format says otherwise.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format (default: table on the terminal, else from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
}

#[derive(Debug, Args)]
pub struct RankArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Target group (same aliases and spelling tolerance as ingest).
    #[arg(long)]
    pub target_group: String,
    /// Income setting: LIC, LMC, UMC, HIC or an alias ("low income", "lower-middle income", ...;
    /// "LMIC" is refused as ambiguous).
    #[arg(long)]
    pub income_setting: String,
    /// Only interventions of this INSPIRE strategy.
    #[arg(long)]
    pub strategy: Option<String>,
    /// Show the first N.
    #[arg(long)]
    pub top: Option<usize>,
    /// Output format (default: readable text, or from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Write to this file (atomically; `-`: standard output); the format follows the extension.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Intervention, as spelled in the data (case and spaces do not matter).
    #[arg(long)]
    pub intervention: String,
    /// Target group (same aliases and spelling tolerance as ingest).
    #[arg(long)]
    pub target_group: String,
    /// Income setting: LIC, LMC, UMC, HIC or an alias.
    #[arg(long)]
    pub income_setting: String,
    /// Write the explanation to this file (atomically; `-`: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the documented default configuration.
    #[arg(long)]
    pub default: bool,
    /// Check a configuration file and print it with defaults filled in.
    #[arg(long, value_name = "TOML", conflicts_with = "default")]
    pub check: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of records.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Random seed: the same seed, rows and format give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of distinct interventions.
    #[arg(long, default_value_t = 200)]
    pub interventions: u32,
    /// Share of rows (of designs that report them) with an effect size and SE, 0 to 1.
    #[arg(long, default_value_t = 0.4)]
    pub effect_share: f64,
    /// Output file (.csv or .parquet; `-`: CSV on standard output).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A suite folder with suite.toml (omit when using --expected/--actual).
    #[arg(value_name = "SUITE_DIR", conflicts_with_all = ["expected", "actual"])]
    pub suite: Option<PathBuf>,
    /// Expected result file (CSV, JSON or Parquet).
    #[arg(long, requires = "actual")]
    pub expected: Option<PathBuf>,
    /// Actual result file (CSV, JSON or Parquet).
    #[arg(long, requires = "expected")]
    pub actual: Option<PathBuf>,
    /// Key columns matching rows (default: the group keys present).
    #[arg(long, value_delimiter = ',')]
    pub key: Option<Vec<String>>,
    /// Absolute tolerance for numeric columns.
    #[arg(long)]
    pub abs_tol: Option<f64>,
    /// Relative tolerance for numeric columns.
    #[arg(long)]
    pub rel_tol: Option<f64>,
    /// Rewrite the suite's expected files from this run (accept the changes) and show what changed.
    #[arg(long, requires = "suite")]
    pub update: bool,
    /// Report format: text, json (machine-readable), markdown (pull-request comment, job summary);
    /// default: text, or from the --out extension (.txt, .json, .md).
    #[arg(long, value_enum)]
    pub format: Option<CheckFormat>,
    /// Write the report to this file (atomically; `-`: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    Intervention,
    Strategy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    Svg,
    Png,
}

#[derive(Debug, Args)]
pub struct GapmapArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output file (.svg or .png; the format follows the extension; `-`: standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// One income setting, with evidence borrowed from other settings where a cell has too little
    /// (marked); default: one column per target group and income setting.
    #[arg(long)]
    pub income_setting: Option<String>,
    /// Draw the verdicts on one outcome domain (violence, behaviour, risk_factor, other) instead of
    /// the headline verdict.
    #[arg(long)]
    pub domain: Option<String>,
    /// Rows: interventions (grouped under their strategy) or the INSPIRE strategies.
    #[arg(long, value_enum, default_value = "intervention")]
    pub level: LevelArg,
    /// Image format (default: from the --out extension); PNG is rendered in pure Rust with bundled fonts.
    #[arg(long, value_enum)]
    pub format: Option<ImageFormat>,
}

#[derive(Debug, Args)]
pub struct ForestArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub meta: MetaOpts,
    /// Output file (.svg or .png; the format follows the extension; `-`: standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// Image format (default: from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<ImageFormat>,
    /// Plot title.
    #[arg(long)]
    pub title: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output HTML file (`-`: standard output).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// TCP port; 0 picks a free one. The first line on standard output is the URL, e.g.
    /// `listening on http://127.0.0.1:8080/`.
    #[arg(long, default_value_t = evidex::serve::DEFAULT_PORT)]
    pub port: u16,
    /// Address to listen on; anything but a loopback address needs --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_host)]
    pub host: std::net::IpAddr,
    /// Allow listening on a non-loopback address: the portal has no accounts, so everyone who can
    /// reach the port sees the data.
    #[arg(long)]
    pub allow_remote: bool,
    /// Re-read the inputs (data, mapping, configuration) when they change; a failed re-read keeps
    /// the data shown and reports the error on /data.
    #[arg(long)]
    pub watch: bool,
}

/// An IP address, or `localhost` (127.0.0.1).
fn parse_host(s: &str) -> Result<std::net::IpAddr, String> {
    if s.eq_ignore_ascii_case("localhost") {
        return Ok(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    }
    s.parse().map_err(|_| format!("'{s}' is not an IP address (e.g. 127.0.0.1, ::1, or localhost)"))
}

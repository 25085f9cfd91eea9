//! What the commands that read evaluation records share: ingest options,
//! reading with rejects and `--strict`, data warnings on stderr, the scoring
//! configuration, query values and meta-analysis options (stage two).

use crate::cli::args::{InputArgs, InputFormatArg, MeasureArg, MetaOpts, MethodArg, ModelArgs, TestArg, VcovArg};
use crate::cli::io::{guard, Out};
use crate::cli::{EXIT_OK, EXIT_USAGE};
use evidex::ingest::{self, ColumnMapping, Contract, IngestOptions, Ingested, InputFormat};
use evidex::meta::{self, FitOptions, Measure, MetaOptions, Method, TestKind};
use evidex::model::{IncomeSetting, TargetGroup};
use evidex::report::output::{self, OutputKind};
use evidex::report::validate as rv;
use evidex::score::ScoringConfig;
use std::path::{Path, PathBuf};

/// Build ingest options from the arguments (mapping loaded and checked
/// before any input file is opened).
pub fn ingest_options(a: &InputArgs, contract: Contract, keep_placeholders: bool) -> anyhow::Result<IngestOptions> {
    let mut mapping = match &a.columns {
        Some(p) => ColumnMapping::load(p)?,
        None => ColumnMapping::default(),
    };
    for pair in &a.map {
        mapping.add_pair(pair)?;
    }
    let format = a.input_format.map(|f| match f {
        InputFormatArg::Csv => InputFormat::Csv,
        InputFormatArg::Tsv => InputFormat::Tsv,
        InputFormatArg::Jsonl => InputFormat::Jsonl,
        InputFormatArg::Parquet => InputFormat::Parquet,
        InputFormatArg::Xlsx => InputFormat::Xlsx,
        InputFormatArg::Xls => InputFormat::Xls,
        InputFormatArg::Ods => InputFormat::Ods,
    });
    let sheet = a.sheet.as_deref().map(ingest::SheetChoice::parse);
    Ok(IngestOptions { mapping, format, contract, sheet, keep_placeholders, check_every_row: false })
}

/// The files an input option set reads: data files and the mapping.
pub fn input_paths(a: &InputArgs) -> Vec<&Path> {
    let mut v: Vec<&Path> = a.files.iter().map(PathBuf::as_path).collect();
    v.extend(a.columns.as_deref());
    v
}

/// The inputs of a scoring command: data files, mapping and configuration.
pub fn model_inputs<'a>(input: &'a InputArgs, model: &'a ModelArgs) -> Vec<&'a Path> {
    let mut v = input_paths(input);
    v.extend(model.config.as_deref());
    v
}

/// Plan `--rejects` and check it and the main output against `inputs`:
/// returns the rejects output.
pub fn guard_run(inputs: &[&Path], main: &Out, input: &InputArgs) -> anyhow::Result<Option<Out>> {
    let rejects = rejects_out(input)?;
    guard(inputs, &[Some(main), rejects.as_ref()].into_iter().flatten().collect::<Vec<_>>())?;
    Ok(rejects)
}

/// The planned `--rejects` output (always CSV).
pub fn rejects_out(a: &InputArgs) -> anyhow::Result<Option<Out>> {
    a.rejects.as_deref().map(|p| Out::plan("--rejects", Some(p), None, &[OutputKind::Csv], OutputKind::Csv)).transpose()
}

/// Read inputs and write the rejects file when asked.
pub fn read_inputs(
    a: &InputArgs,
    contract: Contract,
    keep_placeholders: bool,
    rejects: Option<&Out>,
) -> anyhow::Result<Ingested> {
    let opts = ingest_options(a, contract, keep_placeholders)?;
    let pb = crate::cli::progress::spinner(&format!("reading {} file(s)", a.files.len()));
    let ing = ingest::ingest(&a.files, &opts);
    pb.finish_and_clear();
    let ing = ing?;
    write_rejects(rejects, &ing)?;
    Ok(ing)
}

pub fn write_rejects(rejects: Option<&Out>, ing: &Ingested) -> anyhow::Result<()> {
    if let Some(o) = rejects {
        o.write(
            rv::rejects_csv(ing).as_bytes(),
            &output::count(ing.rejected_count(), "rejected row", "rejected rows"),
        )?;
    }
    Ok(())
}

/// Read inputs, report rejections on stderr, and apply `--strict`: `None`
/// means rows were rejected under `--strict` (exit 1, nothing written).
pub fn read_checked(
    a: &InputArgs,
    contract: Contract,
    keep_placeholders: bool,
    rejects: Option<&Out>,
) -> anyhow::Result<Option<Ingested>> {
    let ing = read_inputs(a, contract, keep_placeholders, rejects)?;
    report_rejections(&ing);
    Ok((!a.strict || ing.rejected.is_empty()).then_some(ing))
}

/// Most data warnings printed on stderr by the commands that show verdicts
/// (all of them are in the run metadata; `validate` lists them all).
pub const WARNINGS_SHOWN: usize = 20;

/// The data warnings `validate` prints, on stderr (unless `--quiet`), for
/// the commands that show verdicts.
pub fn report_warnings(ing: &Ingested) {
    if ing.warnings.is_empty() || crate::cli::progress::is_quiet() {
        return;
    }
    eprintln!("evidex: {}:", output::count(ing.warnings.len() as u64, "warning on the data", "warnings on the data"));
    for w in ing.warnings.iter().take(WARNINGS_SHOWN) {
        eprintln!("  {w}");
    }
    if ing.warnings.len() > WARNINGS_SHOWN {
        eprintln!(
            "  ... and {} more (all in the run metadata; `evidex validate` lists them too)",
            ing.warnings.len() - WARNINGS_SHOWN
        );
    }
}

pub fn report_rejections(ing: &Ingested) {
    if ing.rejected.is_empty() {
        return;
    }
    eprintln!(
        "evidex: {} of {} rows rejected (use `evidex validate` or --rejects FILE for all):",
        ing.rejected.len(),
        ing.rows_read()
    );
    for e in ing.rejected.iter().take(5) {
        eprintln!("  {e}");
    }
}

pub fn load_config(m: &ModelArgs) -> anyhow::Result<ScoringConfig> {
    Ok(match &m.config {
        Some(p) => ScoringConfig::load(p)?,
        None => ScoringConfig::default(),
    })
}

pub fn parse_income(s: &str) -> anyhow::Result<IncomeSetting> {
    IncomeSetting::parse(s).map_err(|e| anyhow::anyhow!("--income-setting: {e}"))
}

pub fn parse_group(s: &str) -> anyhow::Result<TargetGroup> {
    TargetGroup::new(s).ok_or_else(|| anyhow::anyhow!("--target-group is empty"))
}

/// Stage two for meta options.
pub fn meta_options(m: &MetaOpts) -> anyhow::Result<MetaOptions> {
    if !(m.level > 0.0 && m.level < 100.0) {
        anyhow::bail!("--level must be between 0 and 100 (percent), got {}", m.level);
    }
    if !(-1.0..=1.0).contains(&m.rho) {
        anyhow::bail!("--rho is a correlation and must be between -1 and 1, got {}", m.rho);
    }
    let measure = m.measure.map(|x| match x {
        MeasureArg::Rr => Measure::RR,
        MeasureArg::Or => Measure::OR,
        MeasureArg::Rd => Measure::RD,
        MeasureArg::Md => Measure::MD,
        MeasureArg::Smd => Measure::SMD,
        MeasureArg::Gen => Measure::GEN,
    });
    let method = match m.method {
        MethodArg::Ee => Method::EE,
        MethodArg::Dl => Method::DL,
        MethodArg::He => Method::HE,
        MethodArg::Sj => Method::SJ,
        MethodArg::Ml => Method::ML,
        MethodArg::Reml => Method::REML,
        MethodArg::Pm => Method::PM,
    };
    let test = match m.test {
        TestArg::Z => TestKind::Z,
        TestArg::Knha => TestKind::Knha,
        TestArg::Adhoc => TestKind::Adhoc,
    };
    Ok(MetaOptions {
        measure,
        fit: FitOptions { method, test, level: m.level / 100.0, ..FitOptions::default() },
        by: m.by.clone(),
        cluster: m.cluster.clone(),
        vcov: match m.vcov {
            VcovArg::Cr1 => meta::Vcov::CR1,
            VcovArg::Cr2 => meta::Vcov::CR2,
        },
        combine_within_study: m.combine_within_study,
        rho: m.rho,
        leave_one_out: m.leave_one_out,
    })
}

/// Exit 2, with the reason on stderr, when the overall model could not be
/// fitted (the output written says so too); else 0.
pub fn no_fit_exit(rep: &meta::MetaReport) -> i32 {
    match (&rep.overall.fit, &rep.overall.error) {
        (None, reason) => {
            eprintln!("evidex: no fit: {}", reason.as_deref().unwrap_or("unknown reason"));
            EXIT_USAGE
        }
        _ => EXIT_OK,
    }
}

pub fn data_note(ing: &Ingested) -> String {
    let files: Vec<String> = ing.files.iter().map(|f| format!("{} (sha256 {})", f.path, &f.sha256[..12])).collect();
    format!("data: {}; {} records accepted, {} rejected", files.join(", "), ing.accepted(), ing.rejected_count())
}

//! Stage two and wiring: validated settings, library calls, rendering.

use super::args::{
    Cli, Command, InputArgs, InputFormatArg, MeasureArg, MetaArgs, MetaOpts, MethodArg, TableCsvJson, TestArg,
    TextOrJson, ValidateArgs,
};
use super::{out, EXIT_FINDINGS, EXIT_OK};
use anyhow::Context;
use evidex::ingest::{self, ColumnMapping, Contract, IngestOptions, Ingested, InputFormat};
use evidex::meta::{self, FitOptions, Measure, MetaOptions, Method, TestKind};
use evidex::report::{self, meta as rm, validate as rv};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate(a) => validate(a),
        Command::Meta(a) => meta(a),
    }
}

/// Build ingest options from the arguments (mapping loaded and checked
/// before any input file is opened).
pub fn ingest_options(a: &InputArgs, contract: Contract) -> anyhow::Result<IngestOptions> {
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
    });
    Ok(IngestOptions { mapping, format, contract })
}

/// Read inputs and write the rejects file when asked.
pub fn read_inputs(a: &InputArgs, contract: Contract) -> anyhow::Result<Ingested> {
    let opts = ingest_options(a, contract)?;
    let ing = ingest::ingest(&a.files, &opts)?;
    if let Some(p) = &a.rejects {
        report::write_atomic(p, rv::rejects_csv(&ing).as_bytes())
            .with_context(|| format!("cannot write rejects file {}", p.display()))?;
    }
    Ok(ing)
}

fn validate(a: ValidateArgs) -> anyhow::Result<i32> {
    let ing = read_inputs(&a.input, Contract::Scoring)?;
    match a.format {
        TextOrJson::Json => out(&rv::validate_json(&ing))?,
        TextOrJson::Text => out(&rv::validate_text(&ing, a.max_errors))?,
    }
    Ok(if ing.rejected.is_empty() { EXIT_OK } else { EXIT_FINDINGS })
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
    };
    Ok(MetaOptions {
        measure,
        fit: FitOptions { method, test, level: m.level / 100.0, ..FitOptions::default() },
        by: m.by.clone(),
        cluster: m.cluster.clone(),
        rho: m.rho,
        leave_one_out: m.leave_one_out,
    })
}

/// Write to `--out` atomically, or to stdout.
pub fn emit(out_path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match out_path {
        Some(p) => report::write_atomic(p, text.as_bytes()).with_context(|| format!("cannot write {}", p.display())),
        None => out(text),
    }
}

fn report_rejections(ing: &Ingested) {
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

fn meta(a: MetaArgs) -> anyhow::Result<i32> {
    let opts = meta_options(&a.meta)?;
    let ing = read_inputs(&a.input, Contract::Effects)?;
    report_rejections(&ing);
    if a.input.strict && !ing.rejected.is_empty() {
        return Ok(EXIT_FINDINGS);
    }
    let rep = meta::run_meta(&ing.effect_rows, &opts)?;
    let files: Vec<String> = ing.files.iter().map(|f| f.path.clone()).collect();
    let text = match a.format {
        TableCsvJson::Json => rm::meta_json(&rep, &files, None),
        TableCsvJson::Csv => rm::meta_csv(&rep, &files),
        TableCsvJson::Table => rm::meta_text(&rep, &files),
    };
    emit(a.out.as_deref(), &text)?;
    Ok(EXIT_OK)
}

//! Stage two and wiring: validated settings, library calls, rendering.

use super::args::{Cli, Command, InputArgs, InputFormatArg, TextOrJson, ValidateArgs};
use super::{out, EXIT_FINDINGS, EXIT_OK};
use anyhow::Context;
use evidex::ingest::{self, ColumnMapping, Contract, IngestOptions, Ingested, InputFormat};
use evidex::report::{self, validate as rv};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate(a) => validate(a),
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
    Ok(IngestOptions {
        mapping,
        format,
        contract,
    })
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
    Ok(if ing.rejected.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

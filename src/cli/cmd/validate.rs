//! `evidex validate`: check records against the input contract, list every rejected row.

use crate::cli::args::{TextOrJson, ValidateArgs};
use crate::cli::common::{ingest_options, input_paths, read_inputs, rejects_out};
use crate::cli::io::{guard, Out};
use crate::cli::{EXIT_FINDINGS, EXIT_OK};
use evidex::ingest::Contract;
use evidex::report::output::{self, OutputKind, Target};
use evidex::report::validate as rv;

pub fn run(a: ValidateArgs) -> anyhow::Result<i32> {
    let flag = a.format.map(|f| match f {
        TextOrJson::Text => OutputKind::Text,
        TextOrJson::Json => OutputKind::Json,
    });
    let accepted = a
        .accepted
        .as_deref()
        .map(|p| Out::plan("--accepted", Some(p), None, &[OutputKind::Csv], OutputKind::Csv))
        .transpose()?;
    let rejects = rejects_out(&a.input)?;
    // With `--accepted -` or `--rejects -` and neither --out nor --format,
    // the summary (for people) goes to standard error.
    let side_on_stdout = [&accepted, &rejects].into_iter().flatten().any(|o| o.target == Target::Stdout);
    let main = if side_on_stdout && a.out.is_none() && flag.is_none() {
        None
    } else {
        Some(Out::plan("--out", a.out.as_deref(), flag, &[OutputKind::Text, OutputKind::Json], OutputKind::Text)?)
    };
    let outs: Vec<&Out> = [main.as_ref(), accepted.as_ref(), rejects.as_ref()].into_iter().flatten().collect();
    guard(&input_paths(&a.input), &outs)?;
    // Validate checks rows: placeholder rows are accepted and noted.
    let ing = read_inputs(&a.input, Contract::Scoring, true, rejects.as_ref())?;
    if let Some(o) = &accepted {
        // The accepted file holds what scoring reads: rows naming a
        // placeholder (by the mapping's list too) are not written, so that
        // scoring the file gives the input's verdicts.
        let table = ingest_options(&a.input, Contract::Scoring, false)?.mapping.name_table();
        let keep = |r: &evidex::model::EvaluationRecord| {
            !table.is_placeholder(&evidex::model::intervention_key(&r.intervention))
        };
        let written = ing.records.iter().filter(|r| keep(r)).count();
        let mut what = output::count(written as u64, "accepted record", "accepted records");
        if written < ing.records.len() {
            what.push_str(&format!(
                "; {} naming a placeholder not written, as scoring leaves them out",
                output::count((ing.records.len() - written) as u64, "row", "rows")
            ));
        }
        o.write(rv::accepted_csv(&ing, keep).as_bytes(), &what)?;
    }
    match &main {
        Some(main) => {
            let text = match main.kind {
                OutputKind::Json => rv::validate_json(&ing),
                _ => rv::validate_text(&ing, a.max_errors),
            };
            main.write(text.as_bytes(), &output::count(ing.rows_read(), "row checked", "rows checked"))?;
        }
        None => eprint!("{}", rv::validate_text(&ing, a.max_errors)),
    }
    Ok(if ing.rejected.is_empty() { EXIT_OK } else { EXIT_FINDINGS })
}

//! `evidex meta`: random-effects meta-analysis of effect sizes.

use crate::cli::args::MetaArgs;
use crate::cli::common::{guard_run, input_paths, meta_options, no_fit_exit, read_checked};
use crate::cli::io::{table_kind, Out};
use crate::cli::EXIT_FINDINGS;
use evidex::ingest::Contract;
use evidex::meta;
use evidex::report::output::{self, OutputKind};
use evidex::report::{meta as rm, score as rs};

pub fn run(a: MetaArgs) -> anyhow::Result<i32> {
    let opts = meta_options(&a.meta)?;
    let main = Out::plan(
        "--out",
        a.out.as_deref(),
        a.format.map(table_kind),
        &[OutputKind::Text, OutputKind::Csv, OutputKind::Json],
        OutputKind::Text,
    )?;
    let rejects = guard_run(&input_paths(&a.input), &main, &a.input)?;
    let Some(ing) = read_checked(&a.input, Contract::Effects, false, rejects.as_ref())? else {
        return Ok(EXIT_FINDINGS);
    };
    let rep = meta::run_meta(&ing.effect_rows, &opts)?;
    let files: Vec<String> = ing.files.iter().map(|f| f.path.clone()).collect();
    let run = rs::run_metadata(&ing, None, &["group"]);
    let text = match main.kind {
        OutputKind::Json => rm::meta_json(&rep, &files, Some(run.clone())),
        OutputKind::Csv => rm::meta_csv(&rep),
        _ => rm::meta_text(&rep, &files),
    };
    let what = output::count(rep.overall.studies.len() as u64, "study pooled", "studies pooled");
    main.write(text.as_bytes(), &what)?;
    if let Some(side) = main.sidecar() {
        let mut m = serde_json::to_string_pretty(&run)?;
        m.push('\n');
        side.write(m.as_bytes(), "run metadata")?;
    }
    Ok(no_fit_exit(&rep))
}

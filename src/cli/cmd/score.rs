//! `evidex score`: verdicts per cell, streamed from the inputs (no records kept).

use crate::cli::args::ScoreArgs;
use crate::cli::common::{
    guard_run, ingest_options, load_config, model_inputs, report_rejections, report_warnings, write_rejects,
};
use crate::cli::io::{table_out, write_table};
use crate::cli::{EXIT_FINDINGS, EXIT_OK};
use evidex::ingest::{self, Contract};
use evidex::report::output;
use evidex::report::score as rs;
use evidex::score::{self, GroupKey};

pub fn run(a: ScoreArgs) -> anyhow::Result<i32> {
    let main = table_out(a.format, a.out.as_deref())?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let keys = parse_keys(&a.by)?;
    // Streaming: chunks of rows become compact facts; records are not kept.
    let opts = ingest_options(&a.input, Contract::Scoring, a.model.keep_placeholders)?;
    let pb = crate::cli::progress::spinner(&format!("reading {} file(s)", a.input.files.len()));
    let st = score::stream::read_facts(&a.input.files, &opts, &keys, &cfg);
    pb.finish_and_clear();
    let st = st?;
    let t0 = std::time::Instant::now();
    write_rejects(rejects.as_ref(), &st.ing)?;
    report_rejections(&st.ing);
    report_warnings(&st.ing);
    if a.input.strict && !st.ing.rejected.is_empty() {
        return Ok(EXIT_FINDINGS);
    }
    let pb = crate::cli::progress::spinner(&format!("scoring {} records", st.facts.n_facts));
    let res = score::score_facts(&st.facts, &keys, &cfg, false);
    pb.finish_and_clear();
    // The facts are not needed for writing: their memory goes to the output.
    let score::stream::Streamed { ing, facts } = st;
    drop(facts);
    ingest::timing("score", t0);
    let t = rs::score_table(&res);
    let key_names: Vec<&str> = keys.iter().map(|k| k.name()).collect();
    let what = output::count(res.cells.len() as u64, "cell", "cells");
    write_table(
        &t,
        || rs::score_text(&res),
        || rs::score_json_rows(&res),
        &main,
        &what,
        rs::run_metadata(&ing, Some(&cfg), &key_names),
    )?;
    Ok(EXIT_OK)
}

fn parse_keys(by: &[String]) -> anyhow::Result<Vec<GroupKey>> {
    let mut keys = Vec::new();
    for b in by {
        let k = GroupKey::parse(b)
            .ok_or_else(|| anyhow::anyhow!("--by: unknown key '{b}'; expected some of {}", GroupKey::NAMES))?;
        if keys.contains(&k) {
            anyhow::bail!("--by: key '{b}' given twice");
        }
        keys.push(k);
    }
    if keys.is_empty() {
        anyhow::bail!("--by needs at least one key ({})", GroupKey::NAMES);
    }
    Ok(keys)
}

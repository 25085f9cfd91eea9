//! `evidex gapmap`: the evidence and gap map as SVG or PNG.

use crate::cli::args::{GapmapArgs, LevelArg};
use crate::cli::common::{
    data_note, guard_run, load_config, model_inputs, parse_income, read_checked, report_warnings,
};
use crate::cli::io::{image_bytes, image_out};
use crate::cli::{EXIT_FINDINGS, EXIT_OK};
use evidex::ingest::Contract;
use evidex::report::output;

pub fn run(a: GapmapArgs) -> anyhow::Result<i32> {
    use evidex::report::gapmap as gm;
    let main = image_out(a.format, &a.out)?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let income = a.income_setting.as_deref().map(parse_income).transpose()?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring, a.model.keep_placeholders, rejects.as_ref())? else {
        return Ok(EXIT_FINDINGS);
    };
    report_warnings(&ing);
    let domain = a
        .domain
        .as_deref()
        .map(|d| evidex::model::OutcomeDomain::parse(d).map_err(|e| anyhow::anyhow!("--domain: {e}")))
        .transpose()?;
    let opts = gm::GapMapOptions {
        level: if a.level == LevelArg::Strategy { gm::Level::Strategy } else { gm::Level::Intervention },
        income_setting: income,
        domain,
        title: None,
        data_note: data_note(&ing),
    };
    let map = gm::build(&ing.records, &opts, &cfg);
    let rows: usize = map.groups.iter().map(|(_, r)| r.len()).sum();
    // Columns are target group x income setting unless one setting is drawn.
    let groups: std::collections::BTreeSet<&str> = map.heads.iter().map(|h| h.group.as_str()).collect();
    let columns = if map.columns.len() == groups.len() {
        String::new()
    } else {
        format!(" in {}", output::count(map.columns.len() as u64, "column", "columns"))
    };
    let what = format!(
        "{} x {}{columns}, {} with evidence",
        output::count(rows as u64, "row", "rows"),
        output::count(groups.len() as u64, "target group", "target groups"),
        output::count(map.cells.len() as u64, "cell", "cells")
    );
    main.write(&image_bytes(gm::render_svg(&map, &opts), main.kind)?, &what)?;
    Ok(EXIT_OK)
}

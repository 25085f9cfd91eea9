//! `evidex rank`: interventions for one target group in one income setting, in rank order.

use crate::cli::args::RankArgs;
use crate::cli::common::{
    guard_run, load_config, model_inputs, parse_group, parse_income, read_checked, report_warnings,
};
use crate::cli::io::{table_out, write_table};
use crate::cli::{EXIT_FINDINGS, EXIT_OK};
use evidex::ingest::Contract;
use evidex::model::Strategy;
use evidex::report::output;
use evidex::report::score as rs;
use evidex::score::{self, rank::RankQuery};

pub fn run(a: RankArgs) -> anyhow::Result<i32> {
    let main = table_out(a.format, a.out.as_deref())?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let income = parse_income(&a.income_setting)?;
    let tg = parse_group(&a.target_group)?;
    let strategy = a
        .strategy
        .as_deref()
        .map(|s| Strategy::parse(s).map_err(|e| anyhow::anyhow!("--strategy: {e}")))
        .transpose()?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring, a.model.keep_placeholders, rejects.as_ref())? else {
        return Ok(EXIT_FINDINGS);
    };
    report_warnings(&ing);
    let q = RankQuery { target_group: tg, income_setting: income, strategy, top: a.top };
    let res = score::rank::rank(&ing.records, &q, &cfg)?;
    let t = rs::rank_table(&res);
    let what = output::count(res.rows.len() as u64, "intervention", "interventions");
    write_table(
        &t,
        || rs::rank_text(&res, &cfg),
        || rs::rank_json_rows(&res),
        &main,
        &what,
        rs::run_metadata(&ing, Some(&cfg), &["intervention"]),
    )?;
    Ok(EXIT_OK)
}

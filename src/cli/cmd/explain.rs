//! `evidex explain`: one cell with every record, its weight and the rules applied.

use crate::cli::args::ExplainArgs;
use crate::cli::common::{
    guard_run, ingest_options, load_config, model_inputs, parse_group, parse_income, read_inputs, report_rejections,
    report_warnings,
};
use crate::cli::io::Out;
use crate::cli::EXIT_OK;
use evidex::ingest::Contract;
use evidex::report::output::{self, OutputKind};
use evidex::report::score as rs;
use evidex::score::{self, rank::RankQuery};

pub fn run(a: ExplainArgs) -> anyhow::Result<i32> {
    let main = Out::plan("--out", a.out.as_deref(), None, &[OutputKind::Text], OutputKind::Text)?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let income = parse_income(&a.income_setting)?;
    let tg = parse_group(&a.target_group)?;
    let ing = read_inputs(&a.input, Contract::Scoring, a.model.keep_placeholders, rejects.as_ref())?;
    report_rejections(&ing);
    report_warnings(&ing);
    // Asked as the data or the mapping's [names] spell it: a variant means
    // its canonical name.
    let table = ingest_options(&a.input, Contract::Scoring, false)?.mapping.name_table();
    let key = evidex::model::intervention_key(&a.intervention);
    let wanted = match table.alias_of.get(&key) {
        Some(&i) => evidex::model::intervention_key(&table.canonical[i as usize]),
        None => key.clone(),
    };
    let interventions: std::collections::BTreeSet<&str> = ing.records.iter().map(|r| r.intervention.as_str()).collect();
    let Some(name) = interventions.iter().find(|i| evidex::model::intervention_key(i) == wanted) else {
        if !a.model.keep_placeholders && table.is_placeholder(&key) {
            anyhow::bail!(
                "intervention '{}' is a placeholder name, not a programme: rows naming it are left out ({} left out in all); \
                 give --keep-placeholders to explain them anyway",
                a.intervention,
                output::count(ing.left_out(), "row", "rows")
            );
        }
        let list: Vec<&str> = interventions.iter().copied().collect();
        let hint = evidex::model::did_you_mean(&a.intervention, &list)
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default();
        anyhow::bail!(
            "intervention '{}' is not in the data{hint}; interventions present: {}",
            a.intervention,
            list.join(", ")
        );
    };
    let q = RankQuery { target_group: tg, income_setting: income, strategy: None, top: None };
    let res = score::rank::rank(&ing.records, &q, &cfg)?;
    let Some(row) = res.rows.iter().find(|r| r.intervention == *name) else {
        anyhow::bail!("'{name}' has no evidence for {} in any income setting", res.target_group);
    };
    let recs: Vec<&evidex::model::EvaluationRecord> = ing
        .records
        .iter()
        .filter(|r| {
            r.intervention == *name && r.target_group.key() == evidex::model::normalise_label(&res.target_group)
        })
        .collect();
    let files: Vec<String> = ing.files.iter().map(|f| f.path.clone()).collect();
    let text = rs::explain_text(&row.cell, &recs, &cfg, res.reference_year, &files);
    main.write(text.as_bytes(), &output::count(recs.len() as u64, "record explained", "records explained"))?;
    Ok(EXIT_OK)
}

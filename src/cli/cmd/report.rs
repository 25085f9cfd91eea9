//! `evidex report`: one self-contained HTML report.

use crate::cli::args::ReportArgs;
use crate::cli::common::{guard_run, load_config, model_inputs, read_checked, report_warnings};
use crate::cli::io::Out;
use crate::cli::{EXIT_FINDINGS, EXIT_OK};
use evidex::ingest::Contract;
use evidex::report::output::{self, OutputKind};
use evidex::report::site::{pages, Provenance, Site};

pub fn run(a: ReportArgs) -> anyhow::Result<i32> {
    let main = Out::plan("--out", Some(&a.out), None, &[OutputKind::Html], OutputKind::Html)?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring, a.model.keep_placeholders, rejects.as_ref())? else {
        return Ok(EXIT_FINDINGS);
    };
    report_warnings(&ing);
    let what = format!(
        "{} from {}",
        output::count(ing.accepted(), "record", "records"),
        output::count(ing.files.len() as u64, "file", "files")
    );
    // No load time: the same inputs give the same bytes.
    let site = Site::build(ing, cfg, Provenance { loaded_at: None, reload_error: None });
    let html = pages::static_report(&site);
    main.write(html.as_bytes(), &what)?;
    Ok(EXIT_OK)
}

//! `evidex forest`: a forest plot of a meta-analysis as SVG or PNG.

use crate::cli::args::ForestArgs;
use crate::cli::common::{guard_run, input_paths, meta_options, no_fit_exit, read_checked};
use crate::cli::io::{image_bytes, image_out};
use crate::cli::EXIT_FINDINGS;
use evidex::ingest::Contract;
use evidex::meta;
use evidex::report::output;

pub fn run(a: ForestArgs) -> anyhow::Result<i32> {
    let opts = meta_options(&a.meta)?;
    let main = image_out(a.format, &a.out)?;
    let rejects = guard_run(&input_paths(&a.input), &main, &a.input)?;
    let Some(ing) = read_checked(&a.input, Contract::Effects, false, rejects.as_ref())? else {
        return Ok(EXIT_FINDINGS);
    };
    let rep = meta::run_meta(&ing.effect_rows, &opts)?;
    let title =
        a.title.clone().unwrap_or_else(|| ing.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>().join(", "));
    let svg = evidex::report::forest::render_svg(&rep.overall, rep.measure, &title);
    let what = output::count(rep.overall.studies.len() as u64, "study", "studies");
    main.write(&image_bytes(svg, main.kind)?, &what)?;
    Ok(no_fit_exit(&rep))
}

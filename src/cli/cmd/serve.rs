//! `evidex serve`: read, validate and score once, then serve the portal
//! (`evidex::serve`); with `--watch`, read again whenever the inputs change.

use crate::cli::args::ServeArgs;
use crate::cli::common::{
    ingest_options, load_config, model_inputs, read_inputs, rejects_out, report_rejections, report_warnings,
};
use crate::cli::io::guard;
use crate::cli::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use evidex::ingest::Contract;
use evidex::report::output::Target;
use evidex::report::site::{Provenance, Site};
use evidex::serve::{self, ServeOptions};
use std::io::Write;
use std::net::SocketAddr;

pub fn run(a: ServeArgs) -> anyhow::Result<i32> {
    if !a.host.is_loopback() && !a.allow_remote {
        eprintln!(
            "evidex: --host {}: not a loopback address; the portal has no accounts, so give --allow-remote to let \
             other machines reach it",
            a.host
        );
        return Ok(EXIT_USAGE);
    }
    let rejects = rejects_out(&a.input)?;
    if rejects.as_ref().is_some_and(|o| o.target == Target::Stdout) {
        anyhow::bail!("--rejects -: standard output carries the server's address; give --rejects FILE");
    }
    let inputs = model_inputs(&a.input, &a.model);
    guard(&inputs, &rejects.iter().collect::<Vec<_>>())?;
    ingest_options(&a.input, Contract::Scoring, a.model.keep_placeholders)?;
    let watched: Vec<std::path::PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
    // Before the first read: a change while it runs is seen by the watch.
    let seen = serve::fingerprint(&watched);
    let site = match load(&a, rejects.as_ref(), true) {
        Ok(site) => site,
        Err(e) if e.is::<StrictRejections>() => {
            eprintln!("evidex: {e}; nothing served");
            return Ok(EXIT_FINDINGS);
        }
        Err(e) => return Err(e),
    };
    let addr = SocketAddr::new(a.host, a.port);
    let allow_remote = a.allow_remote;
    let watch = a.watch.then(|| {
        let loader: serve::Loader = Box::new(move || load(&a, rejects.as_ref(), false).map_err(|e| format!("{e:#}")));
        serve::Watch { files: watched, loader, seen }
    });
    serve::run(site, ServeOptions { addr, allow_remote, watch }, |bound| {
        // The first line on standard output, for people and for scripts.
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "listening on http://{bound}/");
        let _ = o.flush();
    })?;
    Ok(EXIT_OK)
}

/// Read, validate and score the inputs (configuration and mapping too);
/// under `--strict` a rejected row is an error. `notes`: rejections and
/// warnings on stderr.
fn load(a: &ServeArgs, rejects: Option<&crate::cli::io::Out>, notes: bool) -> anyhow::Result<Site> {
    let cfg = load_config(&a.model)?;
    let ing = read_inputs(&a.input, Contract::Scoring, a.model.keep_placeholders, rejects)?;
    if notes {
        report_rejections(&ing);
        report_warnings(&ing);
    }
    if a.input.strict && !ing.rejected.is_empty() {
        return Err(StrictRejections(ing.rejected.len()).into());
    }
    let provenance = Provenance { loaded_at: Some(evidex::serve::state::now_rfc3339()), reload_error: None };
    Ok(Site::build(ing, cfg, provenance))
}

/// `--strict` and rows were rejected: exit 1 at start-up, an error shown on
/// /data on a re-read.
#[derive(Debug, thiserror::Error)]
#[error("{0} rows rejected under --strict")]
struct StrictRejections(usize);

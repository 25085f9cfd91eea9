//! `evidex check`: compare results for regressions (two files or a suite folder).

use crate::cli::args::{CheckArgs, CheckFormat};
use crate::cli::io::{guard, sidecar, Out};
use crate::cli::{EXIT_FINDINGS, EXIT_OK};
use anyhow::Context;
use evidex::report;
use evidex::report::output::{self, OutputKind, Target};
use std::path::{Path, PathBuf};

pub fn run(a: CheckArgs) -> anyhow::Result<i32> {
    use evidex::check::{self, CompareOptions, Tolerance};
    use evidex::report::check as rc;
    let flag = a.format.map(|f| match f {
        CheckFormat::Text => OutputKind::Text,
        CheckFormat::Json => OutputKind::Json,
        CheckFormat::Markdown => OutputKind::Markdown,
    });
    let main = Out::plan(
        "--out",
        a.out.as_deref(),
        flag,
        &[OutputKind::Text, OutputKind::Json, OutputKind::Markdown],
        OutputKind::Text,
    )?;
    let compared: Vec<&Path> = [a.expected.as_deref(), a.actual.as_deref()].into_iter().flatten().collect();
    guard(&compared, &[&main])?;
    let base = Tolerance::default();
    let cli_tol = |t: Tolerance| Tolerance { abs: a.abs_tol.unwrap_or(t.abs), rel: a.rel_tol.unwrap_or(t.rel) };
    for (name, v) in [("--abs-tol", a.abs_tol), ("--rel-tol", a.rel_tol)] {
        if v.is_some_and(|x| !(x >= 0.0 && x.is_finite())) {
            anyhow::bail!("{name} must be a number >= 0");
        }
    }
    let mut results: Vec<(String, check::Comparison)> = Vec::new();
    let mut updates: Vec<(String, String, rc::Updated)> = Vec::new();
    if let (Some(e), Some(act)) = (&a.expected, &a.actual) {
        let exp = check::read_result(e)?;
        let got = check::read_result(act)?;
        let opts = CompareOptions { keys: a.key.clone(), tolerance: cli_tol(base), per_column: Default::default() };
        let c = check::compare(&exp, &got, &opts, (&e.display().to_string(), &act.display().to_string()))?;
        results.push((format!("{} vs {}", e.display(), act.display()), c));
    } else {
        let dir =
            a.suite.clone().ok_or_else(|| anyhow::anyhow!("give a suite folder, or --expected FILE --actual FILE"))?;
        let m = check::Manifest::load(&dir)?;
        if let Some(o) = main.target.file() {
            // The report must not land on a file the suite reads or writes.
            let mut suite_files: Vec<PathBuf> = vec![dir.join("suite.toml")];
            for case in &m.cases {
                suite_files.extend(case.inputs.iter().map(|i| dir.join(i)));
                suite_files.extend(case.config.iter().map(|c| dir.join(c)));
                suite_files.push(dir.join(&case.expected));
            }
            let refs: Vec<&Path> = suite_files.iter().map(PathBuf::as_path).collect();
            output::check_targets(&refs, &[("--out", &Target::File(o.to_path_buf()))])?;
        }
        let tmp = tempdir_in_system()?;
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        let pb = crate::cli::progress::bar(m.cases.len() as u64, "checking cases");
        for case in &m.cases {
            pb.inc(1);
            let ext =
                std::path::Path::new(&case.expected).extension().and_then(|e| e.to_str()).unwrap_or("csv").to_string();
            let out_path = tmp.join(format!("{}.{ext}", case.name));
            run_case(&m, case, &out_path)?;
            let expected_path = m.dir.join(&case.expected);
            let got = check::read_result(&out_path)?;
            let opts = CompareOptions {
                keys: a.key.clone().or_else(|| case.key.clone()),
                tolerance: cli_tol(m.tolerance()),
                per_column: case.tolerance.clone(),
            };
            let exp_display = expected_path.display().to_string();
            let comparison = if expected_path.exists() {
                let exp = check::read_result(&expected_path)?;
                Some(check::compare(&exp, &got, &opts, (&exp_display, &out_path.display().to_string()))?)
            } else if a.update {
                None
            } else {
                anyhow::bail!(
                    "case '{}': expected file {} does not exist (run with --update to create it)",
                    case.name,
                    exp_display
                );
            };
            if a.update {
                if !written.contains(&expected_path) {
                    // An expected file is never one of the case's inputs.
                    let mut reads: Vec<PathBuf> = case.inputs.iter().map(|i| m.dir.join(i)).collect();
                    reads.extend(case.config.iter().map(|c| m.dir.join(c)));
                    let refs: Vec<&Path> = reads.iter().map(PathBuf::as_path).collect();
                    output::check_targets(&refs, &[("expected", &Target::File(expected_path.clone()))])?;
                    written.push(expected_path.clone());
                    let bytes = std::fs::read(&out_path)?;
                    report::write_atomic(&expected_path, &bytes)
                        .with_context(|| format!("cannot write {exp_display}"))?;
                    let side_src = sidecar(&out_path);
                    if side_src.exists() {
                        report::write_atomic(&sidecar(&expected_path), &std::fs::read(&side_src)?)?;
                    }
                }
                let u = match &comparison {
                    Some(c) if c.regression() => rc::Updated::Accepted(c.differences.len()),
                    Some(_) => rc::Updated::Unchanged,
                    None => rc::Updated::Created,
                };
                updates.push((case.name.clone(), exp_display, u));
            } else if let Some(c) = comparison {
                results.push((case.name.clone(), c));
            }
        }
        pb.finish_and_clear();
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if a.update {
        let text = rc::update_text(&updates);
        main.write(text.as_bytes(), &output::count(updates.len() as u64, "case", "cases"))?;
        return Ok(EXIT_OK);
    }
    let named: Vec<(&str, &check::Comparison)> = results.iter().map(|(n, c)| (n.as_str(), c)).collect();
    let text = match main.kind {
        OutputKind::Json => rc::check_json(&named),
        OutputKind::Markdown => rc::check_markdown(&named),
        _ => rc::check_text(&named),
    };
    main.write(text.as_bytes(), &output::count(named.len() as u64, "case", "cases"))?;
    let regression = results.iter().any(|(_, c)| c.regression());
    Ok(if regression { EXIT_FINDINGS } else { EXIT_OK })
}

fn tempdir_in_system() -> anyhow::Result<std::path::PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let p = base.join(format!("evidex-check-{}-{i}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(p);
        }
    }
    anyhow::bail!("cannot create a temporary folder in {}", base.display())
}

/// Run one case in-process with the suite folder as working directory, so
/// paths inside outputs are the manifest's relative paths.
fn run_case(m: &evidex::check::Manifest, case: &evidex::check::Case, out_path: &std::path::Path) -> anyhow::Result<()> {
    use clap::Parser;
    let mut argv: Vec<String> = vec!["evidex".into(), case.command.clone()];
    argv.extend(case.inputs.iter().cloned());
    argv.extend(case.args.iter().cloned());
    if let Some(c) = &case.config {
        argv.push("--config".into());
        argv.push(c.clone());
    }
    let ext = out_path.extension().and_then(|e| e.to_str()).unwrap_or("csv");
    argv.push("--format".into());
    argv.push(if case.command == "meta" && ext == "csv" { "csv".into() } else { ext.to_string() });
    argv.push("--out".into());
    argv.push(out_path.display().to_string());
    let cli = crate::cli::Cli::try_parse_from(&argv).map_err(|e| {
        anyhow::anyhow!("case '{}': bad arguments: {}", case.name, e.to_string().lines().next().unwrap_or(""))
    })?;
    let cwd = std::env::current_dir()?;
    std::env::set_current_dir(&m.dir).with_context(|| format!("cannot enter {}", m.dir.display()))?;
    // The suite's own progress bar is on screen: no nested spinners.
    let quiet = crate::cli::progress::is_quiet();
    crate::cli::progress::set_quiet(true);
    let result = super::dispatch(cli);
    crate::cli::progress::set_quiet(quiet);
    std::env::set_current_dir(cwd)?;
    let code = result.with_context(|| format!("case '{}'", case.name))?;
    if code != EXIT_OK {
        anyhow::bail!("case '{}': command exited with {code}", case.name);
    }
    Ok(())
}

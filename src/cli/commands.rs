//! Stage two and wiring: validated settings, library calls, rendering.

use super::args::{
    CheckArgs, CheckFormat, Cli, Command, ConfigArgs, ExplainArgs, ForestArgs, GapmapArgs, GenerateArgs, ImageFormat,
    InputArgs, InputFormatArg, LevelArg, MeasureArg, MetaArgs, MetaOpts, MethodArg, ModelArgs, OutFormat, RankArgs,
    ReportArgs, ScoreArgs, TableCsvJson, TestArg, TextOrJson, ValidateArgs,
};
use super::{out, EXIT_FINDINGS, EXIT_OK};
use anyhow::Context;
use evidex::ingest::{self, ColumnMapping, Contract, IngestOptions, Ingested, InputFormat};
use evidex::meta::{self, FitOptions, Measure, MetaOptions, Method, TestKind};
use evidex::model::{IncomeSetting, Strategy, TargetGroup};
use evidex::report::{self, meta as rm, score as rs, validate as rv};
use evidex::score::{self, rank::RankQuery, GroupKey, ScoringConfig};
use std::path::Path;

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate(a) => validate(a),
        Command::Meta(a) => meta(a),
        Command::Score(a) => score(a),
        Command::Rank(a) => rank(a),
        Command::Explain(a) => explain(a),
        Command::Config(a) => config(a),
        Command::Generate(a) => generate(a),
        Command::Check(a) => check(a),
        Command::Gapmap(a) => gapmap(a),
        Command::Forest(a) => forest(a),
        Command::Report(a) => report_html(a),
    }
}

/// Build ingest options from the arguments (mapping loaded and checked
/// before any input file is opened).
pub fn ingest_options(a: &InputArgs, contract: Contract) -> anyhow::Result<IngestOptions> {
    let mut mapping = match &a.columns {
        Some(p) => ColumnMapping::load(p)?,
        None => ColumnMapping::default(),
    };
    for pair in &a.map {
        mapping.add_pair(pair)?;
    }
    let format = a.input_format.map(|f| match f {
        InputFormatArg::Csv => InputFormat::Csv,
        InputFormatArg::Tsv => InputFormat::Tsv,
        InputFormatArg::Jsonl => InputFormat::Jsonl,
        InputFormatArg::Parquet => InputFormat::Parquet,
    });
    Ok(IngestOptions { mapping, format, contract })
}

/// Read inputs and write the rejects file when asked.
pub fn read_inputs(a: &InputArgs, contract: Contract) -> anyhow::Result<Ingested> {
    let opts = ingest_options(a, contract)?;
    let pb = super::progress::spinner(&format!("reading {} file(s)", a.files.len()));
    let ing = ingest::ingest(&a.files, &opts);
    pb.finish_and_clear();
    let ing = ing?;
    write_rejects(a, &ing)?;
    Ok(ing)
}

fn write_rejects(a: &InputArgs, ing: &Ingested) -> anyhow::Result<()> {
    if let Some(p) = &a.rejects {
        report::write_atomic(p, rv::rejects_csv(ing).as_bytes())
            .with_context(|| format!("cannot write rejects file {}", p.display()))?;
    }
    Ok(())
}

fn validate(a: ValidateArgs) -> anyhow::Result<i32> {
    let ing = read_inputs(&a.input, Contract::Scoring)?;
    if let Some(p) = &a.accepted {
        report::write_atomic(p, rv::accepted_csv(&ing).as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    match a.format {
        TextOrJson::Json => out(&rv::validate_json(&ing))?,
        TextOrJson::Text => out(&rv::validate_text(&ing, a.max_errors))?,
    }
    Ok(if ing.rejected.is_empty() { EXIT_OK } else { EXIT_FINDINGS })
}

/// Stage two for meta options.
pub fn meta_options(m: &MetaOpts) -> anyhow::Result<MetaOptions> {
    if !(m.level > 0.0 && m.level < 100.0) {
        anyhow::bail!("--level must be between 0 and 100 (percent), got {}", m.level);
    }
    if !(-1.0..=1.0).contains(&m.rho) {
        anyhow::bail!("--rho is a correlation and must be between -1 and 1, got {}", m.rho);
    }
    let measure = m.measure.map(|x| match x {
        MeasureArg::Rr => Measure::RR,
        MeasureArg::Or => Measure::OR,
        MeasureArg::Rd => Measure::RD,
        MeasureArg::Md => Measure::MD,
        MeasureArg::Smd => Measure::SMD,
        MeasureArg::Gen => Measure::GEN,
    });
    let method = match m.method {
        MethodArg::Ee => Method::EE,
        MethodArg::Dl => Method::DL,
        MethodArg::He => Method::HE,
        MethodArg::Sj => Method::SJ,
        MethodArg::Ml => Method::ML,
        MethodArg::Reml => Method::REML,
        MethodArg::Pm => Method::PM,
    };
    let test = match m.test {
        TestArg::Z => TestKind::Z,
        TestArg::Knha => TestKind::Knha,
    };
    Ok(MetaOptions {
        measure,
        fit: FitOptions { method, test, level: m.level / 100.0, ..FitOptions::default() },
        by: m.by.clone(),
        cluster: m.cluster.clone(),
        rho: m.rho,
        leave_one_out: m.leave_one_out,
    })
}

/// Write to `--out` atomically, or to stdout.
pub fn emit(out_path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match out_path {
        Some(p) => report::write_atomic(p, text.as_bytes()).with_context(|| format!("cannot write {}", p.display())),
        None => out(text),
    }
}

/// Read inputs, report rejections on stderr, and apply `--strict`: `None`
/// means rows were rejected under `--strict` (exit 1, nothing written).
fn read_checked(a: &InputArgs, contract: Contract) -> anyhow::Result<Option<Ingested>> {
    let ing = read_inputs(a, contract)?;
    report_rejections(&ing);
    Ok((!(a.strict && !ing.rejected.is_empty())).then_some(ing))
}

fn report_rejections(ing: &Ingested) {
    if ing.rejected.is_empty() {
        return;
    }
    eprintln!(
        "evidex: {} of {} rows rejected (use `evidex validate` or --rejects FILE for all):",
        ing.rejected.len(),
        ing.rows_read()
    );
    for e in ing.rejected.iter().take(5) {
        eprintln!("  {e}");
    }
}

fn meta(a: MetaArgs) -> anyhow::Result<i32> {
    let opts = meta_options(&a.meta)?;
    let Some(ing) = read_checked(&a.input, Contract::Effects)? else {
        return Ok(EXIT_FINDINGS);
    };
    let rep = meta::run_meta(&ing.effect_rows, &opts)?;
    let files: Vec<String> = ing.files.iter().map(|f| f.path.clone()).collect();
    let run = rs::run_metadata(&ing, None, &["group"]);
    let text = match a.format {
        TableCsvJson::Json => rm::meta_json(&rep, &files, Some(run.clone())),
        TableCsvJson::Csv => rm::meta_csv(&rep),
        TableCsvJson::Table => rm::meta_text(&rep, &files),
    };
    emit(a.out.as_deref(), &text)?;
    if let (TableCsvJson::Csv, Some(p)) = (a.format, a.out.as_deref()) {
        let mut m = serde_json::to_string_pretty(&run)?;
        m.push('\n');
        report::write_atomic(&sidecar(p), m.as_bytes())?;
    }
    Ok(EXIT_OK)
}

fn load_config(m: &ModelArgs) -> anyhow::Result<ScoringConfig> {
    Ok(match &m.config {
        Some(p) => ScoringConfig::load(p)?,
        None => ScoringConfig::default(),
    })
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

fn out_format(format: Option<OutFormat>, out: Option<&Path>) -> anyhow::Result<OutFormat> {
    if let Some(f) = format {
        if f == OutFormat::Parquet && out.is_none() {
            anyhow::bail!("--format parquet needs --out FILE (Parquet is binary)");
        }
        return Ok(f);
    }
    Ok(match out.and_then(|p| p.extension()).and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()) {
        None => OutFormat::Table,
        Some(e) if e == "csv" => OutFormat::Csv,
        Some(e) if e == "json" => OutFormat::Json,
        Some(e) if e == "parquet" || e == "pq" => OutFormat::Parquet,
        Some(e) if e == "txt" => OutFormat::Table,
        Some(e) => anyhow::bail!("--out: cannot tell the format from '.{e}'; use --format table|csv|json|parquet"),
    })
}

/// Write a result table with its run metadata: embedded in JSON, in the
/// Parquet key-value metadata, or in a `<file>.meta.json` sidecar for CSV.
fn write_table(
    t: &report::table::Table,
    text: impl FnOnce() -> String,
    fmt: OutFormat,
    out_path: Option<&Path>,
    meta: serde_json::Value,
) -> anyhow::Result<()> {
    match fmt {
        OutFormat::Table => emit(out_path, &text()),
        OutFormat::Csv => {
            emit(out_path, &t.to_csv())?;
            if let Some(p) = out_path {
                let side = sidecar(p);
                let mut m = serde_json::to_string_pretty(&meta)?;
                m.push('\n');
                report::write_atomic(&side, m.as_bytes())
                    .with_context(|| format!("cannot write {}", side.display()))?;
            }
            Ok(())
        }
        OutFormat::Json => {
            let v = serde_json::json!({"run": meta, "rows": t.to_json_rows()});
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            emit(out_path, &s)
        }
        OutFormat::Parquet => {
            let p = out_path.ok_or_else(|| anyhow::anyhow!("--format parquet needs --out FILE"))?;
            let bytes = t
                .to_parquet(rs::run_metadata_pairs(&meta))
                .map_err(|e| anyhow::anyhow!("cannot build Parquet: {e}"))?;
            report::write_atomic(p, &bytes).with_context(|| format!("cannot write {}", p.display()))
        }
    }
}

/// `<file>.meta.json` next to a CSV output.
pub fn sidecar(p: &Path) -> std::path::PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".meta.json");
    std::path::PathBuf::from(s)
}

fn score(a: ScoreArgs) -> anyhow::Result<i32> {
    let cfg = load_config(&a.model)?;
    let keys = parse_keys(&a.by)?;
    let fmt = out_format(a.format, a.out.as_deref())?;
    // Streaming: chunks of rows become compact facts; records are not kept.
    let opts = ingest_options(&a.input, Contract::Scoring)?;
    let pb = super::progress::spinner(&format!("reading {} file(s)", a.input.files.len()));
    let st = ingest::stream::ingest_facts(&a.input.files, &opts, &keys, &cfg);
    pb.finish_and_clear();
    let st = st?;
    let t0 = std::time::Instant::now();
    let (ing, res) = if st.duplicate_ids {
        // Repeated record ids (or a hash collision): the record path rejects
        // the repeats exactly, as `validate` reports them.
        drop(st);
        let Some(ing) = read_checked(&a.input, Contract::Scoring)? else {
            return Ok(EXIT_FINDINGS);
        };
        let res = score::score_records(&ing.records, &keys, &cfg);
        (ing, res)
    } else {
        write_rejects(&a.input, &st.ing)?;
        report_rejections(&st.ing);
        if a.input.strict && !st.ing.rejected.is_empty() {
            return Ok(EXIT_FINDINGS);
        }
        let pb = super::progress::spinner(&format!("scoring {} records", st.facts.n_facts));
        let res = score::score_facts(&st.facts, &keys, &cfg, false);
        pb.finish_and_clear();
        let ing = st.ing;
        (ing, res)
    };
    ingest::timing("score", t0);
    let t = rs::score_table(&res);
    let key_names: Vec<&str> = keys.iter().map(|k| k.name()).collect();
    write_table(&t, || rs::score_text(&res), fmt, a.out.as_deref(), rs::run_metadata(&ing, Some(&cfg), &key_names))?;
    Ok(EXIT_OK)
}

fn parse_income(s: &str) -> anyhow::Result<IncomeSetting> {
    IncomeSetting::parse(s).map_err(|e| anyhow::anyhow!("--income-setting: {e}"))
}

fn parse_group(s: &str) -> anyhow::Result<TargetGroup> {
    TargetGroup::new(s).ok_or_else(|| anyhow::anyhow!("--target-group is empty"))
}

fn rank(a: RankArgs) -> anyhow::Result<i32> {
    let cfg = load_config(&a.model)?;
    let income = parse_income(&a.income_setting)?;
    let tg = parse_group(&a.target_group)?;
    let strategy = a
        .strategy
        .as_deref()
        .map(|s| Strategy::parse(s).map_err(|e| anyhow::anyhow!("--strategy: {e}")))
        .transpose()?;
    let fmt = out_format(a.format, a.out.as_deref())?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring)? else {
        return Ok(EXIT_FINDINGS);
    };
    let q = RankQuery { target_group: tg, income_setting: income, strategy, top: a.top };
    let res = score::rank::rank(&ing.records, &q, &cfg)?;
    let t = rs::rank_table(&res);
    write_table(
        &t,
        || rs::rank_text(&res),
        fmt,
        a.out.as_deref(),
        rs::run_metadata(&ing, Some(&cfg), &["intervention"]),
    )?;
    Ok(EXIT_OK)
}

fn explain(a: ExplainArgs) -> anyhow::Result<i32> {
    let cfg = load_config(&a.model)?;
    let income = parse_income(&a.income_setting)?;
    let tg = parse_group(&a.target_group)?;
    let ing = read_inputs(&a.input, Contract::Scoring)?;
    report_rejections(&ing);
    let wanted = evidex::model::normalise_label(&a.intervention);
    let interventions: std::collections::BTreeSet<&str> = ing.records.iter().map(|r| r.intervention.as_str()).collect();
    let Some(name) = interventions.iter().find(|i| evidex::model::normalise_label(i) == wanted) else {
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
    out(&rs::explain_text(&row.cell, &recs, &cfg, res.reference_year, &files))?;
    Ok(EXIT_OK)
}

fn config(a: ConfigArgs) -> anyhow::Result<i32> {
    if let Some(p) = &a.check {
        let c = ScoringConfig::load(p)?;
        out(&format!("# {} is valid (model {})\n{}", p.display(), score::MODEL_VERSION, toml::to_string(&c)?))?;
        return Ok(EXIT_OK);
    }
    if !a.default {
        anyhow::bail!(
            "use `evidex config --default` to print the defaults, or `--check FILE` to check a configuration"
        );
    }
    out(score::DEFAULT_TOML)?;
    Ok(EXIT_OK)
}

fn generate(a: GenerateArgs) -> anyhow::Result<i32> {
    if !(0.0..=1.0).contains(&a.effect_share) {
        anyhow::bail!("--effect-share must be between 0 and 1, got {}", a.effect_share);
    }
    let o = evidex::synth::GenOptions {
        rows: a.rows,
        seed: a.seed,
        interventions: a.interventions,
        effect_share: a.effect_share,
    };
    let ext = a.out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let pb = super::progress::spinner(&format!("generating {} records", a.rows));
    let written = match ext.as_str() {
        // Streamed to a temporary file, renamed when complete.
        "csv" => report::write_atomic_with(&a.out, |w| evidex::synth::to_csv(&o, w)),
        "parquet" | "pq" => report::write_atomic_with(&a.out, |w| {
            evidex::synth::write_parquet(&o, w).map_err(|e| std::io::Error::other(format!("cannot build Parquet: {e}")))
        }),
        other => anyhow::bail!("--out: unknown extension '.{other}'; use .csv or .parquet"),
    };
    pb.finish_and_clear();
    written.with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!("evidex: wrote {} records to {}", a.rows, a.out.display());
    Ok(EXIT_OK)
}

fn check(a: CheckArgs) -> anyhow::Result<i32> {
    use evidex::check::{self, CompareOptions, Tolerance};
    use evidex::report::check as rc;
    let base = Tolerance::default();
    let cli_tol = |t: Tolerance| Tolerance { abs: a.abs_tol.unwrap_or(t.abs), rel: a.rel_tol.unwrap_or(t.rel) };
    for (name, v) in [("--abs-tol", a.abs_tol), ("--rel-tol", a.rel_tol)] {
        if v.is_some_and(|x| !(x >= 0.0 && x.is_finite())) {
            anyhow::bail!("{name} must be a number >= 0");
        }
    }
    let mut results: Vec<(String, check::Comparison)> = Vec::new();
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
        let tmp = tempdir_in_system()?;
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        let pb = super::progress::bar(m.cases.len() as u64, "checking cases");
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
            if a.update && !written.contains(&expected_path) {
                written.push(expected_path.clone());
                let bytes = std::fs::read(&out_path)?;
                report::write_atomic(&expected_path, &bytes).with_context(|| format!("cannot write {exp_display}"))?;
                let side_src = sidecar(&out_path);
                if side_src.exists() {
                    report::write_atomic(&sidecar(&expected_path), &std::fs::read(&side_src)?)?;
                }
                match &comparison {
                    Some(c) if c.regression() => {
                        eprintln!("evidex: updated {exp_display} ({} differences accepted)", c.differences.len())
                    }
                    Some(_) => eprintln!("evidex: {exp_display} unchanged"),
                    None => eprintln!("evidex: created {exp_display}"),
                }
            }
            if let Some(c) = comparison {
                results.push((case.name.clone(), c));
            }
        }
        pb.finish_and_clear();
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let named: Vec<(&str, &check::Comparison)> = results.iter().map(|(n, c)| (n.as_str(), c)).collect();
    let text = match a.format {
        CheckFormat::Text => rc::check_text(&named),
        CheckFormat::Json => rc::check_json(&named),
        CheckFormat::Markdown => rc::check_markdown(&named),
    };
    out(&text)?;
    let regression = results.iter().any(|(_, c)| c.regression());
    Ok(if regression && !a.update { EXIT_FINDINGS } else { EXIT_OK })
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
    let cli = super::Cli::try_parse_from(&argv).map_err(|e| {
        anyhow::anyhow!("case '{}': bad arguments: {}", case.name, e.to_string().lines().next().unwrap_or(""))
    })?;
    let cwd = std::env::current_dir()?;
    std::env::set_current_dir(&m.dir).with_context(|| format!("cannot enter {}", m.dir.display()))?;
    // The suite's own progress bar is on screen: no nested spinners.
    let quiet = super::progress::is_quiet();
    super::progress::set_quiet(true);
    let result = dispatch(cli);
    super::progress::set_quiet(quiet);
    std::env::set_current_dir(cwd)?;
    let code = result.with_context(|| format!("case '{}'", case.name))?;
    if code != EXIT_OK {
        anyhow::bail!("case '{}': command exited with {code}", case.name);
    }
    Ok(())
}

fn data_note(ing: &Ingested) -> String {
    let files: Vec<String> = ing.files.iter().map(|f| format!("{} (sha256 {})", f.path, &f.sha256[..12])).collect();
    format!("data: {}; {} records accepted, {} rejected", files.join(", "), ing.accepted(), ing.rejected_count())
}

fn gapmap(a: GapmapArgs) -> anyhow::Result<i32> {
    use evidex::report::gapmap as gm;
    let cfg = load_config(&a.model)?;
    let income = a.income_setting.as_deref().map(parse_income).transpose()?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring)? else {
        return Ok(EXIT_FINDINGS);
    };
    let opts = gm::GapMapOptions {
        level: if a.level == LevelArg::Strategy { gm::Level::Strategy } else { gm::Level::Intervention },
        income_setting: income,
        title: None,
        data_note: data_note(&ing),
    };
    let map = gm::build(&ing.records, &opts, &cfg);
    let svg = gm::render_svg(&map, &opts);
    let bytes = match a.format {
        ImageFormat::Svg => svg.into_bytes(),
        ImageFormat::Png => evidex::report::png::svg_to_png(&svg, 1.5).map_err(|e| anyhow::anyhow!("PNG: {e}"))?,
    };
    report::write_atomic(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    Ok(EXIT_OK)
}

fn forest(a: ForestArgs) -> anyhow::Result<i32> {
    let opts = meta_options(&a.meta)?;
    let Some(ing) = read_checked(&a.input, Contract::Effects)? else {
        return Ok(EXIT_FINDINGS);
    };
    let rep = meta::run_meta(&ing.effect_rows, &opts)?;
    let title =
        a.title.clone().unwrap_or_else(|| ing.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>().join(", "));
    let svg = evidex::report::forest::render_svg(&rep.overall, rep.measure, &title);
    report::write_atomic(&a.out, svg.as_bytes()).with_context(|| format!("cannot write {}", a.out.display()))?;
    Ok(EXIT_OK)
}

fn report_html(a: ReportArgs) -> anyhow::Result<i32> {
    let cfg = load_config(&a.model)?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring)? else {
        return Ok(EXIT_FINDINGS);
    };
    let html = evidex::report::html::render(&ing, &cfg, &data_note(&ing));
    report::write_atomic(&a.out, html.as_bytes()).with_context(|| format!("cannot write {}", a.out.display()))?;
    Ok(EXIT_OK)
}

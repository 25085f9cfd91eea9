//! Stage two and wiring: validated settings, library calls, rendering.

use super::args::{
    CheckArgs, CheckFormat, Cli, Command, ConfigArgs, ExplainArgs, ForestArgs, GapmapArgs, GenerateArgs, ImageFormat,
    InputArgs, InputFormatArg, LevelArg, MeasureArg, MetaArgs, MetaOpts, MethodArg, ModelArgs, OutFormat, RankArgs,
    ReportArgs, ScoreArgs, TableCsvJson, TestArg, TextOrJson, ValidateArgs, VcovArg,
};
use super::{out, out_bytes, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Context;
use evidex::ingest::{self, ColumnMapping, Contract, IngestOptions, Ingested, InputFormat};
use evidex::meta::{self, FitOptions, Measure, MetaOptions, Method, TestKind};
use evidex::model::{IncomeSetting, Strategy, TargetGroup};
use evidex::report::output::{self, OutputKind, Target};
use evidex::report::{self, meta as rm, score as rs, validate as rv};
use evidex::score::{self, rank::RankQuery, GroupKey, ScoringConfig};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
pub fn ingest_options(a: &InputArgs, contract: Contract, keep_placeholders: bool) -> anyhow::Result<IngestOptions> {
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
        InputFormatArg::Xlsx => InputFormat::Xlsx,
        InputFormatArg::Xls => InputFormat::Xls,
        InputFormatArg::Ods => InputFormat::Ods,
    });
    let sheet = a.sheet.as_deref().map(ingest::SheetChoice::parse);
    Ok(IngestOptions { mapping, format, contract, sheet, keep_placeholders })
}

/// One planned output: the option that named it, where it goes, and its
/// format, settled before any input is read.
#[derive(Debug, Clone)]
pub struct Out {
    pub option: &'static str,
    pub target: Target,
    pub kind: OutputKind,
    /// Standard output because no path was given (not `-`).
    pub implicit: bool,
}

impl Out {
    /// Plan an output: `path` (`None` or `-`: standard output), the
    /// `--format` flag, the formats this command writes and its default on
    /// standard output.
    pub fn plan(
        option: &'static str,
        path: Option<&Path>,
        flag: Option<OutputKind>,
        allowed: &[OutputKind],
        default: OutputKind,
    ) -> anyhow::Result<Out> {
        let target = path.map_or(Target::Stdout, Target::of);
        if let Some(p) = target.file().filter(|p| p.is_dir()) {
            return Err(output::OutputError::IsDirectory { option: option.into(), out: p.display().to_string() }.into());
        }
        let kind = output::resolve_kind(option, &target, flag, allowed, default)?;
        if target == Target::Stdout && kind.is_binary() && std::io::stdout().is_terminal() {
            return Err(output::OutputError::BinaryToTerminal { option: option.into(), kind }.into());
        }
        Ok(Out { option, target, kind, implicit: path.is_none() })
    }

    /// The run-metadata sidecar `<file>.meta.json` of a CSV file output.
    fn sidecar(&self) -> Option<Out> {
        match (&self.target, self.kind) {
            (Target::File(p), OutputKind::Csv) => Some(Out {
                option: "(metadata of --out)",
                target: Target::File(sidecar(p)),
                kind: OutputKind::Json,
                implicit: false,
            }),
            _ => None,
        }
    }

    /// Write `bytes` (atomically to a file, or to standard output) and say
    /// what was written: path, size and `what` (e.g. "212 cells").
    pub fn write(&self, bytes: &[u8], what: &str) -> anyhow::Result<()> {
        match &self.target {
            Target::Stdout => out_bytes(bytes),
            Target::File(p) => {
                report::write_atomic(p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
                if !super::progress::is_quiet() {
                    eprintln!("evidex: wrote {} ({}, {what})", p.display(), output::human_size(bytes.len() as u64));
                }
                Ok(())
            }
        }
    }
}

/// Stop before any work when an input is a directory, or when an output
/// would land on an input (data, mapping or configuration file) or on
/// another output.
pub fn guard(inputs: &[&Path], outs: &[&Out]) -> anyhow::Result<()> {
    for p in inputs {
        if p.is_dir() {
            anyhow::bail!("{}: is a directory; give a file (CSV, TSV, JSON Lines or Parquet)", p.display());
        }
    }
    // An output asked for on standard output (`-`) meets the command's own
    // output, which goes there when no --out is given.
    if let (Some(main), Some(other)) = (
        outs.iter().find(|o| o.implicit && o.target == Target::Stdout),
        outs.iter().find(|o| !o.implicit && o.target == Target::Stdout),
    ) {
        anyhow::bail!(
            "{} -: standard output already carries the {} output of this command (no {} was given, so it goes there); \
             give {} FILE, or a file name to {}",
            other.option,
            main.kind,
            main.option,
            main.option,
            other.option
        );
    }
    let mut all: Vec<Out> = Vec::new();
    for o in outs {
        all.push((*o).clone());
        all.extend(o.sidecar());
    }
    let pairs: Vec<(&str, &Target)> = all.iter().map(|o| (o.option, &o.target)).collect();
    output::check_targets(inputs, &pairs)?;
    Ok(())
}

/// The files an input option set reads: data files and the mapping.
fn input_paths(a: &InputArgs) -> Vec<&Path> {
    let mut v: Vec<&Path> = a.files.iter().map(PathBuf::as_path).collect();
    v.extend(a.columns.as_deref());
    v
}

/// Plan `--rejects` and check it and the main output against `inputs`:
/// returns the rejects output.
fn guard_run(inputs: &[&Path], main: &Out, input: &InputArgs) -> anyhow::Result<Option<Out>> {
    let rejects = rejects_out(input)?;
    guard(inputs, &[Some(main), rejects.as_ref()].into_iter().flatten().collect::<Vec<_>>())?;
    Ok(rejects)
}

/// The planned `--rejects` output (always CSV).
fn rejects_out(a: &InputArgs) -> anyhow::Result<Option<Out>> {
    a.rejects.as_deref().map(|p| Out::plan("--rejects", Some(p), None, &[OutputKind::Csv], OutputKind::Csv)).transpose()
}

/// Read inputs and write the rejects file when asked.
pub fn read_inputs(
    a: &InputArgs,
    contract: Contract,
    keep_placeholders: bool,
    rejects: Option<&Out>,
) -> anyhow::Result<Ingested> {
    let opts = ingest_options(a, contract, keep_placeholders)?;
    let pb = super::progress::spinner(&format!("reading {} file(s)", a.files.len()));
    let ing = ingest::ingest(&a.files, &opts);
    pb.finish_and_clear();
    let ing = ing?;
    write_rejects(rejects, &ing)?;
    Ok(ing)
}

fn write_rejects(rejects: Option<&Out>, ing: &Ingested) -> anyhow::Result<()> {
    if let Some(o) = rejects {
        o.write(
            rv::rejects_csv(ing).as_bytes(),
            &output::count(ing.rejected_count(), "rejected row", "rejected rows"),
        )?;
    }
    Ok(())
}

fn validate(a: ValidateArgs) -> anyhow::Result<i32> {
    let flag = a.format.map(|f| match f {
        TextOrJson::Text => OutputKind::Text,
        TextOrJson::Json => OutputKind::Json,
    });
    let accepted = a
        .accepted
        .as_deref()
        .map(|p| Out::plan("--accepted", Some(p), None, &[OutputKind::Csv], OutputKind::Csv))
        .transpose()?;
    let rejects = rejects_out(&a.input)?;
    // With `--accepted -` or `--rejects -` and neither --out nor --format,
    // the summary (for people) goes to standard error.
    let side_on_stdout = [&accepted, &rejects].into_iter().flatten().any(|o| o.target == Target::Stdout);
    let main = if side_on_stdout && a.out.is_none() && flag.is_none() {
        None
    } else {
        Some(Out::plan("--out", a.out.as_deref(), flag, &[OutputKind::Text, OutputKind::Json], OutputKind::Text)?)
    };
    let outs: Vec<&Out> = [main.as_ref(), accepted.as_ref(), rejects.as_ref()].into_iter().flatten().collect();
    guard(&input_paths(&a.input), &outs)?;
    // Validate checks rows: placeholder rows are accepted and noted.
    let ing = read_inputs(&a.input, Contract::Scoring, true, rejects.as_ref())?;
    if let Some(o) = &accepted {
        // The accepted file holds what scoring reads: rows naming a
        // placeholder (by the mapping's list too) are not written, so that
        // scoring the file gives the input's verdicts.
        let table = ingest_options(&a.input, Contract::Scoring, false)?.mapping.name_table();
        let keep = |r: &evidex::model::EvaluationRecord| {
            !table.is_placeholder(&evidex::model::intervention_key(&r.intervention))
        };
        let written = ing.records.iter().filter(|r| keep(r)).count();
        let mut what = output::count(written as u64, "accepted record", "accepted records");
        if written < ing.records.len() {
            what.push_str(&format!(
                "; {} naming a placeholder not written, as scoring leaves them out",
                output::count((ing.records.len() - written) as u64, "row", "rows")
            ));
        }
        o.write(rv::accepted_csv(&ing, keep).as_bytes(), &what)?;
    }
    match &main {
        Some(main) => {
            let text = match main.kind {
                OutputKind::Json => rv::validate_json(&ing),
                _ => rv::validate_text(&ing, a.max_errors),
            };
            main.write(text.as_bytes(), &output::count(ing.rows_read(), "row checked", "rows checked"))?;
        }
        None => eprint!("{}", rv::validate_text(&ing, a.max_errors)),
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
        TestArg::Adhoc => TestKind::Adhoc,
    };
    Ok(MetaOptions {
        measure,
        fit: FitOptions { method, test, level: m.level / 100.0, ..FitOptions::default() },
        by: m.by.clone(),
        cluster: m.cluster.clone(),
        vcov: match m.vcov {
            VcovArg::Cr1 => meta::Vcov::CR1,
            VcovArg::Cr2 => meta::Vcov::CR2,
        },
        combine_within_study: m.combine_within_study,
        rho: m.rho,
        leave_one_out: m.leave_one_out,
    })
}

/// Read inputs, report rejections on stderr, and apply `--strict`: `None`
/// means rows were rejected under `--strict` (exit 1, nothing written).
fn read_checked(
    a: &InputArgs,
    contract: Contract,
    keep_placeholders: bool,
    rejects: Option<&Out>,
) -> anyhow::Result<Option<Ingested>> {
    let ing = read_inputs(a, contract, keep_placeholders, rejects)?;
    report_rejections(&ing);
    Ok((!a.strict || ing.rejected.is_empty()).then_some(ing))
}

/// Most data warnings printed on stderr by the commands that show verdicts
/// (all of them are in the run metadata; `validate` lists them all).
const WARNINGS_SHOWN: usize = 20;

/// The data warnings `validate` prints, on stderr (unless `--quiet`), for
/// the commands that show verdicts.
fn report_warnings(ing: &Ingested) {
    if ing.warnings.is_empty() || super::progress::is_quiet() {
        return;
    }
    eprintln!("evidex: {}:", output::count(ing.warnings.len() as u64, "warning on the data", "warnings on the data"));
    for w in ing.warnings.iter().take(WARNINGS_SHOWN) {
        eprintln!("  {w}");
    }
    if ing.warnings.len() > WARNINGS_SHOWN {
        eprintln!(
            "  ... and {} more (all in the run metadata; `evidex validate` lists them too)",
            ing.warnings.len() - WARNINGS_SHOWN
        );
    }
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

fn table_kind(f: TableCsvJson) -> OutputKind {
    match f {
        TableCsvJson::Table => OutputKind::Text,
        TableCsvJson::Csv => OutputKind::Csv,
        TableCsvJson::Json => OutputKind::Json,
    }
}

fn meta(a: MetaArgs) -> anyhow::Result<i32> {
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

fn out_kind(f: OutFormat) -> OutputKind {
    match f {
        OutFormat::Table => OutputKind::Text,
        OutFormat::Csv => OutputKind::Csv,
        OutFormat::Json => OutputKind::Json,
        OutFormat::Parquet => OutputKind::Parquet,
    }
}

/// The main output of `score` and `rank`: a table on the terminal, or CSV,
/// JSON or Parquet by extension or `--format`.
fn table_out(format: Option<OutFormat>, out: Option<&Path>) -> anyhow::Result<Out> {
    Out::plan(
        "--out",
        out,
        format.map(out_kind),
        &[OutputKind::Text, OutputKind::Csv, OutputKind::Json, OutputKind::Parquet],
        OutputKind::Text,
    )
}

/// Write a result table with its run metadata: embedded in JSON, in the
/// Parquet key-value metadata, or in a `<file>.meta.json` sidecar for CSV.
fn write_table(
    t: &report::table::Table,
    text: impl FnOnce() -> String,
    json_rows: impl FnOnce() -> serde_json::Value,
    o: &Out,
    what: &str,
    meta: serde_json::Value,
) -> anyhow::Result<()> {
    match o.kind {
        OutputKind::Csv => {
            o.write(t.to_csv().as_bytes(), what)?;
            if let Some(side) = o.sidecar() {
                let mut m = serde_json::to_string_pretty(&meta)?;
                m.push('\n');
                side.write(m.as_bytes(), "run metadata")?;
            }
            Ok(())
        }
        OutputKind::Json => {
            let v = serde_json::json!({"run": meta, "rows": json_rows()});
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            o.write(s.as_bytes(), what)
        }
        OutputKind::Parquet => {
            let bytes = t
                .to_parquet(rs::run_metadata_pairs(&meta))
                .map_err(|e| anyhow::anyhow!("cannot build Parquet: {e}"))?;
            o.write(&bytes, what)
        }
        _ => o.write(text().as_bytes(), what),
    }
}

/// `<file>.meta.json` next to a CSV output.
pub fn sidecar(p: &Path) -> std::path::PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".meta.json");
    std::path::PathBuf::from(s)
}

/// The inputs of a scoring command: data files, mapping and configuration.
fn model_inputs<'a>(input: &'a InputArgs, model: &'a ModelArgs) -> Vec<&'a Path> {
    let mut v = input_paths(input);
    v.extend(model.config.as_deref());
    v
}

fn score(a: ScoreArgs) -> anyhow::Result<i32> {
    let main = table_out(a.format, a.out.as_deref())?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let keys = parse_keys(&a.by)?;
    // Streaming: chunks of rows become compact facts; records are not kept.
    let opts = ingest_options(&a.input, Contract::Scoring, a.model.keep_placeholders)?;
    let pb = super::progress::spinner(&format!("reading {} file(s)", a.input.files.len()));
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
    let pb = super::progress::spinner(&format!("scoring {} records", st.facts.n_facts));
    let res = score::score_facts(&st.facts, &keys, &cfg, false);
    pb.finish_and_clear();
    let ing = st.ing;
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

fn parse_income(s: &str) -> anyhow::Result<IncomeSetting> {
    IncomeSetting::parse(s).map_err(|e| anyhow::anyhow!("--income-setting: {e}"))
}

fn parse_group(s: &str) -> anyhow::Result<TargetGroup> {
    TargetGroup::new(s).ok_or_else(|| anyhow::anyhow!("--target-group is empty"))
}

fn rank(a: RankArgs) -> anyhow::Result<i32> {
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

fn explain(a: ExplainArgs) -> anyhow::Result<i32> {
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
    let main = Out::plan("--out", Some(&a.out), None, &[OutputKind::Csv, OutputKind::Parquet], OutputKind::Csv)?;
    guard(&[], &[&main])?;
    let o = evidex::synth::GenOptions {
        rows: a.rows,
        seed: a.seed,
        interventions: a.interventions,
        effect_share: a.effect_share,
    };
    let pb = super::progress::spinner(&format!("generating {} records", a.rows));
    let parquet = |w: &mut dyn std::io::Write| {
        evidex::synth::write_parquet(&o, w).map_err(|e| std::io::Error::other(format!("cannot build Parquet: {e}")))
    };
    let written = match (&main.target, main.kind) {
        (Target::Stdout, OutputKind::Csv) => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            evidex::synth::to_csv(&o, &mut w).and_then(|()| std::io::Write::flush(&mut w)).map(|()| None)
        }
        (Target::Stdout, _) => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            parquet(&mut w).and_then(|()| std::io::Write::flush(&mut w)).map(|()| None)
        }
        // Streamed to a temporary file, renamed when complete.
        (Target::File(p), OutputKind::Csv) => {
            report::write_atomic_with(p, |w| evidex::synth::to_csv(&o, w)).map(|()| Some(p))
        }
        (Target::File(p), _) => report::write_atomic_with(p, |w| parquet(w)).map(|()| Some(p)),
    };
    pb.finish_and_clear();
    let written = written.with_context(|| format!("cannot write {}", a.out.display()))?;
    if let Some(p) = written.filter(|_| !super::progress::is_quiet()) {
        let size = std::fs::metadata(p).map(|m| output::human_size(m.len())).unwrap_or_default();
        eprintln!("evidex: wrote {} ({size}, {})", p.display(), output::count(a.rows, "record", "records"));
    }
    Ok(EXIT_OK)
}

fn check(a: CheckArgs) -> anyhow::Result<i32> {
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

fn image_out(format: Option<ImageFormat>, out: &Path) -> anyhow::Result<Out> {
    let flag = format.map(|f| match f {
        ImageFormat::Svg => OutputKind::Svg,
        ImageFormat::Png => OutputKind::Png,
    });
    Out::plan("--out", Some(out), flag, &[OutputKind::Svg, OutputKind::Png], OutputKind::Svg)
}

/// SVG text, or the PNG it renders to.
fn image_bytes(svg: String, kind: OutputKind) -> anyhow::Result<Vec<u8>> {
    Ok(match kind {
        OutputKind::Png => evidex::report::png::svg_to_png(&svg, 1.5).map_err(|e| anyhow::anyhow!("PNG: {e}"))?,
        _ => svg.into_bytes(),
    })
}

fn gapmap(a: GapmapArgs) -> anyhow::Result<i32> {
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
    let what = format!(
        "{} x {}, {} with evidence",
        output::count(rows as u64, "row", "rows"),
        output::count(map.columns.len() as u64, "target group", "target groups"),
        output::count(map.cells.len() as u64, "cell", "cells")
    );
    main.write(&image_bytes(gm::render_svg(&map, &opts), main.kind)?, &what)?;
    Ok(EXIT_OK)
}

fn forest(a: ForestArgs) -> anyhow::Result<i32> {
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

/// Exit 2, with the reason on stderr, when the overall model could not be
/// fitted (the output written says so too); else 0.
fn no_fit_exit(rep: &meta::MetaReport) -> i32 {
    match (&rep.overall.fit, &rep.overall.error) {
        (None, reason) => {
            eprintln!("evidex: no fit: {}", reason.as_deref().unwrap_or("unknown reason"));
            EXIT_USAGE
        }
        _ => EXIT_OK,
    }
}

fn report_html(a: ReportArgs) -> anyhow::Result<i32> {
    let main = Out::plan("--out", Some(&a.out), None, &[OutputKind::Html], OutputKind::Html)?;
    let rejects = guard_run(&model_inputs(&a.input, &a.model), &main, &a.input)?;
    let cfg = load_config(&a.model)?;
    let Some(ing) = read_checked(&a.input, Contract::Scoring, a.model.keep_placeholders, rejects.as_ref())? else {
        return Ok(EXIT_FINDINGS);
    };
    report_warnings(&ing);
    let html = evidex::report::html::render(&ing, &cfg, &data_note(&ing));
    let what = format!(
        "{} from {}",
        output::count(ing.accepted(), "record", "records"),
        output::count(ing.files.len() as u64, "file", "files")
    );
    main.write(html.as_bytes(), &what)?;
    Ok(EXIT_OK)
}

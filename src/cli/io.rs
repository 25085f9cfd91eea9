//! Outputs: planned before any input is read (target, format, collisions
//! with inputs), written atomically, with run metadata beside tables.

use crate::cli::args::{ImageFormat, OutFormat, TableCsvJson};
use crate::cli::out_bytes;
use anyhow::Context;
use evidex::report::output::{self, OutputKind, Target};
use evidex::report::{self, document, score as rs};
use std::io::IsTerminal;
use std::path::Path;

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
    pub fn sidecar(&self) -> Option<Out> {
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
                if !crate::cli::progress::is_quiet() {
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

/// `<file>.meta.json` next to a CSV output.
pub fn sidecar(p: &Path) -> std::path::PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".meta.json");
    std::path::PathBuf::from(s)
}

pub fn table_kind(f: TableCsvJson) -> OutputKind {
    match f {
        TableCsvJson::Table => OutputKind::Text,
        TableCsvJson::Csv => OutputKind::Csv,
        TableCsvJson::Json => OutputKind::Json,
    }
}

pub fn out_kind(f: OutFormat) -> OutputKind {
    match f {
        OutFormat::Table => OutputKind::Text,
        OutFormat::Csv => OutputKind::Csv,
        OutFormat::Json => OutputKind::Json,
        OutFormat::Parquet => OutputKind::Parquet,
    }
}

/// The main output of `score` and `rank`: a table on the terminal, or CSV,
/// JSON or Parquet by extension or `--format`.
pub fn table_out(format: Option<OutFormat>, out: Option<&Path>) -> anyhow::Result<Out> {
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
pub fn write_table(
    t: &report::table::Table,
    text: impl FnOnce() -> String,
    json_rows: impl FnOnce() -> serde_json::Value,
    o: &Out,
    what: &str,
    meta: serde_json::Value,
) -> anyhow::Result<()> {
    match o.kind {
        OutputKind::Csv => {
            o.write(document::csv_document(t).as_bytes(), what)?;
            if let Some(side) = o.sidecar() {
                let mut m = serde_json::to_string_pretty(&meta)?;
                m.push('\n');
                side.write(m.as_bytes(), "run metadata")?;
            }
            Ok(())
        }
        OutputKind::Json => o.write(document::json_document(&meta, json_rows()).as_bytes(), what),
        OutputKind::Parquet => {
            let bytes = t
                .to_parquet(rs::run_metadata_pairs(&meta))
                .map_err(|e| anyhow::anyhow!("cannot build Parquet: {e}"))?;
            o.write(&bytes, what)
        }
        _ => o.write(text().as_bytes(), what),
    }
}

pub fn image_out(format: Option<ImageFormat>, out: &Path) -> anyhow::Result<Out> {
    let flag = format.map(|f| match f {
        ImageFormat::Svg => OutputKind::Svg,
        ImageFormat::Png => OutputKind::Png,
    });
    Out::plan("--out", Some(out), flag, &[OutputKind::Svg, OutputKind::Png], OutputKind::Svg)
}

/// SVG text, or the PNG it renders to.
pub fn image_bytes(svg: String, kind: OutputKind) -> anyhow::Result<Vec<u8>> {
    Ok(match kind {
        OutputKind::Png => evidex::report::png::svg_to_png(&svg, 1.5).map_err(|e| anyhow::anyhow!("PNG: {e}"))?,
        _ => svg.into_bytes(),
    })
}

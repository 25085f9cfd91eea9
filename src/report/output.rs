//! Where outputs go and in which format, decided before any work starts:
//! the format follows the file extension (a `--format` flag overrides it,
//! and a flag that contradicts the extension is an error), `-` means
//! standard output, and no output may land on an input (compared by file
//! identity, so `./x.csv`, `../dir/x.csv` and symlinks are caught) or on
//! another output of the same run.

use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A format evidex can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Aligned text for people (`.txt`).
    Text,
    Csv,
    Json,
    Parquet,
    Svg,
    Png,
    Html,
    Markdown,
}

impl OutputKind {
    /// The format a file extension names (case does not matter).
    pub fn from_extension(ext: &str) -> Option<OutputKind> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => OutputKind::Text,
            "csv" => OutputKind::Csv,
            "json" => OutputKind::Json,
            "parquet" | "pq" => OutputKind::Parquet,
            "svg" => OutputKind::Svg,
            "png" => OutputKind::Png,
            "html" | "htm" => OutputKind::Html,
            "md" | "markdown" => OutputKind::Markdown,
            _ => return None,
        })
    }

    /// The format a path's extension names.
    pub fn of_path(p: &Path) -> Option<OutputKind> {
        p.extension().and_then(|e| e.to_str()).and_then(OutputKind::from_extension)
    }

    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Text => "text",
            OutputKind::Csv => "csv",
            OutputKind::Json => "json",
            OutputKind::Parquet => "parquet",
            OutputKind::Svg => "svg",
            OutputKind::Png => "png",
            OutputKind::Html => "html",
            OutputKind::Markdown => "markdown",
        }
    }

    /// The usual extension of this format.
    pub fn extension(self) -> &'static str {
        match self {
            OutputKind::Text => "txt",
            OutputKind::Markdown => "md",
            other => other.name(),
        }
    }

    /// Binary formats (Parquet, PNG) are not written to a terminal.
    pub fn is_binary(self) -> bool {
        matches!(self, OutputKind::Parquet | OutputKind::Png)
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where one output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
}

impl Target {
    /// `-` is standard output (the Unix convention); anything else a file.
    pub fn of(p: &Path) -> Target {
        if p.as_os_str() == "-" {
            Target::Stdout
        } else {
            Target::File(p.to_path_buf())
        }
    }

    pub fn file(&self) -> Option<&Path> {
        match self {
            Target::Stdout => None,
            Target::File(p) => Some(p),
        }
    }
}

/// An output that cannot be written as asked.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum OutputError {
    #[error("{option} {out}: this is the input file {input} (the same file on disk); writing would destroy it; choose another path")]
    WouldOverwriteInput { option: String, out: String, input: String },
    #[error(
        "{option} {out} and {other_option} {other}: both outputs would go to the same file; choose different paths"
    )]
    SameOutputTwice { option: String, out: String, other_option: String, other: String },
    #[error("{option} {out}: is a directory; give a file name")]
    IsDirectory { option: String, out: String },
    #[error(
        "{option} {out}: the extension says {ext} but --format says {flag}; drop --format or change the extension"
    )]
    Contradiction { option: String, out: String, ext: OutputKind, flag: OutputKind },
    #[error("{option} {out}: {found} is not a format this command writes; it writes {allowed}")]
    NotWritten { option: String, out: String, found: String, allowed: String },
    #[error("{option}: {kind} is binary and standard output is a terminal; give a file name or redirect the output")]
    BinaryToTerminal { option: String, kind: OutputKind },
    #[error("{option} and {other_option} both go to standard output; send one of them to a file")]
    StdoutTwice { option: String, other_option: String },
}

fn list(kinds: &[OutputKind]) -> String {
    let mut v: Vec<String> = kinds.iter().map(|k| format!("{} (.{})", k.name(), k.extension())).collect();
    v.dedup();
    v.join(", ")
}

/// The format of one output: `flag` (from `--format`) when given, else the
/// extension of `target`'s file, else `default` (standard output).
///
/// # Errors
/// A flag that contradicts a known extension, an extension this command
/// does not write, or a file without a known extension and no flag.
pub fn resolve_kind(
    option: &str,
    target: &Target,
    flag: Option<OutputKind>,
    allowed: &[OutputKind],
    default: OutputKind,
) -> Result<OutputKind, OutputError> {
    let Target::File(p) = target else {
        return Ok(flag.unwrap_or(default));
    };
    let ext = p.extension().and_then(|e| e.to_str());
    let from_ext = ext.and_then(OutputKind::from_extension);
    let out = p.display().to_string();
    match (flag, from_ext) {
        (Some(f), Some(e)) if f != e => Err(OutputError::Contradiction { option: option.into(), out, ext: e, flag: f }),
        (Some(f), _) => Ok(f),
        (None, Some(e)) if allowed.contains(&e) => Ok(e),
        (None, Some(e)) => Err(OutputError::NotWritten {
            option: option.into(),
            out,
            found: format!("'.{}' ({})", ext.unwrap_or(""), e.name()),
            allowed: list(allowed),
        }),
        (None, None) => Err(OutputError::NotWritten {
            option: option.into(),
            out,
            found: match ext {
                Some(e) => format!("'.{e}'"),
                None => "a name without an extension".into(),
            },
            allowed: format!("{} (or name the format with --format)", list(allowed)),
        }),
    }
}

/// The identity of a file on disk: device and inode where the file exists
/// (symlinks followed), else the canonical folder plus the name it would get.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    Inode(u64, u64),
    WouldBe(PathBuf),
    Unknown,
}

fn identity(p: &Path) -> Identity {
    if let Ok(m) = std::fs::metadata(p) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            return Identity::Inode(m.dev(), m.ino());
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            return std::fs::canonicalize(p).map_or(Identity::Unknown, Identity::WouldBe);
        }
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (std::fs::canonicalize(parent), p.file_name()) {
        (Ok(dir), Some(name)) => Identity::WouldBe(dir.join(name)),
        _ => Identity::Unknown,
    }
}

/// Check every output against every input and against the other outputs,
/// before anything is read or written. `outputs` are `(option, target)`
/// pairs, e.g. `("--out", ...)`; `inputs` every file the run reads
/// (data, mapping, configuration, compared files).
///
/// # Errors
/// An output that is an input, a directory, or the target of another
/// output; two outputs on standard output.
pub fn check_targets(inputs: &[&Path], outputs: &[(&str, &Target)]) -> Result<(), OutputError> {
    let input_ids: Vec<(Identity, &Path)> =
        inputs.iter().map(|p| (identity(p), *p)).filter(|(id, _)| *id != Identity::Unknown).collect();
    let mut seen: Vec<(Identity, &str, &Path)> = Vec::new();
    let mut stdout: Option<&str> = None;
    for (option, t) in outputs {
        let p = match t {
            Target::Stdout => {
                if let Some(other) = stdout {
                    return Err(OutputError::StdoutTwice { option: (*option).into(), other_option: other.into() });
                }
                stdout = Some(option);
                continue;
            }
            Target::File(p) => p.as_path(),
        };
        if p.is_dir() {
            return Err(OutputError::IsDirectory { option: (*option).into(), out: p.display().to_string() });
        }
        let id = identity(p);
        if id == Identity::Unknown {
            continue;
        }
        if let Some((_, input)) = input_ids.iter().find(|(i, _)| *i == id) {
            return Err(OutputError::WouldOverwriteInput {
                option: (*option).into(),
                out: p.display().to_string(),
                input: input.display().to_string(),
            });
        }
        if let Some((_, other_option, other)) = seen.iter().find(|(i, _, _)| *i == id) {
            return Err(OutputError::SameOutputTwice {
                option: (*option).into(),
                out: p.display().to_string(),
                other_option: (*other_option).into(),
                other: other.display().to_string(),
            });
        }
        seen.push((id, option, p));
    }
    Ok(())
}

/// A byte count for people: `812 B`, `12.3 KiB`, `4.1 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut x = bytes as f64 / 1024.0;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.1} {}", UNITS[u])
}

/// `n` and the noun in the right number: `1 row`, `2 rows`, `1 study`.
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &Path) -> Target {
        Target::File(p.to_path_buf())
    }

    #[test]
    fn format_follows_extension_and_flag_must_agree() {
        let all = [OutputKind::Text, OutputKind::Csv, OutputKind::Json, OutputKind::Parquet];
        let r = |p: &str, f| resolve_kind("--out", &Target::of(Path::new(p)), f, &all, OutputKind::Text);
        assert_eq!(r("x.CSV", None), Ok(OutputKind::Csv));
        assert_eq!(r("x.pq", None), Ok(OutputKind::Parquet));
        assert_eq!(r("-", None), Ok(OutputKind::Text));
        assert_eq!(r("-", Some(OutputKind::Json)), Ok(OutputKind::Json));
        assert_eq!(r("x.dat", Some(OutputKind::Csv)), Ok(OutputKind::Csv));
        assert!(matches!(r("x.json", Some(OutputKind::Csv)), Err(OutputError::Contradiction { .. })));
        assert!(matches!(r("x.png", None), Err(OutputError::NotWritten { .. })));
        let e = r("x", None).unwrap_err().to_string();
        assert!(e.contains("without an extension") && e.contains("csv (.csv)"), "{e}");
    }

    #[test]
    fn outputs_never_land_on_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "a\n1\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let dotted = dir.path().join("sub/../in.csv");
        let fresh = dir.path().join("out.csv");
        let ins = [input.as_path()];
        assert!(matches!(
            check_targets(&ins, &[("--out", &file(&dotted))]),
            Err(OutputError::WouldOverwriteInput { .. })
        ));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(matches!(
                check_targets(&ins, &[("--out", &file(&link))]),
                Err(OutputError::WouldOverwriteInput { .. })
            ));
        }
        assert_eq!(check_targets(&ins, &[("--out", &file(&fresh))]), Ok(()));
        // Two outputs on one (not yet existing) file, spelled differently.
        let fresh2 = dir.path().join("sub/../out.csv");
        assert!(matches!(
            check_targets(&ins, &[("--out", &file(&fresh)), ("--rejects", &file(&fresh2))]),
            Err(OutputError::SameOutputTwice { .. })
        ));
        assert!(matches!(check_targets(&ins, &[("--out", &file(dir.path()))]), Err(OutputError::IsDirectory { .. })));
        assert!(matches!(
            check_targets(&ins, &[("--out", &Target::Stdout), ("--rejects", &Target::Stdout)]),
            Err(OutputError::StdoutTwice { .. })
        ));
    }

    #[test]
    fn sizes_and_counts_read_right() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(12_595), "12.3 KiB");
        assert_eq!(human_size(5 << 20), "5.0 MiB");
        assert_eq!(count(1, "row", "rows"), "1 row");
        assert_eq!(count(2, "study", "studies"), "2 studies");
    }
}

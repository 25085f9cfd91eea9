//! Rendering and writing results. Library results are plain data; this
//! module turns them into text, CSV, JSON or Parquet, and writes files
//! atomically.

pub mod check;
pub mod document;
pub mod forest;
pub mod gapmap;
pub mod meta;
pub mod output;
pub mod png;
pub mod score;
pub mod site;
pub mod svg;
pub mod table;
pub mod validate;
pub mod words;

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed and synced, then renamed over the target. A failed or interrupted
/// run never leaves a half-written file and never truncates an existing one.
///
/// # Errors
/// Any I/O error (the temporary file is removed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// [`write_atomic`] for output produced piece by piece: `fill` writes into
/// a temporary file next to `path`, which replaces `path` only when `fill`
/// and the flush to disk succeed.
///
/// # Errors
/// I/O errors (and `fill`'s); the temporary file is removed.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        fill(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Quote a CSV field when needed (RFC 4180).
pub use crate::model::csv_field;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A target inside a missing folder fails and leaves nothing behind.
        assert!(write_atomic(&dir.path().join("nope/out.csv"), b"x").is_err());
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}

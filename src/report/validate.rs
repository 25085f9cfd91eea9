//! Rendering of ingest results (`evidex validate`) and the rejects file.

use super::csv_field;
use crate::ingest::columns::normalise_header;
use crate::ingest::{Col, Ingested};
use serde_json::json;
use std::fmt::Write;

/// One JSON object: counts, files, errors and warnings.
pub fn validate_json(ing: &Ingested) -> String {
    let v = json!({
        "rows_read": ing.rows_read(),
        "accepted": ing.accepted(),
        "rejected": ing.rejected_count(),
        "left_out": ing.left_out(),
        "files": ing.files,
        "errors": ing.rejected,
        "warnings": ing.warnings,
    });
    let mut s = serde_json::to_string_pretty(&v).expect("JSON values serialise");
    s.push('\n');
    s
}

/// Human-readable summary, errors and warnings.
pub fn validate_text(ing: &Ingested, max_errors: usize) -> String {
    let mut s = String::new();
    for f in &ing.files {
        let enc = f.encoding.as_deref().map(|e| format!(", {e}")).unwrap_or_default();
        let del = f.delimiter.as_deref().map(|d| format!(", delimiter '{d}'")).unwrap_or_default();
        let left = if f.left_out > 0 { format!(", {} left out", f.left_out) } else { String::new() };
        let _ = writeln!(
            s,
            "{} ({}{enc}{del}): {} rows read, {} accepted, {} rejected{left}",
            f.path,
            f.format.name(),
            f.rows_read,
            f.accepted,
            f.rejected
        );
    }
    if ing.files.len() > 1 {
        let _ = writeln!(
            s,
            "total: {} rows read, {} accepted, {} rejected",
            ing.rows_read(),
            ing.accepted(),
            ing.rejected_count()
        );
    }
    if !ing.rejected.is_empty() {
        let _ = writeln!(s, "\nrejected rows:");
        for e in ing.rejected.iter().take(max_errors) {
            let _ = writeln!(s, "  {e}");
        }
        if ing.rejected.len() > max_errors {
            let _ = writeln!(
                s,
                "  ... and {} more (use --rejects FILE or --format json for all)",
                ing.rejected.len() - max_errors
            );
        }
    }
    if !ing.warnings.is_empty() {
        let _ = writeln!(s, "\nwarnings:");
        for w in &ing.warnings {
            let _ = writeln!(s, "  {w}");
        }
    }
    s
}

/// The rejects file: every rejected row with file, line, column, value,
/// reason and the row verbatim.
pub fn rejects_csv(ing: &Ingested) -> String {
    let mut s = String::from("file,line,column,value,reason,row\n");
    for e in &ing.rejected {
        let reason = match &e.suggestion {
            Some(sug) => format!("{} (did you mean '{sug}'?)", e.message),
            None => e.message.clone(),
        };
        let _ = writeln!(
            s,
            "{},{},{},{},{},{}",
            csv_field(&e.file),
            e.line,
            csv_field(e.column.as_deref().unwrap_or("")),
            csv_field(e.value.as_deref().unwrap_or("")),
            csv_field(&reason),
            csv_field(&e.raw)
        );
    }
    s
}

/// Columns the accepted file adds after the pass-through columns: whether
/// the income setting was derived from the country and the outcome domain
/// inferred from the outcome text, and where the row came from. A
/// pass-through column of the same name (from an earlier accepted file) is
/// replaced by these, so no header appears twice.
pub const ACCEPTED_PROVENANCE: [&str; 4] = ["income_derived", "domain_inferred", "file", "line"];

/// The accepted records as a clean CSV: every contract column
/// ([`Col::ALL`], in its order, under its contract name, with the value
/// [`Col::value_of`] gives, so that reading the file back gives the same
/// records), then every pass-through column in first-seen order, then
/// [`ACCEPTED_PROVENANCE`].
pub fn accepted_csv(ing: &Ingested, keep: impl Fn(&crate::model::EvaluationRecord) -> bool) -> String {
    let passed: Vec<usize> = (0..ing.extra_columns.len())
        .filter(|&i| !ACCEPTED_PROVENANCE.contains(&normalise_header(&ing.extra_columns[i]).as_str()))
        .collect();
    let mut s = String::new();
    let head: Vec<String> = Col::ALL
        .iter()
        .map(|c| c.name())
        .chain(passed.iter().map(|&i| ing.extra_columns[i].as_str()))
        .chain(ACCEPTED_PROVENANCE)
        .map(csv_field)
        .collect();
    s.push_str(&head.join(","));
    s.push('\n');
    let mut cells: Vec<String> = Vec::with_capacity(head.len());
    for r in ing.records.iter().filter(|r| keep(r)) {
        cells.clear();
        cells.extend(Col::ALL.iter().map(|c| c.value_of(r).map(|v| csv_field(&v)).unwrap_or_default()));
        cells.extend(
            passed.iter().map(|&i| r.extra.get(i).cloned().flatten().map(|v| csv_field(&v)).unwrap_or_default()),
        );
        cells.push(r.income_derived.to_string());
        cells.push(r.domain_inferred.to_string());
        cells.push(csv_field(ing.file_name(r.provenance.file)));
        cells.push(r.provenance.line.to_string());
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

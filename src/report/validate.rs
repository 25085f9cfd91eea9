//! Rendering of ingest results (`evidex validate`) and the rejects file.

use super::csv_field;
use crate::ingest::Ingested;
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

/// The accepted records as a clean CSV: contract columns with canonical
/// values (income setting as derived, ratings as keys, harm as a flag), then
/// every pass-through column in first-seen order, then file and line.
pub fn accepted_csv(ing: &Ingested) -> String {
    let fixed = [
        "record_id",
        "study_id",
        "intervention",
        "target_group",
        "income_setting",
        "income_derived",
        "rating",
        "harm",
        "strategy",
        "country",
        "design",
        "sample_size",
        "year",
        "outcome",
        "risk_of_bias",
        "assignment",
        "clusters",
        "effect_size",
        "se",
        "variance",
        "ci_lower",
        "ci_upper",
        "yi",
        "vi",
        "measure",
        "events_t",
        "n_t",
        "events_c",
        "n_c",
        "mean_t",
        "sd_t",
        "mean_c",
        "sd_c",
        "source",
    ];
    let mut s = String::new();
    let head: Vec<String> = fixed
        .iter()
        .map(|c| c.to_string())
        .chain(ing.extra_columns.iter().cloned())
        .chain(["file".to_string(), "line".to_string()])
        .map(|c| csv_field(&c))
        .collect();
    s.push_str(&head.join(","));
    s.push('\n');
    let num = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
    let opt = |x: Option<&str>| x.unwrap_or("").to_string();
    for r in &ing.records {
        let e = r.effect();
        let mut cells: Vec<String> = vec![
            r.record_id.clone(),
            opt(r.study_id.as_deref()),
            r.intervention.clone(),
            r.target_group.display().to_string(),
            r.income_setting.key().to_string(),
            r.income_derived.to_string(),
            r.rating.map(|x| x.key().to_string()).unwrap_or_default(),
            r.harm.to_string(),
            r.strategy.map(|x| x.key().to_string()).unwrap_or_default(),
            opt(r.country.as_deref()),
            r.design.map(|x| x.key().to_string()).unwrap_or_default(),
            r.sample_size.map(|x| x.to_string()).unwrap_or_default(),
            r.year.map(|x| x.to_string()).unwrap_or_default(),
            opt(r.outcome.as_deref()),
            r.risk_of_bias.map(|x| x.key().to_string()).unwrap_or_default(),
            r.assignment.map(|x| x.key().to_string()).unwrap_or_default(),
            r.clusters.map(|x| x.to_string()).unwrap_or_default(),
            num(e.effect_size),
            num(e.se),
            num(e.variance),
            num(e.ci_lower),
            num(e.ci_upper),
            num(e.yi),
            num(e.vi),
            opt(e.measure.as_deref()),
            num(e.events_t),
            num(e.n_t),
            num(e.events_c),
            num(e.n_c),
            num(e.mean_t),
            num(e.sd_t),
            num(e.mean_c),
            num(e.sd_c),
            opt(r.source.as_deref()),
        ];
        for i in 0..ing.extra_columns.len() {
            cells.push(r.extra.get(i).cloned().flatten().unwrap_or_default());
        }
        cells.push(ing.file_name(r.provenance.file).to_string());
        cells.push(r.provenance.line.to_string());
        let cells: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

//! Rendering of meta-analysis results: JSON (keys as in the issue/metafor),
//! CSV (one row per analysis) and a metafor-like text table.

use super::csv_field;
use crate::meta::{GroupResult, MetaReport};
use crate::stats::{Shown, Stat};
use serde_json::{json, Map, Value};
use std::fmt::Write;

/// A statistic for text output: formatted by `f`, or "not computable
/// (reason)".
pub fn stat_text(x: &Stat, f: impl Fn(f64) -> String) -> String {
    match x {
        Ok(v) => f(*v),
        Err(e) => Shown(e).to_string(),
    }
}

/// A statistic as JSON: the number, or `null` with the reason recorded
/// under `key` in `why` (the object's `not_computable` map).
fn stat_json(x: &Stat, key: &str, why: &mut Map<String, Value>) -> Value {
    match x {
        Ok(v) => num(*v),
        Err(e) => {
            why.insert(key.into(), json!(e.to_string()));
            Value::Null
        }
    }
}

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// One analysis as a JSON object.
pub fn group_json(rep: &MetaReport, g: &GroupResult) -> Value {
    let mut o = Map::new();
    if !g.group.is_empty() {
        let grp: Map<String, Value> = g.group.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        o.insert("group".into(), Value::Object(grp));
    }
    o.insert("k".into(), json!(g.studies.len()));
    o.insert("records".into(), json!(g.records));
    o.insert("records_combined".into(), json!(g.records_combined));
    o.insert("measure".into(), json!(rep.measure.name()));
    let mut why = Map::new();
    if let Some(f) = &g.fit {
        o.insert("method".into(), json!(f.method.to_string()));
        o.insert("test".into(), json!(f.test.to_string()));
        for (k, v) in [("estimate", f.estimate), ("se", f.se), ("ci_lower", f.ci_lower), ("ci_upper", f.ci_upper)] {
            o.insert(k.into(), num(v));
        }
        o.insert("stat".into(), stat_json(&f.stat, "stat", &mut why));
        o.insert("pval".into(), stat_json(&f.pval, "pval", &mut why));
        for (k, v) in [("tau2", f.tau2), ("tau", f.tau)] {
            o.insert(k.into(), num(v));
        }
        o.insert("df".into(), f.df.map_or(Value::Null, num));
        for (k, v) in [("tau2_ci_lower", &f.tau2_ci_lower), ("tau2_ci_upper", &f.tau2_ci_upper)] {
            o.insert(k.into(), v.as_ref().map_or(Value::Null, |x| stat_json(x, k, &mut why)));
        }
        for (k, v) in [("i2", f.i2), ("h2", f.h2), ("q", f.q)] {
            o.insert(k.into(), num(v));
        }
        o.insert("q_df".into(), json!(f.q_df));
        o.insert("q_pval".into(), stat_json(&f.q_pval, "q_pval", &mut why));
        o.insert("pi_lower".into(), num(f.pi_lower));
        o.insert("pi_upper".into(), num(f.pi_upper));
        if rep.measure.is_ratio() {
            if [f.estimate, f.ci_lower, f.ci_upper, f.pi_lower, f.pi_upper].iter().any(|x| !x.exp().is_finite()) {
                why.insert("exp".into(), json!("a bound is too large to exponentiate; null on the ratio scale"));
            }
            o.insert(
                "exp".into(),
                json!({
                    "estimate": num(f.estimate.exp()),
                    "ci_lower": num(f.ci_lower.exp()),
                    "ci_upper": num(f.ci_upper.exp()),
                    "pi_lower": num(f.pi_lower.exp()),
                    "pi_upper": num(f.pi_upper.exp()),
                }),
            );
        }
        o.insert("iterations".into(), json!(f.iterations));
        o.insert("notes".into(), json!(f.notes));
    } else {
        o.insert("error".into(), json!(g.error));
    }
    match &g.egger {
        Some(Ok(e)) => {
            o.insert("egger".into(), json!({"stat": num(e.stat), "df": e.df, "pval": num(e.pval), "intercept": num(e.intercept), "slope": num(e.slope)}));
        }
        Some(Err(e)) => {
            why.insert("egger".into(), json!(e.to_string()));
        }
        None => {}
    }
    match &g.robust {
        Some(Ok(r)) => {
            o.insert(
                "robust".into(),
                json!({"type": format!("{:?}", r.vcov), "clusters": r.clusters, "estimate": num(r.estimate), "se": num(r.se), "stat": num(r.stat),
                       "df": num(r.df), "pval": num(r.pval), "ci_lower": num(r.ci_lower), "ci_upper": num(r.ci_upper)}),
            );
        }
        Some(Err(e)) => {
            why.insert("robust".into(), json!(e.to_string()));
        }
        None => {}
    }
    if !why.is_empty() {
        o.insert("not_computable".into(), Value::Object(why));
    }
    let studies: Vec<Value> = g
        .studies
        .iter()
        .map(|s| json!({"study": s.study, "yi": num(s.yi), "vi": num(s.vi), "records": s.records, "weight": num(s.weight)}))
        .collect();
    o.insert("studies".into(), Value::Array(studies));
    if !g.leave_one_out.is_empty() {
        let l: Vec<Value> = g
            .leave_one_out
            .iter()
            .map(|l| {
                json!({"omitted": g.studies[l.omitted].study, "estimate": num(l.fit.estimate), "ci_lower": num(l.fit.ci_lower),
                       "ci_upper": num(l.fit.ci_upper), "tau2": num(l.fit.tau2), "i2": num(l.fit.i2)})
            })
            .collect();
        o.insert("leave_one_out".into(), Value::Array(l));
    }
    Value::Object(o)
}

/// The whole report as JSON: one object, or with subgroups an object with
/// `overall`, `subgroups` and `subgroup_test`.
pub fn meta_json(rep: &MetaReport, files: &[String], run: Option<Value>) -> String {
    let excluded: Vec<Value> = rep
        .excluded
        .iter()
        .map(|e| json!({"file": files.get(e.file as usize), "line": e.line, "study": e.study, "reason": e.reason}))
        .collect();
    let mut top = if rep.subgroups.is_empty() {
        group_json(rep, &rep.overall)
    } else {
        let subs: Vec<Value> = rep.subgroups.iter().map(|g| group_json(rep, g)).collect();
        let mut o = Map::new();
        o.insert("overall".into(), group_json(rep, &rep.overall));
        o.insert("subgroups".into(), Value::Array(subs));
        o.insert(
            "subgroup_test".into(),
            match &rep.subgroup_test {
                Some(Ok(t)) => json!({"q_between": num(t.q_between), "df": t.df, "pval": num(t.pval)}),
                Some(Err(e)) => json!({"not_computable": e.to_string()}),
                None => Value::Null,
            },
        );
        Value::Object(o)
    };
    if let Value::Object(o) = &mut top {
        o.insert("excluded".into(), Value::Array(excluded));
        o.insert("warnings".into(), json!(rep.warnings));
        if let Some(r) = run {
            o.insert("run".into(), r);
        }
    }
    let mut s = serde_json::to_string_pretty(&top).expect("JSON values serialise");
    s.push('\n');
    s
}

const CSV_COLS: &[&str] = &[
    "group",
    "k",
    "records",
    "measure",
    "method",
    "test",
    "estimate",
    "se",
    "ci_lower",
    "ci_upper",
    "stat",
    "pval",
    "tau2",
    "tau",
    "tau2_ci_lower",
    "tau2_ci_upper",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_pval",
    "pi_lower",
    "pi_upper",
    "egger_stat",
    "egger_pval",
];

/// One CSV row per analysis (overall first).
pub fn meta_csv(rep: &MetaReport) -> String {
    let mut s = CSV_COLS.join(",");
    s.push('\n');
    for g in std::iter::once(&rep.overall).chain(&rep.subgroups) {
        let v = group_json(rep, g);
        let grp = if g.group.is_empty() {
            "overall".to_string()
        } else {
            g.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";")
        };
        let cells: Vec<String> = CSV_COLS
            .iter()
            .map(|c| match *c {
                "group" => csv_field(&grp),
                "egger_stat" => v.pointer("/egger/stat").map(cell).unwrap_or_default(),
                "egger_pval" => v.pointer("/egger/pval").map(cell).unwrap_or_default(),
                other => v.get(other).map(cell).unwrap_or_default(),
            })
            .collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => csv_field(s),
        other => other.to_string(),
    }
}

fn text_group(out: &mut String, rep: &MetaReport, g: &GroupResult) {
    if !g.group.is_empty() {
        let _ = writeln!(
            out,
            "\n== {} ==",
            g.group.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
        );
    }
    let Some(f) = &g.fit else {
        let _ = writeln!(out, "no fit: {}", g.error.as_deref().unwrap_or("unknown reason"));
        return;
    };
    let model = if f.method == crate::meta::Method::EE { "Equal-effects model" } else { "Random-effects model" };
    let _ = writeln!(out, "{model} (k = {}; tau^2 estimator: {}; measure: {})", f.k, f.method, rep.measure);
    if g.records_combined > 0 {
        let _ = writeln!(
            out,
            "{} records from {} units ({} records merged into within-study composites)",
            g.records, f.k, g.records_combined
        );
    }
    for n in &f.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let tau2_ci = match (&f.tau2_ci_lower, &f.tau2_ci_upper) {
        (Some(Ok(lo)), Some(Ok(hi))) => format!(" [{lo:.4}, {hi:.4}] (Q-profile)"),
        (Some(Err(e)), _) | (_, Some(Err(e))) => format!(" (Q-profile CI: {})", Shown(e)),
        _ => " [-, -] (Q-profile)".into(),
    };
    let _ =
        writeln!(out, "tau^2 = {}{tau2_ci}, tau = {}, I^2 = {:.2}%, H^2 = {:.2}", n4(f.tau2), n4(f.tau), f.i2, f.h2);
    let _ = writeln!(out, "Q({}) = {}, p = {}", f.q_df, n4(f.q), stat_text(&f.q_pval, pfmt));
    let stat_name = if f.df.is_some() { "t" } else { "z" };
    let df = f.df.map(|d| format!(" (df = {d})")).unwrap_or_default();
    let _ = writeln!(out, "\n  estimate      se   {stat_name}val{df}   pval    ci.lb    ci.ub");
    let _ = writeln!(
        out,
        "  {:>8} {:>7} {:>7}   {:>7} {:>8} {:>8}",
        n4(f.estimate),
        n4(f.se),
        f.stat.as_ref().map_or("-".into(), |x| n4(*x)),
        f.pval.as_ref().map_or("-".into(), |p| pfmt(*p)),
        n4(f.ci_lower),
        n4(f.ci_upper)
    );
    if let Err(e) = &f.stat {
        let _ = writeln!(out, "{stat_name} statistic and p-value: {}", Shown(e));
    } else if let Err(e) = &f.pval {
        let _ = writeln!(out, "p-value: {}", Shown(e));
    }
    let _ = writeln!(out, "prediction interval: [{}, {}]", n4(f.pi_lower), n4(f.pi_upper));
    if rep.measure.is_ratio() {
        let _ = writeln!(
            out,
            "on the ratio scale: {} {} [{}, {}], prediction interval [{}, {}]",
            rep.measure,
            ratio(f.estimate),
            ratio(f.ci_lower),
            ratio(f.ci_upper),
            ratio(f.pi_lower),
            ratio(f.pi_upper)
        );
    }
    if let Some(Err(e)) = &g.robust {
        let _ = writeln!(out, "cluster-robust inference: {}", Shown(e));
    }
    if let Some(Ok(r)) = &g.robust {
        let _ = writeln!(
            out,
            "cluster-robust ({:?}, {} clusters): se = {:.4}, t({:.2}) = {:.4}, p = {}, CI [{:.4}, {:.4}]",
            r.vcov,
            r.clusters,
            r.se,
            r.df,
            r.stat,
            pfmt(r.pval),
            r.ci_lower,
            r.ci_upper
        );
    }
    match &g.egger {
        Some(Ok(e)) => {
            let _ =
                writeln!(out, "Egger's test for funnel asymmetry: t({}) = {:.4}, p = {}", e.df, e.stat, pfmt(e.pval));
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "Egger's test: {}", Shown(e));
        }
        None => {}
    }
    if !g.leave_one_out.is_empty() {
        let _ = writeln!(
            out,
            "\nleave-one-out:\n  {:<24} {:>9} {:>9} {:>9} {:>8}",
            "omitted", "estimate", "ci.lb", "ci.ub", "I^2"
        );
        for l in &g.leave_one_out {
            let _ = writeln!(
                out,
                "  {:<24} {:>9.4} {:>9.4} {:>9.4} {:>7.2}%",
                truncate(&g.studies[l.omitted].study, 24),
                l.fit.estimate,
                l.fit.ci_lower,
                l.fit.ci_upper,
                l.fit.i2
            );
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}…")
    }
}

/// A number in a text table: 4 decimals, or scientific notation from 1e9
/// on (an effect of 1e300 is a 300-digit string otherwise).
fn n4(x: f64) -> String {
    if x.abs() >= 1e9 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}

/// A log-scale value on the ratio scale, or why it cannot be shown.
fn ratio(x: f64) -> String {
    let e = x.exp();
    if e.is_finite() {
        n4(e)
    } else {
        format!("not computable (exp({}) is too large)", n4(x))
    }
}

/// p-values as metafor prints them.
pub fn pfmt(p: f64) -> String {
    if p < 1e-4 {
        "<.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// Text report.
pub fn meta_text(rep: &MetaReport, files: &[String]) -> String {
    let mut out = String::new();
    text_group(&mut out, rep, &rep.overall);
    for g in &rep.subgroups {
        text_group(&mut out, rep, g);
    }
    if let Some(Err(e)) = &rep.subgroup_test {
        let _ = writeln!(out, "\ntest for subgroup differences: {}", Shown(e));
    }
    if let Some(Ok(t)) = &rep.subgroup_test {
        let _ = writeln!(
            out,
            "\ntest for subgroup differences: Q_between({}) = {:.4}, p = {}",
            t.df,
            t.q_between,
            pfmt(t.pval)
        );
    }
    for w in &rep.warnings {
        let _ = writeln!(out, "\nwarning: {w}");
    }
    if !rep.excluded.is_empty() {
        let _ = writeln!(out, "\n{} row(s) excluded from pooling:", rep.excluded.len());
        for e in &rep.excluded {
            let _ = writeln!(
                out,
                "  {}:{}: {}: {}",
                files.get(e.file as usize).map_or("?", |s| s.as_str()),
                e.line,
                e.study,
                e.reason
            );
        }
    }
    out
}

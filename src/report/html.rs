//! `evidex report`: one self-contained HTML file (inline CSS, JS and SVG; no
//! network requests) answering "what works for whom, where, and how sure are
//! we?": input summary with rejections, gap maps, ranked tables per target
//! group x income setting with filters and sortable columns, per-cell
//! explanations, forest plots for pooled cells, and the run metadata.

use super::gapmap::{self, GapMapOptions, Level};
use super::svg::esc;
use super::words;
use crate::ingest::Ingested;
use crate::meta::{run_meta, MetaOptions};
use crate::model::{EffectRow, EvaluationRecord, IncomeSetting, OutcomeDomain, TargetGroup};
use crate::score::rank::{rank, RankQuery, RANK_ORDER};
use crate::score::{score_records, GroupKey, ScoringConfig};
use std::collections::BTreeMap;
use std::fmt::Write;

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:1200px;padding:0 1rem 3rem;color:#1a1a1a;line-height:1.45}
h1{margin-top:1.2rem}h2{border-bottom:2px solid #0072B2;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .45rem;text-align:left;vertical-align:top}
th button{all:unset;cursor:pointer;font-weight:bold}th button:focus{outline:2px solid #0072B2}th[aria-sort] button::after{content:" \2195"}
tr.harm td{background:#fde7dc}.cat{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;border:1px solid #666}
.effective{background:#0072B2;color:#fff}.promising{background:#56B4E9}.prudent{background:#F0E442}.needs_research{background:#ddd}.ineffective{background:#E69F00}
.filters{display:flex;gap:1rem;flex-wrap:wrap;margin:.6rem 0}.filters label{font-weight:bold}.muted{color:#555;font-size:.85rem}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}details{margin:.3rem 0}summary{cursor:pointer}
.svgwrap{overflow-x:auto;border:1px solid #eee}nav a{margin-right:1rem}
@media print{nav,.filters{display:none}details{display:block}.svgwrap{overflow:visible}tr{break-inside:avoid}h2{break-after:avoid}}
"#;

const JS: &str = r#"
(function(){
  var g=document.getElementById('f-group'), s=document.getElementById('f-setting'), st=document.getElementById('f-status');
  function apply(){
    var rows=document.querySelectorAll('#ranked tbody tr'), n=0;
    rows.forEach(function(r){
      var ok=(g.value==='*'||r.dataset.group===g.value)&&(s.value==='*'||r.dataset.setting===s.value);
      r.hidden=!ok; if(ok) n++;
    });
    st.textContent=n+' row'+(n===1?'':'s')+' shown';
  }
  g.addEventListener('change',apply); s.addEventListener('change',apply); apply();
  document.querySelectorAll('table.sortable th button').forEach(function(b,i){
    b.addEventListener('click',function(){
      var th=b.parentNode, table=th.closest('table'), tb=table.tBodies[0], idx=Array.prototype.indexOf.call(th.parentNode.children,th);
      var asc=th.getAttribute('aria-sort')!=='ascending';
      table.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var rs=Array.prototype.slice.call(tb.rows);
      rs.sort(function(a,b){
        var x=a.cells[idx].dataset.v||a.cells[idx].textContent, y=b.cells[idx].dataset.v||b.cells[idx].textContent;
        var nx=parseFloat(x), ny=parseFloat(y), c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;
      });
      rs.forEach(function(r){tb.appendChild(r);});
    });
  });
})();
"#;

fn effect_rows(records: &[&EvaluationRecord]) -> Vec<EffectRow> {
    records
        .iter()
        .filter(|r| r.effect().is_usable())
        .map(|r| EffectRow {
            label: r.study_key().to_string(),
            label_column: None,
            study_id: r.study_id.clone(),
            effect: r.effect().clone(),
            design: r.design,
            fields: BTreeMap::new(),
            provenance: r.provenance,
        })
        .collect()
}

/// Render the report.
pub fn render(ing: &Ingested, cfg: &ScoringConfig, data_note: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>evidex report</title><style>{CSS}</style></head><body>"
    );
    let _ = write!(
        h,
        "<header><h1>What works for whom, where, and how sure are we?</h1><p class=\"muted\">evidex {} &middot; scoring model {} &middot; {}</p><nav><a href=\"#summary\">Input</a><a href=\"#gapmap\">Gap map</a><a href=\"#ranked-h\">Ranked</a><a href=\"#cells\">Explanations</a><a href=\"#forest\">Forest plots</a><a href=\"#run\">Run</a></nav></header><main>",
        env!("CARGO_PKG_VERSION"),
        crate::score::MODEL_VERSION,
        esc(data_note)
    );

    // 1. Input summary.
    let _ = write!(h, "<section><h2 id=\"summary\">Input</h2><table><thead><tr><th scope=\"col\">file</th><th scope=\"col\">format</th><th scope=\"col\">encoding</th><th scope=\"col\">rows read</th><th scope=\"col\">accepted</th><th scope=\"col\">rejected</th></tr></thead><tbody>");
    for f in &ing.files {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.path),
            f.format.name(),
            esc(f.encoding.as_deref().unwrap_or("")),
            f.rows_read,
            f.accepted,
            f.rejected
        );
    }
    let _ = write!(h, "</tbody></table>");
    if !ing.rejected.is_empty() {
        let _ = write!(h, "<details><summary>{} rejected rows and why</summary><ul>", ing.rejected.len());
        for e in ing.rejected.iter().take(500) {
            let _ = write!(h, "<li>{}</li>", esc(&e.to_string()));
        }
        let _ = write!(h, "</ul></details>");
    }
    if !ing.warnings.is_empty() {
        let _ = write!(h, "<details><summary>{} warnings</summary><ul>", ing.warnings.len());
        for w in &ing.warnings {
            let _ = write!(h, "<li>{}</li>", esc(&w.to_string()));
        }
        let _ = write!(h, "</ul></details>");
    }
    let _ = write!(h, "</section>");

    // 2. Gap maps.
    let _ = write!(h, "<section><h2 id=\"gapmap\">Evidence and gap map</h2><p class=\"muted\">Bubble area = studies; colour = the verdict as <code>score</code> and <code>rank</code> give it (local evidence first; a dashed outline marks a verdict borrowed from other income settings); &times; = harm; dashed squares are gaps. Hover a bubble for details.</p>");
    let opts = GapMapOptions {
        level: Level::Intervention,
        income_setting: None,
        domain: None,
        title: None,
        data_note: data_note.to_string(),
    };
    let map = gapmap::build(&ing.records, &opts, cfg);
    let _ = write!(h, "<div class=\"svgwrap\" id=\"gapmap-all\">{}</div>", gapmap::render_svg(&map, &opts));
    for s in IncomeSetting::ALL {
        if !ing.records.iter().any(|r| r.income_setting == s) {
            continue;
        }
        let o = GapMapOptions { income_setting: Some(s), ..opts.clone() };
        let m = gapmap::build(&ing.records, &o, cfg);
        let _ = write!(
            h,
            "<details><summary>Gap map for {s} settings (with borrowed evidence where a cell has too little)</summary><div class=\"svgwrap\">{}</div></details>",
            gapmap::render_svg(&m, &o)
        );
    }
    for d in OutcomeDomain::ALL {
        if !ing.records.iter().any(|r| r.outcome_domain == d) {
            continue;
        }
        let o = GapMapOptions { domain: Some(d), ..opts.clone() };
        let m = gapmap::build(&ing.records, &o, cfg);
        let _ = write!(
            h,
            "<details><summary>Gap map of verdicts on {} only</summary><div class=\"svgwrap\">{}</div></details>",
            d.label(),
            gapmap::render_svg(&m, &o)
        );
    }
    let _ = write!(h, "</section>");

    // 3. Ranked tables per target group x income setting.
    let mut groups: BTreeMap<String, TargetGroup> = BTreeMap::new();
    for r in &ing.records {
        groups.entry(r.target_group.display().to_string()).or_insert_with(|| r.target_group.clone());
    }
    let _ = write!(h, "<section><h2 id=\"ranked-h\">Ranked interventions per target group and income setting</h2><p class=\"muted\">Ranked: ");
    let _ = write!(h, "{RANK_ORDER}");
    let _ = write!(h, ". The verdict rests on the outcome domain shown (violence, then behaviour, other outcomes, risk factors); evidence borrowed from other income settings fills cells with too little of their own, is marked and discounted, and never overturns a local rigorous verdict. Robustness: share of plausible configurations that keep the category.</p><div class=\"filters\"><div><label for=\"f-group\">Target group</label> <select id=\"f-group\"><option value=\"*\">all</option>");
    let first_group = groups.keys().next().cloned().unwrap_or_default();
    for g in groups.keys() {
        let sel = if *g == first_group { " selected" } else { "" };
        let _ = write!(h, "<option value=\"{0}\"{sel}>{0}</option>", esc(g));
    }
    let _ = write!(h, "</select></div><div><label for=\"f-setting\">Income setting</label> <select id=\"f-setting\"><option value=\"*\">all</option>");
    for s in IncomeSetting::ALL {
        let sel = if s == IncomeSetting::Lic { " selected" } else { "" };
        let _ = write!(h, "<option value=\"{0}\"{sel}>{0}</option>", s.key());
    }
    let _ = write!(
        h,
        "</select></div><div id=\"f-status\" role=\"status\" aria-live=\"polite\"></div></div><table id=\"ranked\" class=\"sortable\"><thead><tr>{}</tr></thead><tbody>",
        [
            "target group",
            "setting",
            "rank",
            "intervention",
            "category",
            "score",
            "effect (95% CI)",
            "certainty",
            "robustness",
            "rests on",
            "violence",
            "behaviour",
            "risk factors",
            "studies",
            "borrowed",
            "why"
        ]
        .iter()
        .map(|c| format!("<th scope=\"col\"><button type=\"button\">{c}</button></th>"))
        .collect::<String>()
    );
    for (gname, g) in &groups {
        for s in IncomeSetting::ALL {
            let q = RankQuery { target_group: g.clone(), income_setting: s, strategy: None, top: None };
            let Ok(res) = rank(&ing.records, &q, cfg) else { continue };
            for row in res.rows {
                let c = &row.cell;
                let borrowed = if c.n_borrowed_studies > 0 {
                    format!(
                        "{} from {}",
                        c.n_borrowed_studies,
                        c.borrowed_from.iter().map(|b| b.key()).collect::<Vec<_>>().join(", ")
                    )
                } else {
                    String::new()
                };
                let dom = |d: OutcomeDomain| {
                    c.domain_result(d).map_or(String::new(), |x| words::category(x.category, x.harm).to_string())
                };
                let robust = c.robustness.map_or(String::new(), |r| format!("{:.0}%", 100.0 * r));
                let _ = write!(
                    h,
                    "<tr data-group=\"{}\" data-setting=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td data-v=\"{}\"><span class=\"cat {}\">{}</span></td><td>{:.3}</td><td>{}</td><td data-v=\"{}\">{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(gname),
                    s.key(),
                    if c.harm_flag { " class=\"harm\"" } else { "" },
                    esc(gname),
                    s.key(),
                    row.rank,
                    esc(&row.intervention),
                    if c.harm_flag { " <strong>(harmful)</strong>" } else { "" },
                    c.category.index(),
                    c.category.key(),
                    esc(words::category(c.category, c.harm_flag)),
                    c.score,
                    esc(&c.pooled.as_ref().map(words::effect_text).unwrap_or_default()),
                    3 - c.certainty as i32,
                    c.certainty.label(),
                    robust,
                    if c.fragile { " (fragile)" } else { "" },
                    c.domain.label(),
                    dom(OutcomeDomain::Violence),
                    dom(OutcomeDomain::Behaviour),
                    dom(OutcomeDomain::RiskFactor),
                    c.n_studies,
                    esc(&borrowed),
                    esc(&words::why(c))
                );
            }
        }
    }
    let _ = write!(h, "</tbody></table></section>");

    // 4. Per-cell explanations.
    let res = score_records(&ing.records, &GroupKey::DEFAULT, cfg);
    let files: Vec<String> = ing.files.iter().map(|f| f.path.clone()).collect();
    let mut by_cell: BTreeMap<(String, String, String), Vec<&EvaluationRecord>> = BTreeMap::new();
    for r in &ing.records {
        by_cell
            .entry((r.intervention.clone(), r.target_group.display().to_string(), r.income_setting.key().to_string()))
            .or_default()
            .push(r);
    }
    let _ = write!(h, "<section><h2 id=\"cells\">Explanations per cell</h2><p class=\"muted\">Every contributing record with its weight components, the rule that set the category, and the certainty downgrades.</p>");
    for c in res.cells.iter().take(2000) {
        let key = (c.key[0].1.clone(), c.key[1].1.clone(), c.key[2].1.clone());
        let recs = by_cell.get(&key).cloned().unwrap_or_default();
        let _ = write!(
            h,
            "<details class=\"cell\"><summary>{} / {} / {}: <span class=\"cat {}\">{}</span>{} on {} &middot; certainty {}</summary><pre>{}</pre></details>",
            esc(&key.0),
            esc(&key.1),
            esc(&key.2),
            c.category.key(),
            esc(words::category(c.category, c.harm_flag)),
            if c.harm_flag { " <strong>harm</strong>" } else { "" },
            c.domain.label(),
            c.certainty.label(),
            esc(&super::score::explain_text(c, &recs, cfg, res.reference_year, &files))
        );
    }
    let _ = write!(h, "</section>");

    // 5. Forest plots for pooled cells.
    let _ = write!(h, "<section><h2 id=\"forest\">Forest plots of pooled cells</h2>");
    let mut n_forest = 0;
    for c in res.cells.iter().filter(|c| c.pooled.is_some()).take(200) {
        let key = (c.key[0].1.clone(), c.key[1].1.clone(), c.key[2].1.clone());
        let recs: Vec<&EvaluationRecord> = by_cell
            .get(&key)
            .map(|v| v.iter().copied().filter(|r| r.outcome_domain == c.domain).collect())
            .unwrap_or_default();
        let rows = effect_rows(&recs);
        let opts = MetaOptions { rho: cfg.effects.rho, ..MetaOptions::default() };
        if let Ok(rep) = run_meta(&rows, &opts) {
            let title = format!("{} / {} / {}: {} (effects as reported)", key.0, key.1, key.2, c.domain.label());
            let _ = write!(
                h,
                "<figure class=\"svgwrap forest\">{}<figcaption>{}</figcaption></figure>",
                super::forest::render_svg(&rep.overall, rep.measure, &title),
                esc(&title)
            );
            n_forest += 1;
        }
    }
    if n_forest == 0 {
        let _ = write!(h, "<p>No cell has two or more studies with effect sizes.</p>");
    }
    let _ = write!(h, "</section>");

    // 6. Run metadata.
    let run = super::score::run_metadata(ing, Some(cfg), &["intervention", "target_group", "income_setting"]);
    let _ = writeln!(
        h,
        "<section><h2 id=\"run\">Run</h2><pre>{}</pre></section></main><script>{JS}</script></body></html>",
        esc(&serde_json::to_string_pretty(&run).unwrap_or_default())
    );
    h
}

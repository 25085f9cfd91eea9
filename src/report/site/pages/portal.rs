//! The portal's pages: each returns its title and body; [`super::render`]
//! wraps them in the document. Links use the server's URLs
//! (docs/portal.md).

use super::parts::{self, capitalised, group_in_setting};
use super::{query_href, Mode};
use crate::model::{IncomeSetting, OutcomeDomain};
use crate::report::gapmap::Level;
use crate::report::site::{PageError, Query, Site};
use crate::report::words;
use crate::score::rank::RankResult;
use maud::{html, Markup, PreEscaped};

const MODE: Mode = Mode::Portal;

/// `/`: the question form, the scale, and every intervention.
pub fn home(site: &Site, q: &Query) -> Markup {
    html! {
        p.lead {
            "Choose a target group and an income setting to see every evaluated intervention, ranked, with its verdict, how sure it is, and why. "
            "Verdicts are on the UNICEF scale: "
            (parts::badge(crate::model::Rating::Effective, false, false)) " "
            (parts::badge(crate::model::Rating::Promising, false, false)) " "
            (parts::badge(crate::model::Rating::Prudent, false, false)) " "
            (parts::badge(crate::model::Rating::NeedsResearch, false, false)) " "
            (parts::badge(crate::model::Rating::Ineffective, false, false)) " "
            (parts::badge(crate::model::Rating::Ineffective, true, false))
            " (" a href="/method" { "the rule behind each" } ")."
        }
        (parts::question_form(site, q, "/find", false))
        h2 { "Or start from" }
        ul.plain {
            li { a href="/gap-map" { "the evidence and gap map" } ": every intervention by target group and income setting, with the gaps." }
            li { a href="/method" { "how verdicts are made" } " and the configuration in use." }
            li { a href="/data" { "the data" } ": files, hashes, warnings and rejected rows." }
        }
        h2 { "Interventions in the data" }
        (intervention_list(site))
    }
}

/// Every intervention, grouped by INSPIRE strategy.
fn intervention_list(site: &Site) -> Markup {
    let mut strategies: Vec<Option<crate::model::Strategy>> = site.interventions.iter().map(|i| i.strategy).collect();
    strategies.sort_by_key(|s| s.map_or(99, |s| s as usize));
    strategies.dedup();
    html! {
        div.grid2 {
            @for s in &strategies {
                div {
                    h3 { (s.map_or("No INSPIRE strategy given", |s| s.title())) }
                    ul.plain {
                        @for i in site.interventions.iter().filter(|i| i.strategy == *s) {
                            li { a href=(MODE.intervention_href(&i.slug)) { (i.name) } }
                        }
                    }
                }
            }
        }
    }
}

/// `/find`: the ranked list for a target group and setting; without
/// both, one list per group and setting that matches.
///
/// # Errors
/// [`PageError::BadQuery`] for a target group not in the data.
pub fn find(site: &Site, q: &Query) -> Result<(String, Markup), PageError> {
    let groups: Vec<&str> = match &q.target_group {
        Some(g) => vec![site.target_group_shown(g).ok_or_else(|| site.unknown_target_group(g))?],
        None => site.target_groups.iter().map(String::as_str).collect(),
    };
    let settings: Vec<IncomeSetting> = q.income_setting.map_or_else(|| IncomeSetting::ALL.to_vec(), |s| vec![s]);
    let mut lists: Vec<RankResult> = Vec::new();
    for g in &groups {
        for s in &settings {
            let r = site.rank(g, *s, q.strategy).map_err(|e| PageError::BadQuery(e.to_string()))?;
            if !r.rows.is_empty() {
                lists.push(r);
            }
        }
    }
    let single = groups.len() == 1 && settings.len() == 1;
    let title = match (groups.as_slice(), q.income_setting) {
        ([g], Some(s)) => format!("What works for {}?", group_in_setting(g, s)),
        _ => "What works? Ranked lists".to_string(),
    };
    let strategy = q.strategy.map(|s| format!(" Strategy: {}.", s.title())).unwrap_or_default();
    let domain = q.domain.map(|d| format!(" Only interventions with evidence on {}.", d.label())).unwrap_or_default();
    let body = html! {
        (parts::question_form(site, q, "/find", false))
        @if !single {
            p.note { "Choose a target group and an income setting for one ranked list; below is one list per group and setting." (strategy) (domain) }
        } @else if !strategy.is_empty() || !domain.is_empty() {
            p.note { (strategy) (domain) }
        }
        (parts::downloads(MODE, &[
            ("verdicts (CSV)", query_href("/api/v1/verdicts.csv", q, &[])),
            ("verdicts (JSON)", query_href("/api/v1/verdicts", q, &[])),
            ("gap map (SVG)", query_href("/gap-map.svg", q, &[])),
            ("report (HTML)", "/report.html".to_string()),
        ]))
        @if lists.is_empty() {
            p { "No intervention matches these filters." }
        }
        form.compare action="/compare" method="get" {
            @for (k, v) in super::query_pairs(q) {
                @if !v.is_empty() { input type="hidden" name=(k) value=(v); }
            }
            @for r in &lists {
                @if !single { h2 { (capitalised(&group_in_setting(&r.target_group, r.income_setting))) } }
                (compare_picks(site, r, q))
                (parts::ranked_table(site, r, single.then_some("results"), MODE, q.domain))
            }
            @if !lists.is_empty() {
                p { button type="submit" { "Compare the ticked interventions" } " (two to four, for one group and setting)" }
            }
        }
        (parts::ranked_legend())
    };
    Ok((title, body))
}

/// Tick boxes to pick interventions to compare (their group and setting
/// go with them).
fn compare_picks(site: &Site, r: &RankResult, q: &Query) -> Markup {
    html! {
        @if q.target_group.is_some() && q.income_setting.is_some() {
            fieldset.picks {
                legend { "Compare" }
                @for row in &r.rows {
                    @let slug = site.slug(&row.intervention).unwrap_or_default();
                    label.pick { input type="checkbox" name="ids" value=(slug); " " (row.intervention) }
                    " "
                }
            }
        }
    }
}

/// `/intervention/{slug}`.
///
/// # Errors
/// [`PageError::NotFound`] for an unknown slug.
pub fn intervention(site: &Site, slug: &str) -> Result<(String, Markup), PageError> {
    let entry = site.intervention(slug).ok_or_else(|| site.unknown_intervention(slug))?;
    Ok((entry.name.clone(), parts::intervention_body(site, entry, MODE, &parts::Budget::unlimited())))
}

/// `/compare`: two to four interventions side by side for one target
/// group and setting (and a domain to look at).
///
/// # Errors
/// [`PageError::BadQuery`] without 2-4 known interventions, a target group
/// and a setting; [`PageError::NotFound`] for an unknown slug.
pub fn compare(site: &Site, slugs: &[String], q: &Query) -> Result<(String, Markup), PageError> {
    if !(2..=4).contains(&slugs.len()) {
        return Err(PageError::BadQuery(format!(
            "compare takes two to four interventions (ids=a,b); {} given",
            slugs.len()
        )));
    }
    let (Some(g), Some(s)) = (q.target_group.as_deref(), q.income_setting) else {
        return Err(PageError::BadQuery(
            "compare needs a target group and an income setting (target_group=...&income_setting=...)".into(),
        ));
    };
    let shown = site.target_group_shown(g).ok_or_else(|| site.unknown_target_group(g))?;
    let r = site.rank(shown, s, None).map_err(|e| PageError::BadQuery(e.to_string()))?;
    let mut picked = Vec::new();
    for slug in slugs {
        let entry = site.intervention(slug).ok_or_else(|| site.unknown_intervention(slug))?;
        picked.push((entry, r.rows.iter().find(|row| row.intervention == entry.name)));
    }
    let title = format!("Compare for {}", group_in_setting(shown, s));
    let domains: Vec<OutcomeDomain> = q.domain.map_or_else(|| OutcomeDomain::ALL.to_vec(), |d| vec![d]);
    let body = html! {
        p.note { "Each column is one intervention's verdict for " (group_in_setting(shown, s)) ", as in the ranked list." }
        table id="compare" {
            thead {
                tr {
                    th scope="col" { "" }
                    @for (e, _) in &picked { th scope="col" { a href=(MODE.intervention_href(&e.slug)) { (e.name) } } }
                }
            }
            tbody {
                (compare_row("Rank", &picked, |row| html! { (row.rank) " of " (r.rows.len()) }))
                (compare_row("Verdict", &picked, |row| parts::cell_verdict(&row.cell)))
                (compare_row("Rests on", &picked, |row| html! { (row.cell.domain.label()) }))
                (compare_row("Certainty", &picked, |row| html! { (row.cell.certainty.label()) }))
                (compare_row("How sure", &picked, |row| html! { (words::sure_phrase(&row.cell)) }))
                (compare_row("Evidence", &picked, |row| html! { (words::basis(&row.cell)) }))
                (compare_row("Studies", &picked, |row| html! { (row.cell.n_studies) @if row.cell.n_borrowed_studies > 0 { " + " (row.cell.n_borrowed_studies) " borrowed" } }))
                (compare_row("Harm", &picked, |row| html! { (words::harm_phrase(&row.cell)) }))
                @for d in &domains {
                    (compare_row(&capitalised(d.label()), &picked, |row| html! {
                        @match row.cell.domain_result(*d) {
                            Some(x) => { (parts::badge(x.category, x.harm, false)) br; span.small { (words::rule_sentence(x)) } }
                            None => { span.muted { "no studies" } }
                        }
                    }))
                }
                (compare_row("Why", &picked, |row| html! { (words::why(&row.cell)) }))
                (compare_row("Closest change", &picked, |row| html! { (parts::closest_change(&row.cell)) }))
            }
        }
        (parts::downloads(MODE, &[
            ("verdicts (CSV)", query_href("/api/v1/verdicts.csv", q, &[])),
            ("verdicts (JSON)", query_href("/api/v1/verdicts", q, &[])),
        ]))
    };
    Ok((title, body))
}

fn compare_row(
    label: &str,
    picked: &[(&crate::report::site::InterventionEntry, Option<&crate::score::rank::RankedRow>)],
    cell: impl Fn(&crate::score::rank::RankedRow) -> Markup,
) -> Markup {
    html! {
        tr {
            th scope="row" { (label) }
            @for (_, row) in picked {
                td {
                    @match row {
                        Some(row) => { (cell(row)) }
                        None => { span.muted { "not evaluated for this target group" } }
                    }
                }
            }
        }
    }
}

/// `/gap-map`: the map with the question's filters; a bubble links to its
/// cell's studies.
///
/// # Errors
/// [`PageError::BadQuery`] for a target group not in the data.
pub fn gap_map(site: &Site, q: &Query) -> Result<(String, Markup), PageError> {
    if let Some(g) = &q.target_group {
        if site.target_group_shown(g).is_none() {
            return Err(site.unknown_target_group(g));
        }
    }
    let svg = linked_gap_map(site, q);
    let level = match q.level {
        Some(Level::Strategy) => "strategy",
        _ => "intervention",
    };
    let body = html! {
        (parts::question_form(site, q, "/gap-map", true))
        p.note {
            "Bubble area: studies; colour: the verdict; a dashed outline: a verdict borrowed from other income settings; ×: harm; dashed squares: no evaluation (a gap). "
            @if q.level != Some(Level::Strategy) { "Select a bubble to see the cell's verdict and studies." }
        }
        (parts::downloads(MODE, &[
            ("map (SVG)", query_href("/gap-map.svg", q, &[("level", level)])),
            ("map (PNG)", query_href("/gap-map.png", q, &[("level", level)])),
            ("cells (CSV)", query_href("/api/v1/gap-map.csv", q, &[("level", level)])),
            ("cells (JSON)", query_href("/api/v1/gap-map", q, &[("level", level)])),
        ]))
        div.svgwrap id="gapmap" { (PreEscaped(svg)) }
    };
    Ok(("Evidence and gap map".to_string(), body))
}

/// The map with each intervention bubble linked to its cell.
pub fn linked_gap_map(site: &Site, q: &Query) -> String {
    let (map, opts) = site.gap_map(q);
    if opts.level == Level::Strategy {
        return crate::report::gapmap::render_svg(&map, &opts);
    }
    crate::report::gapmap::render_svg_linked(&map, &opts, &|row, tg, setting| {
        let slug = site.slug(row)?;
        Some(MODE.cell_href(slug, tg, setting))
    })
}

/// `/method`.
pub fn method(site: &Site) -> Markup {
    parts::method(site)
}

/// `/data`.
pub fn data(site: &Site) -> Markup {
    html! {
        (parts::provenance(site))
        (parts::downloads(MODE, &[
            ("verdicts (CSV)", "/api/v1/verdicts.csv".to_string()),
            ("verdicts (JSON)", "/api/v1/verdicts".to_string()),
            ("studies (CSV)", "/api/v1/studies.csv".to_string()),
            ("report (HTML)", "/report.html".to_string()),
        ]))
    }
}

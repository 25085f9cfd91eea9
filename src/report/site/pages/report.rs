//! The static report (`evidex report`): the portal's sections in one file.
//! Ranked lists for every target group and setting (a filter shows one at
//! a time when script runs; all show without it and in print), the gap
//! maps, every intervention with its cells, the method and the data.

use super::parts::{self, capitalised, group_in_setting};
use super::Mode;
use crate::model::{IncomeSetting, OutcomeDomain};
use crate::report::gapmap::{self, GapMapOptions, Level};
use crate::report::site::{Query, Site};
use crate::report::words;
use maud::{html, Markup, PreEscaped};

const MODE: Mode = Mode::Report;

/// The report's body.
pub fn body(site: &Site) -> Markup {
    let budget = parts::Budget::report();
    html! {
        p.lead {
            "Verdicts per intervention, target group and income setting on the UNICEF scale, with how sure each is and why. "
            (site.data_note()) "."
        }
        (ranked_section(site))
        (gap_map_section(site))
        section {
            h2 id="interventions" { "Interventions" }
            p.note { "Every cell of every intervention: the verdict with the rule behind it, the verdict per outcome domain, forest plots of the syntheses, the studies and their findings." }
            nav.toc aria-label="interventions" {
                ul.plain {
                    @for i in &site.interventions {
                        li { a href=(MODE.intervention_href(&i.slug)) { (i.name) } }
                    }
                }
            }
            @for entry in &site.interventions {
                article.intervention id=(format!("i-{}", entry.slug)) {
                    h3 { (entry.name) }
                    (parts::intervention_body(site, entry, MODE, &budget))
                }
            }
        }
        section {
            h2 id="method" { "How verdicts are made" }
            (parts::method(site))
        }
        section {
            h2 id="data" { "Data and provenance" }
            (parts::provenance(site))
        }
    }
}

/// Ranked lists for every target group and setting with evidence, the
/// filter choosing one.
fn ranked_section(site: &Site) -> Markup {
    let first = site.target_groups.first().cloned().unwrap_or_default();
    html! {
        section {
            h2 id="ranked-h" { "Ranked interventions per target group and income setting" }
            div.filters {
                div {
                    label for="f-group" { "Target group" }
                    select id="f-group" {
                        option value="*" { "all" }
                        @for g in &site.target_groups { option value=(g) selected[*g == first] { (g) } }
                    }
                }
                div {
                    label for="f-setting" { "Income setting" }
                    select id="f-setting" {
                        option value="*" { "all" }
                        @for s in IncomeSetting::ALL { option value=(s.key()) selected[s == IncomeSetting::Lic] { (words::setting_with_code(s)) } }
                    }
                }
                div id="f-status" role="status" aria-live="polite" {}
            }
            (parts::ranked_legend())
            @for g in &site.target_groups {
                @for s in IncomeSetting::ALL {
                    @if let Ok(r) = site.rank(g, s, None) {
                        @if !r.rows.is_empty() {
                            section.rank-block data-group=(g) data-setting=(s.key()) {
                                h3 { (capitalised(&group_in_setting(g, s))) }
                                (parts::ranked_table(site, &r, Some(&format!("ranked-{}", super::cell_anchor(g, s))), MODE, None))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The gap map of every setting, then one per setting and per domain.
fn gap_map_section(site: &Site) -> Markup {
    let all = Query::default();
    let map_of = |q: &Query| -> String {
        let (map, opts) = site.gap_map(q);
        gapmap::render_svg_linked(&map, &opts, &|row, tg, setting| {
            site.slug(row).map(|slug| MODE.cell_href(slug, tg, setting))
        })
    };
    let settings: Vec<IncomeSetting> =
        IncomeSetting::ALL.into_iter().filter(|s| site.ing.records.iter().any(|r| r.income_setting == *s)).collect();
    let domains: Vec<OutcomeDomain> =
        OutcomeDomain::ALL.into_iter().filter(|d| site.ing.records.iter().any(|r| r.outcome_domain == *d)).collect();
    let strategy = Query { level: Some(Level::Strategy), ..Query::default() };
    let (smap, sopts): (_, GapMapOptions) = site.gap_map(&strategy);
    html! {
        section {
            h2 id="gapmap" { "Evidence and gap map" }
            p.note {
                "Bubble area: studies; colour: the verdict as the ranked lists give it; a dashed outline: a verdict borrowed from other income settings; ×: harm; "
                "dashed squares: no evaluation (a gap). Select a bubble for the cell's explanation."
            }
            div.svgwrap id="gapmap-all" { (PreEscaped(map_of(&all))) }
            @for s in &settings {
                details {
                    summary { "Gap map for " (words::setting_with_code(*s)) " settings (borrowed evidence where a cell has too little of its own)" }
                    div.svgwrap { (PreEscaped(map_of(&Query { income_setting: Some(*s), ..Query::default() }))) }
                }
            }
            @for d in &domains {
                details {
                    summary { "Gap map of verdicts on " (d.label()) " only" }
                    div.svgwrap { (PreEscaped(map_of(&Query { domain: Some(*d), ..Query::default() }))) }
                }
            }
            details {
                summary { "Gap map of INSPIRE strategies" }
                div.svgwrap { (PreEscaped(gapmap::render_svg(&smap, &sopts))) }
            }
        }
    }
}

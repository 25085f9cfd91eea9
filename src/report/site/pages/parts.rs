//! Section components shared by the portal's pages and the static report:
//! the ranked list, a cell's explanation (verdict and its rule, outcome
//! domains, certainty, studies, findings, forest plots), the question form,
//! downloads, provenance and the method. Every value is spliced through
//! maud (escaped); SVG from our own renderers is the only pre-escaped text.

use super::Mode;
use crate::model::{IncomeSetting, OutcomeDomain, Rating, Strategy};
use crate::report::site::{InterventionEntry, Query, Site};
use crate::report::words;
use crate::score::rank::{RankResult, RANK_ORDER};
use crate::score::weight::record_weight;
use crate::score::{Basis, CellResult, Certainty};
use maud::{html, Markup, PreEscaped};
use std::cell::Cell;
use std::collections::BTreeSet;

/// How much one document shows: the report file holds every intervention,
/// so on large data it stops after so many cells, forest plots and
/// findings per cell (as the old report did) and says where the rest is;
/// a portal page shows one intervention in full.
#[derive(Debug)]
pub struct Budget {
    cells: Cell<usize>,
    forests: Cell<usize>,
    /// Findings listed per cell.
    pub findings: usize,
}

impl Budget {
    /// Everything (a portal page).
    pub fn unlimited() -> Budget {
        Budget { cells: Cell::new(usize::MAX), forests: Cell::new(usize::MAX), findings: usize::MAX }
    }

    /// The report file: 2000 cells, 300 forest plots, 200 findings a cell.
    pub fn report() -> Budget {
        Budget { cells: Cell::new(2000), forests: Cell::new(300), findings: 200 }
    }

    fn take(c: &Cell<usize>) -> bool {
        let left = c.get();
        c.set(left.saturating_sub(1));
        left > 0
    }
}

/// The CSS class of a verdict's colour.
pub fn verdict_class(cat: Rating, harm: bool) -> String {
    format!("badge v-{}", words::category_value(cat, harm))
}

/// A verdict in words and colour; a dashed outline when it rests on
/// evidence borrowed from other income settings.
pub fn badge(cat: Rating, harm: bool, borrowed: bool) -> Markup {
    let class = if borrowed { format!("{} borrowed", verdict_class(cat, harm)) } else { verdict_class(cat, harm) };
    html! { span class=(class) { (words::category(cat, harm)) } }
}

/// A cell's verdict with its borrowed-evidence mark.
pub fn cell_verdict(c: &CellResult) -> Markup {
    let borrowed = c.basis == Basis::Borrowed;
    html! {
        (badge(c.category, c.harm_flag, borrowed))
        @if borrowed {
            br;
            span.tag.borrowed title="rests on evidence borrowed from other income settings, discounted and capped" {
                "borrowed evidence"
            }
        }
    }
}

/// The closest change in words, or that none was found.
pub fn closest_change(c: &CellResult) -> String {
    c.flip.as_ref().map_or_else(
        || "none found: leaving out any one study or adding one or two does not change it".to_string(),
        words::flip,
    )
}

/// One outcome domain's verdict in a ranked row (bold when the headline
/// rests on it), or a dash.
fn domain_verdict(c: &CellResult, d: OutcomeDomain) -> Markup {
    html! {
        @match c.domain_result(d) {
            Some(x) => {
                span class=[(d == c.domain).then_some("rests")] title=(words::rule_sentence(x)) {
                    (words::category(x.category, x.harm))
                }
            }
            None => { span.muted title="no studies on this outcome domain" { "–" } }
        }
    }
}

/// Sort key of a verdict (as `rank` orders: harm last).
fn verdict_order(c: &CellResult) -> usize {
    c.category.index() + if c.harm_flag { 10 } else { 0 }
}

/// Sort key of certainty (high first).
fn certainty_order(c: Certainty) -> usize {
    3 - c as usize
}

/// The ranked list of one target group and setting: one row per
/// intervention, the verdict and its evidence on one line, why and the
/// closest change at full width below. `domain`: only interventions with
/// evidence on that outcome domain.
pub fn ranked_table(
    site: &Site,
    r: &RankResult,
    id: Option<&str>,
    mode: Mode,
    domain: Option<OutcomeDomain>,
) -> Markup {
    let rows: Vec<_> = r.rows.iter().filter(|row| domain.is_none_or(|d| row.cell.domain_result(d).is_some())).collect();
    html! {
        @if rows.is_empty() {
            p { "No intervention evaluated for this group matches the filters." }
        } @else {
            table.ranked.sortable id=[id] {
                thead {
                    tr {
                        th.num scope="col" { button type="button" title="rank" { "#" } }
                        th scope="col" { button type="button" { "Intervention" } }
                        th scope="col" { button type="button" { "Verdict" } }
                        th scope="col" { button type="button" { "Rests on" } }
                        th scope="col" { button type="button" { "Certainty" } }
                        th scope="col" { button type="button" { "How sure" } }
                        th scope="col" { "Evidence" }
                        th.num scope="col" { button type="button" { "Studies" } }
                        th scope="col" { "Harm" }
                        @for d in OutcomeDomain::ALL {
                            th.by-domain scope="col" { (capitalised(d.label())) }
                        }
                        th.why scope="col" { "Why" }
                        th.change scope="col" { "Closest change" }
                    }
                }
                tbody {
                    @for row in rows {
                        @let c = &row.cell;
                        @let slug = site.slug(&row.intervention).unwrap_or_default();
                        tr data-slug=(slug) class=[c.harm_flag.then_some("harmful")] {
                            td.num data-v=(row.rank) { (row.rank) }
                            td.name {
                                a href=(mode.intervention_href(slug)) { (row.intervention) }
                                @if let Some(s) = c.strategy {
                                    br;
                                    span.small.muted { (s.title()) }
                                }
                            }
                            td.verdict data-v=(verdict_order(c)) { (cell_verdict(c)) }
                            td.domain { (c.domain.label()) }
                            td.certainty data-v=(certainty_order(c.certainty)) { (c.certainty.label()) }
                            td.sure data-v=(c.robustness.unwrap_or(0.0)) title=(words::sureness(c)) { (words::sure_phrase(c)) }
                            td.basis { (words::basis(c)) }
                            td.studies.num data-v=(c.n_studies + c.n_borrowed_studies) {
                                (c.n_studies)
                                @if c.n_borrowed_studies > 0 { " + " (c.n_borrowed_studies) " borrowed" }
                            }
                            td.harm { span class=[c.harm_flag.then_some("harm-yes")] { (words::harm_phrase(c)) } }
                            @for d in OutcomeDomain::ALL {
                                td.by-domain { (domain_verdict(c, d)) }
                            }
                            td.why { span.label { "Why: " } (words::why(c)) }
                            td.change { span.label { "Closest change: " } (closest_change(c)) }
                        }
                    }
                }
            }
        }
    }
}

/// "Ranked: ..." and what the columns mean, under a ranked list.
pub fn ranked_legend() -> Markup {
    html! {
        p.muted.note {
            "Ranked: " (RANK_ORDER) ". The verdict rests on the outcome domain shown (violence first, then behaviour, other outcomes, risk factors). "
            "A dashed outline marks a verdict borrowed from other income settings: the cell has too little evidence of its own, so the evidence is discounted and the verdict capped. "
            "How sure: the share of plausible analysis settings that keep the verdict, and whether one study decides it. "
            "Closest change: the smallest change to the evidence that would change the verdict."
        }
    }
}

/// A capitalised label ("Other outcomes").
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
}

/// A target group with its setting in words: "adolescent girls in
/// low-income (LIC) settings".
pub fn group_in_setting(target_group: &str, s: IncomeSetting) -> String {
    format!("{target_group} in {} settings", words::setting_with_code(s))
}

/// The title of a forest plot of one cell and domain.
pub fn forest_title(name: &str, target_group: &str, s: IncomeSetting, d: OutcomeDomain) -> String {
    format!("{name}: {} for {target_group}, {} settings (effects as reported)", d.label(), words::setting(s))
}

/// The question form (`/` and `/find`; the gap map adds the level).
pub fn question_form(site: &Site, q: &Query, action: &str, with_level: bool) -> Markup {
    let group = q.target_group.as_deref().and_then(|t| site.target_group_shown(t));
    let groups = site.target_groups.iter().map(|g| (g.clone(), g.clone(), group == Some(g.as_str())));
    let settings =
        IncomeSetting::ALL.map(|s| (s.key().to_string(), words::setting_with_code(s), q.income_setting == Some(s)));
    let strategies = Strategy::ALL.map(|s| (s.key().to_string(), s.title().to_string(), q.strategy == Some(s)));
    let domains = OutcomeDomain::ALL.map(|d| (d.key().to_string(), d.label().to_string(), q.domain == Some(d)));
    let strategy_rows = q.level == Some(crate::report::gapmap::Level::Strategy);
    html! {
        form.filters action=(action) method="get" {
            (select_field("q-group", "target_group", "Target group", Some("any"), groups))
            (select_field("q-setting", "income_setting", "Income setting", Some("any"), settings))
            (select_field("q-strategy", "strategy", "INSPIRE strategy", Some("any"), strategies))
            (select_field("q-domain", "domain", "Outcome domain", Some("any"), domains))
            @if with_level {
                (select_field("q-level", "level", "Rows", None, [
                    ("intervention".to_string(), "interventions".to_string(), !strategy_rows),
                    ("strategy".to_string(), "INSPIRE strategies".to_string(), strategy_rows),
                ]))
            }
            div { button type="submit" { "Show" } }
        }
    }
}

/// A labelled select of (value, words, selected) options, with an empty
/// first option when `any` names it.
fn select_field(
    id: &str,
    name: &str,
    label: &str,
    any: Option<&str>,
    options: impl IntoIterator<Item = (String, String, bool)>,
) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @if let Some(a) = any { option value="" { (a) } }
                @for (value, words, selected) in options {
                    option value=(value) selected[selected] { (words) }
                }
            }
        }
    }
}

/// Download links (portal only: the report is itself the download).
pub fn downloads(mode: Mode, links: &[(&str, String)]) -> Markup {
    html! {
        @if mode == Mode::Portal && !links.is_empty() {
            p.downloads {
                span.label { "Download: " }
                @for (label, href) in links {
                    a href=(href) download { (label) }
                }
            }
        }
    }
}

/// Every cell of an intervention (by target group and setting), with its
/// heading and what it is.
pub fn intervention_body(site: &Site, entry: &InterventionEntry, mode: Mode, budget: &Budget) -> Markup {
    let cells: Vec<&CellResult> = site.cells_of(&entry.name).collect();
    let shown: Vec<&CellResult> = cells.iter().copied().filter(|_| Budget::take(&budget.cells)).collect();
    html! {
        p.lead {
            @if let Some(s) = entry.strategy { "INSPIRE strategy: " (s.title()) ". " }
            "Evaluated for " (words::count(cells.len() as u64, "target group and setting", "target groups and settings")) "; "
            "evidence up to " (site.score.reference_year) "."
        }
        p.muted {
            (capitalised(&site.data_note()))
            @if let Some(t) = &site.provenance.loaded_at { "; read " (t) }
            "."
        }
        @if mode == Mode::Portal {
            (downloads(mode, &[
                ("verdicts (CSV)", format!("/api/v1/interventions/{}.csv", entry.slug)),
                ("verdicts (JSON)", format!("/api/v1/interventions/{}", entry.slug)),
                ("studies (CSV)", format!("/api/v1/studies.csv?intervention={}", entry.slug)),
                ("report (HTML)", "/report.html".to_string()),
            ]))
            table.cells {
                thead { tr { th { "Target group" } th { "Setting" } th { "Verdict" } th { "Rests on" } th { "Certainty" } th.num { "Studies" } } }
                tbody {
                    @for c in &cells {
                        @let (g, s) = cell_place(c);
                        tr {
                            td { a href=(format!("#{}", mode.cell_id(&entry.slug, g, s))) { (g) } }
                            td { (words::setting_with_code(s)) }
                            td { (cell_verdict(c)) }
                            td { (c.domain.label()) }
                            td { (c.certainty.label()) }
                            td.num { (c.n_studies) }
                        }
                    }
                }
            }
        }
        @for c in &shown {
            (cell_section(site, entry, c, mode, budget))
        }
        @if shown.len() < cells.len() {
            p.muted {
                (words::count((cells.len() - shown.len()) as u64, "more cell is", "more cells are"))
                " not explained in this file (it stops after 2000): see `evidex explain` or the portal."
            }
        }
    }
}

/// A cell's target group (as displayed) and setting.
pub fn cell_place(c: &CellResult) -> (&str, IncomeSetting) {
    let g = c.get("target_group").unwrap_or_default();
    let s = c.get("income_setting").and_then(|s| IncomeSetting::parse(s).ok()).unwrap_or(IncomeSetting::Lic);
    (g, s)
}

/// One cell: the verdict with the rule behind it, the facts that decide
/// how sure it is, the verdict per outcome domain, forest plots, the
/// studies and their findings.
pub fn cell_section(site: &Site, entry: &InterventionEntry, c: &CellResult, mode: Mode, budget: &Budget) -> Markup {
    let (g, s) = cell_place(c);
    let heading = match mode {
        Mode::Portal => group_in_setting(g, s),
        Mode::Report => format!("{}: {}", entry.name, group_in_setting(g, s)),
    };
    html! {
        section.cell id=(mode.cell_id(&entry.slug, g, s)) data-target-group=(g) data-income-setting=(s.key()) {
            h3 { (capitalised(&heading)) " " (cell_verdict(c)) }
            p.lead { (capitalised(&words::verdict_sentence(c))) "." }
            (cell_facts(site, c))
            h4 { "Verdict per outcome domain" }
            (domains_table(c))
            (forest_figures(site, entry, c, mode, budget))
            h4 { "Studies" }
            (studies_table(site, entry, c))
            (findings_details(site, entry, c, budget.findings))
        }
    }
}

/// The facts behind a verdict, as a definition list.
fn cell_facts(site: &Site, c: &CellResult) -> Markup {
    html! {
        dl.facts {
            dt { "Rests on" }
            dd { (c.domain.label()) " (the first outcome domain, in the order violence, behaviour, other outcomes, risk factors, with a conclusive verdict)" }
            dt { "Evidence" }
            dd {
                (words::basis(c))
                @match (c.category_local, c.category_borrowed) {
                    (Some(l), Some(b)) => { " (local evidence alone: " (words::category(l, c.harm_local)) "; with borrowed evidence: " (b.label()) ")" }
                    (None, Some(_)) => { " (no local study)" }
                    _ => {}
                }
            }
            dt { "Studies" }
            dd {
                (words::count(c.n_studies as u64, "local study", "local studies"))
                @if c.n_borrowed_studies > 0 { " + " (c.n_borrowed_studies) " borrowed" }
                ", " (words::count(c.n_records, "finding", "findings"))
                @if let Some(d) = c.best_design { "; best design: " (words::design(d)) }
                @if c.total_sample > 0 { "; " (c.total_sample) " participants" }
            }
            dt { "Certainty" }
            dd {
                (c.certainty.label()) " (started " (c.certainty_start.label()) ": "
                (words::certainty_start_reason(c.certainty_start))
                ")"
                @if !c.downgrades.is_empty() {
                    ul.plain { @for d in &c.downgrades { li { "down for " (words::downgrade(d)) } } }
                }
            }
            dt { "How sure" }
            dd {
                (words::sureness(c))
                @if let Some(r) = c.robustness {
                    " (" (words::percent(r)) " of " (site.cfg.robustness.draws) " plausible settings of the band of unimportant effects, the optimal information size and the inconsistency threshold)"
                }
            }
            dt { "Closest change" }
            dd { (closest_change(c)) }
            dt { "Score" }
            dd { (words::score_text(c)) }
            dt { "Harm" }
            dd {
                @if c.harm_flag { strong.harm-yes { "credible evidence of harm" } }
                @else if let Some(h) = words::harm_signals(c) { (h) }
                @else { "no harm signal" }
            }
            dt { "Reviewers" }
            dd { (words::consensus_line(c)) }
            @if let Some(n) = &c.pooled_note {
                dt { "Pooling" }
                dd { (words::pool_note(n)) }
            }
        }
    }
}

/// The verdict per outcome domain with its rule and synthesis.
pub fn domains_table(c: &CellResult) -> Markup {
    html! {
        table.domains {
            thead { tr { th { "Outcome domain" } th { "Verdict" } th { "Why (the rule)" } th { "Certainty" } th.num { "Studies" } th { "Synthesis" } } }
            tbody {
                @for d in &c.domains {
                    tr class=[(d.domain == c.domain).then_some("rests")] {
                        td { (capitalised(d.domain.label())) @if d.domain == c.domain { br; span.small { "(the verdict rests on it)" } } }
                        td { (badge(d.category, d.harm, false)) }
                        td { (words::rule_sentence(d)) }
                        td { (d.certainty.label()) }
                        td.num { (d.n_studies) }
                        td {
                            @if let Some(p) = &d.pooled {
                                (words::effect_text(p))
                                @let x = &p.synthesis;
                                br;
                                span.small.muted {
                                    "I² " (format!("{:.0}%", x.i2)) ", τ² " (format!("{:.3}", x.tau2))
                                    @if p.descriptive { " (uncontrolled studies, description only)" }
                                }
                            } @else if let Some(n) = &d.pooled_note {
                                (words::pool_note(n))
                            } @else {
                                span.muted { "no synthesis" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Forest plots of a cell, one per outcome domain with studies with
/// effect sizes (in the report file, only syntheses of two or more
/// studies: a single study's plot is one click away in the portal, and
/// large tables would make the file too big to open).
fn forest_figures(site: &Site, entry: &InterventionEntry, c: &CellResult, mode: Mode, budget: &Budget) -> Markup {
    let (g, s) = cell_place(c);
    let min_studies = if mode == Mode::Report { 2 } else { 1 };
    let plots: Vec<(OutcomeDomain, String, String)> = OutcomeDomain::ALL
        .into_iter()
        .filter_map(|d| {
            let m = site.forest(&entry.name, g, s, d).filter(|m| m.overall.studies.len() >= min_studies)?;
            if !Budget::take(&budget.forests) {
                return None;
            }
            let title = forest_title(&entry.name, g, s, d);
            let svg = crate::report::forest::render_svg(&m.overall, m.measure, &title);
            Some((d, title, svg))
        })
        .collect();
    html! {
        @if !plots.is_empty() {
            h4 { "Forest plots" }
            @for (d, title, svg) in &plots {
                figure.svgwrap.forest {
                    (PreEscaped(svg))
                    figcaption {
                        (title) ". Each study's effect with its 95% CI, the pooled estimate (diamond) and the prediction interval."
                        @if mode == Mode::Portal {
                            @let q = super::query_string(&[("target_group", g), ("income_setting", s.key()), ("domain", d.key())]);
                            " " a href=(format!("/forest/{}.svg{q}", entry.slug)) download { "SVG" }
                            " " a href=(format!("/forest/{}.png{q}", entry.slug)) download { "PNG" }
                        }
                    }
                }
            }
        }
    }
}

/// The studies of a cell: design, risk of bias, year, country, sample
/// size, what each can do for the verdict and what it shows per domain.
fn studies_table(site: &Site, entry: &InterventionEntry, c: &CellResult) -> Markup {
    let (g, s) = cell_place(c);
    let counts_fully = site.cfg.quality.unknown_rob_max == Rating::Effective;
    html! {
        @if c.studies.is_empty() {
            p { "No study is kept for this cell." }
        } @else {
            table.studies {
                thead {
                    tr {
                        th { "Study" } th { "Design" } th { "Risk of bias" } th.num { "Year" } th { "Country" } th.num { "n" }
                        th { "Counts as" } th { "Shows" }
                    }
                }
                tbody {
                    @for st in &c.studies {
                        @let records: Vec<_> = site.records_of(&entry.name, g, st.borrowed_from.unwrap_or(s))
                            .into_iter().filter(|r| r.study_key() == st.study).collect();
                        @let years: BTreeSet<i32> = records.iter().filter_map(|r| r.year).collect();
                        @let countries: BTreeSet<&str> = records.iter().filter_map(|r| r.country.as_deref()).collect();
                        tr {
                            td {
                                (st.study)
                                @if let Some(b) = st.borrowed_from {
                                    br;
                                    span.tag.borrowed { "borrowed from " (b.key()) ", keeps " (words::percent(st.transfer)) }
                                }
                            }
                            td { (st.best_design.map_or("not given", words::design)) }
                            td { (st.best_rob.map_or("not assessed", words::risk_of_bias)) }
                            td.num { (span_of(&years)) }
                            td { (countries.into_iter().collect::<Vec<_>>().join(", ")) }
                            td.num { @if st.max_sample > 0 { (st.max_sample) } @else { "–" } }
                            td.small { (words::appraisal(st.appraisal, counts_fully)) }
                            td.small {
                                @for (i, d) in st.domains.iter().enumerate() {
                                    @if i > 0 { "; " }
                                    (d.domain.label()) ": " (d.standing(&site.cfg.effects.delta, 1.0).label())
                                    @if d.explicit_harm { " (marked harmful)" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// "2015" or "2012–2016" or a dash.
fn span_of(years: &BTreeSet<i32>) -> String {
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "–".to_string(),
    }
}

/// Every local finding of a cell with its weight components.
fn findings_details(site: &Site, entry: &InterventionEntry, c: &CellResult, max: usize) -> Markup {
    let (g, s) = cell_place(c);
    let all = site.records_of(&entry.name, g, s);
    let records = &all[..all.len().min(max)];
    let year = site.score.reference_year;
    html! {
        @if !records.is_empty() {
            details.findings {
                summary { (words::count(all.len() as u64, "local finding", "local findings")) " and their weights" }
                @if records.len() < all.len() { p.muted { "The first " (records.len()) " are listed." } }
                table {
                    thead {
                        tr {
                            th { "Finding" } th { "Study" } th { "Outcome" } th { "Domain" } th { "Rating" } th { "Primary" }
                            th.num { "Weight" } th { "= design × risk of bias × sample × age" }
                        }
                    }
                    tbody {
                        @for r in records {
                            @let w = record_weight(r, &site.cfg, year);
                            tr {
                                td { (r.record_id) }
                                td { (r.study_key()) }
                                td { (r.outcome.as_deref().unwrap_or("")) }
                                td { (r.outcome_domain.label()) }
                                td {
                                    @match r.rating {
                                        Some(x) => { (words::category(x, r.harm)) }
                                        None if r.effect().is_usable() => { "no rating (judged from its effect size)" }
                                        None => { "no rating and no usable effect size (not scored)" }
                                    }
                                }
                                td { @match r.primary { Some(true) => { "yes" } Some(false) => { "no" } None => { "not said" } } }
                                td.num { (format!("{:.3}", w.total)) }
                                td.small {
                                    (format!("{:.2} × {:.2} × {:.2} × {:.2}", w.design, w.risk_of_bias, w.sample, w.age))
                                    @if r.rating.is_none() { (format!(" × unrated {:.2}", w.unrated)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Provenance: inputs with hashes, versions, configuration, warnings and
/// rejected rows with reasons.
pub fn provenance(site: &Site) -> Markup {
    let ing = &site.ing;
    html! {
        dl.facts {
            dt { "evidex" } dd { (env!("CARGO_PKG_VERSION")) }
            dt { "Scoring model" } dd { (crate::score::MODEL_VERSION) }
            dt { "Configuration" } dd { "sha256 " code { (site.cfg.hash()) } }
            dt { "Evidence up to" } dd { (site.score.reference_year) " (the reference year for the age of evidence)" }
            @if let Some(t) = &site.provenance.loaded_at { dt { "Data read" } dd { (t) } }
            dt { "Records" } dd { (ing.accepted()) " accepted, " (ing.rejected_count()) " rejected, " (ing.left_out()) " left out (placeholder interventions)" }
        }
        @if let Some(e) = &site.provenance.reload_error {
            p.error { strong { "The data could not be read again: " } (e) ". The pages show the last good state." }
        }
        h3 { "Input files" }
        table.files {
            thead { tr { th { "File" } th { "Format" } th { "Encoding" } th.num { "Rows read" } th.num { "Accepted" } th.num { "Rejected" } th.num { "Left out" } th { "sha256" } } }
            tbody {
                @for f in &ing.files {
                    tr {
                        td { (f.path) } td { (f.format.name()) } td { (f.encoding.as_deref().unwrap_or("")) }
                        td.num { (f.rows_read) } td.num { (f.accepted) } td.num { (f.rejected) } td.num { (f.left_out) }
                        td.small { code { (f.sha256) } }
                    }
                }
            }
        }
        h3 { "Warnings" }
        @if ing.warnings.is_empty() {
            p { "None." }
        } @else {
            ul.plain { @for w in &ing.warnings { li { (w.to_string()) } } }
        }
        h3 { "Rejected rows" }
        @if ing.rejected.is_empty() {
            p { "None: every row was read." }
        } @else {
            details.rejected open[ing.rejected.len() <= 20] {
                summary { (ing.rejected.len()) " rejected rows and why" }
                table {
                    thead { tr { th { "File" } th.num { "Line" } th { "Column" } th { "Value" } th { "Why" } } }
                    tbody {
                        @for e in ing.rejected.iter().take(1000) {
                            tr {
                                td { (e.file) } td.num { (e.line) } td { (e.column.as_deref().unwrap_or("")) }
                                td { (e.value.as_deref().unwrap_or("")) }
                                td { (e.message) @if let Some(s) = &e.suggestion { " (did you mean '" (s) "'?)" } }
                            }
                        }
                    }
                }
                @if ing.rejected.len() > 1000 { p.muted { "The first 1000 are shown." } }
            }
        }
    }
}

/// How verdicts are made: the scale, the rules in words, the order of
/// the ranked lists, the configuration in use, and sources.
pub fn method(site: &Site) -> Markup {
    let cfg = &site.cfg;
    html! {
        p.lead {
            "Every verdict comes from explicit rules applied to the studies of one intervention, for one target group, in one income setting "
            "(scoring model " (crate::score::MODEL_VERSION) "; the full model is docs/scoring.md in the evidex source). "
            "Each outcome domain gets a verdict with a GRADE certainty; the cell's verdict rests on the first domain with a conclusive verdict, "
            "in the order violence, behaviour, other outcomes, risk factors."
        }
        h3 { "The verdicts and the rule behind each" }
        table.rule-table {
            thead { tr { th { "Verdict" } th { "When" } } }
            tbody {
                tr { td { (badge(Rating::Effective, false, false)) } td { "At least " (cfg.category.effective_min_studies) " controlled, appraised studies show a benefit on violence or behaviour, at least one randomised, with at least " (cfg.category.adequate_certainty.label()) " certainty." } }
                tr { td { (badge(Rating::Promising, false, false)) } td { "A benefit from controlled evidence that is not yet enough for effective: one study, low certainty, non-randomised studies only, studies whose risk of bias was not assessed, or risk factors only." } }
                tr { td { (badge(Rating::Prudent, false, false)) } td { "No controlled, appraised evidence; support comes only from uncontrolled or high risk-of-bias studies." } }
                tr { td { (badge(Rating::NeedsResearch, false, false)) } td { "Too little evidence, inconclusive evidence (compatible with a benefit and with none), or conflicting conclusive evidence." } }
                tr { td { (badge(Rating::Ineffective, false, false)) } td { "Controlled evidence shows no important effect: the 95% CI lies within the band of unimportant effects." } }
                tr { td { (badge(Rating::Ineffective, true, false)) } td { "A controlled, appraised study or the synthesis shows significant harm on violence or behaviour. Harm signals that are not credible are listed, not counted." } }
            }
        }
        h3 { "Borrowed evidence" }
        p.note {
            "A cell with too little local evidence borrows the studies of the same intervention and target group in other income settings, with their information discounted "
            "by the distance between settings; a borrowed verdict is marked with a dashed outline, is capped at " (cfg.category.borrowed_max.label())
            ", and never overturns a local verdict from rigorous studies."
        }
        h3 { "How sure" }
        p.note {
            "Robustness is the share of " (cfg.robustness.draws) " plausible analysis settings (band of unimportant effects, optimal information size, inconsistency threshold) that keep the verdict. "
            "A verdict is fragile when leaving out one study and re-pooling changes it; the closest change says which study, or how many added studies would change it."
        }
        h3 { "Ranked lists" }
        p.note { "Ranked: " (RANK_ORDER) "." }
        h3 { "Configuration in use" }
        p { "sha256 " code { (cfg.hash()) } }
        details {
            summary { "The configuration (TOML)" }
            pre { (toml::to_string_pretty(cfg).unwrap_or_default()) }
        }
        h3 { "Sources" }
        ul.plain {
            li { "UNICEF / WHO, INSPIRE: Seven strategies for ending violence against children (2016), and the UNICEF evidence categories (effective, promising, prudent, needs more research, ineffective)." }
            li { "GRADE Working Group: certainty of evidence (risk of bias, inconsistency, imprecision, indirectness, publication bias)." }
            li { "Random-effects meta-analysis by REML with Hartung-Knapp intervals, as the R package metafor (Viechtbauer 2010)." }
            li { "Evidence and gap maps after the Campbell Collaboration and EPPI-Mapper conventions." }
        }
    }
}

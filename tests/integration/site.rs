//! The portal's view model and pages (issue 21): one scoring pass gives
//! exactly what `score` and `rank` give; every page renders from it; values
//! are escaped by construction; portal pages follow the CSP; the gap map
//! and the tables speak in words.

use crate::util::{data, run};
use evidex::ingest::{self, IngestOptions, Ingested};
use evidex::model::{IncomeSetting, TargetGroup};
use evidex::report::score::{rank_json_rows, score_json_rows};
use evidex::report::site::pages::{self, Mode};
use evidex::report::site::{Page, PageError, Provenance, Query, Site};
use evidex::score::rank::{rank, RankQuery};
use evidex::score::{score_records, GroupKey, ScoringConfig};

fn bundled() -> Ingested {
    ingest::ingest_one(&data("datasets/evidence_vac.csv"), &IngestOptions::default()).unwrap()
}

fn site() -> Site {
    Site::build(bundled(), ScoringConfig::default(), Provenance { loaded_at: None, reload_error: None })
}

/// The one pass equals `score` and every `rank`, byte for byte in JSON.
#[test]
fn one_scoring_pass_equals_score_and_every_rank() {
    let cfg = ScoringConfig::default();
    let ing = bundled();
    let site = site();
    let score = score_records(&ing.records, &GroupKey::DEFAULT, &cfg);
    assert_eq!(site.score, score);
    assert_eq!(
        serde_json::to_string(&score_json_rows(&site.score)).unwrap(),
        serde_json::to_string(&score_json_rows(&score)).unwrap()
    );
    assert!(site.target_groups.len() >= 4, "{:?}", site.target_groups);
    let mut compared = 0;
    for g in &site.target_groups {
        for s in IncomeSetting::ALL {
            for strategy in [None, Some(evidex::model::Strategy::ParentSupport)] {
                let q =
                    RankQuery { target_group: TargetGroup::new(g).unwrap(), income_setting: s, strategy, top: None };
                let cli = rank(&ing.records, &q, &cfg).unwrap();
                let ours = site.rank(g, s, strategy).unwrap();
                assert_eq!(ours, cli, "{g} / {s} / {strategy:?}");
                assert_eq!(
                    serde_json::to_string(&rank_json_rows(&ours)).unwrap(),
                    serde_json::to_string(&rank_json_rows(&cli)).unwrap(),
                    "{g} / {s}"
                );
                compared += cli.rows.len();
            }
        }
    }
    assert!(compared > 50, "{compared} ranked rows compared");
}

/// The binary's `rank --format json` rows are the view model's, byte for byte.
#[test]
fn site_rank_is_the_cli_rank_json() {
    let site = site();
    for (g, s) in [("adolescent girls", IncomeSetting::Lic), ("parents and caregivers", IncomeSetting::Umc)] {
        let cli = run(&[
            "rank",
            "datasets/evidence_vac.csv",
            "--target-group",
            g,
            "--income-setting",
            s.key(),
            "--format",
            "json",
        ])
        .json();
        let ours = rank_json_rows(&site.rank(g, s, None).unwrap());
        assert_eq!(serde_json::to_string(&cli["rows"]).unwrap(), serde_json::to_string(&ours).unwrap(), "{g} / {s}");
    }
}

fn all_pages(site: &Site) -> Vec<(String, String)> {
    let q = |pairs: &[(&str, &str)]| Query::from_pairs(pairs.iter().copied()).unwrap();
    let slugs: Vec<String> = site.interventions.iter().map(|i| i.slug.clone()).collect();
    let mut pages_: Vec<(String, Page)> = vec![
        ("home".into(), Page::Home(Query::default())),
        ("find".into(), Page::Find(q(&[("target_group", "adolescent girls"), ("income_setting", "LIC")]))),
        ("find-all".into(), Page::Find(Query::default())),
        (
            "find-domain".into(),
            Page::Find(q(&[("income_setting", "HIC"), ("domain", "behaviour"), ("strategy", "parent_support")])),
        ),
        (
            "compare".into(),
            Page::Compare {
                slugs: slugs[..3].to_vec(),
                query: q(&[("target_group", "adolescent girls"), ("income_setting", "LIC")]),
            },
        ),
        ("gap-map".into(), Page::GapMap(Query::default())),
        ("gap-map-lic".into(), Page::GapMap(q(&[("income_setting", "LIC"), ("domain", "violence")]))),
        ("gap-map-strategy".into(), Page::GapMap(q(&[("level", "strategy")]))),
        ("method".into(), Page::Method),
        ("data".into(), Page::Data),
    ];
    for s in &slugs {
        pages_.push((format!("intervention/{s}"), Page::Intervention(s.clone())));
    }
    pages_
        .into_iter()
        .map(|(name, p)| (name.clone(), pages::render(site, &p).unwrap_or_else(|e| panic!("{name}: {e}"))))
        .collect()
}

#[test]
fn every_page_renders_for_the_bundled_data_and_follows_the_csp() {
    let site = site();
    for (name, html) in all_pages(&site) {
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.contains("href=\"/static/evidex.css\"") && html.contains("src=\"/static/evidex.js\""), "{name}");
        // CSP `default-src 'self'`: no inline style or script anywhere.
        for bad in ["<style", "style=\"", "<script>", "javascript:", "onclick=", "onload=", "http://", "https://"] {
            let hit = html.replace("http://www.w3.org/2000/svg", "");
            assert!(!hit.contains(bad), "{name}: '{bad}' in the page");
        }
        // Words, not codes, in what people read (attributes may carry keys,
        // and the configuration file is shown as written).
        // The data page quotes the reader's warnings as they are written.
        let text = if name == "data" { String::new() } else { visible_text(&without_pre(&html)) };
        for code in ["needs_research", "very_low", "risk_factor", "some_concerns", "quasi_experimental", "(none)"] {
            assert!(!text.contains(code), "{name}: code '{code}' shown");
        }
    }
    // The pages the browser test and the server rely on.
    let find = pages::render(
        &site,
        &Page::Find(Query::from_pairs([("target_group", "adolescent girls"), ("income_setting", "LIC")]).unwrap()),
    )
    .unwrap();
    let rows = site.rank("adolescent girls", IncomeSetting::Lic, None).unwrap().rows;
    assert_eq!(find.matches("<tr data-slug=").count(), rows.len());
    for class in ["verdict", "domain", "certainty", "sure", "basis", "studies", "harm", "why", "change"] {
        assert!(find.contains(&format!("<td class=\"{class}")), "find: no cell of class {class}");
    }
    assert!(find.contains("id=\"results\"") && find.contains("action=\"/compare\""));
    let slug = &site.interventions[0].slug;
    let page = pages::render(&site, &Page::Intervention(slug.clone())).unwrap();
    for must in ["class=\"cell\"", "class=\"domains\"", "class=\"studies\""] {
        assert!(page.contains(must), "intervention page lacks {must}");
    }
    assert!(matches!(
        pages::render(&site, &Page::Intervention("nope".into())),
        Err(evidex::report::site::PageError::NotFound(_))
    ));
    let one = Page::Compare { slugs: vec![slug.clone()], query: Query::default() };
    assert!(matches!(pages::render(&site, &one), Err(evidex::report::site::PageError::BadQuery(_))));
}

/// The page without its `<pre>` blocks.
fn without_pre(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find("<pre>") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once("</pre>").map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// Text outside tags and attributes.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// A hostile intervention name is text on every page, never markup.
#[test]
fn hostile_names_are_escaped_by_construction() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(data("datasets/evidence_vac.csv")).unwrap();
    let evil = "<script>alert(1)</script> & \"quoted\" <img src=x onerror=alert(2)>";
    let csv_evil = format!("\"{}\"", evil.replace('"', "\"\""));
    let text = src.replacen("Trauma-focused CBT for child survivors", &csv_evil, 3);
    let p = dir.path().join("evil.csv");
    std::fs::write(&p, text).unwrap();
    let ing = ingest::ingest_one(&p, &IngestOptions::default()).unwrap();
    assert!(ing.records.iter().any(|r| r.intervention == evil), "the hostile name was read");
    let site =
        Site::build(ing, ScoringConfig::default(), Provenance { loaded_at: None, reload_error: Some(evil.into()) });
    let mut docs = all_pages(&site);
    docs.push(("report".into(), pages::static_report(&site)));
    docs.push(("gap-map.svg".into(), pages::gap_map_svg(&site, &Query::default())));
    docs.push(("error".into(), pages::error_page(&evidex::report::site::PageError::BadQuery(evil.into()))));
    for (name, html) in &docs {
        assert!(!html.contains("<script>alert"), "{name}: unescaped script");
        assert!(!html.contains("<img src=x"), "{name}: unescaped img");
    }
    let (_, home) = &docs[0];
    assert!(home.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"), "the name shows as text");
}

/// Gap-map columns keep their income setting; the strategy map has no
/// "(none)" row; the subtitle wraps inside the image.
#[test]
fn gap_map_labels_are_distinct_and_in_words() {
    let site = site();
    let (map, opts) = site.gap_map(&Query::default());
    let layout = evidex::report::gapmap::layout(&map, &opts, &|_, _, _| None);
    let labels: Vec<(String, Option<String>)> =
        layout.columns.iter().map(|c| (c.group.clone(), c.setting.clone())).collect();
    let distinct: std::collections::BTreeSet<_> = labels.iter().collect();
    assert_eq!(distinct.len(), labels.len(), "column labels repeat: {labels:?}");
    assert!(labels.iter().all(|(_, s)| s.is_some()), "every column names its setting");
    assert!(
        labels.iter().any(|(g, s)| g == "parents and caregivers" && s.as_deref() == Some("low-income (LIC)")),
        "{labels:?}"
    );
    let svg = pages::gap_map_svg(&site, &Query::default());
    assert!(svg.contains("<tspan") && svg.contains("high-income (HIC)"));
    // Every subtitle line fits the image (about 6.6 units a character at 11 units).
    let one = Query::from_pairs([("income_setting", "LMC")]).unwrap();
    let (map, opts) = site.gap_map(&one);
    let l = evidex::report::gapmap::layout(&map, &opts, &|_, _, _| None);
    assert!(l.subtitle.len() >= 2, "the one-setting subtitle wraps: {:?}", l.subtitle);
    for t in &l.subtitle {
        assert!(t.x + 6.6 * t.text.chars().count() as f64 <= l.width, "subtitle runs off: {}", t.text);
    }
    // Strategy level: records without a strategy are named in words.
    let strategy = Query::from_pairs([("level", "strategy")]).unwrap();
    let svg = pages::gap_map_svg(&site, &strategy);
    assert!(!svg.contains("(none)"), "a \"(none)\" row in the strategy map");
    let rows = svg.matches("class=\"row-label\"").count();
    assert!(rows >= 7, "{rows} strategy rows");
}

/// Forest titles wrap instead of being clipped.
#[test]
fn forest_titles_wrap_inside_the_plot() {
    let site = site();
    let mut seen = 0;
    for c in &site.score.cells {
        let (g, s) = (c.get("target_group").unwrap(), IncomeSetting::parse(c.get("income_setting").unwrap()).unwrap());
        let name = c.get("intervention").unwrap();
        let Some(m) = site.forest(name, g, s, c.domain) else { continue };
        let title = evidex::report::site::pages::parts::forest_title(name, g, s, c.domain);
        let l = evidex::report::forest::layout(&m.overall, m.measure, &title).unwrap();
        assert_eq!(l.title_lines.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" "), title);
        for (_, t) in &l.title_lines {
            assert!(10.0 + 8.6 * t.chars().count() as f64 <= l.width, "title runs off: {t}");
        }
        seen += 1;
    }
    assert!(seen > 3, "{seen} forest plots");
}

/// `score`'s terminal table speaks in words, as `rank` does.
#[test]
fn score_table_uses_words_not_codes() {
    let r = run(&["score", "datasets/evidence_vac.csv"]);
    r.expect_code(0);
    let out = r.stdout.clone();
    for code in [" needs_research ", " very_low ", " 1.000 ", " risk_factor "] {
        assert!(!out.contains(code), "'{code}' in score's table:\n{out}");
    }
    assert!(out.contains("needs more research") && out.contains("100%"), "{out}");
}

/// The report is the portal's pages in one file, with in-file links.
#[test]
fn static_report_links_inside_the_file() {
    let site = site();
    let html = pages::static_report(&site);
    assert!(html.contains("<style>") && html.contains("id=\"f-group\"") && html.contains("id=\"gapmap-all\""));
    assert!(!html.contains("href=\"/intervention/") && !html.contains("href=\"/static/"));
    let slug = &site.interventions[0].slug;
    assert!(html.contains(&format!("href=\"#i-{slug}\"")) && html.contains(&format!("id=\"i-{slug}\"")));
    // Maps whose bubbles are links are a group of controls, not an image
    // (an image cannot hold links: axe's nested-interactive).
    assert!(html.contains("role=\"group\"") && html.contains("<a href=\"#i-"));
    let a = Mode::Report.cell_id(slug, "adolescent girls", IncomeSetting::Lic);
    assert_eq!(a, format!("i-{slug}-cell-adolescent-girls-LIC"));
}

/// With `EVIDEX_PORTAL_DUMP=DIR`, writes the portal's pages where a static
/// file server finds them (`DIR/find/index.html` for `/find/`, the
/// stylesheet under `/static/`), for screenshots; otherwise does nothing.
#[test]
fn dump_portal_pages_for_screenshots() {
    let Ok(dir) = std::env::var("EVIDEX_PORTAL_DUMP") else { return };
    let dir = std::path::PathBuf::from(dir);
    let site = site();
    let q = |pairs: &[(&str, &str)]| Query::from_pairs(pairs.iter().copied()).unwrap();
    let girls = q(&[("target_group", "adolescent girls"), ("income_setting", "LIC")]);
    let rows = site.rank("adolescent girls", IncomeSetting::Lic, None).unwrap().rows;
    let slugs: Vec<String> = rows.iter().take(3).map(|r| site.slug(&r.intervention).unwrap().to_string()).collect();
    let pages_ = [
        ("", Page::Home(Query::default())),
        ("find", Page::Find(girls.clone())),
        ("intervention", Page::Intervention(slugs[0].clone())),
        ("compare", Page::Compare { slugs: slugs.clone(), query: girls }),
        ("gap-map", Page::GapMap(Query::default())),
        ("gap-map-lic", Page::GapMap(q(&[("income_setting", "LIC")]))),
        ("method", Page::Method),
        ("data", Page::Data),
    ];
    for (path, page) in pages_ {
        let d = dir.join(path);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.html"), pages::render(&site, &page).unwrap()).unwrap();
    }
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(dir.join("static/evidex.css"), pages::CSS).unwrap();
    std::fs::write(dir.join("static/evidex.js"), pages::JS).unwrap();
}

/// A mistyped intervention or target group names the closest one in the
/// data (expected names read off datasets/evidence_vac.csv by hand).
#[test]
fn unknown_names_get_the_closest_one() {
    let site = site();
    let q = |pairs: &[(&str, &str)]| Query::from_pairs(pairs.iter().copied()).unwrap();
    for typo in ["cash-transferz", "cash-transfer-to-households"] {
        let e = pages::render(&site, &Page::Intervention(typo.into())).unwrap_err();
        assert!(matches!(e, PageError::NotFound(_)), "{e:?}");
        assert!(e.to_string().contains("did you mean 'cash-transfers-to-households'?"), "{e}");
    }
    let e = pages::render(&site, &Page::Intervention("zzzz".into())).unwrap_err();
    assert!(e.to_string().contains("the data has 25 interventions"), "{e}");
    let e = pages::render(&site, &Page::Find(q(&[("target_group", "adolescent girl"), ("income_setting", "LIC")])))
        .unwrap_err();
    assert!(e.to_string().contains("did you mean 'adolescent girls'?"), "{e}");
}

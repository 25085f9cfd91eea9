//! Gap map, forest plot and HTML report: the pictures must match the
//! numbers (bubbles vs `score`, pooled row vs `meta`), stay readable at 200
//! interventions, and the report must be self-contained.

use crate::util::run;
use std::collections::BTreeMap;

/// Attribute values of every element carrying `class="<class>"`.
fn elements(svg: &str, class: &str) -> Vec<BTreeMap<String, String>> {
    let needle = format!("class=\"{class}\"");
    let mut out = Vec::new();
    for (pos, _) in svg.match_indices(&needle) {
        let start = svg[..pos].rfind('<').unwrap();
        let end = pos + svg[pos..].find('>').unwrap();
        let tag = &svg[start..end];
        let mut attrs = BTreeMap::new();
        for part in tag.split("\" ") {
            if let Some((k, v)) = part.split_once("=\"") {
                let k = k.rsplit(' ').next().unwrap().to_string();
                attrs.insert(k, v.trim_end_matches('"').replace("&amp;", "&").replace("&#39;", "'"));
            }
        }
        out.push(attrs);
    }
    out
}

#[test]
fn gap_map_bubbles_match_the_scores() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("map.svg");
    run(&["gapmap", "datasets/evidence_vac.csv", "--out", svg_path.to_str().unwrap()]).expect_code(0);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    // The default map has a column per target group and income setting: its
    // bubbles are the cells of `score` (local first, borrowing marked).
    let scores = run(&["score", "datasets/evidence_vac.csv", "--format", "json"]).json();
    let rows = scores["rows"].as_array().unwrap();
    let bubbles = elements(&svg, "bubble");
    assert_eq!(bubbles.len(), rows.len(), "one bubble per scored cell");
    for r in rows {
        let (i, g, s) = (
            r["intervention"].as_str().unwrap(),
            r["target_group"].as_str().unwrap(),
            r["income_setting"].as_str().unwrap(),
        );
        let col = format!("{g} · {s}");
        let b = bubbles
            .iter()
            .find(|b| b["data-row"] == i && b["data-col"] == col)
            .unwrap_or_else(|| panic!("no bubble for {i} / {col}"));
        let studies = r["n_studies"].as_u64().unwrap() + r["n_borrowed_studies"].as_u64().unwrap();
        assert_eq!(b["data-studies"], studies.to_string(), "{i} / {col}");
        assert_eq!(b["data-category"], r["category"].as_str().unwrap(), "{i} / {col}");
        assert_eq!(b["data-harm"], r["harm_flag"].to_string(), "{i} / {col}");
        assert_eq!(b["data-borrowed"], (r["basis"] == "borrowed").to_string(), "{i} / {col}");
    }
    // Every other interventions x columns cell is drawn as a visible gap.
    let n_int =
        rows.iter().map(|r| r["intervention"].as_str().unwrap()).collect::<std::collections::BTreeSet<_>>().len();
    let n_col = rows
        .iter()
        .map(|r| (r["target_group"].as_str().unwrap(), r["income_setting"].as_str().unwrap()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(elements(&svg, "gap").len(), n_int * n_col - rows.len());
    // The subtitle is wrapped into lines inside the image: read it joined.
    let subtitle: Vec<&str> =
        svg.split("class=\"subtitle\">").skip(1).map(|seg| seg.split('<').next().unwrap()).collect();
    assert!(
        svg.contains("harmful (marked ×)")
            && svg.contains("borrowed evidence")
            && subtitle.join(" ").contains("one column per target group and income setting")
            && svg.contains("scoring model evidex-score-")
    );
}

#[test]
fn gap_map_of_200_interventions_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("g.csv");
    run(&["generate", "--rows", "20000", "--seed", "3", "--interventions", "200", "--out", data.to_str().unwrap()])
        .expect_code(0);
    for level in ["intervention", "strategy"] {
        let out = dir.path().join(format!("{level}.svg"));
        run(&[
            "gapmap",
            data.to_str().unwrap(),
            "--level",
            level,
            "--income-setting",
            "LMC",
            "--out",
            out.to_str().unwrap(),
        ])
        .expect_code(0);
        let svg = std::fs::read_to_string(&out).unwrap();
        let labels = elements(&svg, "row-label");
        let expected_rows = if level == "strategy" { 7 } else { 200 };
        assert!(labels.len() >= expected_rows, "{level}: {} row labels", labels.len());
        // Each label sits on its own row band (no overlap) and long names are cut with the full name in <title>.
        let ys: Vec<f64> = labels.iter().map(|l| l["y"].parse().unwrap()).collect();
        assert!(ys.windows(2).all(|w| w[1] - w[0] >= 40.0), "{level}: labels overlap");
        for seg in svg.split("class=\"row-label\"><title>").skip(1) {
            let (full, rest) = seg.split_once("</title>").unwrap();
            let shown = rest.split('<').next().unwrap();
            assert!(shown.chars().count() <= 44, "{shown}");
            assert!(full.starts_with(shown.trim_end_matches('…')), "{full} / {shown}");
        }
    }
}

#[test]
fn forest_plot_matches_the_meta_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.svg");
    run(&["forest", "tests/data/dat.bcg.csv", "--measure", "RR", "--out", out.to_str().unwrap()]).expect_code(0);
    let svg = std::fs::read_to_string(&out).unwrap();
    let j = run(&["meta", "tests/data/dat.bcg.csv", "--measure", "RR", "--format", "json"]).json();
    let pooled = &elements(&svg, "pooled")[0];
    for (attr, key) in [
        ("data-estimate", "estimate"),
        ("data-ci-lower", "ci_lower"),
        ("data-ci-upper", "ci_upper"),
        ("data-pi-lower", "pi_lower"),
        ("data-pi-upper", "pi_upper"),
    ] {
        let got: f64 = pooled[attr].parse().unwrap();
        assert_eq!(got, j[key].as_f64().unwrap(), "{attr}");
    }
    let studies = elements(&svg, "study");
    assert_eq!(studies.len(), 13);
    let weights: f64 = studies.iter().map(|s| s["data-weight"].parse::<f64>().unwrap()).sum();
    assert!((weights - 100.0).abs() < 1e-9);
    // Ratio measure: axis labelled on the ratio scale, estimate printed exponentiated (RR 0.49 [0.34, 0.70]).
    assert!(svg.contains("0.49 [0.34, 0.70]   100%"), "pooled row text");
    assert!(svg.contains("RR (log scale)"));
    assert!(svg.contains("tau^2 = 0.313, I^2 = 92.2%, Q(12) = 152.23, p = &lt;.0001"));
}

#[test]
fn report_is_self_contained_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    run(&["report", "datasets/evidence_vac.csv", "tests/data/bad/bad_values.csv", "--out", out.to_str().unwrap()])
        .expect_code(0);
    let html = std::fs::read_to_string(&out).unwrap();
    for bad in ["src=\"http", "href=\"http", "@import", "url(http", "<link "] {
        assert!(!html.contains(bad), "external reference: {bad}");
    }
    for must in [
        "id=\"gapmap-all\"",
        "id=\"f-group\"",
        "id=\"f-setting\"",
        "class=\"ranked sortable\"",
        "class=\"cell\"",
        "class=\"svgwrap forest\"",
        "Configuration",
        "15 rejected rows and why",
    ] {
        assert!(html.contains(must), "missing {must}");
    }
}

#[test]
fn png_gap_map_is_rendered_with_bundled_fonts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map.png");
    run(&["gapmap", "datasets/evidence_vac.csv", "--format", "png", "--out", out.to_str().unwrap()]).expect_code(0);
    let png = std::fs::read(&out).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // IHDR width/height (big-endian) are 1.5 x the SVG size, so text and bubbles were laid out.
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(w > 1000 && h > 1000, "{w}x{h}");
    assert!(png.len() > 50_000, "suspiciously small PNG: {} bytes", png.len());
}

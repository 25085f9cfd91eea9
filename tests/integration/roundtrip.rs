//! `validate --accepted` round trips: scoring the accepted file gives the
//! verdicts of scoring the input (issue 19: the clean file once dropped
//! `primary`, `direction` and `outcome_domain`, and its verdicts changed).

use crate::util::{data, run_in};
use evidex::synth::Rng;
use std::path::Path;

/// Score `input` (with `extra` arguments) and the file `validate --accepted`
/// writes from it (without them: the accepted file is in contract names),
/// and require byte-identical `score --format csv` output and equal rows in
/// `score --format json`.
fn assert_round_trip(dir: &Path, input: &Path, extra: &[&str]) {
    let accepted = dir.join("accepted.csv");
    let input = input.to_str().unwrap();
    let acc = accepted.to_str().unwrap();
    let mut args = vec!["validate", input];
    args.extend_from_slice(extra);
    args.extend(["--accepted", acc]);
    let v = run_in(dir, &args);
    assert!(v.code == 0 || v.code == 1, "validate failed\n{}", v.show());
    let mut args = vec!["score", input];
    args.extend_from_slice(extra);
    args.extend(["--format", "csv"]);
    let from_input = run_in(dir, &args);
    from_input.expect_code(0);
    let from_accepted = run_in(dir, &["score", acc, "--format", "csv"]);
    from_accepted.expect_code(0);
    assert!(from_input.stdout.lines().count() > 1, "no verdicts\n{}", from_input.show());
    if from_input.stdout != from_accepted.stdout {
        let first = from_input.stdout.lines().zip(from_accepted.stdout.lines()).position(|(a, b)| a != b);
        panic!(
            "scoring the accepted file changed the verdicts (first differing line {first:?})\n--- input\n{}\n--- accepted\n{}\n--- accepted file\n{}",
            from_input.show(),
            from_accepted.show(),
            std::fs::read_to_string(&accepted).unwrap_or_default()
        );
    }
    // The JSON output's rows (everything but the run's inputs: paths and
    // checksums differ by construction) and accepted count agree too.
    let mut args = vec!["score", input];
    args.extend_from_slice(extra);
    args.extend(["--format", "json"]);
    let (a, b) = (run_in(dir, &args).json(), run_in(dir, &["score", acc, "--format", "json"]).json());
    assert!(a["rows"] == b["rows"], "JSON rows differ for {input}");
    for k in ["accepted", "keys", "model_version", "config_sha256"] {
        assert_eq!(a["run"][k], b["run"][k], "run.{k} differs for {input}");
    }
    // The accepted file is clean: every row of it is accepted again.
    run_in(dir, &["validate", acc]).expect_code(0);
}

#[test]
fn accepted_file_scores_like_the_bundled_sets() {
    for f in ["datasets/evidence_vac.csv", "datasets/evidence_vac_nl.csv", "datasets/evidence_vac_nl.xlsx"] {
        let dir = tempfile::tempdir().unwrap();
        assert_round_trip(dir.path(), &data(f), &[]);
    }
}

#[test]
fn accepted_file_scores_like_sv_meta_with_its_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = data("datasets/sv-meta/mapping.toml");
    assert_round_trip(
        dir.path(),
        &data("datasets/sv-meta/sv_meta_data.csv"),
        &["--columns", mapping.to_str().unwrap()],
    );
}

#[test]
fn accepted_file_keeps_every_contract_column_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("in.csv"),
        "record_id,study_id,intervention,target_group,income_setting,rating,strategy,country,design,sample_size,year,\
         outcome,outcome_domain,primary,direction,harm,effect_size,se,ci_lower,ci_upper,measure,risk_of_bias,source,notes\n\
         r1,s1,Safe Dates,adolescents,LMC,promising,P,KEN,rct,120,2015,dating violence,behaviour,yes,lower_is_better,no,\
         0.8,0.155,0.6,1.1,RR,high,\"Foshee, 1998\",kept\n\
         r2,s2,Safe Dates,adolescents,,veelbelovend,,Kenya,,,2016,knowledge,,,,ja,,,,,,,,\n",
    )
    .unwrap();
    run_in(d, &["validate", "in.csv", "--accepted", "out.csv"]).expect_code(0);
    let text = std::fs::read_to_string(d.join("out.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let head = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let cell = |row: usize, col: &str| {
        let i = head.iter().position(|h| h == col).unwrap_or_else(|| panic!("no column {col} in\n{text}"));
        rows[row][i].to_string()
    };
    let expected_r1 = [
        ("record_id", "r1"),
        ("study_id", "s1"),
        ("intervention", "Safe Dates"),
        ("target_group", "adolescents"),
        ("income_setting", "LMC"),
        ("rating", "promising"),
        ("strategy", "parent_support"),
        ("country", "KEN"),
        ("design", "rct"),
        ("sample_size", "120"),
        ("year", "2015"),
        ("outcome", "dating violence"),
        ("outcome_domain", "behaviour"),
        ("primary", "true"),
        ("direction", "lower_is_better"),
        ("harm", "false"),
        ("effect_size", "0.8"),
        ("se", "0.155"),
        ("ci_lower", "0.6"),
        ("ci_upper", "1.1"),
        ("measure", "RR"),
        ("risk_of_bias", "high"),
        ("source", "Foshee, 1998"),
        ("notes", "kept"),
        ("income_derived", "false"),
        ("domain_inferred", "false"),
        ("line", "2"),
    ];
    for (col, want) in expected_r1 {
        assert_eq!(cell(0, col), want, "column {col}\n{text}");
    }
    // The second row's income setting comes from Kenya in 2016 (lower
    // middle income in the World Bank's FY2018 table) and its domain from
    // the outcome text ("knowledge" is a risk factor, docs/scoring.md).
    let expected_r2 = [
        ("income_setting", "LMC"),
        ("income_derived", "true"),
        ("outcome_domain", "risk_factor"),
        ("domain_inferred", "true"),
        ("harm", "true"),
        ("rating", "promising"),
        ("primary", ""),
        ("direction", ""),
        ("notes", ""),
    ];
    for (col, want) in expected_r2 {
        assert_eq!(cell(1, col), want, "column {col}\n{text}");
    }
}

/// One random finding row over the whole contract: aliases, Dutch labels,
/// every kind of effect input, explicit domains that disagree with the
/// outcome text, both directions, primary flags, pass-through text with
/// commas, quotes and line breaks, and some rows that are rejected.
fn random_row(rng: &mut Rng, i: usize) -> Vec<String> {
    fn pick<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
        xs[rng.below(xs.len() as u64) as usize]
    }
    let interventions =
        ["Safe Dates", "safe dates", "Parenting for Lifelong Health", "IMPower", "Coaching Boys into Men"];
    let groups = ["adolescent girls", "Adolescent  Girls", "parents", "boys", "children", "college students"];
    let settings = ["LIC", "LMC", "UMC", "HIC", "lage inkomens", "upper middle-income", ""];
    let countries = ["KEN", "Kenya", "USA", "BRA", "India", "", ""];
    let ratings = [
        "effective",
        "promising",
        "prudent",
        "needs_research",
        "ineffective",
        "ineffective/harmful",
        "veelbelovend",
        "",
    ];
    let outcomes =
        ["physical violence", "knowledge", "attitudes", "help seeking", "bystander behaviour", "wellbeing", ""];
    let domains = ["violence", "behaviour", "risk_factor", "other", "geweld", "", "", ""];
    let mut row = vec![String::new(); HEADERS.len()];
    let mut set = |name: &str, v: String| {
        let i = HEADERS.iter().position(|h| *h == name).expect("known header");
        row[i] = v;
    };
    // Every 29th row repeats the previous id (rejected as a duplicate).
    set("record_id", format!("R{}", if i % 29 == 28 { i - 1 } else { i }));
    set("study_id", if rng.below(5) == 0 { String::new() } else { format!("S{}", i / 3) });
    set("intervention", pick(rng, &interventions).into());
    set("target_group", pick(rng, &groups).into());
    set("income_setting", pick(rng, &settings).into());
    set("country", pick(rng, &countries).into());
    set("year", if rng.below(4) == 0 { String::new() } else { (1995 + rng.below(29)).to_string() });
    set("rating", pick(rng, &ratings).into());
    set("harm", pick(rng, &["", "", "ja", "no", "true"]).into());
    set("strategy", pick(rng, &["", "E", "parent_support", "norms", "R"]).into());
    set("design", pick(rng, &["rct", "quasi_experimental", "Randomized Controlled Trial", "pre_post", ""]).into());
    set("risk_of_bias", pick(rng, &["low", "high", "some_concerns", "moderate", ""]).into());
    set("sample_size", if rng.below(5) == 0 { String::new() } else { format!("{:.1}", 20.0 + rng.f64() * 2000.0) });
    set("outcome", pick(rng, &outcomes).into());
    set("outcome_domain", pick(rng, &domains).into());
    set("primary", pick(rng, &["", "true", "false", "primary", "secondary", "nee"]).into());
    set("direction", pick(rng, &["", "", "higher_is_better", "lower_is_better", "-1"]).into());
    let y = rng.normal() * 0.4;
    let se = 0.05 + rng.f64() * 0.3;
    match rng.below(8) {
        0 => {
            set("effect_size", format!("{y}"));
            set("se", format!("{se}"));
            set("measure", "SMD".into());
        }
        1 => {
            set("effect_size", format!("{y}"));
            set("ci_lower", format!("{}", y - 1.96 * se));
            set("ci_upper", format!("{}", y + 1.96 * se));
        }
        2 => {
            let rr = y.exp();
            set("effect_size", format!("{rr}"));
            set("ci_lower", format!("{}", (y - 1.96 * se).exp()));
            set("ci_upper", format!("{}", (y + 1.96 * se).exp()));
            set("measure", pick(rng, &["RR", "or"]).into());
        }
        3 => {
            let n1 = 20 + rng.below(200);
            let n2 = 20 + rng.below(200);
            set("ai", rng.below(n1).to_string());
            set("n1i", n1.to_string());
            set("ci", rng.below(n2).to_string());
            set("n2i", n2.to_string());
            set("measure", pick(rng, &["RR", "OR", "RD"]).into());
        }
        4 => {
            set("m1i", format!("{}", 10.0 + y));
            set("sd1i", format!("{}", 1.0 + rng.f64()));
            set("n1i", (10 + rng.below(100)).to_string());
            set("m2i", "10".into());
            set("sd2i", format!("{}", 1.0 + rng.f64()));
            set("n2i", (10 + rng.below(100)).to_string());
            set("measure", pick(rng, &["SMD", "MD"]).into());
        }
        5 => {
            set("yi", format!("{y}"));
            set("vi", format!("{}", se * se));
        }
        6 => {
            // Rejected: a standard error of zero.
            set("effect_size", format!("{y}"));
            set("se", "0".into());
        }
        _ => {}
    }
    set("source", pick(rng, &["", "Foshee et al., 1998", "\"quoted\" report", "rapport; deel 2"]).into());
    set("notes", pick(rng, &["", "see appendix, table 3", "two\nlines", "  padded  ", "NA"]).into());
    row
}

const HEADERS: [&str; 34] = [
    "record_id",
    "study_id",
    "intervention",
    "target_group",
    "income_setting",
    "country",
    "year",
    "rating",
    "harm",
    "strategy",
    "design",
    "risk_of_bias",
    "sample_size",
    "outcome",
    "outcome_domain",
    "primary",
    "direction",
    "effect_size",
    "se",
    "ci_lower",
    "ci_upper",
    "measure",
    "ai",
    "n1i",
    "ci",
    "n2i",
    "m1i",
    "sd1i",
    "m2i",
    "sd2i",
    "yi",
    "vi",
    "source",
    "notes",
];

#[test]
fn accepted_file_scores_like_random_tables() {
    for seed in 1..=12u64 {
        let mut rng = Rng::new(seed);
        let rows = 40 + rng.below(80) as usize;
        // Every other table carries Dutch export headers: the accepted file
        // is then in contract names.
        let dutch = |h: &'static str| match h {
            "study_id" => "Studie ID",
            "intervention" => "Interventie",
            "target_group" => "Doelgroep",
            "income_setting" => "Inkomensgroep",
            "country" => "Land",
            "sample_size" => "Steekproefgrootte",
            "se" => "Standaardfout",
            "measure" => "Maat",
            "risk_of_bias" => "Risico op vertekening",
            "outcome_domain" => "Uitkomstdomein",
            "direction" => "Richting",
            "source" => "Bron",
            other => other,
        };
        let headers: Vec<&str> = HEADERS.iter().map(|h| if seed % 2 == 0 { dutch(h) } else { h }).collect();
        let mut text = headers.join(",");
        text.push('\n');
        for i in 0..rows {
            let cells: Vec<String> = random_row(&mut rng, i).iter().map(|c| evidex::report::csv_field(c)).collect();
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join(format!("random_{seed}.csv"));
        std::fs::write(&input, &text).unwrap();
        // Every header but `notes` is read as a contract column.
        let v = run_in(dir.path(), &["validate", input.to_str().unwrap()]);
        v.expect_stdout("1 column not in the input contract, kept as pass-through: notes\n");
        assert_round_trip(dir.path(), &input, &[]);
    }
}

//! Outputs: never onto an input, format from the extension, `-` for
//! standard output, Markdown that renders, rejects with their rows, binary
//! inputs named, and every write announced.

use crate::util::{data, repo, run, run_in, Run};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const SMALL: &str = "record_id,intervention,target_group,income_setting,rating,design
A1,Cash plus care,adolescent girls,LIC,effective,rct
A2,Cash plus care,adolescent girls,LIC,promising,rct
A3,Clubs,adolescent girls,LIC,promising,quasi_experimental
A4,Clubs,adolescent girls,LIC,promissing,rct
";

/// A scratch folder holding `in.csv`, a mapping and a configuration.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), SMALL).unwrap();
    std::fs::write(dir.path().join("map.toml"), "[columns]\n").unwrap();
    std::fs::write(dir.path().join("cfg.toml"), "reference_year = 2024\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    dir
}

fn stamp(p: &Path) -> (Vec<u8>, SystemTime) {
    (std::fs::read(p).unwrap(), std::fs::metadata(p).unwrap().modified().unwrap())
}

/// Names in a folder (to see that no temporary or output file was left).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn an_output_never_overwrites_an_input() {
    let dir = scratch();
    let d = dir.path();
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("in.csv"), d.join("link.csv")).unwrap();
    let before = names(d);
    let cases: &[(&[&str], &str, &str)] = &[
        (&["score", "in.csv", "--format", "csv", "--out", "in.csv"], "--out in.csv", "in.csv"),
        (&["validate", "in.csv", "--accepted", "in.csv"], "--accepted in.csv", "in.csv"),
        (&["validate", "in.csv", "--rejects", "in.csv"], "--rejects in.csv", "in.csv"),
        (&["report", "in.csv", "--out", "in.csv", "--quiet"], "--out in.csv", "in.csv"),
        // Other spellings of the same file.
        (&["score", "in.csv", "--format", "csv", "--out", "./in.csv"], "--out ./in.csv", "in.csv"),
        (&["score", "in.csv", "--format", "csv", "--out", "sub/../in.csv"], "--out sub/../in.csv", "in.csv"),
        #[cfg(unix)]
        (&["validate", "in.csv", "--accepted", "link.csv"], "--accepted link.csv", "in.csv"),
        // The mapping and the configuration are inputs too.
        (
            &["validate", "in.csv", "--columns", "map.toml", "--format", "text", "--out", "map.toml"],
            "--out map.toml",
            "map.toml",
        ),
        (
            &["score", "in.csv", "--config", "cfg.toml", "--format", "csv", "--out", "cfg.toml"],
            "--out cfg.toml",
            "cfg.toml",
        ),
        // Two outputs on one file.
        (
            &["validate", "in.csv", "--accepted", "x.csv", "--rejects", "./x.csv"],
            "--rejects ./x.csv",
            "--accepted x.csv",
        ),
    ];
    for (args, out, other) in cases {
        let kept: Vec<(PathBuf, (Vec<u8>, SystemTime))> =
            ["in.csv", "map.toml", "cfg.toml"].iter().map(|n| (d.join(n), stamp(&d.join(n)))).collect();
        let r = run_in(d, args);
        r.expect_code(2).expect_stderr(out).expect_stderr(other);
        for (p, s) in &kept {
            assert_eq!(&stamp(p), s, "{} changed\n{}", p.display(), r.show());
        }
        assert_eq!(names(d), before, "files appeared or vanished\n{}", r.show());
    }
    // Through a path from another folder.
    let r = run_in(&d.join("sub"), &["score", "../in.csv", "--format", "csv", "--out", "../in.csv"]);
    r.expect_code(2).expect_stderr("is the input file ../in.csv");
    assert_eq!(std::fs::read_to_string(d.join("in.csv")).unwrap(), SMALL);
}

fn file_starts(p: &Path, magic: &[u8]) -> bool {
    std::fs::read(p).unwrap().starts_with(magic)
}

#[test]
fn the_format_follows_the_extension_and_dash_is_stdout() {
    let dir = scratch();
    let d = dir.path();
    run_in(d, &["gapmap", "in.csv", "--out", "map.png"]).expect_code(0);
    assert!(file_starts(&d.join("map.png"), b"\x89PNG"), "map.png is not a PNG");
    run_in(d, &["gapmap", "in.csv", "--out", "map.svg"]).expect_code(0);
    assert!(file_starts(&d.join("map.svg"), b"<svg") || file_starts(&d.join("map.svg"), b"<?xml"));
    run_in(d, &["gapmap", "in.csv", "--format", "svg", "--out", "bad.png"])
        .expect_code(2)
        .expect_stderr("the extension says png but --format says svg");
    assert!(!d.join("bad.png").exists());
    run_in(d, &["score", "in.csv", "--out", "s.json"]).expect_code(0);
    serde_json::from_slice::<serde_json::Value>(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    run_in(
        d,
        &["rank", "in.csv", "--target-group", "adolescent girls", "--income-setting", "LIC", "--out", "r.parquet"],
    )
    .expect_code(0);
    assert!(file_starts(&d.join("r.parquet"), b"PAR1"));
    run_in(d, &["score", "in.csv", "--out", "s.html"])
        .expect_code(2)
        .expect_stderr("is not a format this command writes");
    run_in(d, &["score", "in.csv", "--out", "noext"]).expect_code(2).expect_stderr("without an extension");
    // `-` is standard output, never a file named '-'.
    let r = run_in(d, &["score", "in.csv", "--format", "csv", "--out", "-"]);
    r.expect_code(0).expect_stdout("intervention,target_group,income_setting");
    let r = run_in(d, &["report", "in.csv", "--out", "-"]);
    r.expect_code(0).expect_stdout("<!DOCTYPE html>");
    let r = run_in(d, &["gapmap", "in.csv", "--out", "-"]);
    r.expect_code(0).expect_stdout("<svg");
    let r = run_in(d, &["validate", "in.csv", "--accepted", "-", "--out", "v.json"]);
    r.expect_code(1).expect_stdout("record_id,");
    // With nothing else on standard output, `-` works for --accepted and
    // --rejects; the summary goes to standard error (issue 19).
    let r = run_in(d, &["validate", "in.csv", "--accepted", "-"]);
    r.expect_code(1).expect_stderr("rows read,");
    assert!(r.stdout.starts_with("record_id,study_id,") && !r.stdout.contains("rows read"), "{}", r.show());
    let r = run_in(d, &["validate", "in.csv", "--rejects", "-"]);
    r.expect_code(1).expect_stderr("rows read,");
    assert!(
        r.stdout.starts_with("file,line,column,value,reason,row\n") && !r.stdout.contains("rows read"),
        "{}",
        r.show()
    );
    // Two outputs on standard output stay an error, named by their options.
    run_in(d, &["validate", "in.csv", "--accepted", "-", "--rejects", "-"])
        .expect_code(2)
        .expect_stderr("--rejects and --accepted both go to standard output");
    run_in(d, &["validate", "in.csv", "--accepted", "-", "--out", "-"])
        .expect_code(2)
        .expect_stderr("--accepted and --out both go to standard output");
    run_in(d, &["validate", "in.csv", "--accepted", "-", "--format", "json"]).expect_code(2).expect_stderr(
        "--accepted -: standard output already carries the json output of this command (no --out was given",
    );
    run_in(d, &["score", "in.csv", "--rejects", "-"])
        .expect_code(2)
        .expect_stderr("--rejects -: standard output already carries the");
    let r = run_in(d, &["score", "in.csv", "--rejects", "-", "--out", "s.json"]);
    r.expect_code(0).expect_stdout("file,line,column,value,reason,row");
    assert!(!d.join("-").exists(), "a file named '-' was written");
}

#[test]
fn markdown_verdict_table_has_one_cell_per_header() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Keys with a pipe and a line break; three key columns.
    let head = "intervention,target_group,income_setting,category,score\n";
    std::fs::write(
        d.join("old.csv"),
        format!("{head}\"Self-defence | empowerment\",adolescent girls,LIC,promising,0.7\n\"Two\nlines\",boys,HIC,effective,0.9\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("new.csv"),
        format!("{head}\"Self-defence | empowerment\",adolescent girls,LIC,needs_research,0.5\n\"Two\nlines\",boys,HIC,ineffective,0.1\n"),
    )
    .unwrap();
    let r = run_in(d, &["check", "--expected", "old.csv", "--actual", "new.csv", "--format", "markdown"]);
    r.expect_code(1);
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let (mut row, mut cell, mut in_cell) = (Vec::new(), String::new(), false);
    for ev in Parser::new_ext(&r.stdout, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableCell) => {
                in_cell = true;
                cell.clear();
            }
            Event::End(TagEnd::TableCell) => {
                in_cell = false;
                row.push(cell.trim().to_string());
            }
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                tables.last_mut().unwrap().push(std::mem::take(&mut row));
            }
            Event::Text(t) | Event::Code(t) if in_cell => cell.push_str(&t),
            Event::InlineHtml(h) | Event::Html(h) if in_cell => cell.push_str(&h),
            _ => {}
        }
    }
    assert_eq!(tables.len(), 2, "summary and verdict tables\n{}", r.stdout);
    for t in &tables {
        for row in t {
            assert_eq!(row.len(), t[0].len(), "row {row:?} vs header {:?}\n{}", t[0], r.stdout);
        }
    }
    let v = &tables[1];
    assert_eq!(v[0], ["intervention", "target_group", "income_setting", "column", "expected", "actual"]);
    assert!(v.contains(&vec![
        "Self-defence | empowerment".to_string(),
        "adolescent girls".into(),
        "LIC".into(),
        "category".into(),
        "promising".into(),
        "needs_research".into()
    ]));
    assert!(v.contains(&vec![
        "Two<br>lines".to_string(),
        "boys".into(),
        "HIC".into(),
        "category".into(),
        "effective".into(),
        "ineffective".into()
    ]));
}

#[test]
fn markdown_cells_render_as_their_source_text() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    // Intervention names with inline markup (issue 19: `*pilot*`, backticks
    // and `<b>` rendered as markup on GitHub).
    let names = [
        "*pilot*",
        "`Safe` ``Dates``",
        "<b>x</b>",
        "a|b",
        "[link](x)",
        "_x_",
        "~~x~~",
        "&amp;",
        "1. First",
        "- dash",
        "# Hash",
        "@team :x: $y$",
    ];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let head = "intervention,target_group,income_setting,category,score\n";
    let (mut old, mut new) = (head.to_string(), head.to_string());
    for n in names {
        let n = evidex::report::csv_field(n);
        old.push_str(&format!("{n},girls,LIC,promising,0.7\n"));
        new.push_str(&format!("{n},girls,LIC,ineffective,0.2\n"));
    }
    std::fs::write(d.join("old.csv"), old).unwrap();
    std::fs::write(d.join("new.csv"), new).unwrap();
    let r = run_in(d, &["check", "--expected", "old.csv", "--actual", "new.csv", "--format", "markdown"]);
    r.expect_code(1);
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH | Options::ENABLE_GFM;
    let (mut cells, mut cell, mut markup) = (Vec::new(), None::<String>, Vec::new());
    for ev in Parser::new_ext(&r.stdout, opts) {
        match ev {
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => cells.extend(cell.take()),
            Event::Text(t) if cell.is_some() => cell.as_mut().unwrap().push_str(&t),
            ev if cell.is_some() => markup.push(format!("{ev:?}")),
            _ => {}
        }
    }
    assert!(markup.is_empty(), "markup inside cells: {markup:?}\n{}", r.stdout);
    for n in names {
        assert!(cells.iter().any(|c| c == n), "no cell reads {n:?}; cells {cells:?}\n{}", r.stdout);
    }
}

#[test]
fn rejects_keep_their_rows_duplicates_included() {
    let dir = tempfile::tempdir().unwrap();
    let rej = dir.path().join("rej.csv");
    let r = run(&["validate", "tests/data/bad/duplicates.csv", "--rejects", rej.to_str().unwrap()]);
    r.expect_code(1);
    let text = std::fs::read_to_string(data("tests/data/bad/duplicates.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut rdr = csv::Reader::from_path(&rej).unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let line: usize = rec[1].parse().unwrap();
        assert_eq!(&rec[5], lines[line - 1], "row of line {line}");
        n += 1;
    }
    assert_eq!(n, 1, "one duplicate id in the file");
    // `score` finds duplicates on its streaming path and must keep the row too.
    let r = run(&["score", "tests/data/bad/duplicates.csv", "--rejects", rej.to_str().unwrap(), "--format", "csv"]);
    r.expect_code(0);
    let t = std::fs::read_to_string(&rej).unwrap();
    assert!(t.contains(lines[2]), "{t}");
}

/// Every control character a terminal would act on, except the line breaks
/// that end messages.
fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn binary_inputs_get_a_name_not_a_dump() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let parquet = evidex::synth::to_parquet(&evidex::synth::GenOptions { rows: 50, ..Default::default() }).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "parquet.csv",
            parquet.clone(),
            "this looks like a Parquet file; use --input-format parquet or the .parquet extension",
        ),
        (
            "book.csv",
            b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml\x00xl/workbook.xml\x1b\x07".to_vec(),
            "Excel workbook",
        ),
        ("zip.csv", b"PK\x03\x04\x14\x00\x00\x00notes.txt\x1b[31m".to_vec(), "zip archive"),
        ("gz.csv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x1b\x07\x00".to_vec(), "gzip-compressed"),
        ("elf.csv", b"\x7fELF\x02\x01\x01\x00\x1b\x07".to_vec(), "ELF executable"),
        ("img.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x1b".to_vec(), "PNG image"),
        ("doc.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x1b[2J".to_vec(), "PDF document"),
    ];
    for (name, bytes, needle) in &cases {
        std::fs::write(d.join(name), bytes).unwrap();
        for cmd in [&["validate", name][..], &["score", name][..]] {
            let r = run_in(d, cmd);
            r.expect_code(2).expect_stderr(needle).expect_stderr(name);
            assert!(!has_control(&r.stderr), "control characters reach the terminal\n{}", r.show());
            assert!(r.stderr.len() < 600, "a dump, not a message\n{}", r.show());
        }
    }
    // A text table whose header holds escape sequences and a huge name.
    let header = format!("\u{1b}[31mred\u{7},{},rating\nA,B,effective\n", "w".repeat(5000));
    std::fs::write(d.join("odd.csv"), header).unwrap();
    let r = run_in(d, &["validate", "odd.csv"]);
    r.expect_code(2).expect_stderr("\\u{1b}[31mred\\u{7}").expect_stderr("… (5000 characters)");
    assert!(!has_control(&r.stderr), "{}", r.show());
}

#[test]
fn a_directory_is_a_directory_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("folder.csv")).unwrap();
    std::fs::create_dir(d.join("plain")).unwrap();
    std::fs::write(d.join("in.csv"), SMALL).unwrap();
    let q = ["--target-group", "adolescent girls", "--income-setting", "LIC"];
    let runs: Vec<Vec<&str>> = vec![
        vec!["validate", "plain"],
        vec!["score", "plain"],
        [&["rank", "plain"][..], &q].concat(),
        [&["explain", "plain", "--intervention", "Clubs"][..], &q].concat(),
        vec!["meta", "plain"],
        vec!["gapmap", "plain", "--out", "m.svg"],
        vec!["forest", "plain", "--out", "f.svg"],
        vec!["report", "plain", "--out", "r.html"],
        vec!["score", "in.csv", "--columns", "plain"],
        vec!["score", "in.csv", "--config", "plain"],
        vec!["check", "--expected", "plain", "--actual", "in.csv"],
        vec!["score", "in.csv", "--out", "plain"],
    ];
    for args in runs {
        run_in(d, &args).expect_code(2).expect_stderr("plain").expect_stderr("is a directory");
    }
    // Whatever its extension says.
    run_in(d, &["validate", "folder.csv"]).expect_code(2).expect_stderr("folder.csv: is a directory");
}

fn wrote(r: &Run, path: &str, what: &str) {
    let line =
        r.stderr.lines().find(|l| l.contains("wrote")).unwrap_or_else(|| panic!("no 'wrote' line\n{}", r.show()));
    assert!(line.starts_with(&format!("evidex: wrote {path} (")), "{line}");
    assert!(line.contains(what) && (line.contains(" B,") || line.contains("KiB,") || line.contains("MiB,")), "{line}");
}

#[test]
fn commands_that_write_say_what_they_wrote() {
    let dir = scratch();
    let d = dir.path();
    wrote(&run_in(d, &["report", "in.csv", "--out", "r.html"]), "r.html", "3 records from 1 file");
    wrote(&run_in(d, &["gapmap", "in.csv", "--out", "g.svg"]), "g.svg", "2 rows x 1 target group");
    wrote(&run_in(d, &["score", "in.csv", "--out", "s.csv"]), "s.csv", "2 cells");
    wrote(&run_in(d, &["validate", "in.csv", "--rejects", "rej.csv"]), "rej.csv", "1 rejected row");
    wrote(&run_in(d, &["generate", "--rows", "10", "--out", "g.csv"]), "g.csv", "10 records");
    // Standard output is the output: nothing to announce.
    let r = run_in(d, &["score", "in.csv", "--format", "csv"]);
    assert!(!r.stderr.contains("wrote"), "{}", r.show());
}

/// The example suite of docs/ci.md is the file in docs/ci-example, and it
/// runs as written.
#[test]
fn the_ci_docs_example_runs_as_written() {
    let doc = std::fs::read_to_string(repo().join("docs/ci.md")).unwrap();
    let block = doc.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block in docs/ci.md");
    let suite = std::fs::read_to_string(repo().join("docs/ci-example/suite.toml")).unwrap();
    assert_eq!(block, suite, "docs/ci.md shows a different suite than docs/ci-example/suite.toml");
    run(&["check", "docs/ci-example"]).expect_code(0).expect_stdout("2 passed, 0 failed");
    run(&["check", "docs/ci-example", "--format", "markdown"]).expect_code(0).expect_stdout(":white_check_mark: ok");
    // --update says what it did (in a copy, so the committed files stay).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("expected")).unwrap();
    for f in ["suite.toml", "evidence.csv", "mapping.toml", "scoring.toml"] {
        std::fs::copy(repo().join("docs/ci-example").join(f), d.join(f)).unwrap();
    }
    let r = run_in(d, &["check", ".", "--update"]);
    r.expect_code(0).expect_stdout("portfolio-score: ./expected/portfolio-score.csv created");
    r.expect_stdout("2 created, 0 updated, 0 unchanged");
    let r = run_in(d, &["check", ".", "--update"]);
    r.expect_code(0).expect_stdout("0 created, 0 updated, 2 unchanged");
}

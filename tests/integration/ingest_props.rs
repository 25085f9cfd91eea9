//! Ingest properties: the Dutch Excel export equals the English original,
//! and no byte string makes the CSV ingest panic.

use crate::util::data;
use evidex::ingest::{self, IngestOptions};
use proptest::prelude::*;

#[test]
fn dutch_semicolon_decimal_comma_cp1252_export_gives_identical_records() {
    let opts = IngestOptions::default();
    let en = ingest::ingest_one(&data("datasets/evidence_vac.csv"), &opts).unwrap();
    let nl = ingest::ingest_one(&data("datasets/evidence_vac_nl.csv"), &opts).unwrap();
    assert_eq!(nl.files[0].encoding.as_deref(), Some("Windows-1252"));
    assert_eq!(nl.files[0].delimiter.as_deref(), Some(";"));
    assert_eq!(en.records.len(), 231);
    assert_eq!(en.records.len(), nl.records.len());
    for (a, b) in en.records.iter().zip(&nl.records) {
        assert_eq!(a, b, "record {} differs", a.record_id);
    }
    // Accented names survive the Windows-1252 decoding.
    assert!(nl.records.iter().any(|r| r.source.as_deref().is_some_and(|s| s.contains("Sánchez"))));
    assert!(nl.records.iter().any(|r| r.country.as_deref() == Some("CIV")));
}

#[test]
fn bom_utf8_and_quoted_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bom.csv");
    std::fs::write(
        &p,
        b"\xEF\xBB\xBFIntervention;Target Group;Income-Setting;Rating;Effect Size;SE\r\n\"Cash; plus\";Girls;LIC;veelbelovend;0,25;0,1\r\n",
    )
    .unwrap();
    let ing = ingest::ingest_one(&p, &IngestOptions::default()).unwrap();
    assert!(ing.rejected.is_empty(), "{:?}", ing.rejected);
    let r = &ing.records[0];
    assert_eq!(r.intervention, "Cash; plus");
    assert_eq!(r.effect().effect_size, Some(0.25));
    assert_eq!(r.effect().se, Some(0.1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_give_records_or_errors_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fuzz.csv");
        std::fs::write(&p, &bytes).unwrap();
        if let Ok(ing) = ingest::ingest_one(&p, &IngestOptions::default()) {
            prop_assert_eq!(ing.rows_read(), ing.accepted() + ing.rejected_count() + ing.left_out());
        }
    }

    #[test]
    fn csv_like_text_keeps_the_row_count_invariant(
        rows in proptest::collection::vec(
            (prop::sample::select(vec!["A", "B", "", "C,D", "\"q\"", "treatment", "N/A"]),
             prop::sample::select(vec!["girls", "", "Boys "]),
             prop::sample::select(vec!["LIC", "hic", "lmic", "x", ""]),
             prop::sample::select(vec!["effective", "harmful", "veelbelovend", "nope", ""])),
            1..30)
    ) {
        let mut text = String::from("intervention,target_group,income_setting,rating\n");
        for (a, b, c, d) in &rows {
            text.push_str(&format!("{a},{b},{c},{d}\n"));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rows.csv");
        std::fs::write(&p, &text).unwrap();
        let ing = match ingest::ingest_one(&p, &IngestOptions::default()) {
            Ok(i) => i,
            Err(e) => {
                prop_assert!(rows.iter().all(|(a, b, c, d)| a.is_empty() && b.is_empty() && c.is_empty() && d.is_empty()), "{}", e);
                return Ok(());
            }
        };
        prop_assert_eq!(ing.rows_read(), ing.accepted() + ing.rejected_count() + ing.left_out());
        // Placeholder interventions are never accepted by default.
        prop_assert!(ing.records.iter().all(|r| r.intervention != "treatment"));
        // Rows with every cell empty are blank rows: skipped with a warning, not data.
        let blank = rows.iter().filter(|(a, b, c, d)| a.is_empty() && b.is_empty() && c.is_empty() && d.is_empty()).count();
        prop_assert_eq!(ing.rows_read(), (rows.len() - blank) as u64);
    }
}

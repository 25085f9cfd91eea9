//! The scoring model (docs/scoring.md, evidex-score-2.0): the worked example
//! recomputed by hand, the cases a reviewer raised against model 1.0 (each
//! with its expected verdict derived from the documented rules), determinism
//! (threads, row order), invariants (proptest), and reviewed verdicts on the
//! bundled datasets.

use crate::util::{data, repo, run, run_env, run_in};
use evidex::ingest::{self, IngestOptions};
use evidex::model::{
    Direction, EffectInput, EvaluationRecord, IncomeSetting, OutcomeDomain, Provenance, Rating, RecordFields,
    RiskOfBias, StudyDesign, TargetGroup,
};
use evidex::score::{self, Basis, Certainty, GroupKey, Rule, ScoringConfig};
use proptest::prelude::*;

/// A record with defaults (an RCT with low risk of bias, 400 participants,
/// 2020, rated effective, on violence) changed by the builder methods.
#[derive(Clone)]
struct R(RecordFields);

fn r(id: &str, study: &str) -> R {
    R(RecordFields {
        record_id: id.into(),
        study_id: Some(study.into()),
        intervention: "Parenting programme".into(),
        target_group: TargetGroup::new("parents").unwrap(),
        income_setting: IncomeSetting::Lic,
        income_derived: false,
        rating: Some(Rating::Effective),
        harm: false,
        strategy: None,
        country: None,
        design: Some(StudyDesign::Rct),
        sample_size: Some(400),
        year: Some(2020),
        outcome: None,
        outcome_domain: OutcomeDomain::Violence,
        domain_inferred: false,
        primary: None,
        direction: None,
        risk_of_bias: Some(RiskOfBias::Low),
        assignment: None,
        clusters: None,
        source: None,
        effect: EffectInput::default(),
        provenance: Provenance { file: 0, line: 1 },
    })
}

impl R {
    fn rating(mut self, x: Option<Rating>) -> R {
        self.0.rating = x;
        self
    }
    fn harmful(mut self) -> R {
        self.0.rating = Some(Rating::Ineffective);
        self.0.harm = true;
        self
    }
    fn design(mut self, d: StudyDesign) -> R {
        self.0.design = Some(d);
        self
    }
    fn rob(mut self, x: Option<RiskOfBias>) -> R {
        self.0.risk_of_bias = x;
        self
    }
    fn n(mut self, n: Option<u64>) -> R {
        self.0.sample_size = n;
        self
    }
    fn year(mut self, y: i32) -> R {
        self.0.year = Some(y);
        self
    }
    fn domain(mut self, d: OutcomeDomain) -> R {
        self.0.outcome_domain = d;
        self
    }
    fn primary(mut self, p: bool) -> R {
        self.0.primary = Some(p);
        self
    }
    fn setting(mut self, s: IncomeSetting) -> R {
        self.0.income_setting = s;
        self
    }
    fn intervention(mut self, i: &str) -> R {
        self.0.intervention = i.into();
        self
    }
    fn direction(mut self, d: Direction) -> R {
        self.0.direction = Some(d);
        self
    }
    /// An unrated finding with an effect size and its standard error.
    fn smd(mut self, y: f64, se: f64) -> R {
        self.0.rating = None;
        self.0.effect =
            EffectInput { effect_size: Some(y), se: Some(se), measure: Some("SMD".into()), ..Default::default() };
        self
    }
    /// An unrated risk ratio with its 95% CI.
    fn rr(mut self, rr: f64, lo: f64, hi: f64) -> R {
        self.0.rating = None;
        self.0.effect = EffectInput {
            effect_size: Some(rr),
            ci_lower: Some(lo),
            ci_upper: Some(hi),
            measure: Some("RR".into()),
            ..Default::default()
        };
        self
    }
    fn build(self) -> EvaluationRecord {
        EvaluationRecord::new(self.0).unwrap()
    }
}

fn build(rs: Vec<R>) -> Vec<EvaluationRecord> {
    rs.into_iter().map(R::build).collect()
}

fn cfg2020() -> ScoringConfig {
    ScoringConfig { reference_year: 2020, ..ScoringConfig::default() }
}

/// The one cell of a set of records in one intervention, group and setting.
fn one_cell(recs: &[EvaluationRecord], cfg: &ScoringConfig) -> score::CellResult {
    let res = score::score_records(recs, &GroupKey::DEFAULT, cfg);
    assert_eq!(res.cells.len(), 1, "{:?}", res.cells.iter().map(|c| &c.key).collect::<Vec<_>>());
    res.cells.into_iter().next().unwrap()
}

/// The cell of `setting` among several.
fn cell_in(recs: &[EvaluationRecord], setting: IncomeSetting, cfg: &ScoringConfig) -> score::CellResult {
    let res = score::score_records(recs, &GroupKey::DEFAULT, cfg);
    res.cells.into_iter().find(|c| c.get("income_setting") == Some(setting.key())).expect("the cell")
}

fn worked_example() -> Vec<EvaluationRecord> {
    use OutcomeDomain::*;
    build(vec![
        r("R1", "A").primary(true),
        r("R2", "A").domain(RiskFactor).primary(false).rating(Some(Rating::Promising)),
        r("R3", "B").rob(Some(RiskOfBias::SomeConcerns)).year(2000).smd(0.25, 0.10),
        r("R4", "B")
            .rob(Some(RiskOfBias::SomeConcerns))
            .year(2000)
            .domain(Behaviour)
            .rating(Some(Rating::NeedsResearch)),
        r("R5", "C").design(StudyDesign::QuasiExperimental).rob(None).n(Some(100)).rating(Some(Rating::Ineffective)),
        r("R6", "D")
            .design(StudyDesign::PrePost)
            .rob(Some(RiskOfBias::High))
            .n(None)
            .domain(RiskFactor)
            .rating(Some(Rating::Prudent)),
    ])
}

/// docs/scoring.md section 13, every number recomputed here by hand.
#[test]
fn worked_example_from_the_docs() {
    let c = one_cell(&worked_example(), &cfg2020());
    // Weights: R1 1.0; R3 1.0 x 0.8 x 1.0 x 0.5 x 0.5 = 0.2; R5 0.7 x 0.6 x ln(101)/ln(401).
    let w5 = 0.7 * 0.6 * 101f64.ln() / 401f64.ln();
    let (w, v) = ([1.0, 0.2, w5], [1.0, 0.8, 0.0]);
    let sw: f64 = w.iter().sum();
    let swv: f64 = w.iter().zip(v).map(|(a, b)| a * b).sum();
    let vbar = swv / sw;
    let var = w.iter().zip(v).map(|(a, b)| a * (b - vbar).powi(2)).sum::<f64>() / sw;
    let d = var / (vbar * (1.0 - vbar));
    let m = (1.0 + 4.0 * swv) / (2.0 + 4.0 * sw);
    let n = 2.0 + 4.0 * sw * (1.0 - d);
    assert!((m - 0.696_852_436_488_779_4).abs() < 1e-12, "m {m}");
    assert!((n - 2.704_701_218_086_24).abs() < 1e-12, "n {n}");
    assert!((c.score - m).abs() < 1e-12, "score {}", c.score);
    // scipy.stats.beta.ppf([0.05, 0.95], m n, (1 - m) n)
    assert!((c.score_low - 0.233_468_522_313_981_32).abs() < 1e-9, "low {}", c.score_low);
    assert!((c.score_high - 0.986_642_879_634_174_2).abs() < 1e-9, "high {}", c.score_high);
    assert_eq!(
        (c.category, c.harm_flag, c.domain, c.rule),
        (Rating::Effective, false, OutcomeDomain::Violence, Rule::Effective)
    );
    assert_eq!((c.rigorous_positive, c.rigorous_null), (2, 0));
    let dom = |d| c.domain_result(d).map(|x| x.category);
    assert_eq!(dom(OutcomeDomain::Behaviour), Some(Rating::NeedsResearch));
    assert_eq!(dom(OutcomeDomain::RiskFactor), Some(Rating::Promising));
    assert_eq!(dom(OutcomeDomain::Other), None);
    assert_eq!(c.certainty, Certainty::High, "{:?}", c.downgrades);
    assert_eq!((c.n_records, c.n_studies, c.total_sample), (6, 4, 900));
    // Consensus: effective 1.0 and promising 1.0 tie; the worse wins.
    assert_eq!(c.consensus_rating, Some(Rating::Promising));
    assert!(c.disagreement);
    assert_eq!(c.basis, Basis::Local);
}

/// Model 1.0 gave "effective, certainty high" to two RCTs with a blank
/// risk-of-bias column and "prudent" to the same with "high".
#[test]
fn missing_risk_of_bias_is_not_rewarded() {
    let cfg = cfg2020();
    let two = |rob| build(vec![r("A1", "A").rob(rob), r("B1", "B").rob(rob)]);
    let blank = one_cell(&two(None), &cfg);
    let high = one_cell(&two(Some(RiskOfBias::High)), &cfg);
    let low = one_cell(&two(Some(RiskOfBias::Low)), &cfg);
    // Unknown risk of bias is not rigorous: support from studies that are
    // not rigorous only (rule 7), as with high risk of bias.
    assert_eq!((blank.category, blank.rule), (Rating::Prudent, Rule::Prudent));
    assert_eq!(high.category, Rating::Prudent);
    assert!(blank.certainty <= high.certainty, "{:?} vs {:?}", blank.certainty, high.certainty);
    // RCT starts high; 100% of the weight without a judgement: down one.
    assert_eq!(blank.certainty, Certainty::Moderate, "{:?}", blank.downgrades);
    assert!(blank.score < low.score, "{} vs {}", blank.score, low.score);
    assert_eq!((low.category, low.certainty), (Rating::Effective, Certainty::High));
    // Configurable: with unknown risk of bias accepted, rigorous again, certainty still down.
    let mut lenient = cfg.clone();
    lenient.quality.unknown_rob_rigorous = true;
    let c = one_cell(&two(None), &lenient);
    assert_eq!((c.category, c.certainty), (Rating::Effective, Certainty::Moderate));
}

/// Model 1.0 averaged a study's ratings: a primary "effective" and four
/// secondary "needs research" made the study "needs research".
#[test]
fn secondary_outcomes_do_not_dilute_a_study() {
    let cfg = cfg2020();
    let study = |s: &str, flagged: bool| {
        let mut v = vec![r(&format!("{s}p"), s)];
        if flagged {
            v[0] = v[0].clone().primary(true);
        }
        for i in 0..4 {
            let mut x = r(&format!("{s}s{i}"), s).rating(Some(Rating::NeedsResearch));
            if flagged {
                x = x.primary(false);
            }
            v.push(x);
        }
        v
    };
    let one = one_cell(&build(study("A", true)), &cfg);
    assert_eq!((one.category, one.rule), (Rating::Promising, Rule::Promising), "one rigorous positive study");
    let two = one_cell(&build([study("A", true), study("B", true)].concat()), &cfg);
    assert_eq!(two.category, Rating::Effective);
    // Without primary flags the findings combine without averaging (WWC):
    // one positive and no null finding make the study positive.
    let unflagged = one_cell(&build(study("A", false)), &cfg);
    assert_eq!(unflagged.category, Rating::Promising);
}

#[test]
fn one_rigorous_positive_and_one_rigorous_null_are_mixed() {
    let c = one_cell(&build(vec![r("A1", "A"), r("B1", "B").rating(Some(Rating::Ineffective))]), &cfg2020());
    assert_eq!((c.category, c.rule), (Rating::NeedsResearch, Rule::Mixed));
    assert!(c.downgrades.iter().any(|d| matches!(d, score::Downgrade::Inconsistency { .. })));
}

/// A non-significant effect from a rigorous study is null, so "rigorous
/// evaluations show no effect" can fire on a table of effect sizes.
#[test]
fn null_effects_count_as_no_effect() {
    let c = one_cell(&build(vec![r("A1", "A").smd(0.05, 0.10), r("B1", "B").smd(-0.02, 0.12)]), &cfg2020());
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, false, Rule::Ineffective));
    assert_eq!(c.rigorous_null, 2);
    let p = c.pooled.as_ref().expect("two effects pool");
    assert_eq!(p.k, 2);
    assert!(p.ci_lower < 0.0 && p.ci_upper > 0.0);
}

/// RR 0.60 [0.45, 0.80] on victimisation is a benefit: fewer victims.
#[test]
fn a_protective_risk_ratio_is_a_benefit() {
    let cfg = cfg2020();
    let rows = |d: Option<Direction>| {
        let mut v = vec![r("A1", "A").rr(0.60, 0.45, 0.80), r("B1", "B").rr(0.60, 0.45, 0.80)];
        if let Some(d) = d {
            v = v.into_iter().map(|x| x.direction(d)).collect();
        }
        build(v)
    };
    // Default direction ("auto"): a risk ratio on violence is lower-is-better.
    for d in [None, Some(Direction::LowerIsBetter)] {
        let c = one_cell(&rows(d), &cfg);
        assert_eq!((c.category, c.harm_flag), (Rating::Effective, false), "{d:?}");
        let p = c.pooled.as_ref().unwrap();
        // Reported in the direction the findings were: the log RR of 0.6.
        assert_eq!(p.direction, Direction::LowerIsBetter);
        assert!((p.estimate - 0.6f64.ln()).abs() < 1e-9, "{}", p.estimate);
    }
    // Said the other way round by the row, the same numbers are harm.
    let c = one_cell(&rows(Some(Direction::HigherIsBetter)), &cfg);
    assert!(c.harm_flag && c.category == Rating::Ineffective);
}

/// One significantly harmful secondary outcome judged from its effect size,
/// in one of five positive RCTs, is a signal, not a harmful verdict.
#[test]
fn weak_harm_signals_do_not_make_a_harmful_verdict() {
    let mut rows: Vec<R> = (0..5).map(|i| r(&format!("P{i}"), &format!("S{i}")).primary(true)).collect();
    rows.push(r("X", "S0").domain(OutcomeDomain::Violence).primary(false).smd(-0.5, 0.1));
    let c = one_cell(&build(rows.clone()), &cfg2020());
    assert_eq!((c.category, c.harm_flag), (Rating::Effective, false));
    assert_eq!(c.harm_signal, 1);
    // A reviewer's harmful rating is credible harm.
    rows.push(r("H", "S1").harmful().primary(false));
    let c = one_cell(&build(rows), &cfg2020());
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, true, Rule::HarmStudies));
}

/// In LIC, one local null RCT and two positive HIC RCTs: model 1.0's score
/// said ineffective and rank promising. Local first: both say ineffective,
/// with the borrowed verdict beside it.
#[test]
fn borrowed_evidence_never_overturns_a_local_rigorous_verdict() {
    let cfg = cfg2020();
    let recs = build(vec![
        r("L1", "L").rating(Some(Rating::Ineffective)),
        r("H1", "H1").setting(IncomeSetting::Hic),
        r("H2", "H2").setting(IncomeSetting::Hic),
    ]);
    let lic = cell_in(&recs, IncomeSetting::Lic, &cfg);
    assert_eq!((lic.category, lic.basis), (Rating::Ineffective, Basis::Local));
    assert_eq!(lic.category_local, Some(Rating::Ineffective));
    // Borrowed (1 local study < 2): the null (weight 1.0) against two
    // positive HIC studies (0.25 each after the HIC -> LIC transfer): 1.0 is
    // twice 0.5, so the null side dominates there too.
    assert_eq!(lic.category_borrowed, Some(Rating::Ineffective));
    let q = score::rank::RankQuery {
        target_group: TargetGroup::new("parents").unwrap(),
        income_setting: IncomeSetting::Lic,
        strategy: None,
        top: None,
    };
    let ranked = score::rank::rank(&recs, &q, &cfg).unwrap();
    assert_eq!(ranked.rows.len(), 1);
    assert_eq!(ranked.rows[0].cell.category, lic.category, "rank and score agree");
    assert_eq!(ranked.rows[0].cell.category_borrowed, lic.category_borrowed);
}

/// The cap applies to every category above `borrowed_max`.
#[test]
fn the_borrowed_cap_applies_to_every_category_above_it() {
    let mut cfg = cfg2020();
    cfg.category.borrowed_max = Rating::Prudent;
    // No local study in LIC: one positive RCT in LMC makes the borrowed
    // verdict promising, capped at prudent.
    let recs = build(vec![r("M1", "M").setting(IncomeSetting::Lmc), r("H1", "H").setting(IncomeSetting::Hic)]);
    let q = score::rank::RankQuery {
        target_group: TargetGroup::new("parents").unwrap(),
        income_setting: IncomeSetting::Lic,
        strategy: None,
        top: None,
    };
    let row = &score::rank::rank(&recs, &q, &cfg).unwrap().rows[0];
    assert_eq!((row.cell.category, row.cell.basis, row.cell.capped), (Rating::Prudent, Basis::Borrowed, true));
    assert!(row.cell.downgrades.iter().any(|d| matches!(d, score::Downgrade::Indirectness { .. })));
    // A local study that is not rigorous is filled in from other settings the same way.
    let mut with_local = recs.clone();
    with_local.push(r("L1", "L").design(StudyDesign::PrePost).build());
    let lic = cell_in(&with_local, IncomeSetting::Lic, &cfg);
    assert_eq!(
        (lic.category, lic.basis, lic.category_local),
        (Rating::Prudent, Basis::Borrowed, Some(Rating::Prudent))
    );
}

/// Risk factors alone cannot make an intervention effective; the headline
/// rests on the outcome where there is rigorous evidence on it.
#[test]
fn risk_factors_alone_are_capped_and_the_outcome_decides() {
    let cfg = cfg2020();
    let rf = |id: &str, s: &str| r(id, s).domain(OutcomeDomain::RiskFactor);
    let c = one_cell(&build(vec![rf("A", "A"), rf("B", "B"), rf("C", "C")]), &cfg);
    assert_eq!((c.category, c.rule, c.domain), (Rating::Promising, Rule::RiskFactorCap, OutcomeDomain::RiskFactor));
    assert!(c.downgrades.iter().any(|d| matches!(d, score::Downgrade::Indirectness { risk_factors: true, .. })));
    // Add one rigorous null study on violence: the headline is violence.
    let c = one_cell(
        &build(vec![rf("A", "A"), rf("B", "B"), rf("C", "C"), r("V", "V").rating(Some(Rating::Ineffective))]),
        &cfg,
    );
    assert_eq!((c.domain, c.category), (OutcomeDomain::Violence, Rating::Ineffective));
    assert_eq!(c.domain_result(OutcomeDomain::RiskFactor).unwrap().category, Rating::Promising);
}

/// A verdict far from any threshold holds in every draw and no single
/// study moves it; one at the edge of the dominance rule is not robust.
#[test]
fn robustness_fragility_and_the_closest_change() {
    let cfg = cfg2020();
    let solid = one_cell(&build((0..4).map(|i| r(&format!("P{i}"), &format!("S{i}"))).collect()), &cfg);
    assert_eq!(solid.category, Rating::Effective);
    assert_eq!(solid.robustness, Some(1.0));
    assert!(!solid.fragile);
    // Four positive against... two more rigorous nulls make 4:2 (still twice),
    // three make 4:3: mixed.
    let f = solid.flip.as_ref().expect("a flip within 3 studies");
    assert_eq!(evidex::report::words::flip(f), "three more rigorous null studies -> needs more research");
    // Two positive (weight 1 each) against one null (weight 1): 2 = 2 x 1,
    // effective at the default dominance 2, mixed for drawn values above 2.
    let edge = build(vec![r("A", "A"), r("B", "B"), r("C", "C").rating(Some(Rating::Ineffective))]);
    let c = one_cell(&edge, &cfg);
    assert_eq!(c.category, Rating::Effective);
    let rob = c.robustness.unwrap();
    assert!(rob > 0.05 && rob < 0.95, "robustness {rob}");
    assert!(c.fragile, "leaving out a positive study makes it mixed");
    // The same draws whatever the thread count.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let again = pool.install(|| one_cell(&edge, &cfg));
    assert_eq!(again.robustness, c.robustness);
    let mut off = cfg.clone();
    off.robustness.draws = 0;
    assert_eq!(one_cell(&edge, &off).robustness, None);
}

#[test]
fn one_small_study_cannot_reach_the_top_and_has_a_wide_band() {
    let one = build(vec![r("S1", "S1").design(StudyDesign::PrePost).rob(Some(RiskOfBias::High)).n(Some(30))]);
    let c = one_cell(&one, &ScoringConfig::default());
    assert!(c.score < 0.65, "{}", c.score);
    assert!(c.score_high - c.score_low > 0.6, "[{}, {}]", c.score_low, c.score_high);
    assert_eq!(c.category, Rating::Prudent);
    assert_eq!(c.certainty, Certainty::VeryLow);
}

/// Intervention names are matched regardless of case, spacing and
/// punctuation; the most frequent spelling is shown.
#[test]
fn intervention_spellings_are_one_intervention() {
    let recs = build(vec![
        r("A", "A").intervention("The Men's Program"),
        r("B", "B").intervention("The Men's Program"),
        r("C", "C").intervention("the mens  program"),
    ]);
    let res = score::score_records(&recs, &GroupKey::DEFAULT, &cfg2020());
    assert_eq!(res.cells.len(), 1);
    assert_eq!(res.cells[0].get("intervention"), Some("The Men's Program"));
    assert_eq!(res.cells[0].n_studies, 3);
}

fn bundled() -> Vec<EvaluationRecord> {
    ingest::ingest_one(&data("datasets/evidence_vac.csv"), &IngestOptions::default()).unwrap().records
}

#[test]
fn parallel_aggregation_equals_sequential_bit_for_bit() {
    let cfg = ScoringConfig::default();
    let recs = bundled();
    for keys in [GroupKey::DEFAULT.to_vec(), vec![GroupKey::Strategy, GroupKey::TargetGroup]] {
        let par = score::aggregate(&recs, &keys, &cfg, 2022);
        let seq = score::aggregate_sequential(&recs, &keys, &cfg, 2022);
        assert_eq!(par, seq);
    }
}

/// Large enough for the hash-partitioned parallel path (>= 20,000 records).
#[test]
fn partitioned_parallel_aggregation_equals_sequential_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.csv");
    let mut f = std::fs::File::create(&p).unwrap();
    evidex::synth::to_csv(&evidex::synth::GenOptions { rows: 60_000, seed: 9, ..Default::default() }, &mut f).unwrap();
    drop(f);
    let recs = ingest::ingest_one(&p, &IngestOptions::default()).unwrap().records;
    let cfg = ScoringConfig::default();
    for keys in [GroupKey::DEFAULT.to_vec(), vec![GroupKey::Strategy, GroupKey::Design]] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let par = pool.install(|| score::aggregate(&recs, &keys, &cfg, 2025));
        let seq = score::aggregate_sequential(&recs, &keys, &cfg, 2025);
        assert_eq!(par, seq);
    }
}

#[test]
fn output_is_byte_identical_for_thread_count_and_row_order() {
    let dir = tempfile::tempdir().unwrap();
    // Shuffle the data rows of the bundled file deterministically.
    let text = std::fs::read_to_string(data("datasets/evidence_vac.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    lines.rotate_left(77);
    let shuffled = dir.path().join("shuffled.csv");
    std::fs::write(&shuffled, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let repo = repo();
    let orig = repo.join("datasets/evidence_vac.csv");
    let out = |file: &std::path::Path, threads: &str, name: &str| {
        let p = dir.path().join(name);
        let r = run_env(
            &repo,
            &["score", file.to_str().unwrap(), "--out", p.to_str().unwrap()],
            &[("RAYON_NUM_THREADS", threads)],
        );
        r.expect_code(0);
        std::fs::read(p).unwrap()
    };
    let a = out(&orig, "1", "a.csv");
    let b = out(&orig, "2", "b.csv");
    let c = out(&shuffled, "2", "c.csv");
    assert_eq!(a, b, "thread count changed the output");
    assert_eq!(a, c, "row order changed the output");
    for (name, fmt) in [("a.json", "json"), ("b.json", "json")] {
        let p = dir.path().join(name);
        run_env(
            &repo,
            &["score", orig.to_str().unwrap(), "--format", fmt, "--out", p.to_str().unwrap()],
            &[("RAYON_NUM_THREADS", if name == "a.json" { "1" } else { "2" })],
        )
        .expect_code(0);
    }
    assert_eq!(std::fs::read(dir.path().join("a.json")).unwrap(), std::fs::read(dir.path().join("b.json")).unwrap());
}

/// Reviewed verdicts on the bundled (constructed) dataset. Each expectation
/// follows from how the table was built (datasets/tools/build_bundled.py)
/// and the rules in docs/scoring.md, not from a captured run.
#[test]
fn bundled_dataset_verdicts_make_sense() {
    let cfg = ScoringConfig::default();
    let res = score::score_records(&bundled(), &GroupKey::DEFAULT, &cfg);
    let cell = |i: &str, g: &str, s: &str| {
        res.cells
            .iter()
            .find(|c| {
                c.get("intervention") == Some(i)
                    && c.get("target_group") == Some(g)
                    && c.get("income_setting") == Some(s)
            })
            .unwrap_or_else(|| panic!("no cell {i} / {g} / {s}"))
    };
    // Built as harmful with rigorous designs: harm must dominate.
    let deterrence = cell("Prison-visit deterrence for at-risk youth", "boys", "HIC");
    assert!(deterrence.harm_flag && deterrence.category == Rating::Ineffective, "{deterrence:?}");
    // Built "prudent": qualitative/observational/expert designs only, so never effective or promising.
    let safeguarding = cell("Child safeguarding policies in residential care", "children", "HIC");
    assert!(safeguarding.category >= Rating::Prudent, "{:?}", safeguarding.category);
    assert!(safeguarding.certainty <= Certainty::Low);
    // Every cell keeps score_low <= score <= score_high inside [0, 1], and
    // every verdict rests on a domain with evidence.
    for c in &res.cells {
        assert!(0.0 <= c.score_low && c.score_low <= c.score && c.score <= c.score_high && c.score_high <= 1.0);
        assert!(c.domain_result(c.domain).is_some());
        assert!(c.robustness.is_some_and(|r| (0.0..=1.0).contains(&r)));
    }
}

/// `score`, `rank`, `explain` and the gap map give the same verdict and
/// count the same studies for every cell of the bundled table.
#[test]
fn score_rank_explain_and_maps_agree() {
    let cfg = ScoringConfig::default();
    let recs = bundled();
    let scored = score::score_records(&recs, &GroupKey::DEFAULT, &cfg);
    for setting in IncomeSetting::ALL {
        for tg in ["adolescent girls", "parents and caregivers"] {
            let q = score::rank::RankQuery {
                target_group: TargetGroup::new(tg).unwrap(),
                income_setting: setting,
                strategy: None,
                top: None,
            };
            let ranked = score::rank::rank(&recs, &q, &cfg).unwrap();
            let opts = evidex::report::gapmap::GapMapOptions {
                level: evidex::report::gapmap::Level::Intervention,
                income_setting: Some(setting),
                domain: None,
                title: None,
                data_note: String::new(),
            };
            let map = evidex::report::gapmap::build(&recs, &opts, &cfg);
            for row in &ranked.rows {
                let c = &row.cell;
                if let Some(s) = scored.cells.iter().find(|s| s.key == c.key) {
                    assert_eq!((s.category, s.harm_flag, s.basis), (c.category, c.harm_flag, c.basis), "{:?}", c.key);
                    assert_eq!((s.n_studies, s.n_borrowed_studies), (c.n_studies, c.n_borrowed_studies), "{:?}", c.key);
                } else {
                    assert_eq!((c.n_studies, c.basis), (0, Basis::Borrowed), "a cell only rank has is borrowed");
                }
                let bubble = &map.cells[&(row.intervention.clone(), tg.to_string())];
                assert_eq!((bubble.category, bubble.harm), (c.category, c.harm_flag), "{:?}", c.key);
                assert_eq!(bubble.borrowed, c.basis == Basis::Borrowed);
            }
        }
    }
    // explain counts the cell's local studies as score does.
    let parenting = scored
        .cells
        .iter()
        .find(|c| {
            c.get("intervention") == Some("Parenting programmes (e.g. Parents Make the Difference)")
                && c.get("income_setting") == Some("LMC")
        })
        .or_else(|| scored.cells.iter().find(|c| c.get("income_setting") == Some("LMC")))
        .unwrap();
    let r = run(&[
        "explain",
        "datasets/evidence_vac.csv",
        "--intervention",
        parenting.get("intervention").unwrap(),
        "--target-group",
        parenting.get("target_group").unwrap(),
        "--income-setting",
        "LMC",
    ]);
    r.expect_code(0).expect_stdout(&format!("{} local stud", parenting.n_studies));
}

#[test]
fn rank_adolescent_girls_lic_is_explained_in_words() {
    let r = run(&[
        "rank",
        "datasets/evidence_vac.csv",
        "--target-group",
        "Adolescent Girls",
        "--income-setting",
        "low income",
        "--format",
        "json",
    ]);
    r.expect_code(0);
    let j = r.json();
    let rows = j["rows"].as_array().unwrap();
    assert!(rows.len() >= 5, "{}", r.show());
    let order = ["effective", "promising", "prudent", "needs_research", "ineffective"];
    let mut last = (false, 0);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["rank"], i as i64 + 1);
        let now = (row["harm_flag"] == true, order.iter().position(|c| *c == row["category"]).unwrap());
        assert!(now >= last, "ranked by harm, then category: {last:?} then {now:?}");
        last = now;
        let why = row["why"].as_str().unwrap();
        // The why leads with the verdict, in words.
        let cat = row["category"].as_str().unwrap().replace("needs_research", "needs more research");
        assert!(why.starts_with(&cat) || why.starts_with("ineffective/harmful"), "{why}");
        for key in ["needs_research", "very_low", "risk_factor", "1 studies", "0 studies"] {
            assert!(!why.contains(key), "'{key}' in: {why}");
        }
    }
    // Sexuality education has no LIC study in the table: borrowed, marked,
    // capped, and down for indirectness.
    let cse = rows.iter().find(|r| r["intervention"] == "Comprehensive sexuality education").unwrap();
    assert_eq!((cse["n_studies"].as_u64(), cse["basis"].as_str()), (Some(0), Some("borrowed")));
    let why = cse["why"].as_str().unwrap();
    assert!(why.contains("borrowed from") && why.contains("indirectness"), "{why}");
    assert_ne!(cse["category"], "effective", "borrowed evidence is capped at promising");
    // The text output says how it is ranked and labels the band.
    let t =
        run(&["rank", "datasets/evidence_vac.csv", "--target-group", "adolescent girls", "--income-setting", "LIC"]);
    t.expect_code(0)
        .expect_stdout("Ranked: interventions without credible harm first, then by category, certainty and score")
        .expect_stdout("90% band");
}

#[test]
fn rank_unknown_group_lists_those_present() {
    let r = run(&["rank", "datasets/evidence_vac.csv", "--target-group", "adolescent girl", "--income-setting", "LIC"]);
    r.expect_code(2)
        .expect_stderr("did you mean 'adolescent girls'")
        .expect_stderr("target groups present: adolescent girls, boys");
    let r = run(&["rank", "datasets/evidence_vac.csv", "--target-group", "boys", "--income-setting", "middle"]);
    r.expect_code(2).expect_stderr("--income-setting: unknown value 'middle'");
}

#[test]
fn explain_lists_studies_findings_weights_and_domains() {
    let r = run(&[
        "explain",
        "datasets/evidence_vac.csv",
        "--intervention",
        "trauma-focused CBT for child survivors",
        "--target-group",
        "survivors",
        "--income-setting",
        "HIC",
    ]);
    r.expect_code(0)
        .expect_stdout("verdict: ")
        .expect_stdout("certainty: ")
        .expect_stdout("by outcome domain:")
        .expect_stdout("robustness: the category holds in")
        .expect_stdout("= design 0.70 x risk of bias 0.80 x sample");
    let r = run(&[
        "explain",
        "datasets/evidence_vac.csv",
        "--intervention",
        "Trauma CBT",
        "--target-group",
        "survivors",
        "--income-setting",
        "HIC",
    ]);
    r.expect_code(2).expect_stderr("is not in the data");
}

/// Porat et al. (2024): bystander programmes change ideas far more than
/// behaviour. With the table's scoring configuration (its designs taken at
/// face value, as the authors did), Bringing in the Bystander has a strong
/// risk-factor verdict, no violence evidence, and a headline on behaviour.
#[test]
fn sv_meta_bringing_in_the_bystander_rests_on_behaviour() {
    let args = |cfg: bool| {
        let mut v = vec![
            "score",
            "datasets/sv-meta/sv_meta_data.csv",
            "--columns",
            "datasets/sv-meta/mapping.toml",
            "--format",
            "json",
        ];
        if cfg {
            v.extend(["--config", "datasets/sv-meta/scoring.toml"]);
        }
        v
    };
    for with_cfg in [true, false] {
        let r = run(&args(with_cfg));
        r.expect_code(0);
        let j = r.json();
        let bitb = j["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| {
                x["intervention"] == "Bringing in the Bystander"
                    && x["target_group"] == "college students"
                    && x["income_setting"] == "HIC"
            })
            .expect("the cell");
        assert_eq!(bitb["domain"], "behaviour", "{bitb}");
        assert_eq!(bitb["category_violence"], serde_json::Value::Null);
        if with_cfg {
            assert_eq!(bitb["category_risk_factor"], "promising", "{bitb}");
            assert_ne!(bitb["category"], "effective");
            assert_ne!(bitb["category"], "promising", "behaviour evidence is null: {bitb}");
        } else {
            // Nothing is rigorous without a risk-of-bias judgement.
            assert_eq!(bitb["category"], "prudent");
            assert!(bitb["certainty_downgrades"].as_str().unwrap().contains("without a risk-of-bias judgement"));
        }
    }
}

#[test]
fn config_default_round_trips_and_bad_config_is_refused() {
    let r = run(&["config", "--default"]);
    r.expect_code(0).expect_stdout("half_life_years = 20.0").expect_stdout("evidex-score-2.0");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, &r.stdout).unwrap();
    run(&["config", "--check", p.to_str().unwrap()]).expect_code(0);
    std::fs::write(&p, "[score]\nprior_wieght = 3\n").unwrap();
    run(&["score", "datasets/evidence_vac.csv", "--config", p.to_str().unwrap()])
        .expect_code(2)
        .expect_stderr("unknown field `prior_wieght`");
}

#[test]
fn score_by_strategy_and_parquet_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.parquet");
    run(&["score", "datasets/evidence_vac.csv", "--by", "strategy,target_group", "--out", p.to_str().unwrap()])
        .expect_code(0);
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    let r = run(&["score", "datasets/evidence_vac.csv", "--by", "strategy,nonsense"]);
    r.expect_code(2).expect_stderr("unknown key 'nonsense'");
}

#[test]
fn generate_is_deterministic_and_scoreable() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    run(&["generate", "--rows", "3000", "--seed", "7", "--out", a.to_str().unwrap()]).expect_code(0);
    run(&["generate", "--rows", "3000", "--seed", "7", "--out", b.to_str().unwrap()]).expect_code(0);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let r = run(&["validate", a.to_str().unwrap(), "--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["accepted"], 3000);
}

/// The quality gates say what the model had to assume.
#[test]
fn ingest_warns_about_what_rows_leave_unsaid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "intervention,target_group,income_setting,rating,outcome,design\n\
         intervention,girls,LIC,effective,knowledge of consent,rct\n\
         Clubs,girls,LIC,promising,sexual violence victimisation,rct\n\
         Clubs,girls,LIC,promising,,rct\n",
    )
    .unwrap();
    let r = run_in(dir.path(), &["validate", "t.csv"]);
    r.expect_code(0)
        .expect_stdout("outcome domain inferred from the outcome text for 3 rows (violence 1, other 1, risk_factor 1)")
        .expect_stdout("3 rows without study_id")
        .expect_stdout("3 rows without a risk-of-bias judgement")
        .expect_stdout("t.csv:2: 1 row whose intervention is the placeholder 'intervention', not a programme name");
}

fn arb_rating() -> impl Strategy<Value = Rating> {
    prop::sample::select(Rating::ALL.to_vec())
}

fn arb_design() -> impl Strategy<Value = StudyDesign> {
    prop::sample::select(StudyDesign::ALL.to_vec())
}

fn arb_domain() -> impl Strategy<Value = OutcomeDomain> {
    prop::sample::select(OutcomeDomain::ALL.to_vec())
}

prop_compose! {
    fn arb_records()(specs in prop::collection::vec((0u8..6, arb_design(), arb_rating(), 10u64..3000, 1995i32..2024, any::<bool>(), arb_domain()), 1..25)) -> Vec<EvaluationRecord> {
        specs.iter().enumerate().map(|(i, (study, d, rt, n, y, harm, dom))| {
            let mut x = r(&format!("P{i}"), &format!("S{study}")).design(*d).n(Some(*n)).year(*y).domain(*dom).rating(Some(*rt));
            if *harm && *rt == Rating::Ineffective {
                x = x.harmful();
            }
            x.build()
        }).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn band_brackets_score_in_unit_range(recs in arb_records()) {
        let res = score::score_records(&recs, &GroupKey::DEFAULT, &ScoringConfig::default());
        for c in &res.cells {
            prop_assert!(0.0 <= c.score_low && c.score_low <= c.score && c.score <= c.score_high && c.score_high <= 1.0);
        }
    }

    #[test]
    fn row_order_does_not_change_verdicts(recs in arb_records(), rot in 0usize..25) {
        let cfg = ScoringConfig { reference_year: 2024, ..ScoringConfig::default() };
        let a = score::score_records(&recs, &GroupKey::DEFAULT, &cfg);
        let mut shuffled = recs.clone();
        shuffled.reverse();
        let k = rot % shuffled.len();
        shuffled.rotate_left(k);
        let b = score::score_records(&shuffled, &GroupKey::DEFAULT, &cfg);
        prop_assert_eq!(a, b);
    }

    /// Adding a rigorous positive study in the headline domain never lowers
    /// the verdict (unless harm decides it) nor the score.
    #[test]
    fn adding_a_rigorous_positive_study_never_lowers_the_verdict(recs in arb_records(), d in prop::sample::select(vec![StudyDesign::Rct, StudyDesign::QuasiExperimental, StudyDesign::SystematicReview])) {
        let cfg = ScoringConfig { reference_year: 2024, ..ScoringConfig::default() };
        let before = score::score_records(&recs, &GroupKey::DEFAULT, &cfg).cells[0].clone();
        let mut more = recs.clone();
        more.push(r("NEW", "NEWSTUDY").design(d).n(Some(500)).domain(before.domain).build());
        let after = score::score_records(&more, &GroupKey::DEFAULT, &cfg).cells[0].clone();
        prop_assert!(after.score >= before.score - 1e-12, "{} -> {}", before.score, after.score);
        if !before.harm_flag {
            prop_assert!(after.category <= before.category || after.domain != before.domain,
                "{:?} -> {:?}", before.category, after.category);
        }
    }

    #[test]
    fn a_reviewer_rated_harmful_finding_makes_the_cell_harmful(recs in arb_records()) {
        let mut more = recs.clone();
        more.push(r("HARM", "HARMSTUDY").harmful().build());
        let c = score::score_records(&more, &GroupKey::DEFAULT, &ScoringConfig::default()).cells[0].clone();
        prop_assert_eq!(c.category, Rating::Ineffective);
        prop_assert!(c.harm_flag);
    }

    #[test]
    fn repeating_a_finding_within_its_study_does_not_add_weight(copies in 2usize..8) {
        let cfg = cfg2020();
        let mut recs = build(vec![r("B1", "X").rating(Some(Rating::Promising)), r("B2", "Y").design(StudyDesign::PrePost).rob(Some(RiskOfBias::High)).rating(Some(Rating::NeedsResearch))]);
        let one = one_cell(&recs, &cfg);
        for i in 0..copies {
            recs.push(r(&format!("B1-{i}"), "X").rating(Some(Rating::Promising)).build());
        }
        let many = one_cell(&recs, &cfg);
        prop_assert!((many.score - one.score).abs() < 1e-12);
        prop_assert_eq!((many.n_studies, many.category), (one.n_studies, one.category));
    }
}

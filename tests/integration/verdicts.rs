//! Model evidex-score-3.0, case by case (issue 20): one test per numbered
//! finding of the methods review ("What the review measured" 1-16) and per
//! rule of docs/scoring.md, each with the verdict derived BY HAND from the
//! documented rules (the derivation is the comment above the assertions:
//! the 95% CI, the standing, the rule that fires, the certainty with its
//! downgrades). Then the fragility property test and the worked example of
//! docs/scoring.md section 19, recomputed against the independent script
//! docs/worked-example-3.0.py.
//!
//! Where the code deliberately differs from docs/scoring.md (to be
//! corrected in the doc), the expectations follow the code's rule:
//! (a) unknown risk of bias: "effective" needs the benefit to hold in the
//!     synthesis of the APPRAISED studies alone, with at least
//!     `category.effective_min_studies` appraised studies behind it
//!     (rule NotAssessedCap otherwise);
//! (b) robustness: cells where no drawn setting can change a comparison get
//!     1.0 without drawing;
//! (c) the cluster correction is not wired yet: cluster cases are left out
//!     (SASA!, finding 2, needs the `assignment` / `clusters` columns).
//!
//! Tests marked `#[ignore = "..."]` are reviewer objections: the code's
//! verdict is one a GRADE / WWC methods reviewer would not sign, or the
//! code disagrees with the documented rule. They state what the reviewer
//! expects and are NOT weakened to pass.

use crate::records::{build, cell_in, cfg2020, one_cell, r, R};
use crate::util::run_in;
use evidex::model::{Direction, IncomeSetting, OutcomeDomain, Rating, RiskOfBias, StudyDesign};
use evidex::report::words;
use evidex::score::cell::ScoreBasis;
use evidex::score::robust::{AddedAt, Change};
use evidex::score::{
    self, Basis, CellResult, Certainty, Downgrade, GroupKey, HarmReason, PoolNote, Rule, ScoringConfig, Standing,
};
use proptest::prelude::*;

/// z(0.975).
const Z: f64 = 1.959_963_984_540_054;
/// Estimates from closed forms or REML iterated to 1e-10: absolute.
const EST_TOL: f64 = 1e-6;

const HIGHER: Direction = Direction::HigherIsBetter;
use OutcomeDomain::{Behaviour, Other, RiskFactor, Violence};
use StudyDesign::{PrePost, QuasiExperimental as Qed, Rct};

/// The SE of an estimate whose 95% CI is `[lo, hi]`.
fn se_of(lo: f64, hi: f64) -> f64 {
    (hi - lo) / (2.0 * Z)
}

/// Invariants every cell must keep, whatever its inputs (issue 20 items 8
/// and 9): the closest change never names the current category; a
/// significantly beneficial synthesis scores above 0.975; harm only with
/// the bottom category; a fragile cell's closest change is a removal.
#[track_caller]
fn invariants(c: &CellResult) {
    assert!((0.0..=1.0).contains(&c.score), "score {}", c.score);
    if let Some(f) = &c.flip {
        // Known bug, kept visible by the ignored test
        // `f03_removing_the_only_study_of_an_inconclusive_cell_is_no_change`:
        // leave-one-out counts "no study left" as a change, so a cell
        // resting on ONE study with "needs more research" is fragile and its
        // closest change is "without it -> needs more research". Exempted
        // here (that exact pattern only) so the other assertions of the
        // tests that meet it still run.
        let known_bug = c.category == Rating::NeedsResearch
            && c.n_studies + c.n_borrowed_studies == 1
            && matches!(f.change, Change::WithoutStudy { .. });
        if !known_bug {
            assert_ne!((f.to, f.harm), (c.category, c.harm_flag), "closest change names the current category: {f:?}");
        }
    }
    let head = c.domain_result(c.domain).expect("the headline domain is reported");
    if c.score_basis == ScoreBasis::Synthesis && head.standing == Some(Standing::Benefit) {
        assert!(c.score > 0.975, "significant benefit scored {}", c.score);
    }
    if c.harm_flag {
        assert_eq!(c.category, Rating::Ineffective);
    }
    if c.fragile {
        assert!(matches!(c.flip.as_ref().map(|f| &f.change), Some(Change::WithoutStudy { .. })), "{:?}", c.flip);
    }
}

fn with(rs: Vec<R>, cfg: &ScoringConfig) -> CellResult {
    let c = one_cell(&build(rs), cfg);
    invariants(&c);
    c
}

fn cell(rs: Vec<R>) -> CellResult {
    with(rs, &cfg2020())
}

fn downs(c: &CellResult) -> Vec<&'static str> {
    c.downgrades.iter().map(Downgrade::name).collect()
}

fn show(c: &CellResult) -> String {
    format!(
        "category {:?} harm {} rule {:?} domain {:?} certainty {:?} {:?} score {} fragile {} flip {:?} pooled {:?} signals {:?}",
        c.category,
        c.harm_flag,
        c.rule,
        c.domain,
        c.certainty,
        downs(c),
        c.score,
        c.fragile,
        c.flip,
        c.pooled.as_ref().map(|p| (p.synthesis.k, p.synthesis.estimate, p.synthesis.ci_lower, p.synthesis.ci_upper)),
        c.harm_signals
    )
}

/// An unrated SMD finding with an explicit direction (higher is better).
fn rct(id: &str, y: f64, se: f64) -> R {
    r(id, id).smd(y, se).direction(HIGHER)
}

// ---------------------------------------------------------------------
// Finding 1: imprecision is not "ineffective".
// ---------------------------------------------------------------------

/// One RCT, SMD 0.30, SE 0.255 (CI [-0.200, 0.800]), n 60, violence.
/// CI includes 0 (not a benefit), reaches beyond +-0.10 (not a null):
/// inconclusive -> rule 7, needs more research (Rule::Inconclusive), never
/// ineffective. Certainty: RCT starts high; imprecision is very serious
/// (CI inconclusive; n 60 below a quarter of the OIS, 125) -> down two ->
/// low. Score Phi(0.30 / 0.255) = 0.880297.
#[test]
fn f01_one_imprecise_rct_needs_more_research_not_ineffective() {
    let c = cell(vec![r("A", "S1").smd(0.30, 0.255).n(Some(60))]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::NeedsResearch, false, Rule::Inconclusive), "{}", show(&c));
    let p = &c.pooled.as_ref().unwrap().synthesis;
    assert!((p.ci_lower - (0.30 - Z * 0.255)).abs() < EST_TOL && (p.ci_upper - (0.30 + Z * 0.255)).abs() < EST_TOL);
    assert_eq!(c.certainty, Certainty::Low, "{}", show(&c));
    assert_eq!(downs(&c), ["imprecision"]);
    assert!((c.score - 0.880_297).abs() < 1e-6, "{}", c.score);
    assert!(c.harm_signals.is_empty());
}

/// k = 1..5 RCTs, each d = 0.25 with CI [-0.02, 0.52] (se = 0.27 / 1.96 =
/// 0.137757), n 400 each, explicit direction. Identical effects: Q = 0,
/// tau^2 = 0, pooled CI = 0.25 +- 1.96 x 0.137757 / sqrt(k):
///   k=1 [-0.020, 0.520] inconclusive -> needs research; moderate (imprecision);
///   k=2 [0.059, 0.441] benefit; mHKSJ t(1)=12.71 x 0.0974 crosses 0 -> imprecision -> moderate; effective;
///   k=3 [0.094, 0.406] benefit; mHKSJ t(2)=4.30 x 0.0795 = 0.342 crosses 0 -> moderate; effective;
///   k=4 [0.115, 0.385]; mHKSJ t(3)=3.18 x 0.0689 = 0.219 -> [0.031, 0.469]: high; effective;
///   k=5 [0.129, 0.371]; mHKSJ t(4)=2.78 x 0.0616 = 0.171: high; effective.
/// Monotone in k: never worse with more of the same evidence (model 2.0
/// called k=2, 3 ineffective and k=4, 5 effective). k=2 is fragile (one
/// study less is k=1, inconclusive); k>=3 is not.
#[test]
fn f01_identical_rcts_d025_are_monotone_in_k() {
    let se = se_of(-0.02, 0.52);
    let want = [
        // k = 1 is not fragile: without it there is no evidence, which
        // still reads as needs more research.
        (Rating::NeedsResearch, Certainty::Moderate, false),
        (Rating::Effective, Certainty::Moderate, true),
        (Rating::Effective, Certainty::Moderate, false),
        (Rating::Effective, Certainty::High, false),
        (Rating::Effective, Certainty::High, false),
    ];
    let mut prev = Rating::Ineffective;
    for k in 1..=5usize {
        let rs: Vec<R> = (0..k).map(|i| rct(&format!("S{i}"), 0.25, se)).collect();
        let c = cell(rs);
        let p = &c.pooled.as_ref().unwrap().synthesis;
        let half = Z * se / (k as f64).sqrt();
        assert_eq!(p.k, k);
        assert!(p.tau2.abs() < 1e-10, "k={k} tau2 {}", p.tau2);
        assert!((p.ci_lower - (0.25 - half)).abs() < EST_TOL, "k={k} lo {}", p.ci_lower);
        assert!((p.ci_upper - (0.25 + half)).abs() < EST_TOL, "k={k} hi {}", p.ci_upper);
        assert_eq!((c.category, c.certainty, c.fragile), want[k - 1], "k={k}: {}", show(&c));
        assert_ne!(c.category, Rating::Ineffective);
        // Better or equal as k grows (Rating orders best first).
        assert!(c.category <= prev || k == 1, "k={k}");
        prev = c.category;
    }
}

/// One RCT, SMD 0.02, CI [-0.05, 0.09] (se 0.035714), n 3,200, violence.
/// delta 0.10: CI inside (-0.10, 0.10) -> null -> rule 5 ineffective (no
/// harm flag). Certainty high: no downgrade (a null is never imprecise by
/// its CI; n >= 500). Score Phi(0.02 / 0.035714) = 0.712257.
/// delta 0.05: hi 0.09 >= 0.05 -> inconclusive -> needs more research,
/// certainty moderate (imprecision: CI inconclusive).
/// Robustness at delta 0.10: draws keep the null while 0.10 x f > 0.09,
/// f log-uniform in [1/1.5, 1.5]: P = (ln 1.5 - ln 0.9) / (2 ln 1.5) = 0.630.
#[test]
fn f01_precise_null_is_ineffective_at_delta_010_and_inconclusive_at_005() {
    let se = se_of(-0.05, 0.09);
    let recs = || vec![r("A", "S1").smd(0.02, se).n(Some(3200))];
    let c = cell(recs());
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, false, Rule::Ineffective), "{}", show(&c));
    assert_eq!(c.certainty, Certainty::High, "{}", show(&c));
    assert!(c.downgrades.is_empty());
    assert!((c.score - 0.712_257).abs() < 1e-6, "{}", c.score);
    let rob = c.robustness.unwrap();
    assert!((0.58..=0.68).contains(&rob), "robustness {rob}, expected about 0.630");

    let mut cfg = cfg2020();
    cfg.effects.delta.smd = 0.05;
    let c = with(recs(), &cfg);
    assert_eq!((c.category, c.rule), (Rating::NeedsResearch, Rule::Inconclusive), "{}", show(&c));
    assert_eq!(c.certainty, Certainty::Moderate);
}

// ---------------------------------------------------------------------
// Finding 2: harm from a label, and from weak studies.
// ---------------------------------------------------------------------

/// The combined bottom label "ineffective/harmful" is a null judgement, not
/// harm (docs/scoring.md section 4). On this branch ingest still reads the
/// label as harm (Rating::parse gives harmful = true; see the ignored test
/// below), so the record is built as ingest SHOULD read it: rating
/// ineffective, harm = false. One RCT (low RoB), rating only, rated
/// ineffective: R0 = 1, no synthesis -> rule 5 ineffective, harm flag
/// false, no harm signal.
#[test]
fn f02_combined_bottom_label_read_as_ineffective_is_not_harm() {
    let c = cell(vec![r("A", "S1").rating(Some(Rating::Ineffective)).harm_col(false)]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, false, Rule::Ineffective), "{}", show(&c));
    assert!(c.harm_signals.is_empty());
}

/// docs/scoring.md section 4 and issue 20 item 1: the combined label
/// "ineffective/harmful" ("ineffectief/schadelijk") is read as ineffective,
/// NOT harm (with a counted warning). An explicit "harmful" stays harm.
#[test]
fn f02_ingest_reads_the_combined_label_as_ineffective_not_harm() {
    use evidex::model::Rating as Rt;
    for label in ["ineffective/harmful", "ineffective / harmful", "ineffectief/schadelijk", "ineffectief / schadelijk"]
    {
        let p = Rt::parse(label).unwrap();
        assert_eq!((p.rating, p.harmful), (Rt::Ineffective, false), "{label}");
    }
    for label in ["harmful", "schadelijk"] {
        assert!(Rt::parse(label).unwrap().harmful, "{label}");
    }
}

/// Three low-RoB RCTs rated effective on violence (rating only, n 400
/// each) and one pre-post study, high RoB, n 40, a secondary knowledge
/// finding with an explicit harmful judgement (harm column).
/// Violence: R+ = 3 appraised randomised rating-only studies, no synthesis;
/// no null or harm among eligible studies (rule 2 no); rule 3: 3 >= 2,
/// randomised, certainty: starts high (all randomised), no RoB issue, no
/// synthesis, total n 1,200 >= 500 -> high -> effective.
/// The pre-post study is not controlled: no credible harm, a harm signal
/// with a reason. Headline: violence effective, no harm flag.
#[test]
fn f02_weak_prepost_secondary_harm_does_not_overturn_three_rcts() {
    let rcts = || (1..=3).map(|i| r(&format!("R{i}"), &format!("S{i}"))).collect::<Vec<R>>();
    let weak = |d: OutcomeDomain| {
        r("W", "S4")
            .design(PrePost)
            .rob(Some(RiskOfBias::High))
            .n(Some(40))
            .domain(d)
            .primary(false)
            .rating(Some(Rating::Ineffective))
            .harm_col(true)
    };
    for d in [RiskFactor, Violence] {
        let mut rs = rcts();
        rs.push(weak(d));
        let c = cell(rs);
        assert_eq!((c.category, c.harm_flag), (Rating::Effective, false), "{d:?}: {}", show(&c));
        assert_eq!((c.domain, c.rule, c.certainty), (Violence, Rule::Effective, Certainty::High), "{}", show(&c));
        assert_eq!(c.harm_signals.len(), 1, "{:?}", c.harm_signals);
        let s = &c.harm_signals[0];
        assert_eq!(s.study.as_deref(), Some("S4"));
        assert!(
            matches!(
                s.reason,
                HarmReason::NotControlled
                    | HarmReason::HighRiskOfBias
                    | HarmReason::SecondaryOutcome
                    | HarmReason::NotViolenceOrBehaviour
            ),
            "{s:?}"
        );
    }
}

// ---------------------------------------------------------------------
// Finding 3: fragile and flip re-run the synthesis.
// ---------------------------------------------------------------------

/// Four RCTs d = 0.25, se 0.24 (each CI [-0.220, 0.720]), n 400 each.
/// k = 4: se 0.12, CI [0.015, 0.485] -> benefit; mHKSJ t(3) 3.18 x 0.12 =
/// 0.382 crosses 0 -> imprecision -> moderate; rule 3 effective.
/// Without any one: k = 3, se 0.1386, CI [-0.022, 0.522] -> inconclusive ->
/// needs research. So every single removal changes the category: fragile,
/// and the closest change is "without S1 -> needs more research" (not an
/// upgrade). Robustness: no drawn setting can change it (CI excludes 0,
/// I^2 = 0, n 1,600 > 750) -> 1.0; the words reconcile the two.
#[test]
fn f03_four_rcts_each_decisive_are_fragile() {
    let c = cell((1..=4).map(|i| rct(&format!("S{i}"), 0.25, 0.24)).collect());
    assert_eq!((c.category, c.certainty), (Rating::Effective, Certainty::Moderate), "{}", show(&c));
    assert!(c.fragile, "{}", show(&c));
    let f = c.flip.as_ref().unwrap();
    assert_eq!((f.to, f.harm), (Rating::NeedsResearch, false));
    match &f.change {
        Change::WithoutStudy { study, upgrade, standing, .. } => {
            assert_eq!((study.as_str(), *upgrade, *standing), ("S1", false, Some(Standing::Inconclusive)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.robustness, Some(1.0));
    let w = words::sureness(&c);
    assert!(w.contains("all plausible analysis settings") && w.contains("one study decides it"), "{w}");
}

/// S1, S2: 0.30 (se 0.10) each; S3: -0.15 (0.10), inconclusive alone
/// ([-0.346, 0.046]); all RCTs, low RoB, n 400, direction given.
/// All three: tau^2 (REML) ~0.0575, CI [-0.144, 0.444] -> inconclusive ->
/// needs research. Without S1 or S2: {0.30, -0.15} inconclusive again.
/// Without S3: 0.30, se 0.0707, CI [0.161, 0.439] benefit, moderate
/// (mHKSJ) -> effective. The first removal that changes the category is
/// S3, an UPGRADE by removing evidence: reported as such, with S3's own
/// standing and estimate (the explanation).
#[test]
fn f03_upgrade_by_removal_is_explained() {
    let c = cell(vec![rct("S1", 0.30, 0.10), rct("S2", 0.30, 0.10), rct("S3", -0.15, 0.10)]);
    assert_eq!((c.category, c.rule), (Rating::NeedsResearch, Rule::Inconclusive), "{}", show(&c));
    assert!(c.fragile);
    let f = c.flip.as_ref().unwrap();
    assert_eq!((f.to, f.harm), (Rating::Effective, false), "{f:?}");
    match &f.change {
        Change::WithoutStudy { study, upgrade, standing, estimate } => {
            assert_eq!(study, "S3");
            assert!(*upgrade, "an upgrade by removal must say so");
            assert_eq!(*standing, Some(Standing::Inconclusive));
            assert!((estimate.unwrap() - (-0.15)).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
}

/// Not fragile: the closest change adds hypothetical studies and never
/// names the current category. Three RCTs 0.30 (0.08), n 400: pooled 0.30,
/// se 0.0462, CI [0.209, 0.391], mHKSJ [0.101, 0.499] -> high -> effective.
/// Each removal leaves k = 2 (CI [0.189, 0.411], moderate) -> effective:
/// not fragile. Adding studies at no effect (y = 0, vi = 0.0064) pulls the
/// estimate down until something changes; whatever it is, it is not
/// "effective".
#[test]
fn f03_closest_change_never_names_the_current_category() {
    let c = cell((1..=3).map(|i| rct(&format!("S{i}"), 0.30, 0.08)).collect());
    assert_eq!((c.category, c.certainty, c.fragile), (Rating::Effective, Certainty::High, false), "{}", show(&c));
    let f = c.flip.as_ref().expect("a closest change");
    assert_ne!(f.to, Rating::Effective);
    match &f.change {
        Change::AddStudies { at, domain, se, .. } => {
            assert_eq!((*at, *domain), (AddedAt::NoEffect, Violence), "{f:?}");
            assert!((se.unwrap() - 0.08).abs() < 1e-12, "typical precision: median se of the synthesis");
        }
        other => panic!("{other:?}"),
    }
}

/// One RCT, SMD 0.30 (0.255): needs more research (see f01). Without it
/// the cell has no evidence: still "needs more research" (Rule::TooFew),
/// so removing it changes nothing. The code counts "no study left" as a
/// change: fragile = true and the closest change reads "without S1 ->
/// needs more research", which names the current category (finding 3:
/// in 125 of 235 sv-meta cells in 2.0). Expected: not fragile, and no
/// closest change that names needs more research.
#[test]
fn f03_removing_the_only_study_of_an_inconclusive_cell_is_no_change() {
    let c = one_cell(&build(vec![r("A", "S1").smd(0.30, 0.255).n(Some(60))]), &cfg2020());
    assert_eq!(c.category, Rating::NeedsResearch);
    assert!(!c.fragile, "{}", show(&c));
    if let Some(f) = &c.flip {
        assert_ne!((f.to, f.harm), (c.category, c.harm_flag), "{f:?}");
    }
}

/// LIC: one RCT rated effective; HIC: one RCT rated effective. LIC: R+ =
/// 1 -> promising (conclusive, local). Dropping the LIC study's rows and
/// re-scoring leaves no LIC cell: no evidence, needs more research; so
/// one study decides it: fragile (doc 13: fragile equals dropping the
/// study's rows and re-scoring). The code's leave-one-out scores the LIC
/// cell on the HIC study alone (borrowed, capped at promising), a cell
/// re-scoring never produces, and says not fragile.
#[test]
fn f03_dropping_the_only_local_study_beside_a_sibling_setting_is_a_change() {
    let recs = build(vec![r("A", "L0"), r("B", "H0").setting(IncomeSetting::Hic)]);
    let c = cell_in(&recs, IncomeSetting::Lic, &cfg2020());
    assert_eq!((c.category, c.basis), (Rating::Promising, Basis::Local), "{}", show(&c));
    assert!(c.fragile, "{}", show(&c));
}

// ---------------------------------------------------------------------
// Finding 4: an SMD without direction never makes harm.
// ---------------------------------------------------------------------

/// One RCT (low RoB, n 400), SMD -0.40 (0.10) on violence, CI [-0.596,
/// -0.204]: a harm standing. Without `direction` the sign is assumed: no
/// credible harm, a harm signal "direction not given"; the harm standing
/// alone (not credible) -> rule 7, needs more research (doc section 21.9).
/// Certainty: high -> imprecision (n 400 < 500) -> moderate.
/// With direction higher_is_better: credible harm (controlled, appraised,
/// primary, violence, direction known) -> rule 1 harmful (ineffective +
/// harm flag, Rule::HarmStudies).
#[test]
fn f04_smd_harm_needs_a_given_direction() {
    let c = cell(vec![r("A", "S1").smd(-0.40, 0.10)]);
    assert_eq!((c.category, c.harm_flag), (Rating::NeedsResearch, false), "{}", show(&c));
    assert_eq!(c.harm_signals.len(), 1);
    assert_eq!(c.harm_signals[0].reason, HarmReason::DirectionNotGiven);
    assert_eq!(c.certainty, Certainty::Moderate);

    let c = cell(vec![r("A", "S1").smd(-0.40, 0.10).direction(HIGHER)]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, true, Rule::HarmStudies), "{}", show(&c));
    assert!(c.harm_signals.is_empty());
}

// ---------------------------------------------------------------------
// Finding 5: underpowered secondary violence findings do not take the
// headline.
// ---------------------------------------------------------------------

/// Three RCTs (low RoB, n 400), each with a primary behaviour finding SMD
/// 0.30 (0.08) and a secondary violence finding SMD 0.10 (0.10), both
/// with a direction.
/// Violence: pooled 0.10, se 0.0577, CI [-0.013, 0.213] -> inconclusive
/// -> needs more research (not conclusive). Behaviour: pooled 0.30, se
/// 0.0462, CI [0.209, 0.391], mHKSJ [0.101, 0.499], n 1,200 -> high ->
/// effective. Headline: the highest tier with a CONCLUSIVE verdict =
/// behaviour, effective; violence shown as "violence: inconclusive, 3
/// studies". Never ineffective.
#[test]
fn f05_secondary_violence_inconclusive_does_not_set_the_headline() {
    let mut rs = Vec::new();
    for i in 1..=3 {
        let s = format!("S{i}");
        rs.push(r(&format!("B{i}"), &s).domain(Behaviour).primary(true).smd(0.30, 0.08).direction(HIGHER));
        rs.push(r(&format!("V{i}"), &s).domain(Violence).primary(false).smd(0.10, 0.10).direction(HIGHER));
    }
    let c = cell(rs);
    assert_eq!((c.domain, c.category, c.certainty), (Behaviour, Rating::Effective, Certainty::High), "{}", show(&c));
    let v = c.domain_result(Violence).unwrap();
    assert_eq!((v.category, v.rule, v.conclusive, v.n_studies), (Rating::NeedsResearch, Rule::Inconclusive, false, 3));
    let p = &v.pooled.as_ref().unwrap().synthesis;
    assert!((p.ci_lower - (0.10 - Z * 0.10 / 3f64.sqrt())).abs() < EST_TOL);
    let w = words::other_tiers(&c).unwrap_or_default();
    assert!(w.contains("violence: inconclusive, 3 studies"), "{w}");
}

// ---------------------------------------------------------------------
// Finding 6: "mixed" is conclusive benefit with conclusive null or harm.
// ---------------------------------------------------------------------

/// S1: 0.30 (0.10), CI [0.104, 0.496] significant; S2: 0.20 (0.12), CI
/// [-0.035, 0.435] not significant; same direction; RCTs, low RoB, n 400.
/// Q = 0.41 < df 1 -> tau^2 = 0 (REML too), I^2 = 0. Pooled 0.259, se
/// 0.0768, CI [0.108, 0.410] -> benefit. Not mixed (no conclusive null or
/// harm). Certainty: high; inconsistency none (I^2 0, CIs overlap);
/// imprecision: mHKSJ t(1) crosses 0 -> moderate. Rule 3: effective.
#[test]
fn f06_significant_and_nonsignificant_in_the_same_direction_pool() {
    let c = cell(vec![rct("S1", 0.30, 0.10), rct("S2", 0.20, 0.12)]);
    assert_eq!((c.category, c.rule), (Rating::Effective, Rule::Effective), "{}", show(&c));
    assert_ne!(c.rule, Rule::Mixed);
    let p = &c.pooled.as_ref().unwrap().synthesis;
    assert!(p.tau2.abs() < 1e-10 && p.i2.abs() < 1e-8, "tau2 {} i2 {}", p.tau2, p.i2);
    assert!((p.ci_lower - 0.108_447_789_4).abs() < EST_TOL, "{}", p.ci_lower);
    assert!(!downs(&c).contains(&"inconsistency"), "{:?}", downs(&c));
    assert_eq!((c.certainty, downs(&c)), (Certainty::Moderate, vec!["imprecision"]));
}

// ---------------------------------------------------------------------
// Finding 7: weights do not decide whether evidence is conclusive.
// ---------------------------------------------------------------------

/// S1: RCT, unrated RR 0.80 [0.70, 0.91] on violence: the ratio rule makes
/// it lower-is-better with a known direction; ln RR -0.223, se 0.0669 ->
/// benefit. S2: RCT, low RoB, rated ineffective (no effect): R0 = 1.
/// Rule 2: conclusive benefit (P) with conclusive null (R0) -> mixed ->
/// needs more research. Not decided by the unrated discount (2.0 let the
/// rated null win).
#[test]
fn f07_significant_rr_against_a_rated_null_is_mixed() {
    let c = cell(vec![r("A", "S1").rr(0.80, 0.70, 0.91), r("B", "S2").rating(Some(Rating::Ineffective))]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::NeedsResearch, false, Rule::Mixed), "{}", show(&c));
    let v = c.domain_result(Violence).unwrap();
    assert_eq!(v.standing, Some(Standing::Benefit));
    // Reported as the RR was reported (lower is better, log scale).
    let p = c.pooled.as_ref().unwrap();
    assert_eq!(p.direction, Direction::LowerIsBetter);
    assert!((p.synthesis.estimate - 0.8f64.ln()).abs() < 1e-9);
}

// ---------------------------------------------------------------------
// Finding 8: inconsistency from heterogeneity, not from significance.
// ---------------------------------------------------------------------

/// Ten RCTs (low RoB, n 400), five at 0.25 (0.10) (significant: [0.054,
/// 0.446]) and five at 0.15 (0.10) (not: [-0.046, 0.346]). Q = 10 x 100 x
/// 0.05^2 = 2.5 < df 9 -> tau^2 0, I^2 0. Pooled 0.20, se 0.0316, CI
/// [0.138, 0.262]; mHKSJ factor 1, t(9) 2.262 -> [0.128, 0.272]. Egger
/// (k = 10) cannot be computed with equal SEs. Certainty high, no
/// downgrade; effective. A split in significance is no inconsistency.
#[test]
fn f08_ten_rcts_with_i2_zero_and_equal_ses_are_not_inconsistent() {
    let c = cell((0..10).map(|i| rct(&format!("S{i:02}"), if i % 2 == 0 { 0.25 } else { 0.15 }, 0.10)).collect());
    let p = &c.pooled.as_ref().unwrap().synthesis;
    assert!(p.i2.abs() < 1e-8 && (p.estimate - 0.20).abs() < EST_TOL);
    assert_eq!((c.category, c.certainty), (Rating::Effective, Certainty::High), "{}", show(&c));
    assert!(c.downgrades.is_empty(), "{:?}", c.downgrades);
}

/// As above with SEs 0.09 ... 0.13 (one pair per SE, y = 0.25 and 0.15):
/// the pooled estimate is 0.20 (each pair is symmetric around 0.20), Q =
/// 2 x 0.05^2 x sum(1 / se^2) = 2.17 < df 9 -> tau^2 0, I^2 0; some
/// studies significant, some not (0.25 with se 0.13: [-0.005, 0.505]).
/// Egger: the mean standardised effect is 0.20 x precision at every SE ->
/// intercept 0, p = 1: no publication bias. mHKSJ with t(9) excludes 0;
/// n 4,000. Certainty high, no downgrade; effective.
#[test]
fn f08_ten_rcts_with_i2_zero_are_not_inconsistent() {
    let mut rs = Vec::new();
    for (i, se) in [0.09, 0.10, 0.11, 0.12, 0.13].into_iter().enumerate() {
        rs.push(rct(&format!("S{i}a"), 0.25, se));
        rs.push(rct(&format!("S{i}b"), 0.15, se));
    }
    let c = cell(rs);
    let p = &c.pooled.as_ref().unwrap().synthesis;
    assert!(p.i2.abs() < 1e-8 && (p.estimate - 0.20).abs() < EST_TOL, "{p:?}");
    assert!(p.egger_p.is_some_and(|e| e > 0.5), "{:?}", p.egger_p);
    assert_eq!((c.category, c.certainty), (Rating::Effective, Certainty::High), "{}", show(&c));
    assert!(c.downgrades.is_empty(), "{:?}", c.downgrades);
}

// ---------------------------------------------------------------------
// Finding 9: pre-post designs never enter the synthesis.
// ---------------------------------------------------------------------

/// Bringing in the Bystander-like, risk factors: 4 controlled studies (2
/// RCT, 2 QED, some concerns) at 0.05, 0.35, 0.10, 0.30 (se 0.22 each) and
/// 4 pre-post studies at 0.35 (0.06). Only the controlled ones are pooled:
/// Q = 1.34 < 3, tau^2 0, mu 0.20, se 0.11, CI [-0.0156, 0.4156] ->
/// inconclusive -> needs more research (an inconclusive controlled
/// synthesis is not overridden by uncontrolled support: not prudent).
/// All eight would pool to 0.340 [0.283, 0.396] (benefit); they must not.
#[test]
fn f09_prepost_studies_never_enter_the_synthesis() {
    let mut rs = Vec::new();
    for (i, (y, d)) in [(0.05, Rct), (0.35, Rct), (0.10, Qed), (0.30, Qed)].into_iter().enumerate() {
        rs.push(rct(&format!("C{i}"), y, 0.22).design(d).rob(Some(RiskOfBias::SomeConcerns)).domain(RiskFactor));
    }
    for i in 0..4 {
        rs.push(rct(&format!("P{i}"), 0.35, 0.06).design(PrePost).rob(Some(RiskOfBias::High)).domain(RiskFactor));
    }
    let c = cell(rs);
    let p = &c.pooled.as_ref().unwrap().synthesis;
    assert_eq!(p.k, 4);
    assert!((p.estimate - 0.20).abs() < EST_TOL, "{}", p.estimate);
    assert!((p.ci_lower - (-0.015_596_038_3)).abs() < EST_TOL && (p.ci_upper - 0.415_596_038_3).abs() < EST_TOL);
    assert_eq!((c.category, c.rule), (Rating::NeedsResearch, Rule::Inconclusive), "{}", show(&c));
}

// ---------------------------------------------------------------------
// Finding 10: the score never contradicts the category.
// ---------------------------------------------------------------------

/// Two RCTs d = 0.25 [-0.02, 0.52]: pooled CI [0.059, 0.441] -> effective
/// (see f01). Score = Phi(0.25 / 0.09741) = Phi(2.566) = 0.99486 > 0.975:
/// never below 0.5 beside a significant benefit (2.0 printed 0.087 beside
/// "effective").
#[test]
fn f10_a_significant_synthesis_scores_above_one_half() {
    let se = se_of(-0.02, 0.52);
    let c = cell(vec![rct("S1", 0.25, se), rct("S2", 0.25, se)]);
    assert_eq!(c.category, Rating::Effective);
    assert_eq!(c.score_basis, ScoreBasis::Synthesis);
    let want = phi(0.25 / (se / 2f64.sqrt()));
    assert!((c.score - want).abs() < 1e-6 && c.score > 0.975, "{} vs {want}", c.score);
}

/// The standard normal CDF from the Maclaurin series of erf (exact to
/// ~1e-15 for the |z| < 4 used here).
fn phi(z: f64) -> f64 {
    let x = z / 2f64.sqrt();
    let (mut sum, mut term, mut n) = (0.0, x, 0.0);
    while term.abs() > 1e-18 {
        sum += term / (2.0 * n + 1.0);
        n += 1.0;
        term *= -x * x / n;
    }
    0.5 * (1.0 + 2.0 / std::f64::consts::PI.sqrt() * sum)
}

/// Two appraised RCTs rated effective (rating only) and two appraised RCTs
/// with effects -0.05 (0.10) each: their synthesis -0.05, se 0.0707, CI
/// [-0.189, 0.089] is inconclusive; R+ = 2. The code: benefit (R+ > 0), no
/// null or harm -> rule 3 effective (certainty high -> imprecision for the
/// inconclusive synthesis -> moderate), with score Phi(-0.05 / 0.0707) =
/// 0.24: "effective" beside a probability of benefit of 0.24 (finding 10
/// again). A reviewer: the effect estimates give no support; two reviewer
/// ratings against two inconclusive estimates is at most WWC "potentially
/// positive" (promising), and the score must not contradict the category.
#[test]
fn f10_score_does_not_contradict_a_benefit_verdict_with_ratings_beside_effects() {
    let c = cell(vec![r("A", "S1"), r("B", "S2"), rct("S3", -0.05, 0.10), rct("S4", -0.05, 0.10)]);
    let benefit = matches!(c.category, Rating::Effective | Rating::Promising);
    assert!(!benefit || c.score >= 0.5, "category {:?} with score {}: {}", c.category, c.score, show(&c));
    assert_ne!(c.category, Rating::Effective, "{}", show(&c));
}

// ---------------------------------------------------------------------
// Finding 12: borrowed verdicts are capped on every per-domain column.
// ---------------------------------------------------------------------

/// LIC: one local RCT, violence 0.10 (0.15), inconclusive -> local verdict
/// not conclusive, 1 < 2 local studies -> borrow. HIC: three RCTs with
/// violence 0.30 (0.05) and behaviour 0.30 (0.05), low RoB, n 400.
/// Transfer HIC -> LIC 0.25: borrowed variances 0.0025 / 0.25 = 0.01.
/// Violence: pooled 0.274, CI [0.169, 0.380], mHKSJ [0.103, 0.446], I^2 0,
/// n 1,600; certainty high -> indirectness (borrowed) -> moderate ->
/// effective before the cap -> capped at promising. Behaviour (borrowed
/// only): 0.30, se 0.0577, CI [0.187, 0.413], mHKSJ excludes 0, n 1,200 ->
/// moderate -> effective -> capped at promising. Every column promising,
/// capped; basis borrowed.
#[test]
fn f12_borrowed_verdicts_are_capped_in_every_domain() {
    let mut rs = vec![rct("L1", 0.10, 0.15)];
    for i in 1..=3 {
        let s = format!("H{i}");
        rs.push(r(&format!("HV{i}"), &s).smd(0.30, 0.05).direction(HIGHER).setting(IncomeSetting::Hic));
        rs.push(
            r(&format!("HB{i}"), &s).smd(0.30, 0.05).direction(HIGHER).domain(Behaviour).setting(IncomeSetting::Hic),
        );
    }
    let recs = build(rs);
    let c = cell_in(&recs, IncomeSetting::Lic, &cfg2020());
    invariants(&c);
    assert_eq!((c.basis, c.category, c.capped), (Basis::Borrowed, Rating::Promising, true), "{}", show(&c));
    assert_eq!(c.category_local, Some(Rating::NeedsResearch));
    assert!(downs(&c).contains(&"indirectness"));
    for d in &c.domains {
        assert!(d.category >= Rating::Promising, "{:?} {:?} above the cap", d.domain, d.category);
    }
    for dom in [Violence, Behaviour] {
        let d = c.domain_result(dom).unwrap();
        assert_eq!((d.category, d.capped), (Rating::Promising, true), "{dom:?}");
    }
    let hic = cell_in(&recs, IncomeSetting::Hic, &cfg2020());
    assert_eq!((hic.basis, hic.category), (Basis::Local, Rating::Effective));
}

/// Local first: a cell with a conclusive local verdict does not borrow.
/// LIC: one RCT 0.40 (0.10), n 400: CI [0.204, 0.596] benefit, k = 1 ->
/// promising (conclusive) -> stays local, even with effective HIC evidence.
#[test]
fn r10_a_conclusive_local_verdict_is_not_replaced_by_borrowing() {
    let mut rs = vec![rct("L1", 0.40, 0.10)];
    for i in 1..=3 {
        rs.push(rct(&format!("H{i}"), 0.30, 0.05).setting(IncomeSetting::Hic));
    }
    let c = cell_in(&build(rs), IncomeSetting::Lic, &cfg2020());
    invariants(&c);
    assert_eq!((c.basis, c.category, c.rule), (Basis::Local, Rating::Promising, Rule::Promising), "{}", show(&c));
}

/// Borrowing with an informative, inconclusive local RCT. LIC: one large
/// RCT (n 800), 0.05, se 0.0714, CI [-0.090, 0.190]: its upper bound
/// excludes the HIC effect. HIC: three RCTs at 0.30 (0.05). The code
/// borrows (1 local study, local verdict inconclusive): pooled 0.224
/// [0.086, 0.363], I^2 57%, certainty low (inconsistency, indirectness) ->
/// promising (capped). A GRADE reviewer prefers direct evidence when it
/// exists: the local trial, directly in the setting, rules out the HIC
/// effect size; indirect evidence that conflicts with it should not lift
/// the local verdict to promising. Expected: needs more research.
#[test]
#[ignore = "reviewer objection: borrowed HIC evidence lifts a LIC cell to promising although its own large RCT (CI [-0.09, 0.19]) excludes the HIC effect"]
fn x_borrowing_does_not_override_an_informative_local_rct() {
    let mut rs = vec![rct("L1", 0.05, 0.0051f64.sqrt()).n(Some(800))];
    for i in 1..=3 {
        rs.push(rct(&format!("H{i}"), 0.30, 0.05).setting(IncomeSetting::Hic));
    }
    let c = cell_in(&build(rs), IncomeSetting::Lic, &cfg2020());
    assert_eq!(c.category, Rating::NeedsResearch, "{}", show(&c));
}

// ---------------------------------------------------------------------
// Finding 13: robustness words.
// ---------------------------------------------------------------------

/// Five RCTs, some concerns, n 101 each (total 505), se 0.10, effects 0.34,
/// 0.23, 0.18, 0.26, 0.54 (found by search with docs/worked-example-3.0.py):
/// I^2 49.75% with a PI crossing 0, pooled CI [0.186, ...], mHKSJ lower
/// 0.135 > 0. Default: high -> risk of bias (some concerns carry 100% of
/// the weight) -> moderate; I^2 49.75 < 50: no inconsistency; n 505 >=
/// 500: no imprecision -> effective. A draw keeps it only when neither
/// the OIS (500 x f > 505 with P = (ln 1.5 - ln 1.01) / (2 ln 1.5) =
/// 0.488) nor the I^2 threshold (<= 49.75 with P = 9.75 / 20 = 0.4874)
/// adds a downgrade: P(keep) = 0.512 x 0.513 = 0.263 < 50%: the words say
/// the default verdict is the minority outcome.
#[test]
fn f13_robustness_below_half_says_minority_outcome() {
    let ys = [0.34, 0.23, 0.18, 0.26, 0.54];
    let rs = ys
        .iter()
        .enumerate()
        .map(|(i, y)| rct(&format!("S{i}"), *y, 0.10).rob(Some(RiskOfBias::SomeConcerns)).n(Some(101)))
        .collect();
    let c = cell(rs);
    let p = &c.pooled.as_ref().unwrap().synthesis;
    assert!((p.i2 - 49.748_743_718_6).abs() < 1e-4, "I2 {}", p.i2);
    assert_eq!((c.category, c.certainty), (Rating::Effective, Certainty::Moderate), "{}", show(&c));
    let rob = c.robustness.unwrap();
    assert!((0.22..=0.31).contains(&rob), "robustness {rob}, expected about 0.263");
    let w = words::sureness(&c);
    assert!(w.contains("minority outcome"), "{w}");
    assert!(w.contains(&format!("{:.0}%", 100.0 * rob)), "{w}");
}

/// The words on a constructed result: below 50% always say "minority
/// outcome"; from 50% they do not.
#[test]
fn f13_sureness_words_on_constructed_results() {
    let mut c = cell(vec![rct("S1", 0.40, 0.10)]);
    for (r, minority) in [(0.0, true), (0.3, true), (0.499, true), (0.5, false), (0.8, false), (1.0, false)] {
        c.robustness = Some(r);
        let w = words::sureness(&c);
        assert_eq!(w.contains("minority outcome"), minority, "{r}: {w}");
    }
}

// ---------------------------------------------------------------------
// Finding 14: unknown risk of bias.
// ---------------------------------------------------------------------

/// One RCT, RoB not assessed, SMD 0.40 (0.10), n 400: CI [0.204, 0.596]
/// benefit, k = 1 -> promising (never prudent). Certainty: high -> risk of
/// bias ("not assessed for 1 of 1") -> imprecision (n 400 < 500) -> low.
/// Rated effective instead (rating only): R+ = 1 -> promising.
/// Inconclusive (0.10, 0.15): needs more research, not prudent.
#[test]
fn f14_an_rct_without_risk_of_bias_supports_at_most_promising() {
    let c = cell(vec![rct("S1", 0.40, 0.10).rob(None)]);
    assert_eq!(c.category, Rating::Promising, "{}", show(&c));
    assert_eq!((c.certainty, downs(&c)), (Certainty::Low, vec!["risk of bias", "imprecision"]));
    assert!(matches!(c.downgrades[0], Downgrade::RiskOfBias { not_assessed: 1, .. }), "{:?}", c.downgrades);

    let c = cell(vec![r("A", "S1").rob(None)]);
    assert_eq!(c.category, Rating::Promising, "{}", show(&c));
    assert!(matches!(c.downgrades.first(), Some(Downgrade::RiskOfBias { not_assessed: 1, .. })));

    let c = cell(vec![rct("S1", 0.10, 0.15).rob(None)]);
    assert_eq!(c.category, Rating::NeedsResearch, "{}", show(&c));
}

/// Three RCTs without a risk-of-bias judgement, 0.40 (0.08) each, n 400:
/// pooled 0.40, se 0.0462, CI [0.309, 0.491], mHKSJ [0.201, 0.599].
/// Certainty high -> risk of bias (3 of 3 not assessed) -> moderate.
/// No appraised study: the appraised synthesis does not exist -> 0 < 2 ->
/// NotAssessedCap, promising. With `quality.unknown_rob_max = effective`:
/// effective.
#[test]
fn f14_unknown_rob_cap_is_configurable() {
    let rs = || (1..=3).map(|i| rct(&format!("S{i}"), 0.40, 0.08).rob(None)).collect::<Vec<R>>();
    let c = cell(rs());
    assert_eq!((c.category, c.rule, c.certainty), (Rating::Promising, Rule::NotAssessedCap, Certainty::Moderate));
    let mut cfg = cfg2020();
    cfg.quality.unknown_rob_max = Rating::Effective;
    let c = with(rs(), &cfg);
    assert_eq!((c.category, c.rule), (Rating::Effective, Rule::Effective), "{}", show(&c));
}

/// Deviation (a): one appraised RCT 0.40 (0.08) and two unassessed RCTs
/// 0.40 (0.08). All three: benefit, moderate (risk of bias). Appraised
/// alone: k = 1 < 2 -> NotAssessedCap, promising.
#[test]
fn r_unknown_rob_effective_needs_two_appraised_studies() {
    let c = cell(vec![rct("S1", 0.40, 0.08), rct("S2", 0.40, 0.08).rob(None), rct("S3", 0.40, 0.08).rob(None)]);
    assert_eq!((c.category, c.rule), (Rating::Promising, Rule::NotAssessedCap), "{}", show(&c));
}

// ---------------------------------------------------------------------
// Finding 15: the harm column counts on unrated rows.
// ---------------------------------------------------------------------

/// One RCT (low RoB, n 400), unrated SMD -0.15 (0.10) with direction on
/// violence (CI [-0.346, 0.046], inconclusive) and `harm = true`: an
/// explicit harm judgement on a controlled, appraised study on violence
/// (section 8 (b)) -> credible -> harmful. On a pre-post study the same
/// row is only a harm signal ("not controlled").
#[test]
fn f15_the_harm_column_counts_on_unrated_rows() {
    let c = cell(vec![rct("S1", -0.15, 0.10).harm_col(true)]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, true, Rule::HarmStudies), "{}", show(&c));

    let c = cell(vec![rct("S1", -0.15, 0.10).harm_col(true).design(PrePost)]);
    assert!(!c.harm_flag, "{}", show(&c));
    assert_eq!(c.harm_signals.len(), 1);
    assert_eq!(c.harm_signals[0].reason, HarmReason::NotControlled);
}

// ---------------------------------------------------------------------
// Findings 11 and 16 (ingest and quality gates; other worktrees).
// ---------------------------------------------------------------------

/// Finding 16: "LMIC" means low- and middle-income in UNICEF / World Bank
/// usage; it must be refused as ambiguous, with a suggestion.
#[test]
fn f16_lmic_is_refused_as_ambiguous() {
    assert!(IncomeSetting::parse("LMIC").is_err());
}

// Finding 11 (placeholder names left out of rankings, alias table) is a
// quality gate in `rank` and the mapping file: another worktree; it changes
// no verdict, so no verdict test here.

// ---------------------------------------------------------------------
// Rules of model 3.0 (docs/scoring.md sections 5-10), one by one.
// ---------------------------------------------------------------------

/// Rule 5 without a synthesis: two appraised RCTs rated ineffective
/// (rating only): R0 = 2, nothing else conclusive -> ineffective. Certainty
/// high (randomised; n 800; a null is not imprecise).
#[test]
fn r5_rated_null_only_is_ineffective() {
    let c = cell(vec![r("A", "S1").rating(Some(Rating::Ineffective)), r("B", "S2").rating(Some(Rating::Ineffective))]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, false, Rule::Ineffective), "{}", show(&c));
    assert_eq!(c.certainty, Certainty::High, "{}", show(&c));
}

/// Two appraised RCTs, 0.01 (0.03) each: pooled 0.01, se 0.0212, CI
/// [-0.032, 0.052] inside +-0.10 -> null -> ineffective (rule 5, P = null).
#[test]
fn r5_a_pooled_null_is_ineffective() {
    let c = cell(vec![rct("S1", 0.01, 0.03), rct("S2", 0.01, 0.03)]);
    assert_eq!((c.category, c.rule, c.harm_flag), (Rating::Ineffective, Rule::Ineffective, false), "{}", show(&c));
}

/// Rule 6: only uncontrolled support. A pre-post study rated effective and
/// a high-RoB RCT with a significant benefit 0.40 (0.10): neither is
/// eligible; no eligible evidence; support -> prudent.
#[test]
fn r6_uncontrolled_or_high_rob_support_is_prudent() {
    let c = cell(vec![
        r("A", "S1").design(PrePost).rob(Some(RiskOfBias::High)),
        rct("S2", 0.40, 0.10).rob(Some(RiskOfBias::High)),
    ]);
    assert_eq!((c.category, c.rule), (Rating::Prudent, Rule::Prudent), "{}", show(&c));
}

/// Rule 4: two QEDs (low RoB, n 400) at 0.40 (0.10): pooled 0.40, se
/// 0.0707, CI [0.261, 0.539] benefit; certainty starts LOW (non-randomised,
/// GRADE); mHKSJ t(1) crosses 0 -> very low; effective needs a randomised
/// study among those behind the benefit -> promising (NotRandomised; it
/// would also fail the certainty test).
#[test]
fn r4_quasi_experiments_only_are_promising() {
    let c = cell(vec![rct("S1", 0.40, 0.10).design(Qed), rct("S2", 0.40, 0.10).design(Qed)]);
    assert_eq!((c.category, c.rule), (Rating::Promising, Rule::NotRandomised), "{}", show(&c));
    assert_eq!((c.certainty_start, c.certainty), (Certainty::Low, Certainty::VeryLow));
}

/// Risk factors only: three RCTs, risk factor 0.40 (0.08): pooled benefit,
/// mHKSJ excludes 0; certainty high -> indirectness (risk factors) ->
/// moderate; rule 4: risk factors cannot make effective (GRADE
/// indirectness judgement) -> promising (RiskFactorCap).
#[test]
fn r4_risk_factors_only_are_capped_at_promising() {
    let c = cell((1..=3).map(|i| rct(&format!("S{i}"), 0.40, 0.08).domain(RiskFactor)).collect());
    assert_eq!((c.category, c.rule, c.certainty), (Rating::Promising, Rule::RiskFactorCap, Certainty::Moderate));
    assert_eq!(downs(&c), ["indirectness"]);
}

/// Rule 1 from a synthesis: two appraised RCTs at -0.15 (0.10), direction
/// given, each inconclusive ([-0.346, 0.046]); pooled -0.15, se 0.0707, CI
/// [-0.289, -0.011] -> significantly harmful on violence -> credible
/// (pooled) harm -> harmful (Rule::HarmPooled).
#[test]
fn r1_a_significantly_harmful_synthesis_is_harm() {
    let c = cell(vec![rct("S1", -0.15, 0.10), rct("S2", -0.15, 0.10)]);
    assert_eq!((c.category, c.harm_flag, c.rule), (Rating::Ineffective, true, Rule::HarmPooled), "{}", show(&c));
}

/// Non-credible harm alone (doc 21.9): an unassessed RCT significantly
/// harmful with a direction -> harm signal "risk of bias not assessed";
/// no conclusive benefit -> rule 7 needs more research (not ineffective,
/// not prudent).
#[test]
fn r7_a_non_credible_harm_alone_needs_more_research() {
    let c = cell(vec![rct("S1", -0.40, 0.10).rob(None)]);
    assert_eq!((c.category, c.harm_flag), (Rating::NeedsResearch, false), "{}", show(&c));
    assert_eq!(c.harm_signals[0].reason, HarmReason::RiskOfBiasNotAssessed);
}

/// Rule 2 with a non-credible eligible harm: an appraised RCT benefit 0.40
/// (0.10) and an unassessed RCT with a significant harm -0.40 (0.10) (both
/// with direction): the synthesis is inconclusive (I^2 high); the harm is
/// a signal. Pooled (0, wide) -> inconclusive -> needs more research.
#[test]
fn r2_benefit_beside_a_non_credible_harm_is_not_effective() {
    let c = cell(vec![rct("S1", 0.40, 0.10), rct("S2", -0.40, 0.10).rob(None)]);
    assert_eq!((c.category, c.harm_flag), (Rating::NeedsResearch, false), "{}", show(&c));
}

/// Harm is never hidden: behaviour credible harm (appraised RCT, -0.40
/// (0.10), direction given, primary) beside an effective violence domain
/// (three RCTs rated effective) -> headline behaviour, harmful.
#[test]
fn r9_credible_harm_in_a_lower_tier_is_the_headline() {
    let mut rs: Vec<R> = (1..=3).map(|i| r(&format!("V{i}"), &format!("S{i}"))).collect();
    rs.push(rct("S4", -0.40, 0.10).domain(Behaviour));
    let c = cell(rs);
    assert_eq!((c.domain, c.category, c.harm_flag), (Behaviour, Rating::Ineffective, true), "{}", show(&c));
    assert_eq!(c.domain_result(Violence).unwrap().category, Rating::Effective);
}

/// A significant harm on a SECONDARY violence finding of an appraised RCT
/// whose primary outcome is behaviour: the study's violence evidence is
/// not primary -> harm signal "secondary outcome", no harm flag.
#[test]
fn r8_harm_on_a_secondary_outcome_is_a_signal() {
    let c = cell(vec![
        r("A", "S1").domain(Behaviour).primary(true).smd(0.30, 0.10).direction(HIGHER),
        r("B", "S1").domain(Violence).primary(false).smd(-0.40, 0.10).direction(HIGHER),
        r("C", "S1").domain(Violence).primary(false).smd(-0.30, 0.10).direction(HIGHER),
    ]);
    assert!(!c.harm_flag, "{}", show(&c));
    assert!(c.harm_signals.iter().any(|s| s.reason == HarmReason::SecondaryOutcome), "{:?}", c.harm_signals);
}

/// Weights must not decide the category (item 6, doc 15), and with
/// rating-only evidence certainty starts "high if any eligible study is
/// randomised" (counted by studies, not by record weight). Two appraised
/// RCTs (n 10, 2000) rated effective: R+ = 2, randomised; start high; very
/// serious imprecision (n 20, below a quarter of the OIS 500) -> down two
/// -> low -> promising (LowCertainty). Add an appraised QED (n 5,000, 2020)
/// rated effective: R+ = 3, two of three randomised -> start high; total n
/// 5,020: no imprecision -> high -> effective. More positive evidence never
/// lowers the verdict.
/// The code starts rating-only evidence from the RECORD-WEIGHT share of
/// randomised studies (RCTs 1.0 x sample 0.40 x age 0.5 = 0.2 each; QED
/// 0.7 x 1.25 = 0.875; share 0.31 < 0.5) -> low -> promising: adding a
/// positive study lowers the verdict, through the sample and age weights.
/// (Found by scoring.rs's `adding_a_rigorous_positive_study_never_lowers_the_verdict`,
/// which fails intermittently on this branch for this reason.)
#[test]
fn x_record_weights_do_not_decide_the_category_through_the_certainty_start() {
    let old = |id: &str| r(id, id).n(Some(10)).year(2000);
    let c = cell(vec![old("S1"), old("S2")]);
    assert_eq!((c.category, c.certainty), (Rating::Promising, Certainty::Low), "{}", show(&c));
    let c = cell(vec![old("S1"), old("S2"), r("S3", "S3").design(Qed).n(Some(5000)).year(2020)]);
    assert_eq!(c.category, Rating::Effective, "{}", show(&c));
    assert_eq!(c.certainty_start, Certainty::High, "{}", show(&c));
}

/// A study whose PRIMARY violence finding is beneficial, 0.30 (0.10),
/// with a SECONDARY violence finding significantly harmful, -0.40 (0.10),
/// both with a direction (appraised RCT). The verdict rests on the
/// primary finding (promising, k = 1), right. But section 8 says
/// everything else that points to harm goes to `harm_signal` with its
/// reason ("secondary outcome"); the code only looks at the findings that
/// set the standing (the primary ones) and reports no signal at all.
#[test]
fn x_a_secondary_harm_beside_a_primary_benefit_is_a_signal() {
    let c = cell(vec![
        r("A", "S1").smd(0.30, 0.10).direction(HIGHER).primary(true),
        r("B", "S1").smd(-0.40, 0.10).direction(HIGHER).primary(false),
    ]);
    assert_eq!((c.category, c.harm_flag), (Rating::Promising, false), "{}", show(&c));
    assert!(c.harm_signals.iter().any(|s| s.reason == HarmReason::SecondaryOutcome), "{:?}", c.harm_signals);
}

/// Mixed measures (section 6, choice 21.10): an RCT with SMD 0.40 (0.10)
/// and an RCT with RR 0.70 [0.60, 0.82] (ratio rule) on violence: no
/// synthesis (pooled_note mixed measures); both count by their own
/// standing: R+ = 2 appraised randomised -> certainty high (n 800) ->
/// effective; score from the studies, above 0.975 (both significant).
#[test]
fn r6_mixed_measures_are_not_pooled_and_count_one_by_one() {
    let c = cell(vec![rct("S1", 0.40, 0.10), r("B", "S2").rr(0.70, 0.60, 0.82)]);
    assert!(c.pooled.is_none());
    assert!(matches!(c.pooled_note, Some(PoolNote::MixedMeasures { .. })), "{:?}", c.pooled_note);
    assert_eq!((c.category, c.score_basis), (Rating::Effective, ScoreBasis::Studies), "{}", show(&c));
    assert!(c.score > 0.975);
}

/// The estimate wins over a rating on the same finding (section 2): a row
/// rated effective whose own SMD 0.10 (0.15) is inconclusive -> needs more
/// research.
#[test]
fn r2_the_estimate_wins_over_the_rating_on_the_same_finding() {
    let c = cell(vec![rct("S1", 0.10, 0.15).rating(Some(Rating::Effective))]);
    assert_eq!(c.category, Rating::NeedsResearch, "{}", show(&c));
}

/// Risk of bias: studies with some concerns carry > 50% of the weight ->
/// down one. Three RCTs 0.40 (0.08), all some concerns: high -> moderate
/// -> still effective (k = 3, mHKSJ excludes 0, n 1,200).
#[test]
fn r11_some_concerns_carrying_most_weight_lower_certainty() {
    let c = cell((1..=3).map(|i| rct(&format!("S{i}"), 0.40, 0.08).rob(Some(RiskOfBias::SomeConcerns))).collect());
    assert_eq!((c.category, c.certainty, downs(&c)), (Rating::Effective, Certainty::Moderate, vec!["risk of bias"]));
}

/// Missing sample sizes count as 0 in the OIS (choice 21.6): three RCTs
/// 0.40 (0.08) without n: imprecision -> moderate -> effective.
#[test]
fn r11_missing_sample_sizes_count_as_zero_for_the_ois() {
    let c = cell((1..=3).map(|i| rct(&format!("S{i}"), 0.40, 0.08).n(None)).collect());
    assert_eq!((c.category, c.certainty, downs(&c)), (Rating::Effective, Certainty::Moderate, vec!["imprecision"]));
}

/// Mixed designs: a small RCT 0.40 (0.20) and a large QED 0.40 (0.05).
/// The body includes a randomised study -> starts high (rated from its
/// best design, so an agreeing QED can never lower it); pooled 0.40, se
/// 1/sqrt(25 + 400) = 0.0485, CI [0.305, 0.495] benefit; mHKSJ t(1) = 12.71
/// x 0.0485 crosses 0 -> imprecision -> moderate; n 800 >= OIS; one
/// randomised study behind the benefit -> effective. Two QEDs alone start
/// low (r4).
#[test]
fn r11_certainty_starts_high_when_the_body_includes_a_randomised_study() {
    let c = cell(vec![rct("S1", 0.40, 0.20), rct("S2", 0.40, 0.05).design(Qed)]);
    assert_eq!(
        (c.certainty_start, c.certainty, c.category),
        (Certainty::High, Certainty::Moderate, Rating::Effective),
        "{}",
        show(&c)
    );
}

// ---------------------------------------------------------------------
// Reviewer objections found by trying to break the model.
// ---------------------------------------------------------------------

/// One appraised RCT rated ineffective (rating only) and one appraised RCT
/// with SMD 0.30 (0.20), CI [-0.092, 0.692] (inconclusive). Rule 5 says
/// ineffective only when P = null, or with NO synthesis R0 > 0 and nothing
/// else conclusive. Here there is a synthesis and it is inconclusive:
/// rule 5 does not match; no benefit, no harm -> rule 7 needs more
/// research. The code counts the rated null (R0) although a synthesis
/// exists and calls the cell ineffective: an imprecise estimate pointing
/// to benefit is overruled by one "no effect" label (finding 1 again).
#[test]
fn x_a_rated_null_beside_an_inconclusive_synthesis_is_not_ineffective() {
    let c = cell(vec![r("A", "S1").rating(Some(Rating::Ineffective)), rct("S2", 0.30, 0.20)]);
    assert_eq!(c.category, Rating::NeedsResearch, "{}", show(&c));
}

/// Rule 3 needs at least one randomised study behind the benefit (doc
/// 7.3, choice 21.8). Two QEDs rated effective (R+ = 2, record weight
/// 0.7 each) and two RCTs rated needs more research (weight 1.0 each):
/// randomised weight share 2 / 3.4 = 0.59 >= 0.5 -> certainty starts high;
/// no downgrade (n 1,600; no synthesis) -> high. The benefit rests on QEDs
/// only: the documented rule gives promising; WWC would rate it at most
/// "potentially positive" too (2 positive, 2 indeterminate).
#[test]
fn x_effective_needs_a_randomised_study_behind_the_benefit() {
    let c = cell(vec![
        r("A", "S1").design(Qed),
        r("B", "S2").design(Qed),
        r("C", "S3").rating(Some(Rating::NeedsResearch)),
        r("D", "S4").rating(Some(Rating::NeedsResearch)),
    ]);
    assert_eq!(c.category, Rating::Promising, "{}", show(&c));
}

/// A row whose own estimate is significantly BENEFICIAL (SMD 0.40 (0.10),
/// direction given, appraised RCT, violence) but carries the harm column
/// (or an explicit "harmful" label). Section 2: the estimate wins over a
/// rating on the same finding set; section 8 (b): an explicit harm
/// judgement is credible. The code takes (b) and calls the cell harmful.
/// A reviewer would not sign harm from a finding whose own estimate shows
/// a significant benefit (a coding error, or a harm on another outcome
/// than the one estimated): expected a harm signal and a benefit verdict
/// (promising, k = 1), at least not harmful.
#[test]
fn x_a_harm_flag_on_a_significantly_beneficial_estimate_is_not_harm() {
    let c = cell(vec![rct("S1", 0.40, 0.10).harm_col(true)]);
    assert!(!c.harm_flag, "{}", show(&c));
}

/// Harm on a survivors' recovery outcome ("other": the doc says for
/// response services the outcome that matters is often recovery, e.g.
/// PTSD). Two appraised RCTs, direction given, PTSD symptoms significantly
/// WORSE: -0.40 (0.10) each, pooled CI [-0.539, -0.261]. Credible harm is
/// restricted to violence and behaviour, so the cell is "needs more
/// research" with a harm signal. CEBC and Blueprints withhold ratings on
/// credible harm on any outcome; a reviewer would sign harmful here.
#[test]
#[ignore = "reviewer objection: significant, credible harm on a recovery outcome ('other') of two low-RoB RCTs is only a harm signal"]
fn x_credible_harm_on_a_recovery_outcome_is_harm() {
    let c = cell(vec![rct("S1", -0.40, 0.10).domain(Other), rct("S2", -0.40, 0.10).domain(Other)]);
    assert!(c.harm_flag, "{}", show(&c));
}

/// A tiny trial: one RCT, n 20, SMD 1.20 (0.48), CI [0.259, 2.141] ->
/// benefit, k = 1 -> promising (WWC: one significant study is "potentially
/// positive"): that part passes here. Certainty: the code downgrades once
/// for imprecision (n 20 < 500; one level per criterion, choice 21.5) ->
/// moderate. GRADE 6 rates down twice for very serious imprecision when
/// the sample is a small fraction of the OIS (here 4%) and the CI spans
/// trivial to implausibly large effects; a reviewer would say low.
#[test]
fn x_a_tiny_trial_is_promising() {
    let c = cell(vec![rct("S1", 1.20, 0.48).n(Some(20))]);
    assert_eq!((c.category, c.rule), (Rating::Promising, Rule::Promising), "{}", show(&c));
}

#[test]
fn x_a_tiny_trial_has_at_most_low_certainty() {
    let c = cell(vec![rct("S1", 1.20, 0.48).n(Some(20))]);
    assert!(c.certainty <= Certainty::Low, "{}", show(&c));
}

/// Deviation (a) and certainty. S1, S2: appraised RCTs with some concerns,
/// n 100 each, 0.30 (0.10); S3: RCT without a risk-of-bias judgement, n
/// 2,000, 0.30 (0.03). All three: 0.30, se 0.0275, I^2 0, mHKSJ t(2)
/// excludes 0, n 2,200 -> high -> risk of bias (1 not assessed) ->
/// moderate. Appraised alone (S1, S2): 0.30 [0.161, 0.439], benefit with 2
/// appraised studies -> the code's cap does not bind -> effective, with the
/// certainty of the FULL synthesis. But the appraised evidence alone is
/// low: high -> risk of bias (some concerns carry all its weight) ->
/// imprecision (mHKSJ t(1) crosses 0; n 200 < 500). The moderate
/// certainty comes from the unappraised study that the sensitivity
/// analysis was meant to set aside. A reviewer signs promising: the
/// evidence that licenses "effective" must itself have adequate certainty.
#[test]
fn x_the_appraised_sensitivity_synthesis_needs_adequate_certainty() {
    let some = Some(RiskOfBias::SomeConcerns);
    let c = cell(vec![
        rct("S1", 0.30, 0.10).rob(some).n(Some(100)),
        rct("S2", 0.30, 0.10).rob(some).n(Some(100)),
        rct("S3", 0.30, 0.03).rob(None).n(Some(2000)),
    ]);
    assert_eq!(c.category, Rating::Promising, "{}", show(&c));
}

/// Weak harm beside good evidence: three appraised RCTs 0.30 (0.08) with
/// direction (effective, see f05's behaviour numbers) and a HIGH-RoB RCT
/// with a significant harm -0.40 (0.10) with direction, on violence. The
/// high-RoB study is not eligible: harm signal "high risk of bias"; the
/// synthesis of the three -> effective, not harmful.
#[test]
fn x_a_high_rob_harm_is_a_signal_beside_good_evidence() {
    let mut rs: Vec<R> = (1..=3).map(|i| rct(&format!("S{i}"), 0.30, 0.08)).collect();
    rs.push(rct("S4", -0.40, 0.10).rob(Some(RiskOfBias::High)));
    let c = cell(rs);
    assert_eq!((c.category, c.harm_flag), (Rating::Effective, false), "{}", show(&c));
    assert_eq!(c.pooled.as_ref().unwrap().synthesis.k, 3);
    assert_eq!(c.harm_signals.len(), 1);
    assert_eq!(c.harm_signals[0].reason, HarmReason::HighRiskOfBias);
}

/// Missing design: a row with a significant benefit 0.40 (0.10) and low
/// RoB but no design is not controlled (unknown design): it can support
/// prudent only.
#[test]
fn x_a_finding_without_a_design_supports_prudent_only() {
    let mut x = rct("S1", 0.40, 0.10);
    x.0.design = None;
    let c = cell(vec![x]);
    assert_eq!((c.category, c.rule), (Rating::Prudent, Rule::Prudent), "{}", show(&c));
}

/// A raw mean difference has no band by default (`md = 0`): a precise MD
/// around 0 is never "no effect", so MD 0.0 (0.01) is inconclusive ->
/// needs more research, not ineffective.
#[test]
fn x_a_raw_mean_difference_is_never_null_without_a_band() {
    let c = cell(vec![r("A", "S1").effect("MD", 0.0, 0.01).direction(HIGHER).n(Some(3000))]);
    assert_eq!((c.category, c.rule), (Rating::NeedsResearch, Rule::Inconclusive), "{}", show(&c));
}

/// Finding 4 / item 4: `score` warns about rows whose direction was
/// assumed (SMD without `direction`), with a row count, on stderr and in
/// meta.json. On this branch neither says anything.
#[test]
fn f04_score_warns_about_rows_with_an_assumed_direction() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "record_id,study_id,intervention,target_group,income_setting,design,risk_of_bias,sample_size,year,outcome_domain,effect_size,se,measure\n\
               A,S1,Prog,parents,LIC,rct,low,400,2020,violence,-0.4,0.1,SMD\n\
               B,S2,Prog,parents,LIC,rct,low,400,2020,violence,-0.3,0.1,SMD\n";
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let run = crate::util::run_in(dir.path(), &["score", "d.csv", "--out", "o.csv"]);
    run.expect_code(0);
    assert!(run.stderr.contains("direction") && run.stderr.contains('2'), "{}", run.show());
    let meta = std::fs::read_to_string(dir.path().join("o.csv.meta.json")).unwrap();
    assert!(meta.contains("direction"), "{meta}");
}

// ---------------------------------------------------------------------
// The worked example (docs/scoring.md section 19.1).
// ---------------------------------------------------------------------

/// Expected numbers from `python3 docs/worked-example-3.0.py` (its
/// `synthesis` function, printed to 12 decimals for this test; the script
/// prints 6). REML by Fisher scoring to 1e-14 there, 1e-10 here.
mod worked {
    pub const MU: f64 = 0.315_322_014_026;
    pub const SE: f64 = 0.061_789_533_920;
    pub const LO: f64 = 0.194_216_752_921;
    pub const HI: f64 = 0.436_427_275_132;
    pub const HK_LO: f64 = 0.036_695_784_941;
    pub const HK_HI: f64 = 0.593_948_243_111;
    pub const PI_LO: f64 = -0.038_979_601_349;
    pub const PI_HI: f64 = 0.669_623_629_402;
    pub const TAU2: f64 = 0.002_962_740_135;
    pub const I2: f64 = 24.776_296_663_979;
    pub const Q: f64 = 2.835_786_917_590;
    pub const SCORE: f64 = 0.999_999_832_988;
    // Risk factors (S1, S2).
    pub const RF_MU: f64 = 0.38;
    pub const RF_LO: f64 = 0.216_017_648_069;
    pub const RF_HK_LO: f64 = -0.683_077_359_172;
    pub const RF_PI_LO: f64 = -1.123_418_419_192;
    pub const RF_TAU2: f64 = 0.007;
    pub const RF_I2: f64 = 48.442_906_574_394;
}

/// REML tau^2 converges to 1e-10 here: quantities that depend on it agree
/// to about 1e-8; 1e-6 is the named tolerance on estimates.
const TAU2_TOL: f64 = 1e-8;
/// I^2 is in percent: 1e-6 relative to 100.
const I2_TOL: f64 = 1e-4;

fn worked_example() -> Vec<R> {
    let f = |id: &str, s: &str, d: StudyDesign, rob: Option<RiskOfBias>, n: u64, dom: OutcomeDomain| {
        r(id, s)
            .intervention("School safety curriculum")
            .group("adolescent girls")
            .setting(IncomeSetting::Lmc)
            .design(d)
            .rob(rob)
            .n(Some(n))
            .domain(dom)
    };
    let low = Some(RiskOfBias::Low);
    vec![
        f("F1", "S1", Rct, low, 800, Violence).smd(0.35, 0.07).direction(HIGHER),
        f("F2", "S1", Rct, low, 800, RiskFactor).smd(0.45, 0.07).direction(HIGHER),
        f("F3", "S2", Rct, low, 400, Violence).smd(0.18, 0.10).direction(HIGHER),
        f("F4", "S2", Rct, low, 400, RiskFactor).smd(0.28, 0.10).direction(HIGHER),
        f("F5", "S3", Qed, None, 300, Violence).smd(0.42, 0.12).direction(HIGHER),
        f("F6", "S4", PrePost, Some(RiskOfBias::High), 120, Violence).smd(0.60, 0.15).direction(HIGHER),
        f("F7", "S4", PrePost, Some(RiskOfBias::High), 120, Behaviour).rating(Some(Rating::Prudent)),
    ]
}

/// Section 19.1 with deviation (a). Violence: S1, S2, S3 pooled (S4
/// pre-post left out): REML tau^2 0.002963, mu 0.315322 [0.194217,
/// 0.436427] -> benefit; mHKSJ [0.036696, 0.593948]; PI [-0.038980,
/// 0.669624]; I^2 24.78%. Certainty: high (randomised share 0.78) -> risk
/// of bias (S3 not assessed, 1 of 3) -> moderate; no inconsistency (I^2 <
/// 50), no imprecision (mHKSJ excludes 0, n 1,500), direct, k < 10.
/// Verdict: benefit with an unassessed study pooled; the appraised studies
/// alone (S1, S2) give 0.28 [0.116, 0.444], benefit with 2 appraised
/// studies -> no cap (deviation a); certainty moderate -> EFFECTIVE (the
/// doc's 19.1 says promising: to be corrected). Risk factors: 0.38
/// [0.216, 0.544], mHKSJ crosses 0 -> imprecision, indirectness -> low ->
/// promising (RiskFactorCap). Behaviour: pre-post prudent only -> prudent.
/// Score Phi(5.103162) = 0.99999983. Fragility: without S1 the appraised
/// synthesis is S2 alone (inconclusive) -> promising: fragile, first
/// removal S1 -> promising, not an upgrade.
#[test]
fn worked_example_violence_synthesis_verdict_and_certainty() {
    let c = cell(worked_example());
    assert_eq!(c.get("income_setting"), Some("LMC"));
    assert_eq!((c.domain, c.category, c.harm_flag), (Violence, Rating::Effective, false), "{}", show(&c));
    assert_eq!((c.rule, c.certainty, c.certainty_start), (Rule::Effective, Certainty::Moderate, Certainty::High));
    assert_eq!(downs(&c), ["risk of bias"]);
    assert!(matches!(c.downgrades[0], Downgrade::RiskOfBias { not_assessed: 1, studies: 3, .. }), "{:?}", c.downgrades);
    let p = &c.pooled.as_ref().unwrap().synthesis;
    let near = |what: &str, got: f64, want: f64, tol: f64| {
        assert!((got - want).abs() <= tol, "{what}: got {got:.12}, expected {want:.12} (tol {tol:e})")
    };
    assert_eq!(p.k, 3);
    near("mu", p.estimate, worked::MU, EST_TOL);
    near("se", p.se, worked::SE, EST_TOL);
    near("ci lower", p.ci_lower, worked::LO, EST_TOL);
    near("ci upper", p.ci_upper, worked::HI, EST_TOL);
    near("hksj lower", p.hksj_lower, worked::HK_LO, EST_TOL);
    near("hksj upper", p.hksj_upper, worked::HK_HI, EST_TOL);
    near("pi lower", p.pi_lower.unwrap(), worked::PI_LO, EST_TOL);
    near("pi upper", p.pi_upper.unwrap(), worked::PI_HI, EST_TOL);
    near("tau2", p.tau2, worked::TAU2, TAU2_TOL);
    near("I2 (%)", p.i2, worked::I2, I2_TOL);
    near("Q", p.q, worked::Q, EST_TOL);
    near("score", c.score, worked::SCORE, EST_TOL);
    assert_eq!(c.score_basis, ScoreBasis::Synthesis);

    let rf = c.domain_result(RiskFactor).unwrap();
    assert_eq!((rf.category, rf.rule, rf.certainty), (Rating::Promising, Rule::RiskFactorCap, Certainty::Low));
    let q = &rf.pooled.as_ref().unwrap().synthesis;
    near("rf mu", q.estimate, worked::RF_MU, EST_TOL);
    near("rf ci lower", q.ci_lower, worked::RF_LO, EST_TOL);
    near("rf hksj lower", q.hksj_lower, worked::RF_HK_LO, EST_TOL);
    near("rf pi lower", q.pi_lower.unwrap(), worked::RF_PI_LO, EST_TOL);
    near("rf tau2", q.tau2, worked::RF_TAU2, TAU2_TOL);
    near("rf I2", q.i2, worked::RF_I2, I2_TOL);

    let b = c.domain_result(Behaviour).unwrap();
    assert_eq!((b.category, b.rule), (Rating::Prudent, Rule::Prudent));
    assert!(c.domain_result(Other).is_none());

    assert!(c.fragile);
    let f = c.flip.as_ref().unwrap();
    assert_eq!((f.to, f.harm), (Rating::Promising, false), "{f:?}");
    assert!(matches!(&f.change, Change::WithoutStudy { study, upgrade: false, .. } if study == "S1"), "{f:?}");
}

// ---------------------------------------------------------------------
// Fragility property (issue 20 item 9): `fragile` is true exactly when
// dropping one study's rows from the records and re-scoring changes the
// cell's category.
// ---------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Spec {
    design: StudyDesign,
    rob: Option<RiskOfBias>,
    n: u64,
    domain: OutcomeDomain,
    /// `None`: rating only.
    effect: Option<(f64, f64)>,
    rating: Option<Rating>,
    direction: bool,
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        prop::sample::select(vec![Rct, Rct, Qed, PrePost]),
        prop::sample::select(vec![Some(RiskOfBias::Low), Some(RiskOfBias::SomeConcerns), None]),
        prop::sample::select(vec![40u64, 150, 400, 1200]),
        prop::sample::select(vec![Violence, Violence, Behaviour, RiskFactor]),
        prop::option::weighted(0.75, (-0.3f64..0.6, prop::sample::select(vec![0.05f64, 0.10, 0.15, 0.25]))),
        prop::sample::select(vec![Rating::Effective, Rating::Promising, Rating::NeedsResearch, Rating::Ineffective]),
        any::<bool>(),
    )
        .prop_map(|(design, rob, n, domain, effect, rating, direction)| Spec {
            design,
            rob,
            n,
            domain,
            effect: effect.map(|(y, se)| ((y * 100.0).round() / 100.0, se)),
            rating: Some(rating),
            direction,
        })
}

fn record_of(id: &str, study: &str, s: &Spec, setting: IncomeSetting) -> R {
    let mut x = r(id, study).design(s.design).rob(s.rob).n(Some(s.n)).domain(s.domain).setting(setting);
    x = match s.effect {
        Some((y, se)) => x.smd(y, se),
        None => x.rating(s.rating),
    };
    if s.direction {
        x = x.direction(HIGHER);
    }
    x
}

fn prop_cases() -> u32 {
    std::env::var("EVIDEX_PROP_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
}

fn category_of(recs: &[evidex::model::EvaluationRecord], cfg: &ScoringConfig) -> Option<(Rating, bool)> {
    score::score_records(recs, &GroupKey::DEFAULT, cfg)
        .cells
        .into_iter()
        .find(|c| c.get("income_setting") == Some(IncomeSetting::Lic.key()))
        .map(|c| (c.category, c.harm_flag))
}

/// A cell with no study left has no evidence: "needs more research"
/// (Rule::TooFew), not harmful.
const NO_EVIDENCE: (Rating, bool) = (Rating::NeedsResearch, false);

proptest! {
    #![proptest_config(ProptestConfig { cases: prop_cases(), ..ProptestConfig::default() })]

    /// Local studies (1-6, LIC) and optionally 0-3 studies of a sibling
    /// setting (HIC) to exercise borrowing. A study is 1-2 findings. For
    /// each study, drop its rows (that study id in that setting) and
    /// re-score; `fragile` of the LIC cell must be true exactly when some
    /// drop changes its category. A drop that removes the LIC cell
    /// altogether (its only study) leaves no evidence: needs more research.
    #[test]
    fn fragile_agrees_with_dropping_each_study(
        local in prop::collection::vec(prop::collection::vec(arb_spec(), 1..3), 1..7),
        sibling in prop::collection::vec(prop::collection::vec(arb_spec(), 1..3), 0..4),
    ) {
        let mut cfg = cfg2020();
        cfg.robustness.draws = 0;
        let mut rows: Vec<(IncomeSetting, String, R)> = Vec::new();
        for (set, studies, prefix) in [(IncomeSetting::Lic, &local, "L"), (IncomeSetting::Hic, &sibling, "H")] {
            for (i, findings) in studies.iter().enumerate() {
                let study = format!("{prefix}{i}");
                for (j, s) in findings.iter().enumerate() {
                    let id = format!("{study}-{j}");
                    rows.push((set, study.clone(), record_of(&id, &study, s, set)));
                }
            }
        }
        let all: Vec<_> = rows.iter().map(|(_, _, x)| x.clone().build()).collect();
        let res = score::score_records(&all, &GroupKey::DEFAULT, &cfg);
        let Some(c) = res.cells.into_iter().find(|c| c.get("income_setting") == Some("LIC")) else {
            return Ok(());
        };
        invariants(&c);
        let base = Some((c.category, c.harm_flag));
        let mut studies: Vec<(IncomeSetting, String)> = rows.iter().map(|(s, id, _)| (*s, id.clone())).collect();
        studies.dedup();
        let mut changed = Vec::new();
        for (set, id) in &studies {
            let kept: Vec<_> =
                rows.iter().filter(|(s, i, _)| !(s == set && i == id)).map(|(_, _, x)| x.clone().build()).collect();
            let raw = category_of(&kept, &cfg);
            let after = raw.or(Some(NO_EVIDENCE));
            if after != base {
                changed.push((id.clone(), after, raw.is_none()));
            }
        }
        // The known bug of the ignored test
        // f03_removing_the_only_study_of_an_inconclusive_cell_is_no_change
        // (the only study of a needs-more-research cell, no borrowing):
        // exempted so the property can find other disagreements.
        let known_bug = c.fragile
            && changed.is_empty()
            && base == Some(NO_EVIDENCE)
            && c.n_studies + c.n_borrowed_studies == 1;
        // The disagreement of the ignored test
        // f03_dropping_the_only_local_study_beside_a_sibling_setting_is_a_change:
        // leave-one-out scores the cell without its only local study on the
        // sibling's evidence (a borrowed-only cell that re-scoring never
        // produces). Exempted so the property can find other disagreements.
        let l0_removal = matches!(c.flip.as_ref().map(|f| &f.change), Some(Change::WithoutStudy { study, .. }) if study == "L0");
        let borrowed_only = c.n_studies == 1
            && !sibling.is_empty()
            && ((!c.fragile && changed.len() == 1 && changed[0].2) || (c.fragile && changed.is_empty() && l0_removal));
        if known_bug || borrowed_only {
            return Ok(());
        }
        prop_assert_eq!(c.fragile, !changed.is_empty(), "fragile {} but drops changing the category: {:?}; {}", c.fragile, changed, show(&c));
    }
}

/// Mixed measures (no synthesis): a QED with RR 0.60 [0.45, 0.80] on
/// violence (ratio rule: lower is better, a benefit) and a larger RCT with
/// SMD -0.15 (0.10) and a direction (CI [-0.346, 0.046]: inconclusive,
/// pointing away from benefit). Each study counts on its own; a benefit
/// claimed beside an estimate at or below no effect is mixed -> needs more
/// research (rule Mixed), so the score (below 0.5) never sits beside a
/// benefit verdict.
#[test]
fn x_mixed_measures_pointing_apart_are_mixed() {
    let c = cell(vec![
        r("A", "S1").design(Qed).rr(0.60, 0.45, 0.80),
        r("B", "S2").n(Some(1200)).smd(-0.15, 0.10).direction(HIGHER),
    ]);
    assert_eq!((c.category, c.rule), (Rating::NeedsResearch, Rule::Mixed), "{}", show(&c));
    assert!(c.pooled.is_none());
}

/// Cases a methods reviewer found (3 December 2026): `explain`'s words must
/// say what the documented rules decide.
#[test]
fn explain_words_follow_the_rules_on_reviewer_cases() {
    let dir = tempfile::tempdir().unwrap();
    let head = "record_id,study_id,intervention,target_group,income_setting,design,risk_of_bias,sample_size,outcome,outcome_domain,rating,effect_size,se,measure\n";
    let explain = |name: &str, rows: &str| {
        std::fs::write(dir.path().join(name), format!("{head}{rows}")).unwrap();
        let r = run_in(
            dir.path(),
            &["explain", name, "--intervention", "X", "--target-group", "kids", "--income-setting", "LMC"],
        );
        assert_eq!(r.code, 0, "{}", r.show());
        r.stdout
    };
    // One RCT, SMD -0.50 [-0.70, -0.30], no direction: a significantly
    // harmful SMD without a direction is a harm signal, not credible harm
    // (section 5), and alone it falls to needs more research (section 7).
    // Its interval excludes both a benefit and no effect, so the words must
    // not call it compatible with a benefit.
    let out = explain("harm_no_direction.csv", "r1,S1,X,kids,LMC,rct,low,300,violence,violence,,-0.50,0.10,SMD\n");
    assert!(out.contains("needs more research"), "{out}");
    assert!(out.contains("points to harm"), "{out}");
    assert!(!out.contains("compatible with a benefit and with none"), "{out}");
    // One RCT with 5% of the synthesis weight beside two QEDs: certainty
    // starts high because the evidence includes a randomised study
    // (section 8), not because randomised studies carry most of the weight.
    let out = explain(
        "small_rct.csv",
        "r1,S1,X,kids,LMC,rct,low,300,violence,violence,,0.30,0.30,SMD\n\
         r2,S2,X,kids,LMC,quasi_experimental,low,300,violence,violence,,0.30,0.10,SMD\n\
         r3,S3,X,kids,LMC,quasi_experimental,low,300,violence,violence,,0.30,0.10,SMD\n",
    );
    assert!(out.contains("(started high: the evidence includes a randomised study)"), "{out}");
    // Two rated RCTs, no effect sizes: no synthesis, so the score is the
    // share of studies showing a benefit (section 12), not a probability
    // from a synthesis.
    let out = explain(
        "rated.csv",
        "r1,S1,X,kids,LMC,rct,low,300,violence,violence,effective,,,\n\
         r2,S2,X,kids,LMC,rct,low,300,violence,violence,effective,,,\n",
    );
    let score_line = out.lines().find(|l| l.starts_with("score:")).unwrap_or_else(|| panic!("{out}"));
    assert!(score_line.contains("share of its studies showing a benefit"), "{score_line}");
    assert!(!score_line.contains("from its synthesis"), "{score_line}");
}

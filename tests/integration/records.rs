#![allow(dead_code)]
//! Records for scoring tests, built by hand: a record with defaults (an
//! RCT with low risk of bias, 400 participants, 2020, rated effective, on
//! violence in LIC) changed by builder methods.

use evidex::model::{
    Direction, EffectInput, EvaluationRecord, IncomeSetting, OutcomeDomain, Provenance, Rating, RecordFields,
    RiskOfBias, StudyDesign, TargetGroup,
};
use evidex::score::{self, GroupKey, ScoringConfig};

/// A record with defaults (an RCT with low risk of bias, 400 participants,
/// 2020, rated effective, on violence) changed by the builder methods.
#[derive(Clone)]
pub(crate) struct R(pub(crate) RecordFields);

pub(crate) fn r(id: &str, study: &str) -> R {
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
    pub(crate) fn rating(mut self, x: Option<Rating>) -> R {
        self.0.rating = x;
        self
    }
    pub(crate) fn harmful(mut self) -> R {
        self.0.rating = Some(Rating::Ineffective);
        self.0.harm = true;
        self
    }
    pub(crate) fn design(mut self, d: StudyDesign) -> R {
        self.0.design = Some(d);
        self
    }
    pub(crate) fn rob(mut self, x: Option<RiskOfBias>) -> R {
        self.0.risk_of_bias = x;
        self
    }
    pub(crate) fn n(mut self, n: Option<u64>) -> R {
        self.0.sample_size = n;
        self
    }
    pub(crate) fn year(mut self, y: i32) -> R {
        self.0.year = Some(y);
        self
    }
    pub(crate) fn domain(mut self, d: OutcomeDomain) -> R {
        self.0.outcome_domain = d;
        self
    }
    pub(crate) fn primary(mut self, p: bool) -> R {
        self.0.primary = Some(p);
        self
    }
    pub(crate) fn setting(mut self, s: IncomeSetting) -> R {
        self.0.income_setting = s;
        self
    }
    pub(crate) fn intervention(mut self, i: &str) -> R {
        self.0.intervention = i.into();
        self
    }
    pub(crate) fn direction(mut self, d: Direction) -> R {
        self.0.direction = Some(d);
        self
    }
    /// An unrated finding with an effect size and its standard error.
    pub(crate) fn smd(mut self, y: f64, se: f64) -> R {
        self.0.rating = None;
        self.0.effect =
            EffectInput { effect_size: Some(y), se: Some(se), measure: Some("SMD".into()), ..Default::default() };
        self
    }
    /// An unrated risk ratio with its 95% CI.
    pub(crate) fn rr(mut self, rr: f64, lo: f64, hi: f64) -> R {
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
    /// The `harm` column, leaving the rating as it is.
    pub(crate) fn harm_col(mut self, h: bool) -> R {
        self.0.harm = h;
        self
    }
    pub(crate) fn group(mut self, g: &str) -> R {
        self.0.target_group = TargetGroup::new(g).unwrap();
        self
    }
    /// An unrated finding with a generic effect of another measure (`m`)
    /// and its standard error.
    pub(crate) fn effect(mut self, m: &str, y: f64, se: f64) -> R {
        self.0.rating = None;
        self.0.effect =
            EffectInput { effect_size: Some(y), se: Some(se), measure: Some(m.into()), ..Default::default() };
        self
    }
    /// The record, or `None` where the contract refuses it (random tables
    /// draw invalid effects).
    pub(crate) fn try_build(self) -> Option<EvaluationRecord> {
        EvaluationRecord::new(self.0).ok()
    }
    pub(crate) fn build(self) -> EvaluationRecord {
        EvaluationRecord::new(self.0).unwrap()
    }
}

pub(crate) fn build(rs: Vec<R>) -> Vec<EvaluationRecord> {
    rs.into_iter().map(R::build).collect()
}

pub(crate) fn cfg2020() -> ScoringConfig {
    ScoringConfig { reference_year: 2020, ..ScoringConfig::default() }
}

/// The one cell of a set of records in one intervention, group and setting.
pub(crate) fn one_cell(recs: &[EvaluationRecord], cfg: &ScoringConfig) -> score::CellResult {
    let res = score::score_records(recs, &GroupKey::DEFAULT, cfg);
    assert_eq!(res.cells.len(), 1, "{:?}", res.cells.iter().map(|c| &c.key).collect::<Vec<_>>());
    res.cells.into_iter().next().unwrap()
}

/// The cell of `setting` among several.
pub(crate) fn cell_in(recs: &[EvaluationRecord], setting: IncomeSetting, cfg: &ScoringConfig) -> score::CellResult {
    let res = score::score_records(recs, &GroupKey::DEFAULT, cfg);
    res.cells.into_iter().find(|c| c.get("income_setting") == Some(setting.key())).expect("the cell")
}

//! One evaluated finding of one intervention, valid by construction.

use super::{
    Assignment, Direction, IncomeSetting, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign, TargetGroup,
};
use serde::Serialize;
use thiserror::Error;

/// Where a record came from: the input file (index into the ingest's file
/// list) and the 1-based line (CSV/JSONL) or row (Parquet) number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Provenance {
    pub file: u32,
    pub line: u64,
}

/// The effect-size inputs a row may carry (all optional). Which of them
/// yields the analysed effect is decided in `meta::effect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EffectInput {
    /// Effect as reported (ratio scale for ratio measures).
    pub effect_size: Option<f64>,
    pub se: Option<f64>,
    pub variance: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    /// Effect on the analysis scale (metafor `yi`: log scale for ratios).
    pub yi: Option<f64>,
    /// Sampling variance on the analysis scale (metafor `vi`).
    pub vi: Option<f64>,
    pub measure: Option<String>,
    pub events_t: Option<f64>,
    pub n_t: Option<f64>,
    pub events_c: Option<f64>,
    pub n_c: Option<f64>,
    pub mean_t: Option<f64>,
    pub sd_t: Option<f64>,
    pub mean_c: Option<f64>,
    pub sd_c: Option<f64>,
}

impl EffectInput {
    /// True when the row carries enough to compute an effect with its
    /// uncertainty (the condition for accepting a row without a rating).
    pub fn is_usable(&self) -> bool {
        let point = self.effect_size.is_some();
        let spread =
            self.se.is_some() || self.variance.is_some() || (self.ci_lower.is_some() && self.ci_upper.is_some());
        (point && spread)
            || (self.yi.is_some() && (self.vi.is_some() || self.se.is_some()))
            || (self.events_t.is_some() && self.n_t.is_some() && self.events_c.is_some() && self.n_c.is_some())
            || (self.mean_t.is_some()
                && self.sd_t.is_some()
                && self.n_t.is_some()
                && self.mean_c.is_some()
                && self.sd_c.is_some()
                && self.n_c.is_some())
    }
}

/// Why a record could not be constructed. `column` names the contract column.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("column '{column}': {message}")]
pub struct RecordError {
    pub column: &'static str,
    pub value: String,
    pub message: String,
}

impl RecordError {
    pub fn new(column: &'static str, value: impl ToString, message: impl Into<String>) -> Self {
        RecordError { column, value: value.to_string(), message: message.into() }
    }
}

/// One evaluated finding of one intervention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationRecord {
    pub record_id: String,
    pub study_id: Option<String>,
    pub intervention: String,
    pub target_group: TargetGroup,
    pub income_setting: IncomeSetting,
    /// True when `income_setting` was derived from `country` and `year`.
    pub income_derived: bool,
    /// `None` for unrated rows accepted on their effect size.
    pub rating: Option<Rating>,
    pub harm: bool,
    pub strategy: Option<Strategy>,
    pub country: Option<String>,
    pub design: Option<StudyDesign>,
    pub sample_size: Option<u64>,
    pub year: Option<i32>,
    pub outcome: Option<String>,
    /// The outcome domain (docs/scoring.md section 1).
    pub outcome_domain: OutcomeDomain,
    /// True when `outcome_domain` was inferred from the outcome text.
    pub domain_inferred: bool,
    /// Whether the finding is one of its study's primary outcomes (`None`:
    /// not said).
    pub primary: Option<bool>,
    /// Which way the effect is beneficial (`None`: not said; the scoring
    /// configuration decides).
    pub direction: Option<Direction>,
    pub risk_of_bias: Option<RiskOfBias>,
    /// Unit of assignment (`None`: not said).
    pub assignment: Option<Assignment>,
    /// Total number of clusters assigned (`None`: not said).
    pub clusters: Option<u32>,
    pub source: Option<String>,
    /// Effect-size inputs, boxed and only when the row has any (most rows
    /// have none: this keeps a record at about half the size).
    #[serde(rename = "effect", serialize_with = "serialize_effect")]
    effect_data: Option<Box<EffectInput>>,
    #[serde(skip)]
    pub provenance: Provenance,
    /// Pass-through values of columns outside the contract (aligned with
    /// `Ingested::extra_columns`; empty when there are none).
    #[serde(skip)]
    pub extra: Vec<Option<String>>,
}

/// Unchecked fields, turned into an [`EvaluationRecord`] by
/// [`EvaluationRecord::new`].
#[derive(Debug, Clone)]
pub struct RecordFields {
    pub record_id: String,
    pub study_id: Option<String>,
    pub intervention: String,
    pub target_group: TargetGroup,
    pub income_setting: IncomeSetting,
    pub income_derived: bool,
    pub rating: Option<Rating>,
    pub harm: bool,
    pub strategy: Option<Strategy>,
    pub country: Option<String>,
    pub design: Option<StudyDesign>,
    pub sample_size: Option<u64>,
    pub year: Option<i32>,
    pub outcome: Option<String>,
    pub outcome_domain: OutcomeDomain,
    pub domain_inferred: bool,
    pub primary: Option<bool>,
    pub direction: Option<Direction>,
    pub risk_of_bias: Option<RiskOfBias>,
    pub assignment: Option<Assignment>,
    pub clusters: Option<u32>,
    pub source: Option<String>,
    pub effect: EffectInput,
    pub provenance: Provenance,
}

/// The current calendar year from the system clock (UTC).
pub fn current_year() -> i32 {
    // Once per run (a row check calls it for every row).
    static YEAR: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *YEAR.get_or_init(year_now)
}

fn year_now() -> i32 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // Civil-from-days (H. Hinnant), enough for a year.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2)) as i32
}

impl EvaluationRecord {
    /// Validate and build a record.
    ///
    /// # Errors
    /// The first violated invariant: empty intervention, sample size 0,
    /// year outside 1950..=current year + 1, non-finite effect, se or
    /// variance <= 0 or non-finite, `ci_lower > ci_upper`, a CI that does not
    /// contain the effect, a ratio-measure CI with a non-positive bound,
    /// negative counts or SDs, or no rating and no usable effect size.
    pub fn new(f: RecordFields) -> Result<EvaluationRecord, RecordError> {
        check_record(&f.intervention, f.sample_size, f.year, &f.effect, f.rating.is_some())?;
        Ok(EvaluationRecord {
            record_id: f.record_id,
            study_id: f.study_id,
            intervention: f.intervention.trim().to_string(),
            target_group: f.target_group,
            income_setting: f.income_setting,
            income_derived: f.income_derived,
            rating: f.rating,
            harm: f.harm,
            strategy: f.strategy,
            country: f.country,
            design: f.design,
            sample_size: f.sample_size,
            year: f.year,
            outcome: f.outcome,
            outcome_domain: f.outcome_domain,
            domain_inferred: f.domain_inferred,
            primary: f.primary,
            direction: f.direction,
            risk_of_bias: f.risk_of_bias,
            assignment: f.assignment,
            clusters: f.clusters,
            source: f.source,
            effect_data: (f.effect != EffectInput::default()).then(|| Box::new(f.effect)),
            provenance: f.provenance,
            extra: Vec::new(),
        })
    }

    /// The effect-size inputs (all empty when the row has none).
    pub fn effect(&self) -> &EffectInput {
        self.effect_data.as_deref().unwrap_or(&NO_EFFECT)
    }

    /// The key used for study clustering: `study_id`, or the record itself.
    pub fn study_key(&self) -> &str {
        self.study_id.as_deref().unwrap_or(&self.record_id)
    }
}

/// The record invariants on borrowed values: [`EvaluationRecord::new`] and
/// the row reader check rows with this one function.
///
/// # Errors
/// The first violated invariant (see [`EvaluationRecord::new`]).
pub fn check_record(
    intervention: &str,
    sample_size: Option<u64>,
    year: Option<i32>,
    effect: &EffectInput,
    rated: bool,
) -> Result<(), RecordError> {
    if intervention.trim().is_empty() {
        return Err(RecordError::new("intervention", "", "is empty; every row must name an intervention"));
    }
    if sample_size == Some(0) {
        return Err(RecordError::new("sample_size", "0", "must be a positive whole number"));
    }
    if let Some(y) = year {
        let max = current_year() + 1;
        if !(1950..=max).contains(&y) {
            return Err(RecordError::new("year", y, format!("must be between 1950 and {max}")));
        }
    }
    validate_effect(effect)?;
    if !rated && !effect.is_usable() {
        return Err(RecordError::new(
            "rating",
            "",
            "is empty and the row has no usable effect size (effect_size with se or CI, yi/vi, 2x2 counts, or means/SDs)",
        ));
    }
    Ok(())
}

static NO_EFFECT: EffectInput = EffectInput {
    effect_size: None,
    se: None,
    variance: None,
    ci_lower: None,
    ci_upper: None,
    yi: None,
    vi: None,
    measure: None,
    events_t: None,
    n_t: None,
    events_c: None,
    n_c: None,
    mean_t: None,
    sd_t: None,
    mean_c: None,
    sd_c: None,
};

fn serialize_effect<S: serde::Serializer>(e: &Option<Box<EffectInput>>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(e.as_deref().unwrap_or(&NO_EFFECT), s)
}

/// Measures whose reported effect and CI are ratios (analysed on log scale).
pub fn is_ratio_measure(m: &str) -> bool {
    let m = m.trim();
    let is = |r: &str| m.eq_ignore_ascii_case(r);
    // RR, OR, HR, IRR, PETO, ROM (by length first: called on every row).
    match m.len() {
        2 => is("RR") || is("OR") || is("HR"),
        3 => is("IRR") || is("ROM"),
        4 => is("PETO"),
        _ => false,
    }
}

pub(crate) fn validate_effect(e: &EffectInput) -> Result<(), RecordError> {
    let finite = |col: &'static str, v: Option<f64>| -> Result<(), RecordError> {
        match v {
            Some(x) if !x.is_finite() => Err(RecordError::new(col, x, "must be a finite number")),
            _ => Ok(()),
        }
    };
    for (c, v) in [("effect_size", e.effect_size), ("yi", e.yi), ("ci_lower", e.ci_lower), ("ci_upper", e.ci_upper)] {
        finite(c, v)?;
    }
    for (c, v) in [("se", e.se), ("variance", e.variance), ("vi", e.vi)] {
        if let Some(x) = v {
            if !(x.is_finite() && x > 0.0) {
                return Err(RecordError::new(c, x, "must be a finite number greater than 0"));
            }
        }
    }
    for (c, v) in [("events_t", e.events_t), ("events_c", e.events_c), ("sd_t", e.sd_t), ("sd_c", e.sd_c)] {
        if let Some(x) = v {
            if !(x.is_finite() && x >= 0.0) {
                return Err(RecordError::new(c, x, "must be a finite number >= 0"));
            }
        }
    }
    for (c, v) in [("n_t", e.n_t), ("n_c", e.n_c)] {
        if let Some(x) = v {
            if !(x.is_finite() && x > 0.0) {
                return Err(RecordError::new(c, x, "must be a group size greater than 0"));
            }
        }
    }
    for (ev, n, c) in [(e.events_t, e.n_t, "events_t"), (e.events_c, e.n_c, "events_c")] {
        if let (Some(ev), Some(n)) = (ev, n) {
            if ev > n {
                return Err(RecordError::new(c, ev, format!("is larger than the group size {n}")));
            }
        }
    }
    if let (Some(lo), Some(hi)) = (e.ci_lower, e.ci_upper) {
        if lo > hi {
            return Err(RecordError::new(
                "ci_lower",
                lo,
                format!("is above ci_upper ({hi}); the bounds may be swapped"),
            ));
        }
        let ratio = e.measure.as_deref().is_some_and(is_ratio_measure);
        if ratio && lo <= 0.0 {
            return Err(RecordError::new(
                "ci_lower",
                lo,
                "must be > 0 for a ratio measure (the CI of RR/OR is on the ratio scale); if it is on the log scale, give the effect as yi",
            ));
        }
        if let Some(es) = e.effect_size {
            if es < lo || es > hi {
                return Err(RecordError::new(
                    "effect_size",
                    es,
                    format!("lies outside its confidence interval [{lo}, {hi}]"),
                ));
            }
        }
    } else if e.ci_lower.is_some() != e.ci_upper.is_some() {
        let (c, v) = if e.ci_lower.is_some() { ("ci_lower", e.ci_lower) } else { ("ci_upper", e.ci_upper) };
        return Err(RecordError::new(
            c,
            v.unwrap_or_default(),
            "is given without the other CI bound; give both or neither",
        ));
    }
    if let (Some(es), Some(m)) = (e.effect_size, e.measure.as_deref()) {
        if is_ratio_measure(m) && es <= 0.0 {
            return Err(RecordError::new("effect_size", es, format!("must be > 0 for the ratio measure {m}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fields() -> RecordFields {
        RecordFields {
            record_id: "r1".into(),
            study_id: None,
            intervention: "Parenting programme".into(),
            target_group: TargetGroup::new("parents").unwrap(),
            income_setting: IncomeSetting::Lic,
            income_derived: false,
            rating: Some(Rating::Promising),
            harm: false,
            strategy: None,
            country: None,
            design: None,
            sample_size: Some(10),
            year: Some(2015),
            outcome: None,
            outcome_domain: OutcomeDomain::Other,
            domain_inferred: true,
            primary: None,
            direction: None,
            risk_of_bias: None,
            assignment: None,
            clusters: None,
            source: None,
            effect: EffectInput::default(),
            provenance: Provenance { file: 0, line: 2 },
        }
    }

    #[test]
    fn invariants() {
        assert!(EvaluationRecord::new(fields()).is_ok());
        let mut f = fields();
        f.sample_size = Some(0);
        assert_eq!(EvaluationRecord::new(f).unwrap_err().column, "sample_size");
        let mut f = fields();
        f.year = Some(1949);
        assert_eq!(EvaluationRecord::new(f).unwrap_err().column, "year");
        let mut f = fields();
        f.year = Some(current_year() + 2);
        assert_eq!(EvaluationRecord::new(f).unwrap_err().column, "year");
        let mut f = fields();
        f.year = Some(current_year() + 1);
        assert!(EvaluationRecord::new(f).is_ok());
        let mut f = fields();
        f.effect.se = Some(0.0);
        assert_eq!(EvaluationRecord::new(f).unwrap_err().column, "se");
        let mut f = fields();
        f.effect.se = Some(f64::INFINITY);
        assert_eq!(EvaluationRecord::new(f).unwrap_err().column, "se");
        let mut f = fields();
        f.effect.effect_size = Some(f64::NAN);
        assert_eq!(EvaluationRecord::new(f).unwrap_err().column, "effect_size");
        let mut f = fields();
        f.effect.ci_lower = Some(0.5);
        f.effect.ci_upper = Some(0.1);
        assert!(EvaluationRecord::new(f).unwrap_err().message.contains("swapped"));
        let mut f = fields();
        f.effect =
            EffectInput { effect_size: Some(0.9), ci_lower: Some(0.1), ci_upper: Some(0.5), ..Default::default() };
        assert!(EvaluationRecord::new(f).unwrap_err().message.contains("outside"));
        let mut f = fields();
        f.effect = EffectInput {
            effect_size: Some(0.8),
            ci_lower: Some(-0.1),
            ci_upper: Some(1.5),
            measure: Some("OR".into()),
            ..Default::default()
        };
        assert!(EvaluationRecord::new(f).unwrap_err().message.contains("ratio"));
    }

    #[test]
    fn unrated_needs_effect() {
        let mut f = fields();
        f.rating = None;
        assert_eq!(EvaluationRecord::new(f.clone()).unwrap_err().column, "rating");
        f.effect.effect_size = Some(0.3);
        f.effect.se = Some(0.1);
        assert!(EvaluationRecord::new(f).is_ok());
    }

    #[test]
    fn current_year_is_plausible() {
        let y = current_year();
        assert!((2024..2100).contains(&y), "{y}");
    }
}

//! The fast path of the streaming reader: one row straight to a fact,
//! without building an [`crate::model::EvaluationRecord`].
//!
//! It reads the same cells with the same [`RowContext`] functions as
//! [`convert::convert_row`] and runs the same checks, with the vocabulary
//! parses (target group, income setting, rating, harm, strategy, design,
//! risk of bias, measure) memoised per distinct cell text. It is
//! conservative: any row it is not sure about (a parse error, a note to
//! count, a country column to derive income from) is left to
//! `convert_row`, which accepts it or words the rejection. Tests compare
//! both paths fact by fact.

use super::columns::Col;
use super::convert::{self, RowContext};
use super::table::{RawRow, SplitRow};
use crate::meta::compute_effect;
use crate::model::{
    current_year, Direction, EffectInput, IncomeSetting, OutcomeDomain, Rating, RiskOfBias, Strategy, StudyDesign,
    TargetGroup,
};
use crate::score::fact::{FactBuilder, FactInput};
use crate::score::GroupKey;
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// A cell that is not a (finite) number; the record converter words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotANumber;

/// The cells of one row as the fast path reads them: text of a contract
/// column (as [`RowContext::text_ref`]) and numbers, `Err` for a cell that
/// is not a number (the record converter words the rejection).
pub trait Cells {
    fn text(&self, col: Col) -> Option<Cow<'_, str>>;
    fn number(&self, col: Col) -> Result<Option<f64>, NotANumber>;
    /// 1-based data line of the row.
    fn line(&self) -> u64;
    /// An identity of the raw cell of a single-source column, when the
    /// reader has one: equal identities mean equal cell text within the
    /// chunk (a Parquet string view). `None`: compare by text.
    fn ident(&self, _col: Col) -> Option<u128> {
        None
    }
}

/// A row of text cells.
pub struct TextCells<'a> {
    pub ctx: &'a RowContext<'a>,
    pub row: &'a RawRow,
}

impl Cells for TextCells<'_> {
    fn text(&self, col: Col) -> Option<Cow<'_, str>> {
        self.ctx.text_ref(self.row, col)
    }
    fn number(&self, col: Col) -> Result<Option<f64>, NotANumber> {
        self.ctx.number(self.row, col).map_err(|_| NotANumber)
    }
    fn line(&self) -> u64 {
        self.row.line
    }
}

/// A number from a cell's text (as [`RowContext::number`]).
pub(crate) fn text_number(text: Option<Cow<'_, str>>, ctx: &RowContext<'_>) -> Result<Option<f64>, NotANumber> {
    match text {
        None => Ok(None),
        Some(t) => convert::parse_number(&t, ctx.decimal_comma).map(Some).ok_or(NotANumber),
    }
}

/// A line of a quote-free piece, cells read in place.
pub struct SplitCells<'a> {
    pub ctx: &'a RowContext<'a>,
    pub row: &'a SplitRow<'a>,
}

impl Cells for SplitCells<'_> {
    fn text(&self, col: Col) -> Option<Cow<'_, str>> {
        self.ctx.pick(col, |i| self.row.cell(i))
    }
    fn number(&self, col: Col) -> Result<Option<f64>, NotANumber> {
        text_number(self.text(col), self.ctx)
    }
    fn line(&self) -> u64 {
        self.row.line
    }
}

/// Parse results per distinct cell text (`None`: leave the row to the
/// record converter).
#[derive(Default)]
pub struct Memo {
    /// Target groups by cell text, as an index into `tgs` (a target group
    /// holds two strings: borrowed per row, not cloned).
    tg: Vocab<u32>,
    tgs: Vec<TargetGroup>,
    income: Vocab<IncomeSetting>,
    rating: Vocab<(Rating, bool)>,
    harm: Vocab<bool>,
    strategy: Vocab<Strategy>,
    design: Vocab<StudyDesign>,
    rob: Vocab<RiskOfBias>,
    domain: Vocab<OutcomeDomain>,
    /// Domains inferred from outcome texts.
    inferred: Vocab<OutcomeDomain>,
    primary: Vocab<bool>,
    direction: Vocab<Direction>,
    /// Intervention matching keys by name, and the last name looked up.
    int_keys: FxHashMap<String, String>,
    last_int: (String, String),
    measure: FxHashMap<String, String>,
    /// A string to write the next row's measure into (see `read_effect`).
    measure_spare: String,
    max_year: i32,
}

/// A vocabulary cell read: empty, parsed, or not a known value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell<T> {
    Empty,
    Value(T),
    Invalid,
}

/// Parses of one vocabulary column, by cell text and by cell identity
/// ([`Cells::ident`]; saves reading and hashing the text).
struct Vocab<T> {
    by_text: FxHashMap<String, Option<T>>,
    by_ident: FxHashMap<u128, Cell<T>>,
}

impl<T> Default for Vocab<T> {
    fn default() -> Self {
        Vocab { by_text: FxHashMap::default(), by_ident: FxHashMap::default() }
    }
}

impl<T: Copy> Vocab<T> {
    /// The cell of `col` parsed with `parse` (memoised).
    fn read<C: Cells>(&mut self, row: &C, col: Col, parse: impl FnOnce(&str) -> Option<T>) -> Cell<T> {
        let id = row.ident(col);
        if let Some(c) = id.and_then(|id| self.by_ident.get(&id)) {
            return *c;
        }
        let cell = match row.text(col) {
            None => Cell::Empty,
            Some(text) => match memo(&mut self.by_text, &text, parse) {
                Some(v) => Cell::Value(v),
                None => Cell::Invalid,
            },
        };
        if let Some(id) = id {
            self.by_ident.insert(id, cell);
        }
        cell
    }
}

fn memo<T: Clone>(m: &mut FxHashMap<String, T>, k: &str, f: impl FnOnce(&str) -> T) -> T {
    if let Some(v) = m.get(k) {
        return v.clone();
    }
    let v = f(k);
    m.insert(k.to_string(), v.clone());
    v
}

/// An optional vocabulary cell: `None` (leave the row to the record
/// converter) when it is not a known value.
fn optional<T>(c: Cell<T>) -> Option<Option<T>> {
    match c {
        Cell::Empty => Some(None),
        Cell::Value(v) => Some(Some(v)),
        Cell::Invalid => None,
    }
}

/// Whether the fast path may serve rows of this file with these keys: no
/// country column (income derived from country stays with the converter)
/// and no country grouping.
pub fn applies(ctx: &RowContext<'_>, keys: &[GroupKey]) -> bool {
    !ctx.resolved.has(Col::Country) && !keys.contains(&GroupKey::Country)
}

impl Memo {
    pub fn new() -> Memo {
        Memo { max_year: current_year() + 1, ..Memo::default() }
    }
}

/// Add the row's fact to `b` and return the hash of its record id, or
/// `None` (nothing added) when the row must go through `convert_row`.
pub fn fact_row<C: Cells>(ctx: &RowContext<'_>, row: &C, m: &mut Memo, b: &mut FactBuilder<'_>) -> Option<u64> {
    let intervention = row.text(Col::Intervention)?;
    let intervention = intervention.trim();
    if intervention.is_empty() {
        return None;
    }
    if m.last_int.0 != intervention {
        let key = match m.int_keys.get(intervention) {
            Some(k) => k.clone(),
            None => {
                let k = crate::model::intervention_key(intervention);
                m.int_keys.insert(intervention.to_string(), k.clone());
                k
            }
        };
        m.last_int = (intervention.to_string(), key);
    }
    let tgs = &mut m.tgs;
    let Cell::Value(tg) = m.tg.read(row, Col::TargetGroup, |s| {
        TargetGroup::new(s).map(|t| {
            tgs.push(t);
            (tgs.len() - 1) as u32
        })
    }) else {
        return None;
    };
    let tg = &m.tgs[tg as usize];
    let year = match row.number(Col::Year).ok()? {
        None => None,
        Some(y) if y.fract() == 0.0 && (1950.0..=f64::from(m.max_year)).contains(&y) => Some(y as i32),
        Some(_) => return None,
    };
    let Cell::Value(income) = m.income.read(row, Col::IncomeSetting, |s| IncomeSetting::parse(s).ok()) else {
        return None;
    };
    let (rating, mut harm) =
        match m.rating.read(row, Col::Rating, |s| Rating::parse(s).ok().map(|p| (p.rating, p.harmful))) {
            Cell::Empty => (None, false),
            Cell::Value((r, h)) => (Some(r), h),
            Cell::Invalid => return None,
        };
    match m.harm.read(row, Col::Harm, convert::parse_bool) {
        Cell::Empty => {}
        Cell::Value(h) => harm |= h,
        Cell::Invalid => return None,
    }
    let strategy = optional(m.strategy.read(row, Col::Strategy, |s| Strategy::parse(s).ok()))?;
    let design = optional(m.design.read(row, Col::Design, |s| StudyDesign::parse(s).ok()))?;
    let rob = optional(m.rob.read(row, Col::RiskOfBias, |s| RiskOfBias::parse(s).ok()))?;
    let (domain, domain_inferred) = match m.domain.read(row, Col::OutcomeDomain, |s| OutcomeDomain::parse(s).ok()) {
        Cell::Value(d) => (d, false),
        Cell::Invalid => return None,
        Cell::Empty => match m.inferred.read(row, Col::Outcome, |s| Some(OutcomeDomain::infer(s))) {
            Cell::Value(d) => (d, true),
            _ => (OutcomeDomain::Other, true),
        },
    };
    let primary = optional(m.primary.read(row, Col::Primary, convert::parse_primary))?;
    let direction = optional(m.direction.read(row, Col::Direction, |s| Direction::parse(s).ok()))?;
    let sample_size = match row.number(Col::SampleSize).ok()? {
        None => None,
        Some(n) if n >= 0.5 => Some(n.round() as u64),
        Some(_) => return None,
    };
    let mut effect = read_effect(ctx, row, &mut m.measure, &mut m.measure_spare)?;
    if convert::se_ci_disagreement(&effect).is_some() || crate::model::validate_effect(&effect).is_err() {
        return None;
    }
    let usable = effect.is_usable();
    if rating.is_none() && !usable {
        return None;
    }
    let record_id = row.text(Col::RecordId);
    let generated;
    let record_id: &str = match &record_id {
        Some(r) => r,
        None => {
            generated = format!("{}:{}", ctx.file, row.line());
            &generated
        }
    };
    let study_id = row.text(Col::StudyId);
    // The outcome is only read when it is a group key.
    let outcome = if b.keys().contains(&GroupKey::Outcome) { row.text(Col::Outcome) } else { None };
    let computed = if usable { compute_effect(&effect, None).ok() } else { None };
    let mut key = [""; 7];
    for (i, k) in b.keys().iter().enumerate() {
        key[i] = match k {
            GroupKey::Intervention => &m.last_int.1,
            GroupKey::TargetGroup => tg.display(),
            GroupKey::IncomeSetting => income.key(),
            GroupKey::Strategy => strategy.map_or("(none)", |s| s.key()),
            GroupKey::Design => design.map_or("(none)", |s| s.key()),
            GroupKey::Outcome => outcome.as_deref().unwrap_or("(none)"),
            GroupKey::Country => return None,
        };
    }
    b.push_input(&FactInput {
        key,
        tg_key: tg.key(),
        tg_display: tg.display(),
        int_key: &m.last_int.1,
        int_display: intervention,
        study: study_id.as_deref().unwrap_or(record_id),
        year,
        sample_size,
        design,
        rob,
        strategy,
        rating,
        harm,
        domain,
        domain_inferred,
        has_study_id: study_id.is_some(),
        primary,
        effect: computed.map(|e| (e.yi, e.vi, e.measure)),
        direction,
    });
    if let Some(spare) = effect.measure.take() {
        m.measure_spare = spare;
    }
    Some(xxhash_rust::xxh3::xxh3_64(record_id.as_bytes()))
}

/// [`convert::read_effect`] with the measure label memoised (and written
/// into `spare`, a string recycled from the previous row, so no string is
/// allocated per row); `None` when a cell is not a number.
fn read_effect<C: Cells>(
    ctx: &RowContext<'_>,
    row: &C,
    measures: &mut FxHashMap<String, String>,
    spare: &mut String,
) -> Option<EffectInput> {
    // Most effect columns are usually absent: those are empty without a
    // call into the row.
    let mut e = convert::effect_numbers(|c| if ctx.has(c) { row.number(c) } else { Ok(None) }).ok()?;
    e.measure = row.text(Col::Measure).map(|s| {
        if !measures.contains_key(s.as_ref()) {
            measures.insert(s.to_string(), s.trim().to_ascii_uppercase());
        }
        let mut out = std::mem::take(spare);
        out.clear();
        out.push_str(&measures[s.as_ref()]);
        out
    });
    Some(e)
}

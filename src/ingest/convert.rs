//! Text cells to validated records, one row at a time. Every failure becomes
//! a [`RowError`] naming file, line, column (as the file spells it), value,
//! what is allowed and a suggestion.

use super::columns::{Col, ColumnMapping, Resolved, Source};
use super::table::RawRow;
use super::{worldbank, Contract, IngestError, RowError};
use crate::model::{
    did_you_mean, normalise_label, Direction, EffectInput, EvaluationRecord, IncomeSetting, OutcomeDomain, Provenance,
    Rating, RecordFields, RiskOfBias, Strategy, StudyDesign, TargetGroup, VocabError,
};
use std::borrow::Cow;

/// Tokens read as a missing value (case-insensitive), besides the empty cell.
pub const NULL_TOKENS: &[&str] = &["na", "n/a", "null", "none", "nan", "-", ".", "#n/a"];

/// Check the header against the contract.
///
/// # Errors
/// [`IngestError::MissingColumns`] naming what is missing and the headers found.
pub fn check_required(path: &str, headers: &[String], r: &Resolved, contract: Contract) -> Result<(), IngestError> {
    let mut missing = Vec::new();
    let has_effect = Col::ALL.iter().any(|c| c.is_effect() && r.has(*c));
    match contract {
        Contract::Scoring => {
            for c in [Col::Intervention, Col::TargetGroup] {
                if !r.has(c) {
                    missing.push(c.name().to_string());
                }
            }
            if !r.has(Col::IncomeSetting) && !r.has(Col::Country) {
                missing.push("income_setting (or country, to derive it)".into());
            }
            if !r.has(Col::Rating) && !has_effect {
                missing.push("rating (or effect-size columns such as effect_size + se)".into());
            }
        }
        Contract::Effects => {
            if !has_effect {
                missing
                    .push("effect-size columns (yi + vi, effect_size + se or CI, 2x2 counts, or means/SDs/ns)".into());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let hs: Vec<&str> = headers.iter().map(|s| s.as_str()).collect();
    let mut hints = Vec::new();
    for m in &missing {
        let base = m.split(' ').next().unwrap_or(m);
        let close = did_you_mean(base, &hs).or_else(|| {
            // A header that is part of the contract name ("Group" for target_group).
            hs.iter()
                .find(|h| {
                    let n = super::columns::normalise_header(h);
                    n.len() >= 3 && (base.contains(n.as_str()) || n.contains(base))
                })
                .map(|h| h.to_string())
        });
        if let Some(s) = close {
            hints.push(format!("'{s}' looks like '{base}' (map it with --map \"{s}={base}\")"));
        }
    }
    let hint = if hints.is_empty() { String::new() } else { format!("{}; ", hints.join("; ")) };
    const MAX_LISTED: usize = 40;
    let mut found: Vec<String> = hs.iter().take(MAX_LISTED).map(|h| crate::model::shown(h)).collect();
    if hs.len() > MAX_LISTED {
        found.push(format!("... and {} more", hs.len() - MAX_LISTED));
    }
    Err(IngestError::MissingColumns { path: path.into(), missing, found: found.join(", "), hint })
}

/// Per-file context for converting rows.
pub struct RowContext<'a> {
    pub file: &'a str,
    pub file_idx: u32,
    pub resolved: &'a Resolved,
    pub mapping: &'a ColumnMapping,
    pub decimal_comma: bool,
    pub stem: &'a str,
    pub value_maps: std::collections::BTreeMap<Col, std::collections::BTreeMap<String, String>>,
    /// `resolved.sources` by column index (a lookup per cell is hot).
    slots: [Option<&'a Source>; Col::ALL.len()],
    /// Whether a value map exists, by column index.
    mapped: [bool; Col::ALL.len()],
}

impl<'a> RowContext<'a> {
    pub fn new(
        file: &'a str,
        file_idx: u32,
        resolved: &'a Resolved,
        mapping: &'a ColumnMapping,
        decimal_comma: bool,
        stem: &'a str,
    ) -> RowContext<'a> {
        let mut slots = [None; Col::ALL.len()];
        for (c, src) in &resolved.sources {
            slots[*c as usize] = Some(src);
        }
        let value_maps = mapping.value_maps();
        let mut mapped = [false; Col::ALL.len()];
        for c in value_maps.keys() {
            mapped[*c as usize] = true;
        }
        RowContext { file, file_idx, resolved, mapping, decimal_comma, stem, value_maps, slots, mapped }
    }
}

impl RowContext<'_> {
    fn err(
        &self,
        row: &RawRow,
        col: Col,
        value: &str,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) -> RowError {
        RowError {
            file: self.file.into(),
            line: row.line,
            column: Some(self.resolved.shown(col)),
            value: Some(value.to_string()),
            message: message.into(),
            suggestion,
            raw: String::new(),
        }
    }

    fn vocab(&self, row: &RawRow, col: Col, e: VocabError) -> RowError {
        let msg = format!("unknown value; expected one of {}", e.allowed);
        self.err(row, col, &e.value, msg, e.suggestion)
    }

    /// The cell text for a contract column: coalesced, null tokens removed,
    /// value map applied.
    pub fn text(&self, row: &RawRow, col: Col) -> Option<String> {
        self.text_ref(row, col).map(Cow::into_owned)
    }

    /// [`RowContext::text`] without copying the cell unless a value map
    /// replaces it.
    pub fn text_ref<'s>(&'s self, row: &'s RawRow, col: Col) -> Option<Cow<'s, str>> {
        self.pick(col, |i| &row.cells[i])
    }

    /// [`RowContext::text_ref`] over any cell source: `cell(i)` is the text of
    /// file column `i` (empty for a missing value).
    pub(crate) fn pick<'s>(&'s self, col: Col, cell: impl Fn(usize) -> &'s str) -> Option<Cow<'s, str>> {
        let raw = match self.slots[col as usize]? {
            Source::Constant(v) => Some(v.trim()).filter(|v| !self.is_null(v))?,
            Source::Columns(idx) => idx.iter().map(|&i| trim(cell(i))).find(|v| !self.is_null(v))?,
        };
        if self.mapped[col as usize] {
            if let Some(v) = self.value_maps.get(&col).and_then(|map| map.get(&normalise_label(raw))) {
                return Some(Cow::Owned(v.clone()));
            }
        }
        Some(Cow::Borrowed(raw))
    }

    /// Whether `col` has a source (a file column or a constant).
    #[inline]
    pub(crate) fn has(&self, col: Col) -> bool {
        self.slots[col as usize].is_some()
    }

    /// The one file column `col` is read from (not coalesced, not a
    /// constant).
    pub(crate) fn single_source(&self, col: Col) -> Option<usize> {
        match self.slots[col as usize]? {
            Source::Columns(idx) if idx.len() == 1 => Some(idx[0]),
            _ => None,
        }
    }

    /// The single file column `col` is read from, when a cell of it can be
    /// taken as a typed number: no constant or coalesced sources, no value
    /// map and no custom null tokens (those act on the text).
    pub(crate) fn plain_number_source(&self, col: Col) -> Option<usize> {
        self.single_source(col).filter(|_| !self.mapped[col as usize] && self.mapping.null_values.is_empty())
    }

    fn is_null(&self, v: &str) -> bool {
        // The built-in null tokens are at most 4 bytes long and start with
        // one of `n - . #`.
        v.is_empty()
            || (v.len() <= 4
                && matches!(v.as_bytes()[0], b'n' | b'N' | b'-' | b'.' | b'#')
                && NULL_TOKENS.iter().any(|t| v.eq_ignore_ascii_case(t)))
            || (!self.mapping.null_values.is_empty()
                && self.mapping.null_values.iter().any(|t| v.eq_ignore_ascii_case(t.trim())))
    }

    /// A number; with `decimal_comma` (`;`-delimited files) `0,35` is 0.35.
    pub fn number(&self, row: &RawRow, col: Col) -> Result<Option<f64>, RowError> {
        let Some(t) = self.text_ref(row, col) else {
            return Ok(None);
        };
        parse_number(&t, self.decimal_comma).map(Some).ok_or_else(|| {
            let hint = if !self.decimal_comma && t.contains(',') {
                "; a decimal comma is only read in ';'-delimited files"
            } else {
                ""
            };
            self.err(row, col, &t, format!("is not a number{hint}"), None)
        })
    }
}

/// `str::trim`, without the Unicode scan when both ends are plain ASCII
/// (the common case; the result is the same).
fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [] => s,
        [a, .., b] | [a @ b] if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Parse a number written with `.` or (when allowed) `,` as decimal mark.
/// With a decimal comma, `.` is accepted as a thousands separator only in
/// strict groups of three (`1.234,5`); a lone `.` is a decimal point (Excel
/// exports text cells unchanged).
pub fn parse_number(s: &str, decimal_comma: bool) -> Option<f64> {
    // Most cells are plain numbers: nothing to trim, strip or regroup.
    if s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return s.parse::<f64>().ok().filter(|v| v.is_finite());
    }
    parse_number_general(s, decimal_comma)
}

/// [`parse_number`] for any text (spaces, `%`, decimal commas).
fn parse_number_general(s: &str, decimal_comma: bool) -> Option<f64> {
    let t = s.trim().trim_end_matches('%').trim();
    let t: Cow<str> =
        if t.contains(['\u{a0}', ' ']) { Cow::Owned(t.replace(['\u{a0}', ' '], "")) } else { Cow::Borrowed(t) };
    let parsed = if decimal_comma && t.contains(',') {
        let (int, frac) = t.rsplit_once(',')?;
        let int_clean = if int.contains('.') {
            let groups: Vec<&str> = int.trim_start_matches(['-', '+']).split('.').collect();
            let ok = groups.len() > 1 && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
            if !ok {
                return None;
            }
            int.replace('.', "")
        } else {
            int.to_string()
        };
        format!("{int_clean}.{frac}").parse::<f64>().ok()
    } else {
        t.parse::<f64>().ok()
    }?;
    parsed.is_finite().then_some(parsed)
}

/// A `primary` cell: true/false and their aliases, or primary/secondary.
pub(crate) fn parse_primary(s: &str) -> Option<bool> {
    match normalise_label(s).as_str() {
        "primary" | "primair" | "main" => Some(true),
        "secondary" | "secundair" => Some(false),
        _ => parse_bool(s),
    }
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match normalise_label(s).as_str() {
        "true" | "yes" | "y" | "1" | "ja" | "waar" | "harmful" | "schadelijk" => Some(true),
        "false" | "no" | "n" | "0" | "nee" | "onwaar" => Some(false),
        _ => None,
    }
}

/// Convert one row. Returns the record and an optional note for an
/// aggregated warning (income derived with a fallback year).
///
/// # Errors
/// The first problem found in the row.
pub fn convert_row(ctx: &RowContext<'_>, row: &RawRow) -> Result<(EvaluationRecord, Option<String>), RowError> {
    let text = |c| ctx.text(row, c);
    let cell = |c| ctx.text_ref(row, c);
    let intervention = text(Col::Intervention)
        .ok_or_else(|| ctx.err(row, Col::Intervention, "", "is empty; every row must name an intervention", None))?;
    let target_group = text(Col::TargetGroup)
        .and_then(|t| TargetGroup::new(&t))
        .ok_or_else(|| ctx.err(row, Col::TargetGroup, "", "is empty; every row must name a target group", None))?;

    let year = match ctx.number(row, Col::Year)? {
        None => None,
        Some(y) if y.fract() == 0.0 && (-1e6..1e6).contains(&y) => Some(y as i32),
        Some(y) => return Err(ctx.err(row, Col::Year, &y.to_string(), "must be a whole year such as 2015", None)),
    };

    let country = match text(Col::Country) {
        None => None,
        Some(c) => Some(worldbank::country_code(&c).map_err(|m| ctx.err(row, Col::Country, &c, m, None))?),
    };

    let mut note = None;
    let (income_setting, income_derived) = match cell(Col::IncomeSetting) {
        Some(s) => (IncomeSetting::parse(&s).map_err(|e| ctx.vocab(row, Col::IncomeSetting, e))?, false),
        None => match &country {
            Some(iso) => {
                let c = worldbank::classify(iso, year).map_err(|m| ctx.err(row, Col::Country, iso, m, None))?;
                note = c.note.map(|n| format!("income setting derived from country: {n}"));
                (c.setting, true)
            }
            None => {
                let msg = if ctx.resolved.has(Col::Country) {
                    "is empty and so is country; give one of them (LIC, LMC, UMC, HIC)"
                } else {
                    "is empty; expected one of LIC, LMC, UMC, HIC"
                };
                return Err(ctx.err(row, Col::IncomeSetting, "", msg, None));
            }
        },
    };

    let (rating, mut harm) = match cell(Col::Rating) {
        Some(s) => {
            let p = Rating::parse(&s).map_err(|e| ctx.vocab(row, Col::Rating, e))?;
            (Some(p.rating), p.harmful)
        }
        None => (None, false),
    };
    if let Some(h) = cell(Col::Harm) {
        let b = parse_bool(&h)
            .ok_or_else(|| ctx.err(row, Col::Harm, &h, "expected true/false (also yes/no, 1/0, ja/nee)", None))?;
        harm |= b;
    }

    let strategy =
        cell(Col::Strategy).map(|s| Strategy::parse(&s).map_err(|e| ctx.vocab(row, Col::Strategy, e))).transpose()?;
    let design =
        cell(Col::Design).map(|s| StudyDesign::parse(&s).map_err(|e| ctx.vocab(row, Col::Design, e))).transpose()?;
    let risk_of_bias = cell(Col::RiskOfBias)
        .map(|s| RiskOfBias::parse(&s).map_err(|e| ctx.vocab(row, Col::RiskOfBias, e)))
        .transpose()?;

    let sample_size = match ctx.number(row, Col::SampleSize)? {
        None => None,
        Some(n) if n >= 0.5 => Some(n.round() as u64),
        Some(n) => {
            return Err(ctx.err(
                row,
                Col::SampleSize,
                &n.to_string(),
                "must be a positive number of participants",
                None,
            ))
        }
    };

    let outcome = text(Col::Outcome);
    let (outcome_domain, domain_inferred) = match cell(Col::OutcomeDomain) {
        Some(d) => (OutcomeDomain::parse(&d).map_err(|e| ctx.vocab(row, Col::OutcomeDomain, e))?, false),
        None => (outcome.as_deref().map_or(OutcomeDomain::Other, OutcomeDomain::infer), true),
    };
    let primary = match cell(Col::Primary) {
        None => None,
        Some(p) => Some(parse_primary(&p).ok_or_else(|| {
            ctx.err(row, Col::Primary, &p, "expected true/false (also yes/no, 1/0, primary/secondary, ja/nee)", None)
        })?),
    };
    let direction = cell(Col::Direction)
        .map(|d| Direction::parse(&d).map_err(|e| ctx.vocab(row, Col::Direction, e)))
        .transpose()?;

    let effect = read_effect(ctx, row)?;
    if let Some(msg) = se_ci_disagreement(&effect) {
        note = Some(note.map_or(msg.clone(), |n| format!("{n}; {msg}")));
    }
    let record_id = text(Col::RecordId).unwrap_or_else(|| format!("{}:{}", ctx.file, row.line));
    let fields = RecordFields {
        record_id,
        study_id: text(Col::StudyId),
        intervention,
        target_group,
        income_setting,
        income_derived,
        rating,
        harm,
        strategy,
        country,
        design,
        sample_size,
        year,
        outcome,
        outcome_domain,
        domain_inferred,
        primary,
        direction,
        risk_of_bias,
        source: text(Col::Source),
        effect,
        provenance: Provenance { file: ctx.file_idx, line: row.line },
    };
    let rec = EvaluationRecord::new(fields).map_err(|e| {
        let col = Col::from_name(e.column).unwrap_or(Col::Rating);
        let mut err = ctx.err(row, col, &e.value, e.message, None);
        if !ctx.resolved.has(col) {
            err.column = Some(e.column.to_string());
        }
        err
    })?;
    Ok((rec, note))
}

/// A warning when `se` and the 95% CI are both given but disagree by more
/// than 25% (the CI implies `se = (upper - lower) / (2 * 1.959964)`, on the
/// log scale for ratio measures).
pub(crate) fn se_ci_disagreement(e: &EffectInput) -> Option<String> {
    let (se, lo, hi) = (e.se?, e.ci_lower?, e.ci_upper?);
    let ratio = e.measure.as_deref().is_some_and(crate::model::is_ratio_measure);
    let implied = if ratio {
        if lo <= 0.0 || hi <= 0.0 {
            return None;
        }
        (hi.ln() - lo.ln()) / (2.0 * crate::meta::effect::Z975)
    } else {
        (hi - lo) / (2.0 * crate::meta::effect::Z975)
    };
    ((se - implied).abs() > 0.25 * implied.max(se))
        .then(|| "se disagrees with the 95% CI by more than 25% (se is used; check which is right)".to_string())
}

/// The effect-size cells of a row (numbers only; consistency is checked by
/// the record constructor and by `meta::effect`).
///
/// # Errors
/// A cell that is not a number.
pub fn read_effect(ctx: &RowContext<'_>, row: &RawRow) -> Result<EffectInput, RowError> {
    let mut e = effect_numbers(|c| ctx.number(row, c))?;
    e.measure = ctx.text_ref(row, Col::Measure).map(|m| m.trim().to_ascii_uppercase());
    Ok(e)
}

/// The numeric effect-size cells, each read with `n`.
///
/// # Errors
/// The first error `n` returns.
pub(crate) fn effect_numbers<E>(n: impl Fn(Col) -> Result<Option<f64>, E>) -> Result<EffectInput, E> {
    let mut e = EffectInput {
        effect_size: n(Col::EffectSize)?,
        se: n(Col::Se)?,
        variance: n(Col::Variance)?,
        ci_lower: n(Col::CiLower)?,
        ci_upper: n(Col::CiUpper)?,
        yi: n(Col::Yi)?,
        vi: n(Col::Vi)?,
        measure: None,
        events_t: n(Col::EventsT)?,
        n_t: n(Col::NT)?,
        events_c: n(Col::EventsC)?,
        n_c: n(Col::NC)?,
        mean_t: n(Col::MeanT)?,
        sd_t: n(Col::SdT)?,
        mean_c: n(Col::MeanC)?,
        sd_c: n(Col::SdC)?,
    };
    // metafor's bi/di (non-events) complete the group sizes.
    if e.n_t.is_none() {
        if let (Some(a), Some(b)) = (e.events_t, n(Col::NonEventsT)?) {
            e.n_t = Some(a + b);
        }
    }
    if e.n_c.is_none() {
        if let (Some(c), Some(d)) = (e.events_c, n(Col::NonEventsC)?) {
            e.n_c = Some(c + d);
        }
    }
    Ok(e)
}

/// A row read under the effects-only contract (`evidex meta`).
#[derive(Debug, Clone, PartialEq)]
pub struct EffectRow {
    /// study_id, else record_id, else `file-stem:line`.
    pub label: String,
    /// The column the label comes from, as the file names it (`None`: made
    /// from the file name and line).
    pub label_column: Option<String>,
    pub study_id: Option<String>,
    pub effect: EffectInput,
    pub design: Option<StudyDesign>,
    /// Every cell by normalised header (for `--by` and `--cluster`).
    pub cells: std::collections::BTreeMap<String, String>,
    pub provenance: Provenance,
}

/// Convert one row under the effects-only contract.
///
/// # Errors
/// A non-numeric effect cell or an unknown design.
pub fn convert_effect_row(ctx: &RowContext<'_>, row: &RawRow, headers: &[String]) -> Result<EffectRow, RowError> {
    let effect = read_effect(ctx, row)?;
    let design = ctx
        .text(row, Col::Design)
        .map(|s| StudyDesign::parse(&s).map_err(|e| ctx.vocab(row, Col::Design, e)))
        .transpose()?;
    let study_id = ctx.text(row, Col::StudyId);
    let (label, label_column) = match (&study_id, ctx.text(row, Col::RecordId)) {
        (Some(s), _) => (s.clone(), Some(ctx.resolved.shown(Col::StudyId))),
        (None, Some(r)) => (r, Some(ctx.resolved.shown(Col::RecordId))),
        (None, None) => (format!("{}:{}", ctx.stem, row.line), None),
    };
    let cells = headers
        .iter()
        .zip(&row.cells)
        .map(|(h, v)| (super::columns::normalise_header(h), v.trim().to_string()))
        .collect();
    Ok(EffectRow {
        label,
        label_column,
        study_id,
        effect,
        design,
        cells,
        provenance: Provenance { file: ctx.file_idx, line: row.line },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0.35", false), Some(0.35));
        assert_eq!(parse_number("0,35", true), Some(0.35));
        assert_eq!(parse_number("-1.234,5", true), Some(-1234.5));
        assert_eq!(parse_number("0.35", true), Some(0.35));
        assert_eq!(parse_number("1.23,5", true), None);
        assert_eq!(parse_number("0,35", false), None);
        assert_eq!(parse_number("abc", false), None);
        assert_eq!(parse_number("inf", false), None);
        assert_eq!(parse_number(" 12 ", false), Some(12.0));
    }

    proptest::proptest! {
        /// The plain-number shortcut gives what the general parser gives.
        #[test]
        fn plain_number_shortcut_agrees(
            s in "[-+]?[0-9]{0,6}(\\.[0-9]{0,6})?([eE][-+]?[0-9]{0,4})?|[0-9eE.+-]{0,12}",
            decimal_comma in proptest::bool::ANY,
        ) {
            proptest::prop_assert_eq!(parse_number(&s, decimal_comma), parse_number_general(&s, decimal_comma));
        }
    }

    #[test]
    fn plain_numbers_at_the_edges() {
        for s in ["", "-", "+", ".", "e5", "1e400", "-1e400", "1e-400", "00012", "+.5", "5.", "1..2", "1e", "--1"] {
            for dc in [false, true] {
                assert_eq!(parse_number(s, dc), parse_number_general(s, dc), "{s:?}");
            }
        }
        assert_eq!(parse_number("1e400", false), None, "not finite");
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("Ja"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}

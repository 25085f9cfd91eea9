//! The input contract's columns, header normalisation, aliases (English,
//! Dutch, metafor) and user column mappings (`--columns mapping.toml`,
//! `--map source=target`).

use super::IngestError;
use crate::model::{did_you_mean, normalise_label, EvaluationRecord};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

pub use crate::model::normalise_header;

/// A column of the input contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Col {
    RecordId,
    StudyId,
    Intervention,
    TargetGroup,
    IncomeSetting,
    Rating,
    Strategy,
    Country,
    Design,
    SampleSize,
    Year,
    Outcome,
    EffectSize,
    Se,
    Variance,
    CiLower,
    CiUpper,
    Yi,
    Vi,
    Measure,
    EventsT,
    NonEventsT,
    NT,
    EventsC,
    NonEventsC,
    NC,
    MeanT,
    SdT,
    MeanC,
    SdC,
    RiskOfBias,
    Harm,
    Source,
    OutcomeDomain,
    Primary,
    Direction,
    Assignment,
    Clusters,
}

impl Col {
    pub const ALL: [Col; 38] = [
        Col::RecordId,
        Col::StudyId,
        Col::Intervention,
        Col::TargetGroup,
        Col::IncomeSetting,
        Col::Rating,
        Col::Strategy,
        Col::Country,
        Col::Design,
        Col::SampleSize,
        Col::Year,
        Col::Outcome,
        Col::EffectSize,
        Col::Se,
        Col::Variance,
        Col::CiLower,
        Col::CiUpper,
        Col::Yi,
        Col::Vi,
        Col::Measure,
        Col::EventsT,
        Col::NonEventsT,
        Col::NT,
        Col::EventsC,
        Col::NonEventsC,
        Col::NC,
        Col::MeanT,
        Col::SdT,
        Col::MeanC,
        Col::SdC,
        Col::RiskOfBias,
        Col::Harm,
        Col::Source,
        Col::OutcomeDomain,
        Col::Primary,
        Col::Direction,
        Col::Assignment,
        Col::Clusters,
    ];

    /// Contract name.
    pub fn name(self) -> &'static str {
        match self {
            Col::RecordId => "record_id",
            Col::StudyId => "study_id",
            Col::Intervention => "intervention",
            Col::TargetGroup => "target_group",
            Col::IncomeSetting => "income_setting",
            Col::Rating => "rating",
            Col::Strategy => "strategy",
            Col::Country => "country",
            Col::Design => "design",
            Col::SampleSize => "sample_size",
            Col::Year => "year",
            Col::Outcome => "outcome",
            Col::EffectSize => "effect_size",
            Col::Se => "se",
            Col::Variance => "variance",
            Col::CiLower => "ci_lower",
            Col::CiUpper => "ci_upper",
            Col::Yi => "yi",
            Col::Vi => "vi",
            Col::Measure => "measure",
            Col::EventsT => "events_t",
            Col::NonEventsT => "non_events_t",
            Col::NT => "n_t",
            Col::EventsC => "events_c",
            Col::NonEventsC => "non_events_c",
            Col::NC => "n_c",
            Col::MeanT => "mean_t",
            Col::SdT => "sd_t",
            Col::MeanC => "mean_c",
            Col::SdC => "sd_c",
            Col::RiskOfBias => "risk_of_bias",
            Col::Harm => "harm",
            Col::Source => "source",
            Col::OutcomeDomain => "outcome_domain",
            Col::Primary => "primary",
            Col::Direction => "direction",
            Col::Assignment => "assignment",
            Col::Clusters => "clusters",
        }
    }

    pub fn from_name(s: &str) -> Option<Col> {
        let n = normalise_header(s);
        Col::ALL.into_iter().find(|c| c.name() == n)
    }

    /// This column's value in an accepted record, written so that the row
    /// reader reads it back as the same value: vocabulary columns as their
    /// keys, numbers in their shortest exact form, flags as `true`/`false`,
    /// the income setting and outcome domain as used (also when derived or
    /// inferred). `None`: the record has no value. Non-event counts are
    /// `None`: the reader folds them into the group sizes (`n_t`, `n_c`).
    pub fn value_of(self, r: &EvaluationRecord) -> Option<Cow<'_, str>> {
        fn text(s: Option<&str>) -> Option<Cow<'_, str>> {
            s.map(Cow::Borrowed)
        }
        let key = |s: &'static str| Some(Cow::Borrowed(s));
        let num = |x: Option<f64>| x.map(|v| Cow::Owned(v.to_string()));
        let flag = |b: bool| key(if b { "true" } else { "false" });
        let e = r.effect();
        match self {
            Col::RecordId => text(Some(&r.record_id)),
            Col::StudyId => text(r.study_id.as_deref()),
            Col::Intervention => text(Some(&r.intervention)),
            Col::TargetGroup => text(Some(r.target_group.display())),
            Col::IncomeSetting => key(r.income_setting.key()),
            Col::Rating => r.rating.and_then(|x| key(x.key())),
            Col::Strategy => r.strategy.and_then(|x| key(x.key())),
            Col::Country => text(r.country.as_deref()),
            Col::Design => r.design.and_then(|x| key(x.key())),
            Col::SampleSize => r.sample_size.map(|n| Cow::Owned(n.to_string())),
            Col::Year => r.year.map(|y| Cow::Owned(y.to_string())),
            Col::Outcome => text(r.outcome.as_deref()),
            Col::EffectSize => num(e.effect_size),
            Col::Se => num(e.se),
            Col::Variance => num(e.variance),
            Col::CiLower => num(e.ci_lower),
            Col::CiUpper => num(e.ci_upper),
            Col::Yi => num(e.yi),
            Col::Vi => num(e.vi),
            Col::Measure => text(e.measure.as_deref()),
            Col::EventsT => num(e.events_t),
            Col::NonEventsT | Col::NonEventsC => None,
            Col::NT => num(e.n_t),
            Col::EventsC => num(e.events_c),
            Col::NC => num(e.n_c),
            Col::MeanT => num(e.mean_t),
            Col::SdT => num(e.sd_t),
            Col::MeanC => num(e.mean_c),
            Col::SdC => num(e.sd_c),
            Col::RiskOfBias => r.risk_of_bias.and_then(|x| key(x.key())),
            Col::Harm => flag(r.harm),
            Col::Source => text(r.source.as_deref()),
            Col::OutcomeDomain => key(r.outcome_domain.key()),
            Col::Primary => r.primary.and_then(flag),
            Col::Direction => r.direction.and_then(|x| key(x.key())),
            Col::Assignment => r.assignment.and_then(|x| key(x.key())),
            Col::Clusters => r.clusters.map(|n| Cow::Owned(n.to_string())),
        }
    }

    /// Columns read as numbers (year, sample size, the numeric effect fields).
    pub fn is_number(self) -> bool {
        matches!(self, Col::Year | Col::SampleSize | Col::Clusters) || self.is_effect()
    }

    /// Columns that carry effect-size information.
    pub fn is_effect(self) -> bool {
        matches!(
            self,
            Col::EffectSize
                | Col::Se
                | Col::Variance
                | Col::CiLower
                | Col::CiUpper
                | Col::Yi
                | Col::Vi
                | Col::EventsT
                | Col::NonEventsT
                | Col::NT
                | Col::EventsC
                | Col::NonEventsC
                | Col::NC
                | Col::MeanT
                | Col::SdT
                | Col::MeanC
                | Col::SdC
        )
    }
}

/// Aliases recognised without a mapping file (after header normalisation).
/// The metafor names `ai, bi, ci, di, n1i, n2i, m1i, sd1i, m2i, sd2i, yi, vi,
/// sei` are here too; `ci` is resolved by the whole header (see
/// [`resolve_headers`]).
const ALIASES: &[(&str, Col)] = &[
    ("id", Col::RecordId),
    ("record", Col::RecordId),
    ("finding_id", Col::RecordId),
    ("bevinding_id", Col::RecordId),
    ("bevinding", Col::RecordId),
    ("regel_id", Col::RecordId),
    ("study", Col::StudyId),
    ("trial", Col::StudyId),
    ("studie_id", Col::StudyId),
    ("studie", Col::StudyId),
    ("onderzoek_id", Col::StudyId),
    ("studienummer", Col::StudyId),
    ("programme", Col::Intervention),
    ("program", Col::Intervention),
    ("intervention_name", Col::Intervention),
    ("interventie", Col::Intervention),
    ("interventienaam", Col::Intervention),
    ("programma", Col::Intervention),
    ("programmanaam", Col::Intervention),
    ("target", Col::TargetGroup),
    ("target_population", Col::TargetGroup),
    ("population", Col::TargetGroup),
    ("doelgroep", Col::TargetGroup),
    ("income", Col::IncomeSetting),
    ("income_group", Col::IncomeSetting),
    ("income_level", Col::IncomeSetting),
    ("inkomensgroep", Col::IncomeSetting),
    ("inkomensniveau", Col::IncomeSetting),
    ("inkomenscategorie", Col::IncomeSetting),
    ("inkomensklasse", Col::IncomeSetting),
    ("evidence_rating", Col::Rating),
    ("unicef_rating", Col::Rating),
    ("beoordeling", Col::Rating),
    ("oordeel", Col::Rating),
    ("waardering", Col::Rating),
    ("beoordeling_unicef", Col::Rating),
    ("unicef_beoordeling", Col::Rating),
    ("inspire_strategy", Col::Strategy),
    ("strategie", Col::Strategy),
    ("inspire_strategie", Col::Strategy),
    ("iso3", Col::Country),
    ("land", Col::Country),
    ("study_design", Col::Design),
    ("ontwerp", Col::Design),
    ("onderzoeksopzet", Col::Design),
    ("onderzoeksontwerp", Col::Design),
    ("studieopzet", Col::Design),
    ("studieontwerp", Col::Design),
    ("design_type", Col::Design),
    ("n", Col::SampleSize),
    ("sample", Col::SampleSize),
    ("total_n", Col::SampleSize),
    ("steekproefomvang", Col::SampleSize),
    ("steekproefgrootte", Col::SampleSize),
    ("aantal_deelnemers", Col::SampleSize),
    ("deelnemers", Col::SampleSize),
    ("sample_size_total", Col::SampleSize),
    ("publication_year", Col::Year),
    ("jaar", Col::Year),
    ("publicatiejaar", Col::Year),
    ("jaar_van_publicatie", Col::Year),
    ("uitkomst", Col::Outcome),
    ("uitkomstmaat", Col::Outcome),
    ("outcome_measure", Col::Outcome),
    ("effect", Col::EffectSize),
    ("es", Col::EffectSize),
    ("effectgrootte", Col::EffectSize),
    ("effect_grootte", Col::EffectSize),
    ("effect_size_estimate", Col::EffectSize),
    ("std_err", Col::Se),
    ("standard_error", Col::Se),
    ("sei", Col::Se),
    ("std_error", Col::Se),
    ("stderr", Col::Se),
    ("standaardfout", Col::Se),
    ("standaard_fout", Col::Se),
    ("se_effect", Col::Se),
    ("var", Col::Variance),
    ("variantie", Col::Variance),
    ("lower", Col::CiLower),
    ("ci_low", Col::CiLower),
    ("lower_ci", Col::CiLower),
    ("ci_lb", Col::CiLower),
    ("ondergrens", Col::CiLower),
    ("bi_ondergrens", Col::CiLower),
    ("ondergrens_bi", Col::CiLower),
    ("ci_ondergrens", Col::CiLower),
    ("ondergrens_95_bi", Col::CiLower),
    ("upper", Col::CiUpper),
    ("ci_high", Col::CiUpper),
    ("upper_ci", Col::CiUpper),
    ("ci_ub", Col::CiUpper),
    ("bovengrens", Col::CiUpper),
    ("bi_bovengrens", Col::CiUpper),
    ("bovengrens_bi", Col::CiUpper),
    ("ci_bovengrens", Col::CiUpper),
    ("bovengrens_95_bi", Col::CiUpper),
    ("effect_measure", Col::Measure),
    ("maat", Col::Measure),
    ("effectmaat", Col::Measure),
    ("type_effectmaat", Col::Measure),
    ("ai", Col::EventsT),
    ("tpos", Col::EventsT),
    ("tneg", Col::NonEventsT),
    ("cpos", Col::EventsC),
    ("cneg", Col::NonEventsC),
    ("bi", Col::NonEventsT),
    ("n1i", Col::NT),
    ("di", Col::NonEventsC),
    ("n2i", Col::NC),
    ("m1i", Col::MeanT),
    ("sd1i", Col::SdT),
    ("m2i", Col::MeanC),
    ("sd2i", Col::SdC),
    ("gebeurtenissen_interventie", Col::EventsT),
    ("n_interventie", Col::NT),
    ("gebeurtenissen_controle", Col::EventsC),
    ("n_controle", Col::NC),
    ("gemiddelde_interventie", Col::MeanT),
    ("sd_interventie", Col::SdT),
    ("gemiddelde_controle", Col::MeanC),
    ("sd_controle", Col::SdC),
    ("rob", Col::RiskOfBias),
    ("bias", Col::RiskOfBias),
    ("risico_op_bias", Col::RiskOfBias),
    ("risico_op_vertekening", Col::RiskOfBias),
    ("risico_van_vertekening", Col::RiskOfBias),
    ("vertekening", Col::RiskOfBias),
    ("risk_of_bias_rating", Col::RiskOfBias),
    ("harmful", Col::Harm),
    ("schade", Col::Harm),
    ("schadelijk", Col::Harm),
    ("domain", Col::OutcomeDomain),
    ("outcome_type", Col::OutcomeDomain),
    ("outcome_tier", Col::OutcomeDomain),
    ("uitkomstdomein", Col::OutcomeDomain),
    ("domein", Col::OutcomeDomain),
    ("uitkomst_domein", Col::OutcomeDomain),
    ("is_primary", Col::Primary),
    ("primary_outcome", Col::Primary),
    ("primair", Col::Primary),
    ("primaire_uitkomst", Col::Primary),
    ("primaire_uitkomstmaat", Col::Primary),
    ("effect_direction", Col::Direction),
    ("good_direction", Col::Direction),
    ("richting", Col::Direction),
    ("effectrichting", Col::Direction),
    ("gunstige_richting", Col::Direction),
    ("reference", Col::Source),
    ("citation", Col::Source),
    ("bron", Col::Source),
    ("unit_of_assignment", Col::Assignment),
    ("assignment_unit", Col::Assignment),
    ("toewijzing", Col::Assignment),
    ("n_clusters", Col::Clusters),
    ("number_of_clusters", Col::Clusters),
    ("aantal_clusters", Col::Clusters),
    ("referentie", Col::Source),
    ("bronvermelding", Col::Source),
];

/// The contract column a header names exactly: its contract name or an
/// alias (after header normalisation). `ci` is not resolved here (it
/// depends on the whole header).
pub fn named(header: &str) -> Option<Col> {
    let n = normalise_header(header);
    Col::ALL.into_iter().find(|c| c.name() == n).or_else(|| ALIASES.iter().find(|a| a.0 == n).map(|a| a.1))
}

/// The contract column an unknown header probably means: the contract name
/// or alias closest to it, compared without case, separators and
/// punctuation (`Std. Error`, `effectsize`), within a typo's distance
/// (at most one edit per four letters, at most three; names shorter than
/// four letters only when equal). `None` when nothing is that close.
///
/// ```
/// use evidex::ingest::columns::{looks_like, Col};
/// assert_eq!(looks_like("standard_eror"), Some(Col::Se));
/// assert_eq!(looks_like("Risico op vertekenning"), Some(Col::RiskOfBias));
/// assert_eq!(looks_like("S.E."), Some(Col::Se));
/// assert_eq!(looks_like("paper_title"), None);
/// ```
pub fn looks_like(header: &str) -> Option<Col> {
    let squash =
        |s: &str| -> String { s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect() };
    let h = squash(header);
    if h.is_empty() {
        return None;
    }
    let names = Col::ALL.iter().map(|c| (c.name(), *c)).chain(ALIASES.iter().copied());
    let mut best: Option<(usize, Col)> = None;
    for (name, col) in names {
        let n = squash(name);
        let longest = h.chars().count().max(n.chars().count());
        let limit = if h.chars().count() < 4 || n.chars().count() < 4 { 0 } else { (longest / 4).clamp(1, 3) };
        if h.chars().count().abs_diff(n.chars().count()) > limit {
            continue;
        }
        let d = crate::model::edit_distance(&h, &n);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, col));
        }
    }
    best.map(|(_, c)| c)
}

/// Warnings for pass-through headers that look like contract columns: a
/// second header for a column already read, or a near miss of a column the
/// file lacks ("did you mean").
pub fn header_warnings(resolved: &Resolved) -> Vec<String> {
    let mut out = Vec::new();
    for (_, h) in &resolved.extra {
        if h.trim().is_empty() {
            continue;
        }
        let shown = crate::model::shown(h);
        match named(h) {
            Some(c) if resolved.has(c) => out.push(format!(
                "column '{shown}' also names '{}', which is read from '{}'; '{shown}' is passed through, not read",
                c.name(),
                crate::model::shown(&resolved.shown(c))
            )),
            Some(_) => {}
            None => {
                if let Some(c) = looks_like(h).filter(|c| !resolved.has(*c)) {
                    out.push(format!(
                        "column '{shown}' is not part of the contract and is passed through; did you mean '{}'? \
                         (rename it, or map it with --map \"{shown}={}\")",
                        c.name(),
                        c.name()
                    ));
                }
            }
        }
    }
    out
}

/// A user column mapping (`--columns mapping.toml`).
///
/// ```toml
/// [columns]            # source header = contract column
/// "study_design" = "design"
/// [coalesce]           # first non-empty of several source headers
/// intervention = ["program_name", "intervention_name"]
/// [values.design]      # value maps, keyed by contract column
/// "Observational" = "pre_post"
/// [constants]          # a contract column filled with one value
/// strategy = "education_life_skills"
/// [sum]                # a number column as the sum of source columns
/// clusters = ["n_t_group", "n_c_group"]
/// [names]              # canonical intervention name = [variants]
/// "Bringing in the Bystander" = ["Bringing in the Bystander (BITB)", "BITB"]
/// ```
/// Top-level keys (before any table): `null_values = ["-"]` (extra tokens
/// read as missing) and `placeholders = ["lecture"]` (extra intervention
/// names that say nothing about the programme, left out of scoring like
/// the built-in ones).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub coalesce: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    #[serde(default)]
    pub null_values: Vec<String>,
    /// Numeric contract columns summed from several source columns (empty
    /// when all of them are).
    #[serde(default)]
    pub sum: BTreeMap<String, Vec<String>>,
    /// Intervention aliases: canonical name = its other spellings (matched
    /// by [`crate::model::intervention_key`]).
    #[serde(default)]
    pub names: BTreeMap<String, Vec<String>>,
    /// Extra placeholder intervention names for this table.
    #[serde(default)]
    pub placeholders: Vec<String>,
}

/// Intervention names resolved with a mapping's `[names]` and
/// `placeholders` (matching keys of [`crate::model::intervention_key`]).
#[derive(Debug, Clone, Default)]
pub struct NameTable {
    /// Canonical names, indexed by `alias_of`'s values.
    pub canonical: Vec<String>,
    /// Variant key -> index into `canonical`.
    pub alias_of: rustc_hash::FxHashMap<String, u32>,
    /// Keys of the mapping's extra placeholders.
    pub placeholders: rustc_hash::FxHashSet<String>,
}

impl NameTable {
    /// Whether there is nothing to resolve.
    pub fn is_empty(&self) -> bool {
        self.alias_of.is_empty() && self.placeholders.is_empty()
    }

    /// Whether an intervention's matching key is a placeholder: the
    /// built-in list or the mapping's.
    pub fn is_placeholder(&self, key: &str) -> bool {
        crate::model::is_placeholder_key(key) || self.placeholders.contains(key)
    }
}

impl ColumnMapping {
    /// Load a mapping file.
    ///
    /// # Errors
    /// Unreadable file, invalid TOML, unknown keys, or a target that is not a
    /// contract column.
    pub fn load(path: &std::path::Path) -> Result<ColumnMapping, IngestError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| IngestError::Io { path: display.clone(), message: e.to_string() })?;
        let m: ColumnMapping = toml::from_str(&text)
            .map_err(|e| IngestError::Mapping { path: display.clone(), message: e.to_string() })?;
        m.validate().map_err(|message| IngestError::Mapping { path: display.clone(), message })?;
        m.check_names().map_err(|(needle, message)| {
            let at = locate(&text, &needle).map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
            IngestError::Mapping { path: format!("{display}{at}"), message }
        })?;
        Ok(m)
    }

    /// The `[names]` and `placeholders` of this mapping, ready for lookups.
    pub fn name_table(&self) -> NameTable {
        let key = crate::model::intervention_key;
        let mut t = NameTable::default();
        for (canon, variants) in &self.names {
            let i = t.canonical.len() as u32;
            t.canonical.push(canon.trim().to_string());
            for v in variants {
                t.alias_of.insert(key(v), i);
            }
        }
        t.placeholders = self.placeholders.iter().map(|p| key(p)).collect();
        t
    }

    /// `[names]` and `placeholders` make sense together: every name
    /// non-empty, a variant under one canonical name only, no canonical
    /// name that is another's variant (no chains), no canonical placeholder.
    ///
    /// # Errors
    /// `(the quoted text to locate, message)`.
    fn check_names(&self) -> Result<(), (String, String)> {
        use crate::model::{intervention_key as key, shown};
        let t = self.name_table();
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for (canon, variants) in &self.names {
            let ck = key(canon);
            if ck.is_empty() {
                return Err((
                    format!("\"{canon}\""),
                    format!("[names]: '{}' is not a name; give the programme's name (letters or digits)", shown(canon)),
                ));
            }
            if t.is_placeholder(&ck) {
                return Err((
                    format!("\"{canon}\""),
                    format!("[names]: '{}' is a placeholder, not a programme name; a canonical name must name the programme", shown(canon)),
                ));
            }
            if let Some(i) = t.alias_of.get(&ck).filter(|i| t.canonical[**i as usize] != canon.trim()) {
                return Err((
                    format!("\"{canon}\""),
                    format!(
                        "[names]: '{}' is a canonical name and also a variant of '{}'; list its variants under '{}' instead (one level of aliases)",
                        shown(canon),
                        shown(&t.canonical[*i as usize]),
                        shown(&t.canonical[*i as usize])
                    ),
                ));
            }
            for v in variants {
                let vk = key(v);
                if vk.is_empty() {
                    return Err((
                        format!("\"{v}\""),
                        format!("[names]: variant '{}' of '{}' is not a name", shown(v), shown(canon)),
                    ));
                }
                if let Some(other) = owner.insert(vk, canon.as_str()).filter(|o| *o != canon.as_str()) {
                    return Err((
                        format!("\"{v}\""),
                        format!(
                            "[names]: '{}' is listed under both '{}' and '{}'; a spelling can belong to one programme only",
                            shown(v),
                            shown(other),
                            shown(canon)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Add a `source=target` pair from the command line.
    ///
    /// # Errors
    /// A malformed pair or an unknown target.
    pub fn add_pair(&mut self, pair: &str) -> Result<(), IngestError> {
        let Some((src, dst)) = pair.split_once('=') else {
            return Err(IngestError::Mapping {
                path: "--map".into(),
                message: format!("'{pair}' is not of the form source=target"),
            });
        };
        self.columns.insert(src.trim().to_string(), dst.trim().to_string());
        self.validate().map_err(|message| IngestError::Mapping { path: "--map".into(), message })
    }

    fn validate(&self) -> Result<(), String> {
        let targets = self
            .columns
            .values()
            .chain(self.coalesce.keys())
            .chain(self.values.keys())
            .chain(self.constants.keys())
            .chain(self.sum.keys());
        for t in targets {
            if Col::from_name(t).is_none() {
                let names: Vec<&str> = Col::ALL.iter().map(|c| c.name()).collect();
                let hint = did_you_mean(t, &names).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
                return Err(format!("'{t}' is not a contract column{hint}; contract columns are {}", names.join(", ")));
            }
        }
        for (t, list) in &self.sum {
            let col = Col::from_name(t).expect("checked above");
            if !col.is_number() {
                let numeric: Vec<&str> = Col::ALL.iter().filter(|c| c.is_number()).map(|c| c.name()).collect();
                return Err(format!(
                    "[sum]: '{t}' is not a number column, so it cannot be a sum; number columns are {}",
                    numeric.join(", ")
                ));
            }
            if list.is_empty() {
                return Err(format!(
                    "[sum]: '{t}' lists no source columns; give at least one, e.g. {t} = [\"a\", \"b\"]"
                ));
            }
            if self.coalesce.contains_key(t) || self.constants.contains_key(t) || self.columns.values().any(|c| c == t)
            {
                return Err(format!(
                    "[sum]: '{t}' also has another source ([columns], [coalesce] or [constants]); give it one source"
                ));
            }
        }
        Ok(())
    }

    /// All value maps by contract column, keyed by normalised source label
    /// (built once per file).
    pub fn value_maps(&self) -> BTreeMap<Col, BTreeMap<String, String>> {
        self.values
            .iter()
            .filter_map(|(k, m)| {
                Col::from_name(k).map(|c| (c, m.iter().map(|(k, v)| (normalise_label(k), v.clone())).collect()))
            })
            .collect()
    }
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn locate(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

/// Where a contract column's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Header indices, first non-empty wins.
    Columns(Vec<usize>),
    Constant(String),
    /// Header indices whose numbers are added (a mapping's `[sum]`).
    Sum(Vec<usize>),
}

/// The result of matching a file's headers against the contract.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub sources: BTreeMap<Col, Source>,
    /// Original header text per contract column (for messages).
    pub header_of: BTreeMap<Col, String>,
    /// Unknown headers, kept as pass-through.
    pub extra: Vec<(usize, String)>,
}

impl Resolved {
    pub fn has(&self, c: Col) -> bool {
        self.sources.contains_key(&c)
    }

    /// Whether the file column at `index` feeds a contract column.
    pub fn reads(&self, index: usize) -> bool {
        self.sources.values().any(|s| matches!(s, Source::Columns(idx) | Source::Sum(idx) if idx.contains(&index)))
    }

    /// The name to show for a column in messages: the file's own header.
    pub fn shown(&self, c: Col) -> String {
        self.header_of.get(&c).cloned().unwrap_or_else(|| c.name().to_string())
    }
}

/// Match headers to contract columns: explicit mapping first, then exact
/// contract names, then aliases. Duplicate targets and an ambiguous `ci` are
/// errors.
///
/// # Errors
/// [`IngestError::AmbiguousHeader`] or [`IngestError::Mapping`].
pub fn resolve_headers(path: &str, headers: &[String], mapping: &ColumnMapping) -> Result<Resolved, IngestError> {
    let norm: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    let mut res = Resolved::default();
    let mut used = vec![false; headers.len()];
    let find = |name: &str| norm.iter().position(|n| *n == normalise_header(name));

    for (target, list) in &mapping.coalesce {
        let col = Col::from_name(target).expect("validated mapping");
        let mut idx = Vec::new();
        for src in list {
            match find(src) {
                Some(i) => {
                    idx.push(i);
                    used[i] = true;
                }
                None => return Err(missing_mapped(path, src, headers)),
            }
        }
        res.header_of.insert(col, list.join("|"));
        res.sources.insert(col, Source::Columns(idx));
    }
    for (target, list) in &mapping.sum {
        let col = Col::from_name(target).expect("validated mapping");
        let mut idx = Vec::new();
        for src in list {
            let i = find(src).ok_or_else(|| missing_mapped(path, src, headers))?;
            idx.push(i);
            used[i] = true;
        }
        res.header_of.insert(col, list.join("+"));
        res.sources.insert(col, Source::Sum(idx));
    }
    for (src, target) in &mapping.columns {
        let col = Col::from_name(target).expect("validated mapping");
        let i = find(src).ok_or_else(|| missing_mapped(path, src, headers))?;
        if res.sources.contains_key(&col) {
            return Err(IngestError::AmbiguousHeader {
                path: path.into(),
                message: format!("two sources are mapped to '{}' (one is '{src}')", col.name()),
            });
        }
        used[i] = true;
        res.header_of.insert(col, headers[i].clone());
        res.sources.insert(col, Source::Columns(vec![i]));
    }

    // metafor convention: `ci` is the control-arm event count when `ai` is
    // there; otherwise it cannot be told from a confidence-interval column.
    let metafor_counts = norm.iter().any(|n| n == "ai");
    for (i, n) in norm.iter().enumerate() {
        if used[i] {
            continue;
        }
        let col = if n == "ci" {
            if metafor_counts {
                Some(Col::EventsC)
            } else {
                return Err(IngestError::AmbiguousHeader {
                    path: path.into(),
                    message: format!(
                        "column '{}' is ambiguous: in metafor's convention it counts control-arm events (with ai, bi/n1i, di/n2i), \
                         but this header has no 'ai'; it could also be a confidence-interval bound. \
                         Rename it to 'events_c', or to 'ci_lower'/'ci_upper', or use --map",
                        headers[i]
                    ),
                });
            }
        } else {
            named(n)
        };
        match col {
            Some(c) if res.sources.contains_key(&c) => {
                // A second header for a column already taken: keep it as pass-through.
                res.extra.push((i, headers[i].clone()));
            }
            Some(c) => {
                res.header_of.insert(c, headers[i].clone());
                res.sources.insert(c, Source::Columns(vec![i]));
            }
            None => res.extra.push((i, headers[i].clone())),
        }
    }
    for (target, value) in &mapping.constants {
        let col = Col::from_name(target).expect("validated mapping");
        res.sources.entry(col).or_insert_with(|| Source::Constant(value.clone()));
        res.header_of.entry(col).or_insert_with(|| format!("{} (constant)", col.name()));
    }
    Ok(res)
}

fn missing_mapped(path: &str, src: &str, headers: &[String]) -> IngestError {
    let hs: Vec<&str> = headers.iter().map(|s| s.as_str()).collect();
    let hint = did_you_mean(src, &hs).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
    IngestError::Mapping {
        path: path.into(),
        message: format!(
            "the mapping names column '{src}', which is not in the header{hint}; headers present: {}",
            hs.iter().map(|h| crate::model::shown(h)).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metafor_headers_resolve() {
        let r = resolve_headers("x", &h(&["study", "ai", "n1i", "ci", "n2i"]), &ColumnMapping::default()).unwrap();
        assert_eq!(r.sources[&Col::EventsC], Source::Columns(vec![3]));
        assert_eq!(r.sources[&Col::NT], Source::Columns(vec![2]));
        assert_eq!(r.sources[&Col::StudyId], Source::Columns(vec![0]));
        let r = resolve_headers("x", &h(&["id", "yi", "vi"]), &ColumnMapping::default()).unwrap();
        assert!(r.has(Col::Yi) && r.has(Col::Vi));
    }

    #[test]
    fn lone_ci_is_ambiguous() {
        let e = resolve_headers("x.csv", &h(&["effect_size", "ci"]), &ColumnMapping::default()).unwrap_err();
        assert!(e.to_string().contains("ambiguous"), "{e}");
    }

    #[test]
    fn dutch_headers() {
        let r = resolve_headers(
            "x",
            &h(&["Interventie", "Doelgroep", "Inkomensgroep", "Beoordeling"]),
            &ColumnMapping::default(),
        )
        .unwrap();
        for c in [Col::Intervention, Col::TargetGroup, Col::IncomeSetting, Col::Rating] {
            assert!(r.has(c), "{c:?}");
        }
    }

    #[test]
    fn dutch_export_headers_cover_the_contract() {
        // The headers of a Dutch export, as Excel users write them.
        let cases = [
            ("Standaardfout", Col::Se),
            ("Steekproefgrootte", Col::SampleSize),
            ("Risico op vertekening", Col::RiskOfBias),
            ("Maat", Col::Measure),
            ("Studie ID", Col::StudyId),
            ("Interventie", Col::Intervention),
            ("Strategie", Col::Strategy),
            ("Doelgroep", Col::TargetGroup),
            ("Inkomensgroep", Col::IncomeSetting),
            ("Land", Col::Country),
            ("Onderzoeksopzet", Col::Design),
            ("Jaar", Col::Year),
            ("Uitkomst", Col::Outcome),
            ("Uitkomstdomein", Col::OutcomeDomain),
            ("Primaire uitkomst", Col::Primary),
            ("Richting", Col::Direction),
            ("Schadelijk", Col::Harm),
            ("Beoordeling", Col::Rating),
            ("Effectgrootte", Col::EffectSize),
            ("Variantie", Col::Variance),
            ("Ondergrens", Col::CiLower),
            ("Bovengrens", Col::CiUpper),
            ("Bron", Col::Source),
            ("N interventie", Col::NT),
            ("Gemiddelde controle", Col::MeanC),
        ];
        let headers: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
        let r = resolve_headers("x", &headers, &ColumnMapping::default()).unwrap();
        assert!(r.extra.is_empty(), "{:?}", r.extra);
        for (i, (h, c)) in cases.iter().enumerate() {
            assert_eq!(r.sources.get(c), Some(&Source::Columns(vec![i])), "{h}");
        }
        assert_eq!(named("Effectmaat"), Some(Col::Measure));
        assert_eq!(named("Risico van vertekening"), Some(Col::RiskOfBias));
    }

    #[test]
    fn aliases_are_normalised_unique_and_not_contract_names() {
        let mut seen = std::collections::BTreeSet::new();
        for (a, _) in ALIASES {
            assert_eq!(normalise_header(a), *a, "alias {a} is never matched");
            assert!(seen.insert(*a), "alias {a} listed twice");
            assert!(Col::ALL.iter().all(|c| c.name() != *a), "alias {a} is a contract name");
        }
    }

    #[test]
    fn every_alias_is_documented() {
        let doc = include_str!("../../docs/input-format.md");
        let section = doc.split("## Header aliases").nth(1).expect("docs/input-format.md has a Header aliases section");
        for (a, c) in ALIASES {
            let row = format!("| `{}` |", c.name());
            let line =
                section.lines().find(|l| l.starts_with(&row)).unwrap_or_else(|| panic!("no row for {}", c.name()));
            assert!(line.contains(&format!("`{a}`")), "alias {a} of {} is not in docs/input-format.md", c.name());
        }
    }

    #[test]
    fn near_misses_name_the_column_they_probably_mean() {
        for (h, c) in [
            ("standard_eror", Col::Se),
            ("Standaardfuot", Col::Se),
            ("Std. Error", Col::Se),
            ("S.E.", Col::Se),
            ("effectsize", Col::EffectSize),
            ("sampel_size", Col::SampleSize),
            ("Risico op vertekenning", Col::RiskOfBias),
            ("outcome domian", Col::OutcomeDomain),
            ("interventon", Col::Intervention),
            ("C.I. lower", Col::CiLower),
        ] {
            assert_eq!(looks_like(h), Some(c), "{h}");
        }
        // Pass-through columns of the bundled sv-meta table, and short or
        // unrelated names, look like nothing.
        for h in [
            "paper_title",
            "publication_type",
            "mean_age",
            "n_c_pre",
            "n_t_post",
            "var_d",
            "ctrl_sd",
            "delay",
            "decade",
            "origin",
            "setting2",
            "ra",
            "notes",
            "sex",
            "age",
            "region",
            "sector",
            "rater",
            "line",
            "file",
            "income_derived",
            "domain_inferred",
            "n_items",
            "eff_type",
            "u_s_d",
            "author",
            "state",
        ] {
            assert_eq!(looks_like(h), None, "{h}");
        }
    }

    #[test]
    fn header_warnings_for_near_misses_and_second_names() {
        let r = resolve_headers(
            "x",
            &h(&["intervention", "se", "standard_error", "sampel_size", "standard_eror", "notes"]),
            &ColumnMapping::default(),
        )
        .unwrap();
        assert_eq!(
            header_warnings(&r),
            [
                "column 'standard_error' also names 'se', which is read from 'se'; 'standard_error' is passed through, not read",
                "column 'sampel_size' is not part of the contract and is passed through; did you mean 'sample_size'? \
                 (rename it, or map it with --map \"sampel_size=sample_size\")",
            ]
        );
    }

    #[test]
    fn mapping_and_unknown_target() {
        let mut m = ColumnMapping::default();
        m.add_pair("Programme name=intervention").unwrap();
        let r = resolve_headers("x", &h(&["programme name", "other"]), &m).unwrap();
        assert_eq!(r.sources[&Col::Intervention], Source::Columns(vec![0]));
        assert_eq!(r.extra, vec![(1, "other".to_string())]);
        let e = m.add_pair("x=interventoin").unwrap_err();
        assert!(e.to_string().contains("did you mean 'intervention'"), "{e}");
    }
}

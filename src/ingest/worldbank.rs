//! Income setting derived from country and study year, using the bundled
//! World Bank historical classification (OGHIST, FY1989-FY2026, CC BY 4.0;
//! see `datasets/worldbank/README.md`).
//!
//! Convention: a study run in calendar year Y is classified by its income in
//! year Y, i.e. fiscal year Y + 2 (data year Y). Years outside the table use
//! the nearest fiscal year with a classification; rows without a year use the
//! latest classification (FY2026). Both are reported as warnings.

use crate::model::{did_you_mean, normalise_label, IncomeSetting};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../datasets/worldbank/income_groups_history.csv");
pub const FIRST_FY: i32 = 1989;
pub const LAST_FY: i32 = 2026;

struct Wb {
    /// iso3 -> (index 0 = FY1989) group
    groups: HashMap<String, Vec<Option<IncomeSetting>>>,
    /// normalised name or alias -> iso3
    names: HashMap<String, String>,
    display_names: Vec<String>,
}

fn wb() -> &'static Wb {
    static WB: OnceLock<Wb> = OnceLock::new();
    WB.get_or_init(|| {
        let mut groups: HashMap<String, Vec<Option<IncomeSetting>>> = HashMap::new();
        let mut names = HashMap::new();
        let mut display_names = Vec::new();
        let mut rdr = csv::Reader::from_reader(TABLE.as_bytes());
        for rec in rdr.records() {
            let rec = rec.expect("bundled World Bank table is valid CSV");
            let iso3 = rec[0].to_string();
            let fy: i32 = rec[2].parse().expect("bundled fiscal year");
            let g = if rec[4].is_empty() { None } else { IncomeSetting::parse(&rec[4]).ok() };
            let v = groups.entry(iso3.clone()).or_insert_with(|| vec![None; (LAST_FY - FIRST_FY + 1) as usize]);
            v[(fy - FIRST_FY) as usize] = g;
            let key = country_key(&rec[1]);
            if let Entry::Vacant(e) = names.entry(key) {
                display_names.push(rec[1].to_string());
                e.insert(iso3);
            }
        }
        for (alias, iso3) in COUNTRY_ALIASES {
            names.insert(country_key(alias), iso3.to_string());
        }
        Wb { groups, names, display_names }
    })
}

/// Common English names that differ from the World Bank's spelling.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("USA", "USA"),
    ("US", "USA"),
    ("United States of America", "USA"),
    ("UK", "GBR"),
    ("Great Britain", "GBR"),
    ("England", "GBR"),
    ("Scotland", "GBR"),
    ("Wales", "GBR"),
    ("Northern Ireland", "GBR"),
    ("Ivory Coast", "CIV"),
    ("Cote d'Ivoire", "CIV"),
    ("Turkey", "TUR"),
    ("Vietnam", "VNM"),
    ("Russia", "RUS"),
    ("South Korea", "KOR"),
    ("Korea", "KOR"),
    ("Iran", "IRN"),
    ("Egypt", "EGY"),
    ("Czech Republic", "CZE"),
    ("Slovakia", "SVK"),
    ("Kyrgyzstan", "KGZ"),
    ("Laos", "LAO"),
    ("Syria", "SYR"),
    ("Gambia", "GMB"),
    ("The Gambia", "GMB"),
    ("Bahamas", "BHS"),
    ("DR Congo", "COD"),
    ("DRC", "COD"),
    ("Democratic Republic of the Congo", "COD"),
    ("Republic of the Congo", "COG"),
    ("Swaziland", "SWZ"),
    ("Palestine", "PSE"),
    ("Hong Kong", "HKG"),
    ("Saint Lucia", "LCA"),
    ("Macedonia", "MKD"),
    ("Cape Verde", "CPV"),
    ("East Timor", "TLS"),
    ("Micronesia", "FSM"),
    ("Yemen", "YEM"),
    ("Venezuela", "VEN"),
];

fn country_key(s: &str) -> String {
    let n = normalise_label(s).replace("st.", "saint").replace('.', "");
    n.replace(['\'', ','], "").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A country resolved to its World Bank code.
pub fn country_code(s: &str) -> Result<String, String> {
    let t = s.trim();
    let w = wb();
    if t.len() == 3 && w.groups.contains_key(&t.to_ascii_uppercase()) {
        return Ok(t.to_ascii_uppercase());
    }
    if let Some(iso) = w.names.get(&country_key(t)) {
        return Ok(iso.clone());
    }
    let names: Vec<&str> = w.display_names.iter().map(|s| s.as_str()).collect();
    let hint = did_you_mean(t, &names).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
    Err(format!(
        "unknown country '{t}'; expected an ISO3 code or an English country name as the World Bank spells it{hint}"
    ))
}

/// Outcome of a lookup, with a note when a fallback year was used.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub setting: IncomeSetting,
    pub fiscal_year: i32,
    pub note: Option<String>,
}

/// Classify `iso3` for a study year (`None`: latest classification).
pub fn classify(iso3: &str, study_year: Option<i32>) -> Result<Classified, String> {
    let w = wb();
    let hist = w.groups.get(iso3).ok_or_else(|| format!("country code '{iso3}' is not in the World Bank table"))?;
    let wanted = study_year.map_or(LAST_FY, |y| y + 2);
    let clamped = wanted.clamp(FIRST_FY, LAST_FY);
    let mut note = match study_year {
        None => Some(format!("no study year; used the latest classification (FY{LAST_FY})")),
        Some(y) if clamped != wanted => Some(format!("study year {y} is outside the table; used FY{clamped}")),
        _ => None,
    };
    let at = |fy: i32| hist[(fy - FIRST_FY) as usize];
    if let Some(g) = at(clamped) {
        return Ok(Classified { setting: g, fiscal_year: clamped, note });
    }
    // Nearest classified fiscal year, preferring the earlier one on ties.
    for d in 1..=(LAST_FY - FIRST_FY) {
        for fy in [clamped - d, clamped + d] {
            if (FIRST_FY..=LAST_FY).contains(&fy) {
                if let Some(g) = at(fy) {
                    note = Some(format!(
                        "{iso3} is unclassified in FY{clamped}; used FY{fy}, the nearest classified year"
                    ));
                    return Ok(Classified { setting: g, fiscal_year: fy, note });
                }
            }
        }
    }
    Err(format!("{iso3} has no income classification in any year of the table"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncomeSetting::*;

    #[test]
    fn spot_checks_from_the_readme() {
        // datasets/worldbank/README.md spot-check table (FY columns).
        assert_eq!(classify("KEN", Some(2013)).unwrap().setting, Lic); // FY2015
        assert_eq!(classify("KEN", Some(2014)).unwrap().setting, Lmc); // FY2016
        assert_eq!(classify("UGA", Some(2019)).unwrap().setting, Lic);
        assert_eq!(classify("BRA", Some(2008)).unwrap().setting, Umc);
        assert_eq!(classify("USA", None).unwrap().setting, Hic);
        assert_eq!(classify("IND", Some(2018)).unwrap().setting, Lmc);
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(country_code("Kenya").unwrap(), "KEN");
        assert_eq!(country_code("ken").unwrap(), "KEN");
        assert_eq!(country_code("Côte d'Ivoire").unwrap(), "CIV");
        assert_eq!(country_code("St. Lucia").unwrap(), "LCA");
        assert_eq!(country_code("Scotland").unwrap(), "GBR");
        assert_eq!(country_code("Congo, Dem. Rep.").unwrap(), "COD");
        assert!(country_code("Kenia").unwrap_err().contains("did you mean 'Kenya'"));
    }

    #[test]
    fn fallbacks_are_noted() {
        let c = classify("VEN", Some(2023)).unwrap(); // FY2025 unclassified
        assert!(c.note.unwrap().contains("nearest"));
        assert_eq!(c.fiscal_year, 2021);
        let c = classify("KEN", Some(1960)).unwrap();
        assert_eq!(c.fiscal_year, FIRST_FY);
        assert!(c.note.is_some());
    }
}

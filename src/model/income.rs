//! World Bank income groups.

use super::{normalise_label, VocabError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// World Bank analytical income group. Ordered from low to high income.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IncomeSetting {
    #[serde(rename = "LIC")]
    Lic,
    #[serde(rename = "LMC")]
    Lmc,
    #[serde(rename = "UMC")]
    Umc,
    #[serde(rename = "HIC")]
    Hic,
}

const ALIASES: &[(&str, IncomeSetting)] = &[
    ("lic", IncomeSetting::Lic),
    ("l", IncomeSetting::Lic),
    ("low", IncomeSetting::Lic),
    ("low income", IncomeSetting::Lic),
    ("low income country", IncomeSetting::Lic),
    ("low income countries", IncomeSetting::Lic),
    ("lage inkomens", IncomeSetting::Lic),
    ("laag inkomen", IncomeSetting::Lic),
    ("lage inkomenslanden", IncomeSetting::Lic),
    ("lmc", IncomeSetting::Lmc),
    ("lm", IncomeSetting::Lmc),
    ("lower middle income", IncomeSetting::Lmc),
    ("lower middle", IncomeSetting::Lmc),
    ("lower middle income country", IncomeSetting::Lmc),
    ("lager middeninkomen", IncomeSetting::Lmc),
    ("lage middeninkomens", IncomeSetting::Lmc),
    ("lager midden inkomen", IncomeSetting::Lmc),
    ("umc", IncomeSetting::Umc),
    ("umic", IncomeSetting::Umc),
    ("um", IncomeSetting::Umc),
    ("upper middle income", IncomeSetting::Umc),
    ("upper middle", IncomeSetting::Umc),
    ("upper middle income country", IncomeSetting::Umc),
    ("hoger middeninkomen", IncomeSetting::Umc),
    ("hoge middeninkomens", IncomeSetting::Umc),
    ("hoger midden inkomen", IncomeSetting::Umc),
    ("hic", IncomeSetting::Hic),
    ("h", IncomeSetting::Hic),
    ("high", IncomeSetting::Hic),
    ("high income", IncomeSetting::Hic),
    ("high income country", IncomeSetting::Hic),
    ("high income countries", IncomeSetting::Hic),
    ("hoge inkomens", IncomeSetting::Hic),
    ("hoog inkomen", IncomeSetting::Hic),
    ("hoge inkomenslanden", IncomeSetting::Hic),
];

/// Labels for "low- and middle-income" as one group (normalised): World
/// Bank and UNICEF usage covers LIC, LMC and UMC, so no one income group
/// can be read from them; refused with a suggestion.
const LOW_AND_MIDDLE: &[&str] = &[
    "lmic",
    "lmics",
    "lamic",
    "lamics",
    "low and middle income",
    "low and middle income country",
    "low and middle income countries",
    "low and middle",
    "low or middle income",
    "low or middle income countries",
    "low/middle income",
    "lage en middeninkomens",
    "lage en middeninkomenslanden",
    "lage en midden inkomens",
];

/// Why "LMIC" is refused, and what to give instead.
pub const LMIC_REFUSAL: &str =
    "'LMIC' means low- and middle-income (LIC, LMC and UMC) in World Bank and UNICEF usage; \
     give the country, or one of LIC, LMC, UMC, HIC (for lower-middle income: LMC)";

impl IncomeSetting {
    pub const ALL: [IncomeSetting; 4] =
        [IncomeSetting::Lic, IncomeSetting::Lmc, IncomeSetting::Umc, IncomeSetting::Hic];

    pub fn key(self) -> &'static str {
        match self {
            IncomeSetting::Lic => "LIC",
            IncomeSetting::Lmc => "LMC",
            IncomeSetting::Umc => "UMC",
            IncomeSetting::Hic => "HIC",
        }
    }

    /// Position on the income ladder (LIC = 0 ... HIC = 3).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parse a code or an English / Dutch label ("LMC", "upper middle-income",
    /// "lage inkomens").
    ///
    /// # Errors
    /// [`VocabError`] with a suggestion for unknown labels; "LMIC" and the
    /// other labels for low- and middle-income as one group are refused as
    /// ambiguous ([`LMIC_REFUSAL`]).
    ///
    /// # Examples
    /// ```
    /// use evidex::model::IncomeSetting;
    /// assert_eq!(IncomeSetting::parse("Upper middle-income").unwrap(), IncomeSetting::Umc);
    /// assert_eq!(IncomeSetting::parse("lower-middle income").unwrap(), IncomeSetting::Lmc);
    /// assert!(IncomeSetting::parse("LMIC").unwrap_err().to_string().contains("LIC, LMC and UMC"));
    /// ```
    pub fn parse(s: &str) -> Result<IncomeSetting, VocabError> {
        if let Some(v) = IncomeSetting::ALL.iter().find(|v| v.key() == s) {
            return Ok(*v);
        }
        let n = normalise_label(s);
        for (label, v) in ALIASES {
            if n == *label {
                return Ok(*v);
            }
        }
        let keys: Vec<&str> = IncomeSetting::ALL.iter().map(|i| i.key()).collect();
        if LOW_AND_MIDDLE.contains(&n.as_str()) {
            return Err(VocabError {
                value: s.to_string(),
                allowed: keys.join(", "),
                suggestion: None,
                refused: Some(format!("ambiguous: {LMIC_REFUSAL}")),
            });
        }
        let labels: Vec<&str> = ALIASES.iter().map(|a| a.0).collect();
        let mut e = VocabError::new(s, &keys, &labels);
        // Suggest the code, not the alias that happened to be closest.
        if let Some(sug) = &e.suggestion {
            if let Some((_, v)) = ALIASES.iter().find(|a| a.0 == sug) {
                e.suggestion = Some(if sug.eq_ignore_ascii_case(v.key()) {
                    v.key().to_string()
                } else {
                    format!("{} ({})", sug, v.key())
                });
            }
        }
        Err(e)
    }
}

impl fmt::Display for IncomeSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncomeSetting::*;

    #[test]
    fn aliases() {
        for (s, v) in [
            ("LIC", Lic),
            ("low income", Lic),
            ("Low-income", Lic),
            ("lage inkomens", Lic),
            ("lmc", Lmc),
            ("lower-middle income", Lmc),
            ("Lower middle-income", Lmc),
            ("UMIC", Umc),
            ("upper middle-income", Umc),
            ("Upper-middle income", Umc),
            ("hic", Hic),
            ("high-income", Hic),
            ("High income", Hic),
            ("hoge inkomens", Hic),
        ] {
            assert_eq!(IncomeSetting::parse(s).unwrap(), v, "{s}");
        }
    }

    #[test]
    fn low_and_middle_income_as_one_group_is_refused() {
        for s in ["LMIC", "lmic", "LMICs", "low- and middle-income", "Low and middle income countries"] {
            let e = IncomeSetting::parse(s).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "value '{s}': ambiguous: 'LMIC' means low- and middle-income (LIC, LMC and UMC) in World Bank and UNICEF \
                     usage; give the country, or one of LIC, LMC, UMC, HIC (for lower-middle income: LMC)"
                ),
                "{s}"
            );
            assert_eq!(e.suggestion, None, "{s}: no single group to suggest");
        }
        // The single groups stay readable.
        assert_eq!(IncomeSetting::parse("lower middle income").unwrap(), Lmc);
        assert_eq!(IncomeSetting::parse("LMC").unwrap(), Lmc);
    }

    #[test]
    fn unknown_suggests() {
        let e = IncomeSetting::parse("lowe income").unwrap_err();
        assert!(e.suggestion.unwrap().contains("LIC"));
        // An alias that is the code itself in lower case is suggested as the code.
        assert_eq!(IncomeSetting::parse("LICX").unwrap_err().suggestion.as_deref(), Some("LIC"));
        assert!(IncomeSetting::parse("middle").is_err());
    }
}

//! What a finding measured (its outcome domain) and which way its effect
//! is good (its direction). docs/scoring.md section 1 and 3.

use super::{normalise_label, VocabError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The outcome domain of a finding, in tier order (`Ord`: the headline
/// verdict rests on the smallest domain with rigorous evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeDomain {
    /// Victimisation, perpetration, exploitation, abuse incidence.
    Violence,
    /// Protective behaviour: bystander action, help-seeking, disclosure.
    Behaviour,
    /// Any other outcome (and findings without an outcome).
    Other,
    /// Knowledge, attitudes, beliefs, norms, skills, intentions.
    RiskFactor,
}

const DOMAIN_ALIASES: &[(&str, OutcomeDomain)] = &[
    ("violence", OutcomeDomain::Violence),
    ("violence outcome", OutcomeDomain::Violence),
    ("victimisation", OutcomeDomain::Violence),
    ("victimization", OutcomeDomain::Violence),
    ("perpetration", OutcomeDomain::Violence),
    ("abuse", OutcomeDomain::Violence),
    ("exploitation", OutcomeDomain::Violence),
    ("incidence", OutcomeDomain::Violence),
    ("geweld", OutcomeDomain::Violence),
    ("behaviour", OutcomeDomain::Behaviour),
    ("behavior", OutcomeDomain::Behaviour),
    ("protective behaviour", OutcomeDomain::Behaviour),
    ("protective behavior", OutcomeDomain::Behaviour),
    ("bystander", OutcomeDomain::Behaviour),
    ("bystander behaviour", OutcomeDomain::Behaviour),
    ("bystander behavior", OutcomeDomain::Behaviour),
    ("help seeking", OutcomeDomain::Behaviour),
    ("disclosure", OutcomeDomain::Behaviour),
    ("gedrag", OutcomeDomain::Behaviour),
    ("risk factor", OutcomeDomain::RiskFactor),
    ("risk factors", OutcomeDomain::RiskFactor),
    ("risk/protective factor", OutcomeDomain::RiskFactor),
    ("risk/protective factors", OutcomeDomain::RiskFactor),
    ("protective factor", OutcomeDomain::RiskFactor),
    ("protective factors", OutcomeDomain::RiskFactor),
    ("ideas", OutcomeDomain::RiskFactor),
    ("knowledge", OutcomeDomain::RiskFactor),
    ("attitudes", OutcomeDomain::RiskFactor),
    ("risicofactor", OutcomeDomain::RiskFactor),
    ("risicofactoren", OutcomeDomain::RiskFactor),
    ("beschermende factor", OutcomeDomain::RiskFactor),
    ("beschermende factoren", OutcomeDomain::RiskFactor),
    ("other", OutcomeDomain::Other),
    ("overig", OutcomeDomain::Other),
    ("overige", OutcomeDomain::Other),
    ("anders", OutcomeDomain::Other),
];

/// Word starts that put an outcome text in a domain, checked in this order
/// of domains (docs/scoring.md section 1): an attitude about violence is an
/// attitude.
const INFER: &[(OutcomeDomain, &[&str])] = &[
    (
        OutcomeDomain::RiskFactor,
        &[
            "knowledge",
            "attitud",
            "belief",
            "norm",
            "myth",
            "intention",
            "intent",
            "awareness",
            "skill",
            "self efficacy",
            "self-efficacy",
            "empathy",
            "perception",
            "ideas",
            "kennis",
            "houding",
            "overtuiging",
            "intentie",
            "vaardigheid",
            "bewustzijn",
        ],
    ),
    (
        OutcomeDomain::Behaviour,
        &[
            "bystander",
            "help seeking",
            "help-seeking",
            "helpseeking",
            "disclosure",
            "reporting",
            "protective behav",
            "behaviour",
            "behavior",
            "involvement",
            "intervening",
            "gedrag",
            "melden",
            "melding",
            "hulp zoeken",
            "omstander",
        ],
    ),
    (
        OutcomeDomain::Violence,
        &[
            "violence",
            "victimisation",
            "victimization",
            "victimi",
            "perpetration",
            "abuse",
            "assault",
            "rape",
            "exploitation",
            "maltreatment",
            "harassment",
            "coercion",
            "trafficking",
            "incidence",
            "harsh parenting",
            "corporal punishment",
            "physical punishment",
            "violent discipline",
            "geweld",
            "misbruik",
            "uitbuiting",
            "mishandeling",
            "slachtoffer",
            "dader",
        ],
    ),
];

impl OutcomeDomain {
    /// In tier order.
    pub const ALL: [OutcomeDomain; 4] =
        [OutcomeDomain::Violence, OutcomeDomain::Behaviour, OutcomeDomain::Other, OutcomeDomain::RiskFactor];

    pub fn key(self) -> &'static str {
        match self {
            OutcomeDomain::Violence => "violence",
            OutcomeDomain::Behaviour => "behaviour",
            OutcomeDomain::Other => "other",
            OutcomeDomain::RiskFactor => "risk_factor",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            OutcomeDomain::Violence => "violence",
            OutcomeDomain::Behaviour => "behaviour",
            OutcomeDomain::Other => "other outcomes",
            OutcomeDomain::RiskFactor => "risk factors",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Parse an `outcome_domain` cell (English and Dutch aliases).
    ///
    /// # Errors
    /// [`VocabError`] with a suggestion.
    pub fn parse(s: &str) -> Result<OutcomeDomain, VocabError> {
        if let Some(v) = OutcomeDomain::ALL.iter().find(|v| v.key() == s) {
            return Ok(*v);
        }
        let n = normalise_label(s);
        if let Some((_, v)) = DOMAIN_ALIASES.iter().find(|(a, _)| normalise_label(a) == n) {
            return Ok(*v);
        }
        if let Some(v) = OutcomeDomain::ALL.iter().find(|v| normalise_label(v.key()) == n) {
            return Ok(*v);
        }
        let keys: Vec<&str> = OutcomeDomain::ALL.iter().map(|d| d.key()).collect();
        let labels: Vec<&str> = keys.iter().copied().chain(DOMAIN_ALIASES.iter().map(|a| a.0)).collect();
        Err(VocabError::new(s, &keys, &labels))
    }

    /// The domain an outcome text names (docs/scoring.md section 1): the
    /// first domain, in the order risk factor, behaviour, violence, with a
    /// word starting like one of its entries; else `Other`.
    pub fn infer(outcome: &str) -> OutcomeDomain {
        let text = outcome.to_lowercase();
        for (domain, words) in INFER {
            if words.iter().any(|w| starts_a_word(&text, w)) {
                return *domain;
            }
        }
        OutcomeDomain::Other
    }
}

/// Whether `needle` occurs in `text` at the start of a word.
fn starts_a_word(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| i == 0 || !text[..i].chars().next_back().is_some_and(char::is_alphanumeric))
}

impl fmt::Display for OutcomeDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Which way a finding's effect is beneficial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

impl Direction {
    pub fn key(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
        }
    }

    /// +1 or -1: multiplies an effect so that positive means benefit.
    pub fn sign(self) -> f64 {
        match self {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        }
    }

    /// Parse a `direction` cell.
    ///
    /// # Errors
    /// [`VocabError`] with a suggestion.
    pub fn parse(s: &str) -> Result<Direction, VocabError> {
        // Signs first: label normalisation treats '-' as a separator.
        match s.trim() {
            "+" | "+1" | "1" => return Ok(Direction::HigherIsBetter),
            "-" | "-1" => return Ok(Direction::LowerIsBetter),
            _ => {}
        }
        let v = match normalise_label(s).as_str() {
            "higher is better" | "higher" | "higher better" | "up" | "increase" | "hoger is beter" | "hoger" => {
                Direction::HigherIsBetter
            }
            "lower is better" | "lower" | "lower better" | "down" | "decrease" | "lager is beter" | "lager" => {
                Direction::LowerIsBetter
            }
            _ => {
                let keys = ["higher_is_better", "lower_is_better"];
                return Err(VocabError::new(
                    s,
                    &keys,
                    &[
                        "higher_is_better",
                        "lower_is_better",
                        "higher is better",
                        "lower is better",
                        "increase",
                        "decrease",
                    ],
                ));
            }
        };
        Ok(v)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_parse_with_aliases() {
        assert_eq!(OutcomeDomain::parse("violence").unwrap(), OutcomeDomain::Violence);
        assert_eq!(OutcomeDomain::parse("Risk factor").unwrap(), OutcomeDomain::RiskFactor);
        assert_eq!(OutcomeDomain::parse("risk_factor").unwrap(), OutcomeDomain::RiskFactor);
        assert_eq!(OutcomeDomain::parse("Behavior").unwrap(), OutcomeDomain::Behaviour);
        assert_eq!(OutcomeDomain::parse("gedrag").unwrap(), OutcomeDomain::Behaviour);
        assert_eq!(OutcomeDomain::parse("Risicofactoren").unwrap(), OutcomeDomain::RiskFactor);
        assert_eq!(OutcomeDomain::parse("overig").unwrap(), OutcomeDomain::Other);
        assert_eq!(OutcomeDomain::parse("violnce").unwrap_err().suggestion.as_deref(), Some("violence"));
    }

    #[test]
    fn domains_inferred_from_outcome_text() {
        let cases = [
            ("knowledge of body safety", OutcomeDomain::RiskFactor),
            ("attitudes to gender norms", OutcomeDomain::RiskFactor),
            ("attitudes towards violence", OutcomeDomain::RiskFactor),
            ("rape myth acceptance", OutcomeDomain::RiskFactor),
            ("ideas", OutcomeDomain::RiskFactor),
            ("bystander intentions", OutcomeDomain::RiskFactor),
            ("disclosure", OutcomeDomain::Behaviour),
            ("help-seeking", OutcomeDomain::Behaviour),
            ("Bystander", OutcomeDomain::Behaviour),
            ("Involvement", OutcomeDomain::Behaviour),
            ("sexual violence victimisation", OutcomeDomain::Violence),
            ("dating violence perpetration", OutcomeDomain::Violence),
            ("Perpetration", OutcomeDomain::Violence),
            ("Victimization", OutcomeDomain::Violence),
            ("harsh parenting", OutcomeDomain::Violence),
            ("PTSD symptoms", OutcomeDomain::Other),
            ("school attendance", OutcomeDomain::Other),
            // A word start, not any substring: "abnormal" holds "norm".
            ("abnormal bleeding", OutcomeDomain::Other),
            ("kennis over veiligheid", OutcomeDomain::RiskFactor),
            ("seksueel geweld", OutcomeDomain::Violence),
        ];
        for (text, d) in cases {
            assert_eq!(OutcomeDomain::infer(text), d, "{text}");
        }
    }

    #[test]
    fn directions() {
        assert_eq!(Direction::parse("lower_is_better").unwrap(), Direction::LowerIsBetter);
        assert_eq!(Direction::parse("Lower is better").unwrap(), Direction::LowerIsBetter);
        assert_eq!(Direction::parse("higher").unwrap(), Direction::HigherIsBetter);
        assert_eq!(Direction::parse("-1").unwrap(), Direction::LowerIsBetter);
        assert_eq!(Direction::parse("lager is beter").unwrap(), Direction::LowerIsBetter);
        assert!(Direction::parse("sideways").is_err());
        assert_eq!(Direction::LowerIsBetter.sign(), -1.0);
    }
}

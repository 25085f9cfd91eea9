//! The seven INSPIRE strategies (WHO et al., 2016).

use super::{normalise_label, VocabError};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Laws,
    Norms,
    SafeEnvironments,
    ParentSupport,
    Economic,
    ResponseServices,
    EducationLifeSkills,
}

const STRATEGY_ALIASES: &[(&str, Strategy)] = &[
    ("implementation and enforcement of laws", Strategy::Laws),
    ("laws", Strategy::Laws),
    ("wetgeving", Strategy::Laws),
    ("norms and values", Strategy::Norms),
    ("norms", Strategy::Norms),
    ("n", Strategy::Norms),
    ("normen en waarden", Strategy::Norms),
    ("safe environments", Strategy::SafeEnvironments),
    ("s", Strategy::SafeEnvironments),
    ("veilige omgevingen", Strategy::SafeEnvironments),
    ("parent and caregiver support", Strategy::ParentSupport),
    ("parent support", Strategy::ParentSupport),
    ("parenting", Strategy::ParentSupport),
    ("p", Strategy::ParentSupport),
    ("ouderondersteuning", Strategy::ParentSupport),
    ("income and economic strengthening", Strategy::Economic),
    ("economic", Strategy::Economic),
    ("economic strengthening", Strategy::Economic),
    ("economische versterking", Strategy::Economic),
    ("response and support services", Strategy::ResponseServices),
    ("response services", Strategy::ResponseServices),
    ("r", Strategy::ResponseServices),
    ("hulpverlening", Strategy::ResponseServices),
    ("education and life skills", Strategy::EducationLifeSkills),
    ("education life skills", Strategy::EducationLifeSkills),
    ("education", Strategy::EducationLifeSkills),
    ("e", Strategy::EducationLifeSkills),
    ("life skills", Strategy::EducationLifeSkills),
    ("onderwijs en levensvaardigheden", Strategy::EducationLifeSkills),
];

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::Laws,
        Strategy::Norms,
        Strategy::SafeEnvironments,
        Strategy::ParentSupport,
        Strategy::Economic,
        Strategy::ResponseServices,
        Strategy::EducationLifeSkills,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Strategy::Laws => "laws",
            Strategy::Norms => "norms",
            Strategy::SafeEnvironments => "safe_environments",
            Strategy::ParentSupport => "parent_support",
            Strategy::Economic => "economic",
            Strategy::ResponseServices => "response_services",
            Strategy::EducationLifeSkills => "education_life_skills",
        }
    }

    /// Human-readable INSPIRE name.
    pub fn title(self) -> &'static str {
        match self {
            Strategy::Laws => "Implementation and enforcement of laws",
            Strategy::Norms => "Norms and values",
            Strategy::SafeEnvironments => "Safe environments",
            Strategy::ParentSupport => "Parent and caregiver support",
            Strategy::Economic => "Income and economic strengthening",
            Strategy::ResponseServices => "Response and support services",
            Strategy::EducationLifeSkills => "Education and life skills",
        }
    }

    /// # Errors
    /// [`VocabError`] with a suggestion.
    pub fn parse(s: &str) -> Result<Strategy, VocabError> {
        if let Some(v) = Strategy::ALL.iter().find(|v| v.key() == s) {
            return Ok(*v);
        }
        let n = normalise_label(s);
        for v in Strategy::ALL {
            if n == normalise_label(v.key()) {
                return Ok(v);
            }
        }
        for (label, v) in STRATEGY_ALIASES {
            if n == *label {
                return Ok(*v);
            }
        }
        let keys: Vec<&str> = Strategy::ALL.iter().map(|d| d.key()).collect();
        if n == "i" {
            // INSPIRE has two I's: Implementation and enforcement of laws,
            // and Income and economic strengthening.
            let mut e = VocabError::new(s, &keys, &[]);
            e.refused = Some(
                "ambiguous: INSPIRE has two I strategies; give 'laws' (implementation and enforcement of laws) or 'economic' (income and economic strengthening)"
                    .into(),
            );
            return Err(e);
        }
        let labels: Vec<&str> =
            keys.iter().copied().chain(STRATEGY_ALIASES.iter().map(|a| a.0).filter(|l| l.len() > 1)).collect();
        Err(VocabError::new(s, &keys, &labels))
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_titles_and_letters() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.key()).unwrap(), s);
            assert_eq!(Strategy::parse(s.title()).unwrap(), s);
        }
        // INSPIRE: I-N-S-P-I-R-E; E is education and life skills, and the
        // two I's (laws; income and economic strengthening) are refused.
        assert_eq!(Strategy::parse("E").unwrap(), Strategy::EducationLifeSkills);
        for (letter, s) in [
            ("N", Strategy::Norms),
            ("S", Strategy::SafeEnvironments),
            ("P", Strategy::ParentSupport),
            ("R", Strategy::ResponseServices),
        ] {
            assert_eq!(Strategy::parse(letter).unwrap(), s);
        }
        let e = Strategy::parse("I").unwrap_err();
        assert!(
            e.to_string().contains("ambiguous")
                && e.to_string().contains("'laws'")
                && e.to_string().contains("'economic'"),
            "{e}"
        );
        assert_eq!(Strategy::parse("safe-environments").unwrap(), Strategy::SafeEnvironments);
        assert_eq!(Strategy::parse("parnet_support").unwrap_err().suggestion.as_deref(), Some("parent_support"));
    }
}

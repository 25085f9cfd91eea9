//! Target groups: an open vocabulary, normalised for matching.

use super::normalise_label;
use serde::{Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};

/// A target group. `key` (trimmed, case-folded, separators unified) is used
/// for matching and grouping; `display` keeps the first spelling seen.
/// Equality and hashing use the key only.
#[derive(Debug, Clone, Eq)]
pub struct TargetGroup {
    key: String,
    display: String,
}

impl TargetGroup {
    /// Returns `None` for an empty or blank label.
    pub fn new(s: &str) -> Option<TargetGroup> {
        let key = normalise_label(s);
        if key.is_empty() {
            return None;
        }
        let display = s.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(TargetGroup { key, display })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// Same key, other spelling: used to show one canonical spelling per key.
    pub fn with_display(&self, display: &str) -> TargetGroup {
        TargetGroup { key: self.key.clone(), display: display.to_string() }
    }
}

impl PartialEq for TargetGroup {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Hash for TargetGroup {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for TargetGroup {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TargetGroup {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for TargetGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl Serialize for TargetGroup {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_match_by_key() {
        let a = TargetGroup::new("Adolescent  Girls ").unwrap();
        let b = TargetGroup::new("adolescent girls").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.display(), "Adolescent Girls");
        assert_eq!(a.key(), "adolescent girls");
        assert!(TargetGroup::new("   ").is_none());
    }
}

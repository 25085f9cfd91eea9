//! How a study assigned participants to conditions: individually, or in
//! clusters (schools, classes, communities), and whether a clustered
//! study's analysis accounted for it. The scoring model uses it with the
//! number of clusters for the design effect (docs/scoring.md).

use super::{normalise_label, VocabError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Unit of assignment of a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Participants assigned one by one (also: assigned individually but
    /// treated in groups).
    Individual,
    /// Clusters assigned, analysed as if individuals had been (the standard
    /// error is too small until corrected).
    Cluster,
    /// Clusters assigned, and the analysis accounts for it (multilevel model,
    /// cluster-robust errors, or cluster-level analysis).
    ClusterAdjusted,
}

const ALIASES: &[(&str, Assignment)] = &[
    ("individual", Assignment::Individual),
    ("individually", Assignment::Individual),
    ("individually randomised", Assignment::Individual),
    ("individually randomized", Assignment::Individual),
    ("individually assigned", Assignment::Individual),
    ("individual randomisation", Assignment::Individual),
    ("individual randomization", Assignment::Individual),
    // sv-meta: assigned individually, treated in groups.
    ("n groups", Assignment::Individual),
    ("individueel", Assignment::Individual),
    ("cluster", Assignment::Cluster),
    ("clustered", Assignment::Cluster),
    ("cluster randomized", Assignment::Cluster),
    ("cluster randomised", Assignment::Cluster),
    ("cluster assigned", Assignment::Cluster),
    ("cluster rct", Assignment::Cluster),
    ("cluster randomized trial", Assignment::Cluster),
    ("cluster randomised trial", Assignment::Cluster),
    ("cluster adjusted", Assignment::ClusterAdjusted),
    ("cluster analysed", Assignment::ClusterAdjusted),
    ("cluster analyzed", Assignment::ClusterAdjusted),
];

impl Assignment {
    pub const ALL: [Assignment; 3] = [Assignment::Individual, Assignment::Cluster, Assignment::ClusterAdjusted];

    /// Canonical key, as written in outputs.
    pub fn key(self) -> &'static str {
        match self {
            Assignment::Individual => "individual",
            Assignment::Cluster => "cluster",
            Assignment::ClusterAdjusted => "cluster_adjusted",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Assignment::Individual => "individually assigned",
            Assignment::Cluster => "cluster-assigned, analysed by individual",
            Assignment::ClusterAdjusted => "cluster-assigned, analysis adjusted for clustering",
        }
    }

    /// Clusters were assigned (adjusted or not).
    pub fn is_clustered(self) -> bool {
        self != Assignment::Individual
    }

    /// Parse a key or an alias (English, Dutch, sv-meta's `cluster_type`
    /// wording); case, spaces, `_` and `-` do not matter.
    ///
    /// # Errors
    /// [`VocabError`] naming the keys, with the closest label suggested.
    ///
    /// # Examples
    /// ```
    /// use evidex::model::Assignment;
    /// assert_eq!(Assignment::parse("cluster randomized").unwrap(), Assignment::Cluster);
    /// assert_eq!(Assignment::parse("Individueel").unwrap(), Assignment::Individual);
    /// assert_eq!(Assignment::parse("cluster_adjusted").unwrap().key(), "cluster_adjusted");
    /// assert!(Assignment::parse("by school").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Assignment, VocabError> {
        if let Some(v) = Assignment::ALL.iter().find(|v| v.key() == s) {
            return Ok(*v);
        }
        let n = normalise_label(s);
        if let Some((_, v)) = ALIASES.iter().find(|(label, _)| n == *label) {
            return Ok(*v);
        }
        let keys: Vec<&str> = Assignment::ALL.iter().map(|a| a.key()).collect();
        let labels: Vec<&str> = keys.iter().copied().chain(ALIASES.iter().map(|a| a.0)).collect();
        Err(VocabError::new(s, &keys, &labels))
    }
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Assignment::*;

    #[test]
    fn keys_and_aliases() {
        for (s, v) in [
            ("individual", Individual),
            ("Individually randomised", Individual),
            ("n groups", Individual),
            ("individueel", Individual),
            ("cluster", Cluster),
            ("Cluster randomized", Cluster),
            ("cluster_assigned", Cluster),
            ("cluster randomised", Cluster),
            ("Cluster RCT", Cluster),
            ("cluster-adjusted", ClusterAdjusted),
            ("cluster_adjusted", ClusterAdjusted),
        ] {
            assert_eq!(Assignment::parse(s).unwrap(), v, "{s}");
        }
        for v in Assignment::ALL {
            assert_eq!(Assignment::parse(v.key()).unwrap(), v);
        }
    }

    #[test]
    fn unknown_value_names_the_keys_and_suggests() {
        let e = Assignment::parse("clustr").unwrap_err();
        assert_eq!(e.allowed, "individual, cluster, cluster_adjusted");
        assert_eq!(e.suggestion.as_deref(), Some("cluster"));
        assert_eq!(Assignment::parse("by school").unwrap_err().suggestion, None);
    }
}

//! Reference suites: `suite.toml` lists cases (inputs, config, command and
//! its options, expected output). Paths are relative to the suite folder.
//!
//! ```toml
//! [defaults]
//! abs_tol = 1e-9
//! rel_tol = 1e-9
//!
//! [[case]]
//! name = "bundled-score"
//! note = "default verdicts on the bundled dataset"
//! command = "score"                 # score | rank | meta
//! inputs = ["../evidence_vac.csv"]
//! args = ["--by", "intervention,target_group,income_setting"]
//! config = "strict.toml"            # optional scoring configuration
//! expected = "expected/bundled-score.csv"
//! key = ["intervention"]            # optional; default: group keys present
//! [case.tolerance.score]            # optional per-column tolerances
//! abs = 1e-6
//! ```

use super::{CheckError, Tolerance};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub abs_tol: Option<f64>,
    pub rel_tol: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// One line: what this case guards.
    pub note: String,
    pub command: String,
    pub inputs: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    pub config: Option<String>,
    pub expected: String,
    pub key: Option<Vec<String>>,
    #[serde(default)]
    pub tolerance: BTreeMap<String, Tolerance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Commands a case may run.
pub const COMMANDS: &[&str] = &["score", "rank", "meta"];

impl Manifest {
    /// Read and check `DIR/suite.toml`.
    ///
    /// # Errors
    /// Unreadable or invalid manifest, unknown command, duplicate case names,
    /// missing input files.
    pub fn load(dir: &Path) -> Result<Manifest, CheckError> {
        let path = dir.join("suite.toml");
        let display = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CheckError::Manifest { path: display.clone(), message: format!("cannot read: {e}") })?;
        let mut m: Manifest = toml::from_str(&text)
            .map_err(|e| CheckError::Manifest { path: display.clone(), message: e.to_string() })?;
        m.dir = dir.to_path_buf();
        let mut names = std::collections::BTreeSet::new();
        for c in &m.cases {
            let err = |message: String| CheckError::Manifest {
                path: display.clone(),
                message: format!("case '{}': {message}", c.name),
            };
            if !COMMANDS.contains(&c.command.as_str()) {
                return Err(err(format!("unknown command '{}'; expected one of {}", c.command, COMMANDS.join(", "))));
            }
            if !names.insert(c.name.clone()) {
                return Err(err("the name is used twice".into()));
            }
            if c.inputs.is_empty() {
                return Err(err("no inputs".into()));
            }
            for i in &c.inputs {
                if !dir.join(i).exists() {
                    return Err(err(format!("input '{i}' does not exist (paths are relative to {})", dir.display())));
                }
            }
            if c.note.trim().is_empty() {
                return Err(err("every case needs a one-line note of what it guards".into()));
            }
        }
        if m.cases.is_empty() {
            return Err(CheckError::Manifest { path: display, message: "no [[case]] entries".into() });
        }
        Ok(m)
    }

    pub fn tolerance(&self) -> Tolerance {
        let d = Tolerance::default();
        Tolerance { abs: self.defaults.abs_tol.unwrap_or(d.abs), rel: self.defaults.rel_tol.unwrap_or(d.rel) }
    }
}

//! A row of effects as `evidex meta` reads it: the effect inputs, the
//! design, a label and every field by normalised header. `ingest` builds
//! these from files (and `report` from records); `meta` consumes them
//! without knowing where they came from.

use super::{EffectInput, Provenance, StudyDesign};
use std::collections::BTreeMap;

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
    /// Every field by normalised header (`names`), with mapped contract
    /// columns also under their contract names (for `--by` and `--cluster`).
    pub fields: BTreeMap<String, String>,
    pub provenance: Provenance,
}

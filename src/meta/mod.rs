//! Meta-analysis: effect sizes from whatever a row provides ([`effect`]),
//! pooling with the usual tau^2 estimators and inference ([`mod@fit`]),
//! small-study and sensitivity analyses, subgroups and cluster-robust
//! inference ([`extra`]). Formulas and sources are in
//! `docs/meta-analysis.md`; results agree with R's metafor.

pub mod effect;
pub mod extra;
pub mod fit;
pub mod run;

pub use effect::{compute_effect, Effect, EffectSource, Measure};
pub use extra::{
    aggregate_within_studies, egger, egger_test, leave_one_out, robust_cr1, robust_cr2, subgroup_test, Composite,
    Egger, LeaveOneOut, Robust, SubgroupTest, Vcov,
};
pub use fit::{fit, FitOptions, MetaError, MetaFit, Method, TestKind};
pub use run::{run_meta, Excluded, GroupResult, MetaOptions, MetaReport, MetaRunError, StudyEffect};

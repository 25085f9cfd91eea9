//! evidex: scored, ranked and explained evidence on interventions against
//! violence against children, per intervention x target group x income
//! setting.
//!
//! Data flow: [`ingest`] reads every format through one row reader
//! ([`ingest::row`]) into a consumer: validated [`model`] records for
//! `validate`, `meta`, `rank` and `explain`, or compact [`score::Fact`]s
//! for `score` ([`score::stream`]), which keeps no records. [`score`]
//! aggregates facts into per-cell verdicts and [`meta`] pools effect sizes;
//! [`report`] renders results; [`check`] compares results for CI. Nothing
//! outside `report` formats text for people; `ingest` imports neither
//! `score` nor `report`. [`stats`] holds every distribution function and
//! iteration as a total function ("not computable" with a reason, never a
//! panic); it is the only module that calls the distribution library.

pub mod check;
pub mod ingest;
pub mod meta;
pub mod model;
pub mod report;
pub mod score;
pub mod serve;
pub mod stats;
pub mod synth;

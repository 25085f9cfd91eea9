//! evidex: scored, ranked and explained evidence on interventions against
//! violence against children, per intervention x target group x income
//! setting.
//!
//! Data flow: [`ingest`] reads tables into validated [`model`] records;
//! [`score`] aggregates them into per-cell verdicts and [`meta`] pools effect
//! sizes; [`report`] renders results; [`check`] compares results for CI.
//! `evidex score` streams instead: [`ingest::stream`] turns chunks of rows
//! into compact [`score::Fact`]s without keeping records, and
//! [`score::score_facts`] scores them; both paths share one aggregation.
//! Nothing outside `report` formats text for people.

pub mod check;
pub mod ingest;
pub mod meta;
pub mod model;
pub mod report;
pub mod score;
pub mod synth;

//! evidex: scored, ranked and explained evidence on interventions against
//! violence against children, per intervention x target group x income
//! setting.
//!
//! Data flow: [`ingest`] reads tables into validated [`model`] records;
//! [`score`] aggregates them into per-cell verdicts and [`meta`] pools effect
//! sizes; [`report`] renders results; [`check`] compares results for CI.
//! Nothing outside `report` formats text for people.

pub mod check;
pub mod ingest;
pub mod meta;
pub mod model;
pub mod report;
pub mod score;
pub mod synth;

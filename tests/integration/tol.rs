//! Tolerances, in one place.

/// Published values printed to 4 decimals: half a unit in the last digit.
pub const PUBLISHED_4DP: f64 = 0.5e-4;
/// Closed-form estimators (EE, DL, HE, SJ, PM) against the independent
/// oracle (tests/oracle/meta_reference.py): relative.
pub const CLOSED_FORM_REL: f64 = 1e-9;
/// Iterative estimators (ML, REML: Fisher scoring here, direct likelihood
/// maximisation in the oracle) and quantities that depend on them: relative.
pub const ITERATIVE_REL: f64 = 1e-6;
/// statsmodels' `combine_effects` iterates Paule-Mandel to its own default
/// tolerance, so its values carry ~1e-7 relative noise: relative.
pub const STATSMODELS_REL: f64 = 1e-5;
/// Absolute floor for quantities that are 0 (tau^2 truncated at 0).
pub const ABS_FLOOR: f64 = 1e-10;

/// `|a - b| <= rel * |b| + floor`.
pub fn close(actual: f64, expected: f64, rel: f64) -> bool {
    (actual - expected).abs() <= rel * expected.abs() + ABS_FLOOR
}

#[track_caller]
pub fn assert_close(what: &str, actual: f64, expected: f64, rel: f64) {
    assert!(close(actual, expected, rel), "{what}: got {actual:.12}, expected {expected:.12} (rel tol {rel:e})");
}

#[track_caller]
pub fn assert_published(what: &str, actual: f64, published: f64) {
    assert!(
        (actual - published).abs() <= PUBLISHED_4DP,
        "{what}: got {actual:.6}, published {published} (tolerance {PUBLISHED_4DP})"
    );
}

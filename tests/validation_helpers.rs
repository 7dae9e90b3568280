//! The validation helpers (`examples/validation_parts/helpers.rs`) compute what they claim on
//! known inputs.

#[path = "../examples/validation_parts/helpers.rs"]
mod validation;
use validation::*;

#[test]
fn exponential_fit_recovers_its_parameters() {
    let pts: Vec<(f64, f64)> = (1..20)
        .map(|i| (i as f64 * 5.0, 0.3 * (-(i as f64) * 5.0 / 16.8).exp()))
        .collect();
    let (a, tau, r2) = fit_exponential(&pts);
    assert!((a - 0.3).abs() < 1e-9 && (tau - 16.8).abs() < 1e-9 && r2 > 0.999_999);
}

#[test]
fn erf_matches_known_values() {
    assert!((gb::erf(0.5) - 0.520_499_877_8).abs() < 2e-7);
    assert!((gb::erf(-1.0) + 0.842_700_792_9).abs() < 2e-7);
}

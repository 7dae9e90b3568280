//! STDP windows: the pair rule against Bi & Poo (1998) and the calcium rule against Graupner &
//! Brunel (2012), from the scenes `scenes/experiments/stdp_window_pair.ron` and
//! `stdp_window_calcium.ron` (the latter shortened to five Δt values here).

use edra::stages::ca_influx::{CaModel, LinearCaParams};
use edra::stages::plasticity::{CalciumRuleParams, Rule};
#[path = "../examples/validation_parts/helpers.rs"]
mod validation;
use validation::gb;

/// Bi & Poo 1998 (J Neurosci 18:10464), exponential fit of their window: τ+ = 16.8 ms (LTP side),
/// τ− = 33.7 ms (LTD side). The issue asks for the fitted constants within 5 %.
#[test]
fn pair_rule_window_fits_bi_and_poo() {
    edra::sim::init_threads(Some(1));
    let mut sim = validation::load("stdp_window_pair.ron", |_| {}).unwrap();
    validation::run_to_end(&mut sim).unwrap();
    let rows = validation::synapse_rows(&mut sim);
    let window = validation::stdp_pair_window(&rows, 1.0);
    assert_eq!(window.len(), 40, "one pre → post synapse per Δt");
    let ltp: Vec<_> = window.iter().copied().filter(|p| p.0 > 0.0).collect();
    let ltd: Vec<_> = window.iter().copied().filter(|p| p.0 < 0.0).collect();
    assert!(
        ltp.iter().all(|p| p.1 > 0.0),
        "pre before post potentiates: {ltp:?}"
    );
    assert!(
        ltd.iter().all(|p| p.1 < 0.0),
        "post before pre depresses: {ltd:?}"
    );
    let (a_plus, tau_plus, r2_plus) = validation::fit_exponential(&ltp);
    let (a_minus, tau_minus, r2_minus) = validation::fit_exponential(&ltd);
    // Bi & Poo 1998: τ+ = 16.8 ms, τ− = 33.7 ms; tolerance 5 % (issue 3).
    assert!((tau_plus - 16.8).abs() <= 0.05 * 16.8, "τ+ = {tau_plus} ms");
    assert!(
        (tau_minus - 33.7).abs() <= 0.05 * 33.7,
        "τ− = {tau_minus} ms"
    );
    assert!(r2_plus > 0.99 && r2_minus > 0.99, "R² {r2_plus} {r2_minus}");
    // 60 pairings at 1 Hz are independent (e^(−1000/33.7) ≈ 1e−13): amplitudes are 60·A±
    // of the scene (a_plus 0.01, a_minus 0.0105), within 5 %.
    assert!((a_plus - 0.6).abs() < 0.03, "A+ = {a_plus}");
    assert!((a_minus - 0.63).abs() < 0.0315, "A− = {a_minus}");
}

fn dp_params() -> (LinearCaParams, CalciumRuleParams) {
    let sim = validation::load("stdp_window_calcium.ron", |_| {}).unwrap();
    let g = &sim.scene().synapses[0];
    let (CaModel::Linear(ca), Rule::CalciumRule(rule)) = (&g.ca, &g.rule) else {
        panic!("the scene uses the linear Ca model and the calcium rule");
    };
    (ca.clone(), rule.clone())
}

/// Graupner & Brunel 2012 (PNAS 109:3991, Fig. 2, DP set, 60 pairs at 1 Hz, β = 0.5, b = 5):
/// minimum ≈ 0.72 near Δt = −25 ms, maximum ≈ 1.24 near +5 ms, ≈ 1.0 at ±100 ms. Analytic readout
/// over the scene's whole sweep, with the scene's parameters.
#[test]
fn calcium_rule_window_analytic_readout_matches_graupner_brunel() {
    let (ca, rule) = dp_params();
    let curve: Vec<(f64, f64)> = (-100..=100)
        .step_by(5)
        .map(|dt| {
            let r = gb::readout(&ca, &rule, dt as f64, 60, 1.0, 0.5, 5.0);
            (dt as f64, r.4)
        })
        .collect();
    let min = curve
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let max = curve
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    // Published values read off Fig. 2 (±0.02, the precision of reading the figure); the
    // extrema's positions within one 5 ms sweep step.
    assert!(
        (min.1 - 0.72).abs() < 0.02 && (min.0 + 25.0).abs() <= 5.0,
        "min {min:?}"
    );
    assert!(
        (max.1 - 1.24).abs() < 0.02 && (max.0 - 5.0).abs() <= 5.0,
        "max {max:?}"
    );
    for edge in [curve[0], curve[curve.len() - 1]] {
        assert!((edge.1 - 1.0).abs() < 0.02, "at ±100 ms: {edge:?}");
    }
}

/// The same window from noisy trials in the engine (80 synapses per Δt and start state): the
/// transition fractions agree with the analytic readout within 3 binomial standard errors, and
/// the strength change with the published values within 3 standard errors of the trial mean.
#[test]
fn calcium_rule_window_from_noisy_trials() {
    edra::sim::init_threads(Some(1));
    let (ca, rule) = dp_params();
    let mut sim = validation::load("stdp_window_calcium.ron", |s| {
        for n in &mut s.neurons {
            n.size = 80;
        }
        // dendritic delay d: Δt = d − 100 ms → Δt = −25, +5, +100 ms.
        s.sweep[0].values = vec![75.0, 105.0, 200.0];
    })
    .unwrap();
    validation::run_to_end(&mut sim).unwrap();
    let rows = validation::synapse_rows(&mut sim);
    let points = validation::calcium_window_trials(&rows, 100.0, rule.rho_star);
    assert_eq!(points.len(), 3);
    // Published (Graupner & Brunel 2012, Fig. 2): 0.72 at −25, 1.24 at +5, 1.0 at +100.
    let published = [0.72, 1.24, 1.0];
    for (p, want) in points.iter().zip(published) {
        assert_eq!(p.trials, 80);
        let n = p.trials as f64;
        let (_, _, u, d, _) = gb::readout(&ca, &rule, p.delta_t_ms, 60, 1.0, 0.5, 5.0);
        let se = |q: f64| (q * (1.0 - q) / n).sqrt();
        assert!(
            (p.d - d).abs() < 3.0 * se(d),
            "Δt {}: D {} vs analytic {d}",
            p.delta_t_ms,
            p.d
        );
        assert!(
            (p.u - u).abs() < 3.0 * se(u),
            "Δt {}: U {} vs analytic {u}",
            p.delta_t_ms,
            p.u
        );
        let ratio = gb::strength_ratio(p.u, p.d, 0.5, 5.0);
        let se_ratio = 2.0 / 3.0 * (se(d).powi(2) + se(u).powi(2)).sqrt();
        assert!(
            (ratio - want).abs() < 3.0 * se_ratio,
            "Δt {}: ratio {ratio} vs published {want} (3 SE = {})",
            p.delta_t_ms,
            3.0 * se_ratio
        );
    }
}

/// Frequency dependence (Sjöström, Turrigiano & Nelson 2001, Neuron 32:1149) with the calcium
/// rule's DP set, 60 pairs at Δt = ±10 ms: post-before-pre depresses at low frequency, both
/// orders potentiate at high frequency. Analytic readout here; the scene
/// `frequency_dependence.ron` runs the same protocols as noisy trials.
#[test]
fn calcium_rule_frequency_dependence() {
    let (ca, rule) = dp_params();
    let ratio = |dt: f64, f: f64| gb::readout(&ca, &rule, dt, 60, f, 0.5, 5.0).4;
    for f in [0.1, 1.0, 5.0] {
        // Sjöström et al. 2001 Fig. 1: LTD for post-pre pairing at ≤ 10 Hz; LTP for pre-post
        // at 10–50 Hz (they saw no LTP for pre-post below 10 Hz; the DP set does give LTP there:
        // stated on the validation page).
        assert!(
            ratio(-10.0, f) < 0.95,
            "post-pre at {f} Hz: {}",
            ratio(-10.0, f)
        );
    }
    for f in [40.0, 50.0] {
        assert!(
            ratio(-10.0, f) > 1.05,
            "post-pre at {f} Hz: {}",
            ratio(-10.0, f)
        );
        assert!(
            ratio(10.0, f) > 1.05,
            "pre-post at {f} Hz: {}",
            ratio(10.0, f)
        );
    }
}

/// The same in the engine (`frequency_dependence.ron`, noise off, mean-drift readout; 0.1 Hz left
/// out here because 60 pairs then take 10 simulated minutes, and at 0.1 Hz the pairs are as
/// independent as at 1 Hz). Sjöström et al. 2001: LTD for post-pre at low frequency, LTP for
/// both orders at high frequency.
#[test]
fn frequency_dependence_in_the_engine() {
    edra::sim::init_threads(Some(1));
    let mut sim = validation::load("frequency_dependence.ron", |s| {
        s.sweep[0].values = vec![1.0, 10.0, 20.0, 40.0, 50.0];
        s.duration_ms = 60_200.0;
    })
    .unwrap();
    let points = validation::frequency_dependence(&mut sim, 0.5).unwrap();
    assert_eq!(points.len(), 10);
    let at = |dt: f64, f: f64| {
        points
            .iter()
            .find(|p| p.delta_t_ms == dt && p.frequency_hz == f)
            .unwrap()
            .ratio
    };
    // Direction of the change (a 2 % margin keeps the sign clear of rounding).
    assert!(at(-10.0, 1.0) < 0.98, "post-pre 1 Hz: {}", at(-10.0, 1.0));
    assert!(
        at(-10.0, 10.0) < 0.98,
        "post-pre 10 Hz: {}",
        at(-10.0, 10.0)
    );
    for f in [40.0, 50.0] {
        assert!(at(-10.0, f) > 1.02, "post-pre {f} Hz: {}", at(-10.0, f));
        assert!(at(10.0, f) > 1.02, "pre-post {f} Hz: {}", at(10.0, f));
    }
}

//! The extension example works: a user-defined stage runs inside the cascade.

#[path = "../examples/custom_stage.rs"]
mod custom_stage;

/// Pairings drive spine Ca2+ above CaMKII's half-activation, so the stage placed between Ca
/// influx and plasticity sees it and activates; between pairings it decays (τ = 2 s).
#[test]
fn camkii_stage_runs_between_ca_influx_and_plasticity() {
    let (peak, last) = custom_stage::run(3000.0).unwrap();
    assert!(peak > 0.01, "CaMKII never activated: peak {peak}");
    assert!(last < peak, "no decay: {last} vs peak {peak}");
}

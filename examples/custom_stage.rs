//! Extending the cascade without editing edra: a CaMKII stage between Ca2+ influx and plasticity.
//!
//! CaMKII autophosphorylation as a Hill-driven switch (after Lisman 1985; Graupner & Brunel 2007):
//! dA/dt = k·c^n/(c^n + K^n)·(1 − A) − A/τ, with c the spine-head Ca2+ of stage 1.
//!
//! Run: `cargo run --release --example custom_stage`

use bevy_ecs::prelude::*;
use edra::Simulation;
use edra::Stage;
use edra::clock::Clock;
use edra::stages::ca_influx::SpineHeadCa;
use edra::synapse::Synapse;

/// Fraction of autophosphorylated CaMKII in the spine (0..1).
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Camkii {
    pub active: f32,
}

/// Rate k (per ms), half-activation K (µM), Hill coefficient n, decay τ (ms).
const K_RATE_PER_MS: f32 = 0.05;
const K_HALF_UM: f32 = 0.7;
const HILL: i32 = 4;
const TAU_MS: f32 = 2000.0;

/// One step of CaMKII activation for a slice of synapses.
fn camkii_kernel(dt_ms: f32, ca: &[SpineHeadCa], out: &mut [Camkii]) {
    let k_n = K_HALF_UM.powi(HILL);
    for (c, a) in ca.iter().zip(out) {
        let cn = c.ca_um.powi(HILL);
        let drive = K_RATE_PER_MS * cn / (cn + k_n);
        a.active += dt_ms * (drive * (1.0 - a.active) - a.active / TAU_MS);
    }
}

/// The system: runs over the population in parallel, like edra's own stages.
fn activate_camkii(mut q: Query<(&SpineHeadCa, &mut Camkii)>, clock: Res<Clock>) {
    let dt = clock.dt_ms as f32;
    q.contiguous_par_iter_mut()
        .expect("dense query")
        .for_each(|(ca, mut a)| camkii_kernel(dt, ca, a.bypass_change_detection()));
}

/// Loads the single-synapse scene, adds the stage, runs it; returns (peak, final) activity.
pub fn run(duration_ms: f64) -> edra::Result<(f32, f32)> {
    let mut sim = Simulation::load("scenes/single_synapse.ron".as_ref())?;
    let world = sim.world_mut();
    let synapses: Vec<Entity> = world
        .query_filtered::<Entity, With<Synapse>>()
        .iter(world)
        .collect();
    world.insert_batch(synapses.into_iter().map(|e| (e, Camkii::default())));
    sim.schedule_mut().add_systems(
        activate_camkii
            .after(Stage::CaInflux)
            .before(Stage::Plasticity),
    );
    let mut peak = 0.0f32;
    let steps = sim.clock().steps(duration_ms);
    for _ in 0..steps {
        sim.step()?;
        let world = sim.world_mut();
        let a = world
            .query::<&Camkii>()
            .iter(world)
            .next()
            .map_or(0.0, |c| c.active);
        peak = peak.max(a);
    }
    let world = sim.world_mut();
    let last = world
        .query::<&Camkii>()
        .iter(world)
        .next()
        .map_or(0.0, |c| c.active);
    Ok((peak, last))
}

#[allow(dead_code)]
fn main() -> edra::Result<()> {
    let (peak, last) = run(10_000.0)?;
    println!("CaMKII activity: peak {peak:.4}, at 10 s {last:.4}");
    Ok(())
}

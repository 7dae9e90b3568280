//! A new stage of the cascade in one file: CaMKII, between Ca2+ influx and plasticity.
//!
//! CaMKII autophosphorylation as a Hill-driven switch with decay (after Lisman 1985, PNAS
//! 82:3055; Graupner & Brunel 2007, PLoS Comput Biol 3:e221):
//!
//! dA/dt = k·c^n/(c^n + K^n)·(1 − A) − A/τ,
//!
//! with A the active fraction and c the spine-head Ca2+ of stage 1 ([`SpineHeadCa`]).
//!
//! Everything edra needs is declared here: the parameters (one line each, with unit, default
//! and range), the component, its variable, the system and its place in the cascade. Registered
//! with one line (`edra::stages::registered().with(camkii())`), the stage is then in scenes (per synapse
//! group: `stages: {"camkii": (tau_ms: 2000.0)}`), recorders, `synapses.csv`, `edra show`, the
//! report page and checkpoints, like the built-in stages. `tests/custom_stage.rs` checks each.
//!
//! Run: `cargo run --release --example custom_stage` (writes `out/custom_stage/`).

use bevy_ecs::prelude::*;
use edra::Simulation;
use edra::clock::Clock;
use edra::core::registry::{ComponentStage, Field, GroupParams, Stages, Variable};
use edra::core::stage::{Extends, Stage};
use edra::stages::ca_influx::SpineHeadCa;
use edra::synapse::{Synapse, for_each_table, group_runs};
use std::marker::PhantomData;
use std::path::Path;

edra::params! {
    /// CaMKII activation by spine Ca2+ (Graupner & Brunel 2007).
    pub struct CamkiiParams {
        /// Largest activation rate k.
        k_rate_per_ms: f64 = 0.05, "1/ms", [0.0, 10.0];
        /// Ca2+ of half-maximal activation K.
        k_half_um: f64 = 0.7, "µM", [0.01, 100.0];
        /// Hill coefficient n.
        hill: f64 = 4.0, "", [1.0, 8.0];
        /// Time constant of dephosphorylation τ.
        tau_ms: f64 = 2000.0, "ms", [1.0, 1e7];
    }
}

/// Fraction of autophosphorylated CaMKII in the spine (0..1).
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Camkii {
    pub active: f32,
}

/// The stage's variable: column `camkii_active`, shown under stage 1.
const FIELDS: &[Field<Camkii>] = &[Field {
    variable: Variable {
        name: "camkii_active",
        unit: "",
        stage: Stage::CaInflux,
        component: "Camkii",
        doc: "fraction of autophosphorylated CaMKII",
    },
    get: |c| c.active,
    set: |c, v| c.active = v,
}];

/// One step of dA/dt = k·c^n/(c^n + K^n)·(1 − A) − A/τ (forward Euler) for a run of synapses.
fn camkii_kernel(p: &CamkiiParams, dt_ms: f64, ca: &[SpineHeadCa], out: &mut [Camkii]) {
    let k_n = p.k_half_um.powf(p.hill);
    for (c, a) in ca.iter().zip(out) {
        let cn = (c.ca_um as f64).powf(p.hill);
        let drive = p.k_rate_per_ms * cn / (cn + k_n);
        let x = a.active as f64;
        a.active = (x + dt_ms * (drive * (1.0 - x) - x / p.tau_ms)) as f32;
    }
}

/// The system: over the population in parallel, one group's parameters per run, like edra's
/// own stages.
fn activate_camkii(
    mut q: Query<(&Synapse, &SpineHeadCa, &mut Camkii)>,
    params: Res<GroupParams<CamkiiParams>>,
    clock: Res<Clock>,
) {
    let dt = clock.dt_ms;
    for_each_table(&mut q, |(syn, ca, mut a)| {
        let a = a.bypass_change_detection();
        for (g, r) in group_runs(syn) {
            if let Some(p) = &params.0[g] {
                camkii_kernel(p, dt, &ca[r.clone()], &mut a[r]);
            }
        }
    });
}

/// The declaration of the stage.
pub fn camkii() -> ComponentStage<Camkii, CamkiiParams> {
    ComponentStage {
        name: "camkii",
        stage: Stage::CaInflux,
        fields: FIELDS,
        init: |_, _| Camkii::default(),
        systems: |s| {
            s.add_systems(activate_camkii.in_set(Extends(Stage::CaInflux)));
        },
        marker: PhantomData,
    }
}

/// The registered stages of this example: the built-in ones plus CaMKII (the one registration
/// line).
pub fn stages() -> Stages {
    edra::stages::registered().with(camkii())
}

/// The example's scene: the single synapse of `scenes/single_synapse.ron` with CaMKII.
pub const SCENE: &str = "examples/custom_stage.ron";

/// Runs the scene to `until_ms` and writes what `edra run` writes into `dir`; returns the
/// simulation at its end.
pub fn run_into(dir: &Path, until_ms: f64) -> edra::Result<Simulation> {
    let mut sim = Simulation::load_with(SCENE.as_ref(), stages())?;
    sim.run_until(until_ms, &mut |_| {})?;
    std::fs::create_dir_all(dir).map_err(|e| edra::EdraError::other(e.to_string()))?;
    edra::output::write_synapses(&mut sim, &dir.join("synapses.csv"))?;
    edra::output::write_recorders(&sim, dir)?;
    sim.save_checkpoint(&dir.join("checkpoint.ron"))?;
    Ok(sim)
}

#[allow(dead_code)]
fn main() -> edra::Result<()> {
    let dir = Path::new("out/custom_stage");
    run_into(dir, 10_000.0)?;
    let page = edra::web::report::write_report_with(dir, &stages())?;
    let mut sim = Simulation::load_with(SCENE.as_ref(), stages())?;
    print!("{}", edra::front::show::synapse_report(&mut sim, 0)?);
    println!("wrote {} and {}", dir.display(), page.display());
    Ok(())
}

//! Stage 2 — dopamine → D1 receptor → cAMP/PKA cascade → spine Ca2+ sensitivity.
//!
//! Dopamine is a volume signal: every synapse in one region sees the same concentration, so the
//! cleft, receptor and cascade of a region are one entity ([`DopamineCleft`],
//! [`DopamineReceptor`], [`ModulatoryCascade`]) rather than identical copies on every synapse.
//! Synapses read the region's levels from [`RegionLevels`], a compact resource indexed by region.
//!
//! | variable | equation | source |
//! |---|---|---|
//! | DA (µM) | dDA/dt = −DA/τ_DA + Σ releases; a reward adds 0.5 µM, τ_DA = 200 ms | Izhikevich 2007, Cereb Cortex 17:2443 |
//! | occupancy o | do/dt = k_on·DA·(1 − o) − k_off·o | D1-like receptor, first-order binding |
//! | PKA | dPKA/dt = (o − PKA)/τ_PKA | cAMP/PKA cascade as a low-pass filter |
//! | s | s = 1 + α_PKA·PKA | D1/PKA enhancement of NMDA currents |
//! | M | M = DA + DA_tonic (third factor of gated rules) | Izhikevich 2007 |

use crate::core::clock::Clock;

use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// Dense index of a dopamine region.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionId(pub u32);

/// Dopamine concentration in one region's extracellular volume.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DopamineCleft {
    pub dopamine_um: f32,
}

/// Occupancy of D1-like receptors (0..1).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DopamineReceptor {
    pub occupancy: f32,
}

/// Activity of the cAMP/PKA cascade (0..1, follows occupancy).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModulatoryCascade {
    pub pka: f32,
}

crate::params! {
    /// Parameters of a dopamine region.
    pub struct DopamineParams {
        /// Uptake time constant of dopamine (Izhikevich 2007).
        tau_dopamine_ms: f64 = 200.0, "ms", [1.0, 1e6];
        /// Tonic dopamine added to the third factor of gated rules (Izhikevich 2007).
        tonic_um: f64 = 0.002, "µM", [0.0, 100.0];
        /// Receptor binding rate.
        k_on_per_um_ms: f64 = 0.01, "1/(µM ms)", [0.0, 100.0];
        /// Receptor unbinding rate.
        k_off_per_ms: f64 = 0.002, "1/ms", [0.0, 100.0];
        /// Time constant of the PKA cascade.
        tau_pka_ms: f64 = 2000.0, "ms", [1.0, 1e7];
        /// Gain of PKA on NMDA Ca sensitivity (s = 1 + alpha·PKA).
        alpha_pka: f64 = 1.0, "", [0.0, 100.0];
    }
}

/// Per-region levels read by synapse stages, and releases waiting to enter the cleft.
#[derive(Resource, Default, Clone, Debug)]
pub struct RegionLevels {
    /// Name and replica of each region.
    pub names: Vec<(String, u32)>,
    pub params: Vec<DopamineParams>,
    /// Dopamine released this step (rewards), µM; consumed by [`update_dopamine`].
    pub pending_release_um: Vec<f32>,
    pub dopamine_um: Vec<f32>,
    /// Third factor of gated rules: DA + tonic, µM.
    pub third_factor_um: Vec<f32>,
    pub sensitivity: Vec<f32>,
}

/// One step of a region: uptake and release, receptor binding (exact for DA constant over dt),
/// PKA low-pass, sensitivity.
pub fn region_step(
    p: &DopamineParams,
    dt_ms: f64,
    release_um: f32,
    cleft: &mut DopamineCleft,
    receptor: &mut DopamineReceptor,
    cascade: &mut ModulatoryCascade,
) -> f32 {
    let da = cleft.dopamine_um as f64 * (-dt_ms / p.tau_dopamine_ms).exp() + release_um as f64;
    let rate = p.k_on_per_um_ms * da + p.k_off_per_ms;
    let o = receptor.occupancy as f64;
    let o_new = if rate > 0.0 {
        let o_inf = p.k_on_per_um_ms * da / rate;
        o_inf + (o - o_inf) * (-rate * dt_ms).exp()
    } else {
        o
    };
    let pka = cascade.pka as f64;
    let pka_new = o_new + (pka - o_new) * (-dt_ms / p.tau_pka_ms).exp();
    cleft.dopamine_um = da as f32;
    receptor.occupancy = o_new as f32;
    cascade.pka = pka_new as f32;
    sensitivity(p, cascade)
}

/// Ca sensitivity s = 1 + α_PKA·PKA, from the stored cascade state.
pub fn sensitivity(p: &DopamineParams, cascade: &ModulatoryCascade) -> f32 {
    (1.0 + p.alpha_pka * cascade.pka as f64) as f32
}

impl RegionLevels {
    /// The dense index of region `name` of sweep replica `replica` (names are checked with the
    /// scene).
    pub fn index(&self, replica: u32, name: &str) -> u32 {
        self.names
            .iter()
            .position(|(n, r)| *r == replica && n == name)
            .expect("names are checked with the scene") as u32
    }

    /// Publishes region `r`'s levels from its state.
    pub fn publish(&mut self, r: usize, cleft: &DopamineCleft, cascade: &ModulatoryCascade) {
        let p = &self.params[r];
        self.dopamine_um[r] = cleft.dopamine_um;
        self.third_factor_um[r] = cleft.dopamine_um + p.tonic_um as f32;
        self.sensitivity[r] = sensitivity(p, cascade);
    }
}

/// System: advances every dopamine region and publishes its levels.
pub fn update_dopamine(
    mut q: Query<(
        &RegionId,
        &mut DopamineCleft,
        &mut DopamineReceptor,
        &mut ModulatoryCascade,
    )>,
    mut levels: ResMut<RegionLevels>,
    clock: Res<Clock>,
) {
    let levels = &mut *levels;
    for (id, mut cleft, mut rec, mut casc) in &mut q {
        let r = id.0 as usize;
        let release = std::mem::take(&mut levels.pending_release_um[r]);
        region_step(
            &levels.params[r],
            clock.dt_ms,
            release,
            &mut cleft,
            &mut rec,
            &mut casc,
        );
        levels.publish(r, &cleft, &casc);
    }
}

/// Registers the dopamine cascade in [`Stage::Modulation`](crate::engine::schedule::Stage::Modulation).
pub fn plugin(s: &mut Schedule) {
    s.add_systems(update_dopamine.in_set(crate::engine::schedule::Stage::Modulation));
}

/// Read access to a dopamine region's state.
#[derive(bevy_ecs::query::QueryData)]
pub struct RegionData {
    pub id: &'static RegionId,
    pub cleft: &'static DopamineCleft,
    pub receptor: &'static DopamineReceptor,
    pub cascade: &'static ModulatoryCascade,
}

impl RegionDataItem<'_, '_> {
    /// The values of [`REGION_VARIABLES`], in that order.
    pub fn values(&self) -> [f32; 3] {
        [
            self.cleft.dopamine_um,
            self.receptor.occupancy,
            self.cascade.pka,
        ]
    }
}

/// Dopamine region variables a recorder can sample.
pub const REGION_VARIABLES: [&str; 3] = ["dopamine_um", "receptor_occupancy", "pka"];
/// The units of [`REGION_VARIABLES`] (`1`: dimensionless).
pub const REGION_UNITS: [&str; 3] = ["µM", "1", "1"];

#[cfg(test)]
mod tests {
    use super::*;

    /// τ_DA = 200 ms (Izhikevich 2007): after one time constant a 0.5 µM reward is at 0.5/e.
    #[test]
    fn dopamine_decays_with_its_time_constant() {
        let p = DopamineParams::default();
        let (mut c, mut r, mut m) = Default::default();
        region_step(&p, 1.0, 0.5, &mut c, &mut r, &mut m);
        for _ in 0..200 {
            region_step(&p, 1.0, 0.0, &mut c, &mut r, &mut m);
        }
        let expected = 0.5 * (-1.0f32).exp();
        assert!((c.dopamine_um - expected).abs() < 1e-4, "{}", c.dopamine_um);
    }

    #[test]
    fn reward_raises_sensitivity_and_it_relaxes_back() {
        let p = DopamineParams::default();
        let (mut c, mut r, mut m) = Default::default();
        let mut s_peak: f32 = 1.0;
        region_step(&p, 1.0, 0.5, &mut c, &mut r, &mut m);
        for _ in 0..3000 {
            s_peak = s_peak.max(region_step(&p, 1.0, 0.0, &mut c, &mut r, &mut m));
        }
        assert!(s_peak > 1.0005, "peak sensitivity {s_peak}");
        for _ in 0..60_000 {
            region_step(&p, 1.0, 0.0, &mut c, &mut r, &mut m);
        }
        let s = region_step(&p, 1.0, 0.0, &mut c, &mut r, &mut m);
        assert!(s < 1.0 + (s_peak - 1.0) * 0.01);
    }
}

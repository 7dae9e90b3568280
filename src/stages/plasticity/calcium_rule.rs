//! Calcium-based plasticity rule (Graupner & Brunel 2012, PNAS 109:3991):
//!
//! τ dρ/dt = −ρ(1−ρ)(ρ* − ρ) + γp(1 − ρ)Θ[c − θp] − γd·ρ·Θ[c − θd] + σ√τ·√(Θ[c−θp] + Θ[c−θd])·η(t)
//!
//! integrated with Euler–Maruyama (the noise draw is keyed by synapse and step). The early weight
//! reads ρ out linearly: h = h_down + ρ·(h_up − h_down). Defaults: their "DP" parameter set.
//!
//! ρ is stored in f64. Without calcium its bistable drift is at most 0.1/τ per ms: near ρ = 0.6
//! about 1.6e-8 per 0.1 ms step, below half the spacing of f32 values there (3e-8), so an f32 ρ
//! rounded every step would never leave 0.6 at dt = 0.1 ms (it ends at 0.743 after 600 s).

use super::SynapticWeight;
use crate::core::clock::Clock;
use crate::core::synapse::{Synapse, for_each_table, group_runs};
use crate::core::weight::EventDriven;
use crate::stages::ca_influx::SpineHeadCa;
use crate::stages::groups::SynapseGroups;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// Efficacy variable ρ of the calcium rule (bistable: DOWN near 0, UP near 1). Its presence marks
/// a synapse that follows the calcium rule.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaRuleState {
    pub rho: f64,
}

// Its checkpoint column. ρ leaves [0, 1] by the rule's noise (the cubic drift pulls it back);
// values 10 beyond it are not reached by a run.
crate::state_columns! {
    "synapses" CaRuleState {
        rho: f64 = rho, [-10.0, 11.0];
    }
}

crate::params! {
    /// Parameters of the calcium rule. Defaults: the "DP" set of Graupner & Brunel 2012.
    pub struct CalciumRuleParams {
        /// Time constant τ (150 s).
        tau_ms: f64 = 150_000.0, "ms", [1.0, 1e9];
        /// Unstable fixed point ρ*.
        rho_star: f64 = 0.5, "", [0.0, 1.0];
        /// Depression threshold θd (units of c).
        theta_d: f64 = 1.0, "", [0.0, 1e3];
        /// Potentiation threshold θp (units of c).
        theta_p: f64 = 1.3, "", [0.0, 1e3];
        /// Depression rate γd.
        gamma_d: f64 = 200.0, "", [0.0, 1e5];
        /// Potentiation rate γp.
        gamma_p: f64 = 321.808, "", [0.0, 1e5];
        /// Noise amplitude σ.
        sigma: f64 = 2.8284, "", [0.0, 1e3];
        /// Whether the noise term is on.
        noise: bool = true;
        /// Early weight at ρ = 0.
        h_down_mv: f64 = 1.0, "mV", [-1e3, 1e3];
        /// Early weight at ρ = 1 (b = w1/w0 = 5).
        h_up_mv: f64 = 5.0, "mV", [-1e3, 1e3];
        /// Integrate each synapse, Ca and ρ together, when a spike reaches it instead of on
        /// every step ([`event_calcium`](super::event_calcium)): exact Ca decay and exact time
        /// above each threshold in between. Needs `ca: Linear` and no trafficking or
        /// registered stages (nothing else may read the synapse on every step; consolidation
        /// brings it up to date on its slow steps). Left out of the checkpoint's copy of the scene when false.
        event_driven: bool = false => skip_if "std::ops::Not::not";
    }
}

impl CalciumRuleParams {
    /// The early weight of efficacy ρ: h = h_down + ρ·(h_up − h_down), mV.
    #[inline(always)]
    pub fn early_weight_mv(&self, rho: f64) -> f32 {
        self.h_down_mv as f32 + rho as f32 * (self.h_up_mv - self.h_down_mv) as f32
    }
}

/// Deterministic part of τ·dρ/dt.
#[inline(always)]
pub fn drift(p: &CalciumRuleParams, rho: f64, ca: f64) -> f64 {
    let up = (ca >= p.theta_p) as u8 as f64;
    let down = (ca >= p.theta_d) as u8 as f64;
    drift_in(p, rho, up, down)
}

/// Deterministic part of τ·dρ/dt with Θ[c − θp] = `up` and Θ[c − θd] = `down` (0 or 1).
#[inline(always)]
pub fn drift_in(p: &CalciumRuleParams, rho: f64, up: f64, down: f64) -> f64 {
    -rho * (1.0 - rho) * (p.rho_star - rho) + p.gamma_p * (1.0 - rho) * up - p.gamma_d * rho * down
}

/// One Euler–Maruyama step of ρ; `normal` is a standard normal draw (used only above threshold).
#[inline(always)]
pub fn rho_step(p: &CalciumRuleParams, dt_ms: f64, rho: f64, ca: f64, normal: f64) -> f64 {
    let h = dt_ms / p.tau_ms;
    let active = (ca >= p.theta_p) as u8 as f64 + (ca >= p.theta_d) as u8 as f64;
    rho + drift(p, rho, ca) * h + p.sigma * (h * active).sqrt() * normal
}

/// System: clock-driven calcium-rule synapses (event-driven ones are taken by
/// [`event_calcium`](super::event_calcium)).
pub fn calcium_rule(
    mut q: Query<
        (
            &Synapse,
            &SpineHeadCa,
            &mut CaRuleState,
            &mut SynapticWeight,
        ),
        Without<EventDriven>,
    >,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
) {
    let (dt, step, seed) = (clock.dt_ms, clock.step, clock.seed);
    for_each_table(&mut q, |(syn, ca, mut st, mut w)| {
        let (st, w) = (st.bypass_change_detection(), w.bypass_change_detection());
        for (g, r) in group_runs(syn) {
            let group = &groups.0[g];
            let super::Rule::CalciumRule(p) = &group.spec.rule else {
                continue;
            };
            let h0 = group.h0_mv() as f32;
            for i in r {
                let c = ca[i].ca_um as f64;
                let theta = p.theta_d.min(p.theta_p);
                let n = super::rule_noise(p.noise, c, theta, seed, syn[i].id, step);
                let rho = rho_step(p, dt, st[i].rho, c, n);
                st[i].rho = rho;
                let wi = &mut w[i];
                wi.h_mv = p.early_weight_mv(rho);
                wi.w_mv = wi.h_mv + h0 * wi.z;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without calcium the bistable dynamics keep ρ at its stable states 0 and 1 and push it
    /// away from ρ* = 0.5.
    #[test]
    fn bistable_without_calcium() {
        let p = CalciumRuleParams::default();
        assert_eq!(drift(&p, 0.0, 0.0), 0.0);
        assert_eq!(drift(&p, 1.0, 0.0), 0.0);
        assert!(drift(&p, 0.6, 0.0) > 0.0);
        assert!(drift(&p, 0.4, 0.0) < 0.0);
    }

    /// Above θp, ρ is driven to the potentiation fixed point γp/(γp + γd) (for c above both
    /// thresholds, neglecting the cubic term): 321.808/521.808 = 0.6167 (Graupner & Brunel 2012).
    #[test]
    fn sustained_high_calcium_drives_rho_towards_the_ltp_fixed_point() {
        let p = CalciumRuleParams::default();
        let mut rho = 0.0;
        for _ in 0..2_000_000 {
            rho = rho_step(&p, 1.0, rho, 2.0, 0.0);
        }
        let rho_bar = p.gamma_p / (p.gamma_p + p.gamma_d);
        assert!((rho - rho_bar).abs() < 0.01, "rho {rho} vs {rho_bar}");
    }

    /// ρ in f64 keeps the bistable drift at dt = 0.01 ms: from 0.45, 0.6 and 0.8 over 600 s it
    /// ends within 1e-6 of the exact ODE (0.36823, 0.74259, 0.94891, by Runge–Kutta in
    /// `tests/slow_drift.rs`). The same steps on an f32 ρ never move (the increment, ≈1.6e-9,
    /// is far below half an f32 ulp).
    #[test]
    fn bistable_drift_survives_dt_0_01_ms() {
        let p = CalciumRuleParams::default();
        for (rho0, exact) in [
            (0.45, 0.36823016310969814),
            (0.6, 0.7425913761530439),
            (0.8, 0.9489053752359974),
        ] {
            let (mut rho, mut plain) = (rho0, rho0 as f32);
            for _ in 0..60_000_000 {
                rho = rho_step(&p, 0.01, rho, 0.0, 0.0);
            }
            for _ in 0..1000 {
                plain = rho_step(&p, 0.01, plain as f64, 0.0, 0.0) as f32;
            }
            assert!((rho - exact).abs() < 1e-6, "from {rho0}: {rho} vs {exact}");
            assert_eq!(plain, rho0 as f32, "an f32 ρ is stuck");
        }
    }
}

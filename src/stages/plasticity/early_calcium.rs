//! Calcium rule on the early-phase weight h (Luboeinski & Tetzlaff 2021, Commun Biol 4:275;
//! after Graupner & Brunel 2012 and Li, Kulvicius & Tetzlaff 2016, PLoS One 11:e0161679):
//!
//! τh dh/dt = r·(h0 − h) + γp·(h_top − h)·Θ[c − θp] − γd·h·Θ[c − θd]
//!            + σ·√τh·√(Θ[c − θp] + Θ[c − θd])·η(t)
//!
//! with r = 0.1 (so h relaxes to h0 with time constant τh/r ≈ 1.9 h), h_top = 10 mV, and the
//! calcium c of the linear model (stage 1: C_pre 1.0, C_post 0.2758, τCa 48.8 ms, delay 18.8 ms).
//! The calcium terms are integrated with Euler–Maruyama every step (the noise draw is keyed by
//! synapse and step). The relaxation term is applied exactly, h ← h0 + (h − h0)·e^(−r·Δt/τh),
//! every [`RELAX_EVERY_MS`] of simulated time: per 1 ms step it changes h by ~1e−7 mV, below the
//! resolution of an f32 weight, and would be lost to rounding. It drives the early weight of
//! tag-and-capture (stage 6): w = h + h0·z.

use super::SynapticWeight;
use crate::clock::Clock;
use crate::params::{Checker, Validate};
use crate::stages::ca_influx::SpineHeadCa;
use crate::synapse::{Synapse, for_each_table, group_runs};
use crate::world::SynapseGroups;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// The relaxation of h towards h0 is applied every this many ms (at least every step).
pub const RELAX_EVERY_MS: f64 = 100.0;

/// Marker: this synapse's early weight follows the Luboeinski–Tetzlaff calcium rule.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct EarlyCalciumRule;

/// Parameters of the rule. Defaults: Luboeinski & Tetzlaff 2021 (MODEL.md step 6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyCalciumParams {
    /// Time constant τh, s. Default 688.4.
    pub tau_h_s: f64,
    /// Relaxation factor r of h towards h0. Default 0.1.
    pub relaxation: f64,
    /// Baseline h0, mV. Default 4.20075.
    pub h0_mv: f64,
    /// Upper weight h_top that potentiation drives h towards, mV. Default 10.
    pub h_top_mv: f64,
    /// Potentiation threshold θp (units of c). Default 3.0.
    pub theta_p: f64,
    /// Depression threshold θd (units of c). Default 1.2.
    pub theta_d: f64,
    /// Potentiation rate γp. Default 1645.6.
    pub gamma_p: f64,
    /// Depression rate γd. Default 313.1.
    pub gamma_d: f64,
    /// Noise amplitude σ, mV. Default 2.90436.
    pub sigma_mv: f64,
    /// Whether the noise term is on. Default true.
    pub noise: bool,
}

impl Default for EarlyCalciumParams {
    fn default() -> Self {
        EarlyCalciumParams {
            tau_h_s: 688.4,
            relaxation: 0.1,
            h0_mv: 4.20075,
            h_top_mv: 10.0,
            theta_p: 3.0,
            theta_d: 1.2,
            gamma_p: 1645.6,
            gamma_d: 313.1,
            sigma_mv: 2.90436,
            noise: true,
        }
    }
}

impl Validate for EarlyCalciumParams {
    fn validate(&self, c: &mut Checker) {
        c.range("tau_h_s", self.tau_h_s, 1e-3, 1e8, "s");
        c.range("relaxation", self.relaxation, 0.0, 1e3, "");
        c.range("h0_mv", self.h0_mv, 0.0, 1e3, "mV");
        c.range("h_top_mv", self.h_top_mv, 0.0, 1e3, "mV");
        c.range("theta_p", self.theta_p, 0.0, 1e3, "");
        c.range("theta_d", self.theta_d, 0.0, 1e3, "");
        c.range("gamma_p", self.gamma_p, 0.0, 1e6, "");
        c.range("gamma_d", self.gamma_d, 0.0, 1e6, "");
        c.range("sigma_mv", self.sigma_mv, 0.0, 1e3, "mV");
    }
}

/// Per-step constants of the rule for one group.
#[derive(Clone, Copy, Debug)]
pub struct EarlyCalciumStep {
    /// dt/τh.
    pub k: f32,
    /// The relaxation is applied on steps that are multiples of this.
    pub relax_every: u64,
    /// e^(−r·relax_every·dt/τh).
    pub relax_factor: f32,
    pub h0: f32,
    pub h_top: f32,
    pub theta_p: f32,
    pub theta_d: f32,
    pub gamma_p: f32,
    pub gamma_d: f32,
    /// σ·√(dt/τh), mV.
    pub noise_mv: f32,
}

impl EarlyCalciumStep {
    pub fn new(p: &EarlyCalciumParams, dt_ms: f64) -> Self {
        let k = dt_ms / (p.tau_h_s * 1000.0);
        let relax_every = (RELAX_EVERY_MS / dt_ms).ceil().max(1.0) as u64;
        EarlyCalciumStep {
            k: k as f32,
            relax_every,
            relax_factor: (-p.relaxation * k * relax_every as f64).exp() as f32,
            h0: p.h0_mv as f32,
            h_top: p.h_top_mv as f32,
            theta_p: p.theta_p as f32,
            theta_d: p.theta_d as f32,
            gamma_p: p.gamma_p as f32,
            gamma_d: p.gamma_d as f32,
            noise_mv: if p.noise {
                (p.sigma_mv * k.sqrt()) as f32
            } else {
                0.0
            },
        }
    }

    /// One step of h on `step` for calcium `c`: Euler–Maruyama for the calcium terms
    /// (`normal` is a standard normal draw, used only above a threshold), then the exact
    /// relaxation on every `relax_every`-th step.
    #[inline(always)]
    pub fn h_step(&self, step: u64, h: f32, c: f32, normal: f32) -> f32 {
        let up = (c >= self.theta_p) as u8 as f32;
        let down = (c >= self.theta_d) as u8 as f32;
        let drift = self.gamma_p * (self.h_top - h) * up - self.gamma_d * h * down;
        let h = h + drift * self.k + self.noise_mv * (up + down).sqrt() * normal;
        if step.is_multiple_of(self.relax_every) {
            self.h0 + (h - self.h0) * self.relax_factor
        } else {
            h
        }
    }
}

/// System: synapses following the early-phase calcium rule.
pub fn early_calcium_rule(
    mut q: Query<(&Synapse, &SpineHeadCa, &mut SynapticWeight), With<EarlyCalciumRule>>,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
) {
    let (dt, step, seed) = (clock.dt_ms, clock.step, clock.seed);
    for_each_table(&mut q, |(syn, ca, mut w)| {
        let w = w.bypass_change_detection();
        for (g, r) in group_runs(syn) {
            let group = &groups.0[g];
            let super::Rule::EarlyCalcium(p) = &group.spec.rule else {
                continue;
            };
            let k = EarlyCalciumStep::new(p, dt);
            let z_scale = group.h0_mv() as f32;
            let theta = k.theta_d.min(k.theta_p);
            for i in r {
                let c = ca[i].ca_um;
                let on = k.noise_mv > 0.0;
                let n = super::rule_noise(on, c as f64, theta as f64, seed, syn[i].id, step) as f32;
                let wi = &mut w[i];
                wi.h_mv = k.h_step(step, wi.h_mv, c, n);
                wi.w_mv = wi.h_mv + z_scale * wi.z;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without calcium, h relaxes to h0 with time constant τh/r = 6884 s ≈ 1.9 h (MODEL.md).
    #[test]
    fn relaxes_to_baseline_with_tau_h_over_r() {
        let p = EarlyCalciumParams::default();
        let k = EarlyCalciumStep::new(&p, 1.0);
        let mut h = 2.0 * p.h0_mv as f32;
        let tau_ms = 1000.0 * p.tau_h_s / p.relaxation;
        for step in 0..tau_ms.round() as u64 {
            h = k.h_step(step, h, 0.0, 0.0);
        }
        let left = (h as f64 - p.h0_mv) / p.h0_mv;
        assert!((left - (-1.0f64).exp()).abs() < 1e-3, "{left}");
    }

    /// Above both thresholds h goes to h_top·γp/(γp + γd) = 8.40 mV ≈ 200 % of h0 (MODEL.md:
    /// "a strong tetanus drives h to about 200 % of h0").
    #[test]
    fn sustained_calcium_drives_h_to_twice_baseline() {
        let p = EarlyCalciumParams::default();
        let k = EarlyCalciumStep::new(&p, 0.1);
        let mut h = p.h0_mv as f32;
        for step in 0..100_000 {
            h = k.h_step(step, h, 10.0, 0.0);
        }
        let fixed = p.h_top_mv * p.gamma_p / (p.gamma_p + p.gamma_d);
        assert!((h as f64 - fixed).abs() < 0.05, "{h} vs {fixed}");
        assert!((fixed / p.h0_mv - 2.0).abs() < 0.01);
    }
}

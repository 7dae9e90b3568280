//! Calcium rule on the early-phase weight h (Luboeinski & Tetzlaff 2021, Commun Biol 4:275;
//! after Graupner & Brunel 2012 and Li, Kulvicius & Tetzlaff 2016, PLoS One 11:e0161679):
//!
//! τh dh/dt = r·(h0 − h) + γp·(h_top − h)·Θ[c − θp] − γd·h·Θ[c − θd]
//!            + σ·√τh·√(Θ[c − θp] + Θ[c − θd])·η(t)
//!
//! with r = 0.1 (so h relaxes to h0 with time constant τh/r ≈ 1.9 h), h_top = 10 mV, and the
//! calcium c of the linear model (stage 1: C_pre 1.0, C_post 0.2758, τCa 48.8 ms, delay 18.8 ms).
//! Over one step the calcium regime (which thresholds c is above) is fixed and the equation is
//! linear in h, so each step is taken exactly, as the stand-alone simulator of Luboeinski &
//! Tetzlaff does: with C = r + γp·Θp + γd·Θd and h* = (r·h0 + γp·h_top·Θp)/C,
//!
//! h ← h* + (h − h*)·e^(−C·dt/τh) + ξ·σ·√(τh/dt)·√(Θp + Θd)·(1 − e^(−C·dt/τh))/C,
//!
//! the noise held over the step (ξ a standard normal draw keyed by synapse and step). Without
//! calcium this is the exact relaxation h ← h0 + (h − h0)·e^(−r·dt/τh). The four regimes'
//! constants are computed once per group and step, in f64. Per 0.1 ms step the relaxation
//! moves h by parts in 10^8, below the resolution of the f32 weight, so h is kept as the
//! weight's f32 `h_mv` plus its residual in [`EarlyCalciumRule`] ([`fine`](crate::core::fine)): it
//! relaxes all the way to h0 at any dt. It drives the early weight of tag-and-capture (stage
//! 6): w = h + h0·z.

use super::SynapticWeight;
use crate::core::clock::Clock;
use crate::core::synapse::{Synapse, for_each_table, group_runs};
use crate::core::weight::EventDriven;
use crate::stages::ca_influx::SpineHeadCa;
use crate::stages::groups::SynapseGroups;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// Marks a synapse whose early weight follows the Luboeinski–Tetzlaff calcium rule, and holds
/// the part of h below the f32 resolution of [`SynapticWeight::h_mv`]: h = `h_mv` +
/// `h_residual_mv`.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyCalciumRule {
    pub h_residual_mv: f32,
}

// Its checkpoint column: a residual below f32 resolution ([`crate::core::fine`]), left out of a
// checkpoint when all 0 (and absent in those written before edra kept it).
crate::state_columns! {
    "synapses" EarlyCalciumRule {
        h_residual_mv: f32 = h_residual_mv, [-1.0, 1.0], optional;
    }
}

crate::params! {
    /// Parameters of the rule. Defaults: Luboeinski & Tetzlaff 2021 (MODEL.md step 6).
    pub struct EarlyCalciumParams {
        /// Time constant τh.
        tau_h_s: f64 = 688.4, "s", [1e-3, 1e8];
        /// Relaxation factor r of h towards h0.
        relaxation: f64 = 0.1, "", [0.0, 1e3];
        /// Baseline h0.
        h0_mv: f64 = 4.20075, "mV", [0.0, 1e3];
        /// Upper weight h_top that potentiation drives h towards.
        h_top_mv: f64 = 10.0, "mV", [0.0, 1e3];
        /// Potentiation threshold θp (units of c).
        theta_p: f64 = 3.0, "", [0.0, 1e3];
        /// Depression threshold θd (units of c).
        theta_d: f64 = 1.2, "", [0.0, 1e3];
        /// Potentiation rate γp.
        gamma_p: f64 = 1645.6, "", [0.0, 1e6];
        /// Depression rate γd.
        gamma_d: f64 = 313.1, "", [0.0, 1e6];
        /// Noise amplitude σ.
        sigma_mv: f64 = 2.90436, "mV", [0.0, 1e3];
        /// Whether the noise term is on.
        noise: bool = true;
        /// Integrate each synapse, Ca and h together, when a spike reaches it (and on each
        /// slow step, for consolidation) instead of on every step
        /// ([`event_calcium`](super::event_calcium)): exact Ca decay, exact time above each
        /// threshold and exact h in between. Needs `ca: Linear` and no trafficking or
        /// registered stages. Left out of the checkpoint's copy of the scene when false.
        event_driven: bool = false => skip_if "std::ops::Not::not";
    }
}

impl EarlyCalciumParams {
    /// τh, ms.
    pub fn tau_h_ms(&self) -> f64 {
        self.tau_h_s * 1000.0
    }

    /// The rule's linear form in calcium regime (Θp, Θd) (each 0 or 1): its rate
    /// C = r + γp·Θp + γd·Θd and its fixed point h* = (r·h0 + γp·h_top·Θp)/C, mV, so that
    /// τh·dh/dt = C·(h* − h) without noise.
    pub fn regime(&self, (up, down): (f64, f64)) -> (f64, f64) {
        let c = self.relaxation + self.gamma_p * up + self.gamma_d * down;
        (
            c,
            (self.relaxation * self.h0_mv + self.gamma_p * self.h_top_mv * up) / c,
        )
    }
}

/// Per-step constants of the rule for one group.
#[derive(Clone, Copy, Debug)]
pub struct EarlyCalciumStep {
    pub theta_p: f32,
    pub theta_d: f32,
    /// Per regime (index Θp·2 + Θd): the fixed point h*, mV; the decay e^(−C·dt/τh); and the
    /// noise's scale σ·√(τh/dt)·√(Θp + Θd)·(1 − e^(−C·dt/τh))/C, mV (0 without noise).
    pub regimes: [(f64, f64, f64); 4],
    /// Whether the noise term is on.
    pub noise: bool,
}

impl EarlyCalciumStep {
    pub fn new(p: &EarlyCalciumParams, dt_ms: f64) -> Self {
        let k = dt_ms / p.tau_h_ms();
        let regime = |i: usize| {
            let (up, down) = ((i >> 1) as f64, (i & 1) as f64);
            let (c, fixed) = p.regime((up, down));
            let decay = (-c * k).exp();
            let noise = if p.noise {
                p.sigma_mv * (1.0 / k).sqrt() * (up + down).sqrt() * -(-c * k).exp_m1() / c
            } else {
                0.0
            };
            (fixed, decay, noise)
        };
        EarlyCalciumStep {
            theta_p: p.theta_p as f32,
            theta_d: p.theta_d as f32,
            regimes: [regime(0), regime(1), regime(2), regime(3)],
            noise: p.noise,
        }
    }

    /// One exact step of h for calcium `c` (`normal`: a standard normal draw, used only above a
    /// threshold).
    #[inline(always)]
    pub fn h_step(&self, h: f64, c: f32, normal: f64) -> f64 {
        let i = ((c >= self.theta_p) as usize) << 1 | (c >= self.theta_d) as usize;
        let (fixed, decay, noise) = self.regimes[i];
        fixed + (h - fixed) * decay + noise * normal
    }
}

/// The step constants of each group's rule (`None`: not this rule), with the parameters and dt
/// they were computed for: four exponentials and a square root per group, computed again only
/// when a parameter change or a new dt makes them stale (on a scene of a few synapses they were
/// a sixth of a step).
#[derive(Default)]
pub struct StepConstants(Vec<Option<(EarlyCalciumParams, f64, EarlyCalciumStep)>>);

impl StepConstants {
    /// Brings the constants up to date with `groups` at `dt_ms`.
    fn update(&mut self, groups: &SynapseGroups, dt_ms: f64) {
        self.0.resize(groups.0.len(), None);
        for (slot, g) in self.0.iter_mut().zip(&groups.0) {
            let super::Rule::EarlyCalcium(p) = &g.spec.rule else {
                *slot = None;
                continue;
            };
            if !slot
                .as_ref()
                .is_some_and(|(q, dt, _)| q == p && *dt == dt_ms)
            {
                *slot = Some((p.clone(), dt_ms, EarlyCalciumStep::new(p, dt_ms)));
            }
        }
    }
}

/// System: synapses following the early-phase calcium rule on every step (event-driven ones
/// take their steps in [`event_calcium`](super::event_calcium)).
pub fn early_calcium_rule(
    mut q: Query<
        (
            &Synapse,
            &SpineHeadCa,
            &mut SynapticWeight,
            &mut EarlyCalciumRule,
        ),
        Without<EventDriven>,
    >,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
    mut constants: Local<StepConstants>,
) {
    let (step, seed) = (clock.step, clock.seed);
    constants.update(&groups, clock.dt_ms);
    let constants = &*constants;
    for_each_table(&mut q, |(syn, ca, mut w, mut fine)| {
        let (w, fine) = (w.bypass_change_detection(), fine.bypass_change_detection());
        for (g, r) in group_runs(syn) {
            let Some((_, _, k)) = &constants.0[g] else {
                continue;
            };
            let z_scale = groups.0[g].h0_mv() as f32;
            let theta = k.theta_d.min(k.theta_p);
            for i in r {
                let c = ca[i].ca_um;
                let on = k.noise;
                let n = super::rule_noise(on, c as f64, theta as f64, seed, syn[i].id, step);
                let (wi, lo) = (&mut w[i], &mut fine[i].h_residual_mv);
                let h = k.h_step(crate::core::fine::join(wi.h_mv, *lo), c, n);
                (wi.h_mv, *lo) = crate::core::fine::split(h);
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
        let mut h = 2.0 * p.h0_mv;
        let tau_ms = 1000.0 * p.tau_h_s / p.relaxation;
        for _ in 0..tau_ms.round() as u64 {
            h = k.h_step(h, 0.0, 0.0);
        }
        let left = (h - p.h0_mv) / p.h0_mv;
        assert!((left - (-1.0f64).exp()).abs() < 1e-6, "{left}");
    }

    /// Above both thresholds h goes to h_top·γp/(γp + γd) = 8.40 mV ≈ 200 % of h0 (MODEL.md:
    /// "a strong tetanus drives h to about 200 % of h0").
    #[test]
    fn sustained_calcium_drives_h_to_twice_baseline() {
        let p = EarlyCalciumParams::default();
        let k = EarlyCalciumStep::new(&p, 0.1);
        let mut h = p.h0_mv;
        for _ in 0..100_000 {
            h = k.h_step(h, 10.0, 0.0);
        }
        let fixed = p.h_top_mv * p.gamma_p / (p.gamma_p + p.gamma_d);
        assert!((h - fixed).abs() < 0.05, "{h} vs {fixed}");
        assert!((fixed / p.h0_mv - 2.0).abs() < 0.01);
    }
}

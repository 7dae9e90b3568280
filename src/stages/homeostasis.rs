//! Stage 5 — astrocyte homeostatic scaling (global feedback).
//!
//! Each astrocyte covers a domain of postsynaptic neurons (and so all their incoming synapses).
//! It integrates their firing rate, τ_a·da/dt = −a + rate (τ_a ≈ 100 s), and sends back one
//! multiplicative factor for every synapse of the domain (van Rossum, Bi & Turrigiano 2000,
//! J Neurosci 20:8812):
//!
//! dS/dt = β·S·(a_goal − a) + γ·S·∫(a_goal − a)dt,   β ≈ 4e−5 s⁻¹Hz⁻¹, γ ≈ 1e−7 s⁻²Hz⁻¹
//!
//! integrated as S ← S·exp(Δt·(β·e + γ·I)). S multiplies the PSD slots of trafficked synapses
//! (and the efficacy of the others), so all efficacies of a domain scale by one common factor
//! (Turrigiano et al. 1998, Nature 391:892). There is no standard quantitative model of
//! astrocyte-mediated scaling: this one is van Rossum's synaptic scaling rule with the
//! integration done per astrocyte domain, and is documented as edra's own.

use crate::core::clock::Clock;
use crate::engine::ranks::Ranks;
use crate::engine::spikes::SpikeHistory;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// An astrocyte and the neurons `first_neuron..first_neuron + n_neurons` of its domain.
///
/// Its state is f64: the scaling factor changes by parts in 10^8 per step on a fine clock,
/// below f32 resolution (there are few astrocytes, so this costs nothing).
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AstrocyteUnit {
    pub id: u32,
    pub first_neuron: u32,
    pub n_neurons: u32,
    /// Index into [`AstrocyteScaling::params`].
    pub params: u32,
    /// Integrated firing rate of the domain, Hz.
    pub activity_hz: f64,
    /// ∫(a_goal − a)dt, Hz·s.
    pub error_integral_hz_s: f64,
    /// Multiplicative scaling factor S sent to the domain's synapses.
    pub scale: f64,
    /// Spikes of the domain since the last slow step.
    pub spikes_in_window: u32,
}

crate::params! {
    /// Parameters of an astrocyte group.
    pub struct AstrocyteParams {
        /// Integration time constant of activity.
        tau_activity_s: f64 = 100.0, "s", [1e-3, 1e7];
        /// Target rate of the domain.
        goal_hz: f64 = 5.0, "Hz", [0.0, 1e3];
        /// Proportional gain β.
        beta_per_s_hz: f64 = 4e-5, "1/(s Hz)", [0.0, 1.0];
        /// Integral gain γ.
        gamma_per_s2_hz: f64 = 1e-7, "1/(s² Hz)", [0.0, 1.0];
        /// Initial activity (by default the goal, so a run starts at rest).
        initial_activity_hz: Option<f64> = None, "Hz", [0.0, 1e3];
    }
}

/// The scaling factor of each neuron's astrocyte (1 for neurons no astrocyte covers), read by
/// stage 4 per synapse through its postsynaptic neuron.
#[derive(Resource, Default, Clone, Debug)]
pub struct AstrocyteScaling {
    pub per_neuron: Vec<f32>,
    /// Name and replica of each astrocyte group (indexed like `params`).
    pub names: Vec<(String, u32)>,
    pub params: Vec<AstrocyteParams>,
}

impl AstrocyteScaling {
    /// Whether the scene has no astrocytes, so that every neuron's factor is exactly 1.
    pub fn is_identity(&self) -> bool {
        self.params.is_empty()
    }

    /// The factor of every neuron, or none when every factor is 1 (no astrocytes): what
    /// [`factor`] reads, so that it skips the lookup then (the same values).
    pub fn factors(&self) -> &[f32] {
        match self.is_identity() {
            true => &[],
            false => &self.per_neuron,
        }
    }
}

/// The factor of neuron `post` in `factors` ([`AstrocyteScaling::factors`]): 1 when there are
/// none, without reading anything.
#[inline(always)]
pub fn factor(factors: &[f32], post: u32) -> f32 {
    match factors.is_empty() {
        true => 1.0,
        false => factors[post as usize],
    }
}

/// One slow step of an astrocyte; `dt_s` is the slow step in seconds.
pub fn astrocyte_step(p: &AstrocyteParams, dt_s: f64, a: &mut AstrocyteUnit) {
    let rate = a.spikes_in_window as f64 / (a.n_neurons.max(1) as f64 * dt_s);
    let act = a.activity_hz;
    let act = rate + (act - rate) * (-dt_s / p.tau_activity_s).exp();
    let err = p.goal_hz - act;
    let integral = a.error_integral_hz_s + err * dt_s;
    let growth = p.beta_per_s_hz * err + p.gamma_per_s2_hz * integral;
    a.scale *= (growth * dt_s).exp();
    a.activity_hz = act;
    a.error_integral_hz_s = integral;
    a.spikes_in_window = 0;
}

/// System (every step): each astrocyte counts the spikes of its domain.
pub fn count_domain_spikes(
    mut q: Query<&mut AstrocyteUnit>,
    spikes: Res<SpikeHistory>,
    clock: Res<Clock>,
) {
    for mut a in &mut q {
        let n = spikes.count_range(clock.step, a.first_neuron, a.n_neurons);
        a.spikes_in_window += n;
    }
}

/// System (slow clock): astrocytes integrate activity and publish their scaling factor.
///
/// On a run shared among ranks each rank counted the spikes of the neurons it owns; the
/// windows' counts are summed over the ranks first (integers: exact in any order), so every
/// rank integrates every astrocyte alike.
pub fn integrate_astrocytes(
    mut q: Query<&mut AstrocyteUnit>,
    mut scaling: ResMut<AstrocyteScaling>,
    clock: Res<Clock>,
    ranks: Res<Ranks>,
    mut counts: Local<[Vec<u64>; 2]>,
) {
    if ranks.size() > 1 {
        sum_windows_over_ranks(&mut q, &ranks, &mut counts);
    }
    let dt_s = clock.slow_dt_ms() / 1000.0;
    let scaling = &mut *scaling;
    for mut a in &mut q {
        astrocyte_step(&scaling.params[a.params as usize], dt_s, &mut a);
        let (first, n) = (a.first_neuron as usize, a.n_neurons as usize);
        scaling.per_neuron[first..first + n].fill(a.scale as f32);
    }
}

/// Replaces each astrocyte's window count by its sum over the ranks (one collective, into
/// buffers kept between calls). Query order is the same on every rank: every rank spawns every
/// astrocyte, in the same order.
fn sum_windows_over_ranks(
    q: &mut Query<&mut AstrocyteUnit>,
    ranks: &Ranks,
    [mine, sums]: &mut [Vec<u64>; 2],
) {
    mine.clear();
    mine.extend(q.iter().map(|a| a.spikes_in_window as u64));
    sums.resize(mine.len(), 0);
    ranks.all_reduce_sum_u64_into(mine, sums);
    for (mut a, &n) in q.iter_mut().zip(sums.iter()) {
        a.spikes_in_window = n as u32;
    }
}

/// Registers the astrocytes in [`Stage::Homeostasis`](crate::engine::schedule::Stage::Homeostasis):
/// spike counting every step, integration on the slow clock.
pub fn plugin(s: &mut Schedule) {
    use crate::core::clock::on_slow_step;
    use crate::engine::schedule::Stage;
    s.add_systems(
        (
            count_domain_spikes,
            integrate_astrocytes.run_if(on_slow_step),
        )
            .chain()
            .in_set(Stage::Homeostasis),
    );
}

/// Astrocyte variables a recorder can sample.
pub const ASTROCYTE_VARIABLES: [&str; 3] = ["activity_hz", "error_integral_hz_s", "scale"];
/// The units of [`ASTROCYTE_VARIABLES`] (`1`: dimensionless).
pub const ASTROCYTE_UNITS: [&str; 3] = ["Hz", "Hz·s", "1"];

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(rate_hz: f64) -> (AstrocyteUnit, u32) {
        let a = AstrocyteUnit {
            id: 0,
            first_neuron: 0,
            n_neurons: 10,
            params: 0,
            activity_hz: 5.0,
            error_integral_hz_s: 0.0,
            scale: 1.0,
            spikes_in_window: 0,
        };
        (a, (rate_hz * 10.0) as u32)
    }

    #[test]
    fn silence_scales_up_and_overactivity_scales_down() {
        let p = AstrocyteParams::default();
        for (rate, up) in [(0.0, true), (20.0, false)] {
            let (mut a, spikes_per_s) = unit(rate);
            for _ in 0..3600 {
                a.spikes_in_window = spikes_per_s;
                astrocyte_step(&p, 1.0, &mut a);
            }
            assert_eq!(a.scale > 1.0, up, "rate {rate}: scale {}", a.scale);
        }
    }

    /// Audit of rounding on a fine slow clock (issue 17): the astrocyte's state is f64, so at a
    /// slow step of 0.01 ms (10^7 steps over 100 s of silence) activity, error integral and
    /// scaling follow their closed forms: a = 5·e^(−t/τa), I = g·t − 5τa(1 − e^(−t/τa)),
    /// ln S = β∫(g − a)dt + γ∫I dt; to 1e-6 relative (the step's first-order error is 5e-8).
    #[test]
    fn fine_slow_clock_follows_the_closed_form() {
        let p = AstrocyteParams::default();
        let (mut a, _) = unit(0.0);
        let (dt_s, t) = (1e-5f64, 100.0f64);
        for _ in 0..(t / dt_s).round() as u64 {
            astrocyte_step(&p, dt_s, &mut a);
        }
        let (tau, g, a0) = (p.tau_activity_s, p.goal_hz, 5.0);
        let decayed = 1.0 - (-t / tau).exp();
        let activity = a0 * (-t / tau).exp();
        let integral = g * t - a0 * tau * decayed;
        let int_err = g * t - a0 * tau * decayed;
        let int_integral = 0.5 * g * t * t - a0 * tau * t + a0 * tau * tau * decayed;
        let ln_s = p.beta_per_s_hz * int_err + p.gamma_per_s2_hz * int_integral;
        assert!(
            (a.activity_hz - activity).abs() < 1e-6 * a0,
            "{} vs {activity}",
            a.activity_hz
        );
        assert!((a.error_integral_hz_s - integral).abs() < 1e-6 * integral);
        assert!(
            (a.scale.ln() - ln_s).abs() < 1e-6 * ln_s,
            "{} vs {ln_s}",
            a.scale.ln()
        );
    }
}

//! The neuron models and their systems.

use super::{Neuron, NeuronGroups};
use crate::core::clock::Clock;
use crate::core::param_path::{At, ParamValue, SetError, SetPath, set_in};
use crate::core::params::{Checker, Validate};
use crate::core::rng::{self, Purpose};
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// The model of a neuron group, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NeuronModel {
    /// Independent Poisson spike trains.
    Poisson {
        rate_hz: f64,
    },
    /// Regular spike trains: the first spike at `phase_ms`, then one every 1/`rate_hz`.
    Regular {
        rate_hz: f64,
        /// Time of the first spike, ms. Default 0.
        #[serde(default)]
        phase_ms: f64,
    },
    /// The same explicit spike times (ms, ascending) for every neuron of the group.
    SpikeTimes {
        times_ms: Vec<f64>,
    },
    /// A pre/post pairing protocol; the group has two neurons: 0 is pre, 1 is post.
    Pairing(PairingProtocol),
    Lif(LifParams),
    Izhikevich(IzhikevichParams),
}

/// Pre/post pairing: `pairs` repetitions at `frequency_hz`; the post spike follows the pre spike
/// by `delta_t_ms` (negative: post first). The first pair is at `start_ms` (the earlier spike).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairingProtocol {
    pub delta_t_ms: f64,
    pub pairs: u32,
    pub frequency_hz: f64,
    pub start_ms: f64,
}

impl Default for PairingProtocol {
    fn default() -> Self {
        PairingProtocol {
            delta_t_ms: 10.0,
            pairs: 60,
            frequency_hz: 1.0,
            start_ms: 100.0,
        }
    }
}

impl PairingProtocol {
    /// Spike time of pair `k` for role 0 (pre) or 1 (post), ms.
    pub fn spike_ms(&self, role: u32, k: u32) -> f64 {
        let base = self.start_ms + k as f64 * 1000.0 / self.frequency_hz;
        let (pre, post) = if self.delta_t_ms >= 0.0 {
            (0.0, self.delta_t_ms)
        } else {
            (-self.delta_t_ms, 0.0)
        };
        base + if role == 0 { pre } else { post }
    }

    /// Simulated time the protocol takes, ms.
    pub fn end_ms(&self) -> f64 {
        self.spike_ms(1, self.pairs.saturating_sub(1))
            .max(self.spike_ms(0, self.pairs.saturating_sub(1)))
    }
}

/// Leaky integrate-and-fire parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifParams {
    /// Membrane time constant, ms. Default 20.
    pub tau_m_ms: f64,
    /// Resting (leak) potential, mV. Default −70.
    pub e_l_mv: f64,
    /// Threshold, mV. Default −54.
    pub v_th_mv: f64,
    /// Reset potential, mV. Default −70.
    pub v_reset_mv: f64,
    /// Refractory period, ms. Default 2.
    pub refractory_ms: f64,
    /// Constant drive R·I, mV. Default 0.
    pub drive_mv: f64,
    /// Random kicks (as in Izhikevich 2007's thalamic input). Default none.
    pub kick: Option<RandomKick>,
}

impl Default for LifParams {
    fn default() -> Self {
        LifParams {
            tau_m_ms: 20.0,
            e_l_mv: -70.0,
            v_th_mv: -54.0,
            v_reset_mv: -70.0,
            refractory_ms: 2.0,
            drive_mv: 0.0,
            kick: None,
        }
    }
}

/// Izhikevich (2003) parameters. Default: regular spiking (RS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IzhikevichParams {
    pub a: f64,
    pub b: f64,
    /// Reset of v, mV.
    pub c_mv: f64,
    /// Reset increment of u.
    pub d: f64,
    /// Constant input current I (mV/ms in the model's units). Default 0.
    pub i_ext: f64,
    /// Random kicks of I. Default none.
    pub kick: Option<RandomKick>,
    /// Uniform noise added to I, drawn afresh per neuron per step. Default none.
    pub noise: Option<UniformNoise>,
}

impl Default for IzhikevichParams {
    fn default() -> Self {
        IzhikevichParams {
            a: 0.02,
            b: 0.2,
            c_mv: -65.0,
            d: 8.0,
            i_ext: 0.0,
            kick: None,
            noise: None,
        }
    }
}

/// A current I_noise ~ Uniform[`min`, `max`) (same units as `i_ext`) added to I, drawn
/// independently for each neuron in each millisecond ([`input_bin`]) and held through it.
/// Izhikevich (2007, Cereb Cortex 17:2443), in the code published with the paper (daspnet.m),
/// gives every neuron the "random thalamic input" `I = 13*(rand-0.5)` each 1 ms step, i.e.
/// `min: -6.5, max: 6.5`; holding the draw for 1 ms makes it the same input process at any
/// dt ≤ 1 ms. The draw is keyed by (seed, neuron id, bin), so it does not depend on the thread
/// count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniformNoise {
    pub min: f64,
    pub max: f64,
}

/// Random kicks at `rate_hz` per neuron (Izhikevich 2007 gives one random neuron of N a kick of
/// 20 each ms: rate 1000/N Hz). For a LIF neuron a kick is a jump of v by `amplitude` mV, with
/// probability rate·dt per step; for an Izhikevich neuron it is a current of `amplitude` held
/// through one [`input_bin`] (1 ms, as in his 1 ms steps), with probability rate·max(dt, 1 ms)
/// per bin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomKick {
    pub rate_hz: f64,
    pub amplitude: f64,
}

/// `model.rate_hz` sets a field of the group's model (`model.Poisson.rate_hz` also names it).
impl SetPath for NeuronModel {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            NeuronModel::Poisson { rate_hz } => {
                set_in(at.variant("Poisson"), value, &mut [("rate_hz", rate_hz)])
            }
            NeuronModel::Regular { rate_hz, phase_ms } => set_in(
                at.variant("Regular"),
                value,
                &mut [("rate_hz", rate_hz), ("phase_ms", phase_ms)],
            ),
            NeuronModel::SpikeTimes { times_ms } => set_in(
                at.variant("SpikeTimes"),
                value,
                &mut [("times_ms", times_ms)],
            ),
            NeuronModel::Pairing(p) => p.set_at(at.variant("Pairing"), value),
            NeuronModel::Lif(p) => p.set_at(at.variant("Lif"), value),
            NeuronModel::Izhikevich(p) => p.set_at(at.variant("Izhikevich"), value),
        }
    }
}

crate::settable!(PairingProtocol {
    delta_t_ms,
    pairs,
    frequency_hz,
    start_ms
});
crate::settable!(LifParams {
    tau_m_ms,
    e_l_mv,
    v_th_mv,
    v_reset_mv,
    refractory_ms,
    drive_mv,
    kick
});
crate::settable!(IzhikevichParams {
    a,
    b,
    c_mv,
    d,
    i_ext,
    kick,
    noise
});
crate::settable!(UniformNoise { min, max });
crate::settable!(RandomKick { rate_hz, amplitude });

impl NeuronModel {
    pub fn validate(&self, c: &mut Checker, size: u32, dt_ms: f64) {
        let kick = |c: &mut Checker, k: &Option<RandomKick>| {
            if let Some(k) = k {
                c.within("kick", |c| {
                    c.range("rate_hz", k.rate_hz, 0.0, 1000.0 / dt_ms, "Hz");
                    c.range("amplitude", k.amplitude, -1e3, 1e3, "");
                });
            }
        };
        match self {
            NeuronModel::Poisson { rate_hz } => {
                c.range("rate_hz", *rate_hz, 0.0, 1000.0 / dt_ms, "Hz")
            }
            NeuronModel::Regular { rate_hz, phase_ms } => {
                c.range("rate_hz", *rate_hz, 1e-6, 1000.0 / dt_ms, "Hz");
                c.range("phase_ms", *phase_ms, 0.0, 1e10, "ms");
            }
            NeuronModel::SpikeTimes { times_ms } => {
                if times_ms.iter().any(|t| !t.is_finite() || *t < 0.0) {
                    c.fail("times_ms", "spike times must be finite and ≥ 0 ms");
                }
                if times_ms.windows(2).any(|w| w[1] < w[0]) {
                    c.fail("times_ms", "spike times must be in ascending order");
                }
            }
            NeuronModel::Pairing(p) => {
                if size != 2 {
                    c.fail(
                        "",
                        format!("a Pairing group has exactly 2 neurons (pre, post), not {size}"),
                    );
                }
                c.range("delta_t_ms", p.delta_t_ms, -1e4, 1e4, "ms");
                c.range("frequency_hz", p.frequency_hz, 1e-6, 1e3, "Hz");
                c.range("start_ms", p.start_ms, 0.0, 1e10, "ms");
                if p.delta_t_ms.abs() >= 1000.0 / p.frequency_hz {
                    c.fail(
                        "delta_t_ms",
                        "|delta_t_ms| must be shorter than the pairing period",
                    );
                }
            }
            NeuronModel::Lif(p) => {
                c.range("tau_m_ms", p.tau_m_ms, 0.01, 1e5, "ms");
                c.range("e_l_mv", p.e_l_mv, -200.0, 100.0, "mV");
                c.range("v_th_mv", p.v_th_mv, p.v_reset_mv, 100.0, "mV");
                c.range("v_reset_mv", p.v_reset_mv, -200.0, 100.0, "mV");
                c.range("refractory_ms", p.refractory_ms, 0.0, 1e3, "ms");
                c.range("drive_mv", p.drive_mv, -1e3, 1e3, "mV");
                kick(c, &p.kick);
            }
            NeuronModel::Izhikevich(p) => {
                c.range("a", p.a, 0.0, 10.0, "");
                c.range("b", p.b, -10.0, 10.0, "");
                c.range("c_mv", p.c_mv, -200.0, 30.0, "mV");
                c.range("d", p.d, -100.0, 100.0, "");
                c.range("i_ext", p.i_ext, -1e3, 1e3, "");
                kick(c, &p.kick);
                if let Some(nz) = &p.noise {
                    c.within("noise", |c| {
                        c.range("min", nz.min, -1e3, 1e3, "");
                        c.range("max", nz.max, nz.min, 1e3, "");
                    });
                }
            }
        }
    }
}

impl Validate for PairingProtocol {
    fn validate(&self, c: &mut Checker) {
        NeuronModel::Pairing(self.clone()).validate(c, 2, 1.0);
    }
}

/// Marker: a Poisson spike source.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct PoissonSource;

/// Marker: a regular spike source.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct RegularSource;

/// Marker: a pairing-protocol neuron (its role, pre or post, is its index in the group).
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct PairingSource;

/// Position in a `SpikeTimes` list.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpikeCursor {
    pub next: u32,
}

/// State of a LIF neuron.
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LifState {
    pub v_mv: f32,
    pub refractory_steps: u32,
}

/// State of an Izhikevich neuron.
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IzhikevichState {
    pub v_mv: f32,
    pub u: f32,
}

/// Whether a periodic train with period `period_ms` starting at `first_ms` fires on `step`.
fn periodic_fires(step: u64, dt: f64, first_ms: f64, period_ms: f64, count: Option<u32>) -> bool {
    let t = step as f64 * dt;
    let k = ((t - first_ms) / period_ms).round();
    if k < 0.0 || count.is_some_and(|n| k >= n as f64) {
        return false;
    }
    ((first_ms + k * period_ms) / dt).round() as u64 == step
}

/// The first step after `after` on which a periodic train (as [`periodic_fires`] has it) fires,
/// `None` once it has no spike left. A train with a period under two steps, or one whose next
/// spike is not found in a few periods, gives `after + 1`: every step may have a spike.
fn next_periodic(
    after: u64,
    dt: f64,
    first_ms: f64,
    period_ms: f64,
    count: Option<u32>,
) -> Option<u64> {
    if !(period_ms.is_finite() && period_ms >= 2.0 * dt) {
        return Some(after + 1);
    }
    let t = (after + 1) as f64 * dt;
    let mut k = (((t - first_ms) / period_ms).floor() - 1.0).max(0.0);
    for _ in 0..8 {
        if count.is_some_and(|n| k >= n as f64) {
            return None;
        }
        let step = ((first_ms + k * period_ms) / dt).round();
        if step > after as f64 && periodic_fires(step as u64, dt, first_ms, period_ms, count) {
            return Some(step as u64);
        }
        k += 1.0;
    }
    Some(after + 1)
}

/// The first step after `after` on which a neuron of a regular or pairing source group fires
/// (`None`: none will, or the group is not one of these).
pub fn next_periodic_spike(g: &super::NeuronGroupRt, after: u64, dt: f64) -> Option<u64> {
    match g.spec.model {
        NeuronModel::Regular { rate_hz, phase_ms } => {
            next_periodic(after, dt, phase_ms, 1000.0 / rate_hz, None)
        }
        NeuronModel::Pairing(ref p) => {
            let period = 1000.0 / p.frequency_hz;
            let role = |r: u32| next_periodic(after, dt, p.spike_ms(r, 0), period, Some(p.pairs));
            let post = if g.spec.size > 1 { role(1) } else { None };
            [role(0), post].into_iter().flatten().min()
        }
        _ => None,
    }
}

/// Runs `fires` for every neuron of a source query and fires those that do (synapses onto
/// sources deliver no input: a source's spikes do not depend on it).
fn fire_each<'a>(
    neurons: impl Iterator<Item = &'a Neuron>,
    spikes: &SpikeHistory,
    clock: &Clock,
    fires: impl Fn(&Neuron) -> bool,
) {
    for n in neurons {
        if fires(n) {
            spikes.fire(clock.step, n.id);
        }
    }
}

/// System: regular sources fire at phase + k/rate.
pub fn fire_regular(
    q: Query<&Neuron, With<RegularSource>>,
    groups: Res<NeuronGroups>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
) {
    fire_each(q.iter(), &spikes, &clock, |n| {
        let NeuronModel::Regular { rate_hz, phase_ms } = groups.0[n.group as usize].spec.model
        else {
            return false;
        };
        periodic_fires(clock.step, clock.dt_ms, phase_ms, 1000.0 / rate_hz, None)
    });
}

/// System: pairing protocols; neuron 0 of the group is pre, neuron 1 post.
pub fn fire_pairing(
    q: Query<&Neuron, With<PairingSource>>,
    groups: Res<NeuronGroups>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
) {
    fire_each(q.iter(), &spikes, &clock, |n| {
        let g = &groups.0[n.group as usize];
        let NeuronModel::Pairing(p) = &g.spec.model else {
            return false;
        };
        let first_ms = p.spike_ms(n.id - g.first, 0);
        periodic_fires(
            clock.step,
            clock.dt_ms,
            first_ms,
            1000.0 / p.frequency_hz,
            Some(p.pairs),
        )
    });
}

/// The step of a spike time.
fn step_of(t_ms: f64, dt_ms: f64) -> u64 {
    (t_ms / dt_ms).round() as u64
}

/// System: explicit spike times, read through each neuron's cursor. The neurons of a group are
/// visited only on the steps one of them has a spike due (`due`: per neuron group, the earliest
/// step of its neurons' next spikes, found again after they move and whenever the groups
/// change), so that a step without spikes costs one comparison per group. Spike sources take
/// no input (synapses onto them deliver none).
pub fn fire_spike_times(
    mut q: Query<(&Neuron, &mut SpikeCursor)>,
    groups: Res<NeuronGroups>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
    mut due: Local<Vec<u64>>,
    mut now: Local<Vec<bool>>,
    mut next: Option<ResMut<SpikeTimesDue>>,
) {
    let times = |g: u16| match &groups.0[g as usize].spec.model {
        NeuronModel::SpikeTimes { times_ms } => Some(times_ms),
        _ => None,
    };
    if groups.is_changed() || due.len() != groups.0.len() {
        *due = vec![u64::MAX; groups.0.len()];
        for (n, c) in &q {
            if let Some(t) = times(n.group).and_then(|t| t.get(c.next as usize)) {
                let d = &mut due[n.group as usize];
                *d = (*d).min(step_of(*t, clock.dt_ms));
            }
        }
    }
    // What a run that skips idle steps wakes for: the earliest next spike, once this step's
    // have fired.
    let mut tell = |due: &[u64]| {
        if let Some(next) = next.as_mut() {
            next.0 = due.iter().copied().min().unwrap_or(u64::MAX);
        }
    };
    if !due.iter().any(|&d| d <= clock.step) {
        tell(&due);
        return;
    }
    // The groups with a spike due now (kept between steps: no allocation once sized).
    now.clear();
    now.extend(due.iter().map(|&d| d <= clock.step));
    for g in (0..due.len()).filter(|&g| now[g]) {
        due[g] = u64::MAX;
    }
    for (n, mut cursor) in &mut q {
        let g = n.group as usize;
        let (true, Some(times_ms)) = (now[g], times(n.group)) else {
            continue;
        };
        let c = cursor.bypass_change_detection();
        let mut fired = false;
        while let Some(&t) = times_ms.get(c.next as usize) {
            let s = step_of(t, clock.dt_ms);
            if s > clock.step {
                due[g] = due[g].min(s);
                break;
            }
            fired |= s == clock.step;
            c.next += 1;
        }
        if fired {
            spikes.fire(clock.step, n.id);
        }
    }
    tell(&due);
}

/// The earliest step on which a spike-time source has its next spike (`u64::MAX`: none left),
/// as [`fire_spike_times`] leaves it after each step it runs.
#[derive(Resource, Clone, Copy, Debug, Default)]
pub struct SpikeTimesDue(pub u64);

/// The bin of 1 ms (or of one step, when dt > 1 ms) that `clock`'s step falls in. Random
/// kicks and the uniform noise of Izhikevich neurons are drawn once per bin and held through it,
/// so their effect does not depend on dt. At dt = 1 ms the bin is the step.
pub fn input_bin(clock: &Clock) -> u64 {
    if clock.dt_ms >= 1.0 {
        clock.step
    } else {
        // The step's start in µs, rounded, then its millisecond (exact for dt = 1/k ms).
        (clock.step as f64 * clock.dt_ms * 1000.0).round() as u64 / 1000
    }
}

/// Length of an [`input_bin`], ms.
fn input_bin_ms(dt_ms: f64) -> f64 {
    dt_ms.max(1.0)
}

/// The kick of LIF neuron `id` on this step (`draws`: this step's [`Purpose::NeuronKick`]
/// draws): a jump, with probability rate·dt per step.
fn kick(k: &Option<RandomKick>, draws: &rng::Draws, dt_ms: f64, id: u32) -> f32 {
    match k {
        Some(k) if draws.below(id as u64, rng::threshold(k.rate_hz * dt_ms / 1000.0)) => {
            k.amplitude as f32
        }
        _ => 0.0,
    }
}

/// The uniform input noise of neuron `id` on this step (`draws`: this bin's
/// [`Purpose::NeuronNoise`] draws): min + (max − min)·U, U ~ Uniform[0, 1) (Izhikevich 2007,
/// daspnet.m: `13*(rand-0.5)`).
#[inline(always)]
fn uniform_noise(nz: &UniformNoise, draws: &rng::Draws, id: u32) -> f32 {
    (nz.min + (nz.max - nz.min) * draws.uniform_f64(id as u64)) as f32
}

/// One step of a LIF neuron; returns whether it fired.
pub fn lif_step(p: &LifParams, dt_ms: f64, input_mv: f32, s: &mut LifState) -> bool {
    if s.refractory_steps > 0 {
        s.refractory_steps -= 1;
        s.v_mv = p.v_reset_mv as f32;
        return false;
    }
    let decay = (-dt_ms / p.tau_m_ms).exp();
    let v_inf = p.e_l_mv + p.drive_mv;
    let v = v_inf + (s.v_mv as f64 - v_inf) * decay + input_mv as f64;
    if v >= p.v_th_mv {
        s.v_mv = p.v_reset_mv as f32;
        s.refractory_steps = (p.refractory_ms / dt_ms).round() as u32;
        true
    } else {
        s.v_mv = v as f32;
        false
    }
}

/// System: LIF neurons.
pub fn update_lif(
    mut q: Query<(&Neuron, &mut LifState)>,
    groups: Res<NeuronGroups>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
) {
    let kicks = rng::Draws::new(clock.seed, clock.step, Purpose::NeuronKick);
    let (clock, spikes, input) = (&*clock, &*spikes, &*input);
    crate::core::synapse::for_each_table(&mut q, |(ns, mut st)| {
        for (n, s) in ns.iter().zip(st.bypass_change_detection()) {
            let NeuronModel::Lif(p) = &groups.0[n.group as usize].spec.model else {
                continue;
            };
            let i = input.take(n.id) + kick(&p.kick, &kicks, clock.dt_ms, n.id);
            if lif_step(p, clock.dt_ms, i, s) {
                spikes.fire(clock.step, n.id);
            }
        }
    });
}

/// One step of an Izhikevich neuron (his 2003/2007 code: fire and reset, then v in two
/// half-steps, then u); returns whether it fired. `jump_mv` is the synaptic input that reached
/// the soma: v jumps by it at the end of the step, after the membrane update, so a synapse of
/// efficacy w moves v by exactly w whatever dt is (Brian2 likewise runs `on_pre: v += w` after
/// the state update; a jump to 30 mV or above fires on the next step). `current` (kicks and
/// noise) enters I, as in his code.
pub fn izhikevich_step(
    p: &IzhikevichParams,
    dt_ms: f64,
    jump_mv: f32,
    current: f32,
    s: &mut IzhikevichState,
) -> bool {
    let (mut v, mut u) = (s.v_mv as f64, s.u as f64);
    let fired = v >= 30.0;
    if fired {
        v = p.c_mv;
        u += p.d;
    }
    let i = p.i_ext + current as f64;
    let h = 0.5 * dt_ms;
    for _ in 0..2 {
        v += h * (0.04 * v * v + 5.0 * v + 140.0 - u + i);
    }
    u += dt_ms * p.a * (p.b * v - u);
    s.v_mv = (v + jump_mv as f64).min(30.0) as f32;
    s.u = u as f32;
    fired
}

/// Neurons per block of [`update_izhikevich`].
const BLOCK: usize = 64;

/// System: Izhikevich neurons, run by run of one group and block by block: each block's input
/// is gathered first (synaptic input, kicks, noise), then the model steps the block in a plain
/// loop over its states, then its spikes are written.
pub fn update_izhikevich(
    mut q: Query<(&Neuron, &mut IzhikevichState)>,
    groups: Res<NeuronGroups>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
) {
    let kicks = rng::Draws::new(clock.seed, input_bin(&clock), Purpose::NeuronKick);
    let noise = rng::Draws::new(clock.seed, input_bin(&clock), Purpose::NeuronNoise);
    let (clock, spikes, input) = (&*clock, &*spikes, &*input);
    crate::core::synapse::for_each_table(&mut q, |(ns, mut st)| {
        let st = st.bypass_change_detection();
        for (g, r) in crate::core::synapse::neuron_group_runs(ns) {
            let (run, states) = (&ns[r.clone()], &mut st[r]);
            let NeuronModel::Izhikevich(p) = &groups.0[g].spec.model else {
                continue;
            };
            let kick = p.kick.as_ref().map(|k| {
                let t = rng::threshold(k.rate_hz * input_bin_ms(clock.dt_ms) / 1000.0);
                (t, k.amplitude as f32)
            });
            for (ns, st) in run.chunks(BLOCK).zip(states.chunks_mut(BLOCK)) {
                // current = kick + noise and the synaptic jumps, in plain loops (the kicks'
                // hashes vectorize apart from the input's loads and stores).
                let (mut current, mut jump) = ([0f32; BLOCK], [0f32; BLOCK]);
                if let Some((t, amplitude)) = kick {
                    for (d, n) in current.iter_mut().zip(ns) {
                        *d = if kicks.below(n.id as u64, t) {
                            amplitude
                        } else {
                            0.0
                        };
                    }
                }
                if let Some(nz) = &p.noise {
                    for (d, n) in current.iter_mut().zip(ns) {
                        *d += uniform_noise(nz, &noise, n.id);
                    }
                }
                for (j, n) in jump.iter_mut().zip(ns) {
                    *j = input.take(n.id);
                }
                let mut fired = [false; BLOCK];
                let drive = jump.iter().zip(&current);
                for ((s, (&j, &c)), f) in st.iter_mut().zip(drive).zip(&mut fired) {
                    *f = izhikevich_step(p, clock.dt_ms, j, c, s);
                }
                for (n, _) in ns.iter().zip(&fired).filter(|x| *x.1) {
                    spikes.fire(clock.step, n.id);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next step of a periodic train is the first step after `after` on which
    /// `periodic_fires` says it fires, found by trying every step: regular trains, trains that
    /// start late or early, trains with a last spike, periods not a multiple of dt.
    #[test]
    fn next_periodic_finds_the_next_step_that_fires() {
        let trains = [
            (0.1, 40.0, 333.3, None),
            (0.1, -5.0, 100.0, Some(7)),
            (0.5, 200.0, 1000.0, Some(3)),
            (0.25, 0.3, 0.7, None),
            (1.0, 12.0, 50.0, Some(1)),
        ];
        for (dt, first, period, count) in trains {
            let fires = |s| periodic_fires(s, dt, first, period, count);
            for after in (0..6000).step_by(37) {
                let brute = (after + 1..after + 20_000).find(|&s| fires(s));
                let next = next_periodic(after, dt, first, period, count);
                if period < 2.0 * dt {
                    assert_eq!(next, Some(after + 1));
                } else {
                    assert_eq!(
                        next, brute,
                        "dt {dt}, first {first}, period {period}, after {after}"
                    );
                }
            }
        }
    }

    /// `phase_ms` may be left out, as other fields with a default: the train starts at 0 ms.
    #[test]
    fn regular_phase_defaults_to_0() {
        let m: NeuronModel = ron::from_str("Regular(rate_hz: 10.0)").unwrap();
        assert_eq!(
            m,
            NeuronModel::Regular {
                rate_hz: 10.0,
                phase_ms: 0.0
            }
        );
        let scene = "Scene(name: \"r\", dt_ms: 1.0, duration_ms: 250.0, neurons: \
                     [NeuronGroup(name: \"g\", size: 1, model: Regular(rate_hz: 10.0))])";
        let mut sim = crate::Simulation::from_ron("regular", scene).unwrap();
        let mut fired = Vec::new();
        for _ in 0..250 {
            let t = sim.t_ms();
            sim.step().unwrap();
            if sim.write_spikes_of_last_step(&mut std::io::sink()).unwrap() > 0 {
                fired.push(t);
            }
        }
        assert_eq!(fired, vec![0.0, 100.0, 200.0]);
    }

    #[test]
    fn pairing_times_follow_the_protocol() {
        let p = PairingProtocol {
            delta_t_ms: -10.0,
            pairs: 3,
            frequency_hz: 2.0,
            start_ms: 50.0,
        };
        assert_eq!(p.spike_ms(0, 0), 60.0);
        assert_eq!(p.spike_ms(1, 0), 50.0);
        assert_eq!(p.spike_ms(0, 2), 1060.0);
        let fires: Vec<u64> = (0..20000)
            .filter(|&s| periodic_fires(s, 0.1, 60.0, 500.0, Some(3)))
            .collect();
        assert_eq!(fires, vec![600, 5600, 10600]);
    }

    /// Izhikevich (2003): an RS neuron with I = 10 fires tonically at a few tens of Hz.
    #[test]
    fn regular_spiking_neuron_fires_tonically() {
        let p = IzhikevichParams {
            i_ext: 10.0,
            ..Default::default()
        };
        let mut s = IzhikevichState {
            v_mv: -65.0,
            u: -13.0,
        };
        let spikes = (0..1000)
            .filter(|_| izhikevich_step(&p, 1.0, 0.0, 0.0, &mut s))
            .count();
        assert!((10..60).contains(&spikes), "{spikes} spikes in 1 s");
    }

    /// The uniform noise of Izhikevich (2007, daspnet.m: `13*(rand-0.5)`, i.e. [−6.5, 6.5)):
    /// every draw within the bounds, mean 0 and variance 13²/12 = 14.08 over many neurons and
    /// steps (standard error of the mean 3.75/√n = 0.0084 for n = 200 000; bounds at 5σ).
    #[test]
    fn uniform_noise_has_the_published_range_and_moments() {
        let nz = UniformNoise {
            min: -6.5,
            max: 6.5,
        };
        let (mut s, mut s2, mut lo, mut hi) = (0.0f64, 0.0f64, f64::MAX, f64::MIN);
        let n = 200_000u64;
        for k in 0..n {
            let clock = Clock {
                step: k / 1000,
                dt_ms: 1.0,
                slow_every: 1,
                seed: 9,
            };
            let draws = rng::Draws::new(clock.seed, input_bin(&clock), Purpose::NeuronNoise);
            let x = uniform_noise(&nz, &draws, (k % 1000) as u32) as f64;
            s += x;
            s2 += x * x;
            lo = lo.min(x);
            hi = hi.max(x);
        }
        let (mean, var) = (s / n as f64, s2 / n as f64 - (s / n as f64).powi(2));
        assert!(lo >= -6.5 && hi <= 6.5, "range [{lo}, {hi}]");
        // Over 200 000 draws the extremes come within 0.001 of the bounds (miss probability
        // (1 − 0.001/13)^200000 ≈ e^-15).
        assert!(lo < -6.499 && hi > 6.499, "range [{lo}, {hi}]");
        assert!(mean.abs() < 0.042, "mean {mean}");
        // Variance of the sample variance ≈ (μ4 − σ⁴)/n = (1.8 − 1)·14.08²/n: σ 0.028; 5σ 0.14.
        assert!((var - 169.0 / 12.0).abs() < 0.14, "variance {var}");
    }

    /// The noise bounds are checked like the other inputs: finite, within ±1000, max ≥ min.
    #[test]
    fn uniform_noise_bounds_are_validated() {
        let errors = |min: f64, max: f64| {
            let mut c = Checker::default();
            NeuronModel::Izhikevich(IzhikevichParams {
                noise: Some(UniformNoise { min, max }),
                ..Default::default()
            })
            .validate(&mut c, 10, 1.0);
            c.errors
        };
        assert!(errors(-6.5, 6.5).is_empty());
        assert_eq!(errors(1.0, -1.0)[0].0, "noise.max");
        assert_eq!(errors(f64::NAN, 1.0)[0].0, "noise.min");
        assert_eq!(errors(0.0, 2e3)[0].0, "noise.max");
    }

    /// A LIF neuron driven to E_L + 20 mV with θ 16 mV above E_L fires at the analytic rate
    /// 1/(t_ref + τ ln(20/4)) = 1/(2 + 20·1.609) ms = 29.3 Hz.
    #[test]
    fn lif_rate_matches_the_analytic_rate() {
        let p = LifParams {
            drive_mv: 20.0,
            ..Default::default()
        };
        let mut s = LifState {
            v_mv: -70.0,
            refractory_steps: 0,
        };
        let n = (0..100_000)
            .filter(|_| lif_step(&p, 0.01, 0.0, &mut s))
            .count();
        assert!((n as f64 - 29.3).abs() < 0.6, "{n} Hz");
    }
}

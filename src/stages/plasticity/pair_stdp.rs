//! Pair STDP with all-to-all traces (Song, Miller & Abbott 2000; Morrison, Diesmann & Gerstner
//! 2008), and its dopamine-gated form (Izhikevich 2007, Cereb Cortex 17:2443).
//!
//! Traces: dx/dt = −x/τ+, x += 1 on pre; dy/dt = −y/τ−, y += 1 on post.
//! Update: on pre Δ = −A−·y·u (multiplicative variant: −A−·y·h); on post Δ = +A+·x·u, where
//! u = `weight_unit_mv`. Without gating Δ goes straight into h. With gating it goes into the
//! eligibility trace c: dc/dt = −c/τ_c + Δ, and dh/dt = λ·c·M with M = DA + DA_tonic (stage 2).
//! h is kept in [h_min, h_max]. Bi & Poo 1998 (J Neurosci 18:10464) fit: τ+ = 16.8 ms,
//! τ− = 33.7 ms (the defaults).
//!
//! When a pre and a post spike reach a synapse on the same step, which pairing sees the other
//! spike is a convention ([`SameStep`]), chosen per group:
//!
//! | `same_step` | a zero-lag pair counts for | as in |
//! |---|---|---|
//! | `Neither` (default; also `Nest`) | neither side: both updates read the traces from before the step | NEST `stdp_synapse` and `stdp_dopamine_synapse` (LTP reads the pre trace before the current spike is added; `get_K_value` takes post spikes strictly before t) |
//! | `PreFirst` (also `Brian2`) | LTP, +A+ | Brian2 (the `pre` pathway runs at order −1, `post` at +1, in the same `synapses` slot) |
//! | `PostFirst` | LTD, −A− (·h if multiplicative) | — |
//!
//! In every case the two changes of the step are added and h is clipped once.

use super::SynapticWeight;
use super::event_stdp::EventDriven;
use crate::core::clock::Clock;
use crate::core::param_path::{At, ParamValue, SetError, SetPath};
use crate::core::params::Checker;
use crate::core::synapse::{Synapse, for_each_table, group_runs};
use crate::core::weight::direct_efficacy_mv;
use crate::stages::groups::SynapseGroups;
use crate::stages::homeostasis::AstrocyteScaling;
use crate::stages::modulation::RegionLevels;
use crate::stages::trafficking::AmpaPools;
use bevy_ecs::prelude::*;
use bevy_ecs::query::ArchetypeFilter;
use serde::{Deserialize, Serialize};

/// STDP state: presynaptic trace x, postsynaptic trace y, eligibility c (mV; 0 if not gated).
/// Its presence marks a synapse that follows pair STDP.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StdpTraces {
    pub x_pre: f32,
    pub y_post: f32,
    pub eligibility_mv: f32,
}

// Its checkpoint columns.
crate::state_columns! {
    "synapses" StdpTraces {
        x_pre: f32 = x_pre, [0.0, 1e9];
        y_post: f32 = y_post, [0.0, 1e9];
        eligibility_mv: f32 = eligibility_mv, [-1e9, 1e9];
    }
}

crate::params! {
    /// Parameters of pair STDP (Bi & Poo 1998 time constants; Song, Miller & Abbott 2000 form).
    pub struct StdpParams {
        /// Presynaptic trace time constant τ+ (Bi & Poo 1998).
        tau_plus_ms: f64 = 16.8, "ms", [0.1, 1e4];
        /// Postsynaptic trace time constant τ− (Bi & Poo 1998).
        tau_minus_ms: f64 = 33.7, "ms", [0.1, 1e4];
        /// Potentiation amplitude A+, in units of `weight_unit_mv`.
        a_plus: f64 = 0.01, "", [0.0, 100.0];
        /// Depression amplitude A−, in units of `weight_unit_mv`.
        a_minus: f64 = 0.0105, "", [0.0, 100.0];
        /// Weight change per unit of amplitude.
        weight_unit_mv: f64 = 1.0, "mV", [0.0, 1e3];
        /// Depression proportional to h (Δ = −A−·y·h) instead of additive.
        multiplicative_depression: bool = false;
        /// Lower bound of h.
        h_min_mv: f64 = 0.0, "mV", [-1e3, 1e3];
        /// Upper bound of h (at least `h_min_mv`).
        h_max_mv: f64 = 10.0, "mV", [-1e3, 1e3];
        /// Integrate each synapse when a spike reaches it instead of on every step, with exact
        /// decays in between ([`event_stdp`](super::event_stdp)): the same values to float
        /// rounding, at a cost that grows with spikes rather than with synapses and steps. Needs
        /// `ca: Off` and no trafficking or consolidation (nothing else may read the weight on
        /// every step). Left out of the checkpoint's copy of the scene when false.
        event_driven: bool = false => skip_if "std::ops::Not::not";
        /// Which pairing sees the other spike when a pre and a post spike reach the synapse on
        /// the same step (see the table in [this module](self)). `Neither` as NEST; left out
        /// of the checkpoint's copy of the scene when `Neither`.
        same_step: SameStep = SameStep::Neither => skip_if "SameStep::is_default";
    }
    check bounds_in_order;
}

/// `h_max_mv` ≥ `h_min_mv`.
fn bounds_in_order(p: &StdpParams, c: &mut Checker) {
    if p.h_max_mv < p.h_min_mv {
        c.range("h_max_mv", p.h_max_mv, p.h_min_mv, 1e3, "mV");
    }
}

/// The same-step convention of pair STDP: which update of a zero-lag pre/post pair is taken
/// first and so sees the other spike in its trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SameStep {
    /// Both updates read the traces from before the step: a zero-lag pair changes nothing
    /// (NEST; `Nest` is accepted as its name in a scene).
    #[default]
    #[serde(alias = "Nest")]
    Neither,
    /// The presynaptic update first: the postsynaptic one sees x + 1, a zero-lag pair
    /// potentiates by A+ (Brian2; `Brian2` is accepted as its name in a scene).
    #[serde(alias = "Brian2")]
    PreFirst,
    /// The postsynaptic update first: the presynaptic one sees y + 1, a zero-lag pair depresses
    /// by A−.
    PostFirst,
}

impl SameStep {
    fn is_default(&self) -> bool {
        *self == SameStep::Neither
    }
}

/// The convention is a choice made in the scene, not a number a sweep or a change can set.
impl SetPath for SameStep {
    fn set_at(&mut self, at: At<'_>, _: &ParamValue) -> Result<(), SetError> {
        Err(SetError::Path(format!(
            "`{}` is a choice (Neither, PreFirst, PostFirst), not a number or a boolean that \
             can be set",
            at.path()
        )))
    }
}

crate::params! {
    /// Dopamine gating of a group's STDP (Izhikevich 2007).
    pub struct DopamineGating {
        /// Eligibility trace time constant τ_c.
        tau_eligibility_ms: f64 = 1000.0, "ms", [1.0, 1e7];
        /// λ in dh/dt = λ·c·M.
        rate_per_um_ms: f64 = 1.0, "1/(µM ms)", [0.0, 1e3];
    }
}

/// Per-step constants of pair STDP for one group.
#[derive(Clone, Copy, Debug)]
pub struct StdpStep {
    pub decay_x: f32,
    pub decay_y: f32,
    pub a_plus_mv: f32,
    pub a_minus: f32,
    pub unit_mv: f32,
    pub multiplicative: bool,
    pub h_min: f32,
    pub h_max: f32,
    /// Baseline of the late weight (0 without consolidation).
    pub h0_mv: f32,
    /// 1 if LTP of a step sees that step's pre spike ([`SameStep::PreFirst`]), else 0.
    pub pre_first: f32,
    /// 1 if LTD of a step sees that step's post spike ([`SameStep::PostFirst`]), else 0.
    pub post_first: f32,
}

impl StdpStep {
    pub fn new(p: &StdpParams, dt_ms: f64, h0_mv: f64) -> Self {
        StdpStep {
            decay_x: (-dt_ms / p.tau_plus_ms).exp() as f32,
            decay_y: (-dt_ms / p.tau_minus_ms).exp() as f32,
            a_plus_mv: (p.a_plus * p.weight_unit_mv) as f32,
            a_minus: p.a_minus as f32,
            unit_mv: p.weight_unit_mv as f32,
            multiplicative: p.multiplicative_depression,
            h_min: p.h_min_mv as f32,
            h_max: p.h_max_mv as f32,
            h0_mv: h0_mv as f32,
            pre_first: (p.same_step == SameStep::PreFirst) as u8 as f32,
            post_first: (p.same_step == SameStep::PostFirst) as u8 as f32,
        }
    }

    /// Decays the traces, returns the STDP change Δ (mV) for this step, then adds the spikes
    /// to the traces. A simultaneous pre and post pair as the group's [`SameStep`] says: LTD
    /// reads y plus this step's post spike under `PostFirst`, LTP reads x plus this step's pre
    /// spike under `PreFirst`, and both read the traces before the step under `Neither` (then
    /// the added terms are +0.0 and the arithmetic is unchanged). Written with selects rather
    /// than branches so that a run of synapses vectorises; the arithmetic is that of `0 − A−·y·u`
    /// then `+ A+·x`, in that order.
    #[inline(always)]
    pub fn trace_step(&self, pre: bool, post: bool, h: f32, t: &mut StdpTraces) -> f32 {
        let x = t.x_pre * self.decay_x;
        let y = t.y_post * self.decay_y;
        let y_seen = y + self.post_first * post as u8 as f32;
        let x_seen = x + self.pre_first * pre as u8 as f32;
        let scale = if self.multiplicative { h } else { self.unit_mv };
        let depressed = if pre {
            0.0 - self.a_minus * y_seen * scale
        } else {
            0.0
        };
        let d = if post {
            depressed + self.a_plus_mv * x_seen
        } else {
            depressed
        };
        t.x_pre = x + pre as u8 as f32;
        t.y_post = y + post as u8 as f32;
        d
    }

    /// The weight update that follows a step's STDP change `d`. Gated by `(d_c, r)`
    /// (Izhikevich 2007): c ← c·d_c + d, h ← h + r·c, with r = λ·dt·M; ungated: h ← h + d. Then
    /// h is kept in [h_min, h_max] and w = h + h0·z.
    #[inline(always)]
    pub fn weight_step(
        &self,
        gate: Option<(f32, f32)>,
        d: f32,
        t: &mut StdpTraces,
        w: &mut SynapticWeight,
    ) {
        let h = match gate {
            Some((decay_c, rate)) => {
                t.eligibility_mv = t.eligibility_mv * decay_c + d;
                w.h_mv + rate * t.eligibility_mv
            }
            None => w.h_mv + d,
        };
        w.h_mv = h.clamp(self.h_min, self.h_max);
        w.w_mv = w.h_mv + self.h0_mv * w.z;
    }
}

/// The columns pair STDP reads and writes.
type StdpColumns<'a> = (&'a Synapse, &'a mut StdpTraces, &'a mut SynapticWeight);

/// Where a synapse's efficacy comes from after its weight changes. Synapses with AMPA pools get
/// theirs from stage 4 ([`NoEfficacy`]); for the others efficacy is `sign·w·S_post`
/// ([`DirectEfficacy`], the rule of [`direct_efficacy`](crate::stages::trafficking)), which the
/// pair rule writes in the same pass as `w`: one pass over the columns instead of two.
trait EfficacyOut: Copy {
    fn set(self, s: &Synapse, w: &mut SynapticWeight);
}

/// Efficacy is set by AMPA trafficking (stage 4).
#[derive(Clone, Copy)]
struct NoEfficacy;

impl EfficacyOut for NoEfficacy {
    #[inline(always)]
    fn set(self, _: &Synapse, _: &mut SynapticWeight) {}
}

/// Efficacy = sign·w·S, with S the astrocyte scaling of the postsynaptic neuron.
#[derive(Clone, Copy)]
struct DirectEfficacy<'a> {
    sign: f32,
    per_neuron: &'a [f32],
}

impl EfficacyOut for DirectEfficacy<'_> {
    #[inline(always)]
    fn set(self, s: &Synapse, w: &mut SynapticWeight) {
        w.efficacy_mv = direct_efficacy_mv(self.sign, w.w_mv, self.per_neuron[s.post as usize]);
    }
}

/// Efficacy = sign·w, for a scene without astrocytes (every S is exactly 1, so this is the
/// same number as [`DirectEfficacy`] gives, without the lookup of S).
#[derive(Clone, Copy)]
struct UnscaledEfficacy {
    sign: f32,
}

impl EfficacyOut for UnscaledEfficacy {
    #[inline(always)]
    fn set(self, _: &Synapse, w: &mut SynapticWeight) {
        w.efficacy_mv = direct_efficacy_mv(self.sign, w.w_mv, 1.0);
    }
}

/// System: pair STDP of the synapses without AMPA pools, which also sets their efficacy.
pub fn pair_stdp_direct(
    mut q: Query<StdpColumns<'static>, (Without<AmpaPools>, Without<EventDriven>)>,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
    regions: Res<RegionLevels>,
    scaling: Res<AstrocyteScaling>,
) {
    let dt = clock.dt_ms;
    if scaling.is_identity() {
        run_pair_stdp(&mut q, &groups, dt, &regions, |sign| UnscaledEfficacy {
            sign,
        });
    } else {
        let per_neuron = &scaling.per_neuron[..];
        run_pair_stdp(&mut q, &groups, dt, &regions, |sign| DirectEfficacy {
            sign,
            per_neuron,
        });
    }
}

/// System: pair STDP of the synapses with AMPA pools (their efficacy comes from stage 4).
pub fn pair_stdp_trafficked(
    mut q: Query<StdpColumns<'static>, With<AmpaPools>>,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
    regions: Res<RegionLevels>,
) {
    run_pair_stdp(&mut q, &groups, clock.dt_ms, &regions, |_| NoEfficacy);
}

/// Pair STDP of every group with the pair rule, each run of a group gated by dopamine or not as
/// its group says (gating is a property of the group, not of each synapse).
fn run_pair_stdp<F: ArchetypeFilter, E: EfficacyOut>(
    q: &mut Query<StdpColumns<'static>, F>,
    groups: &SynapseGroups,
    dt: f64,
    regions: &RegionLevels,
    efficacy: impl Fn(f32) -> E + Send + Sync + Clone,
) {
    for_each_table(q, |(syn, mut tr, mut w)| {
        let (tr, w) = (tr.bypass_change_detection(), w.bypass_change_detection());
        for (g, r) in group_runs(syn) {
            let group = &groups.0[g];
            let super::Rule::PairStdp(p) = &group.spec.rule else {
                continue;
            };
            let k = StdpStep::new(p, dt, group.h0_mv());
            let e = efficacy(group.sign);
            let gate = match (&group.spec.gating, group.region) {
                (Some(gate), Some(region)) => {
                    let decay_c = (-dt / gate.tau_eligibility_ms).exp() as f32;
                    let m = regions.third_factor_um[region as usize];
                    Some((decay_c, (gate.rate_per_um_ms * dt) as f32 * m))
                }
                _ => None,
            };
            let (syn, tr, w) = (&syn[r.clone()], &mut tr[r.clone()], &mut w[r]);
            // Two calls, so that each loop is compiled for its case (no test per synapse).
            match gate {
                Some(g) => run(&k, Some(g), syn, tr, w, e),
                None => run(&k, None, syn, tr, w, e),
            }
        }
    });
}

/// Pair STDP over one run of a group: the STDP change, then the weight update.
#[inline(always)]
fn run(
    k: &StdpStep,
    gate: Option<(f32, f32)>,
    syn: &[Synapse],
    tr: &mut [StdpTraces],
    w: &mut [SynapticWeight],
    e: impl EfficacyOut,
) {
    for ((s, t), wi) in syn.iter().zip(tr).zip(w) {
        let d = k.trace_step(s.pre_arrived(), s.post_arrived(), wi.h_mv, t);
        k.weight_step(gate, d, t, wi);
        e.set(s, wi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairing(dt_between_ms: f64) -> f32 {
        let p = StdpParams::default();
        let k = StdpStep::new(&p, 0.1, 0.0);
        let mut t = StdpTraces::default();
        let steps = (dt_between_ms.abs() / 0.1).round() as usize;
        let (first_pre, mut total) = (dt_between_ms > 0.0, 0.0);
        total += k.trace_step(first_pre, !first_pre, 1.0, &mut t);
        for _ in 1..steps {
            total += k.trace_step(false, false, 1.0, &mut t);
        }
        total + k.trace_step(!first_pre, first_pre, 1.0, &mut t)
    }

    /// One pairing gives A+·e^(−Δt/τ+) for pre-before-post and −A−·e^(Δt/τ−) for
    /// post-before-pre (to the rounding of f32 trace decay over up to 500 steps: 1e-4 relative).
    #[test]
    fn one_pairing_follows_the_exponential_window() {
        let p = StdpParams::default();
        for dt in [5.0, 20.0, 50.0] {
            let ltp = pairing(dt) as f64;
            let expected = p.a_plus * (-dt / p.tau_plus_ms).exp();
            assert!(
                (ltp - expected).abs() < 1e-4 * expected,
                "{dt}: {ltp} vs {expected}"
            );
            let ltd = pairing(-dt) as f64;
            let expected = -p.a_minus * (-dt / p.tau_minus_ms).exp();
            assert!(
                (ltd - expected).abs() < 1e-4 * -expected,
                "{dt}: {ltd} vs {expected}"
            );
        }
    }

    /// A zero-lag pair after a quiet spell: nothing under `Neither` (NEST), +A+ under `PreFirst`
    /// (Brian2), −A− under `PostFirst`; the traces end at 1 in every case.
    #[test]
    fn zero_lag_pair_follows_the_same_step_convention() {
        for (same_step, expected) in [
            (SameStep::Neither, 0.0),
            (SameStep::PreFirst, 0.01f32),
            (SameStep::PostFirst, -0.0105f32),
        ] {
            let p = StdpParams {
                same_step,
                ..Default::default()
            };
            let k = StdpStep::new(&p, 1.0, 0.0);
            let mut t = StdpTraces::default();
            let d = k.trace_step(true, true, 1.0, &mut t);
            assert_eq!(d, expected, "{same_step:?}");
            assert_eq!((t.x_pre, t.y_post), (1.0, 1.0));
        }
    }

    /// Audit of rounding at small dt (issue 17), one second of a gated synapse after a pairing
    /// (c0 = 0.1 mV, M = 0.002 µM, λ = 1/(µM ms), τc = 1 s): returns the relative errors of the
    /// eligibility trace against c0·e^(−1) and of the weight change against its integral
    /// λ·M·c0·τc·(1 − e^(−1)).
    fn gated_second(dt: f64) -> (f64, f64) {
        let k = StdpStep::new(&StdpParams::default(), dt, 0.0);
        let gate = ((-dt / 1000.0f64).exp() as f32, (dt * 0.002) as f32);
        let mut t = StdpTraces {
            eligibility_mv: 0.1,
            ..Default::default()
        };
        let mut w = SynapticWeight {
            h_mv: 4.0,
            ..Default::default()
        };
        for _ in 0..(1000.0 / dt).round() as u64 {
            let d = k.trace_step(false, false, w.h_mv, &mut t);
            k.weight_step(Some(gate), d, &mut t, &mut w);
        }
        let c = 0.1 * (-1.0f64).exp();
        let dh = 0.002 * 0.1 * 1000.0 * (1.0 - (-1.0f64).exp());
        (
            (t.eligibility_mv as f64 - c) / c,
            (w.h_mv as f64 - 4.0 - dh) / dh,
        )
    }

    /// The eligibility trace keeps its time constant to 2e-5 at dt = 1 ms, 3e-4 at 0.1 ms and 2e-3 at 0.01 ms
    /// (the f32 decay factor e^(−dt/τc) is off by up to 3e-8, a part in 170 of 1 − d_c at
    /// 0.01 ms), and the gated weight change over a second is right to 1e-4 at dt ≥ 0.1 ms. At
    /// 0.01 ms each step's change (≈2e-6 mV) is a few f32 units of h and rounding biases it by
    /// about 2 %: the README and the validation page say so (event-driven pair STDP sums it in
    /// f64 and is exact there).
    #[test]
    fn gated_stdp_keeps_its_rates_at_small_dt() {
        for (dt, c_tol, h_tol) in [(1.0, 2e-5, 1e-3), (0.1, 3e-4, 1e-4), (0.01, 2e-3, 3e-2)] {
            let (c_err, h_err) = gated_second(dt);
            assert!(c_err.abs() < c_tol, "dt {dt}: eligibility off by {c_err:e}");
            assert!(
                h_err.abs() < h_tol,
                "dt {dt}: weight change off by {h_err:e}"
            );
        }
    }
}

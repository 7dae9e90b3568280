//! Stage 1 — Ca2+ influx into the spine head.
//!
//! Two models, each with its own component and system:
//!
//! | model | state | equation | source |
//! |---|---|---|---|
//! | linear (marker [`LinearCa`]) | [`SpineHeadCa`] | dc/dt = −c/τ_Ca + C_pre·Σδ(t − t_pre − D) + C_post·Σδ(t − t_post) | Graupner & Brunel 2012, PNAS 109:3991 |
//! | NMDA | [`NmdaSpine`], [`SpineHeadCa`] | see [`nmda_step`] | after Shouval, Bear & Cooper 2002, PNAS 99:10831; Mg block of Jahr & Stevens 1990 |
//!
//! In the linear model `c` is in the model's normalised units (C_pre = 1), stored in `ca_um`.

use crate::core::clock::Clock;
use crate::core::param_path::{At, ParamValue, SetError, SetPath};
use crate::core::params::{Checker, Validate};
use crate::core::rng::{self, Purpose};
use crate::core::synapse::{Synapse, batching, group_runs};
use crate::core::weight::EventDriven;
use crate::engine::spikes::SpikeHistory;
use crate::stages::components::{NewSynapse, SynapseComponent};
use crate::stages::groups::SynapseGroup;
use crate::stages::groups::SynapseGroups;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

use crate::core::registry::{Observed, Read, Variable};
use crate::core::stage::Stage;

/// The variables of stage 1 held by the cleft, the NMDA receptor and the spine membrane.
impl Observed for NmdaSpine {
    const VARIABLES: &'static [Read<Self>] = &[
        Read {
            variable: Variable {
                name: "glutamate_mm",
                unit: "mM",
                stage: Stage::CaInflux,
                component: "SynapticCleft",
                doc: "glutamate in the synaptic cleft",
            },
            read: |n| n.cleft.glutamate_mm,
        },
        Read {
            variable: Variable {
                name: "spine_v_mv",
                unit: "mV",
                stage: Stage::CaInflux,
                component: "PostsynapticMembrane",
                doc: "membrane potential of the spine head",
            },
            read: |n| n.membrane.v_mv,
        },
        Read {
            variable: Variable {
                name: "nmda_open_fraction",
                unit: "",
                stage: Stage::CaInflux,
                component: "NmdaReceptor",
                doc: "fraction of NMDA receptors open (glutamate-bound, Mg2+-unblocked)",
            },
            read: |n| n.receptor.open_fraction,
        },
    ];
}

/// Spine Ca2+ (stage 1) and the gain of its NMDA influx, set by the dopamine cascade (stage 2).
impl Observed for SpineHeadCa {
    const VARIABLES: &'static [Read<Self>] = &[
        Read {
            variable: Variable {
                name: "ca_um",
                unit: "µM",
                stage: Stage::CaInflux,
                component: "SpineHeadCa",
                doc: "free Ca2+ in the spine head",
            },
            read: |s| s.ca_um,
        },
        Read {
            variable: Variable {
                name: "ca_sensitivity",
                unit: "",
                stage: Stage::Modulation,
                component: "SpineHeadCa",
                doc: "gain of NMDA Ca2+ influx set by the region's PKA",
            },
            read: |s| s.sensitivity,
        },
    ];
}

/// Glutamate in the synaptic cleft, mM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SynapticCleft {
    pub glutamate_mm: f32,
}

/// The spine's NMDA receptors: the fraction with glutamate bound and the channel open (0..1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NmdaReceptor {
    pub open_fraction: f32,
}

/// The postsynaptic membrane of the spine head: its potential, mV, depolarised by
/// back-propagating action potentials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostsynapticMembrane {
    pub v_mv: f32,
}

/// The NMDA machinery of one spine (the state of the NMDA calcium model besides its Ca): its
/// [`SynapticCleft`], [`NmdaReceptor`] and [`PostsynapticMembrane`], the design's three
/// components, held in one ECS component because each ECS component costs every synapse 8
/// bytes of change ticks (three would take the 10^7-synapse cascade over its 200-byte budget).
/// Outputs name each variable by its part. Its presence marks a synapse of the NMDA model.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NmdaSpine {
    pub cleft: SynapticCleft,
    pub receptor: NmdaReceptor,
    pub membrane: PostsynapticMembrane,
}

// Its checkpoint columns.
crate::state_columns! {
    "synapses" NmdaSpine {
        glutamate_mm: f32 = cleft.glutamate_mm, [0.0, 1e9];
        spine_v_mv: f32 = membrane.v_mv, [-1e3, 1e3];
        nmda_open_fraction: f32 = receptor.open_fraction, [0.0, 1.0];
    }
}

/// Free Ca2+ in the spine head, and the sensitivity `s` of its NMDA influx set by the
/// dopamine/PKA cascade (stage 2; 1 without dopamine).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpineHeadCa {
    pub ca_um: f32,
    pub sensitivity: f32,
}

// Its checkpoint columns.
crate::state_columns! {
    "synapses" SpineHeadCa {
        ca_um: f32 = ca_um, [0.0, 1e9];
        ca_sensitivity: f32 = sensitivity, [0.0, 1e9];
    }
}

/// Marker: this synapse follows the linear calcium model.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct LinearCa;

impl SynapseComponent for LinearCa {
    fn in_group(g: &SynapseGroup) -> bool {
        matches!(g.ca, CaModel::Linear(_))
    }
}
impl crate::core::columns::StateColumns for LinearCa {}
impl Observed for LinearCa {}

impl SynapseComponent for NmdaSpine {
    fn in_group(g: &SynapseGroup) -> bool {
        matches!(g.ca, CaModel::Nmda(_))
    }

    /// Closed receptors, an empty cleft and the membrane at rest.
    fn fresh(new: &NewSynapse) -> Self {
        let v_mv = match &new.group.spec.ca {
            CaModel::Nmda(p) => p.v_rest_mv as f32,
            CaModel::Linear(_) | CaModel::Off => 0.0,
        };
        NmdaSpine {
            membrane: PostsynapticMembrane { v_mv },
            ..NmdaSpine::default()
        }
    }
}

impl SynapseComponent for SpineHeadCa {
    /// Ca at rest (0 in the linear model, whose Ca is the excess over rest) and full sensitivity.
    fn fresh(new: &NewSynapse) -> Self {
        let ca_um = match &new.group.spec.ca {
            CaModel::Nmda(p) => p.ca_rest_um as f32,
            CaModel::Linear(_) | CaModel::Off => 0.0,
        };
        SpineHeadCa {
            ca_um,
            sensitivity: 1.0,
        }
    }
}

/// Which calcium model a synapse group uses, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CaModel {
    Linear(LinearCaParams),
    Nmda(NmdaCaParams),
    /// Spine Ca2+ is not simulated (`ca_um` stays 0): for groups whose rule does not read it
    /// (pair STDP, static synapses), as in models without calcium such as Izhikevich 2007.
    Off,
}

/// `ca.delay_ms` sets a field of the group's calcium model.
impl SetPath for CaModel {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            CaModel::Linear(p) => p.set_at(at.variant("Linear"), value),
            CaModel::Nmda(p) => p.set_at(at.variant("Nmda"), value),
            CaModel::Off => Err(at.no_such(&[])),
        }
    }
}

impl Default for CaModel {
    fn default() -> Self {
        CaModel::Nmda(NmdaCaParams::default())
    }
}

impl Validate for CaModel {
    fn validate(&self, c: &mut Checker) {
        match self {
            CaModel::Linear(p) => p.validate(c),
            CaModel::Nmda(p) => p.validate(c),
            CaModel::Off => {}
        }
    }
}

crate::params! {
    /// Parameters of the linear calcium model (Graupner & Brunel 2012). Defaults: their "DP" set.
    pub struct LinearCaParams {
        /// Decay time constant of Ca.
        tau_ca_ms: f64 = 20.0, "ms", [0.1, 1e4];
        /// Jump on a presynaptic spike, normalised units.
        c_pre: f64 = 1.0, "", [0.0, 100.0];
        /// Jump on a postsynaptic spike, normalised units.
        c_post: f64 = 2.0, "", [0.0, 100.0];
        /// Delay D of the presynaptic Ca transient after the spike arrives.
        delay_ms: f64 = 13.7, "ms", [0.0, 1000.0];
    }
}

crate::params! {
    /// Parameters of the NMDA calcium model.
    pub struct NmdaCaParams {
        /// Probability that a presynaptic spike releases a vesicle.
        release_probability: f64 = 0.5, "", [0.0, 1.0];
        /// Cleft glutamate added by one release.
        glutamate_per_release_mm: f64 = 1.0, "mM", [0.0, 100.0];
        /// Clearance time constant of cleft glutamate.
        tau_glutamate_ms: f64 = 1.0, "ms", [0.01, 1e3];
        /// Binding/opening rate of NMDA receptors.
        nmda_on_per_mm_ms: f64 = 0.5, "1/(mM ms)", [0.0, 1e3];
        /// Deactivation time constant of NMDA receptors.
        tau_nmda_ms: f64 = 80.0, "ms", [0.1, 1e4];
        /// Extracellular Mg2+.
        mg_mm: f64 = 1.0, "mM", [0.0, 100.0];
        /// Resting potential of the spine.
        v_rest_mv: f64 = -70.0, "mV", [-120.0, 0.0];
        /// Depolarisation of the spine by a back-propagating action potential.
        bap_amplitude_mv: f64 = 70.0, "mV", [0.0, 200.0];
        /// Decay time constant of the back-propagating depolarisation.
        tau_bap_ms: f64 = 5.0, "ms", [0.1, 1e3];
        /// NMDA Ca conductance scale: µM of Ca per ms per mV of driving force at full opening.
        g_nmda_um_per_ms_mv: f64 = 0.003, "µM/(ms mV)", [0.0, 1.0];
        /// Reversal potential of Ca2+.
        e_ca_mv: f64 = 130.0, "mV", [0.0, 300.0];
        /// Ca2+ entering through voltage-gated channels on a back-propagating AP.
        vgcc_jump_um: f64 = 0.1, "µM", [0.0, 100.0];
        /// Resting Ca2+.
        ca_rest_um: f64 = 0.05, "µM", [0.0, 10.0];
        /// Ca2+ clearance time constant.
        tau_ca_ms: f64 = 20.0, "ms", [0.1, 1e4];
    }
}

/// Fraction of NMDA receptors not blocked by Mg2+ at membrane potential `v_mv`:
/// B(V) = 1 / (1 + exp(−0.062·V)·[Mg2+]/3.57) (Jahr & Stevens 1990, J Neurosci 10:3178).
#[inline(always)]
pub fn mg_unblock(v_mv: f32, mg_mm: f32) -> f32 {
    1.0 / (1.0 + (-0.062 * v_mv).exp() * (mg_mm / 3.57))
}

/// Per-step constants of the NMDA model, computed once per run of a group.
#[derive(Clone, Copy, Debug)]
pub struct NmdaStep {
    pub dt_ms: f32,
    pub p_release: f32,
    pub g_release_mm: f32,
    pub decay_glu: f32,
    pub k_on: f32,
    pub inv_tau_nmda: f32,
    pub decay_nmda: f32,
    pub mg_mm: f32,
    pub v_rest: f32,
    /// B(V_rest): the Mg unblock at rest.
    pub mg_unblock_rest: f32,
    pub bap_mv: f32,
    pub decay_v: f32,
    pub g_nmda: f32,
    pub e_ca: f32,
    pub vgcc_um: f32,
    pub ca_rest: f32,
    pub decay_ca: f32,
}

impl NmdaStep {
    pub fn new(p: &NmdaCaParams, dt_ms: f64) -> Self {
        let d = |tau: f64| (-dt_ms / tau).exp() as f32;
        NmdaStep {
            dt_ms: dt_ms as f32,
            p_release: p.release_probability as f32,
            g_release_mm: p.glutamate_per_release_mm as f32,
            decay_glu: d(p.tau_glutamate_ms),
            k_on: p.nmda_on_per_mm_ms as f32,
            inv_tau_nmda: (1.0 / p.tau_nmda_ms) as f32,
            decay_nmda: d(p.tau_nmda_ms),
            mg_mm: p.mg_mm as f32,
            v_rest: p.v_rest_mv as f32,
            mg_unblock_rest: mg_unblock(p.v_rest_mv as f32, p.mg_mm as f32),
            bap_mv: p.bap_amplitude_mv as f32,
            decay_v: d(p.tau_bap_ms),
            g_nmda: p.g_nmda_um_per_ms_mv as f32,
            e_ca: p.e_ca_mv as f32,
            vgcc_um: p.vgcc_jump_um as f32,
            ca_rest: p.ca_rest_um as f32,
            decay_ca: d(p.tau_ca_ms),
        }
    }
}

/// One step of the NMDA calcium model for one synapse:
///
/// - cleft: G ← G·e^(−dt/τ_glu), plus G_rel on a presynaptic arrival with probability p_rel;
/// - receptor: dO/dt = k_on·G·(1 − O) − O/τ_NMDA, integrated exactly for G constant over dt;
/// - spine membrane: V relaxes to V_rest with τ_bAP, and jumps by the bAP amplitude on post;
/// - Ca: dCa/dt = −(Ca − Ca_rest)/τ_Ca + s·g_NMDA·O·B(V)·(E_Ca − V), plus the VGCC jump on post.
///
/// `released` is whether a vesicle was released this step; `s` the dopamine sensitivity.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn nmda_step(
    k: &NmdaStep,
    released: bool,
    post: bool,
    s: f32,
    nmda: &mut NmdaSpine,
    spine: &mut SpineHeadCa,
) {
    let mut g = nmda.cleft.glutamate_mm * k.decay_glu;
    if released {
        g += k.g_release_mm;
    }
    nmda.cleft.glutamate_mm = g;

    let o = nmda.receptor.open_fraction;
    nmda.receptor.open_fraction = if g > 0.0 {
        let rate = k.k_on * g + k.inv_tau_nmda;
        let o_inf = k.k_on * g / rate;
        o_inf + (o - o_inf) * (-rate * k.dt_ms).exp()
    } else {
        o * k.decay_nmda
    };

    let mut v = k.v_rest + (nmda.membrane.v_mv - k.v_rest) * k.decay_v;
    if post {
        v += k.bap_mv;
    }
    nmda.membrane.v_mv = v;

    // At rest (most steps: the spine is back at V_rest within ~100 ms of a bAP) the Mg block
    // is the group's precomputed B(V_rest), the same value without the exp.
    let b = if v == k.v_rest {
        k.mg_unblock_rest
    } else {
        mg_unblock(v, k.mg_mm)
    };
    let influx = s * k.g_nmda * nmda.receptor.open_fraction * b * (k.e_ca - v);
    let mut ca = k.ca_rest + (spine.ca_um - k.ca_rest) * k.decay_ca + influx * k.dt_ms;
    if post {
        ca += k.vgcc_um;
    }
    spine.ca_um = ca;
    spine.sensitivity = s;
}

/// One step of the linear calcium model for one synapse (Graupner & Brunel 2012):
/// c ← c·e^(−dt/τ_Ca) + C_pre·[pre Ca transient due] + C_post·[post arrived].
///
/// Computed in f64 and rounded once to the f32 that is kept. The decay factor is an f64: as an
/// f32 it is off by up to 3e-8, the same way on every step, which at dt 0.002 ms (τ_Ca 48.8 ms)
/// made the decay 6e-4 too fast, moved each threshold crossing and changed the early weight h
/// of `lt2021_basic_early` by 4e-4 mV (1 % of its change). Rounding c
/// itself to f32 each step errs both ways, so it does not accumulate so.
#[inline(always)]
pub fn linear_step(decay: f64, c_pre: f64, c_post: f64, pre: bool, post: bool, ca: &mut f32) {
    let mut c = *ca as f64 * decay;
    if pre {
        c += c_pre;
    }
    if post {
        c += c_post;
    }
    *ca = c as f32;
}

/// Linear-model synapses stepped here (not event-driven).
type ClockDrivenLinear = (With<LinearCa>, Without<EventDriven>);

/// System: clock-driven linear-model synapses (event-driven ones take their Ca with their rule,
/// [`event_calcium`](crate::stages::plasticity::event_calcium)).
pub fn linear_ca_influx(
    mut q: Query<(&Synapse, &mut SpineHeadCa), ClockDrivenLinear>,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
) {
    let dt = clock.dt_ms;
    let lookback = spikes.lookback();
    q.contiguous_par_iter_mut()
        .expect("stage queries are dense")
        .batching_strategy(batching())
        .for_each(|(syn, mut ca)| {
            let ca = ca.bypass_change_detection();
            for (g, run) in group_runs(syn) {
                let CaModel::Linear(p) = &groups.0[g].spec.ca else {
                    continue;
                };
                let decay = (-dt / p.tau_ca_ms).exp();
                let d_steps = (p.delay_ms / dt).round() as usize;
                let (c_pre, c_post) = (p.c_pre, p.c_post);
                for (s, c) in syn[run.clone()].iter().zip(&mut ca[run]) {
                    let pre = lookback.fired(s.axonal_delay_steps as usize + d_steps, s.pre);
                    linear_step(decay, c_pre, c_post, pre, s.post_arrived(), &mut c.ca_um);
                }
            }
        });
}

/// System: NMDA-model synapses. Reads the Ca sensitivity of the synapse's dopamine region.
pub fn nmda_ca_influx(
    mut q: Query<(&Synapse, &mut NmdaSpine, &mut SpineHeadCa)>,
    groups: Res<SynapseGroups>,
    clock: Res<Clock>,
    regions: Res<crate::stages::modulation::RegionLevels>,
) {
    let (step, dt, seed) = (clock.step, clock.dt_ms, clock.seed);
    q.contiguous_par_iter_mut()
        .expect("stage queries are dense")
        .batching_strategy(batching())
        .for_each(|(syn, mut nm, mut sp)| {
            let (nm, sp) = (nm.bypass_change_detection(), sp.bypass_change_detection());
            for (g, r) in group_runs(syn) {
                let group = &groups.0[g];
                let CaModel::Nmda(p) = &group.spec.ca else {
                    continue;
                };
                let k = NmdaStep::new(p, dt);
                let s = group
                    .region
                    .map_or(1.0, |r| regions.sensitivity[r as usize]);
                for i in r {
                    let sy = &syn[i];
                    let released = sy.pre_arrived()
                        && rng::uniform_f32(seed, sy.id as u64, step, Purpose::Release)
                            < k.p_release;
                    nmda_step(&k, released, sy.post_arrived(), s, &mut nm[i], &mut sp[i]);
                }
            }
        });
}

/// Registers both Ca models in [`Stage::CaInflux`].
pub fn plugin(s: &mut Schedule) {
    use crate::engine::schedule::Stage;
    s.add_systems(
        (linear_ca_influx, nmda_ca_influx)
            .chain()
            .in_set(Stage::CaInflux),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jahr & Stevens 1990 (J Neurosci 10:3178), as tabulated in the reference model:
    /// B at [Mg2+] = 1 mM is 0.0445 at −70 mV, 0.2302 at −40 mV and 0.7812 at 0 mV (±0.0005).
    #[test]
    fn mg_block_matches_jahr_stevens() {
        for (v, b) in [(-70.0, 0.0445), (-40.0, 0.2302), (0.0, 0.7812)] {
            let got = mg_unblock(v, 1.0);
            assert!((got - b).abs() < 5e-4, "B({v}) = {got}, expected {b}");
        }
    }

    fn peak_ca(pre_at: Option<u32>, post_at: Option<u32>) -> f32 {
        let p = NmdaCaParams {
            release_probability: 1.0,
            ..Default::default()
        };
        let k = NmdaStep::new(&p, 0.1);
        let mut nm = NmdaSpine {
            cleft: SynapticCleft { glutamate_mm: 0.0 },
            receptor: NmdaReceptor { open_fraction: 0.0 },
            membrane: PostsynapticMembrane { v_mv: -70.0 },
        };
        let mut sp = SpineHeadCa {
            ca_um: 0.05,
            sensitivity: 1.0,
        };
        let mut peak = 0.0f32;
        for step in 0..3000 {
            let pre = pre_at == Some(step);
            let post = post_at == Some(step);
            nmda_step(&k, pre, post, 1.0, &mut nm, &mut sp);
            peak = peak.max(sp.ca_um - 0.05);
        }
        peak
    }

    /// Coincidence detection (Shouval et al. 2002): pre then post within 10 ms gives a larger Ca
    /// peak than pre alone plus post alone.
    #[test]
    fn nmda_detects_coincidence() {
        let pre = peak_ca(Some(100), None);
        let post = peak_ca(None, Some(150));
        let both = peak_ca(Some(100), Some(150));
        assert!(pre > 0.0 && post > 0.0);
        assert!(both > pre + post, "pre {pre} post {post} both {both}");
    }

    #[test]
    fn linear_model_jumps_and_decays() {
        let mut c = 0.0;
        linear_step(0.5, 1.0, 2.0, true, true, &mut c);
        assert_eq!(c, 3.0);
        linear_step(0.5, 1.0, 2.0, false, false, &mut c);
        assert_eq!(c, 1.5);
    }

    /// At dt 0.002 ms the decay keeps its rate: after 10^5 steps (200 ms, τ_Ca 48.8 ms) c is
    /// 4·e^(−200/48.8) to 2e-5 relative, where the factor rounded to f32 (2.5e-8 low) leaves
    /// it 2.5e-3 low.
    #[test]
    fn linear_decay_keeps_its_rate_at_small_dt() {
        let (dt, tau) = (0.002f64, 48.8);
        let exact = 4.0 * (-100_000.0 * dt / tau).exp();
        let (mut c, mut single) = (4.0f32, 4.0f32);
        let decay = (-dt / tau).exp();
        for _ in 0..100_000 {
            linear_step(decay, 1.0, 2.0, false, false, &mut c);
            single *= decay as f32;
        }
        assert!((c as f64 / exact - 1.0).abs() < 2e-5, "{c} vs {exact}");
        assert!(
            (single as f64 / exact - 1.0).abs() > 1e-3,
            "{single} vs {exact}"
        );
    }
}

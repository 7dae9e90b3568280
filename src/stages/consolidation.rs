//! Stage 6 — synaptic tagging, protein synthesis and capture (late-phase weight).
//!
//! Tag-trigger-consolidation (Clopath et al. 2008, PLoS Comput Biol 4:e1000248; Li et al. 2016;
//! Luboeinski & Tetzlaff 2021, Commun Biol 4:275), with early weight h (stage 3), its baseline h0
//! and the late weight z:
//!
//! - tag: Θ[|h − h0| − θ_tag], θ_tag = 0.2·h0;
//! - protein pool p of the postsynaptic neuron: τ_p·dp/dt = −p + α·Θ[Σ_synapses |h − h0| − θ_pro];
//! - capture: τ_z·dz/dt = p·(z_max − z)/z_max·Θ[(h − h0) − θ_tag] + p·(z_min − z)·Θ[(h0 − h) − θ_tag],
//!   with z_max = 1 and z_min = −0.5 in the published model (z_max divides the rate as in the
//!   stand-alone simulator of Luboeinski & Tetzlaff, so that other values compare with it);
//! - total weight w = h + h0·z (written by stage 3).
//!
//! Runs on the slow clock. Both p and z are stepped exactly over a slow step, as the stand-alone
//! simulator of Luboeinski & Tetzlaff does: p ← target + (p − target)·e^(−Δ/τ_p), and with p held
//! over the step z ← z_target + (z − z_target)·e^(−p·Δ/τ_z). On a 10 ms slow clock z changes
//! by about 3e-8 per step near z = 1, below the f32 resolution there, so z is kept as the
//! weight's f32 `z` plus its residual in [`SynapticTag`] ([`fine`](crate::core::fine)), and p (one per
//! neuron) in f64. The sum over a neuron's synapses is accumulated in fixed point with atomic
//! adds, so it is the same whatever the thread count.

use crate::core::clock::Clock;

use crate::core::synapse::{Synapse, batching, group_runs};
use crate::stages::components::SynapseComponent;
use crate::stages::groups::SynapseGroup;
use crate::stages::groups::SynapseGroups;
use crate::stages::plasticity::SynapticWeight;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::core::registry::{Observed, Read, Variable};
use crate::core::stage::Stage;

/// The tag of stage 6 (1 while tagged; z is the weight's).
impl Observed for SynapticTag {
    const VARIABLES: &'static [Read<Self>] = &[Read {
        variable: Variable {
            name: "tagged",
            unit: "",
            stage: Stage::Consolidation,
            component: "SynapticTag",
            doc: "1 while the synapse is tagged",
        },
        read: |t| t.tagged as u8 as f32,
    }];
}

/// Whether the synapse carries a tag (its early weight is far enough from baseline), and the
/// part of its late weight below the f32 resolution of [`SynapticWeight::z`] (z = `z` +
/// `z_residual`). Its presence marks a synapse that takes part in tagging and capture.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SynapticTag {
    pub tagged: bool,
    pub z_residual: f32,
}

// Its checkpoint columns: the tag, and the residual of z below f32 resolution
// ([`crate::core::fine`]), left out of a checkpoint when all 0.
crate::state_columns! {
    "synapses" SynapticTag {
        tagged: bool = tagged, any;
        z_residual: f32 = z_residual, [-1.0, 1.0], optional;
    }
}

/// Plasticity-related proteins available to one neuron's synapses (0..α).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationProteinPool {
    pub protein: f64,
}

crate::params! {
    /// Consolidation parameters of a synapse group.
    pub struct ConsolidationParams {
        /// Baseline early weight h0 (Luboeinski & Tetzlaff 2021).
        h0_mv: f64 = 4.20075, "mV", [0.0, 1e3];
        /// Tag threshold θ_tag as a fraction of h0.
        theta_tag_rel: f64 = 0.2, "", [0.0, 100.0];
        /// Time constant of the late weight τ_z.
        tau_z_s: f64 = 3600.0, "s", [1e-3, 1e8];
        /// Late weight that capture drives a potentiated synapse towards, z_max.
        z_max: f64 = 1.0, "", [1e-3, 100.0];
        /// Late weight that capture drives a depressed synapse towards, z_min.
        z_min: f64 = -0.5, "", [-100.0, 0.0];
    }
}

crate::params! {
    /// Protein-synthesis parameters of a neuron group.
    pub struct ProteinPoolParams {
        /// Time constant τ_p.
        tau_p_s: f64 = 3600.0, "s", [1e-3, 1e8];
        /// Synthesis amplitude α.
        alpha: f64 = 1.0, "", [0.0, 1e3];
        /// Threshold θ_pro on Σ|h − h0| of the neuron's synapses (0.5·h0 by default).
        theta_pro_mv: f64 = 0.5 * 4.20075, "mV", [0.0, 1e6];
    }
}

const FIXED_ONE: f64 = 4_294_967_296.0;

/// Per-neuron protein levels read by capture, and the drive Σ|h − h0| being accumulated.
#[derive(Resource, Default)]
pub struct ProteinLevels {
    /// Each neuron's protein level, as the bits of an f64: the pools update neuron by neuron
    /// in parallel, each writing its own entry ([`ProteinLevels::protein`] reads one).
    per_neuron: Vec<AtomicU64>,
    /// Pool parameters of each neuron (by its group).
    pub params_of_neuron: Vec<u32>,
    pub params: Vec<ProteinPoolParams>,
    drive: Vec<AtomicI64>,
}

impl ProteinLevels {
    pub fn new(params_of_neuron: Vec<u32>, params: Vec<ProteinPoolParams>) -> Self {
        let n = params_of_neuron.len();
        ProteinLevels {
            per_neuron: (0..n).map(|_| AtomicU64::new(0.0f64.to_bits())).collect(),
            params_of_neuron,
            params,
            drive: (0..n).map(|_| AtomicI64::new(0)).collect(),
        }
    }

    /// The protein level of `neuron`'s pool.
    #[inline]
    pub fn protein(&self, neuron: usize) -> f64 {
        f64::from_bits(self.per_neuron[neuron].load(Relaxed))
    }

    fn set_protein(&self, neuron: usize, protein: f64) {
        self.per_neuron[neuron].store(protein.to_bits(), Relaxed);
    }

    /// Every neuron's protein level, from a checkpoint (by neuron id).
    pub fn restore(&mut self, saved: &[f64]) {
        for (level, &p) in self.per_neuron.iter_mut().zip(saved) {
            *level.get_mut() = p.to_bits();
        }
    }

    /// Σ|h − h0| accumulated for `neuron` since its pool last updated, mV.
    pub fn drive_mv(&self, neuron: usize) -> f64 {
        self.drive[neuron].load(Relaxed) as f64 / FIXED_ONE
    }
}

/// The protein pool after one slow step of τ_p·dp/dt = −p + α·Θ[drive − θ_pro] (exact).
pub fn protein_step(p: &ProteinPoolParams, dt_s: f64, protein: f64, drive_mv: f64) -> f64 {
    protein_step_decay(p, (-dt_s / p.tau_p_s).exp(), protein, drive_mv)
}

/// [`protein_step`] with its decay factor e^(−dt/τ_p) computed by the caller.
#[inline(always)]
pub fn protein_step_decay(p: &ProteinPoolParams, decay: f64, protein: f64, drive_mv: f64) -> f64 {
    let target = if drive_mv > p.theta_pro_mv {
        p.alpha
    } else {
        0.0
    };
    target + (protein - target) * decay
}

/// Per-slow-step constants of capture for one group.
#[derive(Clone, Copy, Debug)]
pub struct CaptureStep {
    /// Δ/τ_z, the slow step over τ_z.
    pub dt_over_tau: f64,
    /// Δ/(τ_z·z_max), the rate towards z_max.
    pub dt_over_tau_up: f64,
    /// θ_tag, mV.
    pub theta: f32,
    pub h0: f32,
    pub z_max: f64,
    pub z_min: f64,
}

impl CaptureStep {
    pub fn new(p: &ConsolidationParams, dt_s: f64) -> Self {
        CaptureStep {
            dt_over_tau: dt_s / p.tau_z_s,
            dt_over_tau_up: dt_s / (p.tau_z_s * p.z_max),
            theta: (p.theta_tag_rel * p.h0_mv) as f32,
            h0: p.h0_mv as f32,
            z_max: p.z_max,
            z_min: p.z_min,
        }
    }

    /// The late weight after one slow step of capture with early weight `h` and protein `p`
    /// (held over the step): exactly z_max + (z − z_max)·e^(−p·Δ/(τ_z·z_max)) above the tag
    /// threshold, z_min + (z − z_min)·e^(−p·Δ/τ_z) below it, and z (no change) in between.
    #[inline(always)]
    pub fn z_after(&self, h: f32, z: f64, protein: f64) -> f64 {
        let (target, rate) = if (h - self.h0) > self.theta {
            (self.z_max, self.dt_over_tau_up)
        } else if (self.h0 - h) > self.theta {
            (self.z_min, self.dt_over_tau)
        } else {
            return z;
        };
        z + (target - z) * crate::core::fine::one_minus_exp_neg(protein * rate)
    }
}

/// System (slow): sets tags and adds |h − h0| to the postsynaptic neuron's drive.
pub fn tag_synapses(
    mut q: Query<(&Synapse, &SynapticWeight, &mut SynapticTag)>,
    groups: Res<SynapseGroups>,
    proteins: Res<ProteinLevels>,
) {
    q.contiguous_par_iter_mut()
        .expect("stage queries are dense")
        .batching_strategy(batching())
        .for_each(|(syn, w, mut tag)| {
            let tag = tag.bypass_change_detection();
            for (g, r) in group_runs(syn) {
                let Some(p) = &groups.0[g].spec.consolidation else {
                    continue;
                };
                let (h0, theta) = (p.h0_mv as f32, (p.theta_tag_rel * p.h0_mv) as f32);
                for i in r {
                    let d = (w[i].h_mv - h0).abs();
                    tag[i].tagged = d > theta;
                    if d > 0.0 {
                        let q = (d as f64 * FIXED_ONE).round() as i64;
                        proteins.drive[syn[i].post as usize].fetch_add(q, Relaxed);
                    }
                }
            }
        });
}

/// System (slow): each neuron's pool synthesises or decays, then its drive is reset; in
/// parallel over the neurons (each pool reads and writes its own neuron's entries only, and
/// tagging, which adds to the drives, ran before).
pub fn synthesize_proteins(
    mut q: Query<(
        &crate::stages::neurons::Neuron,
        &mut ConsolidationProteinPool,
    )>,
    proteins: Res<ProteinLevels>,
    clock: Res<Clock>,
) {
    let dt_s = clock.slow_dt_ms() / 1000.0;
    let proteins = &*proteins;
    q.contiguous_par_iter_mut()
        .expect("neuron queries are dense")
        .batching_strategy(batching())
        .for_each(|(ns, mut pools)| {
            // The decay of the last parameter set seen (neurons come group after group).
            let mut decay = (u32::MAX, 0.0);
            for (n, pool) in ns.iter().zip(pools.bypass_change_detection()) {
                let i = n.id as usize;
                let raw = proteins.drive[i].load(Relaxed);
                if raw != 0 {
                    proteins.drive[i].store(0, Relaxed);
                } else if pool.protein == 0.0 {
                    // No drive and no protein: the pool stays at 0 (θ_pro ≥ 0).
                    pool.protein = 0.0;
                    proteins.set_protein(i, 0.0);
                    continue;
                }
                let k = proteins.params_of_neuron[i];
                let p = &proteins.params[k as usize];
                if decay.0 != k {
                    decay = (k, (-dt_s / p.tau_p_s).exp());
                }
                let drive_mv = raw as f64 / FIXED_ONE;
                pool.protein = protein_step_decay(p, decay.1, pool.protein, drive_mv);
                proteins.set_protein(i, pool.protein);
            }
        });
}

/// System (slow): tagged synapses capture proteins into their late weight.
pub fn capture_proteins(
    mut q: Query<(&Synapse, &mut SynapticWeight, &mut SynapticTag)>,
    groups: Res<SynapseGroups>,
    proteins: Res<ProteinLevels>,
    clock: Res<Clock>,
) {
    let dt_s = clock.slow_dt_ms() / 1000.0;
    q.contiguous_par_iter_mut()
        .expect("stage queries are dense")
        .batching_strategy(batching())
        .for_each(|(syn, mut w, mut tag)| {
            let (w, tag) = (w.bypass_change_detection(), tag.bypass_change_detection());
            for (g, r) in group_runs(syn) {
                let Some(p) = &groups.0[g].spec.consolidation else {
                    continue;
                };
                let k = CaptureStep::new(p, dt_s);
                for i in r {
                    let prot = proteins.protein(syn[i].post as usize);
                    let (wi, lo) = (&mut w[i], &mut tag[i].z_residual);
                    let z = k.z_after(wi.h_mv, crate::core::fine::join(wi.z, *lo), prot);
                    (wi.z, *lo) = crate::core::fine::split(z);
                    wi.w_mv = wi.h_mv + k.h0 * wi.z;
                }
            }
        });
}

/// Registers tagging, synthesis and capture in [`Stage::Consolidation`], on the slow clock,
/// after event-driven calcium synapses are brought up to date
/// ([`catch_up_for_consolidation`](crate::stages::plasticity::event_calcium::catch_up_for_consolidation)).
pub fn plugin(s: &mut Schedule) {
    use crate::core::clock::on_slow_step;
    use crate::engine::schedule::Stage;
    use crate::stages::plasticity::event_calcium::catch_up_for_consolidation as catch_up;
    use crate::stages::plasticity::{CaRuleState, EarlyCalciumRule};
    s.add_systems(
        (
            catch_up::<CaRuleState>,
            catch_up::<EarlyCalciumRule>,
            tag_synapses,
            synthesize_proteins,
            capture_proteins,
        )
            .chain()
            .run_if(on_slow_step.and_then(any_consolidation))
            .in_set(Stage::Consolidation),
    );
}

/// Run condition: some synapse group has consolidation. Without one no synapse is tagged, no
/// neuron's protein drive is ever non-zero and every pool stays at 0, so the stage has nothing
/// to do (it would otherwise visit every neuron on every slow step).
pub fn any_consolidation(groups: Res<SynapseGroups>) -> bool {
    groups.0.iter().any(|g| g.spec.consolidation.is_some())
}

impl SynapseComponent for SynapticTag {
    fn in_group(g: &SynapseGroup) -> bool {
        g.consolidation.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proteins_rise_only_above_threshold() {
        let p = ProteinPoolParams::default();
        assert_eq!(protein_step(&p, 60.0, 0.0, 1.0), 0.0);
        let up = protein_step(&p, 3600.0, 0.0, 10.0);
        assert!((up - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
    }

    /// With proteins and a potentiated early weight, z approaches 1; depressed, −0.5
    /// (the fixed points of the capture equation).
    #[test]
    fn capture_converges_to_its_fixed_points() {
        let k = CaptureStep::new(&ConsolidationParams::default(), 3.6);
        let (mut up, mut down) = (0.0, 0.0);
        for _ in 0..100_000 {
            up = k.z_after(8.4, up, 1.0);
            down = k.z_after(1.0, down, 1.0);
        }
        assert!(
            (up - 1.0).abs() < 1e-3 && (down + 0.5).abs() < 1e-3,
            "{up} {down}"
        );
        // Between the thresholds z stays where it is.
        assert_eq!(k.z_after(4.3, 0.25, 1.0), 0.25);
    }

    /// On a slow clock of 0.01 ms the late weight still follows its closed form: from z = 0.9
    /// with p = 1 and a tag, 1 − 0.1·e^(−t/τz) after 10 s (10^6 slow steps, each moving z by
    /// 3e-10, a hundredth of an f32 unit), to 1e-9 with the residual kept; a plain f32 z never
    /// moves.
    #[test]
    fn late_weight_moves_on_a_0_01_ms_slow_clock() {
        let k = CaptureStep::new(&ConsolidationParams::default(), 1e-5);
        let (mut hi, mut lo, mut plain) = (0.9f32, 0.0f32, 0.9f32);
        for _ in 0..1_000_000 {
            let z = k.z_after(8.4, crate::core::fine::join(hi, lo), 1.0);
            (hi, lo) = crate::core::fine::split(z);
            plain = k.z_after(8.4, plain as f64, 1.0) as f32;
        }
        let exact = 1.0 - (1.0 - 0.9f32 as f64) * (-10.0f64 / 3600.0).exp();
        let z = crate::core::fine::join(hi, lo);
        assert!((z - exact).abs() < 1e-9, "{z} vs {exact}");
        assert_eq!(plain, 0.9f32);
    }
}

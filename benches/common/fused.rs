//! The limit: the arithmetic of one step of `scenes/bench/cascade.ron` (every synapse between its
//! own Poisson pre and post source, all six stages every step) written as one fused loop over
//! plain structure-of-arrays `Vec<f32>`, parallel with rayon, with no ECS. It calls edra's own
//! per-synapse kernels (`nmda_step`, `StdpStep::trace_step`, `traffic_step`, `CaptureStep`) and
//! its counter-based random draws, so the work per synapse is the same; what it leaves out is
//! everything the ECS adds: one pass per stage instead of one pass in all, per-system overhead,
//! entity and change-tick bookkeeping.
//!
//! One difference in order: capture (stage 6) uses the protein level of the previous step
//! instead of the one synthesised from this step's tags, so that a single pass suffices; the
//! amount of arithmetic is the same.

use edra::fine::{join, split};
use edra::rng::{self, Purpose};
use edra::scene::SceneFile;
use edra::stages::ca_influx::{
    CaModel, NmdaReceptor, NmdaSpine, NmdaStep, PostsynapticMembrane, SpineHeadCa, SynapticCleft,
    nmda_step,
};
use edra::stages::consolidation::{CaptureStep, ConsolidationParams, ProteinPoolParams};
use edra::stages::homeostasis::{AstrocyteParams, AstrocyteUnit, astrocyte_step};
use edra::stages::modulation::{
    DopamineCleft, DopamineParams, DopamineReceptor, ModulatoryCascade, region_step,
};
use edra::stages::plasticity::pair_stdp::StdpStep;
use edra::stages::plasticity::{DopamineGating, Rule, StdpTraces};
use edra::stages::trafficking::{
    AmpaPools, AmpaTraffickingParams, TraffickingStep, traffic_every, traffic_step,
};
use rayon::prelude::*;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering::Relaxed};

const FIXED_ONE: f64 = 4_294_967_296.0;

/// A raw column pointer shared by the parallel chunks; each chunk touches only its own range.
#[derive(Clone, Copy)]
struct Col<T>(*mut T);
unsafe impl<T> Send for Col<T> {}
unsafe impl<T> Sync for Col<T> {}
impl<T> Col<T> {
    fn of(v: &mut [T]) -> Self {
        Col(v.as_mut_ptr())
    }
    /// SAFETY: ranges given to concurrent calls must not overlap and lie within the column.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, r: std::ops::Range<usize>) -> &mut [T] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(r.start), r.len()) }
    }
}

/// The whole state of the cascade scene as plain vectors.
pub struct Fused {
    pub n: usize,
    n_neurons: usize,
    seed: u64,
    dt: f64,
    pub step: u64,
    rate_p: f64,
    // synapses
    pre: Vec<u32>,
    post: Vec<u32>,
    axonal: Vec<u16>,
    dendritic: Vec<u16>,
    glu: Vec<f32>,
    v: Vec<f32>,
    open: Vec<f32>,
    ca: Vec<f32>,
    sens: Vec<f32>,
    x: Vec<f32>,
    y: Vec<f32>,
    c: Vec<f32>,
    h: Vec<f32>,
    z: Vec<f32>,
    /// Residual of z below f32 resolution (`SynapticTag::z_residual`).
    zr: Vec<f32>,
    w: Vec<f32>,
    eff: Vec<f32>,
    psd: Vec<f32>,
    total: Vec<f32>,
    tag: Vec<u8>,
    // neurons
    words: usize,
    rows: usize,
    spikes: Vec<u64>,
    input: Vec<AtomicI64>,
    drive: Vec<AtomicI64>,
    protein: Vec<f64>,
    scale: Vec<f32>,
    astro: Vec<AstrocyteUnit>,
    // shared
    region: (DopamineCleft, DopamineReceptor, ModulatoryCascade),
    da: DopamineParams,
    nmda: NmdaStep,
    stdp: StdpStep,
    gate: DopamineGating,
    traffic: TraffickingStep,
    cons: ConsolidationParams,
    pool: ProteinPoolParams,
    astro_p: AstrocyteParams,
    bad: AtomicU32,
}

impl Fused {
    /// The state of `scenes/bench/cascade.ron` resized to `n` synapses, initialised as edra
    /// initialises it.
    pub fn new(sf: &SceneFile, n: usize) -> Self {
        let sc = &sf.scene;
        let g = &sc.synapses[0];
        let CaModel::Nmda(ca_p) = &g.ca else {
            panic!("cascade scene uses the NMDA model")
        };
        let Rule::PairStdp(stdp_p) = &g.rule else {
            panic!("cascade scene uses pair STDP")
        };
        let gate = g.gating.clone().expect("gated");
        let tp: AmpaTraffickingParams = g.trafficking.clone().expect("trafficking");
        let cons = g.consolidation.clone().expect("consolidation");
        let h0 = cons.h0_mv;
        let dt = sc.dt_ms;
        let n_neurons = 2 * n;
        let words = n_neurons.div_ceil(64);
        let rows = 4;
        let h_init = 1.0f32;
        let psd = tp.steady_psd(h_init as f64, tp.total_receptors) as f32;
        let f = |x: f32| vec![x; n];
        let rate = match &sc.neurons[0].model {
            edra::neurons::NeuronModel::Poisson { rate_hz } => *rate_hz,
            _ => panic!("Poisson sources"),
        };
        let per_astro = sc.astrocytes[0].neurons_per_astrocyte as usize;
        let astro = (0..n.div_ceil(per_astro))
            .map(|k| AstrocyteUnit {
                id: k as u32,
                first_neuron: (n + k * per_astro) as u32,
                n_neurons: per_astro.min(n - k * per_astro) as u32,
                params: 0,
                activity_hz: sc.astrocytes[0].params.goal_hz,
                error_integral_hz_s: 0.0,
                scale: 1.0,
                spikes_in_window: 0,
            })
            .collect();
        Fused {
            n,
            n_neurons,
            seed: sc.seed,
            dt,
            step: 0,
            rate_p: rate * dt / 1000.0,
            pre: (0..n as u32).collect(),
            post: (n as u32..2 * n as u32).collect(),
            axonal: vec![(1.0 / dt).round() as u16; n],
            dendritic: vec![(1.0 / dt).round() as u16; n],
            glu: f(0.0),
            v: f(ca_p.v_rest_mv as f32),
            open: f(0.0),
            ca: f(ca_p.ca_rest_um as f32),
            sens: f(1.0),
            x: f(0.0),
            y: f(0.0),
            c: f(0.0),
            h: f(h_init),
            z: f(0.0),
            zr: f(0.0),
            w: f(h_init),
            eff: f(psd * tp.mv_per_receptor as f32),
            psd: f(psd),
            total: f(tp.total_receptors as f32),
            tag: vec![0; n],
            words,
            rows,
            spikes: vec![0; words * rows],
            input: (0..n_neurons).map(|_| AtomicI64::new(0)).collect(),
            drive: (0..n_neurons).map(|_| AtomicI64::new(0)).collect(),
            protein: vec![0.0; n_neurons],
            scale: vec![1.0; n_neurons],
            astro,
            region: Default::default(),
            da: sc.dopamine_regions[0].params.clone(),
            nmda: NmdaStep::new(ca_p, dt),
            stdp: StdpStep::new(stdp_p, dt, h0),
            gate,
            traffic: TraffickingStep::new(&tp, dt),
            cons,
            pool: sc.neurons[1].protein_pool.clone(),
            astro_p: sc.astrocytes[0].params.clone(),
            bad: AtomicU32::new(u32::MAX),
        }
    }

    #[inline(always)]
    fn fired(spikes: &[u64], words: usize, rows: usize, step: u64, back: u64, id: u32) -> bool {
        if back > step {
            return false;
        }
        let r = ((step - back) % rows as u64) as usize * words;
        spikes[r + (id as usize >> 6)] >> (id & 63) & 1 == 1
    }

    /// Row offsets of `step - back` for each `back` (as edra's spike history makes once per
    /// step); `None` before step 0.
    fn back_offsets(words: usize, rows: usize, step: u64) -> [Option<usize>; 4] {
        let mut offs = [None; 4];
        for (back, o) in offs.iter_mut().enumerate().take(rows) {
            *o = step
                .checked_sub(back as u64)
                .map(|s| (s % rows as u64) as usize * words);
        }
        offs
    }

    #[inline(always)]
    fn delayed(spikes: &[u64], offs: &[Option<usize>; 4], back: u16, id: u32) -> bool {
        match offs[back as usize] {
            Some(r) => spikes[r + (id as usize >> 6)] >> (id & 63) & 1 == 1,
            None => false,
        }
    }

    /// One step of the whole cascade.
    pub fn step(&mut self) {
        let (step, seed, dt) = (self.step, self.seed, self.dt);

        // Input and neurons: each source discards its input and draws its spike; one task per
        // group of 64-neuron words writes its words of this step's row.
        let r = (step % self.rows as u64) as usize * self.words;
        let (p, nn, input) = (self.rate_p, self.n_neurons, &self.input);
        self.spikes[r..r + self.words]
            .par_chunks_mut(256)
            .enumerate()
            .for_each(|(c, ws)| {
                for (k, word) in ws.iter_mut().enumerate() {
                    let base = (c * 256 + k) * 64;
                    let mut bits = 0u64;
                    for b in 0..64.min(nn.saturating_sub(base)) {
                        let id = base + b;
                        input[id].store(0, Relaxed);
                        let u = rng::uniform_f64(seed, id as u64, step, Purpose::Poisson);
                        bits |= ((u < p) as u64) << b;
                    }
                    *word = bits;
                }
            });

        // Stage 2: one dopamine region, a pulse every second.
        let release = if step % 1000 == 500 { 0.5 } else { 0.0 };
        let (cl, rc, cs) = &mut self.region;
        let s = region_step(&self.da, dt, release, cl, rc, cs);
        let m = cl.dopamine_um + self.da.tonic_um as f32;

        // Stage 5: astrocytes count their domain's spikes and integrate (slow clock = every step).
        for a in &mut self.astro {
            let (first, len) = (a.first_neuron, a.n_neurons);
            a.spikes_in_window += (first..first + len)
                .filter(|&id| Self::fired(&self.spikes, self.words, self.rows, step, 0, id))
                .count() as u32;
            astrocyte_step(&self.astro_p, dt / 1000.0, a);
            self.scale[first as usize..(first + len) as usize].fill(a.scale as f32);
        }

        // Stages 1, 3, 4, 6 and delivery: one pass over the synapses.
        let decay_c = (-dt / self.gate.tau_eligibility_ms).exp() as f32;
        let rate = (self.gate.rate_per_um_ms * dt) as f32 * m;
        let h0 = self.cons.h0_mv as f32;
        let theta = (self.cons.theta_tag_rel * self.cons.h0_mv) as f32;
        let cap = CaptureStep::new(&self.cons, dt / 1000.0);
        let traffic_now = step.is_multiple_of(traffic_every(dt));
        let (nmda, stdp, traffic) = (self.nmda, self.stdp, self.traffic);
        let (words, rows) = (self.words, self.rows);
        let spikes = &self.spikes;
        let (scale, protein, drive, bad) = (&self.scale, &self.protein, &self.drive, &self.bad);
        let cols = (
            Col::of(&mut self.glu),
            Col::of(&mut self.v),
            Col::of(&mut self.open),
            Col::of(&mut self.ca),
            Col::of(&mut self.sens),
            Col::of(&mut self.x),
            Col::of(&mut self.y),
            Col::of(&mut self.c),
            Col::of(&mut self.h),
            Col::of(&mut self.z),
            Col::of(&mut self.w),
            Col::of(&mut self.eff),
            Col::of(&mut self.psd),
            Col::of(&mut self.total),
            Col::of(&mut self.tag),
            Col::of(&mut self.zr),
        );
        let (pre, post, ad, dd) = (&self.pre, &self.post, &self.axonal, &self.dendritic);
        let offs = Self::back_offsets(words, rows, step);
        let n = self.n;
        let chunk = 8192;
        (0..n.div_ceil(chunk)).into_par_iter().for_each(|k| {
            let rg = k * chunk..((k + 1) * chunk).min(n);
            // SAFETY: chunks are disjoint ranges of the columns.
            let (glu, v, open, ca, sens) = unsafe {
                (
                    cols.0.slice(rg.clone()),
                    cols.1.slice(rg.clone()),
                    cols.2.slice(rg.clone()),
                    cols.3.slice(rg.clone()),
                    cols.4.slice(rg.clone()),
                )
            };
            let (x, y, c, h, z) = unsafe {
                (
                    cols.5.slice(rg.clone()),
                    cols.6.slice(rg.clone()),
                    cols.7.slice(rg.clone()),
                    cols.8.slice(rg.clone()),
                    cols.9.slice(rg.clone()),
                )
            };
            let (w, eff, psd, total, tag, zr) = unsafe {
                (
                    cols.10.slice(rg.clone()),
                    cols.11.slice(rg.clone()),
                    cols.12.slice(rg.clone()),
                    cols.13.slice(rg.clone()),
                    cols.14.slice(rg.clone()),
                    cols.15.slice(rg.clone()),
                )
            };
            let mut first_bad = u32::MAX;
            for (j, i) in rg.enumerate() {
                let (a, b) = (pre[i], post[i]);
                let pre_b = Self::delayed(spikes, &offs, ad[i], a);
                let post_b = Self::delayed(spikes, &offs, dd[i], b);
                // Delivery.
                if pre_b {
                    let q = (eff[j] as f64 * FIXED_ONE).round() as i64;
                    input[b as usize].fetch_add(q, Relaxed);
                }
                // Stage 1.
                let released = pre_b
                    && rng::uniform_f32(seed, i as u64, step, Purpose::Release) < nmda.p_release;
                let mut nm = NmdaSpine {
                    cleft: SynapticCleft {
                        glutamate_mm: glu[j],
                    },
                    receptor: NmdaReceptor {
                        open_fraction: open[j],
                    },
                    membrane: PostsynapticMembrane { v_mv: v[j] },
                };
                let mut sp = SpineHeadCa {
                    ca_um: ca[j],
                    sensitivity: sens[j],
                };
                nmda_step(&nmda, released, post_b, s, &mut nm, &mut sp);
                (glu[j], open[j], v[j]) = (
                    nm.cleft.glutamate_mm,
                    nm.receptor.open_fraction,
                    nm.membrane.v_mv,
                );
                (ca[j], sens[j]) = (sp.ca_um, sp.sensitivity);
                // Stage 3.
                let mut tr = StdpTraces {
                    x_pre: x[j],
                    y_post: y[j],
                    eligibility_mv: c[j],
                };
                let d = stdp.trace_step(pre_b, post_b, h[j], &mut tr);
                tr.eligibility_mv = tr.eligibility_mv * decay_c + d;
                let hh = (h[j] + rate * tr.eligibility_mv).clamp(stdp.h_min, stdp.h_max);
                (x[j], y[j], c[j], h[j]) = (tr.x_pre, tr.y_post, tr.eligibility_mv, hh);
                let ww = hh + stdp.h0_mv * z[j];
                // Stage 4 (every `traffic_every` steps, as edra).
                if traffic_now {
                    let mut pools = AmpaPools {
                        psd: psd[j],
                        total: total[j],
                    };
                    eff[j] = traffic_step(&traffic, ww, scale[b as usize], &mut pools);
                    (psd[j], total[j]) = (pools.psd, pools.total);
                }
                // Stage 6: tag, drive, capture.
                let dev = (hh - h0).abs();
                tag[j] = (dev > theta) as u8;
                if dev > 0.0 {
                    let q = (dev as f64 * FIXED_ONE).round() as i64;
                    drive[b as usize].fetch_add(q, Relaxed);
                }
                let zf = cap.z_after(hh, join(z[j], zr[j]), protein[b as usize]);
                (z[j], zr[j]) = split(zf);
                let zz = z[j];
                w[j] = hh + h0 * zz;
                // The non-finite guard.
                if !(sp.ca_um + sp.sensitivity + hh + zz + w[j] + eff[j]).is_finite() {
                    first_bad = first_bad.min(i as u32);
                }
            }
            if first_bad != u32::MAX {
                bad.fetch_min(first_bad, Relaxed);
            }
        });

        // Stage 6: protein pools (decay hoisted out of the loop).
        let target_decay = (-(dt / 1000.0) / self.pool.tau_p_s).exp();
        let (alpha, theta_pro) = (self.pool.alpha, self.pool.theta_pro_mv);
        let drive = &self.drive;
        self.protein
            .par_chunks_mut(8192)
            .enumerate()
            .for_each(|(k, ps)| {
                for (j, p) in ps.iter_mut().enumerate() {
                    let d = drive[k * 8192 + j].swap(0, Relaxed) as f64 / FIXED_ONE;
                    let target = if d > theta_pro { alpha } else { 0.0 };
                    *p = target + (*p - target) * target_decay;
                }
            });
        self.step += 1;
    }

    /// Bytes of state per synapse (synapse columns only).
    pub fn bytes_per_synapse() -> usize {
        4 + 4 + 2 + 2 + 15 * 4 + 1
    }
}

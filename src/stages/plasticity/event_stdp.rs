//! Event-driven integration of pair STDP (`event_driven: true` in a group's [`StdpParams`]).
//!
//! Between two spikes reaching a synapse its pair-STDP variables follow linear equations with
//! known solutions, so a synapse needs work only when a spike reaches it:
//!
//! - traces: x(t + m) = x(t)·e^(−m·dt/τ+), y(t + m) = y(t)·e^(−m·dt/τ−);
//! - eligibility: c(t + m) = c(t)·d_c^m with d_c = e^(−dt/τc);
//! - weight (gated): the clock-driven rule adds r_i·c_i on every step i, with r_i = λ·dt·M_i
//!   the same for the whole group (M = DA + DA_tonic of its region, Izhikevich 2007). Over the
//!   quiet steps n … u − 1 that sum is c(n−1)·Σ_i r_i·d_c^(i−n+1) = c(n−1)·(P_u − P_n)/d_c^(n−E),
//!   where P_m = Σ_{i=E}^{m−1} r_i·d_c^(i−E+1) is one running sum per group since the start E of
//!   the current epoch. Within a quiet stretch c keeps its sign and r_i ≥ 0, so clipping h once
//!   to [h_min, h_max] gives what clipping it every step gives.
//!
//! On the step a spike arrives the synapse is first brought to the end of the previous step
//! (the efficacy a presynaptic spike delivers is the weight of that step, as in the
//! clock-driven path), then that step is taken exactly as [`StdpStep::trace_step`] and the
//! gated update take it. Every [`EPOCH_STEPS`] steps (fewer if τc is shorter) all synapses are
//! brought up to date, so that every gap fits the decay tables and the prefix sums stay
//! well-conditioned (d_c^K ≥ 1/e). Readers (recorders, outputs, the web page) see the values
//! brought up to date without writing them ([`CaughtUp`]), so reading never changes a run.
//!
//! The values agree with the clock-driven path to float rounding (the powers are taken at once
//! rather than by repeated multiplication), not bit for bit; they are the same whatever the
//! thread count. Morrison, Diesmann & Gerstner (2008, Biol Cybern 98:459) describe event-driven
//! STDP; Potjans, Morrison & Diesmann (2010, Front Comput Neurosci 4:141) the dopamine form.

use super::SynapticWeight;
use super::event_arrivals::{Arrivals, ChunkArrivals};
use super::event_calcium::{CalciumState, EventCalcium};
use super::pair_stdp::{StdpParams, StdpStep, StdpTraces};
use crate::core::clock::Clock;
use crate::core::prefetch::prefetch;
use crate::core::synapse::{Synapse, for_each_table, group_runs};
use crate::core::weight::direct_efficacy_mv;
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::stages::ca_influx::SpineHeadCa;
use crate::stages::delivery::DeliveryIndex;
use crate::stages::groups::SynapseGroups;
use crate::stages::guard::{NonFinite, nonfinite};
use crate::stages::homeostasis::{AstrocyteScaling, factor};
use crate::stages::modulation::RegionLevels;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering::Relaxed;

pub use crate::core::weight::EventDriven;

/// Longest epoch, steps.
pub const EPOCH_STEPS: u64 = 1000;

/// Dopamine gating of one event-driven group.
#[derive(Clone, Copy, Debug)]
struct Gate {
    /// d_c = e^(−dt/τc).
    decay_c: f32,
    /// λ·dt, per µM.
    rate_per_um: f32,
    region: usize,
    /// r of the current step, λ·dt·M.
    rate_now: f32,
}

/// Constants and running sums of one event-driven group.
#[derive(Clone, Debug)]
struct EventGroup {
    k: StdpStep,
    gate: Option<Gate>,
    sign: f32,
    delivers_input: bool,
    /// e^(−m·dt/τ+), e^(−m·dt/τ−), d_c^m for m = 0 … epoch.
    pow_x: Vec<f64>,
    pow_y: Vec<f64>,
    pow_c: Vec<f64>,
    /// P_{E+j}, j = 0 … steps taken in this epoch.
    prefix: Vec<f64>,
}

/// The event-driven groups of a world, and the current epoch.
#[derive(Resource, Clone, Debug, Default)]
pub struct EventStdp {
    epoch_steps: u64,
    epoch_start: u64,
    groups: Vec<EventGroup>,
    /// Index into `groups` by synapse group (`usize::MAX`: clock-driven).
    of_group: Vec<usize>,
}

/// The epoch in a checkpoint: its first step and each event-driven group's running sums.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEpoch {
    pub start_step: u64,
    pub prefix: Vec<Vec<f64>>,
}

impl EventStdp {
    /// The event-driven groups of `groups`, with an epoch starting at `step` (or the one of a
    /// checkpoint).
    pub fn new(groups: &SynapseGroups, dt_ms: f64, step: u64, saved: Option<&EventEpoch>) -> Self {
        // The epoch: at most EPOCH_STEPS, and no longer than the shortest τc (d_c^K ≥ 1/e).
        let epoch_steps = groups
            .0
            .iter()
            .filter(|g| event_params(g).is_some())
            .filter_map(|g| g.spec.gating.as_ref())
            .map(|gate| ((gate.tau_eligibility_ms / dt_ms).floor() as u64).max(1))
            .fold(EPOCH_STEPS, u64::min);
        let mut ev = EventStdp {
            epoch_steps,
            epoch_start: step,
            of_group: vec![usize::MAX; groups.0.len()],
            ..Default::default()
        };
        for (gi, g) in groups.0.iter().enumerate() {
            if let Some(p) = event_params(g) {
                ev.of_group[gi] = ev.groups.len();
                ev.groups
                    .push(EventGroup::new(p, g, dt_ms, epoch_steps as usize));
            }
        }
        if let Some(s) = saved {
            ev.epoch_start = s.start_step;
            for (g, p) in ev.groups.iter_mut().zip(&s.prefix) {
                g.prefix.clear();
                g.prefix.extend_from_slice(p);
            }
        }
        ev
    }

    /// The epoch, for a checkpoint.
    pub fn epoch(&self) -> EventEpoch {
        EventEpoch {
            start_step: self.epoch_start,
            prefix: self.groups.iter().map(|g| g.prefix.clone()).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    fn group(&self, synapse_group: u16) -> &EventGroup {
        &self.groups[self.of_group[synapse_group as usize]]
    }

    /// The last step of the open epoch, at whose end every event-driven synapse is brought up
    /// to date (`None` without event-driven pair STDP).
    pub fn epoch_end(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.epoch_start + self.epoch_steps - 1)
    }

    /// Adds step `step`'s r to each gated group's running sum.
    fn extend(&mut self, step: u64, regions: &RegionLevels) {
        let j = (step - self.epoch_start) as usize;
        for g in &mut self.groups {
            if let Some(gate) = &mut g.gate {
                gate.rate_now = gate.rate_per_um * regions.third_factor_um[gate.region];
                let p = g.prefix[j] + gate.rate_now as f64 * g.pow_c[j + 1];
                g.prefix.push(p);
            }
        }
    }

    /// Starts a new epoch at `step` (every synapse must have reached it).
    fn start_epoch(&mut self, step: u64) {
        self.epoch_start = step;
        for g in &mut self.groups {
            g.prefix.clear();
            g.prefix.push(0.0);
        }
    }

    /// Takes the quiet steps `n … upto − 1` of one synapse (no spike reaches it on them).
    #[inline]
    fn quiet(
        &self,
        g: &EventGroup,
        n: u64,
        upto: u64,
        tr: &mut StdpTraces,
        w: &mut SynapticWeight,
    ) {
        if upto <= n {
            return;
        }
        let m = (upto - n) as usize;
        tr.x_pre = (tr.x_pre as f64 * g.pow_x[m]) as f32;
        tr.y_post = (tr.y_post as f64 * g.pow_y[m]) as f32;
        if g.gate.is_some() {
            let (jn, ju) = (
                (n - self.epoch_start) as usize,
                (upto - self.epoch_start) as usize,
            );
            let gain = (g.prefix[ju] - g.prefix[jn]) / g.pow_c[jn];
            let h = (w.h_mv as f64 + tr.eligibility_mv as f64 * gain) as f32;
            w.h_mv = h.clamp(g.k.h_min, g.k.h_max);
            tr.eligibility_mv = (tr.eligibility_mv as f64 * g.pow_c[m]) as f32;
        }
        w.w_mv = w.h_mv + g.k.h0_mv * w.z;
    }

    /// Step `step` of a synapse a spike reaches on it (`pre`, `post`: which spikes): first the
    /// quiet steps before, then the presynaptic spike delivers the weight they end with, then
    /// the step itself.
    #[inline]
    fn on_spike(
        &self,
        step: u64,
        g: &EventGroup,
        (pre, post): (bool, bool),
        at: &mut Row,
        per_neuron: &[f32],
        input: &NeuronInput,
    ) {
        self.quiet(g, at.clock.next_step, step, at.tr, at.w);
        if pre && g.delivers_input {
            input.add(at.syn.post, g.efficacy(at.w, per_neuron, at.syn));
        }
        let d = g.k.trace_step(pre, post, at.w.h_mv, at.tr);
        let gate = g.gate.map(|gate| (gate.decay_c, gate.rate_now));
        g.k.weight_step(gate, d, at.tr, at.w);
        at.w.efficacy_mv = g.efficacy(at.w, per_neuron, at.syn);
        at.clock.next_step = step + 1;
    }

    /// One synapse brought to the end of step `upto − 1`, without writing it.
    pub fn view(
        &self,
        syn: &Synapse,
        clock: &EventDriven,
        mut tr: StdpTraces,
        mut w: SynapticWeight,
        upto: u64,
        per_neuron: &[f32],
    ) -> (StdpTraces, SynapticWeight) {
        let g = self.group(syn.group);
        self.quiet(g, clock.next_step, upto, &mut tr, &mut w);
        if upto > clock.next_step {
            w.efficacy_mv = g.efficacy(&w, per_neuron, syn);
        }
        (tr, w)
    }
}

impl EventGroup {
    /// What a presynaptic spike delivers with weight `w`: its sign, times the astrocyte factor
    /// of the postsynaptic neuron (1 without astrocytes, [`scale`]).
    #[inline(always)]
    fn efficacy(&self, w: &SynapticWeight, per_neuron: &[f32], syn: &Synapse) -> f32 {
        direct_efficacy_mv(self.sign, w.w_mv, factor(per_neuron, syn.post))
    }

    /// The constants of group `g`, with decay tables for gaps of up to `n` steps (an epoch).
    fn new(
        p: &StdpParams,
        g: &crate::stages::groups::SynapseGroupRt,
        dt_ms: f64,
        n: usize,
    ) -> Self {
        let gate = match (&g.spec.gating, g.region) {
            (Some(gate), Some(region)) => Some(Gate {
                decay_c: (-dt_ms / gate.tau_eligibility_ms).exp() as f32,
                rate_per_um: (gate.rate_per_um_ms * dt_ms) as f32,
                region: region as usize,
                rate_now: 0.0,
            }),
            _ => None,
        };
        // Ungated groups use no d_c; τc = dt keeps their (unused) table finite.
        let tau_c = g
            .spec
            .gating
            .as_ref()
            .map_or(dt_ms, |g| g.tau_eligibility_ms);
        EventGroup {
            k: StdpStep::new(p, dt_ms, g.h0_mv()),
            gate,
            sign: g.sign,
            delivers_input: g.delivers_input,
            pow_x: powers(dt_ms / p.tau_plus_ms, n),
            pow_y: powers(dt_ms / p.tau_minus_ms, n),
            pow_c: powers(dt_ms / tau_c, n),
            prefix: {
                let mut p = Vec::with_capacity(n + 1);
                p.push(0.0);
                p
            },
        }
    }
}

/// The pair-STDP parameters of group `g` if it is event-driven.
fn event_params(g: &crate::stages::groups::SynapseGroupRt) -> Option<&StdpParams> {
    match &g.spec.rule {
        super::Rule::PairStdp(p) if p.event_driven => Some(p),
        _ => None,
    }
}

/// e^(−m·per_step) for m = 0 … n.
fn powers(per_step: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|m| (-per_step * m as f64).exp()).collect()
}

/// The columns of one event-driven synapse.
struct Row<'a> {
    syn: &'a Synapse,
    tr: &'a mut StdpTraces,
    w: &'a mut SynapticWeight,
    clock: &'a mut EventDriven,
}

/// Whether any variable event-driven STDP writes is non-finite.
fn bad(tr: &StdpTraces, w: &SynapticWeight) -> bool {
    [
        tr.x_pre,
        tr.y_post,
        tr.eligibility_mv,
        w.h_mv,
        w.w_mv,
        w.efficacy_mv,
    ]
    .into_iter()
    .any(nonfinite)
}

type EventColumns<'a> = (
    &'a Synapse,
    &'a mut StdpTraces,
    &'a mut SynapticWeight,
    &'a mut EventDriven,
);

/// The columns of a run of event-driven rows.
struct Columns<'a> {
    syn: &'a [Synapse],
    tr: &'a mut [StdpTraces],
    w: &'a mut [SynapticWeight],
    clock: &'a mut [EventDriven],
}

impl<'a> Columns<'a> {
    /// The first `n` rows, and the rest.
    fn split_at(self, n: usize) -> (Self, Self) {
        let (syn, syn_rest) = self.syn.split_at(n);
        let (tr, tr_rest) = self.tr.split_at_mut(n);
        let (w, w_rest) = self.w.split_at_mut(n);
        let (clock, clock_rest) = self.clock.split_at_mut(n);
        (
            Columns { syn, tr, w, clock },
            Columns {
                syn: syn_rest,
                tr: tr_rest,
                w: w_rest,
                clock: clock_rest,
            },
        )
    }

    /// Requests row `k` of the columns an update writes ([`prefetch`]), and of the synapse
    /// column when the update reads it (`reads_synapse`: to deliver input or scale by an
    /// astrocyte).
    #[inline(always)]
    fn prefetch(&self, k: usize, reads_synapse: bool) {
        prefetch(self.tr, k);
        prefetch(self.w, k);
        prefetch(self.clock, k);
        if reads_synapse {
            prefetch(self.syn, k);
        }
    }

    /// Row `k`.
    fn row(&mut self, k: usize) -> Row<'_> {
        Row {
            syn: &self.syn[k],
            tr: &mut self.tr[k],
            w: &mut self.w[k],
            clock: &mut self.clock[k],
        }
    }
}

/// What updating the synapses reached on one step of one table needs.
struct ThisStep<'a> {
    ev: &'a EventStdp,
    step: u64,
    /// (end row, synapse group) of each run of one group in the table.
    spans: &'a [(usize, u16)],
    /// Whether an update reads its synapse's postsynaptic neuron.
    reads_synapse: bool,
    per_neuron: &'a [f32],
    input: &'a NeuronInput,
    flag: &'a NonFinite,
}

impl ThisStep<'_> {
    /// Takes the step for each row of one chunk that a spike reached, requesting the columns
    /// of the row a few updates ahead.
    fn update(&self, chunk: &mut ChunkArrivals, mut c: Columns) {
        let base = chunk.base;
        chunk.for_each(|k, pre, post, ahead| {
            if let Some(a) = ahead {
                c.prefetch(a, self.reads_synapse);
            }
            let row_group = self
                .spans
                .iter()
                .find(|s| base + k < s.0)
                .map_or(0, |s| s.1);
            let g = self.ev.group(row_group);
            let mut row = c.row(k);
            let (ev, step) = (self.ev, self.step);
            ev.on_spike(step, g, (pre, post), &mut row, self.per_neuron, self.input);
            if bad(row.tr, row.w) {
                self.flag.synapse.fetch_min(row.syn.id, Relaxed);
            }
        });
    }
}

/// System (Plasticity): delivers the spikes reaching event-driven synapses on this step and
/// takes the step for each synapse they reach (in parallel over chunks of rows,
/// [`Arrivals`]); at the end of an epoch brings every event-driven synapse up to date.
#[allow(clippy::too_many_arguments)]
pub fn event_stdp(
    mut q: Query<EventColumns<'static>>,
    mut ev: ResMut<EventStdp>,
    clock: Res<Clock>,
    regions: Res<RegionLevels>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
    scaling: Res<AstrocyteScaling>,
    flag: Res<NonFinite>,
    mut index: Local<DeliveryIndex>,
    mut arrivals: Local<Arrivals>,
    mut spans: Local<Vec<(usize, u16)>>,
) {
    if ev.is_empty() {
        return;
    }
    let step = clock.step;
    ev.extend(step, &regions);
    let per_neuron = scaling.factors();
    let tables = q.contiguous_iter_mut().expect("stage queries are dense");
    for (i, (syn, mut tr, mut w, mut at)) in tables.enumerate() {
        let columns = Columns {
            syn,
            tr: tr.bypass_change_detection(),
            w: w.bypass_change_detection(),
            clock: at.bypass_change_detection(),
        };
        let t = index.table(i, syn, input.len());
        spans.clear();
        spans.extend(group_runs(syn).map(|(g, r)| (r.end, g as u16)));
        let delivers = spans.iter().any(|s| ev.group(s.1).delivers_input);
        let this = ThisStep {
            ev: &ev,
            step,
            spans: &spans,
            reads_synapse: delivers || !per_neuron.is_empty(),
            per_neuron,
            input: &input,
            flag: &flag,
        };
        let update = |chunk: &mut ChunkArrivals, c| this.update(chunk, c);
        arrivals.run(t, &spikes, syn.len(), columns, Columns::split_at, update);
    }
    arrivals.end_step();
    if step + 1 - ev.epoch_start == ev.epoch_steps {
        catch_up(&mut q, &ev, step + 1, per_neuron, &flag);
        ev.start_epoch(step + 1);
    }
}

/// Brings every event-driven synapse to the end of step `upto − 1`.
fn catch_up(
    q: &mut Query<EventColumns<'static>>,
    ev: &EventStdp,
    upto: u64,
    per_neuron: &[f32],
    flag: &NonFinite,
) {
    for_each_table(q, |(syn, mut tr, mut w, mut at)| {
        let (tr, w, at) = (
            tr.bypass_change_detection(),
            w.bypass_change_detection(),
            at.bypass_change_detection(),
        );
        for (g, r) in group_runs(syn) {
            let g = &ev.groups[ev.of_group[g]];
            for i in r {
                ev.quiet(g, at[i].next_step, upto, &mut tr[i], &mut w[i]);
                w[i].efficacy_mv = g.efficacy(&w[i], per_neuron, &syn[i]);
                at[i].next_step = upto;
                if bad(&tr[i], &w[i]) {
                    flag.synapse.fetch_min(syn[i].id, Relaxed);
                }
            }
        }
    });
}

/// What readers need to see event-driven synapses brought up to date: the groups, the steps
/// completed, and the astrocyte factors.
pub struct CaughtUp<'a> {
    pub events: &'a EventStdp,
    pub calcium: &'a EventCalcium,
    pub upto: u64,
    pub per_neuron: &'a [f32],
}

/// The resources a system needs to build a [`CaughtUp`].
#[derive(bevy_ecs::system::SystemParam)]
pub struct EventView<'w> {
    events: Res<'w, EventStdp>,
    calcium: Res<'w, EventCalcium>,
    scaling: Res<'w, AstrocyteScaling>,
}

impl EventView<'_> {
    /// The view after `upto` steps.
    pub fn after(&self, upto: u64) -> CaughtUp<'_> {
        CaughtUp {
            events: &self.events,
            calcium: &self.calcium,
            upto,
            per_neuron: &self.scaling.per_neuron,
        }
    }
}

impl<'a> CaughtUp<'a> {
    /// The view of a world after `upto` steps.
    pub fn of(world: &'a World, upto: u64) -> Self {
        CaughtUp {
            events: world.resource::<EventStdp>(),
            calcium: world.resource::<EventCalcium>(),
            upto,
            per_neuron: &world.resource::<AstrocyteScaling>().per_neuron,
        }
    }

    /// The traces and weight of a synapse as they are after `upto` steps.
    pub fn view(
        &self,
        syn: &Synapse,
        clock: Option<&EventDriven>,
        tr: Option<&StdpTraces>,
        w: &SynapticWeight,
    ) -> (Option<StdpTraces>, SynapticWeight) {
        match (clock, tr) {
            (Some(c), Some(t)) => {
                let (t, w) = self.events.view(syn, c, *t, *w, self.upto, self.per_neuron);
                (Some(t), w)
            }
            _ => (tr.copied(), *w),
        }
    }

    /// The Ca, calcium-rule state (ρ, or h's residual) and weight of a synapse as they are
    /// after `upto` steps (`w`: its weight as [`view`](Self::view) gives it).
    pub fn view_calcium<S: CalciumState>(
        &self,
        syn: &Synapse,
        clock: Option<&EventDriven>,
        spine: &SpineHeadCa,
        state: Option<&S>,
        w: SynapticWeight,
    ) -> (SpineHeadCa, Option<S>, SynapticWeight) {
        match (clock, state) {
            (Some(c), Some(r)) => {
                let state = (*spine, *r, w);
                let (s, r, w) = self.calcium.view(syn, c, state, self.upto, self.per_neuron);
                (s, Some(r), w)
            }
            _ => (*spine, state.copied(), w),
        }
    }
}

//! Event-driven integration of the linear Ca model with a calcium rule: the calcium rule on ρ
//! (`event_driven: true` in a group's [`CalciumRuleParams`]) or on the early weight h of
//! consolidation (`event_driven: true` in [`EarlyCalciumParams`]).
//!
//! Between two spikes reaching a synapse, its Ca only decays, so everything the rule does in
//! between follows from the Ca left by the last spike (Graupner & Brunel 2012, PNAS 109:3991,
//! compute their curves this way; Higgins, Graupner & Brunel 2014, PLoS Comput Biol
//! 10:e1003834, simulate this way). With c₀ the Ca just after the last jumps:
//!
//! - **Ca**: c(t) = c₀·e^(−t/τ_Ca), exact;
//! - **time above each threshold**: c stays at or above θ for T_θ = τ_Ca·ln(c₀/θ) (0 if
//!   c₀ < θ), so a stretch between spikes is at most three phases: above both thresholds, above
//!   the lower one only, and below both;
//! - **the drift** over each phase, in f64:
//!   - ρ: τ·dρ/dt = −ρ(1−ρ)(ρ*−ρ) + γp(1−ρ)Θp − γd·ρ·Θd, by classical Runge–Kutta with steps
//!     of at most 1/20 of the phase's fastest time constant (a relative error below 1e-8 per
//!     phase);
//!   - h (Luboeinski & Tetzlaff 2021, Commun Biol 4:275): τh·dh/dt = r(h0 − h) +
//!     γp(h_top − h)Θp − γd·h·Θd is linear within a phase, so each phase is exact:
//!     h ← h* + (h − h*)·e^(−C·t/τh) with C = r + γp·Θp + γd·Θd and h* = (r·h0 + γp·h_top·Θp)/C;
//! - **the noise** σ√τ·√(Θp+Θd)·η(t) over the phases above threshold is one Gaussian draw with
//!   the exact variance of the linear (Ornstein–Uhlenbeck) part: σ²·a·(1 − e^(−2Ct/τ))/(2C)
//!   for a phase of length t with a = Θp+Θd (C = γp·Θp + γd·Θd for ρ, whose cubic term, at
//!   most 0.1 against γ of hundreds, is left out of the variance only; the C above for h,
//!   where it is exact), the first phase's carried through the second at its rate.
//!
//! A synapse's state is the Ca after the jumps of step `next_step` of its [`EventDriven`]
//! clock and ρ (or h) at the start of that step: a spike reaching it on a later step first
//! takes the stretch in between, then delivers the weight it ends with (as the clock-driven
//! path delivers the weight of the previous step), then adds its Ca jump. The noise of a
//! stretch is drawn with the key (synapse, step of the last spike), so readers that bring a
//! synapse up to date without writing it ([`CaughtUp`](super::event_stdp::CaughtUp)) see the
//! value it will have once the Ca of that spike has fallen below both thresholds, and never
//! change a run. Within those milliseconds a reader sees a value of the right distribution
//! whose noise is not yet the final one.
//!
//! Consolidation (stage 6) reads h on every slow step: [`catch_up_for_consolidation`] first
//! brings each such synapse to the start of that step, as a spike that adds no Ca would. So
//! tagging, synthesis and capture read h as it was one step earlier than on the clock-driven
//! path (which reads it after the step's update), and a stretch is cut at each slow step into
//! parts whose noise is drawn apart: independent draws of the parts' variances, so the same
//! distribution.
//!
//! Against the clock-driven path (Euler–Maruyama, Ca held over each step): there a Ca jump
//! counts as above threshold for the whole step it lands on, so each crossing lasts up to one
//! step longer (dt/2 on average), and a jump that lands exactly on a threshold (C_pre = θd = 1
//! in the DP set) adds one step of depression and noise that the continuous model does not
//! have. `tests/event_calcium.rs` states and tests the agreement.

use super::SynapticWeight;
use super::calcium_rule::{CaRuleState, CalciumRuleParams, drift_in};
use super::early_calcium::{EarlyCalciumParams, EarlyCalciumRule};
use crate::core::clock::Clock;
use crate::core::fine;
use crate::core::rng::{self, Purpose};
use crate::core::synapse::{POST, PRE, Synapse, for_each_table, group_runs};
use crate::core::weight::{EventDriven, direct_efficacy_mv};
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::stages::ca_influx::{CaModel, LinearCaParams, SpineHeadCa};
use crate::stages::delivery::DeliveryIndex;
use crate::stages::groups::{SynapseGroupRt, SynapseGroups};
use crate::stages::guard::{NonFinite, nonfinite};
use crate::stages::homeostasis::{AstrocyteScaling, factor};
use bevy_ecs::change_detection::ContiguousMut;
use bevy_ecs::component::Mutable;
use bevy_ecs::prelude::*;
use std::sync::atomic::Ordering::Relaxed;

/// A Runge–Kutta step is at most this fraction of the fastest time constant of its phase.
const RK_STEP_OF_TAU: f64 = 0.05;

/// What reached a synapse on a step: its presynaptic Ca transient (the spike's arrival plus the
/// model's delay D), a postsynaptic spike, a presynaptic spike delivering input.
const CA_PRE: u8 = 1;
const CA_POST: u8 = 2;
const INPUT: u8 = 4;

/// The variable an event-driven calcium group integrates between spikes, with its rule.
#[derive(Clone, Debug)]
enum Drift {
    /// ρ of the calcium rule (Graupner & Brunel 2012).
    Rho(CalciumRuleParams),
    /// The early weight h of Luboeinski & Tetzlaff 2021, mV.
    H(EarlyCalciumParams),
}

/// Constants of one event-driven calcium group.
#[derive(Clone, Debug)]
pub struct CalciumGroup {
    drift: Drift,
    tau_ca_ms: f64,
    c_pre: f64,
    c_post: f64,
    /// D in steps.
    ca_delay_steps: usize,
    /// (lower, higher) threshold, with the (Θp, Θd) of the phase above the lower one only.
    thresholds: (f64, f64),
    lower_only: (f64, f64),
    h0: f32,
    sign: f32,
    delivers_input: bool,
    /// Whether the group takes part in consolidation (which reads h on every slow step).
    consolidates: bool,
}

/// The event-driven calcium groups of a world.
#[derive(Resource, Clone, Debug, Default)]
pub struct EventCalcium {
    dt_ms: f64,
    seed: u64,
    groups: Vec<CalciumGroup>,
    /// Index into `groups` by synapse group (`usize::MAX`: not event-driven calcium).
    of_group: Vec<usize>,
    /// The distinct D of the groups, steps.
    ca_delays: Vec<usize>,
}

/// The linear Ca model and the rule's drift of group `g` if it is event-driven calcium.
fn event_params(g: &SynapseGroupRt) -> Option<(&LinearCaParams, Drift)> {
    let CaModel::Linear(ca) = &g.spec.ca else {
        return None;
    };
    let drift = match &g.spec.rule {
        super::Rule::CalciumRule(p) if p.event_driven => Drift::Rho(p.clone()),
        super::Rule::EarlyCalcium(p) if p.event_driven => Drift::H(p.clone()),
        _ => return None,
    };
    Some((ca, drift))
}

impl EventCalcium {
    pub fn new(groups: &SynapseGroups, dt_ms: f64, seed: u64) -> Self {
        let mut ev = EventCalcium {
            dt_ms,
            seed,
            of_group: vec![usize::MAX; groups.0.len()],
            ..Default::default()
        };
        for (gi, g) in groups.0.iter().enumerate() {
            if let Some((ca, drift)) = event_params(g) {
                ev.of_group[gi] = ev.groups.len();
                let group = CalciumGroup::new(ca, drift, g, dt_ms);
                if !ev.ca_delays.contains(&group.ca_delay_steps) {
                    ev.ca_delays.push(group.ca_delay_steps);
                }
                ev.groups.push(group);
            }
        }
        ev
    }

    /// The distinct Ca delays D of the event-driven groups, steps.
    pub fn ca_delays(&self) -> &[usize] {
        &self.ca_delays
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    fn group(&self, synapse_group: u16) -> &CalciumGroup {
        &self.groups[self.of_group[synapse_group as usize]]
    }

    /// ρ (or h) at the start of step `upto` and the Ca of that step before its jumps, for a
    /// synapse whose state is `(c, x)` at step `last` (after that step's jumps).
    fn advance(
        &self,
        g: &CalciumGroup,
        id: u32,
        last: u64,
        upto: u64,
        c: f32,
        x: f64,
    ) -> (f64, f64) {
        let steps = upto.saturating_sub(last);
        if steps == 0 {
            return (x, c as f64);
        }
        let t_ms = steps as f64 * self.dt_ms;
        let noise = || rng::normal(self.seed, id as u64, last, Purpose::RuleNoise);
        let x = g.over(x, c as f64, t_ms, noise);
        (x, c as f64 * (-t_ms / g.tau_ca_ms).exp())
    }

    /// Brings a synapse to the start of step `step`: its ρ (or h) and weight, and its Ca to
    /// that step's before any jump, which it returns in f64.
    fn bring_to<S: CalciumState>(
        &self,
        g: &CalciumGroup,
        step: u64,
        at: &mut Row<S>,
        per_neuron: &[f32],
    ) -> f64 {
        let x = at.state.get(at.w);
        let (x, c) = self.advance(g, at.syn.id, at.clock.next_step, step, at.spine.ca_um, x);
        at.state.set(x, at.w, g);
        g.set_weight(at.w, per_neuron, at.syn);
        at.spine.ca_um = c as f32;
        at.clock.next_step = step;
        c
    }

    /// Step `step` of a synapse a spike reaches on it (`what`: [`CA_PRE`] | [`CA_POST`] |
    /// [`INPUT`]).
    fn on_spike<S: CalciumState>(
        &self,
        g: &CalciumGroup,
        (step, what): (u64, u8),
        mut at: Row<S>,
        per_neuron: &[f32],
        input: &NeuronInput,
    ) {
        let mut c = self.bring_to(g, step, &mut at, per_neuron);
        if what & INPUT != 0 {
            input.add(at.syn.post, at.w.efficacy_mv);
        }
        if what & CA_PRE != 0 {
            c += g.c_pre;
        }
        if what & CA_POST != 0 {
            c += g.c_post;
        }
        at.spine.ca_um = c as f32;
    }

    /// One synapse as it is after `upto` steps, without writing it: its Ca, state and weight.
    pub fn view<S: CalciumState>(
        &self,
        syn: &Synapse,
        clock: &EventDriven,
        (spine, mut state, mut w): (SpineHeadCa, S, SynapticWeight),
        upto: u64,
        per_neuron: &[f32],
    ) -> (SpineHeadCa, S, SynapticWeight) {
        let g = self.group(syn.group);
        if upto <= clock.next_step {
            return (spine, state, w);
        }
        let x = state.get(&w);
        let (x, _) = self.advance(g, syn.id, clock.next_step, upto, spine.ca_um, x);
        state.set(x, &mut w, g);
        g.set_weight(&mut w, per_neuron, syn);
        // The Ca of step upto − 1, after its (absent) jumps.
        let decayed = (upto - 1 - clock.next_step) as f64 * self.dt_ms / g.tau_ca_ms;
        let spine = SpineHeadCa {
            ca_um: (spine.ca_um as f64 * (-decayed).exp()) as f32,
            ..spine
        };
        (spine, state, w)
    }
}

/// The component that holds what an event-driven calcium group integrates: ρ
/// ([`CaRuleState`]) or the part of h below f32 resolution ([`EarlyCalciumRule`]).
pub trait CalciumState: Component<Mutability = Mutable> + Copy {
    /// ρ, or h in mV.
    fn get(&self, w: &SynapticWeight) -> f64;
    /// Stores `x` (ρ or h) and sets the early weight h it gives.
    fn set(&mut self, x: f64, w: &mut SynapticWeight, g: &CalciumGroup);
}

impl CalciumState for CaRuleState {
    fn get(&self, _: &SynapticWeight) -> f64 {
        self.rho
    }

    /// h = h_down + ρ·(h_up − h_down).
    fn set(&mut self, rho: f64, w: &mut SynapticWeight, g: &CalciumGroup) {
        self.rho = rho;
        if let Drift::Rho(p) = &g.drift {
            w.h_mv = p.early_weight_mv(rho);
        }
    }
}

impl CalciumState for EarlyCalciumRule {
    /// h = `h_mv` + `h_residual_mv` ([`fine`]).
    fn get(&self, w: &SynapticWeight) -> f64 {
        fine::join(w.h_mv, self.h_residual_mv)
    }

    fn set(&mut self, h: f64, w: &mut SynapticWeight, _: &CalciumGroup) {
        (w.h_mv, self.h_residual_mv) = fine::split(h);
    }
}

impl CalciumGroup {
    fn new(ca: &LinearCaParams, drift: Drift, g: &SynapseGroupRt, dt_ms: f64) -> Self {
        let (theta_d, theta_p) = drift.thresholds();
        let (thresholds, lower_only) = match theta_d <= theta_p {
            true => ((theta_d, theta_p), (0.0, 1.0)),
            false => ((theta_p, theta_d), (1.0, 0.0)),
        };
        CalciumGroup {
            drift,
            tau_ca_ms: ca.tau_ca_ms,
            c_pre: ca.c_pre,
            c_post: ca.c_post,
            ca_delay_steps: (ca.delay_ms / dt_ms).round() as usize,
            thresholds,
            lower_only,
            h0: g.h0_mv() as f32,
            sign: g.sign,
            delivers_input: g.delivers_input,
            consolidates: g.spec.consolidation.is_some(),
        }
    }

    /// ρ (or h) after `t_ms` from `x`, with Ca decaying from `c0`; `noise()` is the standard
    /// normal draw of the stretch, taken only if it has time above a threshold.
    fn over(&self, x: f64, c0: f64, t_ms: f64, noise: impl FnOnce() -> f64) -> f64 {
        let (lo, hi) = self.thresholds;
        let t_both = time_above(c0, hi, self.tau_ca_ms).min(t_ms);
        let t_lower = time_above(c0, lo, self.tau_ca_ms).min(t_ms) - t_both;
        let (up, down) = self.lower_only;
        let d = &self.drift;
        let mut r = d.flow(x, (1.0, 1.0), t_both);
        r = d.flow(r, (up, down), t_lower);
        if d.noise() && t_both + t_lower > 0.0 {
            let carried = d.variance((1.0, 1.0), t_both) * d.decay2((up, down), t_lower);
            r += (carried + d.variance((up, down), t_lower)).sqrt() * noise();
        }
        d.flow(r, (0.0, 0.0), t_ms - t_both - t_lower)
    }

    /// Sets w = h + h0·z and the efficacy sign·w·S (h as the state set it).
    fn set_weight(&self, w: &mut SynapticWeight, per_neuron: &[f32], syn: &Synapse) {
        w.w_mv = w.h_mv + self.h0 * w.z;
        w.efficacy_mv = direct_efficacy_mv(self.sign, w.w_mv, factor(per_neuron, syn.post));
    }
}

impl Drift {
    /// (θd, θp).
    fn thresholds(&self) -> (f64, f64) {
        match self {
            Drift::Rho(p) => (p.theta_d, p.theta_p),
            Drift::H(p) => (p.theta_d, p.theta_p),
        }
    }

    fn noise(&self) -> bool {
        match self {
            Drift::Rho(p) => p.noise,
            Drift::H(p) => p.noise,
        }
    }

    /// The variable after `t_ms` of the drift with (Θp, Θd) = `regime`, without noise.
    fn flow(&self, x: f64, regime: (f64, f64), t_ms: f64) -> f64 {
        if t_ms <= 0.0 {
            return x;
        }
        match self {
            Drift::Rho(p) => flow_rho(p, x, regime, t_ms),
            Drift::H(p) => {
                let (c, fixed) = p.regime(regime);
                match c > 0.0 {
                    true => fixed + (x - fixed) * (-c * t_ms / p.tau_h_ms()).exp(),
                    false => x,
                }
            }
        }
    }

    /// The rate C of the linear part in `regime`, the noise's σ², and the time constant, ms.
    fn linear(&self, (up, down): (f64, f64)) -> (f64, f64, f64) {
        match self {
            Drift::Rho(p) => (
                p.gamma_p * up + p.gamma_d * down,
                p.sigma * p.sigma,
                p.tau_ms,
            ),
            Drift::H(p) => (
                p.regime((up, down)).0,
                p.sigma_mv * p.sigma_mv,
                p.tau_h_ms(),
            ),
        }
    }

    /// Variance of the noise gathered over `t_ms` in regime (Θp, Θd) by the linear part of
    /// the rule: σ²·(Θp+Θd)·(1 − e^(−2Ct/τ))/(2C) (σ²·(Θp+Θd)·t/τ for C = 0).
    fn variance(&self, (up, down): (f64, f64), t_ms: f64) -> f64 {
        let (c, sigma2, tau) = self.linear((up, down));
        let s2 = sigma2 * (up + down);
        match c > 0.0 {
            true => s2 * -(-2.0 * c * t_ms / tau).exp_m1() / (2.0 * c),
            false => s2 * t_ms / tau,
        }
    }

    /// e^(−2Ct/τ): what is left of a variance after `t_ms` in regime (Θp, Θd).
    fn decay2(&self, regime: (f64, f64), t_ms: f64) -> f64 {
        let (c, _, tau) = self.linear(regime);
        (-2.0 * c * t_ms / tau).exp()
    }
}

/// How long Ca decaying from `c0` with time constant `tau_ms` stays at or above `theta`:
/// τ·ln(c₀/θ), 0 below it, for ever if θ ≤ 0.
fn time_above(c0: f64, theta: f64, tau_ms: f64) -> f64 {
    match (theta > 0.0, c0 >= theta) {
        (false, _) => f64::INFINITY,
        (true, false) => 0.0,
        (true, true) => tau_ms * (c0 / theta).ln(),
    }
}

/// ρ after `t_ms` of the drift with (Θp, Θd) = `regime`, without noise (Runge–Kutta 4, steps of
/// at most [`RK_STEP_OF_TAU`] of the fastest time constant).
fn flow_rho(p: &CalciumRuleParams, rho: f64, (up, down): (f64, f64), t_ms: f64) -> f64 {
    // |∂drift/∂ρ| ≤ γp·Θp + γd·Θd + 1 + 3ρ² (the cubic's slope).
    let rate = (p.gamma_p * up + p.gamma_d * down + 1.0 + 3.0 * rho * rho) / p.tau_ms;
    let n = (rate * t_ms / RK_STEP_OF_TAU).ceil().max(1.0);
    let h = t_ms / n;
    let f = |r: f64| drift_in(p, r, up, down) / p.tau_ms;
    let mut r = rho;
    for _ in 0..n as u64 {
        let k1 = f(r);
        let k2 = f(r + 0.5 * h * k1);
        let k3 = f(r + 0.5 * h * k2);
        let k4 = f(r + h * k3);
        r += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
    r
}

/// The columns of one event-driven calcium synapse.
struct Row<'a, S> {
    syn: &'a Synapse,
    spine: &'a mut SpineHeadCa,
    state: &'a mut S,
    w: &'a mut SynapticWeight,
    clock: &'a mut EventDriven,
}

type CalciumColumns<'a, S> = (
    &'a Synapse,
    &'a mut SpineHeadCa,
    &'a mut S,
    &'a mut SynapticWeight,
    &'a mut EventDriven,
);

/// The columns of one table of event-driven calcium synapses, written without change detection.
struct Columns<'w, S> {
    syn: &'w [Synapse],
    spine: &'w mut [SpineHeadCa],
    state: &'w mut [S],
    w: &'w mut [SynapticWeight],
    clock: &'w mut [EventDriven],
}

/// A table's column of `T`, to be written without change detection.
fn open<T>(c: ContiguousMut<'_, T>) -> &mut [T] {
    ContiguousMut::bypass_change_detection_split(c).0
}

impl<'w, S: CalciumState> Columns<'w, S> {
    /// A table as [`CalciumColumns`] gives it.
    #[allow(clippy::type_complexity)]
    fn of(
        (syn, spine, state, w, clock): (
            &'w [Synapse],
            ContiguousMut<'w, SpineHeadCa>,
            ContiguousMut<'w, S>,
            ContiguousMut<'w, SynapticWeight>,
            ContiguousMut<'w, EventDriven>,
        ),
    ) -> Self {
        let (spine, state, w, clock) = (open(spine), open(state), open(w), open(clock));
        Columns {
            syn,
            spine,
            state,
            w,
            clock,
        }
    }

    /// Row `r`.
    fn row(&mut self, r: usize) -> Row<'_, S> {
        Row {
            syn: &self.syn[r],
            spine: &mut self.spine[r],
            state: &mut self.state[r],
            w: &mut self.w[r],
            clock: &mut self.clock[r],
        }
    }

    /// Flags synapse `r` if a variable its update writes is non-finite.
    fn check(&self, r: usize, flag: &NonFinite) {
        let (spine, w) = (&self.spine[r], &self.w[r]);
        let bad = !self.state[r].get(w).is_finite()
            || [spine.ca_um, w.h_mv, w.w_mv, w.efficacy_mv]
                .into_iter()
                .any(nonfinite);
        if bad {
            flag.synapse.fetch_min(self.syn[r].id, Relaxed);
        }
    }
}

/// A table's runs of one group, (end row, group), found when the table is first seen or has
/// moved: (where it lay, its runs).
type TableSpans = ((usize, usize), Vec<(usize, u16)>);

/// The runs of table `i`, `syn`, from `cache` (found again if the table moved or grew).
fn table_spans<'a>(
    cache: &'a mut Vec<TableSpans>,
    i: usize,
    syn: &[Synapse],
) -> &'a [(usize, u16)] {
    let at = (syn.as_ptr() as usize, syn.len());
    if cache.get(i).is_none_or(|c| c.0 != at) {
        cache.truncate(i);
        let runs = group_runs(syn).map(|(g, r)| (r.end, g as u16)).collect();
        cache.push((at, runs));
    }
    &cache[i].1
}

/// System (Plasticity, once per [`CalciumState`]): finds the synapses of event-driven calcium
/// groups that a spike reaches on this step (a presynaptic Ca transient due, a postsynaptic
/// spike, or a presynaptic spike delivering input) and takes the step for each.
#[allow(clippy::too_many_arguments)]
pub fn event_calcium<S: CalciumState>(
    mut q: Query<CalciumColumns<'static, S>>,
    ev: Res<EventCalcium>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
    scaling: Res<AstrocyteScaling>,
    flag: Res<NonFinite>,
    mut index: Local<DeliveryIndex>,
    mut reached: Local<Vec<u64>>,
    mut spans: Local<Vec<TableSpans>>,
) {
    if ev.is_empty() {
        return;
    }
    let per_neuron = scaling.factors();
    let tables = q.contiguous_iter_mut().expect("stage queries are dense");
    for (i, table) in tables.enumerate() {
        let mut cols = Columns::of(table);
        let syn = cols.syn;
        let spans = table_spans(&mut spans, i, syn);
        let group_of = |r: u32| {
            let g = spans.iter().find(|s| (r as usize) < s.0).map_or(0, |s| s.1);
            ev.group(g)
        };
        let t = index.table(i, syn, input.len());
        reached.clear();
        t.for_each_on(POST, &spikes, 0, |r| {
            reached.push((r as u64) << 3 | CA_POST as u64)
        });
        for &d in &ev.ca_delays {
            t.for_each_on(PRE, &spikes, d, |r| {
                if group_of(r).ca_delay_steps == d {
                    reached.push((r as u64) << 3 | CA_PRE as u64);
                }
            });
        }
        if ev.groups.iter().any(|g| g.delivers_input) {
            t.for_each_on(PRE, &spikes, 0, |r| {
                if group_of(r).delivers_input {
                    reached.push((r as u64) << 3 | INPUT as u64);
                }
            });
        }
        reached.sort_unstable();
        let mut k = 0;
        while k < reached.len() {
            let r = (reached[k] >> 3) as usize;
            let mut what = 0u8;
            while k < reached.len() && (reached[k] >> 3) as usize == r {
                what |= (reached[k] & 7) as u8;
                k += 1;
            }
            let g = group_of(r as u32);
            ev.on_spike(g, (clock.step, what), cols.row(r), per_neuron, &input);
            cols.check(r, &flag);
        }
    }
}

/// System (Consolidation, on a slow step, before tagging; once per [`CalciumState`]): brings
/// every event-driven calcium synapse that takes part in consolidation to the start of this
/// step, so that tagging, protein synthesis and capture read its h as it is now.
pub fn catch_up_for_consolidation<S: CalciumState>(
    mut q: Query<CalciumColumns<'static, S>>,
    ev: Res<EventCalcium>,
    clock: Res<Clock>,
    scaling: Res<AstrocyteScaling>,
    flag: Res<NonFinite>,
) {
    if ev.is_empty() {
        return;
    }
    let per_neuron = scaling.factors();
    for_each_table(&mut q, |table| {
        let mut cols = Columns::of(table);
        for (g, r) in group_runs(cols.syn) {
            let g = ev.group(g as u16);
            if !g.consolidates {
                continue;
            }
            for i in r {
                ev.bring_to(g, clock.step, &mut cols.row(i), per_neuron);
                cols.check(i, &flag);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dp() -> CalciumRuleParams {
        CalciumRuleParams {
            noise: false,
            ..Default::default()
        }
    }

    fn group(p: &CalciumRuleParams) -> CalciumGroup {
        let (thresholds, lower_only) = ((p.theta_d, p.theta_p), (0.0, 1.0));
        CalciumGroup {
            drift: Drift::Rho(p.clone()),
            tau_ca_ms: 20.0,
            c_pre: 1.0,
            c_post: 2.0,
            ca_delay_steps: 0,
            thresholds,
            lower_only,
            h0: 0.0,
            sign: 1.0,
            delivers_input: false,
            consolidates: false,
        }
    }
    /// The fine reference the stretches are checked against: `x0` taken through `n` sub-steps
    /// of `t_ms` by `step(x, c, δt)`, with c the Ca c₀·e^(−t/τ_Ca) of each sub-step's middle.
    fn fine(
        g: &CalciumGroup,
        (c0, t_ms, n): (f64, f64, usize),
        x0: f64,
        step: impl Fn(f64, f64, f64) -> f64,
    ) -> f64 {
        let dt = t_ms / n as f64;
        let ca = |k: usize| c0 * (-(k as f64 + 0.5) * dt / g.tau_ca_ms).exp();
        (0..n).fold(x0, |x, k| step(x, ca(k), dt))
    }

    /// The deterministic part against a fine Euler integration of the continuous model (Ca
    /// evaluated at the middle of each of 10^6 sub-steps of 0.2 µs): the two agree to the
    /// reference's own error, which is set by the sub-step that straddles each threshold
    /// crossing (γ·ρ·h/τ ≈ 2e-7), from several c₀ and ρ. A phase misplaced by one 0.1 ms step
    /// would differ by 1e-4, a missed phase by 1e-3 and more.
    #[test]
    fn stretches_match_a_fine_integration_of_the_continuous_model() {
        let p = dp();
        let g = group(&p);
        for (c0, rho0) in [(3.0, 0.0), (1.5, 0.7), (1.2, 0.3), (0.9, 0.55), (2.2, 1.0)] {
            let t_ms = 200.0;
            let r = fine(&g, (c0, t_ms, 1_000_000), rho0, |r, c, h| {
                r + h * super::super::calcium_rule::drift(&p, r, c) / p.tau_ms
            });
            let got = g.over(rho0, c0, t_ms, || 0.0);
            assert!((got - r).abs() < 1e-6, "c0 {c0} ρ0 {rho0}: {got} vs {r}");
            assert!((got - rho0).abs() > 1e-5 || c0 < 1.0, "ρ moved");
        }
    }

    /// Times above threshold: c₀ = 2 stays above θ = 1 for τ·ln 2, and never above 3.
    #[test]
    fn time_above_is_tau_log_ratio() {
        assert!((time_above(2.0, 1.0, 20.0) - 20.0 * 2f64.ln()).abs() < 1e-12);
        assert_eq!(time_above(2.0, 3.0, 20.0), 0.0);
        assert_eq!(time_above(1.0, 1.0, 20.0), 0.0);
        assert_eq!(time_above(0.5, 0.0, 20.0), f64::INFINITY);
    }

    /// The variance of one draw equals the Euler–Maruyama variance of the linear part, summed
    /// over fine steps (the OU variance), for a stretch with both phases.
    #[test]
    fn noise_variance_is_that_of_the_linear_part() {
        let p = CalciumRuleParams::default();
        let g = group(&p);
        let c0 = 2.5;
        let t_all = 20.0 * 2.5f64.ln();
        // Σ over fine steps of (σ²·a·h/τ)·(what is left of it at the end).
        let v = fine(&g, (c0, t_all, 200_000), 0.0, |v, c, h| {
            let (a, c) = if c >= p.theta_p {
                (2.0, p.gamma_p + p.gamma_d)
            } else {
                (1.0, p.gamma_d)
            };
            v * (-2.0 * c * h / p.tau_ms).exp() + p.sigma * p.sigma * a * h / p.tau_ms
        });
        let (sd, off) = spread(&g, 0.5, c0, 100.0);
        // The noise is added before the last phase's (weak, cubic) flow: its slope over 100 ms
        // changes the spread by under 1e-4.
        assert!((sd * sd / v - 1.0).abs() < 1e-3, "{} vs {v}", sd * sd);
        assert!(off < 1e-6);
    }

    /// Half the distance between a stretch with the draw −1 and with +1 (the noise's standard
    /// deviation), and how far their middle lies from the noise-free stretch.
    fn spread(g: &CalciumGroup, x0: f64, c0: f64, t_ms: f64) -> (f64, f64) {
        let draws = [-1.0, 1.0].map(|z| g.over(x0, c0, t_ms, || z));
        let det = g.over(x0, c0, t_ms, || 0.0);
        let middle = (draws[0] + draws[1]) / 2.0;
        ((draws[1] - draws[0]) / 2.0, (middle - det).abs())
    }

    fn early(noise: bool) -> CalciumGroup {
        let rule = EarlyCalciumParams {
            noise,
            ..Default::default()
        };
        let (thresholds, lower_only) = ((rule.theta_d, rule.theta_p), (0.0, 1.0));
        CalciumGroup {
            drift: Drift::H(rule),
            tau_ca_ms: 48.8,
            c_pre: 1.0,
            c_post: 0.2758,
            ca_delay_steps: 0,
            thresholds,
            lower_only,
            h0: 4.20075,
            sign: 1.0,
            delivers_input: false,
            consolidates: true,
        }
    }

    /// The early rule's h over a stretch against a fine integration of the continuous model
    /// (each of 10^6 sub-steps of 0.2 µs taken exactly with the Ca of its middle, in f64): they
    /// agree to the reference's own error, set by the sub-step that straddles each crossing
    /// (γp·(h_top − h)·δt/τh ≈ 3e-6 mV), from several c₀ and h. A phase misplaced by one
    /// 0.1 ms step would differ by 1e-3 mV; h must move by over 1e-3 mV where c₀ ≥ θd.
    #[test]
    fn early_stretches_match_a_fine_integration_of_the_continuous_model() {
        let g = early(false);
        let Drift::H(p) = g.drift.clone() else {
            unreachable!()
        };
        let tau_h_ms = p.tau_h_ms();
        let regime = |c: f64| ((c >= p.theta_p) as u8 as f64, (c >= p.theta_d) as u8 as f64);
        for (c0, h) in [(4.5, 4.2), (3.2, 6.0), (2.0, 4.2), (1.0, 3.0), (6.0, 9.0)] {
            let t_ms = 200.0;
            let x = fine(&g, (c0, t_ms, 1_000_000), h, |x, c, dt| {
                let (rate, fixed) = p.regime(regime(c));
                fixed + (x - fixed) * (-rate * dt / tau_h_ms).exp()
            });
            let got = g.over(h, c0, t_ms, || 0.0);
            assert!((got - x).abs() < 5e-6, "c0 {c0} h {h}: {got} vs {x}");
            assert!((got - h).abs() > 1e-3 || c0 < p.theta_d, "h moved");
        }
        // Below both thresholds h relaxes to h0 with τh/r, exactly.
        let t = 3_600_000.0;
        let relaxed = g.over(8.0, 0.5, t, || 0.0);
        let exact = p.h0_mv + (8.0 - p.h0_mv) * (-p.relaxation * t / tau_h_ms).exp();
        assert!((relaxed - exact).abs() < 1e-12, "{relaxed} vs {exact}");
    }

    /// The early rule's noise has the Euler–Maruyama variance of its (linear) equation summed
    /// over fine steps, and is carried through the relaxation after the Ca has fallen.
    #[test]
    fn early_noise_variance_is_that_of_the_equation() {
        let g = early(true);
        let Drift::H(p) = g.drift.clone() else {
            unreachable!()
        };
        let tau_h_ms = p.tau_h_ms();
        let (c0, t_all) = (4.0, 300.0);
        let v = fine(&g, (c0, t_all, 300_000), 0.0, |v, c, dt| {
            let regime = ((c >= p.theta_p) as u8 as f64, (c >= p.theta_d) as u8 as f64);
            let (rate, _) = p.regime(regime);
            let a = regime.0 + regime.1;
            v * (-2.0 * rate * dt / tau_h_ms).exp() + p.sigma_mv.powi(2) * a * dt / tau_h_ms
        });
        let (sd, off) = spread(&g, 5.0, c0, t_all);
        assert!((sd * sd / v - 1.0).abs() < 1e-3, "{} vs {v}", sd * sd);
        assert!(off < 1e-12);
    }
}

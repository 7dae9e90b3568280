//! Skipping idle steps. In a scene whose every part is event-driven — neurons that are spike-time
//! sources, and synapse groups whose rule takes the stretch between two spikes at once (pair
//! STDP, or a calcium rule on the linear Ca model, with `event_driven: true`) — a step on which
//! no spike fires and none arrives changes nothing. Such a run goes from one step that may have
//! work to the next: the clock jumps over the steps between, after forgetting the spikes whose
//! rows in the spike history those steps would have cleared. Every output is the same, byte for
//! byte, as stepping every step (`tests/idle_steps.rs`); `edra run --every-step` turns it off.
//!
//! A step may have work when
//! - a source fires: a spike time ([`SpikeTimesDue`]), a regular train or a pairing protocol
//!   ([`next_periodic_spike`]);
//! - a spike fired on step f reaches a synapse: on f + d, for d an axonal delay, a dendritic
//!   delay, or an axonal delay plus a linear Ca model's delay D;
//! - the timeline releases a reward or changes a parameter;
//! - a recorder samples, or the slow clock ticks after a step has run since its last tick (its
//!   checks of the state then run), or ticks at all when an event-driven calcium group takes
//!   part in consolidation (tagging, protein synthesis and capture run on every slow step);
//! - event-driven pair STDP ends its epoch (every synapse is brought up to date).
//!
//! Anything else in a scene — neurons with a membrane, Poisson sources,
//! clock-driven synapses, trafficking, consolidation of other rules, dopamine regions,
//! astrocytes, reward rules, registered stages, several ranks — has work on every step, and the
//! run steps through each ([`IdleSteps::of`] says why).

use crate::assembly::build::BuildInfo;
use crate::assembly::record::Recorders;
use crate::core::clock::Clock;
use crate::core::synapse::Synapse;
use crate::engine::exchange::SpikeExchange;
use crate::engine::ranks::Ranks;
use crate::engine::spikes::SpikeHistory;
use crate::stages::ca_influx::CaModel;
use crate::stages::groups::SynapseGroups;
use crate::stages::neurons::{NeuronGroups, NeuronModel, SpikeTimesDue, next_periodic_spike};
use crate::stages::plasticity::Rule;
use crate::stages::plasticity::event_calcium::EventCalcium;
use crate::stages::plasticity::event_stdp::EventStdp;
use crate::stages::timeline::Timeline;
use bevy_ecs::prelude::*;
use std::collections::{BTreeSet, VecDeque};

/// What a run that skips idle steps keeps between steps.
#[derive(Clone, Debug)]
pub struct IdleSteps {
    /// The delays, steps, after which a spike reaches some synapse: sorted, distinct.
    delays: Vec<u64>,
    /// The steps within the spike history's reach on which some neuron fired, oldest first.
    fired: VecDeque<u64>,
    /// Rows of the spike history.
    rows: u64,
    /// Whether every slow step has work (consolidation).
    every_slow_step: bool,
    /// Steps skipped so far.
    pub skipped: u64,
}

impl IdleSteps {
    /// For a world whose every part is event-driven, what skipping needs; otherwise why its
    /// steps all have work. `registered`: stages registered on top of the built-in cascade.
    pub fn of(world: &mut World, registered: usize) -> Result<Self, String> {
        let every_slow_step = every_part_event_driven(world, registered)?;
        let mut delays = BTreeSet::new();
        let mut axonal = BTreeSet::new();
        for s in world.query::<&Synapse>().iter(world) {
            axonal.insert(s.axonal_delay_steps as u64);
            delays.insert(s.dendritic_delay_steps as u64);
        }
        for &d in world.resource::<EventCalcium>().ca_delays() {
            delays.extend(axonal.iter().map(|a| a + d as u64));
        }
        delays.extend(axonal);
        // A run resumed from a checkpoint has spikes in flight from before it.
        let now = world.resource::<Clock>().step;
        let spikes = world.resource::<SpikeHistory>();
        let rows = spikes.rows() as u64;
        // At most one entry a row: reserved now, so that no step allocates.
        let mut fired = VecDeque::with_capacity(rows as usize + 1);
        fired.extend((now.saturating_sub(rows - 1)..now).filter(|&f| spikes.any_on(f)));
        Ok(IdleSteps {
            delays: delays.into_iter().collect(),
            fired,
            rows,
            every_slow_step,
            skipped: 0,
        })
    }

    /// After step `s` has run: the first step after it that may have work.
    pub fn next_busy(&mut self, world: &World, s: u64) -> u64 {
        let spikes = world.resource::<SpikeHistory>();
        if spikes.any_on(s) {
            self.fired.push_back(s);
        }
        while self.fired.front().is_some_and(|&f| f + self.rows <= s) {
            self.fired.pop_front();
        }
        let after = |step: u64| step.max(s + 1);
        let mut next = after(world.resource::<SpikeTimesDue>().0);
        let dt = world.resource::<Clock>().dt_ms;
        for g in &world.resource::<NeuronGroups>().0 {
            next = next.min(next_periodic_spike(g, s, dt).unwrap_or(u64::MAX));
        }
        for &f in &self.fired {
            let i = self.delays.partition_point(|&d| f + d <= s);
            if let Some(d) = self.delays.get(i) {
                next = next.min(f + d);
            }
        }
        let tl = world.resource::<Timeline>();
        let due = [
            tl.rewards.get(tl.reward_cursor).map(|r| r.step),
            tl.changes.get(tl.change_cursor).map(|c| c.step),
            tl.pending.iter().map(|r| r.step).min(),
            world.resource::<EventStdp>().epoch_end(),
        ];
        next = due.into_iter().flatten().map(after).fold(next, u64::min);
        let multiple = |every: u64| (s / every + 1) * every;
        let slow = world.resource::<Clock>().slow_every.max(1) as u64;
        // The slow clock's checks of the state have work only if a step ran since they last
        // ran (on a slow step, after its updates); consolidation, on every slow step.
        if self.every_slow_step || !s.is_multiple_of(slow) {
            next = next.min(multiple(slow));
        }
        let recorders = world.resource::<Recorders>().0.iter();
        let samples = recorders.map(|r| multiple(r.every_steps.max(1) as u64));
        samples.fold(next, u64::min)
    }

    /// Takes the clock from `s + 1` (step `s` has run) to `next` without running the steps
    /// between: the spikes whose rows they would have opened are forgotten, and their (empty)
    /// spikes are complete.
    pub fn skip(&mut self, world: &mut World, s: u64, next: u64) {
        let rows = self.rows;
        {
            let mut spikes = world.resource_mut::<SpikeHistory>();
            // Every step kept in `fired` is still within reach (f + rows > s).
            for &f in self.fired.iter().filter(|&&f| f + rows < next) {
                spikes.forget(f);
            }
        }
        world.resource_mut::<Clock>().step = next;
        world.resource_mut::<SpikeExchange>().complete_before = next;
        self.skipped += next - (s + 1);
    }
}

/// Whether every part of `world` is event-driven (see the module doc), or the first that is
/// not; if it is, whether some group takes part in consolidation (work on every slow step).
fn every_part_event_driven(world: &World, registered: usize) -> Result<bool, String> {
    if world.resource::<Ranks>().size() > 1 {
        return Err("the run is shared among ranks".into());
    }
    if registered > 0 {
        return Err("stages are registered by the program".into());
    }
    let info = world.resource::<BuildInfo>();
    // Without regions no rule is gated by dopamine either.
    if info.regions > 0 || info.astrocytes > 0 {
        return Err("dopamine regions or astrocytes change on every step".into());
    }
    if !world.resource::<Timeline>().rules.is_empty() {
        return Err("reward rules read every step's spikes".into());
    }
    for g in &world.resource::<NeuronGroups>().0 {
        use NeuronModel::{Pairing, Regular, SpikeTimes};
        if !matches!(
            g.spec.model,
            SpikeTimes { .. } | Regular { .. } | Pairing(_)
        ) {
            return Err(format!(
                "neuron group `{}` is not a spike-time, regular or pairing source",
                g.spec.name
            ));
        }
    }
    let mut consolidates = false;
    for g in &world.resource::<SynapseGroups>().0 {
        // (event-driven, may take part in consolidation)
        let (event_driven, calcium) = match (&g.spec.rule, &g.spec.ca) {
            // The scene refuses event-driven pair STDP with a Ca model or consolidation.
            (Rule::PairStdp(p), CaModel::Off) => (p.event_driven, false),
            (Rule::CalciumRule(p), CaModel::Linear(_)) => (p.event_driven, true),
            (Rule::EarlyCalcium(p), CaModel::Linear(_)) => (p.event_driven, true),
            _ => (false, false),
        };
        let per_step = g.spec.trafficking.is_some() || (g.spec.consolidation.is_some() && !calcium);
        if !event_driven || per_step {
            return Err(format!(
                "synapse group `{}` has work on every step (only event-driven pair STDP without \
                 Ca, or an event-driven calcium rule, without trafficking, skips steps)",
                g.spec.name
            ));
        }
        consolidates |= g.spec.consolidation.is_some();
    }
    Ok(consolidates)
}

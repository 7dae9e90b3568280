//! The spike exchange between ranks: once per interval of `D` steps, one all-gather.
//!
//! A rank steps only the neurons it owns ([`Partition`]), Poisson sources included, so between
//! two exchanges its [`SpikeHistory`] holds its own neurons' spikes of the open interval and
//! every neuron's before it. No synapse
//! reads another rank's neuron sooner than `D` steps after it fired: `D` is the shortest
//! axonal delay of the scene (the postsynaptic side of every synapse is local), or one step
//! when reward rules read the last step's spikes. So a spike of step `s` is on every rank
//! before it is first read, and every rank's history is the same as one process's by then.
//! This is the scheme of NEST and Arbor (Morrison et al. 2005, Neural Comput 17:1776: one
//! exchange per min-delay interval).
//!
//! What a rank sends: a status word (bit 0: this rank failed since the last exchange; bit 1:
//! it was asked to stop), then for each step of the interval the number of its own neurons
//! that fired and their ids. The all-gather puts the ranks' messages one after another; each
//! parses itself, because the number of steps is known.

use crate::engine::partition::Partition;
use crate::engine::ranks::{Gathered, Ranks};
use crate::engine::spikes::SpikeHistory;
use bevy_ecs::prelude::*;

/// Status bit: the sending rank failed since the last exchange.
const FAILED: u32 = 1;
/// Status bit: the sending rank was asked to stop (a signal).
const STOP: u32 = 2;

/// When spikes are exchanged, and how far they are complete.
#[derive(Resource, Clone, Debug)]
pub struct SpikeExchange {
    /// Steps between two exchanges.
    pub interval: u64,
    /// Spikes of the steps before this one are complete on this rank (every neuron's).
    pub complete_before: u64,
    /// The message sent and the messages received (kept, so that an exchange allocates only
    /// while they grow).
    send: Vec<u32>,
    received: Gathered,
    /// What the exchanges of this process cost so far: see [`ExchangeCost`].
    pub cost: ExchangeCost,
}

/// The exchanges' cost on one rank, for the run summary and the scaling figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExchangeCost {
    /// Collective calls (one per interval).
    pub calls: u64,
    /// Wall seconds in them, waiting for the slowest rank included.
    pub seconds: f64,
    /// Bytes received (every rank's message, this rank's own included).
    pub bytes: u64,
}

/// What an exchange told every rank.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exchanged {
    /// Some rank failed (then every rank agrees on the error, [`Ranks::any_failed`]).
    pub failed: bool,
    /// Some rank was asked to stop.
    pub stop: bool,
}

impl SpikeExchange {
    /// Exchanges every `interval` steps from `step` (where a run starts or resumes: the spikes
    /// before it are complete, restored whole from a checkpoint).
    pub fn new(interval: u64, step: u64) -> Self {
        SpikeExchange {
            interval: interval.max(1),
            complete_before: step,
            send: Vec::new(),
            received: Gathered::default(),
            cost: ExchangeCost::default(),
        }
    }

    /// Whether the step `step` just completed ends an interval.
    pub fn due(&self, step: u64) -> bool {
        step + 1 - self.complete_before >= self.interval
    }
}

/// After step `step` completed (before the clock advances): on one process, marks it complete;
/// on several, if the interval ends or `force`, sends this rank's spikes of the open interval,
/// sets the others' and returns what the ranks said. `failed` and `stop` are this rank's.
pub fn exchange(world: &mut World, step: u64, force: bool, failed: bool, stop: bool) -> Exchanged {
    if world.resource::<Ranks>().size() == 1 {
        world.resource_mut::<SpikeExchange>().complete_before = step + 1;
        return Exchanged { failed, stop };
    }
    let ranks = world.resource::<Ranks>().clone();
    let part = *world.resource::<Partition>();
    world.resource_scope(|world, mut ex: Mut<SpikeExchange>| {
        if !force && !ex.due(step) {
            return Exchanged::default();
        }
        let ex = &mut *ex;
        let first = ex.complete_before;
        let mut spikes = world.resource_mut::<SpikeHistory>();
        let send = &mut ex.send;
        send.clear();
        send.push((u32::from(failed) * FAILED) | (u32::from(stop) * STOP));
        for t in first..=step {
            let at = send.len();
            send.push(0);
            send.extend(spikes.fired_on(t).filter(|&n| part.owns(n)));
            send[at] = (send.len() - at - 1) as u32;
        }
        let start = std::time::Instant::now();
        ranks.all_gather_u32(send, &mut ex.received);
        ex.cost.calls += 1;
        ex.cost.seconds += start.elapsed().as_secs_f64();
        ex.cost.bytes += 4 * ex.received.all.len() as u64;
        let said = receive(&ex.received.all, first, step, &mut spikes);
        ex.complete_before = step + 1;
        said
    })
}

/// Sets the spikes of every rank's message in `all` (steps `first..=last`) into `spikes`.
fn receive(all: &[u32], first: u64, last: u64, spikes: &mut SpikeHistory) -> Exchanged {
    let mut said = Exchanged::default();
    let mut at = 0;
    while at < all.len() {
        said.failed |= all[at] & FAILED != 0;
        said.stop |= all[at] & STOP != 0;
        at += 1;
        for t in first..=last {
            let n = all[at] as usize;
            for &neuron in &all[at + 1..at + 1 + n] {
                spikes.fire_alone(t, neuron);
            }
            at += 1 + n;
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ranks' messages over two steps are parsed back into the history, with the status
    /// bits of either.
    #[test]
    fn received_messages_set_every_ranks_spikes() {
        let mut h = SpikeHistory::new(10, 4);
        h.clear(0);
        h.clear(1);
        // Rank 0: fine, spikes {2} then {}; rank 1: asked to stop, {} then {3, 5}.
        let all = [0, 1, 2, 0, STOP, 0, 2, 3, 5];
        let said = receive(&all, 0, 1, &mut h);
        assert_eq!(
            said,
            Exchanged {
                failed: false,
                stop: true
            }
        );
        assert_eq!(h.fired_on(0).collect::<Vec<_>>(), [2]);
        assert_eq!(h.fired_on(1).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn an_interval_is_due_after_its_last_step() {
        let ex = SpikeExchange::new(3, 10);
        assert!(!ex.due(10) && !ex.due(11) && ex.due(12));
        assert!(SpikeExchange::new(1, 0).due(0));
    }
}

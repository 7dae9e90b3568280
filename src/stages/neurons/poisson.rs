//! Poisson spike sources, driven by their spikes rather than by the clock.
//!
//! A source that fires with probability p = rate·dt on each step (a Bernoulli process) waits a
//! geometric number of steps between spikes: P(gap = k) = (1 − p)^(k−1)·p for k ≥ 1, drawn by
//! inversion as gap = 1 + ⌊ln u / ln(1 − p)⌋ with u uniform in (0, 1]. So each source draws its
//! next spike step when it fires, and a calendar of [`SLOTS`] buckets (gaps beyond it wait in a
//! far list) hands each step the sources due on it: the work grows with spikes, not with
//! sources. The draws come from the counter-based generator keyed by (seed, neuron, step), so
//! the spikes do not depend on thread count or on the order of a bucket.
//!
//! When a scene's timeline changes a group's rate, every source of the group draws its next
//! spike afresh from that step (the process is memoryless, so this is exact in distribution).

use super::{NeuronGroups, NeuronModel};
use crate::core::clock::Clock;
use crate::core::rng::{self, Purpose};
use crate::engine::partition::Partition;
use crate::engine::spikes::SpikeHistory;
use bevy_ecs::prelude::*;

/// Buckets of the calendar (steps ahead it covers). Each bucket keeps the capacity of the most
/// spikes a step has had, so the buckets together hold about SLOTS × spikes per step entries:
/// 512 keeps that to about 41 MB for 2 × 10^6 sources at 5 Hz (4096: about 330 MB; W1 at
/// 10^6 synapses measured 469 MB peak RSS against 690 MB). Gaps beyond wait
/// in the far list, which is sorted into the buckets every SLOTS steps; at 5 Hz and 1 ms, 8 %
/// of the gaps are that long.
pub const SLOTS: u64 = 512;

/// One Poisson group: its ids and the rate its pending draws were made with.
#[derive(Clone, Debug)]
struct SourceGroup {
    group: usize,
    first: u32,
    size: u32,
    rate_hz: f64,
    odds: Odds,
}

/// A source's chance to fire on one step, p = rate·dt, with ln(1 − p) taken once per rate.
#[derive(Clone, Copy, Debug)]
struct Odds {
    p: f64,
    ln_q: f64,
}

impl Odds {
    fn of(p: f64) -> Self {
        Odds {
            p,
            ln_q: (1.0 - p).ln(),
        }
    }
}

/// A source in the calendar: its neuron id and the index of its group in the calendar.
#[derive(Clone, Copy, Debug)]
struct Source {
    id: u32,
    group: u32,
}

/// When each Poisson source fires next.
#[derive(Resource, Clone, Debug, Default)]
pub struct PoissonCalendar {
    /// `slots[s % SLOTS]`: the sources due on step s, for s < the next roll-over + SLOTS.
    slots: Vec<Vec<Source>>,
    /// (due step, source) of sources due later than the buckets reach.
    far: Vec<(u64, Source)>,
    groups: Vec<SourceGroup>,
    dt_ms: f64,
    seed: u64,
    /// The sources this rank owns, the only ones it fires (each source's spikes are keyed
    /// draws of its own, so sharing them out changes none).
    part: Partition,
}

/// Steps from a spike (or a fresh start) to the next spike: 1 + ⌊ln u / ln(1 − p)⌋, or never
/// (`u64::MAX`) for p = 0.
fn gap(seed: u64, id: u32, step: u64, purpose: Purpose, odds: Odds) -> u64 {
    if odds.p <= 0.0 {
        return u64::MAX;
    }
    if odds.p >= 1.0 {
        return 1;
    }
    let u = 1.0 - rng::uniform_f64(seed, id as u64, step, purpose);
    let k = (u.ln() / odds.ln_q).floor();
    1 + k.min(1e18) as u64
}

impl PoissonCalendar {
    /// The calendar of `groups` at step `step`: each source's next spike from `saved` (a
    /// checkpoint's column, by neuron id) or drawn afresh.
    pub fn new(
        groups: &NeuronGroups,
        clock: &Clock,
        saved: Option<&[u64]>,
        part: Partition,
    ) -> Self {
        let mut cal = PoissonCalendar {
            slots: vec![Vec::new(); SLOTS as usize],
            dt_ms: clock.dt_ms,
            seed: clock.seed,
            part,
            ..Default::default()
        };
        for (g, ng) in groups.0.iter().enumerate() {
            if let NeuronModel::Poisson { rate_hz } = ng.spec.model {
                cal.groups.push(SourceGroup {
                    group: g,
                    first: ng.first,
                    size: ng.spec.size,
                    rate_hz,
                    odds: Odds::of(rate_hz * clock.dt_ms / 1000.0),
                });
            }
        }
        let expected: f64 = cal.groups.iter().map(|g| g.size as f64 * g.odds.p).sum();
        for s in &mut cal.slots {
            s.reserve((2.0 * expected) as usize + 16);
        }
        // Every source is in the calendar once, so the far list never holds more than all of
        // them: reserved once (pages are touched only as it fills), it never grows mid-run.
        let sources: u32 = cal.groups.iter().map(|g| g.size).sum();
        cal.far.reserve(sources as usize);
        for gi in 0..cal.groups.len() {
            match saved.filter(|s| !s.is_empty()) {
                Some(next) => {
                    let g = &cal.groups[gi];
                    for id in (g.first..g.first + g.size).filter(|&id| part.owns(id)) {
                        let src = Source {
                            id,
                            group: gi as u32,
                        };
                        cal.schedule(src, next[id as usize], clock.step);
                    }
                }
                None => cal.redraw(gi, clock.step),
            }
        }
        cal
    }

    /// Sets group `gi`'s rate.
    fn set_rate(&mut self, gi: usize, rate_hz: f64) {
        let g = &mut self.groups[gi];
        g.rate_hz = rate_hz;
        g.odds = Odds::of(rate_hz * self.dt_ms / 1000.0);
    }

    /// Puts `src` in the bucket of step `due` (or the far list), seen from step `now`.
    fn schedule(&mut self, src: Source, due: u64, now: u64) {
        if due == u64::MAX {
            return;
        }
        // A bucket's earlier step (due − SLOTS) is already past, so it holds one step at a time;
        // the far list is emptied into the buckets at each roll-over before it is needed.
        if due < now + SLOTS {
            self.slots[(due % SLOTS) as usize].push(src);
        } else {
            self.far.push((due, src));
        }
    }

    /// Every source of group `gi` draws its first spike at or after step `step`.
    fn redraw(&mut self, gi: usize, step: u64) {
        let g = self.groups[gi].clone();
        let group = gi as u32;
        for s in &mut self.slots {
            s.retain(|src| src.group != group);
        }
        self.far.retain(|(_, src)| src.group != group);
        let part = self.part;
        for id in (g.first..g.first + g.size).filter(|&id| part.owns(id)) {
            let k = gap(self.seed, id, step, Purpose::PoissonStart, g.odds);
            let due = if k == u64::MAX { k } else { step + k - 1 };
            self.schedule(Source { id, group }, due, step);
        }
    }

    /// Moves the far sources due within the next [`SLOTS`] steps into their buckets (at each
    /// roll-over, `step` a multiple of SLOTS).
    fn roll_over(&mut self, step: u64) {
        let mut far = std::mem::take(&mut self.far);
        far.retain(|&(due, src)| {
            if due < step + SLOTS {
                self.slots[(due % SLOTS) as usize].push(src);
                false
            } else {
                true
            }
        });
        self.far = far;
    }

    /// Each source's next spike step, by neuron id (`u64::MAX`: never; 0 for other neurons),
    /// for a checkpoint taken after `steps` steps.
    pub fn next_steps(&self, neurons: usize, steps: u64) -> Vec<u64> {
        if self.groups.is_empty() {
            return Vec::new();
        }
        let mut next = vec![0; neurons];
        for g in &self.groups {
            next[g.first as usize..(g.first + g.size) as usize].fill(u64::MAX);
        }
        for k in 0..SLOTS {
            let due = steps + k;
            for src in &self.slots[(due % SLOTS) as usize] {
                next[src.id as usize] = due;
            }
        }
        for &(due, src) in &self.far {
            next[src.id as usize] = due;
        }
        next
    }
}

/// System: the Poisson sources due on this step fire and draw their next spike.
pub fn fire_poisson(
    mut cal: ResMut<PoissonCalendar>,
    groups: Res<NeuronGroups>,
    clock: Res<Clock>,
    mut spikes: ResMut<SpikeHistory>,
) {
    let step = clock.step;
    for gi in 0..cal.groups.len() {
        let NeuronModel::Poisson { rate_hz } = groups.0[cal.groups[gi].group].spec.model else {
            continue;
        };
        if rate_hz != cal.groups[gi].rate_hz {
            cal.set_rate(gi, rate_hz);
            cal.redraw(gi, step);
        }
    }
    if step.is_multiple_of(SLOTS) {
        cal.roll_over(step);
    }
    let slot = (step % SLOTS) as usize;
    let due = std::mem::take(&mut cal.slots[slot]);
    for &src in &due {
        spikes.fire_alone(step, src.id);
        let odds = cal.groups[src.group as usize].odds;
        let k = gap(cal.seed, src.id, step, Purpose::Poisson, odds);
        cal.schedule(src, step.saturating_add(k), step);
    }
    let mut due = due;
    due.clear();
    cal.slots[slot] = due;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The geometric gaps have mean 1/p and the Bernoulli process's variance (1 − p)/p², and
    /// p = 1 fires every step.
    #[test]
    fn gaps_are_geometric() {
        let p = 0.05;
        let n = 200_000;
        let gaps: Vec<f64> = (0..n)
            .map(|i| gap(3, i, 17, Purpose::Poisson, Odds::of(p)) as f64)
            .collect();
        let mean = gaps.iter().sum::<f64>() / n as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard error of the mean: sqrt((1 − p)/p²/n) ≈ 0.044; 4 SE.
        assert!((mean - 1.0 / p).abs() < 0.18, "mean gap {mean}");
        assert!(
            (var / ((1.0 - p) / (p * p)) - 1.0).abs() < 0.05,
            "variance {var}"
        );
        assert_eq!(gaps.iter().cloned().fold(f64::INFINITY, f64::min), 1.0);
        assert_eq!(gap(3, 1, 2, Purpose::Poisson, Odds::of(1.0)), 1);
        assert_eq!(gap(3, 1, 2, Purpose::Poisson, Odds::of(0.0)), u64::MAX);
    }
}

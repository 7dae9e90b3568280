//! Stops a run that goes non-finite, naming the synapse (or neuron), the variable and the time.
//!
//! Every step, a cheap parallel pass checks the variables every other synapse variable flows
//! into within one step (Ca and sensitivity, h, z, w, efficacy) and each neuron's potential; the
//! smallest offending id is kept with an atomic `fetch_min`, so the report does not depend on
//! thread timing. The simulation then looks that entity up once and names the first non-finite
//! variable in cascade order. Event-driven pair-STDP synapses are checked where they change
//! instead, when a spike reaches them and at the end of each epoch
//! ([`event_stdp`](crate::stages::plasticity::event_stdp)).
//!
//! Every other state variable is checked too. Those that reach a checked variable only through
//! a later event (STDP traces and eligibility, the NMDA spine, ρ, AMPA pools) are checked on the
//! slow clock, so a report about them can come up to one slow step (10 ms) after the value went
//! non-finite; dopamine regions and astrocytes, a few entities, are checked every step.

use crate::core::synapse::{Synapse, for_each_table, group_runs};
use crate::stages::ca_influx::{NmdaSpine, SpineHeadCa};
use crate::stages::groups::SynapseGroups;
use crate::stages::homeostasis::AstrocyteScaling;
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::modulation::RegionData;
use crate::stages::neurons::{IzhikevichState, LifState, Neuron};
use crate::stages::plasticity::SynapticWeight;
use crate::stages::plasticity::event_stdp::EventDriven;
use crate::stages::plasticity::{CaRuleState, StdpTraces};
use crate::stages::trafficking::AmpaPools;
use bevy_ecs::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The smallest synapse and neuron ids seen with a non-finite value (u32::MAX: none).
#[derive(Resource)]
pub struct NonFinite {
    pub synapse: AtomicU32,
    pub neuron: AtomicU32,
    pub region: AtomicU32,
    pub astrocyte: AtomicU32,
}

impl Default for NonFinite {
    fn default() -> Self {
        NonFinite {
            synapse: AtomicU32::new(u32::MAX),
            neuron: AtomicU32::new(u32::MAX),
            region: AtomicU32::new(u32::MAX),
            astrocyte: AtomicU32::new(u32::MAX),
        }
    }
}

impl NonFinite {
    pub fn synapse(&self) -> Option<u32> {
        Some(self.synapse.load(Relaxed)).filter(|&i| i != u32::MAX)
    }
    pub fn neuron(&self) -> Option<u32> {
        Some(self.neuron.load(Relaxed)).filter(|&i| i != u32::MAX)
    }
    pub fn region(&self) -> Option<u32> {
        Some(self.region.load(Relaxed)).filter(|&i| i != u32::MAX)
    }
    pub fn astrocyte(&self) -> Option<u32> {
        Some(self.astrocyte.load(Relaxed)).filter(|&i| i != u32::MAX)
    }
}

/// Whether `x` is infinite or NaN: its exponent bits are all ones. An integer test, so a loop
/// of them vectorises.
#[inline(always)]
pub(crate) fn nonfinite(x: f32) -> bool {
    x.to_bits() & 0x7f80_0000 == 0x7f80_0000
}

/// Whether any variable of one synapse checked here is non-finite.
#[inline(always)]
fn bad(ca: &SpineHeadCa, w: &SynapticWeight) -> bool {
    nonfinite(ca.ca_um)
        | nonfinite(ca.sensitivity)
        | nonfinite(w.h_mv)
        | nonfinite(w.z)
        | nonfinite(w.w_mv)
        | nonfinite(w.efficacy_mv)
}

/// System (Record): flags the smallest synapse id with a non-finite value. A branch-free pass
/// over each run of a group; only a run with a bad row is searched for its smallest id. Runs of
/// frozen groups ([`is_frozen`](crate::stages::groups::SynapseGroupRt::is_frozen)) without astrocyte
/// scaling are skipped: their values were checked at the build and nothing changes them.
pub fn check_synapses_finite(
    mut q: Query<(&Synapse, &SpineHeadCa, &SynapticWeight), Without<EventDriven>>,
    groups: Res<SynapseGroups>,
    scaling: Res<AstrocyteScaling>,
    flag: Res<NonFinite>,
) {
    for_each_table(&mut q, |(syn, ca, w)| {
        for (g, r) in group_runs(syn) {
            if groups.0[g].is_frozen() && scaling.is_identity() {
                continue;
            }
            let (syn, ca, w) = (&syn[r.clone()], &ca[r.clone()], &w[r]);
            let any = ca.iter().zip(w).fold(false, |acc, (c, w)| acc | bad(c, w));
            if any {
                let first = (0..syn.len())
                    .filter(|&j| bad(&ca[j], &w[j]))
                    .map(|j| syn[j].id)
                    .min();
                flag.synapse.fetch_min(first.unwrap_or(u32::MAX), Relaxed);
            }
        }
    });
}

/// System (Record): flags the smallest neuron id with a non-finite membrane state. Spike
/// sources have no membrane state and are not visited. Each table is first tested in one
/// branch-free pass (`nonfinite`); only a table with a bad value is searched for its id.
pub fn check_neurons_finite(
    lif: Query<(&Neuron, &LifState)>,
    izh: Query<(&Neuron, &IzhikevichState)>,
    flag: Res<NonFinite>,
) {
    let lif_bad = |s: &LifState| nonfinite(s.v_mv);
    for (ns, st) in lif.contiguous_iter().expect("neuron queries are dense") {
        flag_smallest(ns, |n| n.id, st, lif_bad, &flag.neuron);
    }
    let izh_bad = |s: &IzhikevichState| nonfinite(s.v_mv) | nonfinite(s.u);
    for (ns, st) in izh.contiguous_iter().expect("neuron queries are dense") {
        flag_smallest(ns, |n| n.id, st, izh_bad, &flag.neuron);
    }
}

/// Lowers `flag` to the smallest id of `items` (read with `id`) whose state in `st` `bad`
/// rejects: a branch-free pass first, the search only for a slice that has one.
fn flag_smallest<I, S>(
    items: &[I],
    id: impl Fn(&I) -> u32,
    st: &[S],
    bad: impl Fn(&S) -> bool,
    flag: &AtomicU32,
) {
    if st.iter().fold(false, |any, s| any | bad(s)) {
        let first = items
            .iter()
            .zip(st)
            .filter(|(_, s)| bad(s))
            .map(|(i, _)| id(i))
            .min();
        flag.fetch_min(first.unwrap_or(u32::MAX), Relaxed);
    }
}

/// The state the slow check reads (clock-driven synapses only: event-driven ones are checked
/// where they change).
type Slow<'w, 's, C> = Query<'w, 's, (&'static Synapse, &'static C), Without<EventDriven>>;

/// Flags the smallest synapse id of `q` whose component `bad` rejects, over its tables in
/// parallel like the stages.
fn flag_synapses<C: Component>(
    q: &mut Slow<C>,
    bad: impl Fn(&C) -> bool + Send + Sync + Copy,
    flag: &NonFinite,
) {
    for_each_table(q, |(syn, st)| {
        flag_smallest(syn, |s| s.id, st, bad, &flag.synapse)
    });
}

/// System (Record, slow clock): flags the smallest synapse id with a non-finite STDP trace,
/// eligibility, NMDA spine variable, ρ or AMPA pool.
pub fn check_slow_state_finite(
    mut traces: Slow<StdpTraces>,
    mut nmda: Slow<NmdaSpine>,
    mut rho: Slow<CaRuleState>,
    mut pools: Slow<AmpaPools>,
    flag: Res<NonFinite>,
) {
    flag_synapses(
        &mut traces,
        |s| nonfinite(s.x_pre) | nonfinite(s.y_post) | nonfinite(s.eligibility_mv),
        &flag,
    );
    flag_synapses(
        &mut nmda,
        |s| {
            nonfinite(s.cleft.glutamate_mm)
                | nonfinite(s.receptor.open_fraction)
                | nonfinite(s.membrane.v_mv)
        },
        &flag,
    );
    flag_synapses(&mut rho, |s| !s.rho.is_finite(), &flag);
    flag_synapses(&mut pools, |s| nonfinite(s.psd) | nonfinite(s.total), &flag);
}

/// System (Record): flags the smallest dopamine region and astrocyte id with a non-finite
/// value (a few entities, every step).
pub fn check_regions_finite(
    regions: Query<RegionData>,
    astros: Query<&AstrocyteUnit>,
    flag: Res<NonFinite>,
) {
    for g in &regions {
        if g.values().iter().any(|&v| nonfinite(v)) {
            flag.region.fetch_min(g.id.0, Relaxed);
        }
    }
    for a in &astros {
        let bad = [a.activity_hz, a.error_integral_hz_s, a.scale]
            .iter()
            .any(|v| !v.is_finite());
        if bad {
            flag.astrocyte.fetch_min(a.id, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonfinite_matches_is_finite() {
        for x in [
            0.0,
            -0.0,
            1.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE / 4.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ] {
            assert_eq!(nonfinite(x), !x.is_finite(), "{x}");
        }
    }
}

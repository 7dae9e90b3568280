//! Building the world from a scene, in named phases, one module each:
//!
//! 0. [`estimate`](mod@estimate): counts and memory, without building (`edra check`);
//! 1. [`replicas`]: the scene once per sweep combination, neuron groups and their ids;
//! 2. [`connectivity`]: each synapse group's (pre, post) pairs from the seed;
//! 3. [`rows`]: each synapse's initial values, or its values restored from a checkpoint;
//! 4. [`spawn`]: the entities, each group in one batch with its complete bundle, and the
//!    components of registered stages;
//! 5. [`resources`]: the timeline and the recorders.
//!
//! [`build_world`] runs them in order. A checkpoint's state, when present, replaces the
//! connectivity and the initial values.

use crate::assembly::record::{RecorderRt, Recorders};
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::params::Dist;
use crate::core::registry::{Registered, Stages};
use crate::core::rng::{self, Purpose};
use crate::core::synapse::{Recorded, Synapse};
use crate::engine::exchange::SpikeExchange;
use crate::engine::partition::Partition;
use crate::engine::ranks::Ranks;
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::scene::recorders::{RecordKind, kind_of, variable_names, variable_units};
use crate::scene::state::State;
use crate::scene::{Connectivity, RecordTarget, Scene, SceneFile, SynapseGroup, expected_synapses};
use crate::stages::SYNAPSE_VARIABLE_COUNT;
use crate::stages::ca_influx::CaModel;
use crate::stages::components::SynapseComponent;
use crate::stages::consolidation::{ConsolidationProteinPool, ProteinLevels};
use crate::stages::groups::{Replicas, SynapseGroupRt, SynapseGroups};
use crate::stages::guard::NonFinite;
use crate::stages::homeostasis::{AstrocyteScaling, AstrocyteUnit};
use crate::stages::modulation::{
    DopamineCleft, DopamineReceptor, ModulatoryCascade, RegionId, RegionLevels,
};
use crate::stages::neurons::{
    IzhikevichState, LifState, Neuron, NeuronGroupRt, NeuronGroups, NeuronModel, PairingSource,
    PoissonCalendar, PoissonSource, RegularSource, SpikeCursor, SpikeTimesDue,
};
use crate::stages::plasticity::Rule;
use crate::stages::plasticity::event_calcium::EventCalcium;
use crate::stages::plasticity::event_stdp::{EventDriven, EventStdp};
use crate::stages::timeline::{ParamChange, PendingReward, RuleRt, Timeline};
use bevy_ecs::bundle::{Bundle, NoBundleEffect};
use bevy_ecs::prelude::*;
use rayon::prelude::*;

pub mod connectivity;
pub mod estimate;
pub mod replicas;
pub mod resources;
pub mod restore;
pub mod rows;
pub mod spawn;

use connectivity::*;
pub use estimate::{Estimate, available_memory, bytes_per_synapse, estimate, refusal};
pub use replicas::expand;
use replicas::*;
use resources::*;
use rows::*;
use spawn::*;

/// Counts of what a scene builds, for `edra check` and the run summary.
#[derive(Resource, Clone, Debug, Default)]
pub struct BuildInfo {
    pub neurons: u64,
    pub synapses: u64,
    pub regions: u64,
    pub astrocytes: u64,
    pub replicas: u64,
    pub max_delay_steps: u64,
}
/// Builds the world of a scene file, with the stages `registered` on top of the built-in
/// cascade: the phases of the module doc, in order.
pub fn build_world(sf: &SceneFile, registered: &Stages) -> Result<World> {
    build_world_on(sf, registered, &Ranks::single())
}

/// [`build_world`] for this rank of `ranks`: the neurons it owns ([`Partition`]) and the
/// synapses onto them; everything that belongs to no neuron whole. Every rank calls it (it
/// agrees on the spike history's length and the exchange interval with one collective).
pub fn build_world_on(sf: &SceneFile, registered: &Stages, ranks: &Ranks) -> Result<World> {
    let part = Partition::new(ranks.rank() as u32, ranks.size() as u32);
    let scene = &sf.scene;
    let state = scene.state.as_ref();
    // 1. Replicas, groups and their ids; a checkpoint is checked against them.
    let replicas = expand(scene).map_err(|m| sf.error_at("sweep", m))?;
    let neuron_groups = neuron_groups(&replicas);
    let n_neurons = neuron_groups.0.last().map_or(0, |g| g.first + g.spec.size) as usize;
    let mut levels = region_levels(&replicas);
    let mut groups = synapse_groups(&replicas, &neuron_groups, &levels)?;
    let n_astrocytes = astrocyte_count(&replicas);
    if let Some(st) = state {
        let n_regions = levels.params.len();
        let n_astro = n_astrocytes as usize;
        restore::check_state(
            sf,
            st,
            n_neurons,
            n_regions,
            n_astro,
            &groups,
            &neuron_groups,
        )?;
    }
    // 2. Connectivity (or the checkpoint's synapses) of every group.
    let (sources, n_synapses) = synapse_sources(sf, &mut groups, &neuron_groups, part)?;
    let mut recorders = recorders(sf, &neuron_groups, &groups, levels.params.len(), registered)?;

    // 3–4. Rows and entities.
    let mut world = World::new();
    let shared = (n_neurons as u64 + n_synapses as u64).div_ceil(part.ranks as u64);
    let entities = shared + levels.params.len() as u64 + n_astrocytes;
    let spare = reserve_entities(&mut world, entities);
    let recorded = recorders.ids(RecordKind::Neurons);
    spawn_neurons(&mut world, &neuron_groups, state, &recorded, part);
    spawn_regions(&mut world, &mut levels, state);
    let (scaling, n_astro) = spawn_astrocytes(
        &mut world,
        &replicas,
        &neuron_groups,
        n_neurons,
        state,
        part,
    );
    let recorded = recorders.ids(RecordKind::Synapses);
    let (max_delay, min_axonal) =
        spawn_all_synapses(&mut world, &groups, sources, scene, &recorded, part);
    let (max_delay, min_axonal) = agree_on_delays(ranks, max_delay, min_axonal);
    // The resources (and whatever is spawned later) take the spare low entity ids.
    let spare: Vec<Entity> = spare
        .into_iter()
        .filter_map(|e| world.despawn_no_free(e))
        .collect();
    world.entity_allocator_mut().free_many(&spare);
    spawn_registered(&mut world, registered, &groups, state)?;
    find_recorded_entities(&mut world, &mut recorders);

    // 5. Resources: what is in flight, the timeline, the tables the stages read.
    let dt = scene.dt_ms;
    let mut timeline = timeline(&replicas, &neuron_groups, &levels, dt);
    let mut spikes = SpikeHistory::new(n_neurons, max_delay as usize);
    let mut input = NeuronInput::new(n_neurons);
    let step = state.map_or(0, |s| s.step);
    if let Some(st) = state {
        restore::in_flight(st, &mut spikes, &mut input, &mut timeline)?;
    }
    let info = BuildInfo {
        neurons: n_neurons as u64,
        synapses: n_synapses as u64,
        regions: levels.params.len() as u64,
        astrocytes: n_astro,
        replicas: replicas.len() as u64,
        max_delay_steps: max_delay,
    };
    let replicas = Replicas {
        paths: scene.sweep.iter().map(|a| a.path.clone()).collect(),
        values: replicas.iter().map(|(v, _)| v.clone()).collect(),
    };
    world.insert_resource(Clock {
        step,
        dt_ms: dt,
        slow_every: scene.slow_every(),
        seed: scene.seed,
    });
    world.insert_resource(spikes);
    world.insert_resource(input);
    world.insert_resource(SpikeTimesDue::default());
    let event_epoch = state.and_then(|s| s.event_epoch.as_ref());
    world.insert_resource(EventStdp::new(&groups, dt, step, event_epoch));
    world.insert_resource(EventCalcium::new(&groups, dt, scene.seed));
    world.insert_resource(levels);
    world.insert_resource(scaling);
    world.insert_resource(protein_levels(&neuron_groups, state));
    world.insert_resource(groups);
    world.insert_resource(neuron_groups);
    world.insert_resource(recorders);
    world.insert_resource(replicas);
    world.insert_resource(NonFinite::default());
    world.insert_resource(info);
    world.insert_resource(part);
    world.insert_resource(ranks.clone());
    world.insert_resource(SpikeExchange::new(
        interval(&timeline, min_axonal, max_delay),
        step,
    ));
    // Parameter changes that took effect before a checkpoint are applied again.
    let past: Vec<ParamChange> = timeline.changes[..timeline.change_cursor].to_vec();
    world.insert_resource(timeline);
    apply_past_changes(&mut world, &past)?;
    // Poisson sources draw their next spikes at the rates in force now.
    let saved = state.map(|s| &s.neurons.poisson_next_step[..]);
    let calendar = PoissonCalendar::new(
        world.resource::<NeuronGroups>(),
        world.resource::<Clock>(),
        saved,
        part,
    );
    world.insert_resource(calendar);
    Ok(world)
}

/// The longest delay and the shortest axonal delay over every rank's synapses (one collective;
/// the identity on one process), so that every rank keeps as many steps of spikes and
/// exchanges them at the same interval.
fn agree_on_delays(ranks: &Ranks, max_delay: u64, min_axonal: u64) -> (u64, u64) {
    let mut v = [max_delay, u64::MAX - min_axonal];
    ranks.all_reduce_max_u64(&mut v);
    (v[0], u64::MAX - v[1])
}

/// Steps between two spike exchanges: the shortest axonal delay (a spike is read by another
/// rank's synapses no sooner; at most the steps the history holds), one step when reward rules
/// read the last step's spikes, and at least one step. A scene with an axonal delay of 0 is refused on more than one rank before
/// the build ([`crate::assembly::sim::refuse_on_ranks`]).
fn interval(timeline: &Timeline, min_axonal: u64, max_delay: u64) -> u64 {
    if timeline.rules.is_empty() {
        // Without synapses, as many steps as the history holds.
        min_axonal.min(max_delay + 1).max(1)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::connectivity::{choose, connect, connect_owned};
    use super::*;

    #[test]
    fn choose_gives_k_distinct_values_and_never_more_than_n() {
        for (n, k) in [(10, 0), (10, 3), (10, 9), (10, 10), (9, 10), (0, 4)] {
            let c = choose(7, 1, n, k);
            assert_eq!(c.len() as u64, k.min(n), "n {n}, k {k}");
            assert!(c.windows(2).all(|w| w[0] < w[1]) && c.iter().all(|&v| v < n));
        }
    }

    /// A connection probability so small that 1 − p rounds to 1 ends (it looped forever, found
    /// by the fuzz campaign), and gives the synapses its expectation allows: none here.
    #[test]
    fn a_vanishing_probability_connects_nothing_and_ends() {
        for p in ["1e-300", "1e-17", "5e-324"] {
            let g: SynapseGroup = ron::from_str(&format!(
                "SynapseGroup(name: \"s\", pre: \"a\", post: \"b\", connectivity: FixedProbability({p}))"
            ))
            .unwrap();
            assert!(connect(&g, 1000, 1000, 1, 0).is_empty(), "p = {p}");
        }
    }

    /// The pairs each of K ranks draws for the posts it owns (round-robin), with their
    /// indices, are together the whole group's, each at its index: for every rule, recurrent
    /// (no autapses) and feed-forward, with more ranks than posts too.
    #[test]
    fn each_rank_draws_its_share_of_the_pairs_at_their_places() {
        let rules = [
            "OneToOne",
            "AllToAll",
            "FixedProbability(0.2)",
            "FixedInDegree(4)",
            "FixedOutDegree(5)",
        ];
        for conn in rules {
            for (pre, post, n_pre, n_post) in
                [("g", "g", 13, 13), ("a", "b", 17, 9), ("a", "b", 3, 2)]
            {
                let g: SynapseGroup = ron::from_str(&format!(
                    "SynapseGroup(name: \"s\", pre: \"{pre}\", post: \"{post}\", connectivity: {conn})"
                ))
                .unwrap();
                let whole = connect(&g, n_pre, n_post, 5, 2);
                for ranks in [1u32, 2, 3, 4] {
                    let mut seen = vec![None; whole.len()];
                    for rank in 0..ranks {
                        let owns = |j: u32| (7 + j) % ranks == rank;
                        let o = connect_owned(&g, (n_pre, n_post), 5, 2, &owns);
                        assert_eq!(o.count, whole.len() as u64, "{conn} {ranks} ranks");
                        assert_eq!(o.pairs.len(), o.ids.len());
                        for (&pair, &id) in o.pairs.iter().zip(&o.ids) {
                            assert!(owns(pair.1), "{conn}: a pair onto another rank's post");
                            assert!(
                                seen[id as usize].replace(pair).is_none(),
                                "{conn}: id {id} twice"
                            );
                        }
                    }
                    let seen: Vec<_> = seen.into_iter().map(|p| p.expect("every id")).collect();
                    assert_eq!(seen, whole, "{conn} on {ranks} ranks ({pre}→{post})");
                }
            }
        }
    }

    /// A recurrent group of 10 without autapses: every neuron can take the 9 others.
    #[test]
    fn a_recurrent_group_gets_n_minus_1_partners_per_neuron() {
        for conn in ["FixedOutDegree(9)", "FixedInDegree(9)"] {
            let g: SynapseGroup = ron::from_str(&format!(
                "SynapseGroup(name: \"s\", pre: \"g\", post: \"g\", connectivity: {conn})"
            ))
            .unwrap();
            let mut pairs = connect(&g, 10, 10, 1, 0);
            assert_eq!(pairs.len(), 90, "{conn}");
            assert!(pairs.iter().all(|(i, j)| i != j && *i < 10 && *j < 10));
            pairs.sort_unstable();
            pairs.dedup();
            assert_eq!(pairs.len(), 90, "{conn}: a pair twice");
        }
    }
}

//! Building the world from a scene, in named phases, one module each:
//!
//! 0. [`estimate`]: counts and memory, without building (`edra check`);
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
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::scene::recorders::{RecordKind, variable_names};
use crate::scene::state::State;
use crate::scene::{Connectivity, RecordTarget, Scene, SceneFile, SynapseGroup, expected_synapses};
use crate::stages::SYNAPSE_VARIABLE_COUNT;
use crate::stages::ca_influx::{
    CaModel, LinearCa, NmdaReceptor, NmdaSpine, PostsynapticMembrane, SpineHeadCa, SynapticCleft,
};
use crate::stages::consolidation::{ConsolidationProteinPool, ProteinLevels, SynapticTag};
use crate::stages::groups::{Replicas, SynapseGroupRt, SynapseGroups};
use crate::stages::guard::NonFinite;
use crate::stages::homeostasis::{AstrocyteScaling, AstrocyteUnit};
use crate::stages::modulation::{
    DopamineCleft, DopamineReceptor, ModulatoryCascade, RegionId, RegionLevels,
};
use crate::stages::neurons::{
    IzhikevichState, LifState, Neuron, NeuronGroupRt, NeuronGroups, NeuronModel, PairingSource,
    PoissonCalendar, PoissonSource, RegularSource, SpikeCursor,
};
use crate::stages::plasticity::event_stdp::{EventDriven, EventStdp};
use crate::stages::plasticity::{CaRuleState, EarlyCalciumRule, Rule, StdpTraces, SynapticWeight};
use crate::stages::timeline::{ParamChange, PendingReward, RuleRt, Timeline};
use crate::stages::trafficking::AmpaPools;
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
/// cascade.
pub fn build_world(sf: &SceneFile, registered: &Stages) -> Result<World> {
    let scene = &sf.scene;
    let replicas = expand(scene).map_err(|m| sf.error_at("sweep", m))?;
    let state = scene.state.as_ref();
    let mut world = World::new();

    let neuron_groups = neuron_groups(&replicas);
    let n_neurons = neuron_groups.0.last().map_or(0, |g| g.first + g.spec.size) as usize;
    let find_neurons = |r: u32, name: &str| neuron_groups.find(r, name);

    let mut levels = RegionLevels::default();
    for (r, (_, sc)) in replicas.iter().enumerate() {
        for reg in &sc.dopamine_regions {
            levels.names.push((reg.name.clone(), r as u32));
            levels.params.push(reg.params.clone());
        }
    }
    let n_regions = levels.params.len();
    levels.pending_release_um = vec![0.0; n_regions];
    levels.dopamine_um = vec![0.0; n_regions];
    levels.third_factor_um = vec![0.0; n_regions];
    levels.sensitivity = vec![1.0; n_regions];
    let region_index = |r: u32, name: &str| levels.index(r, name);

    // Synapse groups and their ids.
    let mut groups = SynapseGroups::default();
    let mut next_id = 0u32;
    for (r, (_, sc)) in replicas.iter().enumerate() {
        for spec in &sc.synapses {
            groups.0.push(SynapseGroupRt {
                spec: spec.clone(),
                replica: r as u32,
                region: spec.region.as_ref().map(|n| region_index(r as u32, n)),
                sign: if spec.inhibitory { -1.0 } else { 1.0 },
                delivers_input: !matches!(
                    find_neurons(r as u32, &spec.post).spec.model,
                    NeuronModel::Poisson { .. }
                ),
                first_id: 0,
                count: 0,
            });
        }
    }
    if groups.0.len() > u16::MAX as usize {
        return Err(EdraError::other(
            "more than 65535 synapse groups (with sweep replicas)",
        ));
    }

    let astrocytes: u64 = replicas
        .iter()
        .flat_map(|(_, sc)| {
            sc.astrocytes.iter().map(|a| {
                let size = sc
                    .neurons
                    .iter()
                    .find(|g| g.name == a.covers)
                    .map_or(0, |g| g.size);
                size.div_ceil(a.neurons_per_astrocyte.max(1)) as u64
            })
        })
        .sum();
    if let Some(st) = state {
        restore::check_state(
            sf,
            st,
            n_neurons,
            n_regions,
            astrocytes as usize,
            &groups,
            &neuron_groups,
        )?;
    }

    // Connectivity (or the checkpoint's synapses) of every group, and their ids.
    let dt = scene.dt_ms;
    let mut sources: Vec<RowSource> = Vec::with_capacity(groups.0.len());
    for (gi, g) in groups.0.iter_mut().enumerate() {
        let pre = find_neurons(g.replica, &g.spec.pre);
        let post = find_neurons(g.replica, &g.spec.post);
        let source = match state {
            Some(st) => {
                let idx: Vec<u32> = (0..st.synapses.group.len() as u32)
                    .into_par_iter()
                    .filter(|&i| st.synapses.group[i as usize] == gi as u16)
                    .collect();
                let (pre, post) = ((pre.first, pre.spec.size), (post.first, post.spec.size));
                restore::check_rows(sf, st, g, gi, &idx, next_id, pre, post)?;
                RowSource::State(idx)
            }
            None => {
                let pairs = connect(
                    &g.spec,
                    pre.spec.size,
                    post.spec.size,
                    scene.seed,
                    gi as u64,
                );
                if pairs.len() as u64 + next_id as u64 > u32::MAX as u64 {
                    return Err(EdraError::other("more than 2^32 synapses"));
                }
                check_delays(g, next_id, pairs.len(), scene).map_err(|(field, m)| {
                    sf.error_at(
                        &format!("synapses[{}].{field}", gi % scene.synapses.len()),
                        m,
                    )
                })?;
                RowSource::Fresh {
                    pairs,
                    pre_first: pre.first,
                    post_first: post.first,
                }
            }
        };
        let mut source = source;
        source.reverse();
        g.first_id = next_id;
        g.count = source.len() as u32;
        next_id += g.count;
        sources.push(source);
    }

    let mut recorders = recorders(sf, &neuron_groups, &groups, n_regions, registered)?;
    let recorded_ids = |kind: RecordKind| {
        let mut ids: Vec<u32> = recorders
            .0
            .iter()
            .filter(|r| r.kind == kind)
            .flat_map(|r| r.ids.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let recorded_synapses = recorded_ids(RecordKind::Synapses);
    let recorded_neurons = recorded_ids(RecordKind::Neurons);

    let entities = n_neurons as u64 + next_id as u64 + n_regions as u64 + astrocytes;
    let spare = reserve_entities(&mut world, entities);
    spawn_neurons(&mut world, &neuron_groups, state, &recorded_neurons);
    spawn_regions(&mut world, &mut levels, state);
    let (scaling, n_astro) =
        spawn_astrocytes(&mut world, &replicas, &neuron_groups, n_neurons, state);

    let mut max_delay = 0u64;
    for (gi, (g, source)) in groups.0.iter().zip(sources).enumerate() {
        let ca_delay = match &g.spec.ca {
            CaModel::Linear(p) => (p.delay_ms / dt).round() as u64,
            CaModel::Nmda(_) | CaModel::Off => 0,
        };
        let h0 = g.h0_mv() as f32;
        // Sources are reversed: row k is at `count − 1 − k`, which `RowSource::keep` keeps.
        let last = g.count as usize - 1;
        let row = |source: &RowSource, k: usize| match source {
            RowSource::Fresh {
                pairs,
                pre_first,
                post_first,
            } => {
                let (i, j) = pairs[last - k];
                let syn = (pre_first + i, post_first + j, g.first_id + k as u32);
                fresh_row(g, gi as u16, syn, h0, scene)
            }
            RowSource::State(idx) => {
                let i = idx[last - k];
                row_from_state(state.expect("state rows"), gi as u16, i)
            }
        };
        let rows = Rows::new(source, &row);
        let (axonal, dendritic) = spawn_synapses(&mut world, g, rows, &recorded_synapses);
        max_delay = max_delay.max(axonal + ca_delay).max(dendritic);
    }

    let params_of_neuron: Vec<u32> = neuron_groups
        .0
        .iter()
        .enumerate()
        .flat_map(|(i, g)| std::iter::repeat_n(i as u32, g.spec.size as usize))
        .collect();
    let pool_params = neuron_groups
        .0
        .iter()
        .map(|g| g.spec.protein_pool.clone())
        .collect();
    let mut proteins = ProteinLevels::new(params_of_neuron, pool_params);
    if let Some(st) = state {
        proteins.per_neuron.copy_from_slice(&st.neurons.protein);
    }

    let mut timeline = timeline(&replicas, &neuron_groups, &levels, dt);
    let mut spikes = SpikeHistory::new(n_neurons, max_delay as usize);
    let mut input = NeuronInput::new(n_neurons);
    let step = state.map_or(0, |s| s.step);
    if let Some(st) = state {
        let bad =
            |what: &str| EdraError::other(format!("checkpoint: {what} does not match the scene"));
        if !spikes.import(step, &st.spike_history) {
            return Err(bad("spike_history"));
        }
        if !input.import(&st.neuron_input) {
            return Err(bad("neuron_input"));
        }
        if st.rule_last_pre.len() != timeline.rules.len() {
            return Err(bad("rule_last_pre"));
        }
        for (r, last) in timeline.rules.iter_mut().zip(&st.rule_last_pre) {
            r.last_pre_step = *last;
        }
        timeline.pending = st.pending_rewards.clone();
        timeline.seek(step);
    }

    let info = BuildInfo {
        neurons: n_neurons as u64,
        synapses: next_id as u64,
        regions: n_regions as u64,
        astrocytes: n_astro,
        replicas: replicas.len() as u64,
        max_delay_steps: max_delay,
    };
    let replicas_res = Replicas {
        paths: scene.sweep.iter().map(|a| a.path.clone()).collect(),
        values: replicas.iter().map(|(v, _)| v.clone()).collect(),
    };
    // The resources (and whatever is spawned later) take the spare low entity ids.
    let spare: Vec<Entity> = spare
        .into_iter()
        .filter_map(|e| world.despawn_no_free(e))
        .collect();
    world.entity_allocator_mut().free_many(&spare);
    spawn_registered(&mut world, registered, &groups, state)?;
    find_recorded_entities(&mut world, &mut recorders);
    world.insert_resource(Clock {
        step,
        dt_ms: dt,
        slow_every: scene.slow_every(),
        seed: scene.seed,
    });
    world.insert_resource(spikes);
    world.insert_resource(input);
    let event_epoch = state.and_then(|s| s.event_epoch.as_ref());
    world.insert_resource(EventStdp::new(&groups, dt, step, event_epoch));
    world.insert_resource(levels);
    world.insert_resource(scaling);
    world.insert_resource(proteins);
    world.insert_resource(groups);
    world.insert_resource(neuron_groups);
    world.insert_resource(recorders);
    world.insert_resource(replicas_res);
    world.insert_resource(NonFinite::default());
    world.insert_resource(info);
    // Parameter changes that took effect before a checkpoint are applied again.
    let past: Vec<ParamChange> = timeline.changes[..timeline.change_cursor].to_vec();
    world.insert_resource(timeline);
    world.resource_scope(|world, mut syn: Mut<SynapseGroups>| {
        world.resource_scope(|world, mut neu: Mut<NeuronGroups>| {
            world.resource_scope(|world, mut lev: Mut<RegionLevels>| {
                let mut ast = world.resource_mut::<AstrocyteScaling>();
                for c in &past {
                    crate::stages::timeline::apply_change(
                        c, &mut syn, &mut neu, &mut lev, &mut ast,
                    )
                    .map_err(EdraError::Other)?;
                }
                Ok::<(), EdraError>(())
            })
        })
    })?;
    // Poisson sources draw their next spikes at the rates in force now.
    let saved = state.map(|s| &s.neurons.poisson_next_step[..]);
    let calendar = PoissonCalendar::new(
        world.resource::<NeuronGroups>(),
        world.resource::<Clock>(),
        saved,
    );
    world.insert_resource(calendar);
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::connectivity::{choose, connect};
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

//! Building the world from a scene: sweep replicas, neuron groups, dopamine regions,
//! astrocytes, connectivity, synapses with the components of their models, and the runtime
//! resources. A checkpoint's state, when present, replaces the connectivity and initial values.

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
use crate::stages::ca_influx::{CaModel, LinearCa, NmdaSpine, SpineHeadCa};
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

/// The scene once per combination of sweep values (one replica without a sweep).
pub fn expand(scene: &Scene) -> std::result::Result<Vec<(Vec<f64>, Scene)>, String> {
    let mut out = vec![(
        Vec::new(),
        Scene {
            sweep: Vec::new(),
            state: None,
            ..scene.clone()
        },
    )];
    for axis in &scene.sweep {
        let mut next = Vec::new();
        for (vals, sc) in &out {
            for v in &axis.values {
                let mut s = sc.clone();
                crate::scene::paths::apply(&mut s, &axis.path, &(*v).into())?;
                let mut vals = vals.clone();
                vals.push(*v);
                next.push((vals, s));
            }
        }
        out = next;
    }
    Ok(out)
}

/// Initial (or restored) values of one synapse.
#[derive(Clone, Copy, Debug)]
struct Row {
    syn: Synapse,
    weight: SynapticWeight,
    spine: SpineHeadCa,
    nmda: NmdaSpine,
    traces: StdpTraces,
    rho: f64,
    /// The residuals of h (early calcium rule) and z (consolidation), see [`crate::core::fine`].
    h_residual_mv: f32,
    z_residual: f32,
    pools: AmpaPools,
    tagged: bool,
    /// First step an event-driven synapse has not taken yet.
    next_step: u64,
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
    let find_neurons = |r: u32, name: &str| {
        neuron_groups
            .0
            .iter()
            .find(|g| g.replica == r && g.spec.name == name)
            .expect("names validated")
    };

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
    let region_index = |r: u32, name: &str| {
        levels
            .names
            .iter()
            .position(|(n, rep)| *rep == r && n == name)
            .expect("names validated") as u32
    };

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

    // Connectivity (or the checkpoint's synapses) of every group, and their ids.
    let dt = scene.dt_ms;
    let mut sources: Vec<RowSource> = Vec::with_capacity(groups.0.len());
    for (gi, g) in groups.0.iter_mut().enumerate() {
        let pre = find_neurons(g.replica, &g.spec.pre);
        let post = find_neurons(g.replica, &g.spec.post);
        let source = match state {
            Some(st) => RowSource::State(
                (0..st.synapses.group.len() as u32)
                    .into_par_iter()
                    .filter(|&i| st.synapses.group[i as usize] == gi as u16)
                    .collect(),
            ),
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

fn neuron_groups(replicas: &[(Vec<f64>, Scene)]) -> NeuronGroups {
    let mut out = NeuronGroups::default();
    let mut first = 0u32;
    for (r, (_, sc)) in replicas.iter().enumerate() {
        for g in &sc.neurons {
            out.0.push(NeuronGroupRt {
                spec: g.clone(),
                replica: r as u32,
                first,
            });
            first += g.size;
        }
    }
    out
}

/// Uniform integer in `0..n` from the connectivity stream.
fn draw(seed: u64, stream: u64, k: u64, n: u64) -> u64 {
    (rng::uniform_f64(seed, stream, k, Purpose::Connectivity) * n as f64) as u64 % n.max(1)
}

/// `k` distinct values of `0..n` (Floyd's algorithm), ascending. There are only `n` of them:
/// a `k` above `n` (which scene validation refuses) gives all `n`, never fewer.
fn choose(seed: u64, stream: u64, n: u64, k: u64) -> Vec<u64> {
    let k = k.min(n);
    let mut chosen: Vec<u64> = Vec::with_capacity(k as usize);
    for (draws, i) in (n - k..n).enumerate() {
        let t = draw(seed, stream, draws as u64, i + 1);
        chosen.push(if chosen.contains(&t) { i } else { t });
    }
    chosen.sort_unstable();
    chosen
}

/// The (pre, post) pairs of a group, as indices within the two neuron groups, in a fixed order.
fn connect(g: &SynapseGroup, n_pre: u32, n_post: u32, seed: u64, group: u64) -> Vec<(u32, u32)> {
    let no_self = g.pre == g.post && !g.allow_autapses;
    let stream = |row: u32| (group << 32) | row as u64;
    // Maps a choice among the n−1 partners that are not `me` to a neuron index.
    let skip = |c: u64, me: u32| {
        if no_self && c >= me as u64 {
            c as u32 + 1
        } else {
            c as u32
        }
    };
    let n_other = |n: u32| {
        if no_self {
            (n as u64).saturating_sub(1)
        } else {
            n as u64
        }
    };
    match g.connectivity {
        Connectivity::OneToOne => (0..n_pre.min(n_post)).map(|i| (i, i)).collect(),
        Connectivity::AllToAll => (0..n_post)
            .flat_map(|j| {
                (0..n_pre)
                    .filter(move |&i| !(no_self && i == j))
                    .map(move |i| (i, j))
            })
            .collect(),
        Connectivity::FixedProbability(p) => (0..n_post)
            .into_par_iter()
            .flat_map_iter(|j| {
                let mut out = Vec::new();
                if p <= 0.0 {
                    return out;
                }
                let log_q = (1.0 - p).ln();
                let (mut i, mut k) = (-1i64, 0u64);
                loop {
                    let u = rng::uniform_f64(seed, stream(j), k, Purpose::Connectivity);
                    k += 1;
                    let gap = if p >= 1.0 {
                        0
                    } else {
                        ((1.0 - u).ln() / log_q).floor() as i64
                    };
                    i += gap + 1;
                    if i >= n_pre as i64 {
                        break;
                    }
                    if !(no_self && i as u32 == j) {
                        out.push((i as u32, j));
                    }
                }
                out
            })
            .collect(),
        Connectivity::FixedInDegree(k) => (0..n_post)
            .into_par_iter()
            .flat_map_iter(|j| {
                choose(seed, stream(j), n_other(n_pre), k as u64)
                    .into_iter()
                    .map(move |c| (skip(c, j), j))
            })
            .collect(),
        Connectivity::FixedOutDegree(k) => {
            let mut pairs: Vec<(u32, u32)> = (0..n_pre)
                .into_par_iter()
                .flat_map_iter(|i| {
                    choose(seed, stream(i), n_other(n_post), k as u64)
                        .into_iter()
                        .map(move |c| (i, skip(c, i)))
                })
                .collect();
            pairs.par_sort_unstable_by_key(|&(i, j)| (j, i));
            pairs
        }
    }
}

/// Salt of each sampled field in the init stream.
const SALT_AXONAL: u64 = 1;
const SALT_DENDRITIC: u64 = 2;
const SALT_H: u64 = 3;
const SALT_Z: u64 = 4;
const SALT_RHO: u64 = 5;

/// Delay steps of a sampled delay, or why it does not fit in a `u16`.
fn steps_of(d: &Dist, seed: u64, id: u32, salt: u64, dt: f64) -> std::result::Result<u16, String> {
    let ms = d.sample(seed, id as u64, salt, 0.0, 1000.0);
    let steps = (ms / dt).round();
    if steps > u16::MAX as f64 {
        return Err(format!(
            "a delay of {ms} ms is more than 65535 steps of {dt} ms"
        ));
    }
    Ok(steps as u16)
}

/// Checks that the delays of the `n` synapses from `first_id` fit in 65535 steps. Sampled delays
/// are at most 1000 ms, so this only samples them when the step is shorter than 1000/65535 ms.
fn check_delays(
    g: &SynapseGroupRt,
    first_id: u32,
    n: usize,
    scene: &Scene,
) -> std::result::Result<(), (String, String)> {
    let (seed, dt) = (scene.seed, scene.dt_ms);
    for (field, d, salt) in [
        ("axonal_delay_ms", &g.spec.axonal_delay_ms, SALT_AXONAL),
        (
            "dendritic_delay_ms",
            &g.spec.dendritic_delay_ms,
            SALT_DENDRITIC,
        ),
    ] {
        if (d.max_in(0.0, 1000.0) / dt).round() <= u16::MAX as f64 {
            continue;
        }
        let bad = (0..n as u32)
            .into_par_iter()
            .find_map_first(|k| steps_of(d, seed, first_id + k, salt, dt).err());
        if let Some(m) = bad {
            return Err((field.to_string(), m));
        }
    }
    Ok(())
}

/// The initial values of synapse `id` of group `g` from neuron `pre` to neuron `post`. The
/// delays were checked by [`check_delays`].
fn fresh_row(
    g: &SynapseGroupRt,
    group: u16,
    (pre, post, id): (u32, u32, u32),
    h0: f32,
    scene: &Scene,
) -> Row {
    let (seed, dt, s) = (scene.seed, scene.dt_ms, &g.spec);
    let steps = |d: &Dist, salt| steps_of(d, seed, id, salt, dt).unwrap_or(u16::MAX);
    let rho = s.init.rho.sample(seed, id as u64, SALT_RHO, 0.0, 1.0) as f32 as f64;
    let h = match &s.rule {
        Rule::CalciumRule(p) => (p.h_down_mv + rho * (p.h_up_mv - p.h_down_mv)) as f32,
        _ => s.init.h_mv.sample(seed, id as u64, SALT_H, -1e3, 1e3) as f32,
    };
    let z = s.init.z.sample(seed, id as u64, SALT_Z, -1.0, 1.0) as f32;
    let w = h + h0 * z;
    let pools = s
        .trafficking
        .as_ref()
        .map_or(AmpaPools::default(), |p| AmpaPools {
            psd: p.steady_psd(w as f64, p.total_receptors) as f32,
            total: p.total_receptors as f32,
        });
    let efficacy = match &s.trafficking {
        Some(p) => pools.psd * p.mv_per_receptor as f32,
        None => w,
    } * g.sign;
    let (ca, v) = match &s.ca {
        CaModel::Linear(_) | CaModel::Off => (0.0, 0.0),
        CaModel::Nmda(p) => (p.ca_rest_um as f32, p.v_rest_mv as f32),
    };
    Row {
        syn: Synapse {
            id,
            pre,
            post,
            group,
            axonal_delay_steps: steps(&s.axonal_delay_ms, SALT_AXONAL),
            dendritic_delay_steps: steps(&s.dendritic_delay_ms, SALT_DENDRITIC),
            arrivals: 0,
        },
        weight: SynapticWeight {
            h_mv: h,
            z,
            w_mv: w,
            efficacy_mv: efficacy,
        },
        spine: SpineHeadCa {
            ca_um: ca,
            sensitivity: 1.0,
        },
        nmda: NmdaSpine {
            cleft_glutamate_mm: 0.0,
            nmda_open_fraction: 0.0,
            membrane_v_mv: v,
        },
        traces: StdpTraces::default(),
        rho,
        h_residual_mv: 0.0,
        z_residual: 0.0,
        pools,
        tagged: false,
        next_step: 0,
    }
}

/// Synapse `i` of a checkpoint.
fn row_from_state(st: &State, group: u16, i: u32) -> Row {
    let c = &st.synapses;
    let i = i as usize;
    Row {
        syn: Synapse {
            id: i as u32,
            pre: c.pre[i],
            post: c.post[i],
            group,
            axonal_delay_steps: c.axonal_delay_steps[i],
            dendritic_delay_steps: c.dendritic_delay_steps[i],
            arrivals: c.arrivals[i],
        },
        weight: SynapticWeight {
            h_mv: c.h_mv[i],
            z: c.z[i],
            w_mv: c.w_mv[i],
            efficacy_mv: c.efficacy_mv[i],
        },
        spine: SpineHeadCa {
            ca_um: c.ca_um[i],
            sensitivity: c.ca_sensitivity[i],
        },
        nmda: NmdaSpine {
            cleft_glutamate_mm: c.glutamate_mm[i],
            nmda_open_fraction: c.nmda_open_fraction[i],
            membrane_v_mv: c.spine_v_mv[i],
        },
        traces: StdpTraces {
            x_pre: c.x_pre[i],
            y_post: c.y_post[i],
            eligibility_mv: c.eligibility_mv[i],
        },
        rho: c.rho[i],
        h_residual_mv: c.h_residual_mv.get(i).copied().unwrap_or(0.0),
        z_residual: c.z_residual.get(i).copied().unwrap_or(0.0),
        pools: AmpaPools {
            psd: c.psd_receptors[i],
            total: c.total_receptors[i],
        },
        tagged: c.tagged[i],
        next_step: c.next_step.get(i).copied().unwrap_or(st.step),
    }
}

/// What a group's synapses are made from: its connectivity, or the checkpoint's synapses. Kept
/// in reverse order, so that the part already spawned can be cut off the end and freed.
enum RowSource {
    /// (pre, post) pairs as indices within the two neuron groups, and the groups' first ids.
    Fresh {
        pairs: Vec<(u32, u32)>,
        pre_first: u32,
        post_first: u32,
    },
    /// Indices of the group's synapses in the checkpoint.
    State(Vec<u32>),
}

impl RowSource {
    fn len(&self) -> usize {
        match self {
            RowSource::Fresh { pairs, .. } => pairs.len(),
            RowSource::State(idx) => idx.len(),
        }
    }

    fn reverse(&mut self) {
        match self {
            RowSource::Fresh { pairs, .. } => pairs.reverse(),
            RowSource::State(idx) => idx.reverse(),
        }
    }

    /// Keeps the first `n` (the rows not yet spawned) and frees the rest.
    fn keep(&mut self, n: usize) {
        match self {
            RowSource::Fresh { pairs, .. } => {
                pairs.truncate(n);
                pairs.shrink_to_fit();
            }
            RowSource::State(idx) => {
                idx.truncate(n);
                idx.shrink_to_fit();
            }
        }
    }
}

/// The rows of a group, computed in parallel a chunk at a time as the spawner takes them, so
/// that all of them are never held at once; the source of the rows already taken is freed as
/// it goes. Keeps the largest axonal and dendritic delay.
struct Rows<'a> {
    source: RowSource,
    row: &'a (dyn Fn(&RowSource, usize) -> Row + Sync),
    n: usize,
    next: usize,
    freed: usize,
    buf: Vec<Row>,
    pos: usize,
    max_axonal: u64,
    max_dendritic: u64,
}

impl<'a> Rows<'a> {
    const CHUNK: usize = 1 << 15;

    fn new(source: RowSource, row: &'a (dyn Fn(&RowSource, usize) -> Row + Sync)) -> Self {
        let n = source.len();
        Rows {
            source,
            row,
            n,
            next: 0,
            freed: 0,
            buf: Vec::with_capacity(Self::CHUNK.min(n)),
            pos: 0,
            max_axonal: 0,
            max_dendritic: 0,
        }
    }
}

impl Iterator for &mut Rows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.pos == self.buf.len() {
            if self.next == self.n {
                return None;
            }
            let end = (self.next + Rows::CHUNK).min(self.n);
            let (source, row) = (&self.source, self.row);
            (self.next..end)
                .into_par_iter()
                .map(|k| row(source, k))
                .collect_into_vec(&mut self.buf);
            for r in &self.buf {
                self.max_axonal = self.max_axonal.max(r.syn.axonal_delay_steps as u64);
                self.max_dendritic = self.max_dendritic.max(r.syn.dendritic_delay_steps as u64);
            }
            self.next = end;
            self.pos = 0;
            if end - self.freed >= (self.n / 16).max(Rows::CHUNK) {
                self.source.keep(self.n - end);
                self.freed = end;
            }
        }
        self.pos += 1;
        Some(self.buf[self.pos - 1])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.buf.len() - self.pos + self.n - self.next;
        (left, Some(left))
    }
}

/// Entity ids kept free for the resources and for what is spawned after the build (more than
/// the 128 that bevy's allocator holds back before it reuses freed ids).
const SPARE_ENTITIES: u32 = 256;

/// Prepares bevy's entity table for `n` entities; returns [`SPARE_ENTITIES`] empty entities with
/// low ids, to be freed (all at once) before the resources are inserted. Two costs of bevy 0.20 at 10^7
/// entities are avoided this way:
///
/// - the table of entity locations (about 24 bytes an id) grows by doubling as entities are
///   spawned and fills its new capacity, so up to half of it would be unused: sized here to
///   `m·2^k` just above `n` (`m` small) by spawning an entity at id `m − 1` in the empty world;
/// - each resource is a sparse-set component, whose sparse array is as long as the id of the
///   entity holding it (4 bytes an id): resources inserted after 10^7 synapses would cost 40 MB
///   each, so they take the spare low ids instead.
fn reserve_entities(world: &mut World, n: u64) -> Vec<Entity> {
    let n = n + 2 * SPARE_ENTITIES as u64;
    let mut m = n;
    while m > 4096 {
        m = m.div_ceil(2);
    }
    let ids: Vec<Entity> = world.entity_allocator().alloc_many(m as u32).collect();
    if let Some(&last) = ids.iter().max_by_key(|e| e.index()) {
        if let Ok(e) = world.spawn_empty_at(last) {
            e.despawn();
        }
        let rest: Vec<Entity> = ids.into_iter().filter(|&e| e != last).collect();
        world.entity_allocator_mut().free_many(&rest);
    }
    (0..SPARE_ENTITIES)
        .map(|_| world.spawn_empty().id())
        .collect()
}

/// Spawns a group's synapses, each with the complete bundle of its models in one `spawn_batch`
/// (so no synapse moves between tables), the recorded ones with [`Recorded`]. Returns the
/// largest axonal and dendritic delay, steps.
fn spawn_synapses(
    world: &mut World,
    g: &SynapseGroupRt,
    rows: Rows,
    recorded: &[u32],
) -> (u64, u64) {
    let base = |r: &Row| (r.syn, r.weight, r.spine);
    let spawn = Spawn {
        world,
        g,
        rows,
        recorded,
    };
    match &g.spec.ca {
        CaModel::Linear(_) => spawn.rule(move |r| (base(r), LinearCa)),
        CaModel::Nmda(_) => spawn.rule(move |r| (base(r), r.nmda)),
        CaModel::Off => spawn.rule(base),
    }
}

/// The optional parts of a synapse bundle, added one level at a time (each level a match over
/// the group's choice), then spawned.
struct Spawn<'a, 'w> {
    world: &'w mut World,
    g: &'a SynapseGroupRt,
    rows: Rows<'a>,
    recorded: &'a [u32],
}

impl Spawn<'_, '_> {
    fn rule<B: Bundle<Effect: NoBundleEffect>>(self, f: impl Fn(&Row) -> B + Copy) -> (u64, u64) {
        match &self.g.spec.rule {
            Rule::PairStdp(p) if p.event_driven => self.trafficking(move |r| {
                let at = EventDriven {
                    next_step: r.next_step,
                };
                (f(r), r.traces, at)
            }),
            Rule::PairStdp(_) => self.trafficking(move |r| (f(r), r.traces)),
            Rule::CalciumRule(_) => self.trafficking(move |r| (f(r), CaRuleState { rho: r.rho })),
            Rule::EarlyCalcium(_) => self.trafficking(move |r| {
                let fine = EarlyCalciumRule {
                    h_residual_mv: r.h_residual_mv,
                };
                (f(r), fine)
            }),
            Rule::Static => self.trafficking(f),
        }
    }

    fn trafficking<B: Bundle<Effect: NoBundleEffect>>(
        self,
        f: impl Fn(&Row) -> B + Copy,
    ) -> (u64, u64) {
        match self.g.spec.trafficking {
            Some(_) => self.tagging(move |r| (f(r), r.pools)),
            None => self.tagging(f),
        }
    }

    fn tagging<B: Bundle<Effect: NoBundleEffect>>(
        self,
        f: impl Fn(&Row) -> B + Copy,
    ) -> (u64, u64) {
        match self.g.spec.consolidation {
            Some(_) => self.all(move |r| {
                (
                    f(r),
                    SynapticTag {
                        tagged: r.tagged,
                        z_residual: r.z_residual,
                    },
                )
            }),
            None => self.all(f),
        }
    }

    fn all<B: Bundle<Effect: NoBundleEffect>>(self, f: impl Fn(&Row) -> B) -> (u64, u64) {
        let mut rows = self.rows;
        let mut recorded_rows = Vec::new();
        let bundles = (&mut rows)
            .filter(|r| {
                let rec = self.recorded.binary_search(&r.syn.id).is_ok();
                if rec {
                    recorded_rows.push(*r);
                }
                !rec
            })
            .map(|r| f(&r));
        for _ in self.world.spawn_batch(bundles) {}
        let with_mark = recorded_rows.iter().map(|r| (f(r), Recorded));
        for _ in self.world.spawn_batch(with_mark) {}
        (rows.max_axonal, rows.max_dendritic)
    }
}

/// Spawns the neurons of `first..first + n` in one batch, the recorded ones in another with
/// [`Recorded`] (`recorded` is sorted).
fn spawn_neuron_batch<B: Bundle<Effect: NoBundleEffect>>(
    world: &mut World,
    first: u32,
    n: u32,
    recorded: &[u32],
    f: impl Fn(u32) -> B,
) {
    let is_rec = |id: &u32| recorded.binary_search(id).is_ok();
    for _ in world.spawn_batch((first..first + n).filter(|id| !is_rec(id)).map(&f)) {}
    let rec = recorded.iter().filter(|&&id| id >= first && id < first + n);
    for _ in world.spawn_batch(rec.map(|&id| (f(id), Recorded))) {}
}

fn spawn_neurons(
    world: &mut World,
    groups: &NeuronGroups,
    state: Option<&State>,
    recorded: &[u32],
) {
    for (gi, g) in groups.0.iter().enumerate() {
        let col = |c: Option<&Vec<f32>>, id: u32| c.map(|c| c[id as usize]);
        let base = |id: u32| {
            let neuron = Neuron {
                id,
                group: gi as u16,
            };
            let protein = state.map_or(0.0, |s| s.neurons.protein[id as usize]);
            (neuron, ConsolidationProteinPool { protein })
        };
        let v = |id| col(state.map(|s| &s.neurons.v_mv), id);
        let (first, n) = (g.first, g.spec.size);
        match &g.spec.model {
            NeuronModel::Lif(p) => spawn_neuron_batch(world, first, n, recorded, |id| {
                let lif = LifState {
                    v_mv: v(id).unwrap_or(p.e_l_mv as f32),
                    refractory_steps: state.map_or(0, |s| s.neurons.refractory_steps[id as usize]),
                };
                (base(id), lif)
            }),
            NeuronModel::Izhikevich(p) => spawn_neuron_batch(world, first, n, recorded, |id| {
                let v0 = v(id).unwrap_or(-65.0);
                let u = col(state.map(|s| &s.neurons.u), id).unwrap_or((p.b * v0 as f64) as f32);
                (base(id), IzhikevichState { v_mv: v0, u })
            }),
            NeuronModel::SpikeTimes { .. } => spawn_neuron_batch(world, first, n, recorded, |id| {
                let next = state.map_or(0, |s| s.neurons.spike_cursor[id as usize]);
                (base(id), SpikeCursor { next })
            }),
            NeuronModel::Poisson { .. } => {
                spawn_neuron_batch(world, first, n, recorded, |id| (base(id), PoissonSource))
            }
            NeuronModel::Regular { .. } => {
                spawn_neuron_batch(world, first, n, recorded, |id| (base(id), RegularSource))
            }
            NeuronModel::Pairing(_) => {
                spawn_neuron_batch(world, first, n, recorded, |id| (base(id), PairingSource))
            }
        }
    }
}

fn spawn_regions(world: &mut World, levels: &mut RegionLevels, state: Option<&State>) {
    for r in 0..levels.params.len() {
        let s = state.map(|s| s.regions[r]).unwrap_or_default();
        let cleft = DopamineCleft {
            dopamine_um: s.dopamine_um,
        };
        let casc = ModulatoryCascade { pka: s.pka };
        let rec = DopamineReceptor {
            occupancy: s.occupancy,
        };
        levels.publish(r, &cleft, &casc);
        world.spawn((RegionId(r as u32), cleft, rec, casc));
    }
}

fn spawn_astrocytes(
    world: &mut World,
    replicas: &[(Vec<f64>, Scene)],
    neurons: &NeuronGroups,
    n_neurons: usize,
    state: Option<&State>,
) -> (AstrocyteScaling, u64) {
    let mut scaling = AstrocyteScaling {
        per_neuron: vec![1.0; n_neurons],
        ..Default::default()
    };
    let mut id = 0u32;
    for (r, (_, sc)) in replicas.iter().enumerate() {
        for a in &sc.astrocytes {
            let g = neurons
                .0
                .iter()
                .find(|g| g.replica == r as u32 && g.spec.name == a.covers)
                .expect("names validated");
            let params = scaling.params.len() as u32;
            scaling.names.push((a.name.clone(), r as u32));
            scaling.params.push(a.params.clone());
            let mut first = g.first;
            while first < g.first + g.spec.size {
                let n = a.neurons_per_astrocyte.min(g.first + g.spec.size - first);
                let unit = match state {
                    Some(s) => s.astrocytes[id as usize],
                    None => AstrocyteUnit {
                        id,
                        first_neuron: first,
                        n_neurons: n,
                        params,
                        activity_hz: a.params.initial_activity_hz.unwrap_or(a.params.goal_hz),
                        error_integral_hz_s: 0.0,
                        scale: 1.0,
                        spikes_in_window: 0,
                    },
                };
                scaling.per_neuron[first as usize..(first + n) as usize].fill(unit.scale as f32);
                world.spawn(unit);
                first += n;
                id += 1;
            }
        }
    }
    (scaling, id as u64)
}

fn timeline(
    replicas: &[(Vec<f64>, Scene)],
    neurons: &NeuronGroups,
    levels: &RegionLevels,
    dt: f64,
) -> Timeline {
    let steps = |ms: f64| (ms / dt).round().max(0.0) as u64;
    let region = |r: u32, name: &str| {
        levels
            .names
            .iter()
            .position(|(n, rep)| *rep == r && n == name)
            .expect("validated") as u32
    };
    let neuron = |r: u32, n: &crate::scene::timeline::NeuronRef| {
        let g = neurons
            .0
            .iter()
            .find(|g| g.replica == r && g.spec.name == n.group)
            .expect("validated");
        g.first + n.index
    };
    let mut tl = Timeline::default();
    for (r, (_, sc)) in replicas.iter().enumerate() {
        let r = r as u32;
        for e in &sc.timeline {
            match e {
                crate::scene::timeline::Event::Reward {
                    at_ms,
                    region: name,
                    amount_um,
                } => tl.rewards.push(PendingReward {
                    step: steps(*at_ms),
                    region: region(r, name),
                    amount_um: *amount_um as f32,
                }),
                crate::scene::timeline::Event::RewardRule(rule) => tl.rules.push(RuleRt {
                    pre: neuron(r, &rule.pre),
                    post: neuron(r, &rule.post),
                    region: region(r, &rule.region),
                    from_step: steps(rule.from_ms),
                    until_step: rule.until_ms.map_or(u64::MAX, steps),
                    window_steps: steps(rule.window_ms),
                    delay_min_steps: steps(rule.delay_min_ms),
                    delay_max_steps: steps(rule.delay_max_ms),
                    amount_um: rule.amount_um as f32,
                    last_pre_step: None,
                }),
                crate::scene::timeline::Event::SetParam { at_ms, path, value } => {
                    tl.changes.push(ParamChange {
                        step: steps(*at_ms),
                        replica: r,
                        path: path.clone(),
                        value: value.clone(),
                    })
                }
            }
        }
    }
    tl.rewards.sort_by_key(|r| r.step);
    tl.changes.sort_by_key(|c| c.step);
    tl.pending.reserve(256);
    tl
}

/// The most values a recorder reserves room for when the world is built (128 MiB).
const RESERVE_MAX: usize = 1 << 24;

fn recorders(
    sf: &SceneFile,
    neurons: &NeuronGroups,
    synapses: &SynapseGroups,
    n_regions: usize,
    registered: &Stages,
) -> Result<Recorders> {
    let scene = &sf.scene;
    let start = scene.state.as_ref().map_or(0, |s| s.step);
    let total = (scene.duration_ms / scene.dt_ms).round() as u64;
    let mut out = Recorders::default();
    for (ri, r) in scene.recorders.iter().enumerate() {
        let mut ids = Vec::new();
        let kind = match &r.target {
            RecordTarget::Synapses { group, indices } => {
                for g in synapses.0.iter().filter(|g| &g.spec.name == group) {
                    for &i in indices {
                        if i >= g.count {
                            let path = format!("recorders[{ri}].target.indices");
                            let msg = format!(
                                "group `{group}` made {} synapses; there is no index {i}",
                                g.count
                            );
                            return Err(sf.error_at(&path, msg));
                        }
                        ids.push(g.first_id + i);
                    }
                }
                RecordKind::Synapses
            }
            RecordTarget::Neurons { group, indices } => {
                for g in neurons.0.iter().filter(|g| &g.spec.name == group) {
                    ids.extend(indices.iter().map(|i| g.first + i));
                }
                RecordKind::Neurons
            }
            RecordTarget::Regions => RecordKind::Regions,
            RecordTarget::Astrocytes => RecordKind::Astrocytes,
        };
        ids.sort_unstable();
        ids.dedup();
        let names = variable_names(kind, registered);
        let columns: Vec<usize> = if r.variables.is_empty() {
            (0..names.len()).collect()
        } else {
            r.variables
                .iter()
                .map(|v| names.iter().position(|n| n == v).expect("validated"))
                .collect()
        };
        let entities = match kind {
            RecordKind::Regions => n_regions,
            RecordKind::Astrocytes => estimate(scene).astrocytes as usize,
            _ => ids.len(),
        };
        let samples = total.saturating_sub(start) / r.every_steps as u64 + 1;
        // Columns of registered stages' variables: (place in a row, stage, its variable).
        let mut registered_columns = Vec::new();
        if kind == RecordKind::Synapses {
            let owners: Vec<(usize, usize)> = registered
                .0
                .iter()
                .enumerate()
                .flat_map(|(s, st)| (0..st.variables().len()).map(move |v| (s, v)))
                .collect();
            for (j, &c) in columns.iter().enumerate() {
                if let Some(&(s, v)) = c
                    .checked_sub(SYNAPSE_VARIABLE_COUNT)
                    .and_then(|k| owners.get(k))
                {
                    registered_columns.push((2 + j, s, v));
                }
            }
        }
        let mut rec = RecorderRt {
            name: r.name.clone(),
            kind,
            header: RecorderRt::header_of(kind, &names, &columns),
            ids,
            columns,
            every_steps: r.every_steps,
            rows: Vec::new(),
            entities: Vec::new(),
            registered_columns,
            last_sample: 0,
        };
        let width = 2 + rec.columns.len();
        // Room for every sample, up to RESERVE_MAX values: a longer recording grows as it
        // goes (reserving all of it at once could not be allocated for a very long run).
        let values = (samples as usize).saturating_mul(entities.saturating_mul(width));
        rec.rows.reserve(values.min(RESERVE_MAX));
        out.0.push(rec);
    }
    Ok(out)
}

/// Gives the synapses of every registered stage's groups its component (restored from the
/// checkpoint's columns when there is one) and registers the stages in the world.
fn spawn_registered(
    world: &mut World,
    registered: &Stages,
    groups: &SynapseGroups,
    state: Option<&State>,
) -> Result<()> {
    for stage in &registered.0 {
        let uses: Vec<(u16, ron::Value)> = groups
            .0
            .iter()
            .enumerate()
            .filter_map(|(gi, g)| Some((gi as u16, g.spec.stages.get(stage.name())?.clone())))
            .collect();
        stage.spawn(world, &uses, groups.0.len());
        let Some(st) = state else { continue };
        let n = st.synapses.pre.len();
        let mut columns = Vec::new();
        for v in stage.variables() {
            match st.synapses.registered.get(v.name) {
                Some(c) if c.len() == n => columns.push(&c[..]),
                Some(c) => {
                    return Err(EdraError::other(format!(
                        "checkpoint: column `{}` of stage `{}` has {} values for {n} synapses",
                        v.name,
                        stage.name(),
                        c.len()
                    )));
                }
                None => {
                    return Err(EdraError::other(format!(
                        "checkpoint: no column `{}` of the registered stage `{}` (was the \
                         checkpoint written without it?)",
                        v.name,
                        stage.name()
                    )));
                }
            }
        }
        stage.restore(world, &columns);
    }
    let reg = Registered::new(registered.clone(), world);
    world.insert_resource(reg);
    Ok(())
}

/// Finds the entity of every synapse a recorder with registered stages' variables samples.
fn find_recorded_entities(world: &mut World, recorders: &mut Recorders) {
    if recorders.0.iter().all(|r| r.registered_columns.is_empty()) {
        return;
    }
    let mut q = world.query_filtered::<(Entity, &Synapse), With<Recorded>>();
    let mut found: Vec<(u32, Entity)> = q.iter(world).map(|(e, s)| (s.id, e)).collect();
    found.sort_unstable_by_key(|f| f.0);
    for r in recorders
        .0
        .iter_mut()
        .filter(|r| !r.registered_columns.is_empty())
    {
        r.entities = r
            .ids
            .iter()
            .map(|id| {
                let k = found.binary_search_by_key(id, |f| f.0).expect("recorded");
                found[k].1
            })
            .collect();
    }
}

/// What a scene will build and roughly how much memory it will take, without building it.
#[derive(Clone, Debug, Default)]
pub struct Estimate {
    pub replicas: u64,
    pub neurons: u64,
    pub synapses: f64,
    /// Whether `synapses` is exact (no FixedProbability group).
    pub exact: bool,
    pub per_group: Vec<(String, f64)>,
    pub regions: u64,
    pub astrocytes: u64,
    pub steps: u64,
    pub bytes_per_synapse: f64,
    pub recorder_bytes: f64,
    pub bytes: f64,
}

/// Bytes a component costs per entity: its size plus two change ticks.
fn cost<T>() -> f64 {
    (std::mem::size_of::<T>() + 8) as f64
}

/// Memory per synapse of a group: its components, plus the entity's own bookkeeping in bevy 0.20
/// (its id in the table, 8 bytes, and in the archetype, 12, and its location record, 24).
pub fn bytes_per_synapse(g: &SynapseGroup) -> f64 {
    let mut b = 44.0 + cost::<Synapse>() + cost::<SynapticWeight>() + cost::<SpineHeadCa>();
    b += match g.ca {
        CaModel::Linear(_) => cost::<LinearCa>(),
        CaModel::Nmda(_) => cost::<NmdaSpine>(),
        CaModel::Off => 0.0,
    };
    b += match g.rule {
        Rule::PairStdp(_) => cost::<StdpTraces>(),
        Rule::CalciumRule(_) => cost::<CaRuleState>(),
        Rule::EarlyCalcium(_) => cost::<EarlyCalciumRule>(),
        Rule::Static => 0.0,
    };
    if g.trafficking.is_some() {
        b += cost::<AmpaPools>();
    }
    if g.consolidation.is_some() {
        b += cost::<SynapticTag>();
    }
    b
}

/// Counts and memory of a scene (expected values for random connectivity).
pub fn estimate(scene: &Scene) -> Estimate {
    let reps: u64 = scene.sweep.iter().map(|a| a.values.len() as u64).product();
    let names = crate::scene::Names::of(scene);
    let size = |n: &str| names.size(n).map_or(0, u64::from);
    let mut e = Estimate {
        replicas: reps,
        neurons: reps * scene.neurons.iter().map(|g| g.size as u64).sum::<u64>(),
        regions: reps * scene.dopamine_regions.len() as u64,
        exact: true,
        steps: (scene.duration_ms / scene.dt_ms).round() as u64,
        ..Default::default()
    };
    let mut syn_bytes = 0.0;
    for g in &scene.synapses {
        let (n, _) = expected_synapses(g, size(&g.pre), size(&g.post));
        let n = n * reps as f64;
        e.exact &= !matches!(g.connectivity, Connectivity::FixedProbability(_));
        e.synapses += n;
        syn_bytes += n * bytes_per_synapse(g);
        e.per_group.push((g.name.clone(), n));
    }
    e.astrocytes = reps
        * scene
            .astrocytes
            .iter()
            .map(|a| size(&a.covers).div_ceil(a.neurons_per_astrocyte.max(1) as u64))
            .sum::<u64>();
    for r in &scene.recorders {
        let entities = match &r.target {
            RecordTarget::Synapses { indices, .. } | RecordTarget::Neurons { indices, .. } => {
                indices.len() as f64
            }
            RecordTarget::Regions => e.regions as f64,
            RecordTarget::Astrocytes => e.astrocytes as f64,
        };
        let cols = 2.0
            + if r.variables.is_empty() {
                16.0
            } else {
                r.variables.len() as f64
            };
        e.recorder_bytes +=
            reps as f64 * entities * cols * 8.0 * (e.steps / r.every_steps as u64 + 1) as f64;
    }
    e.bytes_per_synapse = if e.synapses > 0.0 {
        syn_bytes / e.synapses
    } else {
        0.0
    };
    let per_neuron = 64.0 + 8.0 * 2.0 + (2 * 8) as f64; // entity, state, input, history
    e.bytes = syn_bytes + e.neurons as f64 * per_neuron + e.recorder_bytes;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_gives_k_distinct_values_and_never_more_than_n() {
        for (n, k) in [(10, 0), (10, 3), (10, 9), (10, 10), (9, 10), (0, 4)] {
            let c = choose(7, 1, n, k);
            assert_eq!(c.len() as u64, k.min(n), "n {n}, k {k}");
            assert!(c.windows(2).all(|w| w[0] < w[1]) && c.iter().all(|&v| v < n));
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

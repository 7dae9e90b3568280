//! Building the world from a scene: sweep replicas, neuron groups, dopamine regions,
//! astrocytes, connectivity, synapses with the components of their models, and the runtime
//! resources. A checkpoint's state, when present, replaces the connectivity and initial values.

use crate::clock::Clock;
use crate::error::{EdraError, Result};
use crate::guard::NonFinite;
use crate::neurons::{
    IzhikevichState, LifState, Neuron, NeuronGroupRt, NeuronGroups, NeuronModel, PairingSource,
    PoissonSource, RegularSource, SpikeCursor,
};
use crate::params::Dist;
use crate::record::{RecordKind, RecorderRt, Recorders};
use crate::rng::{self, Purpose};
use crate::scene::{Connectivity, RecordTarget, Scene, SceneFile, SynapseGroup};
use crate::spikes::{NeuronInput, SpikeHistory};
use crate::stages::ca_influx::{
    CaModel, LinearCa, NmdaCa, NmdaReceptor, PostSynapticMembrane, SpineHeadCa, SynapticCleft,
};
use crate::stages::consolidation::{ConsolidationProteinPool, ProteinLevels, SynapticTag, Tagging};
use crate::stages::homeostasis::{AstrocyteScaling, AstrocyteUnit};
use crate::stages::modulation::{
    DopamineCleft, DopamineReceptor, ModulatoryCascade, RegionId, RegionLevels,
};
use crate::stages::plasticity::{
    CaRuleState, CalciumRule, DopamineGated, EarlyCalciumRule, PairStdp, Rule, StdpTraces,
    SynapticWeight,
};
use crate::stages::trafficking::{AmpaPools, Trafficked};
use crate::state::State;
use crate::synapse::{Recorded, Synapse};
use crate::timeline::{ParamChange, PendingReward, RuleRt, Timeline};
use crate::world::{Replicas, SynapseGroupRt, SynapseGroups};
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

/// An upper bound of the synapses a group makes (exact except for FixedProbability).
pub fn synapse_count_upper_bound(scene: &Scene, group: &str) -> Option<u64> {
    let g = scene.synapses.iter().find(|g| g.name == group)?;
    let size = |n: &str| {
        scene
            .neurons
            .iter()
            .find(|g| g.name == n)
            .map(|g| g.size as u64)
    };
    let (a, b) = (size(&g.pre)?, size(&g.post)?);
    Some(expected_synapses(g, a, b).1)
}

/// Expected and largest number of synapses of a group between groups of `a` and `b` neurons.
pub fn expected_synapses(g: &SynapseGroup, a: u64, b: u64) -> (f64, u64) {
    let auto = g.pre == g.post && !g.allow_autapses;
    let pairs = if auto { a * b.saturating_sub(1) } else { a * b };
    match g.connectivity {
        Connectivity::OneToOne => (a.min(b) as f64, a.min(b)),
        Connectivity::AllToAll => (pairs as f64, pairs),
        Connectivity::FixedProbability(p) => (pairs as f64 * p, pairs),
        Connectivity::FixedInDegree(k) => ((b * k as u64) as f64, b * k as u64),
        Connectivity::FixedOutDegree(k) => ((a * k as u64) as f64, a * k as u64),
    }
}

/// Initial (or restored) values of one synapse.
#[derive(Clone, Copy, Debug, Default)]
struct Row {
    syn: Synapse,
    weight: SynapticWeight,
    spine: SpineHeadCa,
    cleft: SynapticCleft,
    membrane_v_mv: f32,
    nmda: NmdaReceptor,
    traces: StdpTraces,
    rho: f32,
    pools: AmpaPools,
    tagged: bool,
}

/// Builds the world of a scene file.
pub fn build_world(sf: &SceneFile) -> Result<World> {
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

    let dt = scene.dt_ms;
    let mut all_rows: Vec<Vec<Row>> = Vec::with_capacity(groups.0.len());
    let mut max_delay = 0u64;
    for (gi, g) in groups.0.iter_mut().enumerate() {
        let pre = find_neurons(g.replica, &g.spec.pre);
        let post = find_neurons(g.replica, &g.spec.post);
        let rows = match state {
            Some(st) => rows_from_state(st, gi as u16),
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
                fresh_rows(g, gi as u16, &pairs, pre.first, post.first, next_id, scene).map_err(
                    |(field, m)| {
                        sf.error_at(
                            &format!("synapses[{}].{field}", gi % scene.synapses.len()),
                            m,
                        )
                    },
                )?
            }
        };
        g.first_id = next_id;
        g.count = rows.len() as u32;
        next_id += rows.len() as u32;
        let ca_delay = match &g.spec.ca {
            CaModel::Linear(p) => (p.delay_ms / dt).round() as u64,
            CaModel::Nmda(_) => 0,
        };
        for row in &rows {
            let s = &row.syn;
            max_delay = max_delay
                .max(s.axonal_delay_steps as u64 + ca_delay)
                .max(s.dendritic_delay_steps as u64);
        }
        all_rows.push(rows);
    }

    let recorders = recorders(sf, &neuron_groups, &groups, n_regions)?;
    let recorded_synapses: Vec<u32> = recorders
        .0
        .iter()
        .filter(|r| r.kind == RecordKind::Synapses)
        .flat_map(|r| r.ids.iter().copied())
        .collect();
    let recorded_neurons: Vec<u32> = recorders
        .0
        .iter()
        .filter(|r| r.kind == RecordKind::Neurons)
        .flat_map(|r| r.ids.iter().copied())
        .collect();

    for (g, rows) in groups.0.iter().zip(&all_rows) {
        spawn_synapses(&mut world, g, rows, &recorded_synapses);
    }
    drop(all_rows);
    spawn_neurons(&mut world, &neuron_groups, state, &recorded_neurons);
    spawn_regions(&mut world, &mut levels, state);
    let (scaling, n_astro) =
        spawn_astrocytes(&mut world, &replicas, &neuron_groups, n_neurons, state);

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
    world.insert_resource(Clock {
        step,
        dt_ms: dt,
        slow_every: scene.slow_every(),
        seed: scene.seed,
    });
    world.insert_resource(spikes);
    world.insert_resource(input);
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
                    crate::timeline::apply_change(c, &mut syn, &mut neu, &mut lev, &mut ast)
                        .map_err(EdraError::Other)?;
                }
                Ok::<(), EdraError>(())
            })
        })
    })?;
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

/// `k` distinct values of `0..n` (Floyd's algorithm), ascending.
fn choose(seed: u64, stream: u64, n: u64, k: u64) -> Vec<u64> {
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
    let n_other = |n: u32| if no_self { n as u64 - 1 } else { n as u64 };
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

fn fresh_rows(
    g: &SynapseGroupRt,
    group: u16,
    pairs: &[(u32, u32)],
    pre_first: u32,
    post_first: u32,
    first_id: u32,
    scene: &Scene,
) -> std::result::Result<Vec<Row>, (String, String)> {
    let (seed, dt, s) = (scene.seed, scene.dt_ms, &g.spec);
    let h0 = g.h0_mv() as f32;
    pairs
        .par_iter()
        .enumerate()
        .map(|(k, &(i, j))| {
            let id = first_id + k as u32;
            let axonal = steps_of(&s.axonal_delay_ms, seed, id, SALT_AXONAL, dt)
                .map_err(|m| ("axonal_delay_ms".to_string(), m))?;
            let dendritic = steps_of(&s.dendritic_delay_ms, seed, id, SALT_DENDRITIC, dt)
                .map_err(|m| ("dendritic_delay_ms".to_string(), m))?;
            let rho = s.init.rho.sample(seed, id as u64, SALT_RHO, 0.0, 1.0) as f32;
            let h = match &s.rule {
                Rule::CalciumRule(p) => {
                    (p.h_down_mv + rho as f64 * (p.h_up_mv - p.h_down_mv)) as f32
                }
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
                CaModel::Linear(_) => (0.0, 0.0),
                CaModel::Nmda(p) => (p.ca_rest_um as f32, p.v_rest_mv as f32),
            };
            Ok(Row {
                syn: Synapse {
                    id,
                    pre: pre_first + i,
                    post: post_first + j,
                    group,
                    axonal_delay_steps: axonal,
                    dendritic_delay_steps: dendritic,
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
                membrane_v_mv: v,
                rho,
                pools,
                ..Default::default()
            })
        })
        .collect()
}

fn rows_from_state(st: &State, group: u16) -> Vec<Row> {
    let c = &st.synapses;
    (0..c.group.len())
        .filter(|&i| c.group[i] == group)
        .map(|i| Row {
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
            cleft: SynapticCleft {
                glutamate_mm: c.glutamate_mm[i],
            },
            membrane_v_mv: c.spine_v_mv[i],
            nmda: NmdaReceptor {
                open_fraction: c.nmda_open_fraction[i],
            },
            traces: StdpTraces {
                x_pre: c.x_pre[i],
                y_post: c.y_post[i],
                eligibility_mv: c.eligibility_mv[i],
            },
            rho: c.rho[i],
            pools: AmpaPools {
                psd: c.psd_receptors[i],
                total: c.total_receptors[i],
            },
            tagged: c.tagged[i],
        })
        .collect()
}

fn spawn_rows<B: Bundle<Effect: NoBundleEffect>>(
    world: &mut World,
    rows: &[Row],
    f: impl Fn(&Row) -> B,
) -> Vec<Entity> {
    world.spawn_batch(rows.iter().map(f)).collect()
}

/// Spawns a group's synapses with the components of its models. The (Ca model, rule) pair picks
/// the bundle; gating, trafficking, tagging and recording are added in batches.
fn spawn_synapses(world: &mut World, g: &SynapseGroupRt, rows: &[Row], recorded: &[u32]) {
    let base = |r: &Row| (r.syn, r.weight, r.spine);
    let nmda = |r: &Row| {
        let v = PostSynapticMembrane {
            v_mv: r.membrane_v_mv,
        };
        (NmdaCa, r.cleft, r.nmda, v)
    };
    let pair = |r: &Row| (PairStdp, r.traces);
    let ca_rule = |r: &Row| (CalciumRule, CaRuleState { rho: r.rho });
    let ents = match (&g.spec.ca, &g.spec.rule) {
        (CaModel::Linear(_), Rule::PairStdp(_)) => {
            spawn_rows(world, rows, |r| (base(r), LinearCa, pair(r)))
        }
        (CaModel::Linear(_), Rule::CalciumRule(_)) => {
            spawn_rows(world, rows, |r| (base(r), LinearCa, ca_rule(r)))
        }
        (CaModel::Linear(_), Rule::EarlyCalcium(_)) => {
            spawn_rows(world, rows, |r| (base(r), LinearCa, EarlyCalciumRule))
        }
        (CaModel::Linear(_), Rule::Static) => spawn_rows(world, rows, |r| (base(r), LinearCa)),
        (CaModel::Nmda(_), Rule::PairStdp(_)) => {
            spawn_rows(world, rows, |r| (base(r), nmda(r), pair(r)))
        }
        (CaModel::Nmda(_), Rule::CalciumRule(_)) => {
            spawn_rows(world, rows, |r| (base(r), nmda(r), ca_rule(r)))
        }
        (CaModel::Nmda(_), Rule::EarlyCalcium(_)) => {
            spawn_rows(world, rows, |r| (base(r), nmda(r), EarlyCalciumRule))
        }
        (CaModel::Nmda(_), Rule::Static) => spawn_rows(world, rows, |r| (base(r), nmda(r))),
    };
    if g.spec.gating.is_some() {
        world.insert_batch(ents.iter().map(|&e| (e, DopamineGated)));
    }
    if g.spec.trafficking.is_some() {
        world.insert_batch(
            ents.iter()
                .zip(rows)
                .map(|(&e, r)| (e, (Trafficked, r.pools))),
        );
    }
    if g.spec.consolidation.is_some() {
        let tag = |r: &Row| SynapticTag { tagged: r.tagged };
        world.insert_batch(ents.iter().zip(rows).map(|(&e, r)| (e, (Tagging, tag(r)))));
    }
    for (&e, r) in ents.iter().zip(rows) {
        if recorded.contains(&r.syn.id) {
            world.entity_mut(e).insert(Recorded);
        }
    }
}

fn spawn_neurons(
    world: &mut World,
    groups: &NeuronGroups,
    state: Option<&State>,
    recorded: &[u32],
) {
    for (gi, g) in groups.0.iter().enumerate() {
        for k in 0..g.spec.size {
            let id = g.first + k;
            let neuron = Neuron {
                id,
                group: gi as u16,
            };
            let col = |c: Option<&Vec<f32>>| c.map(|c| c[id as usize]);
            let v = col(state.map(|s| &s.neurons.v_mv));
            let pool = ConsolidationProteinPool {
                protein: col(state.map(|s| &s.neurons.protein)).unwrap_or(0.0),
            };
            let mut e = world.spawn((neuron, pool));
            match &g.spec.model {
                NeuronModel::Lif(p) => {
                    e.insert(LifState {
                        v_mv: v.unwrap_or(p.e_l_mv as f32),
                        refractory_steps: state
                            .map_or(0, |s| s.neurons.refractory_steps[id as usize]),
                    });
                }
                NeuronModel::Izhikevich(p) => {
                    let v0 = v.unwrap_or(-65.0);
                    e.insert(IzhikevichState {
                        v_mv: v0,
                        u: col(state.map(|s| &s.neurons.u)).unwrap_or((p.b * v0 as f64) as f32),
                    });
                }
                NeuronModel::SpikeTimes { .. } => {
                    let next = state.map_or(0, |s| s.neurons.spike_cursor[id as usize]);
                    e.insert(SpikeCursor { next });
                }
                NeuronModel::Poisson { .. } => {
                    e.insert(PoissonSource);
                }
                NeuronModel::Regular { .. } => {
                    e.insert(RegularSource);
                }
                NeuronModel::Pairing(_) => {
                    e.insert(PairingSource);
                }
            }
            if recorded.contains(&id) {
                e.insert(Recorded);
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
    let neuron = |r: u32, n: &crate::timeline::NeuronRef| {
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
                crate::timeline::Event::Reward {
                    at_ms,
                    region: name,
                    amount_um,
                } => tl.rewards.push(PendingReward {
                    step: steps(*at_ms),
                    region: region(r, name),
                    amount_um: *amount_um as f32,
                }),
                crate::timeline::Event::RewardRule(rule) => tl.rules.push(RuleRt {
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
                crate::timeline::Event::SetParam { at_ms, path, value } => {
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

fn recorders(
    sf: &SceneFile,
    neurons: &NeuronGroups,
    synapses: &SynapseGroups,
    n_regions: usize,
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
        let names = crate::record::variable_names(kind);
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
        let mut rec = RecorderRt {
            name: r.name.clone(),
            kind,
            ids,
            columns,
            every_steps: r.every_steps,
            rows: Vec::new(),
        };
        let width = 2 + rec.columns.len();
        rec.rows
            .reserve((samples as usize).saturating_mul(entities * width));
        out.0.push(rec);
    }
    Ok(out)
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

/// Memory per synapse of a group: its components, plus the entity's own bookkeeping
/// (its id in the table and its location record, about 32 bytes).
pub fn bytes_per_synapse(g: &SynapseGroup) -> f64 {
    let mut b = 32.0 + cost::<Synapse>() + cost::<SynapticWeight>() + cost::<SpineHeadCa>();
    b += match g.ca {
        CaModel::Linear(_) => cost::<LinearCa>(),
        CaModel::Nmda(_) => {
            cost::<NmdaCa>()
                + cost::<SynapticCleft>()
                + cost::<NmdaReceptor>()
                + cost::<PostSynapticMembrane>()
        }
    };
    b += match g.rule {
        Rule::PairStdp(_) => cost::<PairStdp>() + cost::<StdpTraces>(),
        Rule::CalciumRule(_) => cost::<CalciumRule>() + cost::<CaRuleState>(),
        Rule::EarlyCalcium(_) => cost::<EarlyCalciumRule>(),
        Rule::Static => 0.0,
    };
    if g.gating.is_some() {
        b += cost::<DopamineGated>();
    }
    if g.trafficking.is_some() {
        b += cost::<Trafficked>() + cost::<AmpaPools>();
    }
    if g.consolidation.is_some() {
        b += cost::<Tagging>() + cost::<SynapticTag>();
    }
    b
}

/// Counts and memory of a scene (expected values for random connectivity).
pub fn estimate(scene: &Scene) -> Estimate {
    let reps: u64 = scene.sweep.iter().map(|a| a.values.len() as u64).product();
    let size = |n: &str| {
        scene
            .neurons
            .iter()
            .find(|g| g.name == n)
            .map_or(0, |g| g.size as u64)
    };
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

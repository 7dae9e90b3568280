//! Build phase 4, spawn: the entity table sized once, each synapse group spawned in one batch
//! with its complete bundle, neurons, dopamine regions, astrocytes, and the components of
//! registered stages.

use super::*;

/// Entity ids kept free for the resources and for what is spawned after the build (more than
/// the 128 that bevy's allocator holds back before it reuses freed ids).
pub(super) const SPARE_ENTITIES: u32 = 256;
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
pub(super) fn reserve_entities(world: &mut World, n: u64) -> Vec<Entity> {
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
/// Spawns a group's synapses, each with the complete bundle of its group's components in one
/// `spawn_batch` (so no synapse moves between tables), the recorded ones with [`Recorded`].
/// Returns the largest axonal and dendritic delay and the shortest axonal delay, steps.
pub(super) fn spawn_synapses(
    world: &mut World,
    g: &SynapseGroupRt,
    rows: Rows,
    recorded: &[u32],
) -> (u64, u64, u64) {
    let spawn = Spawn {
        world,
        g,
        rows,
        recorded,
    };
    spawn_bundles(spawn)
}

/// From the components of `cascade!` (src/stages/mod.rs): `spawn_bundles`, which puts together the
/// bundle of a group's synapses a slot at a time (every `one` component; of an `any` slot, the
/// component the group has, if any) and spawns them. Each choice is made once per group; the
/// bundle is a static type, one for each combination of choices.
macro_rules! spawn_chain {
    ($($stage:ident: [$($how:ident [$($field:ident: $c:ty)|+]),*]);* $(;)?) => {
        /// Spawns the rows of `spawn` with the components of their group.
        fn spawn_bundles(spawn: Spawn) -> (u64, u64, u64) {
            let bundle = |_: &Row| ();
            spawn_chain!(@slots spawn, bundle; $($($how [$($field: $c)|+])*)*)
        }
    };
    (@slots $s:ident, $f:ident; ) => { $s.all($f) };
    (@slots $s:ident, $f:ident; one [$field:ident: $c:ty] $($rest:tt)*) => {{
        let bundle = move |r: &Row| ($f(r), r.$field);
        spawn_chain!(@slots $s, bundle; $($rest)*)
    }};
    (@slots $s:ident, $f:ident; any [$($field:ident: $c:ty)|+] $($rest:tt)*) => {
        spawn_chain!(@arms $s, $f, [$($rest)*]; $($field: $c)|+)
    };
    (@arms $s:ident, $f:ident, [$($rest:tt)*]; ) => { spawn_chain!(@slots $s, $f; $($rest)*) };
    (@arms $s:ident, $f:ident, [$($rest:tt)*]; $field:ident: $c:ty $(| $($more:tt)*)?) => {
        if <$c as SynapseComponent>::in_group(&$s.g.spec) {
            let bundle = move |r: &Row| ($f(r), r.$field);
            spawn_chain!(@slots $s, bundle; $($rest)*)
        } else {
            spawn_chain!(@arms $s, $f, [$($rest)*]; $($($more)*)?)
        }
    };
}

crate::stages::cascade!(spawn_chain);

/// The rows of a synapse group and where to spawn them.
pub(super) struct Spawn<'a, 'w> {
    world: &'w mut World,
    g: &'a SynapseGroupRt,
    rows: Rows<'a>,
    recorded: &'a [u32],
}
impl Spawn<'_, '_> {
    fn all<B: Bundle<Effect: NoBundleEffect>>(self, f: impl Fn(&Row) -> B) -> (u64, u64, u64) {
        let mut rows = self.rows;
        let mut recorded_rows = Vec::new();
        let bundles = (&mut rows)
            .filter(|r| {
                let rec = self.recorded.binary_search(&r.synapse.id).is_ok();
                if rec {
                    recorded_rows.push(*r);
                }
                !rec
            })
            .map(|r| f(&r));
        for _ in self.world.spawn_batch(bundles) {}
        let with_mark = recorded_rows.iter().map(|r| (f(r), Recorded));
        for _ in self.world.spawn_batch(with_mark) {}
        (rows.max_axonal, rows.max_dendritic, rows.min_axonal)
    }
}
/// Spawns the neurons of `first..first + n` in one batch, the recorded ones in another with
/// [`Recorded`] (`recorded` is sorted).
pub(super) fn spawn_neuron_batch<B: Bundle<Effect: NoBundleEffect>>(
    world: &mut World,
    (first, n): (u32, u32),
    part: Partition,
    recorded: &[u32],
    f: impl Fn(u32) -> B,
) {
    let is_rec = |id: &u32| recorded.binary_search(id).is_ok();
    let ids = (first..first + n).filter(|&id| part.owns(id));
    for _ in world.spawn_batch(ids.filter(|id| !is_rec(id)).map(&f)) {}
    let rec = recorded
        .iter()
        .filter(|&&id| id >= first && id < first + n && part.owns(id));
    for _ in world.spawn_batch(rec.map(|&id| (f(id), Recorded))) {}
}
pub(super) fn spawn_neurons(
    world: &mut World,
    groups: &NeuronGroups,
    state: Option<&State>,
    recorded: &[u32],
    part: Partition,
) {
    // The state's columns as plain slices, taken once (see `StateRows`).
    let cols = state.map(|s| &s.neurons);
    let protein = cols.map(|c| &c.protein[..]);
    let v_mv = cols.map(|c| &c.v_mv[..]);
    let u = cols.map(|c| &c.u[..]);
    let refractory = cols.map(|c| &c.refractory_steps[..]);
    let cursor = cols.map(|c| &c.spike_cursor[..]);
    let col = |c: Option<&[f32]>, id: u32| c.map(|c| c[id as usize]);
    for (gi, g) in groups.0.iter().enumerate() {
        let base = |id: u32| {
            let neuron = Neuron {
                id,
                group: gi as u16,
            };
            let protein = protein.map_or(0.0, |p| p[id as usize]);
            (neuron, ConsolidationProteinPool { protein })
        };
        let v = |id| col(v_mv, id);
        let ids = (g.first, g.spec.size);
        match &g.spec.model {
            NeuronModel::Lif(p) => spawn_neuron_batch(world, ids, part, recorded, |id| {
                let lif = LifState {
                    v_mv: v(id).unwrap_or(p.e_l_mv as f32),
                    refractory_steps: refractory.map_or(0, |r| r[id as usize]),
                };
                (base(id), lif)
            }),
            NeuronModel::Izhikevich(p) => spawn_neuron_batch(world, ids, part, recorded, |id| {
                let v0 = v(id).unwrap_or(-65.0);
                let u = col(u, id).unwrap_or((p.b * v0 as f64) as f32);
                (base(id), IzhikevichState { v_mv: v0, u })
            }),
            NeuronModel::SpikeTimes { .. } => {
                spawn_neuron_batch(world, ids, part, recorded, |id| {
                    let next = cursor.map_or(0, |c| c[id as usize]);
                    (base(id), SpikeCursor { next })
                })
            }
            NeuronModel::Poisson { .. } => {
                spawn_neuron_batch(world, ids, part, recorded, |id| (base(id), PoissonSource))
            }
            NeuronModel::Regular { .. } => {
                spawn_neuron_batch(world, ids, part, recorded, |id| (base(id), RegularSource))
            }
            NeuronModel::Pairing(_) => {
                spawn_neuron_batch(world, ids, part, recorded, |id| (base(id), PairingSource))
            }
        }
    }
}
pub(super) fn spawn_regions(world: &mut World, levels: &mut RegionLevels, state: Option<&State>) {
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
pub(super) fn spawn_astrocytes(
    world: &mut World,
    replicas: &[(Vec<f64>, Scene)],
    neurons: &NeuronGroups,
    n_neurons: usize,
    state: Option<&State>,
    part: Partition,
) -> (AstrocyteScaling, u64) {
    let mut scaling = AstrocyteScaling {
        per_neuron: vec![1.0; n_neurons],
        ..Default::default()
    };
    let mut id = 0u32;
    for (r, (_, sc)) in replicas.iter().enumerate() {
        for a in &sc.astrocytes {
            let g = neurons.find(r as u32, &a.covers);
            let params = scaling.params.len() as u32;
            scaling.names.push((a.name.clone(), r as u32));
            scaling.params.push(a.params.clone());
            let mut first = g.first;
            while first < g.first + g.spec.size {
                let n = a.neurons_per_astrocyte.min(g.first + g.spec.size - first);
                let fresh = AstrocyteUnit {
                    id,
                    first_neuron: first,
                    n_neurons: n,
                    params,
                    activity_hz: a.params.initial_activity_hz.unwrap_or(a.params.goal_hz),
                    error_integral_hz_s: 0.0,
                    scale: 1.0,
                    spikes_in_window: 0,
                };
                // A checkpoint gives the state; the layout (id, domain, parameters) is the
                // scene's, whatever the checkpoint says of it. The spikes of the open window
                // go to rank 0 alone: the ranks sum their counts at the window's end.
                let window = |n: u32| if part.rank == 0 { n } else { 0 };
                let unit = match state {
                    Some(s) => {
                        let saved = &s.astrocytes[id as usize];
                        AstrocyteUnit {
                            activity_hz: saved.activity_hz,
                            error_integral_hz_s: saved.error_integral_hz_s,
                            scale: saved.scale,
                            spikes_in_window: window(saved.spikes_in_window),
                            ..fresh
                        }
                    }
                    None => fresh,
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
/// Gives the synapses of every registered stage's groups its component (restored from the
/// checkpoint's columns when there is one) and registers the stages in the world.
pub(super) fn spawn_registered(
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
pub(super) fn find_recorded_entities(world: &mut World, recorders: &mut Recorders) {
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

/// Spawns every group's synapses from its source (fresh rows or the checkpoint's), those onto
/// the neurons `part` owns; returns the longest delay in steps a spike must be kept for (axonal
/// plus a linear-Ca delay, or dendritic) and the shortest axonal delay (`u64::MAX` without
/// synapses), both over this rank's synapses.
pub(super) fn spawn_all_synapses(
    world: &mut World,
    groups: &SynapseGroups,
    sources: Vec<RowSource>,
    scene: &Scene,
    recorded: &[u32],
    part: Partition,
) -> (u64, u64) {
    let state = scene.state.as_ref().map(StateRows::of);
    let (mut max_delay, mut min_axonal) = (0u64, u64::MAX);
    for (gi, (g, source)) in groups.0.iter().zip(sources).enumerate() {
        let ca_delay = match &g.spec.ca {
            CaModel::Linear(p) => (p.delay_ms / scene.dt_ms).round() as u64,
            CaModel::Nmda(_) | CaModel::Off => 0,
        };
        let h0 = g.h0_mv() as f32;
        // Sources are reversed: row k is at `len − 1 − k`, which `RowSource::keep` keeps.
        let last = source.len().saturating_sub(1);
        // Fresh pairs are this rank's already (`connect_owned`); a checkpoint's are all.
        let share = match &source {
            RowSource::Fresh { .. } => 1,
            RowSource::State(_) => part.ranks as usize,
        };
        let row = |source: &RowSource, k: usize| match source {
            RowSource::Fresh {
                pairs,
                ids,
                pre_first,
                post_first,
            } => {
                let (i, j) = pairs[last - k];
                let id = ids.get(last - k).map_or(k as u32, |&id| id);
                let syn = (pre_first + i, post_first + j, g.first_id + id);
                Some(fresh_row(g, gi as u16, syn, h0, scene))
            }
            RowSource::State(idx) => {
                let i = idx[last - k];
                let r = state.as_ref().expect("state rows").row(gi as u16, i);
                part.owns(r.synapse.post).then_some(r)
            }
        };
        let mut rows = Rows::new(source, &row);
        rows.share = share;
        let (axonal, dendritic, shortest) = spawn_synapses(world, g, rows, recorded);
        max_delay = max_delay.max(axonal + ca_delay).max(dendritic);
        min_axonal = min_axonal.min(shortest);
    }
    (max_delay, min_axonal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assembly::sim::Simulation;

    /// A component of `cascade!` (src/stages/mod.rs) on one synapse: its field name, whether the
    /// entity has it, whether its group asks for it, and its bytes per entity.
    type Carried = (&'static str, bool, bool, f64);

    /// From `cascade!` (src/stages/mod.rs): [`Carried`] for every component.
    macro_rules! carried {
        ($($stage:ident: [$($how:ident [$($field:ident: $c:ty)|+]),*]);* $(;)?) => {
            fn carried(world: &World, e: Entity, g: &SynapseGroup) -> Vec<Carried> {
                let e = world.entity(e);
                vec![$($($((
                    stringify!($field),
                    e.contains::<$c>(),
                    <$c as SynapseComponent>::in_group(g),
                    estimate::cost::<$c>(),
                ),)+)*)*]
            }
        };
    }
    crate::stages::cascade!(carried);

    /// Every synapse of scenes that between them use every Ca model, rule, event-driven
    /// integration, trafficking and consolidation carries exactly the components its group's
    /// declarations ask for, and `edra check`'s bytes per synapse are theirs.
    #[test]
    fn synapses_carry_the_components_their_groups_declare() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
        let scenes = [
            "population.ron",
            "event_driven.ron",
            "experiments/tag_and_capture.ron",
            "experiments/stdp_window_calcium.ron",
            "experiments/ampa_trafficking.ron",
            "experiments/nmda_coincidence.ron",
            "experiments/lt2021_basic_early.ron",
        ];
        let mut seen = std::collections::BTreeSet::new();
        let mut names = Vec::new();
        for scene in scenes {
            let mut sim = Simulation::load(&root.join(scene)).expect(scene);
            let world = sim.world_mut();
            let mut q = world.query::<(Entity, &Synapse)>();
            let synapses: Vec<(Entity, u16)> = q.iter(world).map(|(e, s)| (e, s.group)).collect();
            let groups = world.resource::<SynapseGroups>();
            for (e, g) in synapses {
                let spec = &groups.0[g as usize].spec;
                let mut bytes = 44.0;
                names.clear();
                for (name, has, wanted, cost) in carried(world, e, spec) {
                    assert_eq!(has, wanted, "{scene}: group {}, {name}", spec.name);
                    names.push(name);
                    if has {
                        seen.insert(name);
                        bytes += cost;
                    }
                }
                assert_eq!(
                    bytes_per_synapse(spec),
                    bytes,
                    "{scene}: group {}",
                    spec.name
                );
            }
        }
        let seen: Vec<&str> = seen.into_iter().collect();
        let mut all = names.clone();
        all.sort_unstable();
        assert_eq!(seen, all, "the scenes use every component");
    }
}

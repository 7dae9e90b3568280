//! Build phase 5, resources: the timeline of every replica and the recorders, with the room
//! they reserve.

use super::*;

pub(super) fn timeline(
    replicas: &[(Vec<f64>, Scene)],
    neurons: &NeuronGroups,
    levels: &RegionLevels,
    dt: f64,
) -> Timeline {
    let steps = |ms: f64| (ms / dt).round().max(0.0) as u64;
    let region = |r: u32, name: &str| levels.index(r, name);
    let neuron =
        |r: u32, n: &crate::scene::timeline::NeuronRef| neurons.find(r, &n.group).first + n.index;
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
pub(super) const RESERVE_MAX: usize = 1 << 24;
pub(super) fn recorders(
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
            units: RecorderRt::units_of(&variable_units(kind, registered), &columns),
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
        // goes (reserving all of it at once could not be allocated for a very long run). A run
        // that streams its recorders replaces this by one chunk before its first step
        // (`Simulation::stream_recorders`); the pages reserved here are never touched.
        let values = (samples as usize).saturating_mul(entities.saturating_mul(width));
        rec.rows.reserve(values.min(RESERVE_MAX));
        out.0.push(rec);
    }
    Ok(out)
}

/// Each neuron's protein pool with its group's parameters (the checkpoint's levels on resume).
pub(super) fn protein_levels(neurons: &NeuronGroups, state: Option<&State>) -> ProteinLevels {
    let params_of_neuron: Vec<u32> = neurons
        .0
        .iter()
        .enumerate()
        .flat_map(|(i, g)| std::iter::repeat_n(i as u32, g.spec.size as usize))
        .collect();
    let pool_params = neurons
        .0
        .iter()
        .map(|g| g.spec.protein_pool.clone())
        .collect();
    let mut proteins = ProteinLevels::new(params_of_neuron, pool_params);
    if let Some(st) = state {
        proteins.restore(&st.neurons.protein);
    }
    proteins
}

/// Applies parameter changes of the timeline again (those a checkpoint's run had made).
pub(super) fn apply_past_changes(world: &mut World, past: &[ParamChange]) -> Result<()> {
    world.resource_scope(|world, mut syn: Mut<SynapseGroups>| {
        world.resource_scope(|world, mut neu: Mut<NeuronGroups>| {
            world.resource_scope(|world, mut lev: Mut<RegionLevels>| {
                let mut ast = world.resource_mut::<AstrocyteScaling>();
                for c in past {
                    crate::stages::timeline::apply_change(
                        c, &mut syn, &mut neu, &mut lev, &mut ast,
                    )
                    .map_err(EdraError::Other)?;
                }
                Ok(())
            })
        })
    })
}

//! Build phase 1, replicas: the scene once per combination of sweep values, and the neuron
//! groups of every replica with their id ranges.

use super::*;

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
pub(super) fn neuron_groups(replicas: &[(Vec<f64>, Scene)]) -> NeuronGroups {
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

/// The dopamine regions of every replica, in order, at rest.
pub(super) fn region_levels(replicas: &[(Vec<f64>, Scene)]) -> RegionLevels {
    let mut levels = RegionLevels::default();
    for (r, (_, sc)) in replicas.iter().enumerate() {
        for reg in &sc.dopamine_regions {
            levels.names.push((reg.name.clone(), r as u32));
            levels.params.push(reg.params.clone());
        }
    }
    let n = levels.params.len();
    levels.pending_release_um = vec![0.0; n];
    levels.dopamine_um = vec![0.0; n];
    levels.third_factor_um = vec![0.0; n];
    levels.sensitivity = vec![1.0; n];
    levels
}

/// The synapse groups of every replica, with what their names resolve to (ids come with the
/// connectivity).
pub(super) fn synapse_groups(
    replicas: &[(Vec<f64>, Scene)],
    neurons: &NeuronGroups,
    levels: &RegionLevels,
) -> Result<SynapseGroups> {
    let mut groups = SynapseGroups::default();
    for (r, (_, sc)) in replicas.iter().enumerate() {
        let r = r as u32;
        for spec in &sc.synapses {
            groups.0.push(SynapseGroupRt {
                spec: spec.clone(),
                replica: r,
                region: spec.region.as_ref().map(|n| levels.index(r, n)),
                sign: if spec.inhibitory { -1.0 } else { 1.0 },
                // Spike sources ignore input: only model neurons take it.
                delivers_input: matches!(
                    neurons.find(r, &spec.post).spec.model,
                    NeuronModel::Lif(_) | NeuronModel::Izhikevich(_)
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
    Ok(groups)
}

/// How many astrocytes the replicas have.
pub(super) fn astrocyte_count(replicas: &[(Vec<f64>, Scene)]) -> u64 {
    replicas
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
        .sum()
}

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

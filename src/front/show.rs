//! `edra show`: one synapse's links and every variable of its components, stage by stage, at the
//! start and at the end of the scene.

use crate::assembly::sim::{Simulation, SynapseSnapshot};
use crate::core::error::{EdraError, Result};
use std::fmt::Write;

/// Runs `sim` to the end of its scene and reports synapse `id`: its links, then one row per
/// variable (stage, component, variable, value at the start and at the end), in cascade order
/// with registered stages' variables under their stage.
pub fn synapse_report(sim: &mut Simulation, id: u32) -> Result<String> {
    let Some((pre, post, group, ad, dd)) = sim.synapse_links(id) else {
        return Err(EdraError::Argument(format!(
            "--synapse {id}: no such synapse, the scene has {} synapses (ids 0..{})",
            sim.info().synapses,
            sim.info().synapses.saturating_sub(1)
        )));
    };
    let before = sim.synapse(id).expect("exists");
    let t0 = sim.t_ms();
    let end = sim.scene().duration_ms;
    sim.run_until(end, &mut |_| {})?;
    let after = sim.synapse(id).expect("exists");
    let dt = sim.clock().dt_ms;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "synapse {id}  group `{group}`  pre neuron {pre} -> post neuron {post}"
    );
    let _ = writeln!(
        out,
        "  delays: axonal {} ms, dendritic {} ms",
        ad as f64 * dt,
        dd as f64 * dt
    );
    let _ = writeln!(
        out,
        "\n{:<16}{:<22}{:<22}{:>14}{:>14}",
        "stage",
        "component",
        "variable",
        format!("t={t0} ms"),
        format!("t={} ms", sim.t_ms())
    );
    for i in by_stage(&before) {
        let (b, a) = (&before[i], &after[i]);
        let f = |v: Option<f32>| v.map_or("—".to_string(), |x| format!("{x:.6}"));
        let _ = writeln!(
            out,
            "{:<16}{:<22}{:<22}{:>14}{:>14}",
            b.1.label(),
            b.2,
            b.0,
            f(b.3),
            f(a.3)
        );
    }
    Ok(out)
}

/// The order of a snapshot's variables by stage (stable within a stage).
pub fn by_stage(s: &SynapseSnapshot) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..s.len()).collect();
    idx.sort_by_key(|&i| s[i].1);
    idx
}

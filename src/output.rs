//! What `edra run` writes: `summary.ron`, `synapses.csv`, `spikes.csv`, one CSV per recorder and
//! `checkpoint.ron`. CSVs have one header line with the unit in each column name and load with
//! `pandas.read_csv` / `numpy.genfromtxt(names=True, delimiter=",")`; a variable a synapse does
//! not have (no NMDA receptor in the linear Ca model, say) is an empty field (NaN in pandas).

use crate::clock::Clock;
use crate::error::{EdraError, Result};
use crate::record::{Recorders, SYNAPSE_VARIABLES, SynapseData};
use crate::sim::Simulation;
use crate::stages::plasticity::event_stdp::CaughtUp;
use crate::world::{Replicas, SynapseGroups};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// `summary.ron`: what ran and how fast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub scene: String,
    pub edra_version: String,
    pub seed: u64,
    pub dt_ms: f64,
    pub start_ms: f64,
    pub simulated_ms: f64,
    pub steps: u64,
    pub neurons: u64,
    pub synapses: u64,
    pub dopamine_regions: u64,
    pub astrocytes: u64,
    pub replicas: u64,
    pub spikes: u64,
    pub threads: usize,
    pub wall_s: f64,
    pub synapse_steps_per_s: f64,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> EdraError + '_ {
    move |source| EdraError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).map_err(io_err(path))?))
}

/// Writes `summary.ron`.
pub fn write_summary(dir: &Path, s: &RunSummary) -> Result<()> {
    let path = dir.join("summary.ron");
    let text = ron::ser::to_string_pretty(s, ron::ser::PrettyConfig::new().struct_names(true))
        .map_err(|e| EdraError::other(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(io_err(&path))
}

fn opt(v: Option<f32>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// Writes `synapses.csv`: one row per synapse in id order with its group, the sweep values of
/// its replica, its links and its final state.
pub fn write_synapses(sim: &mut Simulation, path: &Path) -> Result<()> {
    let world = sim.world_mut();
    let groups = world.resource::<SynapseGroups>().clone();
    let replicas = world.resource::<Replicas>().clone();
    let mut q = world.query::<SynapseData>();
    let now = CaughtUp::of(world, world.resource::<Clock>().step);
    let mut rows: Vec<(u32, String)> = q
        .iter(world)
        .map(|s| {
            let sy = s.synapse;
            let g = &groups.0[sy.group as usize];
            let mut line = format!("{},{}", sy.id, g.spec.name);
            for v in replicas
                .values
                .get(g.replica as usize)
                .into_iter()
                .flatten()
            {
                line.push_str(&format!(",{v}"));
            }
            line.push_str(&format!(
                ",{},{},{},{}",
                sy.pre, sy.post, sy.axonal_delay_steps, sy.dendritic_delay_steps
            ));
            for v in s.values(&now) {
                line.push(',');
                line.push_str(&opt(v));
            }
            (sy.id, line)
        })
        .collect();
    rows.sort_unstable_by_key(|r| r.0);
    let mut w = create(path)?;
    let mut header = vec!["id".to_string(), "group".to_string()];
    header.extend(replicas.paths.iter().cloned());
    header.extend(["pre", "post", "axonal_delay_steps", "dendritic_delay_steps"].map(String::from));
    header.extend(SYNAPSE_VARIABLES.iter().map(|v| v.name.to_string()));
    let e = io_err(path);
    writeln!(w, "{}", header.join(",")).map_err(&e)?;
    for (_, line) in rows {
        writeln!(w, "{line}").map_err(&e)?;
    }
    w.flush().map_err(e)
}

/// Writes one CSV per recorder into `dir`.
pub fn write_recorders(sim: &Simulation, dir: &Path) -> Result<()> {
    for r in &sim.world().resource::<Recorders>().0 {
        let path = dir.join(format!("{}.csv", r.name));
        let mut w = create(&path)?;
        let e = io_err(&path);
        let header = r.header();
        writeln!(w, "{}", header.join(",")).map_err(&e)?;
        for row in r.rows.chunks(header.len()) {
            write!(w, "{},{}", row[0], row[1] as u64).map_err(&e)?;
            for v in &row[2..] {
                if v.is_nan() {
                    write!(w, ",").map_err(&e)?;
                } else {
                    write!(w, ",{}", *v as f32).map_err(&e)?;
                }
            }
            writeln!(w).map_err(&e)?;
        }
        w.flush().map_err(e)?;
    }
    Ok(())
}

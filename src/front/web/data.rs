//! What the pages show, read off a [`Simulation`] or a run's files: the population, one
//! synapse's variables, and recorded traces.

use crate::assembly::record::{RecordKind, RecorderRt, SynapseData};
use crate::assembly::sim::{Simulation, SynapseSnapshot};
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::stages::SYNAPSE_VARIABLE_COUNT;
use crate::stages::groups::SynapseGroups;
use crate::stages::plasticity::event_stdp::CaughtUp;
use serde::Serialize;
use std::path::Path;

/// The unit of a variable, read off the suffix of its column name (`ca_um` → µM). Variables
/// without a unit suffix are dimensionless (`1`), receptor pools are counts.
pub fn unit_of(name: &str) -> &'static str {
    const SUFFIXES: [(&str, &str); 7] = [
        ("_hz_s", "Hz·s"),
        ("_mm", "mM"),
        ("_mv", "mV"),
        ("_um", "µM"),
        ("_hz", "Hz"),
        ("_ms", "ms"),
        ("_s", "s"),
    ];
    if name.ends_with("_receptors") {
        return "receptors";
    }
    if name == "tagged" {
        return "0/1";
    }
    SUFFIXES
        .iter()
        .find(|(s, _)| name.ends_with(s))
        .map_or("1", |(_, u)| u)
}

/// One synapse group as it runs (one per replica in a sweep).
#[derive(Clone, Debug, Serialize)]
pub struct GroupView {
    pub name: String,
    pub replica: u32,
    pub pre: String,
    pub post: String,
    pub first_id: u32,
    pub count: u32,
}

/// The population at one moment: counts, groups and every synapse's total weight.
#[derive(Clone, Debug, Serialize)]
pub struct Population {
    pub scene: String,
    pub t_ms: f64,
    pub dt_ms: f64,
    pub neurons: u64,
    pub synapses: u64,
    pub regions: u64,
    pub astrocytes: u64,
    pub replicas: u64,
    pub groups: Vec<GroupView>,
    /// `w_mv` of every synapse, indexed by id.
    #[serde(skip)]
    pub weights: Vec<f64>,
}

impl Population {
    pub fn of(sim: &mut Simulation) -> Population {
        let info = sim.info().clone();
        let (t_ms, dt_ms) = (sim.t_ms(), sim.clock().dt_ms);
        let scene = sim.scene().name.clone();
        let world = sim.world_mut();
        let groups = world
            .resource::<SynapseGroups>()
            .0
            .iter()
            .map(|g| GroupView {
                name: g.spec.name.clone(),
                replica: g.replica,
                pre: g.spec.pre.clone(),
                post: g.spec.post.clone(),
                first_id: g.first_id,
                count: g.count,
            })
            .collect();
        let mut weights = vec![f64::NAN; info.synapses as usize];
        let mut q = world.query::<SynapseData>();
        let now = CaughtUp::of(world, world.resource::<Clock>().step);
        for s in q.iter(world) {
            if let Some(w) = weights.get_mut(s.synapse.id as usize) {
                *w = s.weight_now(&now).w_mv as f64;
            }
        }
        Population {
            scene,
            t_ms,
            dt_ms,
            neurons: info.neurons,
            synapses: info.synapses,
            regions: info.regions,
            astrocytes: info.astrocytes,
            replicas: info.replicas,
            groups,
            weights,
        }
    }

    /// Mean total weight of a group's synapses, mV (NaN for an empty group).
    pub fn mean_weight(&self, g: &GroupView) -> f64 {
        let r = g.first_id as usize..(g.first_id + g.count) as usize;
        let w = self.weights.get(r).unwrap_or(&[]);
        w.iter().sum::<f64>() / w.len() as f64
    }
}

/// One synapse at one moment: its links and every variable in cascade order.
#[derive(Clone, Debug)]
pub struct SynapseView {
    pub id: u32,
    pub group: String,
    pub replica: u32,
    pub pre: u32,
    pub post: u32,
    pub axonal_delay_ms: f64,
    pub dendritic_delay_ms: f64,
    /// Dense index of its dopamine region, if it has one.
    pub region: Option<u32>,
    pub t_ms: f64,
    /// (name, stage, component, value), as [`Simulation::synapse`].
    pub values: SynapseSnapshot,
}

impl SynapseView {
    /// Synapse `id` of `sim`, or `None` if there is no such synapse.
    pub fn of(sim: &mut Simulation, id: u32) -> Option<SynapseView> {
        let values = sim.synapse(id)?;
        let (t_ms, dt) = (sim.t_ms(), sim.clock().dt_ms);
        let world = sim.world_mut();
        let mut q = world.query::<&crate::core::synapse::Synapse>();
        let s = *q.iter(world).find(|s| s.id == id)?;
        let g = world.resource::<SynapseGroups>().0.get(s.group as usize)?;
        Some(SynapseView {
            id,
            group: g.spec.name.clone(),
            replica: g.replica,
            pre: s.pre,
            post: s.post,
            axonal_delay_ms: s.axonal_delay_steps as f64 * dt,
            dendritic_delay_ms: s.dendritic_delay_steps as f64 * dt,
            region: g.region,
            t_ms,
            values,
        })
    }

    /// The value of variable `name` (`None` if the synapse lacks it).
    pub fn value(&self, name: &str) -> Option<f32> {
        self.values.iter().find(|v| v.0 == name).and_then(|v| v.3)
    }

    /// The variables in cascade-stage order (stable within a stage).
    pub fn by_stage(&self) -> Vec<usize> {
        crate::front::show::by_stage(&self.values)
    }
}

/// Every variable of every synapse, indexed by id (to diff a whole population cheaply).
pub fn all_values(sim: &mut Simulation) -> Vec<[Option<f32>; SYNAPSE_VARIABLE_COUNT]> {
    let n = sim.info().synapses as usize;
    let mut out = vec![[None; SYNAPSE_VARIABLE_COUNT]; n];
    let world = sim.world_mut();
    let mut q = world.query::<SynapseData>();
    let now = CaughtUp::of(world, world.resource::<Clock>().step);
    for s in q.iter(world) {
        if let Some(o) = out.get_mut(s.synapse.id as usize) {
            *o = s.values(&now);
        }
    }
    out
}

/// A recorder's samples: `t_ms`, the entity id column, then one column per variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub recorder: String,
    /// `synapse`, `neuron`, `region` or `astrocyte`.
    pub id_column: String,
    /// The recorded variables (without `t_ms` and the id column).
    pub columns: Vec<String>,
    /// One row per sample: t_ms, id, then the columns; NaN where empty.
    pub rows: Vec<Vec<f64>>,
}

impl Trace {
    /// Reads a recorder CSV written by `edra run`. Errors name the file and line.
    pub fn from_csv(recorder: &str, path: &Path) -> Result<Trace> {
        let text = std::fs::read_to_string(path).map_err(|source| EdraError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(recorder, &path.display().to_string(), &text)
    }

    /// Reads a recorder's `.parquet` written by `edra run --format parquet`: the same trace as
    /// [`Trace::from_csv`] of the CSV of the same run (each f32 value taken as the number its
    /// CSV text is, nulls as NaN). Errors name the file.
    pub fn from_parquet(recorder: &str, path: &Path) -> Result<Trace> {
        let (header, rows) = parquet_rows(path)?;
        if header.len() < 2 || header[0] != "t_ms" {
            return Err(EdraError::other(format!(
                "{}: expected columns `t_ms,<entity>,...`, found `{}`",
                path.display(),
                header.join(",")
            )));
        }
        Ok(Trace {
            recorder: recorder.to_string(),
            id_column: header[1].clone(),
            columns: header[2..].to_vec(),
            rows,
        })
    }

    /// The trace of recorder `name` in run folder `dir`: `<name>.parquet` or `<name>.csv`,
    /// whichever exists (the Parquet file if both do); `None` if neither.
    pub fn from_run_folder(name: &str, dir: &Path) -> Result<Option<Trace>> {
        let Some(path) = crate::assembly::output::table_path(dir, name) else {
            return Ok(None);
        };
        match path.extension().is_some_and(|e| e == "parquet") {
            true => Self::from_parquet(name, &path).map(Some),
            false => Self::from_csv(name, &path).map(Some),
        }
    }

    /// Parses recorder CSV text; `file` labels errors.
    pub fn parse(recorder: &str, file: &str, text: &str) -> Result<Trace> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        if header.len() < 2 || header[0] != "t_ms" {
            return Err(EdraError::other(format!(
                "{file}:1: expected a header `t_ms,<entity>,...`, found `{}`",
                header.join(",")
            )));
        }
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
            let row: std::result::Result<Vec<f64>, String> = line
                .split(',')
                .enumerate()
                .map(|(k, f)| {
                    if f.is_empty() {
                        Ok(f64::NAN)
                    } else {
                        f.parse::<f64>().map_err(|_| {
                            let col = header.get(k).copied().unwrap_or("?");
                            format!("{file}:{}: column `{col}`: `{f}` is not a number", i + 2)
                        })
                    }
                })
                .collect();
            let row = row.map_err(EdraError::other)?;
            if row.len() != header.len() {
                return Err(EdraError::other(format!(
                    "{file}:{}: {} fields, the header has {}",
                    i + 2,
                    row.len(),
                    header.len()
                )));
            }
            rows.push(row);
        }
        Ok(Trace {
            recorder: recorder.to_string(),
            id_column: header[1].to_string(),
            columns: header[2..].iter().map(|s| s.to_string()).collect(),
            rows,
        })
    }

    /// The samples a live recorder holds so far.
    pub fn from_recorder(r: &RecorderRt) -> Trace {
        let header = r.header();
        let rows = r
            .rows
            .chunks(header.len())
            .map(|c| c.to_vec())
            .collect::<Vec<_>>();
        Trace {
            recorder: r.name.clone(),
            id_column: header[1].to_string(),
            columns: header[2..].iter().map(|s| s.to_string()).collect(),
            rows,
        }
    }

    pub fn kind(&self) -> Option<RecordKind> {
        Some(match self.id_column.as_str() {
            "synapse" => RecordKind::Synapses,
            "neuron" => RecordKind::Neurons,
            "region" => RecordKind::Regions,
            "astrocyte" => RecordKind::Astrocytes,
            _ => return None,
        })
    }

    /// Whether entity `id` was sampled.
    pub fn has(&self, id: u32) -> bool {
        self.rows.iter().any(|r| r[1] == id as f64)
    }

    /// The ids sampled, ascending.
    pub fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.rows.iter().map(|r| r[1] as u32).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// (t_ms, value) of `column` for entity `id`; `None` if the column was not recorded or has
    /// no finite value for that entity.
    pub fn series(&self, id: u32, column: &str) -> Option<Vec<(f64, f64)>> {
        let k = self.columns.iter().position(|c| c == column)? + 2;
        let pts: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter(|r| r[1] == id as f64)
            .map(|r| (r[0], r[k]))
            .collect();
        pts.iter().any(|p| p.1.is_finite()).then_some(pts)
    }
}

/// The column names and the rows of a Parquet table that `edra run --format parquet` wrote
/// (spikes or a recorder), every value as f64 (`column_as_f64`). Errors name the file.
pub fn parquet_rows(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    use arrow_array::RecordBatchReader;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |e: &dyn std::fmt::Display| EdraError::other(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|source| EdraError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| bad(&e))?;
    let schema = reader.schema();
    let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let cols: Vec<Vec<f64>> = (batch.columns().iter())
            .zip(&header)
            .map(|(c, name)| {
                column_as_f64(c.as_ref())
                    .ok_or_else(|| bad(&format!("column `{name}`: not a number column")))
            })
            .collect::<Result<_>>()?;
        rows.extend((0..batch.num_rows()).map(|i| cols.iter().map(|c| c[i]).collect()));
    }
    Ok((header, rows))
}

/// A column of a recorder's Parquet file as f64: `t_ms` as it is, ids widened, each f32 value
/// as the number its shortest text is (what the CSV prints and [`Trace::parse`] reads), nulls as
/// NaN; `None` for a column of another type.
fn column_as_f64(c: &dyn arrow_array::Array) -> Option<Vec<f64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, UInt32Type};
    let f32_as_text =
        |v: Option<f32>| v.map_or(f64::NAN, |x| x.to_string().parse().unwrap_or(f64::NAN));
    Some(match c.data_type() {
        arrow_schema::DataType::Float64 => c
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect(),
        arrow_schema::DataType::UInt32 => c
            .as_primitive::<UInt32Type>()
            .iter()
            .map(|v| v.map_or(f64::NAN, f64::from))
            .collect(),
        arrow_schema::DataType::Float32 => c
            .as_primitive::<Float32Type>()
            .iter()
            .map(f32_as_text)
            .collect(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_come_from_names() {
        assert_eq!(unit_of("ca_um"), "µM");
        assert_eq!(unit_of("glutamate_mm"), "mM");
        assert_eq!(unit_of("h_mv"), "mV");
        assert_eq!(unit_of("error_integral_hz_s"), "Hz·s");
        assert_eq!(unit_of("psd_receptors"), "receptors");
        assert_eq!(unit_of("z"), "1");
    }

    #[test]
    fn recorder_csv_round_trip_and_errors_name_the_place() {
        let t = Trace::parse(
            "r",
            "r.csv",
            "t_ms,synapse,ca_um,z\n0.5,3,0.1,\n1,3,0.2,0.5\n",
        )
        .expect("valid");
        assert_eq!(t.id_column, "synapse");
        assert_eq!(t.ids(), vec![3]);
        assert_eq!(t.series(3, "ca_um"), Some(vec![(0.5, 0.1), (1.0, 0.2)]));
        assert!(t.series(4, "ca_um").is_none());
        assert!(t.series(3, "nope").is_none());
        let e = Trace::parse("r", "r.csv", "t_ms,synapse,ca_um\n0.5,3,x\n").unwrap_err();
        assert!(e.to_string().contains("r.csv:2: column `ca_um`"), "{e}");
        let e = Trace::parse("r", "r.csv", "a,b\n").unwrap_err();
        assert!(e.to_string().contains("r.csv:1"), "{e}");
        let e = Trace::parse("r", "r.csv", "t_ms,synapse,ca_um\n1,2\n").unwrap_err();
        assert!(e.to_string().contains("r.csv:2: 2 fields"), "{e}");
    }
}

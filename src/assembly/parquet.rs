//! Parquet outputs (`edra run --format parquet`): `synapses.parquet`, `spikes.parquet` and one
//! `<name>.parquet` per recorder, with the columns of the CSVs ([`crate::assembly::output`]) under
//! the same names.
//!
//! Types are the natural ones: ids `u32`, `t_ms` and sweep values `f64` (the CSV prints the f64),
//! delays in steps `u16`, group names UTF-8, and variables `f32` (the CSV prints each as its f32),
//! so a value read back parses equal to the CSV text. A variable a synapse does not have (the
//! CSV's empty field) is a null. Every column of a quantity carries its unit in the Arrow field
//! metadata under [`UNIT_KEY`] (`1` for dimensionless); id and name columns carry none. The run
//! summary ([`RunSummary`]) is in the file's key-value metadata under [`SUMMARY_KEY`], as JSON.
//!
//! Files are written one row group at a time ([`ParquetFile::write_row_group`]): a recorder's
//! chunk when it flushes, [`SPIKE_ROWS`] spikes, [`SYNAPSE_ROWS`] synapses, so memory stays
//! bounded; compression is Snappy.

use crate::assembly::output::{RunSummary, synapse_rows, synapse_variable_names};
use crate::assembly::record::{RecordKind, RecorderRt};
use crate::assembly::sim::Simulation;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Registered;
use crate::engine::spikes::SpikeHistory;
use crate::scene::recorders::variable_units;
use crate::stages::groups::{Replicas, SynapseGroups};
use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::Compression;
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::WriterProperties;
use arrow_array::{
    ArrayRef, Float32Array, Float64Array, RecordBatch, StringArray, UInt16Array, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Arrow field metadata key of a column's unit.
pub const UNIT_KEY: &str = "unit";

/// The file key-value metadata key of the run summary (JSON of [`RunSummary`]).
pub const SUMMARY_KEY: &str = "edra.summary";

/// Spikes held before they are written as one row group of `spikes.parquet` (12 bytes each:
/// 3 MiB).
pub const SPIKE_ROWS: usize = 1 << 18;

/// Synapses per row group of `synapses.parquet`.
pub const SYNAPSE_ROWS: usize = 1 << 20;

/// A column: its name, type, whether it may be null, and its unit (`None`: an id or a name).
pub fn field(name: &str, ty: DataType, nullable: bool, unit: Option<&str>) -> Field {
    let f = Field::new(name, ty, nullable);
    match unit {
        Some(u) => f.with_metadata(HashMap::from([(UNIT_KEY.into(), u.into())])),
        None => f,
    }
}

/// `e` as the [`EdraError::Output`] of `path`.
fn out_err(path: &Path, e: impl std::fmt::Display) -> EdraError {
    EdraError::Output {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A Parquet file being written, one row group per [`ParquetFile::write_row_group`].
pub struct ParquetFile {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    path: PathBuf,
}

impl ParquetFile {
    /// Creates `path` with the columns `fields` (Snappy-compressed).
    pub fn create(path: &Path, fields: Vec<Field>) -> Result<ParquetFile> {
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| out_err(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| out_err(path, e))?;
        Ok(ParquetFile {
            writer,
            schema,
            path: path.to_path_buf(),
        })
    }

    /// Writes `columns` (one array per field, of equal lengths) as a row group; nothing if they
    /// are empty.
    pub fn write_row_group(&mut self, columns: Vec<ArrayRef>) -> Result<()> {
        if columns.first().is_none_or(|c| c.is_empty()) {
            return Ok(());
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| out_err(&self.path, e))?;
        self.writer
            .write(&batch)
            .and_then(|()| self.writer.flush())
            .map_err(|e| out_err(&self.path, e))
    }

    /// Adds `summary` (if any) to the file's metadata and writes the footer.
    pub fn finish(mut self, summary: Option<&RunSummary>) -> Result<()> {
        if let Some(s) = summary {
            let json = serde_json::to_string(s).map_err(|e| out_err(&self.path, e))?;
            self.writer
                .append_key_value_metadata(KeyValue::new(SUMMARY_KEY.into(), json));
        }
        self.writer.close().map_err(|e| out_err(&self.path, e))?;
        Ok(())
    }
}

/// Column `k` of `rows` (rows of `width` values) as f64.
fn f64_column(rows: &[f64], width: usize, k: usize) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(
        rows.chunks(width).map(|r| r[k]),
    ))
}

/// Column `k` of `rows` as u32 ids.
fn id_column(rows: &[f64], width: usize, k: usize) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(
        rows.chunks(width).map(|r| r[k] as u32),
    ))
}

/// Column `k` of `rows` as the f32 values they were sampled as; NaN (not had) as null.
fn value_column(rows: &[f64], width: usize, k: usize) -> ArrayRef {
    Arc::new(Float32Array::from_iter(
        rows.chunks(width)
            .map(|r| (!r[k].is_nan()).then_some(r[k] as f32)),
    ))
}

/// The columns of recorder `r`: `t_ms` (f64, ms), the id (u32), its variables (f32, nullable).
pub fn recorder_fields(r: &RecorderRt) -> Vec<Field> {
    let (h, u) = (&r.header, &r.units);
    let mut f = vec![
        field(h[0], DataType::Float64, false, Some(u[0])),
        field(h[1], DataType::UInt32, false, None),
    ];
    f.extend((2..h.len()).map(|k| field(h[k], DataType::Float32, true, Some(u[k]))));
    f
}

/// A recorder's `.parquet` file while it streams: each [`RecorderParquet::append`] is a row
/// group.
pub struct RecorderParquet {
    file: ParquetFile,
    width: usize,
}

impl RecorderParquet {
    /// Creates `path` with the columns of `r`.
    pub fn create(path: &Path, r: &RecorderRt) -> Result<RecorderParquet> {
        Ok(RecorderParquet {
            file: ParquetFile::create(path, recorder_fields(r))?,
            width: r.header.len(),
        })
    }

    /// Writes `rows` (the recorder's buffer: t_ms, id, values per row) as one row group.
    pub fn append(&mut self, rows: &[f64]) -> Result<()> {
        let w = self.width;
        let mut cols = vec![f64_column(rows, w, 0), id_column(rows, w, 1)];
        cols.extend((2..w).map(|k| value_column(rows, w, k)));
        self.file.write_row_group(cols)
    }

    /// Writes the footer, with `summary` in the file's metadata.
    pub fn finish(self, summary: Option<&RunSummary>) -> Result<()> {
        self.file.finish(summary)
    }
}

/// `spikes.parquet` while a run goes on: `t_ms` (f64, ms) and `neuron` (u32), gathered in
/// buffers of [`SPIKE_ROWS`] reserved once and written as a row group whenever full.
pub struct SpikeParquet {
    file: ParquetFile,
    t_ms: Vec<f64>,
    neuron: Vec<u32>,
}

impl SpikeParquet {
    /// Creates `path`; its buffers hold `rows` spikes (at least 1).
    pub fn create(path: &Path, rows: usize) -> Result<SpikeParquet> {
        let fields = vec![
            field("t_ms", DataType::Float64, false, Some("ms")),
            field("neuron", DataType::UInt32, false, None),
        ];
        Ok(SpikeParquet {
            file: ParquetFile::create(path, fields)?,
            t_ms: Vec::with_capacity(rows.max(1)),
            neuron: Vec::with_capacity(rows.max(1)),
        })
    }

    /// Adds the spikes of the step `sim` just completed (the rows of
    /// [`Simulation::write_spikes_of_last_step`]); returns how many. Allocates nothing unless
    /// a buffer fills and is written out.
    pub fn push_last_step(&mut self, sim: &Simulation) -> Result<u64> {
        match sim.clock().step {
            0 => Ok(0),
            step => self.push_step(sim, step - 1),
        }
    }

    /// Adds the spikes of step `step` (held by the spike history).
    pub fn push_step(&mut self, sim: &Simulation, step: u64) -> Result<u64> {
        let t = step as f64 * sim.clock().dt_ms;
        let mut n = 0;
        for id in sim.world().resource::<SpikeHistory>().fired_on(step) {
            self.t_ms.push(t);
            self.neuron.push(id);
            n += 1;
            if self.t_ms.len() == self.t_ms.capacity() {
                self.flush()?;
            }
        }
        Ok(n)
    }

    /// Writes the buffered spikes as a row group and empties the buffers (capacity kept).
    fn flush(&mut self) -> Result<()> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from_iter_values(self.t_ms.iter().copied())),
            Arc::new(UInt32Array::from_iter_values(self.neuron.iter().copied())),
        ];
        self.t_ms.clear();
        self.neuron.clear();
        self.file.write_row_group(cols)
    }

    /// Writes the rest and the footer, with `summary` in the file's metadata.
    pub fn finish(mut self, summary: Option<&RunSummary>) -> Result<()> {
        self.flush()?;
        self.file.finish(summary)
    }
}

/// Writes `synapses.parquet` to `path`: the columns of `synapses.csv` (id, group, the sweep
/// values of its replica, pre, post, delays in steps, every variable), [`SYNAPSE_ROWS`] per row
/// group, with `summary` in the file's metadata.
pub fn write_synapses(
    sim: &mut Simulation,
    path: &Path,
    summary: Option<&RunSummary>,
) -> Result<()> {
    let rows = synapse_rows(sim);
    let names = synapse_variable_names(sim);
    let world = sim.world();
    let units = variable_units(RecordKind::Synapses, &world.resource::<Registered>().stages);
    let groups = world.resource::<SynapseGroups>();
    let replicas = world.resource::<Replicas>();
    let steps = Some("steps");
    let mut fields = vec![
        field("id", DataType::UInt32, false, None),
        field("group", DataType::Utf8, false, None),
    ];
    // A sweep's values: parameters, whose units their paths' last names carry.
    fields.extend((replicas.paths.iter()).map(|p| field(p, DataType::Float64, true, None)));
    fields.extend([
        field("pre", DataType::UInt32, false, None),
        field("post", DataType::UInt32, false, None),
        field("axonal_delay_steps", DataType::UInt16, false, steps),
        field("dendritic_delay_steps", DataType::UInt16, false, steps),
    ]);
    fields.extend(
        (names.iter().zip(&units)).map(|(n, u)| field(n, DataType::Float32, true, Some(u))),
    );
    let mut file = ParquetFile::create(path, fields)?;
    for chunk in rows.chunks(SYNAPSE_ROWS) {
        let group = |r: &crate::assembly::output::SynapseRow| &groups.0[r.group as usize];
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|r| r.id))),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|r| group(r).spec.name.as_str()),
            )),
        ];
        for k in 0..replicas.paths.len() {
            cols.push(Arc::new(Float64Array::from_iter(chunk.iter().map(|r| {
                let replica = group(r).replica as usize;
                replicas.values.get(replica).and_then(|v| v.get(k)).copied()
            }))));
        }
        cols.extend([
            Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|r| r.pre))) as ArrayRef,
            Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|r| r.post))),
            Arc::new(UInt16Array::from_iter_values(
                chunk.iter().map(|r| r.axonal_delay_steps),
            )),
            Arc::new(UInt16Array::from_iter_values(
                chunk.iter().map(|r| r.dendritic_delay_steps),
            )),
        ]);
        for k in 0..names.len() {
            cols.push(Arc::new(Float32Array::from_iter(
                chunk.iter().map(|r| r.values[k]),
            )));
        }
        file.write_row_group(cols)?;
    }
    file.finish(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt32Type};

    /// The spikes of 200 steps of the population scene through buffers of 64 rows: the
    /// buffers never grow, every full buffer is a row group, and the file holds the rows
    /// [`Simulation::write_spikes_of_last_step`] prints, value for value, with the summary.
    #[test]
    fn spikes_go_out_in_row_groups_of_the_buffer_and_print_as_the_csv() {
        let dir = std::env::temp_dir().join(format!("edra-parquet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spikes.parquet");
        let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/population.ron");
        let mut sim = Simulation::load(&scene).unwrap();
        let mut spikes = SpikeParquet::create(&path, 64).unwrap();
        let mut csv = Vec::new();
        for _ in 0..200 {
            sim.step().unwrap();
            sim.write_spikes_of_last_step(&mut csv).unwrap();
            spikes.push_last_step(&sim).unwrap();
            assert_eq!((spikes.t_ms.capacity(), spikes.neuron.capacity()), (64, 64));
        }
        let summary = RunSummary {
            scene: "single_synapse".into(),
            edra_version: "test".into(),
            seed: 1,
            dt_ms: 0.1,
            start_ms: 0.0,
            simulated_ms: 300.0,
            steps: 3000,
            neurons: 2,
            synapses: 1,
            dopamine_regions: 0,
            astrocytes: 0,
            replicas: 1,
            spikes: 0,
            threads: 1,
            wall_s: 0.5,
            synapse_steps_per_s: 6000.0,
            ranks: 2,
            exchange_calls: 10,
            exchange_s: 0.01,
            exchange_bytes: 400,
        };
        spikes.finish(Some(&summary)).unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let meta = b.metadata().clone();
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert!(groups.len() > 5, "{groups:?}");
        assert!(groups.iter().all(|&n| (1..=64).contains(&n)), "{groups:?}");
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        let json = kv.iter().find(|k| k.key == SUMMARY_KEY).unwrap();
        let back: RunSummary = serde_json::from_str(json.value.as_deref().unwrap()).unwrap();
        assert_eq!(back, summary);
        let mut text = String::new();
        for batch in b.build().unwrap() {
            let batch = batch.unwrap();
            let t = batch.column(0).as_primitive::<Float64Type>();
            let n = batch.column(1).as_primitive::<UInt32Type>();
            for i in 0..batch.num_rows() {
                text += &format!("{},{}\n", t.value(i), n.value(i));
            }
        }
        assert_eq!(text, String::from_utf8(csv).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Writing [`NwbContent`] as an NWB 2.x HDF5 file (hdf5-metno on the system's HDF5).
//!
//! The layout is the one pynwb writes (checked against a file it wrote): every typed group
//! and dataset carries `namespace`, `neurodata_type` and a UUID4 `object_id`; strings are
//! variable-length UTF-8. The schema is not cached in the file (`/specifications`): a reader
//! validates against its own copy of the core namespace (`pynwb-validate` says so and finds no
//! errors).

use super::content::{NwbContent, Series, UnitsTable, uuid4};
use h5::types::VarLenUnicode;
use h5::{Group, Location, ObjectReference1};
use hdf5_metno as h5;
use std::path::Path;
use std::str::FromStr;

/// The NWB schema version written: the one pynwb 4.2 writes.
pub const NWB_VERSION: &str = "2.11.0";

/// Writes `c` to a new HDF5 file at `path` (replacing any file there).
pub fn write_file(c: &NwbContent, path: &Path) -> h5::Result<()> {
    let file = h5::File::create(path)?;
    typed(&file, "core", "NWBFile")?;
    text_attr(&file, "nwb_version", NWB_VERSION)?;
    text_dataset(&file, "identifier", &c.identifier)?;
    text_dataset(&file, "session_description", &c.session_description)?;
    text_dataset(&file, "session_start_time", &c.session_start_time)?;
    text_dataset(&file, "timestamps_reference_time", &c.session_start_time)?;
    let dates = [text(&c.file_create_date)?];
    file.new_dataset_builder()
        .with_data(&dates[..])
        .create("file_create_date")?;
    for g in [
        "analysis",
        "processing",
        "stimulus",
        "stimulus/presentation",
    ] {
        file.create_group(g)?;
    }
    file.create_group("stimulus/templates")?;
    let general = file.create_group("general")?;
    text_dataset(&general, "notes", &c.notes)?;
    write_units(&file, &c.units)?;
    let acquisition = file.create_group("acquisition")?;
    for s in &c.series {
        write_series(&acquisition, s)?;
    }
    file.close()
}

/// `/units`: a `Units` table with the one column `spike_times` (ragged, through its index).
fn write_units(file: &Group, u: &UnitsTable) -> h5::Result<()> {
    let units = file.create_group("units")?;
    typed(&units, "core", "Units")?;
    text_attr(
        &units,
        "description",
        "spikes of every neuron of the run; id = neuron id",
    )?;
    let colnames = [text("spike_times")?];
    units
        .new_attr_builder()
        .with_data(&colnames[..])
        .create("colnames")?;
    let ids: Vec<i64> = (0..u.index.len() as i64).collect();
    let id = units
        .new_dataset_builder()
        .with_data(&ids[..])
        .create("id")?;
    typed(&id, "hdmf-common", "ElementIdentifiers")?;
    let times = units
        .new_dataset_builder()
        .with_data(&u.spike_times_s[..])
        .create("spike_times")?;
    typed(&times, "hdmf-common", "VectorData")?;
    text_attr(
        &times,
        "description",
        "the spike times for each unit in seconds",
    )?;
    let index = units
        .new_dataset_builder()
        .with_data(&u.index[..])
        .create("spike_times_index")?;
    typed(&index, "hdmf-common", "VectorIndex")?;
    text_attr(&index, "description", "Index for VectorData 'spike_times'")?;
    let target: ObjectReference1 = units.reference("spike_times")?;
    index
        .new_attr::<ObjectReference1>()
        .shape(())
        .create("target")?
        .write_scalar(&target)
}

/// One `TimeSeries` in `parent`: `data` (samples × entities) and `timestamps` in seconds.
fn write_series(parent: &Group, s: &Series) -> h5::Result<()> {
    let g = parent.create_group(&s.name)?;
    typed(&g, "core", "TimeSeries")?;
    text_attr(&g, "description", &s.description)?;
    text_attr(&g, "comments", &s.comments)?;
    let rows = s.timestamps_s.len();
    let data = g
        .new_dataset::<f32>()
        .shape([rows, s.width])
        .create("data")?;
    if rows * s.width > 0 {
        data.write_raw(&s.data[..])?;
    }
    text_attr(&data, "unit", &s.unit)?;
    f64_attr(&data, "conversion", s.conversion)?;
    f64_attr(&data, "offset", 0.0)?;
    f64_attr(&data, "resolution", -1.0)?;
    let t = g
        .new_dataset_builder()
        .with_data(&s.timestamps_s[..])
        .create("timestamps")?;
    text_attr(&t, "unit", "seconds")?;
    t.new_attr::<i32>()
        .shape(())
        .create("interval")?
        .write_scalar(&1)
}

/// Marks `loc` as an NWB object: its namespace, type and a fresh `object_id`.
fn typed(loc: &Location, namespace: &str, neurodata_type: &str) -> h5::Result<()> {
    text_attr(loc, "namespace", namespace)?;
    text_attr(loc, "neurodata_type", neurodata_type)?;
    text_attr(loc, "object_id", &uuid4())
}

fn text(s: &str) -> h5::Result<VarLenUnicode> {
    VarLenUnicode::from_str(s).map_err(|e| h5::Error::from(format!("{s:?}: {e}")))
}

fn text_attr(loc: &Location, name: &str, value: &str) -> h5::Result<()> {
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&text(value)?)
}

fn f64_attr(loc: &Location, name: &str, value: f64) -> h5::Result<()> {
    loc.new_attr::<f64>()
        .shape(())
        .create(name)?
        .write_scalar(&value)
}

fn text_dataset(g: &Group, name: &str, value: &str) -> h5::Result<()> {
    g.new_dataset::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&text(value)?)
}

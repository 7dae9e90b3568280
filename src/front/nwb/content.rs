//! What an NWB file of a run holds, gathered from the run folder without HDF5: the units table
//! of spikes, one time series per recorded variable, and the file's descriptive texts.

use super::read::{RecorderTable, needed, read_recorder, read_spikes, table_file};
use crate::core::error::{EdraError, Result};
use crate::scene::recorders::{kind_of, variable_names, variable_units};
use crate::scene::{RecordTarget, Recorder, Scene, SceneFile};
use std::path::Path;
use std::time::SystemTime;

/// Everything written into the NWB file.
#[derive(Clone, Debug)]
pub struct NwbContent {
    /// The scene's name: the default file is `RUN_DIR/<name>.nwb`.
    pub scene: String,
    /// A fresh UUID4: this export.
    pub identifier: String,
    pub session_description: String,
    pub notes: String,
    /// When the run was written (the checkpoint's modification time), ISO 8601 in UTC; the
    /// simulation's t = 0 is reckoned from it.
    pub session_start_time: String,
    /// Now, ISO 8601 in UTC.
    pub file_create_date: String,
    pub units: UnitsTable,
    pub series: Vec<Series>,
}

/// The spikes as NWB's `Units` table: unit i is neuron i; its spike times are
/// `spike_times_s[index[i-1]..index[i]]` (from 0 for unit 0).
#[derive(Clone, Debug, PartialEq)]
pub struct UnitsTable {
    pub spike_times_s: Vec<f64>,
    pub index: Vec<u64>,
}

/// One recorded variable of one recorder, as an NWB `TimeSeries`: `data` holds one row per
/// sample and one column per recorded entity (row-major, `width` columns).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// `<recorder>.<variable>` (recorder names have no `.`, so the name is unambiguous).
    pub name: String,
    pub description: String,
    /// Which entity each column is.
    pub comments: String,
    /// NWB's `unit` (SI where edra's unit has an SI form) and `conversion`, the factor that
    /// takes `data` to `unit`.
    pub unit: String,
    pub conversion: f64,
    pub timestamps_s: Vec<f64>,
    pub data: Vec<f32>,
    pub width: usize,
}

/// Reads the run in `dir` (its checkpoint, `checkpoint.ckpt` or `checkpoint.ron`, for the
/// scene; the spikes and the recorders' files, Parquet or CSV) into what its NWB file holds. A
/// missing file is named (exit 2).
pub fn gather(dir: &Path) -> Result<NwbContent> {
    let checkpoint = crate::assembly::checkpoint::in_folder(dir);
    let name = checkpoint.file_name().and_then(|n| n.to_str());
    let checkpoint = needed(dir, name.unwrap_or("checkpoint.ron"))?;
    // Before the (long) scene is parsed: every file named, so a bad folder fails at once.
    let spikes = table_file(dir, "spikes")?;
    let sf = SceneFile::load(&checkpoint)?;
    for r in &sf.scene.recorders {
        table_file(dir, &r.name)?;
    }
    let scene = &sf.scene;
    let n_neurons = crate::assembly::build::estimate(scene).neurons;
    let units = units_table(&read_spikes(dir)?, n_neurons)
        .map_err(|m| EdraError::Argument(format!("{}: {m}", spikes.display())))?;
    let mut series = Vec::new();
    for r in &scene.recorders {
        let table = read_recorder(dir, &r.name)?;
        let path = table_file(dir, &r.name)?;
        let s = recorder_series(r, &table)
            .map_err(|m| EdraError::Argument(format!("{}: {m}", path.display())))?;
        series.extend(s);
    }
    let written = std::fs::metadata(&checkpoint)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now());
    Ok(NwbContent {
        scene: scene.name.clone(),
        identifier: uuid4(),
        session_description: session_description(scene),
        notes: notes(dir),
        session_start_time: iso8601(written),
        file_create_date: iso8601(SystemTime::now()),
        units,
        series,
    })
}

fn session_description(scene: &Scene) -> String {
    let end = scene
        .state
        .as_ref()
        .map_or(0.0, |s| s.step as f64 * scene.dt_ms);
    format!(
        "edra simulation of scene `{}`: seed {}, dt {} ms, simulated to t = {end} ms",
        scene.name, scene.seed, scene.dt_ms
    )
}

fn notes(dir: &Path) -> String {
    format!(
        "Written by edra {} (`edra export nwb`) from the run folder {}. /units: one unit per \
         neuron, id = edra's neuron id, spike times from spikes.csv. /acquisition: one \
         TimeSeries per recorder and variable, named <recorder>.<variable>, one column per \
         recorded entity (listed in its comments), from <recorder>.csv. Times in seconds from \
         the simulation's t = 0.",
        env!("CARGO_PKG_VERSION"),
        dir.display()
    )
}

/// The units table of `spikes` (t in ms, neuron id) for `n_neurons` neurons: every neuron is a
/// unit, those without spikes with none. A spike of a neuron id ≥ `n_neurons` is refused.
pub fn units_table(
    spikes: &[(f64, u32)],
    n_neurons: u64,
) -> std::result::Result<UnitsTable, String> {
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); n_neurons as usize];
    for &(t_ms, id) in spikes {
        let times = per.get_mut(id as usize).ok_or_else(|| {
            format!("a spike of neuron {id}, but the scene has {n_neurons} neurons")
        })?;
        times.push(t_ms / 1000.0);
    }
    let mut index = Vec::with_capacity(per.len());
    let mut spike_times_s = Vec::with_capacity(spikes.len());
    for mut times in per {
        times.sort_by(f64::total_cmp);
        spike_times_s.extend(times);
        index.push(spike_times_s.len() as u64);
    }
    Ok(UnitsTable {
        spike_times_s,
        index,
    })
}

/// One series per variable of recorder `r`, from its samples. Every sample has the same
/// entities in the same order (the recorder's); anything else is refused.
pub fn recorder_series(
    r: &Recorder,
    table: &RecorderTable,
) -> std::result::Result<Vec<Series>, String> {
    let (width, times_ms, ids) = samples(table)?;
    let kind = kind_of(&r.target);
    let registered = crate::stages::registered();
    let (names, units) = (
        variable_names(kind, &registered),
        variable_units(kind, &registered),
    );
    let id_name = table.header[1].as_str();
    let comments = format!(
        "column j is {id_name} {} (edra's ids, as in {}.csv)",
        list(&ids),
        r.name
    );
    let mut series = Vec::new();
    for (j, var) in table.variables().iter().enumerate() {
        let unit = names
            .iter()
            .position(|n| n == var)
            .map_or("?", |i| units[i]);
        let (unit, conversion) = si_unit(unit);
        series.push(Series {
            name: format!("{}.{var}", r.name),
            description: format!(
                "`{var}` of {}, sampled every {} steps by recorder `{}`",
                target_text(&r.target),
                r.every_steps,
                r.name
            ),
            comments: comments.clone(),
            unit,
            conversion,
            timestamps_s: times_ms.iter().map(|t| t / 1000.0).collect(),
            data: table.rows.iter().map(|row| row[2 + j] as f32).collect(),
            width,
        });
    }
    Ok(series)
}

/// The entities per sample, the sample times (ms) and the entities' ids, checked to be the
/// same in every sample.
fn samples(table: &RecorderTable) -> std::result::Result<(usize, Vec<f64>, Vec<u64>), String> {
    let rows = &table.rows;
    let Some(first) = rows.first() else {
        return Ok((0, Vec::new(), Vec::new()));
    };
    let width = rows.iter().take_while(|r| r[0] == first[0]).count();
    let ids: Vec<u64> = rows[..width].iter().map(|r| r[1] as u64).collect();
    if !rows.len().is_multiple_of(width) {
        return Err(format!(
            "{} rows are not whole samples of {width}",
            rows.len()
        ));
    }
    let mut times = Vec::with_capacity(rows.len() / width);
    for (s, sample) in rows.chunks(width).enumerate() {
        let t = sample[0][0];
        let same = sample
            .iter()
            .zip(&ids)
            .all(|(r, &id)| r[0] == t && r[1] as u64 == id);
        if !same {
            return Err(format!(
                "sample {s} (from line {}) does not have the first sample's entities",
                s * width + 2
            ));
        }
        times.push(t);
    }
    Ok((width, times, ids))
}

fn target_text(t: &RecordTarget) -> String {
    match t {
        RecordTarget::Synapses { group, .. } => format!("synapses of group `{group}`"),
        RecordTarget::Neurons { group, .. } => format!("neurons of group `{group}`"),
        RecordTarget::Regions => "every dopamine region".into(),
        RecordTarget::Astrocytes => "every astrocyte".into(),
    }
}

fn list(ids: &[u64]) -> String {
    let v: Vec<String> = ids.iter().map(u64::to_string).collect();
    v.join(", ")
}

/// NWB's unit for one of edra's, and the factor from edra's values to it: SI where there is
/// one (mV → volts, mV/ms → volts/second, µM and mM → mol/L), `dimensionless` for `1` (and
/// `""`), edra's own text otherwise.
pub fn si_unit(unit: &str) -> (String, f64) {
    let (u, c) = match unit {
        "mV" => ("volts", 1e-3),
        "mV/ms" => ("volts/second", 1.0),
        "µM" => ("mol/L", 1e-6),
        "mM" => ("mol/L", 1e-3),
        "Hz·s" => ("Hz*s", 1.0),
        "1" | "" => ("dimensionless", 1.0),
        "?" => ("unknown", 1.0),
        other => (other, 1.0),
    };
    (u.to_string(), c)
}

/// A random (version 4) UUID, as NWB's `object_id`s and identifier are. fastrand's generator
/// is seeded from the process's random hasher state and the clock: unique enough for ids.
pub fn uuid4() -> String {
    let mut x = fastrand::u128(..);
    x = (x & !(0xf << 76)) | (0x4 << 76); // version 4
    x = (x & !(0x3 << 62)) | (0x2 << 62); // variant 10
    let h = format!("{x:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `t` as ISO 8601 in UTC to the second: `2026-12-02T13:50:20+00:00`.
pub fn iso8601(t: SystemTime) -> String {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, secs) = (s.div_euclid(86400), s.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The date of day `z` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_neuron_is_a_unit_and_spikes_are_in_seconds() {
        let u = units_table(&[(11.0, 2), (5.0, 0), (3.0, 2)], 4).unwrap();
        assert_eq!(u.spike_times_s, [0.005, 0.003, 0.011]);
        assert_eq!(u.index, [1, 1, 3, 3]);
        let e = units_table(&[(1.0, 4)], 4).unwrap_err();
        assert!(e.contains("neuron 4") && e.contains("4 neurons"), "{e}");
    }

    fn table(header: &[&str], rows: &[&[f64]]) -> RecorderTable {
        RecorderTable {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: rows.iter().map(|r| r.to_vec()).collect(),
        }
    }

    fn neurons_recorder() -> Recorder {
        Recorder {
            name: "n".into(),
            target: RecordTarget::Neurons {
                group: "exc".into(),
                indices: vec![1, 2],
            },
            variables: vec![],
            every_steps: 1,
        }
    }

    #[test]
    fn a_recorder_becomes_one_series_per_variable() {
        let t = table(
            &["t_ms", "neuron", "v_mv", "protein"],
            &[
                &[1.0, 1.0, -70.0, 0.0],
                &[1.0, 2.0, -65.0, 0.5],
                &[2.0, 1.0, -60.0, 0.25],
                &[2.0, 2.0, -55.0, 0.0],
            ],
        );
        let s = recorder_series(&neurons_recorder(), &t).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "n.v_mv");
        assert_eq!((s[0].unit.as_str(), s[0].conversion), ("volts", 1e-3));
        assert_eq!(s[0].timestamps_s, [0.001, 0.002]);
        assert_eq!(s[0].data, [-70.0, -65.0, -60.0, -55.0]);
        assert_eq!(s[0].width, 2);
        assert!(s[0].comments.contains("neuron 1, 2"), "{}", s[0].comments);
        assert_eq!(s[1].unit, "dimensionless");
    }

    #[test]
    fn samples_with_other_entities_are_refused() {
        let t = table(
            &["t_ms", "neuron", "v_mv"],
            &[
                &[1.0, 1.0, 0.0],
                &[1.0, 2.0, 0.0],
                &[2.0, 1.0, 0.0],
                &[2.0, 3.0, 0.0],
            ],
        );
        let e = recorder_series(&neurons_recorder(), &t).unwrap_err();
        assert!(e.contains("sample 1"), "{e}");
        let t = table(
            &["t_ms", "neuron", "v_mv"],
            &[&[1.0, 1.0, 0.0], &[1.0, 2.0, 0.0], &[2.0, 1.0, 0.0]],
        );
        assert!(recorder_series(&neurons_recorder(), &t).is_err());
        let t = table(&["t_ms", "neuron", "v_mv"], &[]);
        let s = recorder_series(&neurons_recorder(), &t).unwrap();
        assert_eq!((s[0].width, s[0].data.len()), (0, 0));
    }

    #[test]
    fn every_variable_has_a_declared_unit() {
        use crate::scene::recorders::RecordKind::*;
        let registered = crate::stages::registered();
        for kind in [Synapses, Neurons, Regions, Astrocytes] {
            let n = variable_names(kind, &registered).len();
            assert_eq!(variable_units(kind, &registered).len(), n, "{kind:?}");
        }
    }

    #[test]
    fn ids_and_dates_have_their_formats() {
        let u = uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]), "{u}");
        assert_ne!(uuid4(), u);
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_219_420);
        assert_eq!(iso8601(t), "2026-12-02T13:50:20+00:00");
        assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00+00:00");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00+00:00");
    }
}

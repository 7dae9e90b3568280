//! `edra export nwb RUN_DIR`: a run's spikes and recorded traces as an NWB 2.x file
//! (Neurodata Without Borders, HDF5), which pynwb opens and validates.
//!
//! - `/units`: a `Units` table, one unit per neuron of the scene (id = edra's neuron id), its
//!   spike times in seconds (neurons that did not spike have none);
//! - `/acquisition/<recorder>.<variable>`: one `TimeSeries` per recorder and variable, `data`
//!   of one row per sample and one column per recorded entity (the ids are in its
//!   `comments`), in the variable's unit (SI where it has an SI form: `volts` with
//!   `conversion` 0.001 for mV), `timestamps` in seconds. One series per variable, not one per
//!   recorder, because NWB gives a series one unit;
//! - `session_description` and `/general/notes`: the scene, its seed, dt and edra's version.
//!
//! The run folder is read by [`read`] (Parquet or CSV) and gathered by [`content`] without HDF5;
//! only [`write`] needs it, behind the cargo feature `nwb`.

pub mod content;
pub mod read;
#[cfg(feature = "nwb")]
pub mod write;

use crate::core::error::{EdraError, Result};
use std::path::{Path, PathBuf};

/// Why `edra export nwb` is refused by a build without the `nwb` feature, and how to get it.
pub const NOT_BUILT: &str = "this edra was built without NWB export: it needs the HDF5 \
     library (Debian/Ubuntu: `apt-get install libhdf5-dev`), then `cargo build --release \
     --features nwb`";

/// Writes the NWB file of the run in `dir` to `out` (default `dir/<scene name>.nwb`) and
/// returns its path. The file is written as `<out>.partial` and renamed when complete, so a
/// file at `out` is always whole. A folder without the run's files is refused naming the
/// first one missing (exit 2), as is a build without the `nwb` feature ([`NOT_BUILT`]).
pub fn export(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    if !cfg!(feature = "nwb") {
        return Err(EdraError::Argument(NOT_BUILT.into()));
    }
    let c = content::gather(dir)?;
    let out = out.map_or_else(|| dir.join(format!("{}.nwb", c.scene)), Path::to_path_buf);
    crate::assembly::output::write_whole(&out, |partial| write_partial(&c, partial))?;
    Ok(out)
}

/// Writes `c` to `partial`.
#[cfg(feature = "nwb")]
fn write_partial(c: &content::NwbContent, partial: &Path) -> Result<()> {
    write::write_file(c, partial).map_err(|e| EdraError::Output {
        path: partial.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

#[cfg(not(feature = "nwb"))]
fn write_partial(_: &content::NwbContent, _: &Path) -> Result<()> {
    Err(EdraError::Argument(NOT_BUILT.into()))
}

//! What `edra run` writes: `summary.ron`, `synapses.csv`, `spikes.csv`, one CSV per recorder and
//! `checkpoint.ron`. CSVs have one header line with the unit in each column name and load with
//! `pandas.read_csv` / `numpy.genfromtxt(names=True, delimiter=",")`; a variable a synapse does
//! not have (no NMDA receptor in the linear Ca model, say) is an empty field (NaN in pandas).

use crate::assembly::record::{Recorders, SynapseData};
use crate::assembly::sim::Simulation;
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Registered;
use crate::stages::groups::{Replicas, SynapseGroups};
use crate::stages::plasticity::event_stdp::CaughtUp;
use bevy_ecs::prelude::World;
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
    move |source| EdraError::Output {
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
    let reg = world.resource::<Registered>().clone();
    let mut q = world.query::<SynapseData>();
    let world: &World = world;
    let now = CaughtUp::of(world, world.resource::<Clock>().step);
    let mut extra = Vec::new();
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
            extra.clear();
            reg.read(world, s.entity, &mut extra);
            for v in &extra {
                line.push(',');
                line.push_str(&opt(*v));
            }
            (sy.id, line)
        })
        .collect();
    rows.sort_unstable_by_key(|r| r.0);
    let mut w = create(path)?;
    let mut header = vec!["id".to_string(), "group".to_string()];
    header.extend(replicas.paths.iter().cloned());
    header.extend(["pre", "post", "axonal_delay_steps", "dendritic_delay_steps"].map(String::from));
    let variables = crate::stages::synapse_variables()
        .into_iter()
        .chain(reg.stages.variables());
    header.extend(variables.map(|v| v.name.to_string()));
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

/// A run folder written whole or not at all. `edra run` writes its outputs into a staging
/// folder beside the target (`.<name>.partial-<pid>`), and [`RunFolder::commit`] moves it into
/// place, so the target is the previous complete run until the new one is complete, then the new
/// one. A lock file beside it (`.<name>.lock`, holding the process id) keeps two runs from
/// writing the same target; a lock left by a process that is gone (killed) is taken over. If the
/// run fails or is dropped before `commit`, the staging folder is removed and the target is left
/// as it was.
pub struct RunFolder {
    target: std::path::PathBuf,
    staging: std::path::PathBuf,
    lock: std::path::PathBuf,
    committed: bool,
}

impl RunFolder {
    /// Takes the lock of `target` and creates an empty staging folder for it.
    pub fn create(target: &Path) -> Result<RunFolder> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n != "." && n != "..")
            .ok_or_else(|| {
                EdraError::other(format!(
                    "{}: an output folder needs a name of its own",
                    target.display()
                ))
            })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let lock = parent.join(format!(".{name}.lock"));
        take_lock(&lock, target)?;
        remove_stale_staging(&parent, &name);
        let pid = std::process::id();
        let staging = parent.join(format!(".{name}.partial-{pid}"));
        let folder = RunFolder {
            target: target.to_path_buf(),
            staging,
            lock,
            committed: false,
        };
        let _ = std::fs::remove_dir_all(&folder.staging);
        std::fs::create_dir(&folder.staging).map_err(io_err(&folder.staging))?;
        Ok(folder)
    }

    /// Where the outputs are written until [`RunFolder::commit`].
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where rolling checkpoints of this run go: `<name>.checkpoint.ron` beside the target, so
    /// that they outlive a run that is killed (the staging folder does not). Removed by
    /// [`RunFolder::commit`], whose folder holds the final checkpoint.
    pub fn rolling_checkpoint(&self) -> std::path::PathBuf {
        self.staging
            .with_file_name(format!("{}.checkpoint.ron", self.name()))
    }

    /// Moves the staging folder into place: a previous run folder is renamed aside, the new
    /// one renamed to the target (two renames within one folder), then the old one removed.
    pub fn commit(mut self) -> Result<std::path::PathBuf> {
        let old =
            self.staging
                .with_file_name(format!(".{}.old-{}", self.name(), std::process::id()));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(io_err(&self.target))?;
        }
        std::fs::rename(&self.staging, &self.target).map_err(io_err(&self.target))?;
        self.committed = true;
        let _ = std::fs::remove_file(self.rolling_checkpoint());
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(self.target.clone())
    }

    fn name(&self) -> String {
        self.target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Removes the staging folders `.<name>.partial-<pid>` beside a target whose process is gone
/// (a run killed before it could clean up; the lock is held, so none of them is live).
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = file.strip_prefix(&prefix)
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Creates `lock` holding this process's id; refuses if another live process holds it.
fn take_lock(lock: &Path, target: &Path) -> Result<()> {
    let busy = |pid: &str| EdraError::Output {
        path: target.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            format!(
                "another edra run (process {pid}) is writing this folder; its lock is {}",
                lock.display()
            ),
        ),
    };
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut f) => {
                return write!(f, "{}", std::process::id()).map_err(io_err(lock));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pid = std::fs::read_to_string(lock).unwrap_or_default();
                let pid = pid.trim();
                let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
                if alive || !Path::new("/proc/self").exists() {
                    return Err(busy(pid));
                }
                // Left by a process that is gone: take it over.
                let _ = std::fs::remove_file(lock);
            }
            Err(e) => return Err(io_err(lock)(e)),
        }
    }
    Err(busy("?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("edra-runfolder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The target holds the old run until commit, the new one after; nothing else is left.
    #[test]
    fn a_run_folder_replaces_the_old_one_whole() {
        let root = scratch("replace");
        let target = root.join("run");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("summary.ron"), "old").unwrap();
        let f = RunFolder::create(&target).unwrap();
        std::fs::write(f.path().join("summary.ron"), "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("summary.ron")).unwrap(),
            "old"
        );
        f.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("summary.ron")).unwrap(),
            "new"
        );
        let left: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    /// A run that fails (its RunFolder dropped) leaves the old folder as it was.
    #[test]
    fn a_failed_run_leaves_the_old_folder() {
        let root = scratch("failed");
        let target = root.join("run");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("summary.ron"), "old").unwrap();
        let f = RunFolder::create(&target).unwrap();
        std::fs::write(f.path().join("summary.ron"), "half").unwrap();
        drop(f);
        assert_eq!(
            std::fs::read_to_string(target.join("summary.ron")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
    }

    /// Two runs cannot hold one target; a lock whose process is gone is taken over.
    #[test]
    fn one_run_per_folder() {
        let root = scratch("lock");
        let target = root.join("run");
        let f = RunFolder::create(&target).unwrap();
        let e = RunFolder::create(&target)
            .err()
            .expect("second run refused");
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("another edra run"), "{e}");
        drop(f);
        // A stale lock (a pid that does not exist).
        std::fs::write(root.join(".run.lock"), "4294967").unwrap();
        RunFolder::create(&target).unwrap().commit().unwrap();
        assert!(target.is_dir());
    }
}

//! `import edra`: the Python interface to edra, built with PyO3 and maturin
//! (`pip install ./python` from a checkout).
//!
//! One class, [`Simulation`], wraps [`edra_core::Simulation`]:
//!
//! ```python
//! import edra
//! sim = edra.Simulation.load("scenes/single_synapse.ron")
//! sim.run(25_000.0, progress=True)   # Ctrl-C stops it at a step boundary, state intact
//! table = sim.synapses()              # dict of numpy arrays, the columns of synapses.csv
//! t, neuron = sim.spikes()            # every spike since the simulation was made
//! trace = sim.recorder("synapse")     # dict of numpy arrays by the recorder's CSV header
//! sim.reward("vta", 0.5)             # as a scene's Reward at the current time
//! sim.set_param("synapses.syn.rule.a_plus", 0.2)   # as a scene's SetParam, checked alike
//! sim.save_checkpoint("state.ron")
//! ```
//!
//! Steps run with the GIL released, in chunks of about 100 ms of wall time; between chunks the
//! GIL is taken back to check for signals (KeyboardInterrupt) and print progress. Every
//! [`edra_core::EdraError`] is raised as `edra.EdraError` with the library's full message
//! (scene errors name `file:line:column`). The type stub is `python/edra.pyi`.

use edra_core::assembly::output::{SynapseRow, synapse_rows, synapse_variable_names};
use edra_core::assembly::record::{NeuronData, Recorders};
use edra_core::core::clock::Clock;
use edra_core::core::param_path::ParamValue;
use edra_core::stages::groups::{Replicas, SynapseGroups};
use edra_core::stages::modulation::RegionLevels;
use edra_core::stages::neurons::{NEURON_VARIABLES, NeuronGroups};
use edra_core::stages::timeline::{PendingReward, Timeline};
use numpy::PyArray1;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyTuple};
use std::path::PathBuf;
use std::time::{Duration, Instant};

create_exception!(
    edra,
    EdraError,
    PyException,
    "An error of the edra library: a scene that does not check (its message names \
     file:line:column), a file that cannot be read or written, or a non-finite value that \
     stopped a run."
);

fn py_err(e: edra_core::EdraError) -> PyErr {
    EdraError::new_err(e.to_string())
}

/// Wall time between two returns to the interpreter during `run`.
const CHUNK: Duration = Duration::from_millis(100);

/// A loaded scene, ready to step.
///
/// `unsendable`: the wrapped bevy `World` is `Send` but not `Sync`, and a pyclass shared between
/// Python threads must be `Sync`. An unsendable object stays on the thread that made it; PyO3
/// raises an error if another thread touches it, rather than letting two threads share the world.
#[pyclass(unsendable, module = "edra")]
struct Simulation {
    sim: edra_core::Simulation,
    /// Spikes fired since the simulation was made, collected by `run`: times (ms) and neurons.
    spike_t_ms: Vec<f64>,
    spike_neuron: Vec<u32>,
}

impl Simulation {
    fn wrap(sim: edra_core::Simulation) -> Self {
        Simulation {
            sim,
            spike_t_ms: Vec::new(),
            spike_neuron: Vec::new(),
        }
    }
}

/// Steps `sim` until step `end` or until `CHUNK` of wall time has passed; records the spikes.
fn run_chunk(
    sim: &mut edra_core::Simulation,
    end: u64,
    spike_t_ms: &mut Vec<f64>,
    spike_neuron: &mut Vec<u32>,
) -> edra_core::Result<()> {
    let start = Instant::now();
    let dt = sim.clock().dt_ms;
    let mut n = 0u32;
    while sim.clock().step < end {
        sim.step()?;
        let t = (sim.clock().step - 1) as f64 * dt;
        for id in sim.fired_last_step() {
            spike_t_ms.push(t);
            spike_neuron.push(id);
        }
        // The steps after it on which nothing can happen (a scene whose every part is
        // event-driven) are skipped: they have no spikes.
        sim.skip_idle(end);
        n += 1;
        if n.is_multiple_of(64) && start.elapsed() >= CHUNK {
            break;
        }
    }
    Ok(())
}

fn stderr_write(py: Python<'_>, text: &str) -> PyResult<()> {
    let err = py.import("sys")?.getattr("stderr")?;
    err.call_method1("write", (text,))?;
    err.call_method0("flush")?;
    Ok(())
}

/// The columns `d` as they are, or as a pandas DataFrame (`frame`; pandas is then imported, and
/// its absence is an ImportError naming it).
fn table<'py>(py: Python<'py>, d: Bound<'py, PyDict>, frame: bool) -> PyResult<Bound<'py, PyAny>> {
    match frame {
        false => Ok(d.into_any()),
        true => py.import("pandas")?.call_method1("DataFrame", (d,)),
    }
}

#[pymethods]
impl Simulation {
    /// Loads and builds a scene file or a checkpoint (`.ron`).
    ///
    /// Raises `edra.EdraError` if the file cannot be read or does not check.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let sim = py
            .detach(|| edra_core::Simulation::load(&path))
            .map_err(py_err)?;
        Ok(Self::wrap(sim))
    }

    /// Parses scene text and builds it; `name` labels the text in error messages.
    ///
    /// Raises `edra.EdraError` if the text does not check (the message names name:line:column).
    #[staticmethod]
    #[pyo3(signature = (text, name = "scene.ron"))]
    fn from_ron(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let sim = py
            .detach(|| edra_core::Simulation::from_ron(name, text))
            .map_err(py_err)?;
        Ok(Self::wrap(sim))
    }

    /// Runs until simulated time `until_ms` (default: the scene's `duration_ms`).
    ///
    /// Steps run without the GIL. About every 100 ms of wall time the run checks for signals:
    /// Ctrl-C (or a Jupyter interrupt) raises KeyboardInterrupt at a step boundary and leaves
    /// the simulation in a consistent state from which `run` can continue. With `progress`, a
    /// progress line is written to `sys.stderr`. Raises `edra.EdraError` if a value becomes
    /// non-finite.
    #[pyo3(signature = (until_ms = None, progress = false))]
    fn run(&mut self, py: Python<'_>, until_ms: Option<f64>, progress: bool) -> PyResult<()> {
        let until_ms = until_ms.unwrap_or(self.sim.scene().duration_ms);
        let end = self.sim.clock().steps(until_ms);
        let start_ms = self.sim.t_ms();
        let wall = Instant::now();
        let Simulation {
            sim,
            spike_t_ms,
            spike_neuron,
        } = self;
        while sim.clock().step < end {
            py.detach(|| run_chunk(sim, end, spike_t_ms, spike_neuron))
                .map_err(py_err)?;
            if progress {
                let t = sim.t_ms();
                let done = if until_ms > start_ms {
                    100.0 * (t - start_ms) / (until_ms - start_ms)
                } else {
                    100.0
                };
                let line = format!(
                    "\redra: t = {t:.1} / {until_ms:.1} ms ({done:.0}%), {:.1} s",
                    wall.elapsed().as_secs_f64()
                );
                stderr_write(py, &line)?;
            }
            py.check_signals()?;
        }
        if progress {
            stderr_write(py, "\n")?;
        }
        Ok(())
    }

    /// Advances one time step.
    fn step(&mut self) -> PyResult<()> {
        let end = self.sim.clock().step + 1;
        run_chunk(
            &mut self.sim,
            end,
            &mut self.spike_t_ms,
            &mut self.spike_neuron,
        )
        .map_err(py_err)
    }

    /// Simulated time, ms.
    #[getter]
    fn t_ms(&self) -> f64 {
        self.sim.t_ms()
    }

    /// The time step, ms.
    #[getter]
    fn dt_ms(&self) -> f64 {
        self.sim.clock().dt_ms
    }

    /// The scene's `duration_ms`: where `run()` stops without an argument.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.sim.scene().duration_ms
    }

    /// Every variable of synapse `id`, in cascade order: {name: value}, None for a variable
    /// the synapse does not have. Raises KeyError for an unknown id.
    fn synapse<'py>(&mut self, py: Python<'py>, id: u32) -> PyResult<Bound<'py, PyDict>> {
        let snap = self
            .sim
            .synapse(id)
            .ok_or_else(|| PyKeyError::new_err(format!("no synapse {id}")))?;
        let d = PyDict::new(py);
        for (name, _, _, value) in snap {
            d.set_item(name, value)?;
        }
        Ok(d)
    }

    /// Every synapse in id order as a dict of numpy arrays, one per column of `synapses.csv`
    /// (same names, units in the names): `id`, `group` (strings), the sweep parameters of the
    /// synapse's replica, `pre`, `post`, the delays in steps, then every variable (float32,
    /// NaN where the synapse does not have it). With `frame=True`, a pandas DataFrame of the
    /// same columns.
    #[pyo3(signature = (frame = false))]
    fn synapses<'py>(&mut self, py: Python<'py>, frame: bool) -> PyResult<Bound<'py, PyAny>> {
        let rows = synapse_rows(&mut self.sim);
        let names = synapse_variable_names(&self.sim);
        let groups = self.sim.world().resource::<SynapseGroups>();
        let replicas = self.sim.world().resource::<Replicas>();
        let d = PyDict::new(py);
        let col_u32 = |f: &dyn Fn(&SynapseRow) -> u32| rows.iter().map(f).collect::<Vec<u32>>();
        d.set_item("id", PyArray1::from_vec(py, col_u32(&|r| r.id)))?;
        let group_names: Vec<&str> = rows
            .iter()
            .map(|r| groups.0[r.group as usize].spec.name.as_str())
            .collect();
        let np = py.import("numpy")?;
        d.set_item("group", np.call_method1("array", (group_names,))?)?;
        for (k, path) in replicas.paths.iter().enumerate() {
            let col: Vec<f64> = rows
                .iter()
                .map(|r| {
                    let replica = groups.0[r.group as usize].replica as usize;
                    replicas
                        .values
                        .get(replica)
                        .and_then(|v| v.get(k))
                        .copied()
                        .unwrap_or(f64::NAN)
                })
                .collect();
            d.set_item(path, PyArray1::from_vec(py, col))?;
        }
        d.set_item("pre", PyArray1::from_vec(py, col_u32(&|r| r.pre)))?;
        d.set_item("post", PyArray1::from_vec(py, col_u32(&|r| r.post)))?;
        let col_u16 = |f: &dyn Fn(&SynapseRow) -> u16| rows.iter().map(f).collect::<Vec<u16>>();
        d.set_item(
            "axonal_delay_steps",
            PyArray1::from_vec(py, col_u16(&|r| r.axonal_delay_steps)),
        )?;
        d.set_item(
            "dendritic_delay_steps",
            PyArray1::from_vec(py, col_u16(&|r| r.dendritic_delay_steps)),
        )?;
        for (k, name) in names.iter().enumerate() {
            let col: Vec<f32> = rows
                .iter()
                .map(|r| r.values.get(k).copied().flatten().unwrap_or(f32::NAN))
                .collect();
            d.set_item(*name, PyArray1::from_vec(py, col))?;
        }
        table(py, d, frame)
    }

    /// Every neuron in id order as a dict of numpy arrays: `id` (uint32), `group` (str), then
    /// the neuron variables `v_mv`, `u` and `protein` (float32, NaN where the neuron's model
    /// does not have the variable: spike sources have no membrane). With `frame=True`, a
    /// pandas DataFrame of the same columns.
    #[pyo3(signature = (frame = false))]
    fn neurons<'py>(&mut self, py: Python<'py>, frame: bool) -> PyResult<Bound<'py, PyAny>> {
        let world = self.sim.world_mut();
        let groups = world.resource::<NeuronGroups>().clone();
        let mut q = world.query::<NeuronData>();
        let mut rows: Vec<(u32, u16, [Option<f32>; 3])> = q
            .iter(world)
            .map(|n| (n.neuron.id, n.neuron.group, n.values()))
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        let d = PyDict::new(py);
        let ids: Vec<u32> = rows.iter().map(|r| r.0).collect();
        d.set_item("id", PyArray1::from_vec(py, ids))?;
        let names: Vec<&str> = rows
            .iter()
            .map(|r| groups.0[r.1 as usize].spec.name.as_str())
            .collect();
        d.set_item(
            "group",
            py.import("numpy")?.call_method1("array", (names,))?,
        )?;
        for (k, name) in NEURON_VARIABLES.iter().enumerate() {
            let col: Vec<f32> = rows.iter().map(|r| r.2[k].unwrap_or(f32::NAN)).collect();
            d.set_item(*name, PyArray1::from_vec(py, col))?;
        }
        table(py, d, frame)
    }

    /// The samples of recorder `name` as a dict of numpy arrays by its CSV header: `t_ms`
    /// (float64), the id column (`synapse`, `neuron`, `region` or `astrocyte`; uint32), then its
    /// variables (float64, NaN where the entity does not have the variable). Raises KeyError
    /// for a name the scene has no recorder of. With `frame=True`, a pandas DataFrame of the
    /// same columns.
    #[pyo3(signature = (name, frame = false))]
    fn recorder<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        frame: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let recs = &self.sim.world().resource::<Recorders>().0;
        let r = recs.iter().find(|r| r.name == name).ok_or_else(|| {
            let known: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
            PyKeyError::new_err(format!(
                "no recorder {name:?}; the scene has {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let header = r.header();
        let width = header.len();
        let d = PyDict::new(py);
        for (c, col) in header.iter().enumerate() {
            let values = r.rows.iter().skip(c).step_by(width).copied();
            if c == 1 {
                let ids: Vec<u32> = values.map(|v| v as u32).collect();
                d.set_item(*col, PyArray1::from_vec(py, ids))?;
            } else {
                d.set_item(*col, PyArray1::from_vec(py, values.collect::<Vec<f64>>()))?;
            }
        }
        table(py, d, frame)
    }

    /// The names of the scene's recorders.
    fn recorders(&self) -> Vec<String> {
        let recs = &self.sim.world().resource::<Recorders>().0;
        recs.iter().map(|r| r.name.clone()).collect()
    }

    /// The spikes fired since this object was made (by `run` and `step`), in time order:
    /// (t_ms float64 array, neuron uint32 array).
    fn spikes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let t = PyArray1::from_slice(py, &self.spike_t_ms);
        let n = PyArray1::from_slice(py, &self.spike_neuron);
        PyTuple::new(py, [t.into_any(), n.into_any()])
    }

    /// Sets parameter `path` (a path as in sweeps and `SetParam`, e.g.
    /// `"synapses.syn.rule.a_plus"`) to `value` (a number or a bool) from the next step on, in
    /// every sweep replica: the same as a scene's `SetParam(at_ms: t_ms, ...)`, checked the same
    /// way. The change joins the scene's timeline, so a checkpoint keeps it. Raises
    /// `edra.EdraError` (naming the field and the valid range) for a path that names no
    /// parameter, a parameter that cannot change during a run, or a value that does not fit;
    /// the simulation is then unchanged.
    fn set_param(&mut self, path: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = if let Ok(b) = value.cast::<PyBool>() {
            ParamValue::Bool(b.is_true())
        } else {
            ParamValue::Number(value.extract::<f64>()?)
        };
        self.sim.set_param(path, value).map_err(py_err)
    }

    /// Releases `amount_um` µM of dopamine into the dopamine region `region` (in every sweep
    /// replica) on the next step: the same as a scene's `Reward(at_ms: t_ms, ...)` at the
    /// current time. The reward is part of the state, so a checkpoint saved before the next
    /// step keeps it. Raises `edra.EdraError` for an unknown region or an amount outside
    /// [0, 1000] µM (the range a scene's `Reward` accepts).
    fn reward(&mut self, region: &str, amount_um: f64) -> PyResult<()> {
        if !(amount_um.is_finite() && (0.0..=1e3).contains(&amount_um)) {
            return Err(py_err(edra_core::EdraError::Argument(format!(
                "reward amount_um {amount_um} is outside the valid range [0, 1000] µM"
            ))));
        }
        let world = self.sim.world_mut();
        let step = world.resource::<Clock>().step;
        let levels = world.resource::<RegionLevels>();
        let regions: Vec<u32> = (levels.names.iter().enumerate())
            .filter(|(_, (n, _))| n == region)
            .map(|(i, _)| i as u32)
            .collect();
        if regions.is_empty() {
            let mut known: Vec<&str> = levels.names.iter().map(|(n, _)| n.as_str()).collect();
            known.dedup();
            return Err(py_err(edra_core::EdraError::Argument(format!(
                "no dopamine region named `{region}`; the scene has {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))));
        }
        let mut tl = world.resource_mut::<Timeline>();
        for r in regions {
            tl.pending.push(PendingReward {
                step,
                region: r,
                amount_um: amount_um as f32,
            });
        }
        Ok(())
    }

    /// Writes a checkpoint (the scene with its complete current state) to `path`; load it with
    /// `Simulation.load` or `edra run`. Raises `edra.EdraError` if it cannot be written.
    fn save_checkpoint(&mut self, path: PathBuf) -> PyResult<()> {
        self.sim.save_checkpoint(&path).map_err(py_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "<edra.Simulation {:?} at t = {} ms of {} ms>",
            self.sim.scene().name,
            self.sim.t_ms(),
            self.sim.scene().duration_ms
        )
    }
}

/// edra: a synaptic-plasticity simulator. `Simulation.load(path)` or
/// `Simulation.from_ron(text)` builds a scene; `run`, `reward`, `set_param`, `synapses`,
/// `recorder`, `spikes` and `save_checkpoint` drive and read it. Errors are raised as `EdraError`.
#[pymodule]
fn edra(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Simulation>()?;
    m.add("EdraError", m.py().get_type::<EdraError>())?;
    Ok(())
}

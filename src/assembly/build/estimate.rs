//! Build phase 0, estimate: what a scene will build and how much memory it will take, without
//! building it (`edra check`, and the memory figures of `docs/performance.md`).

use super::*;
use crate::assembly::record::chunk_values;

/// What a scene will build and roughly how much memory it will take, without building it.
#[derive(Clone, Debug, Default)]
pub struct Estimate {
    pub replicas: u64,
    pub neurons: u64,
    pub synapses: f64,
    /// Whether `synapses` is exact (no FixedProbability group).
    pub exact: bool,
    pub per_group: Vec<(String, f64)>,
    pub regions: u64,
    pub astrocytes: u64,
    pub steps: u64,
    pub bytes_per_synapse: f64,
    /// Recorders' samples held in memory: over the whole run, or (after
    /// [`Estimate::streamed`]) one chunk of each.
    pub recorder_bytes: f64,
    /// Recorders' samples when they stream to disk: one chunk of each
    /// ([`crate::assembly::record::chunk_values`]).
    pub recorder_chunk_bytes: f64,
    /// Roughly what the recorders' CSVs take on disk at the end of the run
    /// ([`CSV_BYTES_PER_FIELD`] per field).
    pub recorder_disk_bytes: f64,
    /// The spike-history ring: one bit per neuron per step of the longest delay.
    pub spike_history_bytes: f64,
    pub bytes: f64,
}
/// Bytes a component costs per entity: its size plus two change ticks.
pub(super) fn cost<T>() -> f64 {
    (std::mem::size_of::<T>() + 8) as f64
}
/// From the components of `cascade!` (src/stages/mod.rs): `bytes_per_synapse`.
macro_rules! bytes_per_synapse {
    ($($stage:ident: [$($how:ident [$($field:ident: $c:ty)|+]),*]);* $(;)?) => {
        /// Memory per synapse of a group: the components its synapses carry, plus the entity's
        /// own bookkeeping in bevy 0.20 (its id in the table, 8 bytes, and in the archetype, 12,
        /// and its location record, 24).
        pub fn bytes_per_synapse(g: &SynapseGroup) -> f64 {
            let mut b = 44.0;
            $($($(
                if <$c as SynapseComponent>::in_group(g) {
                    b += cost::<$c>();
                }
            )+)*)*
            b
        }
    };
}

crate::stages::cascade!(bytes_per_synapse);

/// Bytes a recorder's CSV field takes, on the high side: fields of real runs average 5 to 7
/// (`scenes/population.ron`), an f32 with all 9 significant digits, sign, exponent and comma
/// up to 15.
pub const CSV_BYTES_PER_FIELD: f64 = 10.0;

impl Estimate {
    /// The memory one of `ranks` processes holds (`edra run` under `mpirun`; the counts stay
    /// the run's): a share of the synapses and neurons (round-robin by neuron, so about
    /// 1/`ranks` of each), and, whole, the spike history (every rank keeps every neuron's recent
    /// spikes) and the recorders (rank 0 holds them; every rank is counted as the largest). Not
    /// counted: rank 0 gathers the whole state at the end for a checkpoint.
    pub fn per_rank(mut self, ranks: usize) -> Estimate {
        let share = |x: f64| (x / ranks.max(1) as f64).ceil();
        let spread = self.bytes - self.recorder_bytes - self.spike_history_bytes;
        self.bytes = share(spread) + self.recorder_bytes + self.spike_history_bytes;
        self
    }

    /// The estimate of a run whose recorders stream to disk (`edra run`): they hold one chunk
    /// each in memory, whatever the run's length.
    pub fn streamed(mut self) -> Estimate {
        self.bytes += self.recorder_chunk_bytes - self.recorder_bytes;
        self.recorder_bytes = self.recorder_chunk_bytes;
        self
    }
}

/// Counts and memory of a scene (expected values for random connectivity), its recorders held
/// in memory for the whole run (see [`Estimate::streamed`]).
pub fn estimate(scene: &Scene) -> Estimate {
    let reps: u64 = scene.sweep.iter().map(|a| a.values.len() as u64).product();
    let names = crate::scene::Names::of(scene);
    let size = |n: &str| names.size(n).map_or(0, u64::from);
    let mut e = Estimate {
        replicas: reps,
        neurons: reps * scene.neurons.iter().map(|g| g.size as u64).sum::<u64>(),
        regions: reps * scene.dopamine_regions.len() as u64,
        exact: true,
        steps: (scene.duration_ms / scene.dt_ms).round() as u64,
        ..Default::default()
    };
    let mut syn_bytes = 0.0;
    for g in &scene.synapses {
        let (n, _) = expected_synapses(g, size(&g.pre), size(&g.post));
        let n = n * reps as f64;
        e.exact &= !matches!(g.connectivity, Connectivity::FixedProbability(_));
        e.synapses += n;
        syn_bytes += n * bytes_per_synapse(g);
        e.per_group.push((g.name.clone(), n));
    }
    e.astrocytes = reps
        * scene
            .astrocytes
            .iter()
            .map(|a| size(&a.covers).div_ceil(a.neurons_per_astrocyte.max(1) as u64))
            .sum::<u64>();
    for r in &scene.recorders {
        // Entities of one sample, over all replicas (`regions` and `astrocytes` count them).
        let entities = match &r.target {
            RecordTarget::Synapses { indices, .. } | RecordTarget::Neurons { indices, .. } => {
                reps as f64 * indices.len() as f64
            }
            RecordTarget::Regions => e.regions as f64,
            RecordTarget::Astrocytes => e.astrocytes as f64,
        };
        // No variables named: all of the target's built-in ones.
        let all = || variable_names(kind_of(&r.target), &Stages::none()).len();
        let cols = 2.0
            + match r.variables.len() {
                0 => all(),
                n => n,
            } as f64;
        let samples = (e.steps / r.every_steps as u64 + 1) as f64;
        let sample_values = entities * cols;
        e.recorder_bytes += sample_values * 8.0 * samples;
        e.recorder_disk_bytes += sample_values * CSV_BYTES_PER_FIELD * samples;
        let chunk = chunk_values(
            sample_values.min(usize::MAX as f64) as usize,
            cols as usize,
            None,
        );
        e.recorder_chunk_bytes += 8.0 * (chunk as f64).min(sample_values * samples);
    }
    e.bytes_per_synapse = if e.synapses > 0.0 {
        syn_bytes / e.synapses
    } else {
        0.0
    };
    let per_neuron = 64.0 + 8.0 * 2.0 + (2 * 8) as f64; // entity, state, input, history
    e.spike_history_bytes = spike_history_bytes(scene, e.neurons);
    e.bytes = syn_bytes + e.neurons as f64 * per_neuron + e.recorder_bytes + e.spike_history_bytes;
    e
}

/// Bytes of the spike-history ring ([`SpikeHistory::new`]): a row of one bit per neuron for
/// each step of the longest delay (axonal plus the linear Ca model's, or dendritic), plus 3.
fn spike_history_bytes(scene: &Scene, neurons: u64) -> f64 {
    let dt = scene.dt_ms;
    let steps = |d: &Dist| (d.max_in(0.0, 1000.0) / dt).round();
    let longest = scene
        .synapses
        .iter()
        .map(|g| {
            let ca = match &g.ca {
                CaModel::Linear(p) => (p.delay_ms / dt).round(),
                _ => 0.0,
            };
            (steps(&g.axonal_delay_ms) + ca).max(steps(&g.dendritic_delay_ms))
        })
        .fold(0.0, f64::max);
    (neurons as f64 / 64.0).ceil().max(1.0) * (longest + 3.0) * 8.0
}

/// The memory available to a new process now, bytes (`MemAvailable` of `/proc/meminfo`;
/// `None` where there is no such file).
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Why a scene with estimate `e` cannot run on this machine, if it cannot: more neurons or
/// synapses than 32-bit ids can number (always refused), or more memory than is available
/// (`available`, bytes) unless `force`.
pub fn refusal(e: &Estimate, available: Option<f64>, force: bool) -> Option<String> {
    const IDS: f64 = u32::MAX as f64;
    if e.neurons as f64 > IDS || e.synapses > IDS {
        return Some(format!(
            "{} neurons and {:.0} synapses (with {} sweep replicas): edra numbers each with a \
             32-bit id, at most 2^32 − 1 = {IDS}",
            e.neurons, e.synapses, e.replicas
        ));
    }
    let gib = |b: f64| b / (1u64 << 30) as f64;
    match available {
        Some(a) if !force && e.bytes > a => Some(format!(
            "the scene needs about {:.1} GiB ({:.0} synapses at {:.0} bytes each, recorders \
             {:.1} GiB, spike history {:.1} GiB) and this machine has {:.1} GiB available; \
             run with --force to try anyway",
            gib(e.bytes),
            e.synapses,
            e.bytes_per_synapse,
            gib(e.recorder_bytes),
            gib(e.spike_history_bytes),
            gib(a)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::neurons::NEURON_VARIABLES;

    /// A recorder that names no variables records all of its target's: the estimate counts
    /// those (it counted 16, the synapse count, for every kind).
    #[test]
    fn a_recorder_without_variables_is_counted_with_its_targets_variables() {
        let src = "Scene(name: \"e\", dt_ms: 1.0, duration_ms: 99.0,
            neurons: [NeuronGroup(name: \"n\", size: 4, model: Poisson(rate_hz: 1.0))],
            recorders: [Recorder(name: \"r\", target: Neurons(group: \"n\", indices: [0, 1, 2]),
                every_steps: 10)])";
        let scene: Scene = ron::from_str(src).unwrap();
        let cols = 2 + NEURON_VARIABLES.len();
        let samples = 99 / 10 + 1;
        assert_ne!(NEURON_VARIABLES.len(), 16);
        assert_eq!(
            estimate(&scene).recorder_bytes,
            (3 * cols * 8 * samples) as f64
        );
    }
}

//! Scenes: the RON description of a run — neurons, synapses, dopamine regions, astrocytes, the
//! timeline of events, recorders and parameter sweeps — and, for a checkpoint, the full state.
//!
//! A scene is read straight into this typed schema: unknown fields are refused, every parameter
//! has a default and a valid range, and every name must refer to something. Errors carry
//! `file:line:column` and the path of the field.

pub use crate::core::locate;
pub mod binary;
pub mod column;
pub mod paths;
pub mod recorders;
pub mod state;
pub mod timeline;

use crate::core::error::{EdraError, Result};
use crate::core::params::{Checker, Validate, is_name};
use crate::core::registry::Stages;
use crate::scene::state::State;
use crate::stages::ca_influx::CaModel;
use crate::stages::homeostasis::AstrocyteParams;
use crate::stages::modulation::DopamineParams;
use crate::stages::plasticity::Rule;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use timeline::Event;

/// The longest `duration_ms` a scene can have, ms.
pub const MAX_DURATION_MS: f64 = 1e10;

/// The most steps a run can take (`duration_ms / dt_ms`): a step counter, a progress bar and the
/// recorders' sample counts all fit, and at a microsecond per step it is 11 days.
pub const MAX_STEPS: f64 = 1e12;

/// Why a run to `duration_ms` at `dt_ms` is too long, if it is (more than [`MAX_STEPS`] steps).
pub fn too_many_steps(duration_ms: f64, dt_ms: f64) -> Option<String> {
    let steps = (duration_ms / dt_ms).round();
    (dt_ms > 0.0 && steps > MAX_STEPS).then(|| {
        format!(
            "{duration_ms} ms at dt_ms {dt_ms} is {steps:e} steps, more than the {MAX_STEPS:e} \
             a run can take"
        )
    })
}

/// A whole scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// Name of the scene (the default output folder is `out/<name>/`): 1 to 64 ASCII letters,
    /// digits, `_`, `-` or `.`, not starting with `.` ([`crate::core::params::is_name`]).
    pub name: String,
    /// Seed of every random stream. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// Integration step, ms.
    pub dt_ms: f64,
    /// Simulated time at which the run ends, ms.
    pub duration_ms: f64,
    /// The slow stages (homeostasis, consolidation) run every this many steps, with a step of
    /// `dt_ms` times this. Default 0: automatic, the number of steps closest to 10 ms. Their
    /// time constants are seconds to hours and they are stepped exactly (protein pools and
    /// capture in closed form over the slow step, astrocytes in f64, the late weight kept finer
    /// than an f32), so a finer slow clock no longer loses their drift to rounding (down to one
    /// step of 0.01 ms, `tests/slow_drift.rs`); a coarser one only moves the moments at which
    /// tags and synthesis switch, by up to one slow step (`tests/slow_clock.rs`). 10 ms keeps
    /// their cost per step small while staying far below their time constants.
    #[serde(default)]
    pub slow_every_steps: u32,
    #[serde(default)]
    pub neurons: Vec<NeuronGroup>,
    #[serde(default)]
    pub synapses: Vec<SynapseGroup>,
    #[serde(default)]
    pub dopamine_regions: Vec<DopamineRegion>,
    #[serde(default)]
    pub astrocytes: Vec<AstrocyteGroup>,
    #[serde(default)]
    pub timeline: Vec<Event>,
    #[serde(default)]
    pub recorders: Vec<Recorder>,
    /// Up to two parameter axes; the whole scene is replicated once per combination of values,
    /// in one world, so a curve runs as one parallel run.
    #[serde(default)]
    pub sweep: Vec<SweepAxis>,
    /// The full state of every entity, present in checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

pub use crate::stages::groups::{Connectivity, SynapseGroup, SynapseInit};
pub use crate::stages::neurons::NeuronGroup;

fn one() -> u32 {
    1
}

/// A dopamine region (one extracellular volume).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DopamineRegion {
    pub name: String,
    #[serde(default)]
    pub params: DopamineParams,
}

/// Astrocytes tiling one neuron group: each covers `neurons_per_astrocyte` consecutive neurons
/// and all synapses onto them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AstrocyteGroup {
    pub name: String,
    pub covers: String,
    pub neurons_per_astrocyte: u32,
    #[serde(default)]
    pub params: AstrocyteParams,
}

crate::settable!(DopamineRegion { name, params });
crate::settable!(AstrocyteGroup {
    name,
    covers,
    neurons_per_astrocyte,
    params
});

/// What a recorder samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RecordTarget {
    /// Synapses of a group, by their index within the group.
    Synapses { group: String, indices: Vec<u32> },
    /// Neurons of a group, by their index within the group.
    Neurons { group: String, indices: Vec<u32> },
    /// Every dopamine region.
    Regions,
    /// Every astrocyte.
    Astrocytes,
}

/// A recorder: a CSV of `variables` of `target`, one row per entity per sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorder {
    pub name: String,
    pub target: RecordTarget,
    /// Variable names; empty means all of the target's variables.
    #[serde(default)]
    pub variables: Vec<String>,
    /// Sample every this many steps. Default 1.
    #[serde(default = "one")]
    pub every_steps: u32,
}

/// One axis of a sweep: a parameter path (`synapses.<group>.rule.a_plus`,
/// `neurons.<group>.model.delta_t_ms`, ...) and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepAxis {
    pub path: String,
    pub values: Vec<f64>,
}

/// The most errors a refused scene reports (each is found in the text); the rest are counted.
pub const ERRORS_SHOWN: usize = 20;

/// A scene read from a file, with its text kept for error positions.
pub struct SceneFile {
    pub scene: Scene,
    pub file: String,
    pub src: String,
}

impl SceneFile {
    /// Reads, parses and validates a scene file: a regular file of at most [`MAX_SCENE_BYTES`].
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &crate::stages::registered())
    }

    /// [`SceneFile::load`] with stages registered on top of the built-in cascade.
    pub fn load_with(path: &Path, registered: &Stages) -> Result<Self> {
        use std::io::Read;
        let file = path.display().to_string();
        let io = |source| EdraError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (mut f, len) = open_scene_file(path, &file)?;
        let mut head = [0u8; 8];
        let n = read_up_to(&mut f, &mut head).map_err(io)?;
        if binary::is_binary(&head[..n]) {
            return Self::read_binary(path, &f, registered);
        }
        let input = (&head[..n]).chain(f);
        let mut bytes = Vec::with_capacity(len as usize);
        input
            .take(MAX_SCENE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_SCENE_BYTES {
            return Err(too_large(&file));
        }
        Self::parse_with(&file, utf8(&file, bytes)?, registered)
    }

    /// Reads a binary checkpoint ([`binary`]): its header is parsed as RON text (errors are
    /// placed in it), its columns mapped into the state (they are read from the file as the
    /// build needs them, see [`column`]), and then the whole is checked.
    fn read_binary(path: &Path, f: &std::fs::File, registered: &Stages) -> Result<Self> {
        let file = &path.display().to_string();
        let refused = |r: binary::Refusal| EdraError::Scene {
            file: file.to_string(),
            pos: None,
            field: r.field,
            message: match r.offset {
                Some(at) => format!("{} (binary checkpoint, at byte {at})", r.message),
                None => format!("{} (binary checkpoint)", r.message),
            },
        };
        // SAFETY: a mapped file must not change while it is mapped. The map lives while the
        // checkpoint is read and the world built from it (`Simulation::new` drops the state);
        // edra never writes into an existing checkpoint in place while it reads one (run
        // folders and rolling checkpoints are written aside and renamed; an unlinked file
        // stays whole for its map). Another process truncating the file meanwhile would end
        // this one with SIGBUS, as with any mapped reader.
        let map = unsafe { memmap2::Mmap::map(f) }.map_err(|source| EdraError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let decoded = binary::read_mapped(std::sync::Arc::new(map)).map_err(refused)?;
        let mut scene: Scene = parse_ron(file, &decoded.header)?;
        let Some(state) = scene.state.as_mut() else {
            return Err(refused(binary::Refusal {
                offset: None,
                field: "state".into(),
                message: "is missing from the header: a binary checkpoint holds a state".into(),
            }));
        };
        binary::fill_state(state, decoded.columns).map_err(refused)?;
        let sf = SceneFile {
            scene,
            file: file.to_string(),
            src: decoded.header,
        };
        sf.check(registered)?;
        Ok(sf)
    }

    /// Parses and validates scene text (a leading byte-order mark is ignored); `file` names it
    /// in errors.
    pub fn parse(file: &str, src: String) -> Result<Self> {
        Self::parse_with(file, src, &crate::stages::registered())
    }

    /// [`SceneFile::parse`] with stages registered on top of the built-in cascade.
    pub fn parse_with(file: &str, mut src: String, registered: &Stages) -> Result<Self> {
        if src.starts_with(BOM) {
            src.drain(..BOM.len_utf8());
        }
        let scene = parse_ron(file, &src)?;
        let sf = SceneFile {
            scene,
            file: file.to_string(),
            src,
        };
        sf.check(registered)?;
        Ok(sf)
    }

    /// An error at the field `path`, positioned in the source text.
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> EdraError {
        EdraError::Scene {
            file: self.file.clone(),
            pos: locate::best_position(&self.src, path),
            field: path.to_string(),
            message: message.into(),
        }
    }

    /// Checks the scene, with the stages `registered` on top of the built-in cascade.
    pub fn check(&self, registered: &Stages) -> Result<()> {
        let mut c = Checker::default();
        self.scene.check_with(&mut c, registered);
        if let Some((path, msg)) = c.errors.first() {
            let mut e = self.error_at(path, msg.clone());
            if let EdraError::Scene { message, .. } = &mut e {
                let shown = c.errors.len().min(ERRORS_SHOWN);
                for (path, msg) in &c.errors[1..shown] {
                    message.push_str(&format!("\n  also: {}", self.error_at(path, msg.clone())));
                }
                if c.errors.len() > shown {
                    let more = c.errors.len() - shown;
                    let s = if more == 1 { "" } else { "s" };
                    message.push_str(&format!("\n  … and {more} more error{s}"));
                }
            }
            return Err(e);
        }
        Ok(())
    }
}

/// The largest scene file edra reads, bytes (32 GiB). A scene is a few kilobytes, but a
/// checkpoint holds every synapse's state, about 190 bytes each: 187 MB for 10^6 synapses, some
/// 19 GB for the 10^8 that edra runs in 19 GB of memory.
pub const MAX_SCENE_BYTES: u64 = 32 << 30;

/// The refusal of a file larger than [`MAX_SCENE_BYTES`].
fn too_large(file: &str) -> EdraError {
    EdraError::Scene {
        file: file.to_string(),
        pos: None,
        field: String::new(),
        message: format!(
            "is larger than {} GiB, the most a scene file or checkpoint may be",
            MAX_SCENE_BYTES >> 30
        ),
    }
}

/// Reads into `buf` until it is full or the file ends; returns how many bytes were read.
fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Opens the scene file at `path` (named `file` in errors): only a regular file (not a folder,
/// a device such as /dev/zero, a pipe or a socket) of at most [`MAX_SCENE_BYTES`]; returns it
/// with its length.
fn open_scene_file(path: &Path, file: &str) -> Result<(std::fs::File, u64)> {
    let io = |source| EdraError::Io {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |message: String| EdraError::Scene {
        file: file.to_string(),
        pos: None,
        field: String::new(),
        message,
    };
    let not_a_file = |m: &std::fs::Metadata| {
        let what = match m.is_dir() {
            true => "a folder",
            false => "a device, pipe or socket",
        };
        refuse(format!(
            "is {what}, not a regular file: a scene is read from a file"
        ))
    };
    // Before opening it: opening a pipe would wait for a writer.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    if meta.len() > MAX_SCENE_BYTES {
        return Err(too_large(file));
    }
    Ok((f, meta.len()))
}

/// The UTF-8 byte-order mark some editors write at the start of a file.
const BOM: char = '\u{feff}';

/// A scene file's bytes as text; bytes that are not UTF-8 are refused at the line and column
/// of the first of them.
fn utf8(file: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = std::str::from_utf8(&bytes[..at]).expect("valid up to `at`");
        let before = before.strip_prefix(BOM).unwrap_or(before);
        EdraError::Scene {
            file: file.to_string(),
            pos: Some(locate::position(before, before.len())),
            field: String::new(),
            message: format!(
                "byte 0x{:02X} is not UTF-8: a scene file is UTF-8 text",
                bytes[at]
            ),
        }
    })
}

/// Deserialises RON into `T`, reporting the field path and position of any error.
pub fn parse_ron<T: serde::de::DeserializeOwned>(file: &str, src: &str) -> Result<T> {
    let mk = |pos: Option<ron::error::Position>, field: String, message: String| EdraError::Scene {
        file: file.to_string(),
        pos: pos.map(|p| crate::core::error::Position {
            line: p.line,
            col: p.col,
        }),
        field,
        message,
    };
    let mut de = ron::Deserializer::from_str(src)
        .map_err(|e| mk(Some(e.span.start), String::new(), e.code.to_string()))?;
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        let spanned = de.span_error(e.into_inner());
        mk(Some(spanned.span.start), field, spanned.code.to_string())
    })?;
    de.end().map_err(|e| {
        let spanned = de.span_error(e);
        mk(
            Some(spanned.span.start),
            String::new(),
            spanned.code.to_string(),
        )
    })?;
    Ok(value)
}

impl Validate for Scene {
    fn validate(&self, c: &mut Checker) {
        self.check_with(c, &crate::stages::registered())
    }
}

impl Scene {
    /// Checks the scene, with the stages `registered` on top of the built-in cascade (their
    /// parameters in synapse groups' `stages`, their variables in recorders).
    pub fn check_with(&self, c: &mut Checker, registered: &Stages) {
        // The default output folder is `out/<name>/`: a name is one safe path component.
        c.name("name", &self.name);
        c.range("dt_ms", self.dt_ms, 1e-4, 100.0, "ms");
        c.range("duration_ms", self.duration_ms, 0.0, MAX_DURATION_MS, "ms");
        if let Some(m) = too_many_steps(self.duration_ms, self.dt_ms) {
            c.fail("duration_ms", m);
        }
        c.range(
            "slow_every_steps",
            self.slow_every_steps as f64,
            0.0,
            1e6,
            "steps",
        );
        let names = Names::of(self);
        unique(c, "neurons", self.neurons.iter().map(|n| &n.name));
        unique(c, "synapses", self.synapses.iter().map(|n| &n.name));
        // Two recorders of one name would write one CSV; two astrocyte groups of one name
        // would make `astrocytes.<name>.params.*` ambiguous.
        repeated(c, "recorders", self.recorders.iter().map(|r| &r.name));
        repeated(c, "astrocytes", self.astrocytes.iter().map(|a| &a.name));
        unique(
            c,
            "dopamine_regions",
            self.dopamine_regions.iter().map(|n| &n.name),
        );
        for (i, n) in self.neurons.iter().enumerate() {
            c.within(format!("neurons[{i}]"), |c| {
                self.validate_neuron_group(c, n)
            });
        }
        for (i, s) in self.synapses.iter().enumerate() {
            c.within(format!("synapses[{i}]"), |c| {
                self.validate_synapse_group(c, s, &names);
                registered.check_group(&s.stages, c);
            });
        }
        for (i, r) in self.dopamine_regions.iter().enumerate() {
            c.within(format!("dopamine_regions[{i}]"), |c| {
                self.validate_region(c, r)
            });
        }
        for (i, a) in self.astrocytes.iter().enumerate() {
            c.within(format!("astrocytes[{i}]"), |c| {
                self.validate_astrocyte_group(c, a, &names)
            });
        }
        for (i, e) in self.timeline.iter().enumerate() {
            c.within(format!("timeline[{i}]"), |c| e.validate(c, &names));
        }
        timeline::validate_changes(c, self, &names);
        for (i, r) in self.recorders.iter().enumerate() {
            c.within(format!("recorders[{i}]"), |c| {
                recorders::validate_recorder(c, r, &names, registered)
            });
        }
        if self.sweep.len() > 2 {
            c.fail("sweep", "at most two sweep axes");
        }
        for (i, a) in self.sweep.iter().enumerate() {
            c.within(format!("sweep[{i}]"), |c| {
                if a.values.is_empty() {
                    c.fail("values", "a sweep axis needs at least one value");
                }
                for v in &a.values {
                    let mut probe = self.clone();
                    probe.sweep.clear();
                    match paths::apply(&mut probe, &a.path, &(*v).into()) {
                        Err(paths::SetError::Path(m)) => {
                            c.fail("path", m);
                            break;
                        }
                        Err(paths::SetError::Value(m)) => {
                            c.fail("values", format!("`{}` = {v}: {m}", a.path));
                            break;
                        }
                        Ok(()) => {}
                    }
                    let mut inner = Checker::default();
                    probe.check_with(&mut inner, registered);
                    if let Some((p, m)) = inner.errors.first() {
                        c.fail("values", format!("value {v} makes `{p}` invalid: {m}"));
                        break;
                    }
                }
            });
        }
    }
}

impl Scene {
    /// The slow clock in steps (see [`Scene::slow_every_steps`]).
    pub fn slow_every(&self) -> u32 {
        match self.slow_every_steps {
            0 => ((10.0 / self.dt_ms).round() as u32).max(1),
            k => k,
        }
    }

    /// Checks one neuron group (the checker's path is the group's).
    pub(crate) fn validate_neuron_group(&self, c: &mut Checker, n: &NeuronGroup) {
        c.range("size", n.size as f64, 1.0, 1e9, "neurons");
        c.within("model", |c| n.model.validate(c, n.size, self.dt_ms));
        c.within("protein_pool", |c| n.protein_pool.validate(c));
    }

    /// Checks one dopamine region (the checker's path is the region's).
    pub(crate) fn validate_region(&self, c: &mut Checker, r: &DopamineRegion) {
        c.within("params", |c| r.params.validate(c));
    }

    /// Checks one astrocyte group (the checker's path is the group's).
    pub(crate) fn validate_astrocyte_group(
        &self,
        c: &mut Checker,
        a: &AstrocyteGroup,
        names: &Names,
    ) {
        c.name("name", &a.name);
        names.neuron_group(c, "covers", &a.covers);
        c.range(
            "neurons_per_astrocyte",
            a.neurons_per_astrocyte as f64,
            1.0,
            1e9,
            "",
        );
        c.within("params", |c| a.params.validate(c));
    }

    /// Checks one synapse group (the checker's path is the group's).
    pub(crate) fn validate_synapse_group(&self, c: &mut Checker, s: &SynapseGroup, names: &Names) {
        names.neuron_group(c, "pre", &s.pre);
        names.neuron_group(c, "post", &s.post);
        if let Some(r) = &s.region {
            names.dopamine_region(c, "region", r);
        }
        if s.gating.is_some() && s.region.is_none() {
            c.fail(
                "gating",
                "dopamine gating needs `region` to name a dopamine region",
            );
        }
        if s.gating.is_some() && !matches!(s.rule, Rule::PairStdp(_)) {
            c.fail(
                "gating",
                "dopamine gating applies to the PairStdp rule only",
            );
        }
        let (pre_n, post_n) = (names.size(&s.pre), names.size(&s.post));
        // Without autapses a neuron of a recurrent group has n − 1 possible partners.
        let no_self = s.pre == s.post && !s.allow_autapses;
        let degree = |c: &mut Checker, k: u32, n: Option<u32>, what: &str| {
            let Some(n) = n else { return };
            let partners = if no_self { n.saturating_sub(1) } else { n };
            if k > partners && no_self {
                c.fail(
                    "connectivity",
                    format!(
                        "{k} {what} is outside the valid range [0, {partners}] {what}: pre \
                         and post are the same group of {n} neurons and a neuron does not \
                         synapse onto itself (`allow_autapses: false`), so each has {partners} \
                         possible partners"
                    ),
                );
            } else {
                c.range("connectivity", k as f64, 0.0, partners as f64, what);
            }
        };
        match &s.connectivity {
            Connectivity::OneToOne => {
                if let (Some(a), Some(b)) = (pre_n, post_n)
                    && a != b
                {
                    c.fail(
                        "connectivity",
                        format!("OneToOne needs groups of equal size ({a} vs {b})"),
                    );
                }
            }
            Connectivity::AllToAll => {}
            Connectivity::FixedProbability(p) => {
                c.range("connectivity", *p, 0.0, 1.0, "(probability)")
            }
            Connectivity::FixedInDegree(k) => degree(c, *k, pre_n, "(in-degree)"),
            Connectivity::FixedOutDegree(k) => degree(c, *k, post_n, "(out-degree)"),
        }
        let max_delay = 1000.0;
        c.dist("axonal_delay_ms", &s.axonal_delay_ms, 0.0, max_delay, "ms");
        c.dist(
            "dendritic_delay_ms",
            &s.dendritic_delay_ms,
            0.0,
            max_delay,
            "ms",
        );
        c.within("ca", |c| s.ca.validate(c));
        c.within("rule", |c| s.rule.validate(c));
        let reads_ca = matches!(s.rule, Rule::CalciumRule(_) | Rule::EarlyCalcium(_));
        if reads_ca && s.ca == CaModel::Off {
            c.fail(
                "ca",
                "the calcium rules read spine Ca2+: choose Linear or Nmda, not Off".to_string(),
            );
        }
        if let Some(g) = &s.gating {
            c.within("gating", |c| g.validate(c));
        }
        if matches!(&s.rule, Rule::PairStdp(p) if p.event_driven) {
            let per_step = [
                (s.ca != CaModel::Off, "ca", "spine Ca2+ (choose `ca: Off`)"),
                (s.trafficking.is_some(), "trafficking", "AMPA trafficking"),
                (s.consolidation.is_some(), "consolidation", "consolidation"),
            ];
            for (_, field, what) in per_step.iter().filter(|c| c.0) {
                c.fail(
                    field,
                    format!(
                        "event-driven pair STDP (`rule.event_driven: true`) cannot be combined \
                         with {what}, which reads the weight or runs on every step"
                    ),
                );
            }
        }
        if reads_ca && s.rule.is_event_driven() {
            event_calcium_fits(s, c);
        }
        if let Some(t) = &s.trafficking {
            c.within("trafficking", |c| t.validate(c));
        }
        if let Some(t) = &s.consolidation {
            c.within("consolidation", |c| t.validate(c));
        }
        c.within("init", |c| {
            c.dist("h_mv", &s.init.h_mv, -1e3, 1e3, "mV");
            c.dist("z", &s.init.z, -1.0, 1.0, "");
            c.dist("rho", &s.init.rho, 0.0, 1.0, "");
        });
    }
}

/// An event-driven calcium-rule group ([`crate::stages::plasticity::event_calcium`]) takes its Ca
/// with its rule, so its Ca must be the linear model, and nothing may read the synapse on every
/// step (consolidation reads it on slow steps, after bringing it up to date).
fn event_calcium_fits(s: &SynapseGroup, c: &mut Checker) {
    let why = "event-driven calcium rule (`rule.event_driven: true`)";
    if !matches!(s.ca, CaModel::Linear(_)) {
        c.fail(
            "ca",
            format!("the {why} integrates the linear Ca model between spikes: choose `ca: Linear`"),
        );
    }
    let per_step = [
        (s.trafficking.is_some(), "trafficking", "AMPA trafficking"),
        (!s.stages.is_empty(), "stages", "registered stages"),
    ];
    for (_, field, what) in per_step.iter().filter(|c| c.0) {
        c.fail(
            field,
            format!(
                "the {why} cannot be combined with {what}, which reads the synapse on every step"
            ),
        );
    }
}

/// The scene's groups by name (the first of a name, as lookups in the lists find it), so that
/// checking the names that refer to groups takes one lookup each, whatever the scene's size.
pub(crate) struct Names<'a> {
    scene: &'a Scene,
    neurons: Index<'a>,
    synapses: Index<'a>,
    regions: Index<'a>,
    astrocytes: Index<'a>,
}

/// Position of each name in a list of groups (of its first use).
type Index<'a> = HashMap<&'a str, usize>;

fn index<'a>(names: impl Iterator<Item = &'a String>) -> Index<'a> {
    let mut out = HashMap::new();
    for (i, n) in names.enumerate() {
        out.entry(n.as_str()).or_insert(i);
    }
    out
}

impl<'a> Names<'a> {
    pub(crate) fn of(scene: &'a Scene) -> Self {
        Names {
            scene,
            neurons: index(scene.neurons.iter().map(|g| &g.name)),
            synapses: index(scene.synapses.iter().map(|g| &g.name)),
            regions: index(scene.dopamine_regions.iter().map(|g| &g.name)),
            astrocytes: index(scene.astrocytes.iter().map(|g| &g.name)),
        }
    }

    pub(crate) fn neurons(&self, name: &str) -> Option<&'a NeuronGroup> {
        self.neurons.get(name).map(|&i| &self.scene.neurons[i])
    }

    pub(crate) fn synapses(&self, name: &str) -> Option<&'a SynapseGroup> {
        self.synapses.get(name).map(|&i| &self.scene.synapses[i])
    }

    pub(crate) fn region(&self, name: &str) -> Option<&'a DopamineRegion> {
        self.regions
            .get(name)
            .map(|&i| &self.scene.dopamine_regions[i])
    }

    pub(crate) fn astrocytes(&self, name: &str) -> Option<&'a AstrocyteGroup> {
        self.astrocytes
            .get(name)
            .map(|&i| &self.scene.astrocytes[i])
    }

    /// The number of neurons of group `name`, if the scene has it.
    pub(crate) fn size(&self, name: &str) -> Option<u32> {
        self.neurons(name).map(|g| g.size)
    }

    /// The largest number of synapses group `name` can make (see
    /// [`synapse_count_upper_bound`]), if it and its neuron groups exist.
    pub(crate) fn synapse_upper_bound(&self, name: &str) -> Option<u64> {
        let g = self.synapses(name)?;
        let (a, b) = (self.size(&g.pre)?, self.size(&g.post)?);
        Some(expected_synapses(g, a as u64, b as u64).1)
    }

    /// Checks that `name`, at `field`, is a neuron group of the scene.
    pub(crate) fn neuron_group(&self, c: &mut Checker, field: &str, name: &str) {
        if self.neurons(name).is_none() {
            let all = self.scene.neurons.iter().map(|g| g.name.as_str());
            unknown(c, field, name, all, "neuron group");
        }
    }

    /// Checks that `name`, at `field`, is a dopamine region of the scene.
    pub(crate) fn dopamine_region(&self, c: &mut Checker, field: &str, name: &str) {
        if self.region(name).is_none() {
            let all = self.scene.dopamine_regions.iter().map(|g| g.name.as_str());
            unknown(c, field, name, all, "dopamine region");
        }
    }
}

/// The most names an error about an unknown name lists.
const NAMES_SHOWN: usize = 10;

/// Records that `name`, at `field`, is none of `all` (the first [`NAMES_SHOWN`] are listed).
fn unknown<'a>(
    c: &mut Checker,
    field: &str,
    name: &str,
    all: impl ExactSizeIterator<Item = &'a str>,
    what: &str,
) {
    let n = all.len();
    let shown: Vec<&str> = all.take(NAMES_SHOWN).collect();
    let list = match n {
        0 => "none".to_string(),
        n if n > NAMES_SHOWN => format!("{}, … ({n} in all)", shown.join(", ")),
        _ => shown.join(", "),
    };
    c.fail(
        field,
        format!("unknown {what} `{name}` (the scene has: {list})"),
    );
}

/// Checks the names of the groups listed under `field`: each is a name (see
/// [`crate::core::params::is_name`]) without `.`, which separates the parts of a parameter path, and
/// none is used twice.
/// Flags a name used twice in `field`.
fn repeated<'a>(c: &mut Checker, field: &str, names: impl Iterator<Item = &'a String>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.enumerate() {
        match seen.get(n.as_str()) {
            Some(first) => c.fail(
                &format!("{field}[{i}].name"),
                format!("the name `{n}` is used twice (first by {field}[{first}])"),
            ),
            None => {
                seen.insert(n, i);
            }
        }
    }
}

fn unique<'a>(c: &mut Checker, field: &str, names: impl Iterator<Item = &'a String>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.enumerate() {
        if let Some(first) = seen.get(n.as_str()) {
            c.fail(
                &format!("{field}[{i}].name"),
                format!("the name `{n}` is used twice (first by {field}[{first}])"),
            );
        } else {
            seen.insert(n, i);
        }
        let path = format!("{field}[{i}].name");
        c.name(&path, n);
        if is_name(n) && n.contains('.') {
            c.fail(
                &path,
                format!(
                    "`{n}` is not a valid group name: `.` separates the parts of a parameter \
                     path (`synapses.<group>.rule.a_plus`)"
                ),
            );
        }
    }
}
/// An upper bound of the synapses a group makes (exact except for FixedProbability).
pub fn synapse_count_upper_bound(scene: &Scene, group: &str) -> Option<u64> {
    let g = scene.synapses.iter().find(|g| g.name == group)?;
    let size = |n: &str| {
        scene
            .neurons
            .iter()
            .find(|g| g.name == n)
            .map(|g| g.size as u64)
    };
    let (a, b) = (size(&g.pre)?, size(&g.post)?);
    Some(expected_synapses(g, a, b).1)
}

/// Expected and largest number of synapses of a group between groups of `a` and `b` neurons.
pub fn expected_synapses(g: &SynapseGroup, a: u64, b: u64) -> (f64, u64) {
    let auto = g.pre == g.post && !g.allow_autapses;
    let pairs = if auto { a * b.saturating_sub(1) } else { a * b };
    match g.connectivity {
        Connectivity::OneToOne => (a.min(b) as f64, a.min(b)),
        Connectivity::AllToAll => (pairs as f64, pairs),
        Connectivity::FixedProbability(p) => (pairs as f64 * p, pairs),
        Connectivity::FixedInDegree(k) => ((b * k as u64) as f64, b * k as u64),
        Connectivity::FixedOutDegree(k) => ((a * k as u64) as f64, a * k as u64),
    }
}

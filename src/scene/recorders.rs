//! Recorders in a scene: what they may sample, and their checks against the scene.

use super::{Names, RecordTarget, Recorder};
use crate::core::params::{Checker, is_name};
use crate::core::registry::Stages;
use crate::stages::homeostasis::{ASTROCYTE_VARIABLE_UNITS, ASTROCYTE_VARIABLES};
use crate::stages::modulation::{REGION_VARIABLE_UNITS, REGION_VARIABLES};
use crate::stages::neurons::{NEURON_VARIABLE_UNITS, NEURON_VARIABLES};

/// What a recorder samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Synapses,
    Neurons,
    Regions,
    Astrocytes,
}

/// The variables a recorder of `kind` can sample: the built-in ones, and for synapses those of
/// the `registered` stages after them.
pub fn variable_names(kind: RecordKind, registered: &Stages) -> Vec<&'static str> {
    match kind {
        RecordKind::Synapses => crate::stages::synapse_variables()
            .into_iter()
            .chain(registered.variables())
            .map(|v| v.name)
            .collect(),
        RecordKind::Neurons => NEURON_VARIABLES.to_vec(),
        RecordKind::Regions => REGION_VARIABLES.to_vec(),
        RecordKind::Astrocytes => ASTROCYTE_VARIABLES.to_vec(),
    }
}

/// The units of [`variable_names`]`(kind, registered)`, in that order (`""` for dimensionless),
/// as each variable's stage declares them.
pub fn variable_units(kind: RecordKind, registered: &Stages) -> Vec<&'static str> {
    match kind {
        RecordKind::Synapses => crate::stages::synapse_variables()
            .into_iter()
            .chain(registered.variables())
            .map(|v| v.unit)
            .collect(),
        RecordKind::Neurons => NEURON_VARIABLE_UNITS.to_vec(),
        RecordKind::Regions => REGION_VARIABLE_UNITS.to_vec(),
        RecordKind::Astrocytes => ASTROCYTE_VARIABLE_UNITS.to_vec(),
    }
}

/// File names `edra run` writes itself; a recorder may not take them.
pub const RESERVED_NAMES: [&str; 4] = ["synapses", "spikes", "summary", "checkpoint"];

/// What a recorder target records.
pub fn kind_of(t: &RecordTarget) -> RecordKind {
    match t {
        RecordTarget::Synapses { .. } => RecordKind::Synapses,
        RecordTarget::Neurons { .. } => RecordKind::Neurons,
        RecordTarget::Regions => RecordKind::Regions,
        RecordTarget::Astrocytes => RecordKind::Astrocytes,
    }
}

fn variables_of(t: &RecordTarget, registered: &Stages) -> Vec<&'static str> {
    variable_names(kind_of(t), registered)
}

/// Checks a recorder's names against the scene.
pub(crate) fn validate_recorder(c: &mut Checker, r: &Recorder, names: &Names, registered: &Stages) {
    c.range("every_steps", r.every_steps as f64, 1.0, 1e9, "steps");
    c.name("name", &r.name);
    if is_name(&r.name) && r.name.contains('.') {
        c.fail(
            "name",
            format!(
                "`{}` is not a valid recorder name: no `.` (its file is `<name>.csv`)",
                r.name
            ),
        );
    }
    if RESERVED_NAMES.contains(&r.name.as_str()) {
        c.fail(
            "name",
            format!(
                "`{}` is taken by edra's own output file {}.csv/.ron",
                r.name, r.name
            ),
        );
    }
    let known = variables_of(&r.target, registered);
    // Each variable is one column of the CSV: a repeated one would be two columns of one name.
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, v) in r.variables.iter().enumerate() {
        if !known.contains(&v.as_str()) {
            c.fail(
                &format!("variables[{i}]"),
                format!(
                    "unknown variable `{v}` (this target has: {})",
                    known.join(", ")
                ),
            );
        } else if let Some(j) = first.get(v.as_str()) {
            c.fail(
                &format!("variables[{i}]"),
                format!("`{v}` is listed twice: variables[{j}] and variables[{i}]"),
            );
        } else {
            first.insert(v, i);
        }
    }
    let check_group = |c: &mut Checker, group: &str, indices: &[u32], size: Option<u64>| match size
    {
        None => c.fail("target.group", format!("unknown group `{group}`")),
        Some(n) => {
            if let Some(i) = indices.iter().find(|&&i| i as u64 >= n) {
                c.fail(
                    "target.indices",
                    format!("index {i} is outside group `{group}` ({n} members)"),
                );
            }
        }
    };
    match &r.target {
        RecordTarget::Synapses { group, indices } => {
            if names.synapses(group).is_some() {
                // The bound is unknown while the group's own neuron groups are wrong; that is
                // reported on the group.
                if let Some(n) = names.synapse_upper_bound(group) {
                    check_group(c, group, indices, Some(n))
                }
            } else {
                check_group(c, group, indices, None)
            }
        }
        RecordTarget::Neurons { group, indices } => {
            let size = names.size(group).map(u64::from);
            check_group(c, group, indices, size)
        }
        _ => {}
    }
}

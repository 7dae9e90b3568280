//! Setting one parameter of a scene by its path, for sweeps and timed parameter changes.
//!
//! A path names the kind of group, the group and the field: `synapses.<group>.rule.a_plus`,
//! `neurons.<group>.model.rate_hz`, `dopamine_regions.<name>.params.tau_dopamine_ms`,
//! `astrocytes.<name>.params.goal_hz`. The group is written to RON, the value replaced at the
//! field's position (see [`super::locate`]) and the text read back into the typed group, so the
//! new value goes through the same parsing as the scene itself.

use super::Scene;
pub use crate::core::param_path::{ParamValue, SetError, set_field, split};

/// Sets the parameter at `path` in `scene`.
pub fn apply(scene: &mut Scene, path: &str, value: &ParamValue) -> Result<(), String> {
    let (kind, group, field) = split(path)?;
    let missing = || format!("no {kind} group named `{group}`");
    match kind {
        "synapses" => {
            let g = scene.synapses.iter_mut().find(|g| g.name == group);
            Ok(set_field(g.ok_or_else(missing)?, field, value)?)
        }
        "neurons" => {
            let g = scene.neurons.iter_mut().find(|g| g.name == group);
            Ok(set_field(g.ok_or_else(missing)?, field, value)?)
        }
        "dopamine_regions" => {
            let g = scene.dopamine_regions.iter_mut().find(|g| g.name == group);
            Ok(set_field(g.ok_or_else(missing)?, field, value)?)
        }
        "astrocytes" => {
            let g = scene.astrocytes.iter_mut().find(|g| g.name == group);
            Ok(set_field(g.ok_or_else(missing)?, field, value)?)
        }
        _ => Err(format!(
            "`{path}`: a parameter path starts with synapses., neurons., dopamine_regions. or astrocytes."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plasticity::{Rule, StdpParams};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct G {
        name: String,
        size: u32,
        rule: Rule,
        on: bool,
    }

    #[test]
    fn sets_nested_numbers_integers_and_bools() {
        let mut g = G {
            name: "a".into(),
            size: 3,
            rule: Rule::PairStdp(StdpParams::default()),
            on: false,
        };
        set_field(&mut g, "rule.a_plus", &0.25.into()).unwrap();
        set_field(&mut g, "size", &7.0.into()).unwrap();
        set_field(&mut g, "on", &ParamValue::Bool(true)).unwrap();
        let Rule::PairStdp(p) = &g.rule else { panic!() };
        assert_eq!((p.a_plus, g.size, g.on), (0.25, 7, true));
        assert!(matches!(
            set_field(&mut g, "size", &7.5.into()),
            Err(SetError::Value(_))
        ));
        assert!(matches!(
            set_field(&mut g, "on", &7.0.into()),
            Err(SetError::Value(_))
        ));
        assert!(matches!(
            set_field(&mut g, "rule.nope", &1.0.into()),
            Err(SetError::Path(_))
        ));
        assert!(matches!(
            set_field(&mut g, "rule", &1.0.into()),
            Err(SetError::Path(_))
        ));
    }
}

//! Setting one parameter of a scene by its path, for sweeps and timed parameter changes.
//!
//! A path names the kind of group, the group and the field: `synapses.<group>.rule.a_plus`,
//! `neurons.<group>.model.rate_hz`, `dopamine_regions.<name>.params.tau_dopamine_ms`,
//! `astrocytes.<name>.params.goal_hz`. The path walks the typed group
//! ([`SetPath`](crate::core::param_path::SetPath)) down to one parameter block, whose declaration
//! checks the value against the parameter's range and unit; the caller then checks the whole group
//! as it checks the scene's own.

use super::Scene;
pub use crate::core::param_path::{ParamValue, SetError, set_field, split};

/// Sets the parameter at `path` in `scene`.
pub fn apply(scene: &mut Scene, path: &str, value: &ParamValue) -> Result<(), SetError> {
    let (kind, group, field) = split(path).map_err(SetError::Path)?;
    let missing = || SetError::Path(format!("no {kind} group named `{group}`"));
    match kind {
        "synapses" => {
            let g = scene.synapses.iter_mut().find(|g| g.name == group);
            set_field(g.ok_or_else(missing)?, field, value)
        }
        "neurons" => {
            let g = scene.neurons.iter_mut().find(|g| g.name == group);
            set_field(g.ok_or_else(missing)?, field, value)
        }
        "dopamine_regions" => {
            let g = scene.dopamine_regions.iter_mut().find(|g| g.name == group);
            set_field(g.ok_or_else(missing)?, field, value)
        }
        "astrocytes" => {
            let g = scene.astrocytes.iter_mut().find(|g| g.name == group);
            set_field(g.ok_or_else(missing)?, field, value)
        }
        _ => Err(SetError::Path(format!(
            "`{path}`: a parameter path starts with synapses., neurons., dopamine_regions. or astrocytes."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plasticity::{Rule, StdpParams};

    #[derive(Debug, PartialEq)]
    struct G {
        name: String,
        size: u32,
        rule: Rule,
        on: bool,
    }
    crate::settable!(G {
        name,
        size,
        rule,
        on
    });

    #[test]
    fn sets_nested_numbers_integers_and_bools() {
        let mut g = G {
            name: "a".into(),
            size: 3,
            rule: Rule::PairStdp(StdpParams::default()),
            on: false,
        };
        set_field(&mut g, "rule.a_plus", &0.25.into()).unwrap();
        set_field(&mut g, "rule.PairStdp.a_minus", &0.5.into()).unwrap();
        set_field(&mut g, "size", &7.0.into()).unwrap();
        set_field(&mut g, "on", &ParamValue::Bool(true)).unwrap();
        let Rule::PairStdp(p) = &g.rule else { panic!() };
        assert_eq!((p.a_plus, p.a_minus, g.size, g.on), (0.25, 0.5, 7, true));
        // The declared range of `tau_plus_ms` is [0.1, 1e4] ms.
        let e = set_field(&mut g, "rule.tau_plus_ms", &(-1.0).into()).unwrap_err();
        assert!(
            matches!(e, SetError::Value(_)) && e.to_string().contains("ms"),
            "{e}"
        );
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

    /// Every kind of group of a shipped scene, through enum variants (named or not), a
    /// distribution and a registered stage's map.
    #[test]
    fn sets_parameters_of_every_kind_of_group() {
        let mut scene = crate::scene::SceneFile::load("scenes/single_synapse.ron".as_ref())
            .unwrap()
            .scene;
        for (path, v) in [
            ("synapses.syn.rule.h_max_mv", 6.0),
            ("synapses.syn.rule.PairStdp.a_plus", 0.2),
            ("synapses.syn.init.h_mv", 2.0),
            ("synapses.syn.trafficking.k_exo_per_min", 0.5),
            ("neurons.pre.model.times_ms[0]", 400.0),
            ("neurons.post.protein_pool.tau_p_s", 20.0),
            ("dopamine_regions.vta.params.tau_dopamine_ms", 300.0),
            ("astrocytes.astro.params.goal_hz", 2.0),
        ] {
            apply(&mut scene, path, &v.into()).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let g = &scene.synapses[0];
        let Rule::PairStdp(p) = &g.rule else { panic!() };
        assert_eq!((p.h_max_mv, p.a_plus), (6.0, 0.2));
        assert_eq!(g.init.h_mv, crate::core::params::Dist::Const(2.0));
        assert_eq!(g.trafficking.as_ref().unwrap().k_exo_per_min, 0.5);
        assert_eq!(scene.astrocytes[0].params.goal_hz, 2.0);
        for (path, why) in [
            (
                "synapses.syn.rule.CalciumRule.tau_ms",
                "a variant the group does not have",
            ),
            ("synapses.syn.pre", "a name"),
            ("synapses.nope.rule.a_plus", "no such group"),
            ("bogus.syn.rule.a_plus", "no such kind"),
        ] {
            let e = apply(&mut scene, path, &1.0.into()).unwrap_err();
            assert!(matches!(e, SetError::Path(_)), "{path} ({why}): {e}");
        }
    }
}

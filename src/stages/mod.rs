//! Layer 3, the stages: the plasticity cascade, one module per stage in cascade order, with the
//! neuron models that drive it, spike delivery, the timeline of rewards and parameter changes,
//! and the per-group tables the stages read their parameters from.

pub mod ca_influx;
pub mod consolidation;
pub mod delivery;
pub mod groups;
pub mod guard;
pub mod homeostasis;
pub mod modulation;
pub mod neurons;
pub mod plasticity;
pub mod timeline;
pub mod trafficking;

use crate::core::registry::Observed;
use crate::engine::schedule::Plugin;

/// The built-in modules that add systems to a step, in cascade order. A new built-in module
/// with systems of its own is one more line here; a stage declared as a
/// [`SynapseStage`](crate::core::registry::SynapseStage) is registered in
/// [`crate::core::registry::Stages`] instead.
pub const BUILT_IN: [Plugin; 9] = [
    timeline::plugin,
    neurons::plugin,
    delivery::plugin,
    ca_influx::plugin,
    modulation::plugin,
    plasticity::plugin,
    trafficking::plugin,
    homeostasis::plugin,
    consolidation::plugin,
];

/// The built-in stages declared as [`SynapseStage`](crate::core::registry::SynapseStage)s:
/// what every scene, run and checkpoint knows without being told. A new built-in stage written
/// that way (its own module, like `examples/custom_stage.rs`) is one `.with(...)` here. A
/// user's program adds its own on top: `edra::stages::registered().with(camkii())`.
pub fn registered() -> crate::core::registry::Stages {
    crate::core::registry::Stages::none()
}

/// The built-in components with variables, in the order of outputs' columns (stage by stage,
/// the weight's after the rules', as all later stages read it): [`SynapseParts`], what a
/// synapse holds of them, [`synapse_variables`] and [`SYNAPSE_VARIABLE_COUNT`], from one list.
macro_rules! observed_components {
    ($($field:ident: $c:ty),* $(,)?) => {
        /// The built-in components of one synapse that outputs read (`None` where it lacks
        /// one), brought up to date.
        #[derive(Clone, Copy)]
        pub struct SynapseParts<'a> {
            $(pub $field: Option<&'a $c>,)*
        }

        impl SynapseParts<'_> {
            /// The values of [`synapse_variables`], in that order; `None` where the synapse
            /// lacks the component.
            pub fn values(&self) -> [Option<f32>; SYNAPSE_VARIABLE_COUNT] {
                let mut out = [None; SYNAPSE_VARIABLE_COUNT];
                let mut at = 0;
                $(read_into(&mut out, &mut at, self.$field);)*
                out
            }
        }

        /// Every built-in synapse variable, in the order of outputs' columns.
        pub fn synapse_variables() -> Vec<crate::core::registry::Variable> {
            let mut out = Vec::new();
            $(out.extend(<$c as Observed>::VARIABLES.iter().map(|r| r.variable));)*
            out
        }

        /// How many built-in synapse variables there are.
        pub const SYNAPSE_VARIABLE_COUNT: usize = 0 $(+ <$c as Observed>::VARIABLES.len())*;
    };
}

observed_components! {
    nmda: ca_influx::NmdaSpine,
    spine: ca_influx::SpineHeadCa,
    traces: plasticity::StdpTraces,
    rho: plasticity::CaRuleState,
    weight: crate::core::weight::SynapticWeight,
    pools: trafficking::AmpaPools,
    tag: consolidation::SynapticTag,
}

/// Writes the variables of `c` (or `None`s without it) to `out` from `at`, and moves `at` on.
fn read_into<C: Observed>(out: &mut [Option<f32>], at: &mut usize, c: Option<&C>) {
    for (o, r) in out[*at..].iter_mut().zip(C::VARIABLES) {
        *o = c.map(r.read);
    }
    *at += C::VARIABLES.len();
}

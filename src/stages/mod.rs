//! Layer 3, the stages: the plasticity cascade, one module per stage in cascade order, with the
//! neuron models that drive it, spike delivery, the timeline of rewards and parameter changes,
//! and the per-group tables the stages read their parameters from.

pub mod ca_influx;
pub mod components;
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

/// The built-in cascade, once: one line per stage module in cascade order, with the components
/// its synapses may carry. Everything that iterates the built-in stages or components is
/// generated from this list: the plugins that add systems to a step ([`BUILT_IN`]), the
/// bundles the build spawns and their initial values, the bytes per synapse of `edra check`,
/// the checkpoint's columns (in this order), the output variables (recorders, `synapses.csv`,
/// `edra show`, the synapse page; in this order) and the queries that read them.
///
/// A component slot is `one [field: Type]` (every synapse carries it) or `any [a: A | b: B]`
/// (a synapse carries at most one of them, as its group decides:
/// [`SynapseComponent::in_group`](components::SynapseComponent::in_group)). A new built-in
/// stage is its module (its `plugin`, its components with their
/// [`SynapseComponent`](components::SynapseComponent), checkpoint columns and variables
/// declared beside them) and one line here.
///
/// `cascade!(then)` calls the macro `then!` with the list.
macro_rules! cascade {
    ($then:ident) => {
        $then! {
            timeline: [];
            neurons: [];
            delivery: [one [synapse: $crate::core::synapse::Synapse]];
            ca_influx: [
                any [linear: $crate::stages::ca_influx::LinearCa
                    | nmda: $crate::stages::ca_influx::NmdaSpine],
                one [spine: $crate::stages::ca_influx::SpineHeadCa]
            ];
            modulation: [];
            plasticity: [
                any [traces: $crate::stages::plasticity::StdpTraces
                    | rho: $crate::stages::plasticity::CaRuleState
                    | early: $crate::stages::plasticity::EarlyCalciumRule],
                one [weight: $crate::core::weight::SynapticWeight],
                any [event: $crate::core::weight::EventDriven]
            ];
            trafficking: [any [pools: $crate::stages::trafficking::AmpaPools]];
            homeostasis: [];
            consolidation: [any [tag: $crate::stages::consolidation::SynapticTag]];
        }
    };
}
pub(crate) use cascade;

/// What a slot of `cascade!` (`one` or `any`) makes of its component `C` for those who read the
/// list: the query item (`query`: `&C`, or `Option<&C>` where some synapses lack it) and a
/// value that every synapse has, or may lack, as an `Option` (`some`).
macro_rules! slot {
    (query one $c:ty) => { &'static $c };
    (query any $c:ty) => { Option<&'static $c> };
    (some one $e:expr) => { Some($e) };
    (some any $e:expr) => { $e };
}
pub(crate) use slot;

/// From `cascade!`: [`BUILT_IN`], [`SynapseParts`], [`synapse_variables`] and
/// [`SYNAPSE_VARIABLE_COUNT`].
macro_rules! stages_and_variables {
    ($($stage:ident: [$($how:ident [$($field:ident: $c:ty)|+]),*]);* $(;)?) => {
        /// The built-in modules that add systems to a step, in cascade order (`cascade!`). A
        /// stage declared as a [`SynapseStage`](crate::core::registry::SynapseStage) is
        /// registered in [`crate::core::registry::Stages`] instead.
        pub const BUILT_IN: &[Plugin] = &[$($stage::plugin),*];

        /// The built-in components of one synapse (`None` where it lacks one), brought up to
        /// date, for the outputs to read.
        #[derive(Clone, Copy)]
        pub struct SynapseParts<'a> {
            $($($(pub $field: Option<&'a $c>,)+)*)*
        }

        impl SynapseParts<'_> {
            /// The values of [`synapse_variables`], in that order; `None` where the synapse
            /// lacks the component.
            pub fn values(&self) -> [Option<f32>; SYNAPSE_VARIABLE_COUNT] {
                let mut out = [None; SYNAPSE_VARIABLE_COUNT];
                let mut at = 0;
                $($($(read_into(&mut out, &mut at, self.$field);)+)*)*
                out
            }
        }

        /// Every built-in synapse variable, in the order of outputs' columns.
        pub fn synapse_variables() -> Vec<crate::core::registry::Variable> {
            let mut out = Vec::new();
            $($($(out.extend(<$c as Observed>::VARIABLES.iter().map(|r| r.variable));)+)*)*
            out
        }

        /// How many built-in synapse variables there are.
        pub const SYNAPSE_VARIABLE_COUNT: usize =
            0 $($($(+ <$c as Observed>::VARIABLES.len())+)*)*;
    };
}

cascade!(stages_and_variables);

/// The built-in stages declared as [`SynapseStage`](crate::core::registry::SynapseStage)s:
/// what every scene, run and checkpoint knows without being told. A user's program adds its
/// own on top: `edra::stages::registered().with(camkii())`.
pub fn registered() -> crate::core::registry::Stages {
    crate::core::registry::Stages::none()
}

/// Writes the variables of `c` (or `None`s without it) to `out` from `at`, and moves `at` on.
fn read_into<C: Observed>(out: &mut [Option<f32>], at: &mut usize, c: Option<&C>) {
    for (o, r) in out[*at..].iter_mut().zip(C::VARIABLES) {
        *o = c.map(r.read);
    }
    *at += C::VARIABLES.len();
}

//! Stages declared once: what a stage keeps on each synapse and how edra builds, steps, records,
//! shows and checkpoints it.
//!
//! A stage a program adds to the cascade is a [`SynapseStage`] (the built-in stages, whose
//! components are spawned with each synapse, are listed once in `stages::cascade` instead, each
//! component declaring its [`Observed`] variables and its checkpoint columns). The usual way to
//! write one is [`ComponentStage`]: one component type, one parameter block (declared with
//! `edra::params!`), a table of [`Field`]s and a function that adds its systems. Registered in
//! a [`Stages`] list, it is then everywhere the built-in stages are:
//!
//! - **scene**: a synapse group lists it in `stages: {"camkii": (tau_ms: 2000.0)}` (`()` for
//!   the defaults); its parameters are checked with their ranges and units, errors located at
//!   their line;
//! - **build**: the group's synapses get its component, with the group's parameters in
//!   [`GroupParams`];
//! - **step**: its systems run in [`Extends`]`(stage)`, after the built-in systems of its stage;
//! - **outputs**: its variables are recorder variables, columns of `synapses.csv`, rows of
//!   `edra show` and of the synapse page under its stage;
//! - **checkpoint**: its fields are columns of the checkpoint (`registered`), restored on resume.
//!
//! `examples/custom_stage.rs` (CaMKII) is the model to copy.

use crate::core::param_path::SetPath;
use crate::core::params::{Checker, Validate};
use crate::core::stage::{Extends, Stage};
use crate::core::synapse::Synapse;
use bevy_ecs::component::{ComponentId, Mutable};
use bevy_ecs::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// A variable a stage keeps on each synapse: a recorder variable, a column of `synapses.csv`
/// (its `name` carries the unit, `ca_um`), a row of `edra show` and of the synapse page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variable {
    pub name: &'static str,
    /// Unit, `""` for dimensionless.
    pub unit: &'static str,
    /// The stage it is shown under.
    pub stage: Stage,
    /// The component that holds it.
    pub component: &'static str,
    /// One line on what it is.
    pub doc: &'static str,
}

/// A variable of a built-in component, with how it is read off the component.
#[derive(Clone, Copy, Debug)]
pub struct Read<C> {
    pub variable: Variable,
    pub read: fn(&C) -> f32,
}

/// A built-in component whose fields are variables of the outputs (recorders, `synapses.csv`,
/// `edra show`, the synapse page), declared next to it, each under the stage that sets it
/// (none by default: a marker, or state that is not shown).
pub trait Observed: Sized + 'static {
    const VARIABLES: &'static [Read<Self>] = &[];
}

/// One parameter of a stage's parameter block, as `edra::params!` declares it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamField {
    pub name: &'static str,
    /// Unit, `""` for dimensionless or not a number.
    pub unit: &'static str,
    /// The default as written in the declaration.
    pub default: &'static str,
    /// The valid range `[min, max]` of a number (`None` for booleans and choices).
    pub range: Option<(f64, f64)>,
    pub doc: &'static str,
}

/// A parameter block of a stage: read from a scene, checked, set by path.
pub trait Params:
    Clone + Default + Serialize + DeserializeOwned + Validate + SetPath + Send + Sync + 'static
{
    /// The field table: name, unit, default, valid range, doc.
    const FIELDS: &'static [ParamField];
}

/// Declares a parameter block: each field once, with its type, default, and for a number its
/// unit and valid range `[min, max]`; its doc comment is the field's doc line.
/// Generates the struct (read from RON with defaults for missing fields, unknown fields
/// refused), `Default`, [`Validate`] (range checks naming the field and unit), [`SetPath`]
/// (sweeps and timed changes set a field by name, checked against its range) and [`Params`]
/// (the field table).
///
/// A field that is not a number (a `bool`, a choice) leaves out unit and range. `=> skip_if
/// "path"` leaves a field out of the written scene when `path(&value)` is true (so that older
/// checkpoints read the same). `check f;` after the block adds `f(&block, checker)` to the
/// validation, for conditions between fields.
///
/// ```
/// edra::params! {
///     /// Leak of a kinase.
///     pub struct KinaseParams {
///         /// Decay time constant.
///         tau_ms: f64 = 2000.0, "ms", [1.0, 1e7];
///         /// Whether the kinase is on.
///         on: bool = true;
///     }
/// }
/// let p = KinaseParams::default();
/// assert_eq!((p.tau_ms, p.on), (2000.0, true));
/// ```
#[macro_export]
macro_rules! params {
    (@unit) => { "" };
    (@unit $unit:literal) => { $unit };
    (@range) => { None };
    (@range $min:expr, $max:expr) => { Some(($min as f64, $max as f64)) };
    (@doc $default:expr) => { concat!("Default ", stringify!($default), ".") };
    (@doc $default:expr, $unit:literal, $min:expr, $max:expr) => {
        concat!("Unit: ", $unit, ". Default ", stringify!($default), ", valid ",
            stringify!($min), " to ", stringify!($max), ".")
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $default:expr
                    $(, $unit:literal, [$min:expr, $max:expr])?
                    $(=> skip_if $skip:literal)?;
            )*
        }
        $(check $extra:path;)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                #[doc = $crate::params!(@doc $default $(, $unit, $min, $max)?)]
                $(#[serde(skip_serializing_if = $skip)])?
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $crate::core::params::Validate for $name {
            fn validate(&self, c: &mut $crate::core::params::Checker) {
                $($(
                    $crate::core::params::Ranged::check_range(
                        &self.$field, c, stringify!($field), $min, $max, $unit);
                )?)*
                $($extra(self, c);)?
            }
        }

        impl $crate::core::param_path::SetPath for $name {
            fn set_at(
                &mut self,
                at: $crate::core::param_path::At<'_>,
                value: &$crate::core::param_path::ParamValue,
            ) -> Result<(), $crate::core::param_path::SetError> {
                let Some((seg, after)) = at.next() else {
                    return Err(at.not_a_value());
                };
                match seg {
                    $(stringify!($field) => {
                        let mut v = self.$field.clone();
                        $crate::core::param_path::SetPath::set_at(&mut v, after, value)?;
                        $(if after.checked() {
                            $crate::core::params::Ranged::within(&v, after, $min, $max, $unit)?;
                        })?
                        self.$field = v;
                        Ok(())
                    })*
                    _ => Err(at.no_such(&[$(stringify!($field)),*])),
                }
            }
        }

        impl $crate::core::registry::Params for $name {
            const FIELDS: &'static [$crate::core::registry::ParamField] = &[
                $($crate::core::registry::ParamField {
                    name: stringify!($field),
                    unit: $crate::params!(@unit $($unit)?),
                    default: stringify!($default),
                    range: $crate::params!(@range $($min, $max)?),
                    doc: concat!($($doc),*),
                },)*
            ];
        }
    };
}

/// A stage added to the cascade by registration. [`ComponentStage`] implements it for the usual
/// case of one component and one parameter block.
pub trait SynapseStage: Send + Sync + 'static {
    /// Its key in a synapse group's `stages` and its name in messages.
    fn name(&self) -> &'static str;
    /// The stage it belongs to: its systems run in [`Extends`]`(stage)`.
    fn stage(&self) -> Stage;
    /// The variables it keeps on each synapse, in order.
    fn variables(&self) -> Vec<Variable>;
    /// The field table of its parameters.
    fn parameters(&self) -> &'static [ParamField];
    /// Checks a group's parameters (`()` for the defaults) into `c`.
    fn check(&self, params: &ron::Value, c: &mut Checker);
    /// Gives the synapses of `groups` (group index, its parameters) its component and puts the
    /// parameters where its systems read them. Called once per build, before the first step.
    fn spawn(&self, world: &mut World, groups: &[(u16, ron::Value)], n_groups: usize);
    /// Registers its component in `world` (for [`SynapseStage::read`]).
    fn component_id(&self, world: &mut World) -> ComponentId;
    /// Its variables' values on `entity` (`None` if the synapse lacks the component); `id` is
    /// what [`SynapseStage::component_id`] returned for this world.
    fn read(&self, world: &World, id: ComponentId, entity: Entity, out: &mut [Option<f32>]);
    /// Its checkpoint columns: per variable, the value of every synapse in id order (0 where
    /// a synapse lacks it).
    fn save(&self, world: &mut World, n: usize) -> Vec<Vec<f32>>;
    /// Restores the columns [`SynapseStage::save`] wrote.
    fn restore(&self, world: &mut World, columns: &[&[f32]]);
    /// Adds its systems to the schedule, each in [`Extends`]`(self.stage())`.
    fn systems(&self, schedule: &mut Schedule);
}

/// A variable of a component: its declaration, how to read it and how to restore it.
pub struct Field<C> {
    pub variable: Variable,
    pub get: fn(&C) -> f32,
    pub set: fn(&mut C, f32),
}

/// The parameters of a registered stage per synapse group (`None` for groups without it),
/// indexed by [`Synapse::group`]. Its systems read it with `Res<GroupParams<P>>`.
#[derive(Resource, Clone, Debug)]
pub struct GroupParams<P>(pub Vec<Option<P>>);

/// A stage made of one component `C` with parameters `P`, declared by a few constants.
pub struct ComponentStage<C: 'static, P> {
    pub name: &'static str,
    pub stage: Stage,
    pub fields: &'static [Field<C>],
    /// The initial component of a synapse of a group with parameters `P`.
    pub init: fn(&P, &Synapse) -> C,
    /// Adds the stage's systems to a schedule (in `Extends(stage)`).
    pub systems: fn(&mut Schedule),
    pub marker: PhantomData<fn() -> P>,
}

impl<C, P: Params> ComponentStage<C, P> {
    fn parse(params: &ron::Value) -> Result<P, String> {
        match params {
            ron::Value::Unit => Ok(P::default()),
            v => v.clone().into_rust::<P>().map_err(|e| e.to_string()),
        }
    }
}

impl<C: Component<Mutability = Mutable> + Copy, P: Params> SynapseStage for ComponentStage<C, P> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn stage(&self) -> Stage {
        self.stage
    }

    fn variables(&self) -> Vec<Variable> {
        self.fields.iter().map(|f| f.variable).collect()
    }

    fn parameters(&self) -> &'static [ParamField] {
        P::FIELDS
    }

    fn check(&self, params: &ron::Value, c: &mut Checker) {
        match Self::parse(params) {
            Ok(p) => p.validate(c),
            Err(e) => c.fail("", e),
        }
    }

    fn spawn(&self, world: &mut World, groups: &[(u16, ron::Value)], n_groups: usize) {
        let mut per_group = vec![None; n_groups];
        for (g, v) in groups {
            per_group[*g as usize] = Some(Self::parse(v).expect("checked with the scene"));
        }
        let mut q = world.query::<(Entity, &Synapse)>();
        let batch: Vec<(Entity, C)> = q
            .iter(world)
            .filter_map(|(e, s)| {
                let p = per_group[s.group as usize].as_ref()?;
                Some((e, (self.init)(p, s)))
            })
            .collect();
        world.insert_batch(batch);
        world.insert_resource(GroupParams(per_group));
    }

    fn component_id(&self, world: &mut World) -> ComponentId {
        world.register_component::<C>()
    }

    fn read(&self, world: &World, id: ComponentId, entity: Entity, out: &mut [Option<f32>]) {
        let c = world.get_by_id(entity, id).map(|p| {
            // SAFETY: `id` is the id of `C` in this world (`component_id`).
            unsafe { p.deref::<C>() }
        });
        for (o, f) in out.iter_mut().zip(self.fields) {
            *o = c.map(|c| (f.get)(c));
        }
    }

    fn save(&self, world: &mut World, n: usize) -> Vec<Vec<f32>> {
        let mut cols = vec![vec![0.0f32; n]; self.fields.len()];
        let mut q = world.query::<(&Synapse, &C)>();
        for (s, c) in q.iter(world) {
            for (col, f) in cols.iter_mut().zip(self.fields) {
                col[s.id as usize] = (f.get)(c);
            }
        }
        cols
    }

    fn restore(&self, world: &mut World, columns: &[&[f32]]) {
        let mut q = world.query::<(&Synapse, &mut C)>();
        for (s, mut c) in q.iter_mut(world) {
            for (col, f) in columns.iter().zip(self.fields) {
                (f.set)(&mut c, col[s.id as usize]);
            }
        }
    }

    fn systems(&self, schedule: &mut Schedule) {
        (self.systems)(schedule)
    }
}

/// The stages registered on top of the built-in cascade, in the order they were added.
#[derive(Clone, Default)]
pub struct Stages(pub Vec<Arc<dyn SynapseStage>>);

impl Stages {
    /// No registered stage: the built-in cascade alone.
    pub fn none() -> Self {
        Stages::default()
    }

    /// Adds a stage (the one registration line of a new stage).
    ///
    /// # Panics
    /// If the stage declares more than 32 variables or no name.
    pub fn with(mut self, stage: impl SynapseStage) -> Self {
        assert!(
            stage.variables().len() <= 32 && !stage.name().is_empty(),
            "a registered stage has a name and at most 32 variables"
        );
        self.0.push(Arc::new(stage));
        self
    }

    /// The stage registered as `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn SynapseStage>> {
        self.0.iter().find(|s| s.name() == name)
    }

    /// The names of the registered stages, for messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.name()).collect()
    }

    /// Every variable of every registered stage, in registration order.
    pub fn variables(&self) -> Vec<Variable> {
        self.0.iter().flat_map(|s| s.variables()).collect()
    }

    /// Checks the `stages` map of a synapse group.
    pub fn check_group(&self, stages: &BTreeMap<String, ron::Value>, c: &mut Checker) {
        for (name, params) in stages {
            match self.get(name) {
                Some(s) => c.within(format!("stages.{name}"), |c| s.check(params, c)),
                None => c.fail(
                    "stages",
                    format!(
                        "unknown stage `{name}` (registered stages: {})",
                        if self.0.is_empty() {
                            "none".to_string()
                        } else {
                            self.names().join(", ")
                        }
                    ),
                ),
            }
        }
    }
}

/// The registered stages of a world, with their component ids in it.
#[derive(Resource, Clone, Default)]
pub struct Registered {
    pub stages: Stages,
    pub ids: Vec<ComponentId>,
    /// How many variables each stage has.
    pub counts: Vec<usize>,
}

impl Registered {
    /// Registers every stage's component in `world`.
    pub fn new(stages: Stages, world: &mut World) -> Self {
        let ids = stages.0.iter().map(|s| s.component_id(world)).collect();
        let counts = stages.0.iter().map(|s| s.variables().len()).collect();
        Registered {
            stages,
            ids,
            counts,
        }
    }

    /// Every variable's value on `entity`, in [`Stages::variables`] order, into `out`.
    pub fn read(&self, world: &World, entity: Entity, out: &mut Vec<Option<f32>>) {
        for ((s, id), n) in self.stages.0.iter().zip(&self.ids).zip(&self.counts) {
            let start = out.len();
            out.resize(start + n, None);
            s.read(world, *id, entity, &mut out[start..]);
        }
    }
}

/// Adds the systems of every registered stage to a schedule.
pub fn add_systems(stages: &Stages, schedule: &mut Schedule) {
    for s in &stages.0 {
        s.systems(schedule);
    }
}

/// The set a registered stage's systems go in.
pub fn set_of(stage: &dyn SynapseStage) -> Extends {
    Extends(stage.stage())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::param_path::SetError;

    crate::params! {
        /// A test block.
        pub struct TestParams {
            /// A time constant.
            tau_ms: f64 = 20.0, "ms", [0.1, 1000.0];
            /// A gain.
            gain: f64 = 1.0, "", [0.0, 10.0];
            /// A switch.
            on: bool = true;
        }
        check gain_below_tau;
    }

    fn gain_below_tau(p: &TestParams, c: &mut Checker) {
        if p.gain > p.tau_ms {
            c.fail("gain", "must not exceed tau_ms");
        }
    }

    #[test]
    fn one_declaration_gives_defaults_ranges_and_the_field_table() {
        use crate::core::param_path::{ParamValue, set_field};
        let p = TestParams::default();
        assert_eq!((p.tau_ms, p.gain, p.on), (20.0, 1.0, true));
        let mut q: TestParams = ron::from_str("(gain: 2.5)").unwrap();
        assert_eq!((q.tau_ms, q.gain), (20.0, 2.5));
        assert!(ron::from_str::<TestParams>("(gian: 2.5)").is_err());
        assert_eq!(TestParams::FIELDS[0].name, "tau_ms");
        assert_eq!(TestParams::FIELDS[0].unit, "ms");
        assert_eq!(TestParams::FIELDS[0].range, Some((0.1, 1000.0)));
        assert_eq!(TestParams::FIELDS[0].doc.trim(), "A time constant.");
        assert_eq!(
            (TestParams::FIELDS[2].default, TestParams::FIELDS[2].range),
            ("true", None)
        );
        set_field(&mut q, "tau_ms", &5.0.into()).unwrap();
        set_field(&mut q, "on", &ParamValue::Bool(false)).unwrap();
        assert_eq!((q.tau_ms, q.on), (5.0, false));
        let e = set_field(&mut q, "tau_ms", &(-1.0).into()).unwrap_err();
        assert!(e.to_string().contains("[0.1, 1000] ms"), "{e}");
        assert_eq!(q.tau_ms, 5.0, "a refused value leaves the field as it was");
        assert!(matches!(
            set_field(&mut q, "on", &1.0.into()),
            Err(SetError::Value(_))
        ));
        let e = set_field(&mut q, "nope", &1.0.into()).unwrap_err();
        assert!(matches!(e, SetError::Path(_)) && e.to_string().contains("tau_ms, gain, on"));
        let mut c = Checker::default();
        TestParams {
            tau_ms: 0.0,
            gain: 1.0,
            on: true,
        }
        .validate(&mut c);
        assert_eq!(c.errors[0].0, "tau_ms");
        let mut c = Checker::default();
        TestParams {
            gain: 30.0,
            ..TestParams::default()
        }
        .validate(&mut c);
        assert_eq!(
            c.errors.len(),
            2,
            "the range and the extra check: {:?}",
            c.errors
        );
        assert_eq!(c.errors[1].0, "gain");
    }
}

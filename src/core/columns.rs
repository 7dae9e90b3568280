//! A component's share of a checkpoint, declared once next to the component: for each of its
//! fields, the column it is saved in, the range a restored value must lie in, and how it is read
//! and written. Capturing a world, writing a binary checkpoint, checking one on resume and
//! restoring the synapses from it all go through these declarations (the assembly layer's
//! `columns` module), so a stage that adds a field to its component adds one line
//! to its `state_columns!` block and nothing else.

/// How one field of a component `C` is read and written, by the type of its column.
pub enum Field<C> {
    U8(fn(&C) -> u8, fn(&mut C, u8)),
    U16(fn(&C) -> u16, fn(&mut C, u16)),
    U32(fn(&C) -> u32, fn(&mut C, u32)),
    U64(fn(&C) -> u64, fn(&mut C, u64)),
    F32(fn(&C) -> f32, fn(&mut C, f32)),
    F64(fn(&C) -> f64, fn(&mut C, f64)),
    Bool(fn(&C) -> bool, fn(&mut C, bool)),
}

/// One checkpoint column of a component `C`.
pub struct StateColumn<C> {
    /// Its name in a checkpoint, `synapses.<field>`: a field of the checkpoint's
    /// `SynapseColumns` (the scene layer's `state` module), or a key of its `more` map.
    pub name: &'static str,
    /// The values a checkpoint may hold (`[lo, hi]`, finite), checked before anything is
    /// restored; `None` for a column whose values the build checks against the scene instead.
    pub range: Option<(f64, f64)>,
    /// Whether a checkpoint may leave it out (written only when a run uses it, or added after
    /// checkpoints were first written): restored as the component's value before the restore.
    pub optional: bool,
    pub field: Field<C>,
}

/// A component whose fields are columns of a checkpoint, in the order they are written.
pub trait StateColumns: Sized + 'static {
    /// None by default: a marker, whose presence the group decides.
    const COLUMNS: &'static [StateColumn<Self>] = &[];
}

/// Declares the checkpoint columns of a component, one line a column: its name (a field of
/// `SynapseColumns`, or a key of its `more` map), its type, the component's field that holds it (`cleft.glutamate_mm` for a
/// nested one), and either the range `[lo, hi]` of its valid values, `checked` (the build
/// checks it against the scene) or `any` (every value is valid: a flag). `optional` marks a
/// column a checkpoint may leave out.
///
/// ```
/// #[derive(Clone, Copy, Default)]
/// struct Pools { psd: f32, total: f32 }
/// edra::state_columns! {
///     "synapses" Pools {
///         psd_receptors: f32 = psd, [0.0, 1e9];
///         total_receptors: f32 = total, checked;
///     }
/// }
/// use edra::core::columns::StateColumns;
/// assert_eq!(Pools::COLUMNS[0].name, "synapses.psd_receptors");
/// assert_eq!(Pools::COLUMNS[1].range, None);
/// ```
#[macro_export]
macro_rules! state_columns {
    (@range checked) => { None };
    (@range any) => { None };
    (@range [$lo:expr, $hi:expr]) => { Some(($lo as f64, $hi as f64)) };
    (@optional) => { false };
    (@optional optional) => { true };
    (
        $kind:literal $component:ty {
            $(
                $name:ident : $ty:ident = $($path:ident).+ ,
                    $($range:ident)? $([$lo:expr, $hi:expr])? $(, $optional:ident)?;
            )*
        }
    ) => {
        impl $crate::core::columns::StateColumns for $component {
            const COLUMNS: &'static [$crate::core::columns::StateColumn<Self>] = &[
                $($crate::core::columns::StateColumn {
                    name: concat!($kind, ".", stringify!($name)),
                    range: $crate::state_columns!(@range $($range)? $([$lo, $hi])?),
                    optional: $crate::state_columns!(@optional $($optional)?),
                    field: $crate::__state_field!($ty, $component, $($path).+),
                },)*
            ];
        }
    };
}

/// One [`Field`] of [`state_columns!`]: the getter and setter of a field path.
#[doc(hidden)]
#[macro_export]
macro_rules! __state_field {
    ($ty:ident, $component:ty, $($path:ident).+) => {
        $crate::__state_variant!($ty)(
            |c: &$component| c.$($path).+,
            |c: &mut $component, v: $ty| c.$($path).+ = v,
        )
    };
}

/// The [`Field`] variant of a column type.
#[doc(hidden)]
#[macro_export]
macro_rules! __state_variant {
    (u8) => {
        $crate::core::columns::Field::U8
    };
    (u16) => {
        $crate::core::columns::Field::U16
    };
    (u32) => {
        $crate::core::columns::Field::U32
    };
    (u64) => {
        $crate::core::columns::Field::U64
    };
    (f32) => {
        $crate::core::columns::Field::F32
    };
    (f64) => {
        $crate::core::columns::Field::F64
    };
    (bool) => {
        $crate::core::columns::Field::Bool
    };
}

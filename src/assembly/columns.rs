//! The per-synapse and per-neuron columns of a checkpoint, read out of the world's tables: a
//! table at a time through its component slices (bevy's contiguous queries), in id order,
//! whole (the state of a RON checkpoint) or a piece at a time (written straight into a binary
//! checkpoint, [`Get::write`]). Entities are spawned in id order, so each table holds a few
//! runs of consecutive ids ([`Run`]; recorded entities have a table of their own).

use crate::core::columns::{Field, StateColumns};
use crate::scene::binary::{Column, ColumnRef, ColumnType, Element, Writer};
use crate::stages::components::{NewSynapse, SynapseComponent};
use crate::stages::consolidation::ConsolidationProteinPool;
use crate::stages::neurons::{IzhikevichState, LifState, Neuron, SpikeCursor};
use bevy_ecs::prelude::*;
use std::io::{self, Write};
use std::ops::Range;

/// A kind of entity whose checkpoint columns come from its tables: how its rows are sliced.
pub trait Kind {
    /// The rows of one table (or a range of them), a slice per component.
    type Rows<'w>: Copy;
    /// How many rows.
    fn len(rows: &Self::Rows<'_>) -> usize;
    /// The id of the entity at `row`.
    fn id(rows: &Self::Rows<'_>, row: usize) -> u32;
    /// The rows `range` of `rows`.
    fn cut<'w>(rows: &Self::Rows<'w>, range: Range<usize>) -> Self::Rows<'w>;
}

/// The synapses.
pub struct Synapses;

/// The neurons.
pub struct Neurons;

/// The components of a neuron's state, read a whole table at a time.
pub type NeuronQuery = (
    &'static Neuron,
    Option<&'static LifState>,
    Option<&'static IzhikevichState>,
    Option<&'static SpikeCursor>,
    &'static ConsolidationProteinPool,
);

/// Rows of neurons: a slice per component, `None` where the table's neurons lack it.
#[derive(Clone, Copy)]
pub struct NeuronRows<'w> {
    neuron: &'w [Neuron],
    lif: Option<&'w [LifState]>,
    izh: Option<&'w [IzhikevichState]>,
    cursor: Option<&'w [SpikeCursor]>,
    pool: &'w [ConsolidationProteinPool],
}

impl Kind for Synapses {
    type Rows<'w> = SynapseRows<'w>;

    fn len(rows: &SynapseRows) -> usize {
        rows.synapse.len()
    }

    fn id(rows: &SynapseRows, row: usize) -> u32 {
        rows.synapse[row].id
    }

    fn cut<'w: 'w>(s: &SynapseRows<'w>, range: Range<usize>) -> SynapseRows<'w> {
        s.cut(range)
    }
}

impl Kind for Neurons {
    type Rows<'w> = NeuronRows<'w>;

    fn len(rows: &NeuronRows) -> usize {
        rows.neuron.len()
    }

    fn id(rows: &NeuronRows, row: usize) -> u32 {
        rows.neuron[row].id
    }

    fn cut<'w: 'w>(s: &NeuronRows<'w>, range: Range<usize>) -> NeuronRows<'w> {
        let r = || range.clone();
        NeuronRows {
            neuron: &s.neuron[r()],
            lif: s.lif.map(|c| &c[r()]),
            izh: s.izh.map(|c| &c[r()]),
            cursor: s.cursor.map(|c| &c[r()]),
            pool: &s.pool[r()],
        }
    }
}

/// Entities `first..first + rows.len()`: the rows `rows` of table `table`.
struct Run {
    first: usize,
    table: usize,
    rows: Range<usize>,
}

/// Every table of one kind of entity, and the runs of consecutive ids in them.
pub struct Tables<'w, K: Kind> {
    tables: Vec<K::Rows<'w>>,
    runs: Vec<Run>,
}

impl<'w> Tables<'w, Synapses> {
    /// The synapse tables of `world` (synapse queries are dense); `n` synapses in all.
    pub fn synapses(world: &'w World, q: &'w mut QueryState<SynapseQuery>, n: usize) -> Self {
        let tables = q.contiguous_iter(world).expect("synapse queries are dense");
        Tables::new(tables.map(SynapseRows::of).collect(), n, partial(world))
    }
}

/// Whether `world` holds a share of a run's entities (one rank of several).
fn partial(world: &World) -> bool {
    world
        .get_resource::<crate::engine::partition::Partition>()
        .is_some_and(|p| !p.is_whole())
}

impl<'w> Tables<'w, Neurons> {
    /// The neuron tables of `world` (neuron queries are dense); `n` neurons in all.
    pub fn neurons(world: &'w World, q: &'w mut QueryState<NeuronQuery>, n: usize) -> Self {
        let tables = q.contiguous_iter(world).expect("neuron queries are dense");
        let tables = tables.map(|t| NeuronRows {
            neuron: t.0,
            lif: t.1,
            izh: t.2,
            cursor: t.3,
            pool: t.4,
        });
        Tables::new(tables.collect(), n, partial(world))
    }
}

impl<'w, K: Kind> Tables<'w, K> {
    /// `tables` with their runs, in id order; they must cover the ids `0..n` once each, or
    /// (`partial`: this rank's share of a run shared among ranks) some of them once each.
    fn new(tables: Vec<K::Rows<'w>>, n: usize, partial: bool) -> Self {
        let mut runs = Vec::new();
        for (table, t) in tables.iter().enumerate() {
            let len = K::len(t);
            let mut start = 0;
            for row in 1..=len {
                if row == len || K::id(t, row) != K::id(t, row - 1).wrapping_add(1) {
                    let first = K::id(t, start) as usize;
                    runs.push(Run {
                        first,
                        table,
                        rows: start..row,
                    });
                    start = row;
                }
            }
        }
        runs.sort_unstable_by_key(|r| r.first);
        let mut next = 0;
        for r in &runs {
            // A rank of a shared run holds some of the ids only ([`Tables::partial`]).
            assert!(
                r.first == next || (partial && r.first > next),
                "internal: ids are not 0..{n} once each"
            );
            next = r.first + r.rows.len();
        }
        assert!(
            next == n || (partial && next <= n),
            "internal: ids are not 0..{n} once each"
        );
        Tables { tables, runs }
    }

    /// Every entity in id order, at most `chunk` rows at a time, with the id of the first.
    fn pieces(&self, chunk: usize) -> impl Iterator<Item = (usize, K::Rows<'w>)> + '_ {
        self.runs.iter().flat_map(move |run| {
            let (table, rows) = (&self.tables[run.table], run.rows.clone());
            let starts = rows.clone().step_by(chunk);
            starts.map(move |r| {
                let end = r.saturating_add(chunk).min(rows.end);
                (run.first + r - rows.start, K::cut(table, r..end))
            })
        })
    }
}

/// `out[i] = f(from[i])`, or the default (0) where the component is absent.
#[inline]
fn fill<C, T: Copy + Default>(out: &mut [T], from: Option<&[C]>, f: impl Fn(&C) -> T) {
    match from {
        Some(c) => out.iter_mut().zip(c).for_each(|(o, c)| *o = f(c)),
        None => out.fill(T::default()),
    }
}

/// How a checkpoint column is read from rows of entities of kind `K`: it fills a slice as long
/// as the rows, with 0 where they lack the component.
pub enum Get<K: Kind> {
    U8(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [u8])),
    U16(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [u16])),
    U32(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [u32])),
    U64(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [u64])),
    F32(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [f32])),
    F64(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [f64])),
    Bool(for<'a, 'w> fn(&'a K::Rows<'w>, &mut [bool])),
}

impl<K: Kind> Clone for Get<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Kind> Copy for Get<K> {}

/// A per-synapse column of a checkpoint, as its component declares it
/// ([`crate::core::columns`]), with how it is read out of rows of synapses.
#[derive(Clone, Copy)]
pub struct SynapseColumn {
    pub name: &'static str,
    /// The values a checkpoint may hold, `None` where the build checks them.
    pub range: Option<(f64, f64)>,
    /// Whether a checkpoint may leave it out.
    pub optional: bool,
    pub get: Get<Synapses>,
}

/// The slices of component `C` in rows of synapses, `None` where they lack it.
pub trait SliceOf<C> {
    fn slice_of(&self) -> Option<&[C]>;
}

/// From the components of [`crate::stages::cascade`], in its order: the [`SynapseQuery`]
/// that reads them a table at a time, the [`SynapseRows`] of its slices, their cut and
/// [`SliceOf`], [`synapse_columns`] (those the components declare, in this order: a binary
/// checkpoint's) and [`SynapseValues`], made fresh or restored from them.
macro_rules! synapse_components {
    ($($stage:ident: [$($how:ident [$($field:ident: $c:ty)|+]),*]);* $(;)?) => {
        /// The components a synapse may carry, read a whole table at a time.
        pub type SynapseQuery = ($($($(crate::stages::slot!(query $how $c),)+)*)*);

        /// Rows of synapses: a slice per component, `None` where the table's synapses lack it.
        #[derive(Clone, Copy)]
        pub struct SynapseRows<'w> {
            $($($($field: synapse_components!(@slice $how $c),)+)*)*
        }

        impl<'w> SynapseRows<'w> {
            fn of(
                ($($($($field,)+)*)*): ($($($(synapse_components!(@slice $how $c),)+)*)*),
            ) -> Self {
                SynapseRows { $($($($field,)+)*)* }
            }

            fn cut(&self, range: Range<usize>) -> Self {
                SynapseRows {
                    $($($($field: synapse_components!(@cut $how self.$field, range),)+)*)*
                }
            }
        }

        $($($(impl SliceOf<$c> for SynapseRows<'_> {
            #[inline(always)]
            fn slice_of(&self) -> Option<&[$c]> {
                crate::stages::slot!(some $how self.$field)
            }
        })+)*)*

        /// The values of every component a synapse may carry (their defaults where it lacks
        /// one): a synapse as it is built, or restored from a checkpoint.
        #[derive(Clone, Copy, Debug, Default)]
        pub struct SynapseValues {
            $($($(pub $field: $c,)+)*)*
        }

        impl SynapseValues {
            /// A new synapse: each component's
            /// [`fresh`](crate::stages::components::SynapseComponent::fresh) value.
            #[inline(always)]
            pub fn fresh(new: &NewSynapse) -> Self {
                SynapseValues {
                    $($($($field: <$c as SynapseComponent>::fresh(new),)+)*)*
                }
            }

            /// `self` with the values of synapse `i` in `columns`, which are those of
            /// [`synapse_columns`] in its order (`None`: left out of the checkpoint, the value
            /// of `self` is kept).
            #[inline(always)]
            pub fn restored(mut self, columns: &[Option<ColumnRef>], i: usize) -> Self {
                let mut at = 0;
                $($($(self.$field = restore(self.$field, columns, &mut at, i);)+)*)*
                self
            }
        }

        /// Every per-synapse column of a checkpoint, component after component in cascade
        /// order, each component's in the order it declares them; the order of
        /// [`State::visit_columns`](crate::scene::state::State::visit_columns) and of a
        /// binary file.
        pub fn synapse_columns() -> Vec<SynapseColumn> {
            [$($($(columns_of::<$c>(),)+)*)*].concat()
        }
    };
    (@slice one $c:ty) => { &'w [$c] };
    (@slice any $c:ty) => { Option<&'w [$c]> };
    (@cut one $e:expr, $r:expr) => { &$e[$r.clone()] };
    (@cut any $e:expr, $r:expr) => { $e.map(|c| &c[$r.clone()]) };
}

crate::stages::cascade!(synapse_components);

/// The most checkpoint columns a component may declare: [`columns_of`] and [`restore`] make a
/// reader and a setter for each index up to it.
const MAX_COLUMNS: usize = 6;

/// The columns component `C` declares, read from rows of synapses.
fn columns_of<C: StateColumns>() -> Vec<SynapseColumn>
where
    for<'w> SynapseRows<'w>: SliceOf<C>,
{
    const {
        assert!(
            C::COLUMNS.len() <= MAX_COLUMNS,
            "too many columns in a component"
        )
    };
    let all = [
        column::<C, 0>(),
        column::<C, 1>(),
        column::<C, 2>(),
        column::<C, 3>(),
        column::<C, 4>(),
        column::<C, 5>(),
    ];
    all.into_iter().flatten().collect()
}

/// Column `I` of component `C`, if it has one. The reader is made for `C` and `I`, so the
/// field's getter is a constant in it, called directly (and inlined).
fn column<C: StateColumns, const I: usize>() -> Option<SynapseColumn>
where
    for<'w> SynapseRows<'w>: SliceOf<C>,
{
    let declared = C::COLUMNS.get(I)?;
    macro_rules! reader {
        ($($v:ident),*) => {
            match declared.field {
                $(Field::$v(..) => Get::$v(|s, o| {
                    let Field::$v(get, _) = C::COLUMNS[I].field else {
                        unreachable!()
                    };
                    fill(o, s.slice_of(), get)
                }),)*
            }
        };
    }
    Some(SynapseColumn {
        name: declared.name,
        range: declared.range,
        optional: declared.optional,
        get: reader!(U8, U16, U32, U64, F32, F64, Bool),
    })
}

/// Component `init` with the values of synapse `i` in its columns, which start at `columns[*at]`
/// (`at` is moved past them; a column left out of the checkpoint keeps `init`'s value).
#[inline(always)]
fn restore<C: StateColumns>(
    mut init: C,
    columns: &[Option<ColumnRef>],
    at: &mut usize,
    i: usize,
) -> C {
    const {
        assert!(
            C::COLUMNS.len() <= MAX_COLUMNS,
            "too many columns in a component"
        )
    };
    let cols = &columns[*at..*at + C::COLUMNS.len()];
    set::<C, 0>(&mut init, cols, i);
    set::<C, 1>(&mut init, cols, i);
    set::<C, 2>(&mut init, cols, i);
    set::<C, 3>(&mut init, cols, i);
    set::<C, 4>(&mut init, cols, i);
    set::<C, 5>(&mut init, cols, i);
    *at += C::COLUMNS.len();
    init
}

/// Sets field `I` of `c` (if it has one) to value `i` of its column in `cols` (if the
/// checkpoint has it). The setter is a constant here, called directly.
#[inline(always)]
fn set<C: StateColumns, const I: usize>(c: &mut C, cols: &[Option<ColumnRef>], i: usize) {
    let (Some(declared), Some(Some(col))) = (C::COLUMNS.get(I), cols.get(I)) else {
        return;
    };
    macro_rules! set {
        ($($v:ident),*) => {
            match (&declared.field, col) {
                $((Field::$v(_, set), ColumnRef::$v(values)) => set(c, values[i]),)*
                _ => unreachable!("{}: a column of another type (refused on load)", declared.name),
            }
        };
    }
    set!(U8, U16, U32, U64, F32, F64, Bool)
}

/// The per-neuron columns of a checkpoint read from the neurons' components (the Poisson
/// sources' next steps come from their calendar), named and ordered as in
/// [`State::visit_columns`](crate::scene::state::State::visit_columns). A neuron has one
/// model: its potential is the LIF or the Izhikevich one.
pub const NEURON_COLUMNS: &[(&str, Get<Neurons>)] = &[
    (
        "neurons.v_mv",
        Get::F32(|s, o| {
            fill(o, s.lif, |x| x.v_mv);
            if let Some(izh) = s.izh {
                fill(o, Some(izh), |x| x.v_mv);
            }
        }),
    ),
    ("neurons.u", Get::F32(|s, o| fill(o, s.izh, |x| x.u))),
    (
        "neurons.refractory_steps",
        Get::U32(|s, o| fill(o, s.lif, |x| x.refractory_steps)),
    ),
    (
        "neurons.spike_cursor",
        Get::U32(|s, o| fill(o, s.cursor, |x| x.next)),
    ),
    (
        "neurons.protein",
        Get::F64(|s, o| fill(o, Some(s.pool), |x| x.protein)),
    ),
];

/// Entities read out of the world at a time when a column is written: 64 KiB of `f32`, which
/// stay in the cache until they are summed and copied on.
const PIECE: usize = 1 << 14;

/// The buffers a column is read into a piece at a time, one per type.
#[derive(Default)]
pub struct Scratch {
    u8: Vec<u8>,
    u16: Vec<u16>,
    u32: Vec<u32>,
    u64: Vec<u64>,
    f32: Vec<f32>,
    f64: Vec<f64>,
    bool: Vec<bool>,
}

impl<K: Kind> Get<K> {
    /// The column of the `n` entities of `tables`, in id order.
    pub fn column(self, tables: &Tables<K>, n: usize) -> Column {
        fn whole<K: Kind, T: Copy + Default>(
            tables: &Tables<K>,
            n: usize,
            f: for<'a, 'w> fn(&'a K::Rows<'w>, &mut [T]),
        ) -> Vec<T> {
            let mut v = vec![T::default(); n];
            for (first, rows) in tables.pieces(usize::MAX) {
                f(&rows, &mut v[first..first + K::len(&rows)]);
            }
            v
        }
        match self {
            Get::U8(f) => Column::U8(whole(tables, n, f).into()),
            Get::U16(f) => Column::U16(whole(tables, n, f).into()),
            Get::U32(f) => Column::U32(whole(tables, n, f).into()),
            Get::U64(f) => Column::U64(whole(tables, n, f).into()),
            Get::F32(f) => Column::F32(whole(tables, n, f).into()),
            Get::F64(f) => Column::F64(whole(tables, n, f).into()),
            Get::Bool(f) => Column::Bool(whole(tables, n, f)),
        }
    }

    /// The column of the entities `tables` holds, in id order, without the gaps of the ids
    /// they do not hold (one rank's share of a run).
    pub fn own(self, tables: &Tables<K>) -> Column {
        fn own<K: Kind, T: Copy + Default>(
            tables: &Tables<K>,
            f: for<'a, 'w> fn(&'a K::Rows<'w>, &mut [T]),
        ) -> Vec<T> {
            let mut v = Vec::new();
            for (_, rows) in tables.pieces(usize::MAX) {
                let at = v.len();
                v.resize(at + K::len(&rows), T::default());
                f(&rows, &mut v[at..]);
            }
            v
        }
        match self {
            Get::U8(f) => Column::U8(own(tables, f).into()),
            Get::U16(f) => Column::U16(own(tables, f).into()),
            Get::U32(f) => Column::U32(own(tables, f).into()),
            Get::U64(f) => Column::U64(own(tables, f).into()),
            Get::F32(f) => Column::F32(own(tables, f).into()),
            Get::F64(f) => Column::F64(own(tables, f).into()),
            Get::Bool(f) => Column::Bool(own(tables, f)),
        }
    }

    /// The type of the column's values.
    fn kind(self) -> ColumnType {
        fn of<K: Kind, T: Element>(_: for<'a, 'w> fn(&'a K::Rows<'w>, &mut [T])) -> ColumnType {
            T::TYPE
        }
        match self {
            Get::U8(f) => of::<K, _>(f),
            Get::U16(f) => of::<K, _>(f),
            Get::U32(f) => of::<K, _>(f),
            Get::U64(f) => of::<K, _>(f),
            Get::F32(f) => of::<K, _>(f),
            Get::F64(f) => of::<K, _>(f),
            Get::Bool(f) => of::<K, _>(f),
        }
    }

    /// Writes the column `name` of the `n` entities of `tables` to `w`, a piece at a time
    /// through `scratch`, without holding it whole.
    pub fn write<W: Write>(
        self,
        name: &str,
        tables: &Tables<K>,
        n: usize,
        w: &mut Writer<W>,
        scratch: &mut Scratch,
    ) -> io::Result<()> {
        fn pieces<K: Kind, T: bytemuck::NoUninit + Default, W: Write>(
            tables: &Tables<K>,
            w: &mut Writer<W>,
            buf: &mut Vec<T>,
            f: for<'a, 'w> fn(&'a K::Rows<'w>, &mut [T]),
        ) -> io::Result<()> {
            buf.resize(PIECE, T::default());
            for (_, rows) in tables.pieces(PIECE) {
                let out = &mut buf[..K::len(&rows)];
                f(&rows, out);
                w.values(bytemuck::cast_slice(out))?;
            }
            Ok(())
        }
        w.begin_column(name, self.kind(), n as u64)?;
        match self {
            Get::U8(f) => pieces(tables, w, &mut scratch.u8, f)?,
            Get::U16(f) => pieces(tables, w, &mut scratch.u16, f)?,
            Get::U32(f) => pieces(tables, w, &mut scratch.u32, f)?,
            Get::U64(f) => pieces(tables, w, &mut scratch.u64, f)?,
            Get::F32(f) => pieces(tables, w, &mut scratch.f32, f)?,
            Get::F64(f) => pieces(tables, w, &mut scratch.f64, f)?,
            Get::Bool(f) => pieces(tables, w, &mut scratch.bool, f)?,
        }
        w.end_column()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::state::State;

    /// Every synapse column that the checkpoint's state has a field for is declared by a
    /// component, in the same order (the order of a binary file), once, with a type that
    /// matches (a declared column without a field would go to `SynapseColumns::more`; none does
    /// yet); and a declared range is on a column whose type the checks on resume can range.
    #[test]
    fn declared_columns_are_the_states() {
        let mut stored = Vec::new();
        State::default().visit_columns(&mut |name, col| {
            if name.starts_with("synapses.") {
                stored.push((name.to_string(), col.kind()));
            }
        });
        let declared: Vec<_> = synapse_columns()
            .iter()
            .map(|c| (c.name.to_string(), c.get.kind()))
            .collect();
        assert_eq!(declared, stored);
        use ColumnType::*;
        for c in synapse_columns().iter().filter(|c| c.range.is_some()) {
            let kind = c.get.kind();
            assert!(
                matches!(kind, U8 | U16 | U32 | F32 | F64),
                "{}: {kind:?}",
                c.name
            );
        }
    }
}

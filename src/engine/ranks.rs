//! The processes of a run and what they say to each other: the only place in edra that talks
//! to MPI (issue 13).
//!
//! A run is `size` processes, the ranks `0..size`. [`Ranks`] says which one this is and offers
//! the few collectives the engine needs (which neurons a rank owns is the engine's
//! [`Partition`](crate::engine::partition::Partition)). Every
//! collective must be called by every rank, in the same order, or the job hangs; each is the
//! identity for one process, which then makes no MPI call at all.
//!
//! [`Ranks::single`] is one process and needs no MPI. With the cargo feature `mpi`,
//! `Ranks::from_env` initialises MPI (rsmpi over the system's MPI library) and returns the
//! world's rank and size: under `mpirun -n K` that is K processes, started any other way it is
//! MPI's singleton, one process.
//!
//! # MPI's lifetime
//!
//! MPI is initialised once per process, on the first `Ranks::from_env`, and finalised when
//! the process exits, by an `atexit` handler. The `Universe` lives in a static meanwhile, so
//! that every `Ranks` is cheap to clone and no `Ranks` can outlive MPI. Why not a guard that
//! finalises when dropped: OpenMPI's `mpirun` fails a job one of whose processes exits without
//! `MPI_Finalize` (exit code 1, "exiting improperly"), and `std::process::exit` skips drops; a
//! static alone is never dropped, so never finalises. And why not when the last `Ranks` goes:
//! a panic unwinds through the drops, and `MPI_Finalize` on one rank while the others wait in a
//! collective hangs the whole job.
//!
//! # Failures
//!
//! A rank that stops alone leaves the others waiting in their next collective. So
//! `Ranks::from_env` on more than one process installs a panic hook that, after the usual
//! message, aborts the whole job with `MPI_Abort` (exit code 101, Rust's for a panic); an error
//! every rank knows of is agreed on with [`Ranks::any_failed`] and returned normally; an error
//! only one rank knows of, mid-run, ends the job with [`Ranks::abort`].
//!
//! # Threads
//!
//! MPI is asked for `MPI_THREAD_MULTIPLE` and must give at least `MPI_THREAD_SERIALIZED`:
//! a `Ranks` is a bevy [`Resource`], so its collectives may be called from any of the worker
//! threads, and they take a process-wide lock, so that two are never in MPI at once. (The panic
//! hook's `MPI_Abort` is the one call made without it.)

use bevy_ecs::prelude::*;

use crate::core::error::{EdraError, Result};

/// What [`Ranks::all_gather_u32`] gathered, with the buffers it gathers into.
#[derive(Clone, Debug, Default)]
pub struct Gathered {
    /// Every rank's elements, in rank order.
    pub all: Vec<u32>,
    /// Each rank's count and where its elements start (MPI's C ints; unused by one process).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    counts: Vec<i32>,
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    displs: Vec<i32>,
}

/// `EDRA_MPI_GATHER_BYTES`: the bytes each rank sends per round of
/// [`Ranks::gather_all_bytes_to_root`] instead of 2^30 / ranks (tests use a few kB, to gather a
/// checkpoint in many rounds).
fn gather_piece_bytes() -> Option<usize> {
    std::env::var("EDRA_MPI_GATHER_BYTES").ok()?.parse().ok()
}

/// This process's rank once `Ranks::from_env` has run (0 before, and without MPI).
static PROCESS_RANK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Which of the run's processes this is, and the MPI world it is part of.
///
/// Cloning is cheap; every clone talks to the same world.
#[derive(Resource, Clone, Debug)]
pub struct Ranks {
    rank: usize,
    size: usize,
    /// The world communicator, when MPI is initialised (not for [`Ranks::single`]).
    #[cfg(feature = "mpi")]
    world: Option<mpi_world::MpiWorld>,
}

impl Ranks {
    /// One process, rank 0 of 1, without MPI. Always available.
    pub fn single() -> Self {
        Ranks {
            rank: 0,
            size: 1,
            #[cfg(feature = "mpi")]
            world: None,
        }
    }

    /// The MPI world of this process: initialises MPI on the first call (later calls return
    /// the same world) and reads the rank and size of `MPI_COMM_WORLD`. A process not started
    /// by `mpirun` is MPI's singleton, rank 0 of 1. On more than one process, installs the
    /// panic hook that aborts the whole job (see the module's documentation).
    ///
    /// Fails if MPI was finalised already, or gives less than `MPI_THREAD_SERIALIZED`.
    #[cfg(feature = "mpi")]
    pub fn from_env() -> Result<Self> {
        let (world, rank, size) = mpi_world::MpiWorld::init()?;
        PROCESS_RANK.store(rank, std::sync::atomic::Ordering::Relaxed);
        Ok(Ranks {
            rank,
            size,
            world: Some(world),
        })
    }

    /// This process's rank, `0..size`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is rank 0, the one that writes what is written once.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Every rank's `local`, concatenated in rank order, on every rank, into `into.all`. Ranks
    /// may give different counts. Two MPI calls: an all-gather of the counts, then
    /// `MPI_Allgatherv`. `into` keeps its buffers, so that a gather of no more than the last
    /// allocates nothing.
    ///
    /// # Panics
    /// On every rank alike, if the total exceeds `i32::MAX` elements (MPI counts are C ints).
    pub fn all_gather_u32(&self, local: &[u32], into: &mut Gathered) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            return w.all_gather_u32(local, into);
        }
        into.all.clear();
        into.all.extend_from_slice(local);
    }

    /// Element-wise sum over the ranks of `v` (the same length on every rank), in place on
    /// every rank. Integer sums are exact and associative, so the result does not depend on
    /// the order MPI adds in; they wrap on overflow. One `MPI_Allreduce`.
    #[cfg_attr(not(feature = "mpi"), allow(unused_variables))]
    pub fn all_reduce_sum_u64(&self, v: &mut [u64]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            w.all_reduce(v, mpi::collective::SystemOperation::sum());
        }
    }

    /// [`all_reduce_sum_u64`](Self::all_reduce_sum_u64) of `send` into `recv` (the same
    /// length), which allocates nothing: for sums on the step's path. One `MPI_Allreduce`.
    pub fn all_reduce_sum_u64_into(&self, send: &[u64], recv: &mut [u64]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            return w.all_reduce_into(send, recv, mpi::collective::SystemOperation::sum());
        }
        recv.copy_from_slice(send);
    }

    /// As [`all_reduce_sum_u64`](Self::all_reduce_sum_u64), for signed sums (fixed-point
    /// values). One `MPI_Allreduce`.
    #[cfg_attr(not(feature = "mpi"), allow(unused_variables))]
    pub fn all_reduce_sum_i64(&self, v: &mut [i64]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            w.all_reduce(v, mpi::collective::SystemOperation::sum());
        }
    }

    /// Element-wise maximum over the ranks of `v`, in place on every rank. One
    /// `MPI_Allreduce`.
    #[cfg_attr(not(feature = "mpi"), allow(unused_variables))]
    pub fn all_reduce_max_u64(&self, v: &mut [u64]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            w.all_reduce(v, mpi::collective::SystemOperation::max());
        }
    }

    /// Every rank's `local` bytes, on rank 0: `Some` with one `Vec` per rank in rank order
    /// there, `None` on the other ranks. Two MPI calls: an all-gather of the lengths (so that
    /// every rank can check the limit below), then `MPI_Gatherv`. For large outputs, call it
    /// once per bounded chunk.
    ///
    /// # Panics
    /// On every rank alike, if the total exceeds `i32::MAX` bytes.
    pub fn gather_bytes_to_root(&self, local: &[u8]) -> Option<Vec<Vec<u8>>> {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            return w.gather_bytes_to_root(local, self.rank);
        }
        Some(vec![local.to_vec()])
    }

    /// [`Ranks::gather_bytes_to_root`] of any size: in rounds of at most 2^30 bytes over all
    /// ranks, as many as the largest `local` needs (agreed first), each rank's pieces joined
    /// again on rank 0. For what rank 0 must hold whole anyway (a checkpoint's state).
    pub fn gather_all_bytes_to_root(&self, local: &[u8]) -> Option<Vec<Vec<u8>>> {
        if self.size == 1 {
            return Some(vec![local.to_vec()]);
        }
        let piece = gather_piece_bytes()
            .unwrap_or((1usize << 30) / self.size)
            .max(1);
        let mut joined: Option<Vec<Vec<u8>>> = None;
        for r in 0..self.rounds(local.len(), piece) {
            if let Some(pieces) = self.gather_bytes_to_root(Self::piece(local, r, piece)) {
                let all = joined.get_or_insert_with(|| vec![Vec::new(); pieces.len()]);
                for (all, p) in all.iter_mut().zip(pieces) {
                    all.extend_from_slice(&p);
                }
            }
        }
        if self.is_root() {
            joined.or_else(|| Some(vec![Vec::new(); self.size]))
        } else {
            None
        }
    }

    /// How many rounds of `piece` elements the largest of the ranks' `len` needs (one
    /// `MPI_Allreduce`): every rank then gathers that many times, some of them nothing.
    pub fn rounds(&self, len: usize, piece: usize) -> usize {
        let mut rounds = [len.div_ceil(piece.max(1)) as u64];
        self.all_reduce_max_u64(&mut rounds);
        rounds[0] as usize
    }

    /// Round `r`'s piece of `local` ([`Ranks::rounds`]): empty once `local` is all sent.
    pub fn piece<T>(local: &[T], r: usize, piece: usize) -> &[T] {
        let from = r.saturating_mul(piece).min(local.len());
        &local[from..from.saturating_add(piece).min(local.len())]
    }

    /// Rank 0's `bytes`, on every rank (the others' are replaced). Two MPI calls: the length,
    /// then the bytes.
    ///
    /// # Panics
    /// On every rank alike, if rank 0's length exceeds `i32::MAX` bytes.
    #[cfg_attr(not(feature = "mpi"), allow(unused_variables, clippy::ptr_arg))]
    pub fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            w.broadcast_bytes(bytes, 0);
        }
    }

    /// Waits until every rank has called it.
    pub fn barrier(&self) {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            w.barrier();
        }
    }

    /// Ends the whole job with exit code `code`: `MPI_Abort` on more than one process (the
    /// others are killed by the MPI runtime wherever they are), `std::process::exit` on one.
    pub fn abort(&self, code: i32) -> ! {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            w.abort(code);
        }
        std::process::exit(code)
    }

    /// Agrees on an error: every rank gives its own (`None` if it has none) and every rank
    /// learns whether any rank failed and, if so, the lowest failing rank and its message. So
    /// a scene refused on one rank is refused on all, with the same message. One
    /// `MPI_Allreduce` when no rank failed; two broadcasts more when one did.
    pub fn any_failed(&self, local: Option<String>) -> Option<(usize, String)> {
        #[cfg(feature = "mpi")]
        if let Some(w) = self.multi() {
            return w.any_failed(local, self.rank, self.size);
        }
        local.map(|m| (self.rank, m))
    }

    /// `result` of every rank, agreed on: if any rank failed, every rank returns the error of
    /// the lowest failing one as [`EdraError::OnRank`] (its message and exit code), so that a
    /// scene refused on one rank is refused on all alike. One process returns `result` as it
    /// is and makes no call.
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        if self.size == 1 {
            return result;
        }
        let local = result
            .as_ref()
            .err()
            .map(|e| format!("{}\u{1f}{e}", e.exit_code()));
        match self.any_failed(local) {
            None => result,
            Some((rank, said)) => {
                let (code, message) = said.split_once('\u{1f}').unwrap_or(("1", &said));
                Err(EdraError::OnRank {
                    rank,
                    code: code.parse().unwrap_or(1),
                    message: message.to_string(),
                })
            }
        }
    }

    /// Whether this process should print what every rank knows alike (an agreed error): rank 0
    /// of an MPI run, or a process outside one.
    pub fn speaks_for_all() -> bool {
        PROCESS_RANK.load(std::sync::atomic::Ordering::Relaxed) == 0
    }

    /// The world, when there is more than one process to talk to.
    #[cfg(feature = "mpi")]
    fn multi(&self) -> Option<&mpi_world::MpiWorld> {
        self.world.as_ref().filter(|_| self.size > 1)
    }
}

/// The MPI side: initialisation, finalisation at exit, and the collectives for more than one
/// process. Nothing outside this module names `mpi`.
#[cfg(feature = "mpi")]
mod mpi_world {
    use mpi::Threading;
    use mpi::collective::SystemOperation;
    use mpi::datatype::{Equivalence, PartitionMut};
    use mpi::environment::Universe;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use std::sync::{Mutex, MutexGuard, TryLockError};

    use crate::core::error::{EdraError, Result};

    /// The initialised MPI environment, `None` before the first [`MpiWorld::init`] and after
    /// finalisation at exit. Finalised by dropping it.
    static UNIVERSE: Mutex<Option<Universe>> = Mutex::new(None);
    /// Held during every MPI call, so that two threads are never in MPI at once.
    static CALLS: Mutex<()> = Mutex::new(());

    /// A proof that MPI is initialised, through which the collectives are made on
    /// `MPI_COMM_WORLD`. (rsmpi's communicator is neither `Send` nor `Sync`, a bevy resource
    /// must be both: the communicator is made for each call instead, which costs nothing for
    /// the world.)
    #[derive(Clone, Debug)]
    pub(super) struct MpiWorld {
        _private: (),
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `MPI_Finalize`, run by the C library at exit. Not if another thread is in MPI (the
    /// process exits from under a collective): finalising would wait for it for ever, and
    /// mpirun reports a process that exits unfinalised as a failed job, which it is.
    extern "C" fn finalize_at_exit() {
        let _calls = match CALLS.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        drop(lock(&UNIVERSE).take());
    }

    /// A length as an MPI count; `what` names it in the panic.
    fn count(n: usize, what: &str) -> mpi::Count {
        mpi::Count::try_from(n).unwrap_or_else(|_| {
            panic!("{what}: {n} elements is more than one MPI call carries (i32::MAX)")
        })
    }

    impl MpiWorld {
        /// Initialises MPI if it is not yet, and returns the world's rank and size.
        pub(super) fn init() -> Result<(MpiWorld, usize, usize)> {
            let mut universe = lock(&UNIVERSE);
            if universe.is_none() {
                if mpi::is_finalized() {
                    return Err(EdraError::other(
                        "MPI was finalised already in this process and cannot start again",
                    ));
                }
                let (u, _) =
                    mpi::initialize_with_threading(Threading::Multiple).ok_or_else(|| {
                        EdraError::other("MPI was initialised outside edra's engine::ranks")
                    })?;
                // Put in the static before anything can fail, so that the exit handler
                // finalises it.
                *universe = Some(u);
                // SAFETY: registers a function of no arguments that does not unwind (the
                // locks are taken with their poison ignored), as atexit requires.
                if unsafe { libc::atexit(finalize_at_exit) } != 0 {
                    return Err(EdraError::other("could not register MPI_Finalize at exit"));
                }
                let world = SimpleCommunicator::world();
                if world.size() > 1 {
                    install_abort_on_panic(world.rank() as usize, world.size() as usize);
                }
            }
            let provided = mpi::environment::threading_support();
            if !matches!(provided, Threading::Serialized | Threading::Multiple) {
                return Err(EdraError::other(format!(
                    "the MPI library gives threading level {provided:?}; edra needs at least \
                     Serialized (MPI_THREAD_SERIALIZED)"
                )));
            }
            let world = SimpleCommunicator::world();
            Ok((
                MpiWorld { _private: () },
                world.rank() as usize,
                world.size() as usize,
            ))
        }

        /// The world communicator, with the lock that keeps calls one at a time.
        fn comm(&self) -> (MutexGuard<'static, ()>, SimpleCommunicator) {
            (lock(&CALLS), SimpleCommunicator::world())
        }

        pub(super) fn all_gather_u32(&self, local: &[u32], into: &mut super::Gathered) {
            let (_calls, world) = self.comm();
            let n = count(local.len(), "all_gather_u32");
            into.counts.resize(world.size() as usize, 0);
            world.all_gather_into(&n, &mut into.counts[..]);
            let total = displacements_into(&into.counts, &mut into.displs, "all_gather_u32");
            into.all.resize(total.max(1), 0);
            // Never an empty slice (see `not_in_place`): the spare word is sent with count 0.
            let spare = [0u32];
            let local = if local.is_empty() { &spare[..] } else { local };
            let mut part =
                PartitionMut::new(&mut into.all[..total], &into.counts[..], &into.displs[..]);
            world.all_gather_varcount_into(&local[..n as usize], &mut part);
            into.all.truncate(total);
        }

        pub(super) fn all_reduce<T: Equivalence + Copy>(&self, v: &mut [T], op: SystemOperation) {
            let send = v.to_vec();
            self.all_reduce_into(&send, v, op);
        }

        pub(super) fn all_reduce_into<T: Equivalence + Copy>(
            &self,
            send: &[T],
            recv: &mut [T],
            op: SystemOperation,
        ) {
            let (_calls, world) = self.comm();
            count(send.len(), "all_reduce");
            world.all_reduce_into(send, recv, op);
        }

        pub(super) fn gather_bytes_to_root(
            &self,
            local: &[u8],
            rank: usize,
        ) -> Option<Vec<Vec<u8>>> {
            let (_calls, world) = self.comm();
            let mut counts = vec![0 as mpi::Count; world.size() as usize];
            let n = count(local.len(), "gather_bytes_to_root");
            world.all_gather_into(&n, &mut counts[..]);
            let displs = displacements(&counts, "gather_bytes_to_root");
            let root = world.process_at_rank(0);
            let local = not_in_place(local, &[0]);
            if rank != 0 {
                root.gather_varcount_into(local);
                return None;
            }
            let total: usize = counts.iter().map(|&c| c as usize).sum();
            let mut all = Vec::with_capacity(total.max(1));
            all.resize(total, 0u8);
            {
                let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
                root.gather_varcount_into_root(local, &mut part);
            }
            Some(
                counts
                    .iter()
                    .zip(&displs)
                    .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
                    .collect(),
            )
        }

        /// `root`'s bytes on every rank: the length, then the bytes.
        pub(super) fn broadcast_bytes(&self, bytes: &mut Vec<u8>, root: usize) {
            let (_calls, world) = self.comm();
            let from = world.process_at_rank(root as mpi::Rank);
            let mut len = bytes.len() as u64;
            from.broadcast_into(&mut len);
            count(len as usize, "broadcast_bytes");
            bytes.resize(len as usize, 0);
            // Nothing more for no bytes (and an empty Vec may point at MPI_IN_PLACE, see
            // `not_in_place`).
            if len > 0 {
                from.broadcast_into(&mut bytes[..]);
            }
        }

        pub(super) fn barrier(&self) {
            let (_calls, world) = self.comm();
            world.barrier();
        }

        pub(super) fn abort(&self, code: i32) -> ! {
            // Without the lock: another thread may be waiting in a collective, and the point
            // is to end it.
            SimpleCommunicator::world().abort(code)
        }

        pub(super) fn any_failed(
            &self,
            local: Option<String>,
            rank: usize,
            size: usize,
        ) -> Option<(usize, String)> {
            // The lowest failing rank r as size − r, so that a maximum finds it (0: none).
            let mut lowest = [local.as_ref().map_or(0, |_| (size - rank) as u64)];
            self.all_reduce(&mut lowest, SystemOperation::max());
            if lowest[0] == 0 {
                return None;
            }
            let failed = size - lowest[0] as usize;
            let mut message = local.map(String::into_bytes).unwrap_or_default();
            self.broadcast_bytes(&mut message, failed);
            Some((failed, String::from_utf8_lossy(&message).into_owned()))
        }
    }

    /// `bytes`, or an empty slice of `spare` if `bytes` is empty. An empty slice of bytes may
    /// point at address 1, and OpenMPI's `MPI_IN_PLACE` is address 1: passed as a buffer it
    /// makes MPI_ERR_ARG (or worse, is taken for "in place").
    fn not_in_place<'a>(bytes: &'a [u8], spare: &'a [u8; 1]) -> &'a [u8] {
        if bytes.is_empty() { &spare[..0] } else { bytes }
    }

    /// The offsets of the blocks of `counts` laid end to end; panics (on every rank alike,
    /// since every rank has the same counts) if the total is beyond an MPI count.
    fn displacements(counts: &[mpi::Count], what: &str) -> Vec<mpi::Count> {
        let mut displs = Vec::with_capacity(counts.len());
        displacements_into(counts, &mut displs, what);
        displs
    }

    /// [`displacements`] into `displs`; returns the total.
    fn displacements_into(
        counts: &[mpi::Count],
        displs: &mut Vec<mpi::Count>,
        what: &str,
    ) -> usize {
        displs.clear();
        let mut at = 0usize;
        for &c in counts {
            displs.push(at as mpi::Count);
            at += c as usize;
        }
        count(at, what);
        at
    }

    /// On a panic anywhere in this process: the usual message, then `MPI_Abort`, so that the
    /// other ranks do not wait for this one for ever.
    fn install_abort_on_panic(rank: usize, size: usize) {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            eprintln!("edra: rank {rank} of {size} panicked; aborting the MPI job");
            SimpleCommunicator::world().abort(101);
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_is_root_and_its_collectives_are_the_identity() {
        let r = Ranks::single();
        assert_eq!((r.rank(), r.size(), r.is_root()), (0, 1, true));
        let mut g = Gathered::default();
        r.all_gather_u32(&[3, 1, 4], &mut g);
        assert_eq!(g.all, vec![3, 1, 4]);
        r.all_gather_u32(&[], &mut g);
        assert_eq!(g.all, Vec::<u32>::new());
        assert_eq!(r.rounds(10, 4), 3);
        assert_eq!(r.rounds(0, 4), 0);
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let pieces: Vec<&[i32]> = (0..4).map(|k| Ranks::piece(&v, k, 4)).collect();
        assert_eq!(pieces, [&v[..4], &v[4..8], &v[8..], &[][..]]);
        let mut u = [1, u64::MAX];
        r.all_reduce_sum_u64(&mut u);
        assert_eq!(u, [1, u64::MAX]);
        let mut sum = [0, 0];
        r.all_reduce_sum_u64_into(&u, &mut sum);
        assert_eq!(sum, u);
        let mut i = [-5, 7];
        r.all_reduce_sum_i64(&mut i);
        assert_eq!(i, [-5, 7]);
        let mut m = [9, 0];
        r.all_reduce_max_u64(&mut m);
        assert_eq!(m, [9, 0]);
        assert_eq!(r.gather_bytes_to_root(b"abc"), Some(vec![b"abc".to_vec()]));
        let mut b = b"scene".to_vec();
        r.broadcast_bytes(&mut b);
        assert_eq!(b, b"scene");
        r.barrier();
        assert_eq!(r.any_failed(None), None);
        assert_eq!(
            r.any_failed(Some("refused".into())),
            Some((0, "refused".into()))
        );
    }

    #[cfg(feature = "mpi")]
    #[test]
    fn from_env_outside_mpirun_is_the_mpi_singleton_and_can_be_called_again() {
        let (a, b) = (Ranks::from_env().unwrap(), Ranks::from_env().unwrap());
        assert_eq!((a.rank(), a.size(), b.rank(), b.size()), (0, 1, 0, 1));
        let mut g = Gathered::default();
        a.all_gather_u32(&[2, 7], &mut g);
        assert_eq!(g.all, vec![2, 7]);
        assert_eq!(b.gather_bytes_to_root(b""), Some(vec![vec![]]));
        assert_eq!(a.any_failed(Some("no".into())), Some((0, "no".into())));
    }

    #[test]
    fn ranks_is_a_resource_of_a_world() {
        let mut world = World::new();
        world.insert_resource(Ranks::single());
        assert_eq!(world.resource::<Ranks>().size(), 1);
    }
}

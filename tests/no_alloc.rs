//! Per-step hot paths allocate nothing: a counting global allocator watches 200 steps of the
//! population scene (all six stages, recorders, a reward rule, the non-finite check), then
//! 1200 steps of the event-driven scene (spike-driven Poisson sources and pair STDP, across the
//! end of an epoch), then 400 steps of the event-driven calcium window with the idle steps
//! between them skipped. One test, so that nothing else allocates while it counts.
//!
//! With one worker thread every stage runs on the calling thread, so the count covers all of
//! edra's per-step code. (With more threads bevy's task pool boxes one task per batch; that is
//! the framework's scheduling cost, not per-synapse work, and is measured by the benches.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Loads `scene`, takes 50 steps, then counts the allocations and spikes of `steps` more.
fn allocations_and_spikes(scene: &str, steps: usize) -> (usize, u64) {
    let mut sim = edra::Simulation::load(scene.as_ref()).unwrap();
    for _ in 0..50 {
        sim.step().unwrap();
    }
    let (before, mut spikes) = (ALLOCATIONS.load(Relaxed), 0);
    for _ in 0..steps {
        sim.step().unwrap();
        spikes += sim.write_spikes_of_last_step(&mut std::io::sink()).unwrap();
    }
    (ALLOCATIONS.load(Relaxed) - before, spikes)
}

/// The event-driven Graupner & Brunel window (10 trials): takes 100 steps with what follows
/// each skipped if idle, then counts the allocations of `steps` more; returns them and the
/// steps those covered.
fn allocations_skipping_idle_steps(steps: usize) -> (usize, u64) {
    let text = std::fs::read_to_string("scenes/experiments/stdp_window_calcium.ron").unwrap();
    let text = text
        .replace("h_up_mv: 5.0))", "h_up_mv: 5.0, event_driven: true))")
        .replace("size: 50", "size: 10");
    let mut sim = edra::Simulation::from_ron("window", &text).unwrap();
    let end = sim.clock().steps(sim.scene().duration_ms);
    for _ in 0..100 {
        sim.advance(end).unwrap();
    }
    let (before, start) = (ALLOCATIONS.load(Relaxed), sim.clock().step);
    for _ in 0..steps {
        sim.advance(end).unwrap();
    }
    (ALLOCATIONS.load(Relaxed) - before, sim.clock().step - start)
}

#[test]
fn steps_allocate_nothing() {
    edra::sim::init_threads(Some(1));
    let (during, spikes) = allocations_and_spikes("scenes/population.ron", 200);
    assert_eq!(during, 0, "{during} allocations in 200 steps");
    // The steps did real work: neurons fired (about 7 Hz × 1000 neurons × 0.2 s).
    assert!(spikes > 200, "only {spikes} spikes");

    let (during, spikes) = allocations_and_spikes("scenes/event_driven.ron", 1200);
    assert_eq!(during, 0, "{during} allocations in 1200 event-driven steps");
    // 84 000 sources at 5–20 Hz for 1.2 s: about 5 × 10^5 spikes.
    assert!(spikes > 300_000, "only {spikes} spikes");

    let (during, covered) = allocations_skipping_idle_steps(400);
    assert_eq!(
        during, 0,
        "{during} allocations in 400 steps with idle ones skipped"
    );
    assert!(
        covered > 10 * 400,
        "only {covered} steps covered: none skipped?"
    );
}

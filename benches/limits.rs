//! The machine's limits for edra's two kinds of work, measured here and printed with the
//! arithmetic that turns them into a yardstick (`benches/limits.py` puts edra's own figures
//! beside them):
//!
//! - **Streaming bandwidth** (the bound of the clock-driven path, which streams columns): a read
//!   pass (XOR-fold), an in-place read+write pass (`x += k`) and a copy, over `u64` arrays of
//!   512 MiB each (far beyond any cache), on 1 and 2 threads, best of 5. GB = 10^9 bytes; the
//!   read+write and copy figures count the bytes read plus the bytes written.
//! - **The bandwidth roofline of the clock-driven cascade** (`scenes/bench/cascade.ron`): the
//!   bytes one synapse-step makes each pass read and write, from the sizes of edra's components
//!   ([`PASSES`]), and the synapse-steps per second that the measured bandwidth allows: read-only
//!   bytes at the read bandwidth, read-modify-write bytes at the read+write bandwidth. Also the
//!   same for one fused pass that touches every column once.
//! - **The event-cost floor** (the bound of the event-driven path, which works per spike
//!   arrival): the time per arrival of a minimal loop that reads and writes one synapse's state
//!   at a random row of 10^6 or 10^7 synapses, in edra's layout (the three columns an
//!   event-driven pair-STDP update touches: `StdpTraces`, `SynapticWeight`, `EventDriven`, 36
//!   bytes in three cache lines) and as one 32-byte row, without and with software prefetch 8
//!   arrivals ahead; on 1 thread, and on 2 threads each with its own half of the rows (as edra
//!   splits its chunks).
//!
//! ```text
//! cargo bench --bench limits                 # table
//! cargo bench --bench limits -- --json FILE  # also writes the figures as JSON
//! ```

use edra::core::weight::{EventDriven, SynapticWeight};
use edra::prefetch::prefetch;
use edra::stages::ca_influx::{NmdaSpine, SpineHeadCa};
use edra::stages::consolidation::SynapticTag;
use edra::stages::plasticity::{CaRuleState, StdpTraces};
use edra::stages::trafficking::{AmpaPools, traffic_every};
use edra::synapse::Synapse;
use std::hint::black_box;
use std::mem::size_of;
use std::time::Instant;

/// Elements of each bandwidth array (512 MiB of `u64`).
const BW_LEN: usize = 64 << 20;
/// Repetitions; the best is kept.
const REPS: usize = 5;

/// Splits `v` in `threads` parts and runs `f` on each at once; returns the wall seconds.
fn timed_split<T: Send>(v: &mut [T], threads: usize, f: impl Fn(&mut [T]) + Sync) -> f64 {
    let chunk = v.len().div_ceil(threads);
    let t = Instant::now();
    std::thread::scope(|s| {
        for part in v.chunks_mut(chunk) {
            let f = &f;
            s.spawn(move || f(part));
        }
    });
    t.elapsed().as_secs_f64()
}

/// Best GB/s over [`REPS`] runs of `pass`, where one pass moves `bytes`.
fn best_gbs(bytes: f64, mut pass: impl FnMut() -> f64) -> f64 {
    (0..REPS).map(|_| bytes / pass() / 1e9).fold(0.0, f64::max)
}

#[derive(Clone, Copy, Debug)]
struct Bandwidth {
    read: f64,
    read_write: f64,
    copy: f64,
}

fn bandwidth(threads: usize, a: &mut [u64], b: &mut [u64]) -> Bandwidth {
    let bytes = (a.len() * 8) as f64;
    let read = best_gbs(bytes, || {
        timed_split(a, threads, |p| {
            let x = p.chunks_exact(8).fold([0u64; 8], |mut acc, c| {
                for (s, v) in acc.iter_mut().zip(c) {
                    *s ^= *v;
                }
                acc
            });
            black_box(x);
        })
    });
    let read_write = best_gbs(2.0 * bytes, || {
        timed_split(a, threads, |p| {
            for v in p.iter_mut() {
                *v = v.wrapping_add(0x9e37_79b9);
            }
            black_box(&p[0]);
        })
    });
    let copy = best_gbs(2.0 * bytes, || {
        let chunk = a.len().div_ceil(threads);
        let t = Instant::now();
        std::thread::scope(|s| {
            for (src, dst) in a.chunks(chunk).zip(b.chunks_mut(chunk)) {
                s.spawn(move || dst.copy_from_slice(src));
            }
        });
        black_box(&b[0]);
        t.elapsed().as_secs_f64()
    });
    Bandwidth {
        read,
        read_write,
        copy,
    }
}

/// One pass of the clock-driven cascade over the synapse table: the columns it reads and the
/// columns it writes (a written column is also read), and on what fraction of steps it runs.
struct Pass {
    what: &'static str,
    reads: Vec<(&'static str, usize)>,
    writes: Vec<(&'static str, usize)>,
    per_step: f64,
}

/// A pass named `what` that reads `reads`, reads and writes `writes`, `per_step` times a step.
fn pass(what: &'static str, reads: &[Column], writes: &[Column], per_step: f64) -> Pass {
    Pass {
        what,
        reads: reads.to_vec(),
        writes: writes.to_vec(),
        per_step,
    }
}

/// A component: its name and size in bytes.
type Column = (&'static str, usize);

/// The passes over every synapse that a step of `scenes/bench/cascade.ron` makes (dt 1 ms,
/// slow clock = every step), from the systems' queries: stage 1 `nmda_ca_influx`, stage 3
/// `pair_stdp_trafficked`, stage 4 `traffic_ampa` (every `traffic_every(1 ms)` steps), stage 6
/// `tag_synapses` and `capture_proteins`, and the Record stage's `check_synapses_finite` and
/// `check_slow_state_finite` (whose loops read the state columns, not `Synapse`). Delivery
/// visits only the synapses a spike reaches (0.5 % of them a step) and is left out, as are the
/// per-neuron and per-region passes.
fn cascade_passes() -> Vec<Pass> {
    let syn = ("Synapse", size_of::<Synapse>());
    let nmda = ("NmdaSpine", size_of::<NmdaSpine>());
    let ca = ("SpineHeadCa", size_of::<SpineHeadCa>());
    let tr = ("StdpTraces", size_of::<StdpTraces>());
    let w = ("SynapticWeight", size_of::<SynapticWeight>());
    let pools = ("AmpaPools", size_of::<AmpaPools>());
    let tag = ("SynapticTag", size_of::<SynapticTag>());
    vec![
        pass("1 nmda_ca_influx", &[syn], &[nmda, ca], 1.0),
        pass("3 pair_stdp_trafficked", &[syn], &[tr, w], 1.0),
        pass(
            "4 traffic_ampa",
            &[syn],
            &[pools, w],
            1.0 / traffic_every(1.0) as f64,
        ),
        pass("6 tag_synapses", &[syn, w], &[tag], 1.0),
        pass("6 capture_proteins", &[syn], &[w, tag], 1.0),
        pass("guard check_synapses_finite", &[ca, w], &[], 1.0),
        pass(
            "guard check_slow_state_finite",
            &[tr, nmda, pools],
            &[],
            1.0,
        ),
    ]
}

/// The passes over every synapse that a step of `scenes/bench/w3_calcium.ron` makes (dt 0.1 ms,
/// slow clock every 100 steps): stage 1 `linear_ca_influx` (which also reads one bit of the
/// spike history per synapse, left out), stage 3 `calcium_rule`, stage 4 `direct_efficacy`
/// (with the postsynaptic neuron's astrocyte scale, 4 bytes read in order for a one-to-one
/// table), and the Record stage's checks (`CaRuleState` on the slow clock).
fn w3_passes() -> Vec<Pass> {
    let syn = ("Synapse", size_of::<Synapse>());
    let ca = ("SpineHeadCa", size_of::<SpineHeadCa>());
    let rho = ("CaRuleState", size_of::<CaRuleState>());
    let w = ("SynapticWeight", size_of::<SynapticWeight>());
    let scale = ("astrocyte scale (per neuron)", size_of::<f32>());
    vec![
        pass("1 linear_ca_influx", &[syn], &[ca], 1.0),
        pass("3 calcium_rule", &[syn, ca], &[rho, w], 1.0),
        pass("4 direct_efficacy", &[syn, scale], &[w], 1.0),
        pass("guard check_synapses_finite", &[ca, w], &[], 1.0),
        pass("guard check_slow_state_finite", &[rho], &[], 0.01),
    ]
}

/// Bytes per synapse-step: (read-only bytes, read-modify-write bytes counted once).
fn pass_bytes(p: &Pass) -> (f64, f64) {
    let r: usize = p.reads.iter().map(|c| c.1).sum();
    let w: usize = p.writes.iter().map(|c| c.1).sum();
    (r as f64 * p.per_step, w as f64 * p.per_step)
}

/// Synapse-steps per second that bandwidth `bw` allows for `ro` read-only and `rw`
/// read-modify-write bytes per synapse-step.
fn roofline(bw: &Bandwidth, ro: f64, rw: f64) -> f64 {
    1.0 / (ro / (bw.read * 1e9) + 2.0 * rw / (bw.read_write * 1e9))
}

/// A 32-byte row holding what an event-driven pair-STDP update touches.
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
struct Row {
    x: f32,
    y: f32,
    c: f32,
    h: f32,
    w: f32,
    eff: f32,
    next: u64,
}

/// Random row indices, each thread's within its own half (`parts` parts) of `n` rows.
fn indices(n: usize, per_part: usize, parts: usize) -> Vec<Vec<u32>> {
    (0..parts)
        .map(|p| {
            let (lo, len) = (p * n / parts, n / parts);
            let mut s =
                0x2545_f491_4f6c_dd1d_u64 ^ (p as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            (0..per_part)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (lo + (s % len as u64) as usize) as u32
                })
                .collect()
        })
        .collect()
}

/// The update of one arrival on edra's three columns: decay and bump the traces, move the
/// weight, set the row's next step.
#[inline(always)]
fn touch3(tr: &mut StdpTraces, w: &mut SynapticWeight, e: &mut EventDriven, k: u64) {
    tr.x_pre = tr.x_pre * 0.95 + 1.0;
    tr.y_post *= 0.95;
    w.h_mv = (w.h_mv + 1e-3 * tr.y_post).min(4.0);
    w.w_mv = w.h_mv;
    w.efficacy_mv = w.h_mv;
    e.next_step = k;
}

/// The same update on one 32-byte row.
#[inline(always)]
fn touch1(r: &mut Row, k: u64) {
    r.x = r.x * 0.95 + 1.0;
    r.y *= 0.95;
    r.h = (r.h + 1e-3 * r.y).min(4.0);
    r.w = r.h;
    r.eff = r.h;
    r.next = k;
}

/// A raw pointer shared by threads that touch disjoint rows.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

#[derive(Clone, Copy, Debug)]
struct Floor {
    n: usize,
    layout: &'static str,
    prefetch: usize,
    threads: usize,
    ns_per_arrival: f64,
}

/// Best over [`REPS`] of the wall time per arrival for `idx` (one stream per thread).
fn floor_run(idx: &[Vec<u32>], run: impl Fn(&[u32]) + Sync) -> f64 {
    let arrivals: usize = idx.iter().map(Vec::len).sum();
    (0..REPS)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|s| {
                for part in idx {
                    let run = &run;
                    s.spawn(move || run(part));
                }
            });
            t.elapsed().as_secs_f64() * 1e9 / arrivals as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn floors(n: usize, arrivals: usize) -> Vec<Floor> {
    let mut tr = vec![StdpTraces::default(); n];
    let mut w = vec![SynapseWeightInit::get(); n];
    let mut ev = vec![EventDriven::default(); n];
    let mut rows = vec![Row::default(); n];
    let mut out = Vec::new();
    for threads in [1, 2] {
        let idx = indices(n, arrivals / threads, threads);
        for pf in [0usize, 8] {
            let (ptr, pw, pe) = (
                Shared(tr.as_mut_ptr()),
                Shared(w.as_mut_ptr()),
                Shared(ev.as_mut_ptr()),
            );
            let ns = floor_run(&idx, |part| {
                // SAFETY: each thread's indices lie in its own half of the rows, all < n.
                let (tr, w, e) = unsafe {
                    (
                        std::slice::from_raw_parts_mut({ ptr }.0, n),
                        std::slice::from_raw_parts_mut({ pw }.0, n),
                        std::slice::from_raw_parts_mut({ pe }.0, n),
                    )
                };
                for (k, &r) in part.iter().enumerate() {
                    if pf > 0
                        && let Some(&a) = part.get(k + pf)
                    {
                        prefetch(tr, a as usize);
                        prefetch(w, a as usize);
                        prefetch(e, a as usize);
                    }
                    let r = r as usize;
                    touch3(&mut tr[r], &mut w[r], &mut e[r], k as u64);
                }
            });
            out.push(Floor {
                n,
                layout: "3 columns (edra)",
                prefetch: pf,
                threads,
                ns_per_arrival: ns,
            });
            let pr = Shared(rows.as_mut_ptr());
            let ns = floor_run(&idx, |part| {
                // SAFETY: as above.
                let rows = unsafe { std::slice::from_raw_parts_mut({ pr }.0, n) };
                for (k, &r) in part.iter().enumerate() {
                    if pf > 0
                        && let Some(&a) = part.get(k + pf)
                    {
                        prefetch(rows, a as usize);
                    }
                    touch1(&mut rows[r as usize], k as u64);
                }
            });
            out.push(Floor {
                n,
                layout: "1 row of 32 B",
                prefetch: pf,
                threads,
                ns_per_arrival: ns,
            });
        }
    }
    black_box((&tr[0], &w[0], &ev[0], rows[0].next));
    out
}

/// A weight row as edra initialises W1's (h = 1 mV).
struct SynapseWeightInit;
impl SynapseWeightInit {
    fn get() -> SynapticWeight {
        SynapticWeight {
            h_mv: 1.0,
            z: 0.0,
            w_mv: 1.0,
            efficacy_mv: 1.0,
        }
    }
}

/// Bytes moved per synapse-step by `passes`, and the roofline it gives at each measured
/// bandwidth: printed, and returned as JSON.
fn bytes_report(name: &str, passes: &[Pass], bw: &[(usize, Bandwidth)]) -> String {
    println!("\n== bytes per synapse-step of {name} ==");
    let (mut ro, mut rw) = (0.0, 0.0);
    let mut unique_r = std::collections::BTreeMap::new();
    let mut unique_w = std::collections::BTreeMap::new();
    for p in passes {
        let (r, w) = pass_bytes(p);
        let cols = |v: &[(&str, usize)]| {
            v.iter()
                .map(|(n, s)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{:<30} every {:>4.2} step  reads [{}]  read+writes [{}]  = {:.1} B read-only + {:.1} B read-modify-write",
            p.what,
            p.per_step,
            cols(&p.reads),
            cols(&p.writes),
            r,
            w
        );
        ro += r;
        rw += w;
        for c in &p.reads {
            unique_r.insert(c.0, c.1);
        }
        for c in &p.writes {
            unique_w.insert(c.0, c.1);
        }
    }
    let fused_rw: usize = unique_w.values().sum();
    let fused_ro: usize = unique_r
        .iter()
        .filter(|(k, _)| !unique_w.contains_key(*k))
        .map(|(_, v)| v)
        .sum();
    println!(
        "per synapse-step: {ro:.1} B read-only + {rw:.1} B read-modify-write = {:.1} B moved \
         (one fused pass: {fused_ro} + {fused_rw} = {} B moved)",
        ro + 2.0 * rw,
        fused_ro + 2 * fused_rw
    );
    println!("roofline (M synapse-steps/s):");
    let mut roof = Vec::new();
    for (t, x) in bw {
        let r = roofline(x, ro, rw);
        let f = roofline(x, fused_ro as f64, fused_rw as f64);
        println!(
            "  {t} thread(s): edra's passes {:.1}   one fused pass {:.1}",
            r / 1e6,
            f / 1e6
        );
        roof.push(format!(
            "{{\"threads\": {t}, \"passes\": {r:.4e}, \"fused\": {f:.4e}}}"
        ));
    }
    format!(
        "{{\"read_only\": {ro:.2}, \"read_modify_write\": {rw:.2}, \"fused_read_only\": {fused_ro}, \
         \"fused_read_modify_write\": {fused_rw}, \"roofline_synapse_steps_per_s\": [{}]}}",
        roof.join(", ")
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json_path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let mut a = vec![1u64; BW_LEN];
    let mut b = vec![0u64; BW_LEN];
    let bw: Vec<(usize, Bandwidth)> = [1, 2]
        .into_iter()
        .map(|t| (t, bandwidth(t, &mut a, &mut b)))
        .collect();
    drop((a, b));
    println!("== streaming bandwidth (GB/s, 10^9 bytes; arrays of 512 MiB, best of {REPS}) ==");
    println!("threads  read  read+write  copy");
    for (t, x) in &bw {
        println!(
            "{t:>7} {:>5.1} {:>11.1} {:>5.1}",
            x.read, x.read_write, x.copy
        );
    }

    let cascade = bytes_report(
        "the clock-driven cascade (scenes/bench/cascade.ron)",
        &cascade_passes(),
        &bw,
    );
    let w3 = bytes_report(
        "W3, the calcium path (scenes/bench/w3_calcium.ron)",
        &w3_passes(),
        &bw,
    );

    println!("\n== event-cost floor: random read+write of one synapse's state per arrival ==");
    println!("synapses  layout             prefetch  threads  ns/arrival  M arrivals/s");
    let mut fl = Vec::new();
    for n in [1_000_000usize, 10_000_000] {
        for f in floors(n, 20_000_000) {
            println!(
                "{:>8}  {:<18} {:>8} {:>8} {:>11.2} {:>13.1}",
                f.n,
                f.layout,
                f.prefetch,
                f.threads,
                f.ns_per_arrival,
                1e3 / f.ns_per_arrival
            );
            fl.push(f);
        }
    }

    if let Some(path) = json_path {
        let bw_json: Vec<String> = bw
            .iter()
            .map(|(t, x)| {
                format!(
                    "{{\"threads\": {t}, \"read_gbs\": {:.3}, \"read_write_gbs\": {:.3}, \"copy_gbs\": {:.3}}}",
                    x.read, x.read_write, x.copy
                )
            })
            .collect();
        let fl_json: Vec<String> = fl
            .iter()
            .map(|f| {
                format!(
                    "{{\"synapses\": {}, \"layout\": \"{}\", \"prefetch\": {}, \"threads\": {}, \"ns_per_arrival\": {:.4}}}",
                    f.n, f.layout, f.prefetch, f.threads, f.ns_per_arrival
                )
            })
            .collect();
        let json = format!(
            "{{\"bandwidth\": [{}], \"cascade\": {cascade}, \"w3\": {w3}, \"event_floor\": [{}]}}\n",
            bw_json.join(", "),
            fl_json.join(", ")
        );
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

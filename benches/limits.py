"""Puts edra's speed beside the machine's limits: the bandwidth roofline of the clock-driven
cascade and the event-cost floor of the event-driven path.

    python3 benches/limits.py [--threads 2] [--skip-limits FILE]

1. `cargo bench --bench limits -- --json FILE` (benches/limits.rs) measures the streaming
   bandwidth (read, read+write, copy; 1 and 2 threads), computes the bytes a synapse-step of
   scenes/bench/cascade.ron makes its passes read and write, hence the roofline, and measures
   the event-cost floor (random read+write of one synapse's state per arrival, 10^6 and 10^7
   synapses, edra's three columns or one 32-byte row, with and without prefetch).
2. `bench_run scenes/bench/cascade.ron --size 1000000 --threads T --duration-ms 200`: edra's
   synapse-steps/s of the clock-driven cascade, as a share of the roofline; likewise
   `bench_run scenes/bench/w3_calcium.ron --size 1000000 --threads T --duration-ms 100` (W3, the
   calcium path) against its own roofline.
3. `bench_run scenes/bench/w1.ron --size 1000000 --threads T --duration-ms 1000`: edra's
   event-driven W1. Its arrivals per second are its synapse-steps per second times the
   arrivals per synapse-step, (5 Hz pre + 5 Hz post)·dt = 0.01 at dt 1 ms (each spike of the
   one-to-one W1 reaches one synapse; the expected count, not the realised one), as a share of
   the floor's arrivals per second on the same thread count.

Each step is its own process, one after another; with `--skip-limits FILE` the limits are read
from an earlier `--json` FILE instead of measured again. edra is built with cargo (honouring
CARGO_TARGET_DIR). The machine's other load changes every figure: take them on a quiet machine.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR", "target"))


def bench_run(args):
    """Runs bench_run with `args` and returns its JSON line."""
    exe = os.path.join(TARGET, "release", "examples", "bench_run")
    out = subprocess.run([exe, *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("{")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-limits", metavar="FILE", help="read the limits from this JSON instead")
    a = ap.parse_args()
    t = a.threads

    if a.skip_limits:
        path = a.skip_limits
    else:
        path = os.path.join(TARGET, "limits.json")
        subprocess.check_call(["cargo", "bench", "--bench", "limits", "--", "--json", path], cwd=ROOT)
    with open(path) as f:
        lim = json.load(f)
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--example", "bench_run"], cwd=ROOT)

    print(f"cascade 10^6, {t} thread(s)", file=sys.stderr, flush=True)
    cas = bench_run(["scenes/bench/cascade.ron", "--size", "1000000", "--threads", str(t), "--duration-ms", "200"])
    print(f"W3 10^6, {t} thread(s)", file=sys.stderr, flush=True)
    w3 = bench_run(["scenes/bench/w3_calcium.ron", "--size", "1000000", "--threads", str(t), "--duration-ms", "100"])
    print(f"W1 10^6 (event-driven), {t} thread(s)", file=sys.stderr, flush=True)
    w1 = bench_run(["scenes/bench/w1.ron", "--size", "1000000", "--threads", str(t), "--duration-ms", "1000"])

    bw = next(b for b in lim["bandwidth"] if b["threads"] == t)
    # The machine's best: the highest read and read+write bandwidth over the thread counts (on a
    # shared machine the 2-thread figures can fall below the 1-thread ones).
    best_r = max(b["read_gbs"] for b in lim["bandwidth"]) * 1e9
    best_rw = max(b["read_write_gbs"] for b in lim["bandwidth"]) * 1e9
    for title, key, run in [("clock-driven cascade", "cascade", cas), ("W3, the calcium path", "w3", w3)]:
        cb = lim[key]
        roof = next(r for r in cb["roofline_synapse_steps_per_s"] if r["threads"] == t)
        sps = run["synapse_steps_per_s"]
        print(f"\n== {title}, 10^6 synapses, {t} thread(s) ==")
        print(f"bandwidth: read {bw['read_gbs']:.1f} GB/s, read+write {bw['read_write_gbs']:.1f} GB/s")
        print(
            f"bytes per synapse-step: {cb['read_only']:.1f} read-only + {cb['read_modify_write']:.1f} read-modify-write "
            f"(one fused pass: {cb['fused_read_only']} + {cb['fused_read_modify_write']})"
        )
        print(f"edra:                    {sps / 1e6:8.1f} M synapse-steps/s")
        print(f"roofline, edra's passes: {roof['passes'] / 1e6:8.1f} M/s   edra's share {sps / roof['passes']:.2f}")
        print(f"roofline, one pass:      {roof['fused'] / 1e6:8.1f} M/s   edra's share {sps / roof['fused']:.2f}")
        for what, ro, rw in [("edra's passes", cb["read_only"], cb["read_modify_write"]),
                             ("one pass", cb["fused_read_only"], cb["fused_read_modify_write"])]:
            best = 1.0 / (ro / best_r + 2.0 * rw / best_rw)
            print(f"roofline at the best bandwidth seen, {what}: {best / 1e6:8.1f} M/s   edra's share {sps / best:.2f}")

    arrivals = w1["synapse_steps_per_s"] * (5.0 + 5.0) * 1e-3
    print(f"\n== event-driven W1, 10^6 synapses, {t} thread(s) ==")
    print(f"edra: {arrivals / 1e6:.1f} M arrivals/s ({1e9 / arrivals:.1f} ns per arrival, whole step included)")
    for f in lim["event_floor"]:
        if f["synapses"] == 1_000_000 and f["threads"] == t:
            per_s = 1e9 / f["ns_per_arrival"]
            print(
                f"floor {f['layout']:<18} prefetch {f['prefetch']:>2}: {per_s / 1e6:7.1f} M arrivals/s "
                f"({f['ns_per_arrival']:.2f} ns)   edra's share {arrivals / per_s:.2f}"
            )
    with open(os.path.join(TARGET, "limits_shares.json"), "w") as f:
        json.dump({"limits": lim, "cascade": cas, "w3": w3, "w1": w1, "w1_arrivals_per_s": arrivals}, f, indent=1)


if __name__ == "__main__":
    main()

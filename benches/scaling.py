"""How edra's cost grows with synapses and with threads, in one run (docs/performance.md).

    python3 benches/scaling.py [--sizes 10000,100000,1000000] [--threads 1,2] [--ms 1000]
                               [--scene scenes/bench/cascade.ron] [--network]

Runs examples/bench_run.rs once per (size, thread count) on the full-cascade scene (every stage
active, N synapses between 2N Poisson sources), then prints one table: synapse-steps per second,
wall seconds per simulated second, peak bytes per synapse, and the speed-up of each thread count
over one thread at the same size. `--network` adds the 10^7 network (scenes/bench/network_10m.ron,
100 ms simulated). Every run is its own process, one after another.
"""

import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "examples", "bench_run")


def bench(scene, threads, size=None, ms=None):
    cmd = [BIN, scene, "--threads", str(threads)]
    if size:
        cmd += ["--size", str(size)]
    if ms:
        cmd += ["--duration-ms", str(ms)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--ms", type=float, default=1000.0)
    ap.add_argument("--scene", default="scenes/bench/cascade.ron")
    ap.add_argument("--network", action="store_true", help="also the 10^7 network scene")
    a = ap.parse_args()
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--example", "bench_run"], cwd=ROOT)
    threads = [int(t) for t in a.threads.split(",")]
    runs = [(a.scene, int(n), a.ms) for n in a.sizes.split(",")]
    if a.network:
        runs.append(("scenes/bench/network_10m.ron", None, 100.0))
    print(f"| scene | synapses | threads | M synapse-steps/s | wall s / simulated s | peak bytes/synapse | speed-up over 1 thread |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for scene, size, ms in runs:
        base = None
        for t in threads:
            r = bench(scene, t, size, ms)
            rate = r["synapse_steps_per_s"]
            base = base or (rate if t == 1 else None)
            up = f"{rate / base:.2f}×" if base else "—"
            print(
                f"| {os.path.basename(scene)} | {r['synapses']:,} | {t} | {rate / 1e6:.1f} | "
                f"{r['wall_s_per_simulated_s']:.3f} | {r['bytes_per_synapse']:.0f} | {up} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

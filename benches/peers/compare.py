"""Runs edra and its peers on the same workloads, one after another, and prints the table.

    python3 benches/peers/compare.py [--threads 2] [--sizes 10000,100000,1000000] [--quick]

W1 (N independent DA-STDP synapses, 5 Hz Poisson pre and post each, dopamine pulse every
second, dt 1 ms) at each N, and W2 (Izhikevich 2007, 1000 neurons, 100 000 synapses), in edra
(scenes/bench/w1.ron and w2_izhikevich.ron via examples/bench_run.rs), Brian2 runtime (Cython),
Brian2 cpp_standalone (OpenMP, same thread count) and NEST 3.10, every one with the same thread
count. Each run is its own process; only the simulation loop is timed. Prints synapse-steps per
second of each, edra's ratio to the faster Brian2 mode and to NEST, and for W2 wall seconds per
simulated second. The peers' venv is made under target/peers/ on first use (benches/peers/env.py).
Results also go to target/peers/results.json.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import env  # noqa: E402


def run(cmd, timeout):
    """Runs one benchmark process and returns its RESULT (or the bench_run JSON line)."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  timed out: {' '.join(cmd)}", file=sys.stderr)
        return None
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("RESULT "):
            return json.loads(line[7:])
        if line.startswith("{"):
            return json.loads(line)
    print(f"  failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}", file=sys.stderr)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--quick", action="store_true", help="shorter simulated times")
    ap.add_argument("--skip", default="", help="comma list of: brian2_runtime,brian2_standalone,nest,w1,w2")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    t = a.threads
    sizes = [int(s) for s in a.sizes.split(",")]

    # Make the venv before timing anything (installs brian2 and nest on first use).
    subprocess.check_call([sys.executable, os.path.join(HERE, "env.py")])
    py = env.PY
    subprocess.check_call(
        ["cargo", "build", "--release", "--quiet", "--example", "bench_run"], cwd=ROOT
    )
    edra_bin = os.path.join(ROOT, "target", "release", "examples", "bench_run")

    def w1_ms(n):
        ms = {10_000: 5000, 100_000: 2000}.get(n, 1000)
        return ms // 4 if a.quick else ms

    def peer_cmds(workload, n, ms):
        out = {}
        base = [os.path.join(HERE, "brian2_bench.py"), "--workload", workload, "--n", str(n), "--duration-ms", str(ms)]
        if "brian2_runtime" not in skip:
            out["brian2_runtime"] = [py, *base, "--mode", "runtime"]
        if "brian2_standalone" not in skip:
            out["brian2_standalone"] = [py, *base, "--mode", "standalone", "--threads", str(t)]
        if "nest" not in skip:
            out["nest"] = [py, os.path.join(HERE, "nest_bench.py"), "--workload", workload, "--n", str(n), "--duration-ms", str(ms), "--threads", str(t)]
        return out

    rows = []
    jobs = []
    if "w1" not in skip:
        for n in sizes:
            ms = w1_ms(n)
            jobs.append(("W1", n, ms, [edra_bin, "scenes/bench/w1.ron", "--size", str(n), "--threads", str(t), "--duration-ms", str(ms)]))
    if "w2" not in skip:
        ms = 1000 if a.quick else 5000
        jobs.append(("W2", 100_000, ms, [edra_bin, "scenes/bench/w2_izhikevich.ron", "--threads", str(t), "--duration-ms", str(ms)]))
    for workload, n, ms, edra_cmd in jobs:
        row = {"workload": workload, "n": n, "simulated_ms": ms, "threads": t}
        print(f"{workload} n={n}: edra", file=sys.stderr, flush=True)
        row["edra"] = run(edra_cmd, 3600)
        for name, cmd in peer_cmds(workload.lower(), n, ms).items():
            print(f"{workload} n={n}: {name}", file=sys.stderr, flush=True)
            row[name] = run(cmd, 3600)
        rows.append(row)

    os.makedirs(os.path.join(ROOT, "target", "peers"), exist_ok=True)
    with open(os.path.join(ROOT, "target", "peers", "results.json"), "w") as f:
        json.dump(rows, f, indent=1)

    def rate(r, k):
        return r[k]["synapse_steps_per_s"] if r.get(k) else None

    def fmt(x, unit=1e6):
        return f"{x / unit:8.1f}" if x else "       —"

    print(f"\nsynapse-steps per second (millions), {t} thread(s); ratios are edra / peer")
    print("| workload | synapses | edra | Brian2 runtime | Brian2 standalone | NEST 3.10 | edra / best Brian2 | edra / NEST |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        e = rate(r, "edra")
        b = max(filter(None, [rate(r, "brian2_runtime"), rate(r, "brian2_standalone")]), default=None)
        nst = rate(r, "nest")
        ratio = lambda x: f"{e / x:6.2f}x" if (e and x) else "—"  # noqa: E731
        print(
            f"| {r['workload']} | {r['n']} | {fmt(e)} | {fmt(rate(r, 'brian2_runtime'))} | "
            f"{fmt(rate(r, 'brian2_standalone'))} | {fmt(nst)} | {ratio(b)} | {ratio(nst)} |"
        )
    w2 = [r for r in rows if r["workload"] == "W2"]
    if w2:
        r = w2[0]
        sec = {k: r[k]["wall_s_per_simulated_s"] for k in ["edra", "brian2_runtime", "brian2_standalone", "nest"] if r.get(k)}
        print("\nW2 (Izhikevich 2007, 10^5 synapses): wall seconds per simulated second")
        for k, v in sec.items():
            print(f"  {k:<18} {v:8.3f}")
        peers = [v for k, v in sec.items() if k != "edra"]
        if "edra" in sec and peers:
            print(f"  edra is {min(peers) / sec['edra']:.2f}x faster than the fastest peer (target 2x)")


if __name__ == "__main__":
    main()

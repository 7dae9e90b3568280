"""Runs edra and its peers on the same workloads, one after another, and prints the table.

    python3 benches/peers/compare.py [--threads 2] [--sizes 10000,100000,1000000] [--quick]
        [--skip w1,w2,w3,w4,brian2_runtime,brian2_standalone,nest] [--check]

W1 (N independent DA-STDP synapses, 5 Hz Poisson pre and post each, dopamine pulse every
second, dt 1 ms) at each N, and W2 (Izhikevich 2007, 1000 neurons, 100 000 synapses), in edra
(scenes/bench/w1.ron and w2_izhikevich.ron via examples/bench_run.rs), Brian2 runtime (Cython),
Brian2 cpp_standalone (OpenMP, same thread count) and NEST 3.10, every one with the same thread
count. Each run is its own process; only the simulation loop is timed. Prints synapse-steps per
second of each, edra's ratio to the faster Brian2 mode and to NEST, and for W2 wall seconds per
simulated second. The peers' venv is made under target/peers/ on first use (benches/peers/env.py;
EDRA_PEERS_VENV puts it elsewhere).

W3 (the cascade's calcium path: N independent synapses with the linear Ca model and the calcium
rule of Graupner & Brunel 2012, own 5 Hz Poisson pre and post each, dt 0.1 ms;
scenes/bench/w3_calcium.ron) at each N, in edra clock-driven and, when the scene schema accepts
`event_driven: true` in `CalciumRule((…))`, event-driven (a copy of the scene with that field,
written under the target dir; if edra refuses it, a note says so and that mode is skipped), and
in Brian2 (both modes). NEST 3.10 has no calcium-based synapse: no NEST column for W3.
W4 (the plastic Brunel network of Zenke & Gerstner 2014 with edra's external drive, 10^4 LIF
neurons and ≈ 10^7 synapses, STDP on E→E, dt 0.1 ms; scenes/bench/w4_brunel_stdp.ron) in all
four, reported in wall seconds per simulated second. `--check` first runs W3 (10^4 synapses, 1 s)
and W4 (200 ms) once in each simulator, untimed, and prints edra's and the peers' mean ρ and
firing rates, to show that the models agree.

edra is built with `cargo build --release --example bench_run` and run from
$CARGO_TARGET_DIR/release/examples (default target/); `--check` also builds the `edra` binary.
Results also go to $CARGO_TARGET_DIR/peers/results.json.
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR", "target"))
sys.path.insert(0, HERE)
import env  # noqa: E402


def run(cmd, timeout, quiet=False):
    """Runs one benchmark process and returns its RESULT (or the bench_run JSON line)."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  timed out: {' '.join(cmd)}", file=sys.stderr)
        return None
    if quiet and p.returncode != 0:
        lines = p.stderr.split("stack backtrace:")[0].strip().splitlines()
        return {"error": " ".join(lines[-2:]) if lines else f"exit {p.returncode}"}
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("RESULT "):
            return json.loads(line[7:])
        if line.startswith("{"):
            return json.loads(line)
    print(f"  failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}", file=sys.stderr)
    return None


def event_driven_variant(scene):
    """A copy of the W3 scene with `event_driven: true` in its `CalciumRule((…))`, written under
    the target dir; returns its path."""
    text = open(os.path.join(ROOT, scene)).read()
    marker = "noise: true,"
    assert marker in text, f"{scene}: no `{marker}` in CalciumRule to add event_driven after"
    out = os.path.join(TARGET, "peers", "w3_calcium_event.ron")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text.replace(marker, marker + " event_driven: true,", 1))
    return out


def resized(scene, sizes, name):
    """A copy of `scene` with its neuron groups' sizes replaced (`sizes`: old → new), under the
    target dir (`edra run` has no --size)."""
    text = open(os.path.join(ROOT, scene)).read()
    for old, new in sizes.items():
        text = text.replace(f"size: {old},", f"size: {new},")
    out = os.path.join(TARGET, "peers", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    return out


def edra_check(edra_cli, threads):
    """Runs W3 (10^4 synapses, 1 s) and W4 (200 ms) once with `edra run` and returns W3's mean ρ
    and fraction of ρ above 0.5, and W4's mean excitatory and inhibitory rates."""
    out = {}
    tmp = tempfile.mkdtemp(prefix="edra_check_")
    try:
        w3 = resized("scenes/bench/w3_calcium.ron", {1000000: 10000}, "w3_check.ron")
        d = os.path.join(tmp, "w3")
        subprocess.run([edra_cli, "run", w3, "--out", d, "--duration-ms", "1000", "--threads", str(threads)],
                       cwd=ROOT, check=True, capture_output=True)
        with open(os.path.join(d, "synapses.csv")) as f:
            rho = [float(r["rho"]) for r in csv.DictReader(f)]
        out["w3_mean_rho"] = sum(rho) / len(rho)
        out["w3_frac_rho_above_half"] = sum(r > 0.5 for r in rho) / len(rho)
        d = os.path.join(tmp, "w4")
        subprocess.run([edra_cli, "run", "scenes/bench/w4_brunel_stdp.ron", "--out", d, "--duration-ms", "200",
                        "--threads", str(threads)], cwd=ROOT, check=True, capture_output=True)
        n_exc = n_inh = 0
        with open(os.path.join(d, "spikes.csv")) as f:
            for r in csv.DictReader(f):
                if int(r["neuron"]) < 8000:
                    n_exc += 1
                else:
                    n_inh += 1
        out["w4_rate_exc_hz"] = n_exc / (8000 * 0.2)
        out["w4_rate_inh_hz"] = n_inh / (2000 * 0.2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--quick", action="store_true", help="shorter simulated times")
    ap.add_argument(
        "--skip", default="", help="comma list of: brian2_runtime,brian2_standalone,nest,w1,w2,w3,w4"
    )
    ap.add_argument("--check", action="store_true", help="first check that the W3 and W4 models agree")
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
    edra_bin = os.path.join(TARGET, "release", "examples", "bench_run")

    def w1_ms(n):
        ms = {10_000: 5000, 100_000: 2000}.get(n, 1000)
        return ms // 4 if a.quick else ms

    def w3_ms(n):
        # dt 0.1 ms: 10 steps per ms; Brian2 takes every synapse on every step.
        ms = {10_000: 1000, 100_000: 200}.get(n, 100)
        return ms // 4 if a.quick else ms

    def peer_cmds(workload, n, ms):
        out = {}
        base = [os.path.join(HERE, "brian2_bench.py"), "--workload", workload, "--n", str(n), "--duration-ms", str(ms)]
        if "brian2_runtime" not in skip:
            out["brian2_runtime"] = [py, *base, "--mode", "runtime"]
        if "brian2_standalone" not in skip:
            out["brian2_standalone"] = [py, *base, "--mode", "standalone", "--threads", str(t)]
        if "nest" not in skip and workload != "w3":
            out["nest"] = [py, os.path.join(HERE, "nest_bench.py"), "--workload", workload, "--n", str(n), "--duration-ms", str(ms), "--threads", str(t)]
        return out

    check = None
    if a.check:
        subprocess.check_call(["cargo", "build", "--release", "--quiet", "--bin", "edra"], cwd=ROOT)
        print("check: W3 (10^4 synapses, 1 s) and W4 (200 ms), untimed", file=sys.stderr, flush=True)
        check = {"edra": edra_check(os.path.join(TARGET, "release", "edra"), t)}
        for name, cmd in peer_cmds("w3", 10_000, 1000).items():
            check[name + "_w3"] = run([*cmd, "--check"], 3600)
        for name, cmd in peer_cmds("w4", 10_000, 200).items():
            check[name + "_w4"] = run([*cmd, "--check"], 3600)

    event_scene = None
    if "w3" not in skip:
        event_scene = event_driven_variant("scenes/bench/w3_calcium.ron")
        probe = run([edra_bin, event_scene, "--size", "100", "--threads", "1", "--duration-ms", "1"], 600, quiet=True)
        if probe is None or "error" in probe:
            why = probe["error"] if probe else "no result"
            print(f"note: edra refuses `event_driven: true` in CalciumRule ({why}); W3 runs clock-driven only",
                  file=sys.stderr, flush=True)
            event_scene = None

    rows = []
    jobs = []
    if "w1" not in skip:
        for n in sizes:
            ms = w1_ms(n)
            jobs.append(("W1", n, ms, {"edra": [edra_bin, "scenes/bench/w1.ron", "--size", str(n), "--threads", str(t), "--duration-ms", str(ms)]}))
    if "w2" not in skip:
        ms = 1000 if a.quick else 5000
        jobs.append(("W2", 100_000, ms, {"edra": [edra_bin, "scenes/bench/w2_izhikevich.ron", "--threads", str(t), "--duration-ms", str(ms)]}))
    if "w3" not in skip:
        for n in sizes:
            ms = w3_ms(n)
            edra = {"edra": [edra_bin, "scenes/bench/w3_calcium.ron", "--size", str(n), "--threads", str(t), "--duration-ms", str(ms)]}
            if event_scene:
                edra["edra_event"] = [edra_bin, event_scene, "--size", str(n), "--threads", str(t), "--duration-ms", str(ms)]
            jobs.append(("W3", n, ms, edra))
    if "w4" not in skip:
        ms = 100 if a.quick else 500
        jobs.append(("W4", 10_000, ms, {"edra": [edra_bin, "scenes/bench/w4_brunel_stdp.ron", "--threads", str(t), "--duration-ms", str(ms)]}))
    for workload, n, ms, edra_cmds in jobs:
        row = {"workload": workload, "n": n, "simulated_ms": ms, "threads": t}
        for name, cmd in edra_cmds.items():
            print(f"{workload} n={n}: {name}", file=sys.stderr, flush=True)
            row[name] = run(cmd, 3600)
        for name, cmd in peer_cmds(workload.lower(), n, ms).items():
            print(f"{workload} n={n}: {name}", file=sys.stderr, flush=True)
            row[name] = run(cmd, 3600)
        rows.append(row)

    os.makedirs(os.path.join(TARGET, "peers"), exist_ok=True)
    with open(os.path.join(TARGET, "peers", "results.json"), "w") as f:
        json.dump({"rows": rows, "check": check}, f, indent=1)

    def rate(r, k):
        return r[k]["synapse_steps_per_s"] if r.get(k) else None

    def fmt(x, unit=1e6):
        return f"{x / unit:8.1f}" if x else "       —"

    def ratio(e, x):
        return f"{e / x:6.2f}x" if (e and x) else "—"

    table = [r for r in rows if r["workload"] in ("W1", "W2")]
    if table:
        print(f"\nsynapse-steps per second (millions), {t} thread(s); ratios are edra / peer")
        print("| workload | synapses | edra | Brian2 runtime | Brian2 standalone | NEST 3.10 | edra / best Brian2 | edra / NEST |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        e = rate(r, "edra")
        b = max(filter(None, [rate(r, "brian2_runtime"), rate(r, "brian2_standalone")]), default=None)
        nst = rate(r, "nest")
        print(
            f"| {r['workload']} | {r['n']} | {fmt(e)} | {fmt(rate(r, 'brian2_runtime'))} | "
            f"{fmt(rate(r, 'brian2_standalone'))} | {fmt(nst)} | {ratio(e, b)} | {ratio(e, nst)} |"
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
    w3 = [r for r in rows if r["workload"] == "W3"]
    if w3:
        print(f"\nW3 (Graupner–Brunel calcium path, dt 0.1 ms): synapse-steps per second (millions), {t} thread(s)")
        print("NEST 3.10 has no calcium-based synapse model; ratios are edra / the faster Brian2 mode")
        print("| synapses | simulated ms | edra clock-driven | edra event-driven | Brian2 runtime | Brian2 standalone | edra clock / best peer | edra event / best peer |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in w3:
            e, ev = rate(r, "edra"), rate(r, "edra_event")
            b = max(filter(None, [rate(r, "brian2_runtime"), rate(r, "brian2_standalone")]), default=None)
            print(
                f"| {r['n']} | {r['simulated_ms']} | {fmt(e)} | {fmt(ev)} | {fmt(rate(r, 'brian2_runtime'))} | "
                f"{fmt(rate(r, 'brian2_standalone'))} | {ratio(e, b)} | {ratio(ev, b)} |"
            )
        if not event_scene:
            print("(event-driven W3: not run, edra refused `event_driven: true` in CalciumRule)")
    w4 = [r for r in rows if r["workload"] == "W4"]
    if w4:
        r = w4[0]
        print(f"\nW4 (plastic Brunel network, 10^4 LIF, {r['simulated_ms']} ms simulated, dt 0.1 ms): wall seconds per simulated second, {t} thread(s)")
        print("| | edra | Brian2 runtime | Brian2 standalone | NEST 3.10 |")
        print("|---|---:|---:|---:|---:|")
        keys = ["edra", "brian2_runtime", "brian2_standalone", "nest"]
        cell = lambda k, f: f(r[k]) if r.get(k) else "—"  # noqa: E731
        print("| wall s / simulated s | " + " | ".join(cell(k, lambda x: f"{x['wall_s_per_simulated_s']:.2f}") for k in keys) + " |")
        print("| synapses | " + " | ".join(cell(k, lambda x: f"{x['synapses']}") for k in keys) + " |")
        peers = [r[k]["wall_s_per_simulated_s"] for k in keys[1:] if r.get(k)]
        if r.get("edra") and peers:
            print(f"edra is {min(peers) / r['edra']['wall_s_per_simulated_s']:.2f}x faster than the fastest peer")
    if check:
        print("\ncheck (untimed): W3 10^4 synapses after 1 s, W4 rates over 200 ms")
        e = check["edra"]
        print(f"  edra               W3 mean ρ {e['w3_mean_rho']:.4f}, ρ > 0.5: {e['w3_frac_rho_above_half']:.4f}; "
              f"W4 rates E {e['w4_rate_exc_hz']:.2f} Hz, I {e['w4_rate_inh_hz']:.2f} Hz")
        for k in ["brian2_runtime", "brian2_standalone", "nest"]:
            r3, r4 = check.get(k + "_w3"), check.get(k + "_w4")
            w3s = f"W3 mean ρ {r3['mean_rho']:.4f}, ρ > 0.5: {r3['frac_rho_above_half']:.4f}" if r3 else "W3 —"
            w4s = f"W4 rates E {r4['rate_exc_hz']:.2f} Hz, I {r4['rate_inh_hz']:.2f} Hz" if r4 else "W4 —"
            print(f"  {k:<18} {w3s}; {w4s}")


if __name__ == "__main__":
    main()

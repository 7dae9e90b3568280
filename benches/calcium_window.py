"""The STDP window of the calcium rule, clock-driven against event-driven, in one run.

    python3 benches/calcium_window.py [--threads 1,2] [--trials 50]

Runs scenes/experiments/stdp_window_calcium.ron (Graupner & Brunel 2012: 41 Δt × 2 start states
× `--trials` synapses, 60 pairs at 1 Hz, dt 0.1 ms, 60.4 s) with `target/release/edra run`, as
written (clock-driven) and with `event_driven: true` in its rule, at each thread count; prints the
simulation time of each (edra's own "simulated in" figure, without the build), the ratio of the
best clock-driven to the best event-driven time, and the readout of both: per Δt the fractions
D (DOWN → UP) and U (UP → DOWN) and the change of strength 1 + (2/3)(D − U), with the number of
Δt where the two differ by more than 3 standard errors (expected: about 0.3 % of them by chance).
"""

import argparse
import csv
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENE = os.path.join(ROOT, "scenes", "experiments", "stdp_window_calcium.ron")
OUT = os.path.join(ROOT, "target", "calcium_window")
EDRA = os.path.join(ROOT, "target", "release", "edra")


def variants(trials):
    """The clock-driven and event-driven scene texts, with `trials` synapses per point."""
    text = open(SCENE).read().replace("size: 50", f"size: {trials}")
    marker = "h_up_mv: 5.0))"
    assert marker in text, "the scene's rule changed"
    return {"clock": text, "event": text.replace(marker, "h_up_mv: 5.0, event_driven: true))")}


def run(scene, out, threads):
    """Runs one scene and returns edra's simulation time in seconds."""
    p = subprocess.run(
        [EDRA, "run", scene, "--out", out, "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = re.search(r"simulated in ([0-9.]+) s", p.stdout + p.stderr)
    return float(m.group(1))


def readout(out):
    """Per Δt (ms): (D, U, trials) from a run's synapses.csv."""
    rows = list(csv.DictReader(open(os.path.join(out, "synapses.csv"))))
    points = {}
    for r in rows:
        dt = float(r["synapses.syn.dendritic_delay_ms"]) - 100.0
        start = float(r["synapses.syn.init.rho"])
        rho = float(r["rho"])
        d, u, n = points.get(dt, (0, 0, 0))
        if start == 0.0:
            points[dt] = (d + (rho > 0.5), u, n + 1)
        else:
            points[dt] = (d, u + (rho < 0.5), n)
    return {dt: (d / n, u / n, n) for dt, (d, u, n) in sorted(points.items())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--trials", type=int, default=50)
    a = ap.parse_args()
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--bin", "edra"], cwd=ROOT)
    os.makedirs(OUT, exist_ok=True)
    best, outs = {}, {}
    for mode, text in variants(a.trials).items():
        scene = os.path.join(OUT, f"{mode}.ron")
        open(scene, "w").write(text)
        for t in [int(x) for x in a.threads.split(",")]:
            out = os.path.join(OUT, f"{mode}-{t}")
            s = run(scene, out, t)
            print(f"{mode:5} {t} thread(s): {s:8.2f} s", flush=True)
            if s < best.get(mode, math.inf):
                best[mode], outs[mode] = s, out
    print(f"event-driven is {best['clock'] / best['event']:.1f}x faster (best of each)")
    clock, event = readout(outs["clock"]), readout(outs["event"])
    far = 0
    print("  Δt ms | clock D   U   ratio | event D   U   ratio | |Δratio|/SE")
    for dt in clock:
        (dc, uc, n), (de, ue, _) = clock[dt], event[dt]
        rc, re_ = 1 + 2 / 3 * (dc - uc), 1 + 2 / 3 * (de - ue)
        var = lambda q: max(q * (1 - q), 0.25 / n) / n
        se = 2 / 3 * math.sqrt(var(dc) + var(uc) + var(de) + var(ue))
        z = abs(rc - re_) / se
        far += z > 3
        print(f"{dt:7.0f} | {dc:.2f} {uc:.2f} {rc:.3f} | {de:.2f} {ue:.2f} {re_:.3f} | {z:.1f}")
    print(f"{far} of {len(clock)} Δt differ by more than 3 SE")
    return 0


if __name__ == "__main__":
    sys.exit(main())

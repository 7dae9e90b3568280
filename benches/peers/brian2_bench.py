"""The peer workloads in Brian2 (runtime mode with Cython, or cpp_standalone with OpenMP).

    python benches/peers/brian2_bench.py --workload w1 --n 100000 --duration-ms 1000 \
        --mode runtime|standalone --threads 2

Prints one line `RESULT {json}` with the wall time of the simulation loop only (code generation,
compilation and network construction are excluded; in runtime mode a 1 ms run compiles first).

W1: N synapses, each between its own 5 Hz Poisson pre and post neuron; dopamine-gated pair
STDP (traces τ± 20 ms, +0.1 / −0.15 into the eligibility c, τc 1 s, dw = rate·c·(DA + 0.002)·dt,
w in [0, 4]); one dopamine signal decaying with τ 200 ms and a 0.5 µM pulse every second.
W2: Izhikevich (2007): 800 RS + 200 FS neurons, 100 synapses out of each, excitatory ones with
the DA-STDP of W1 and delays 1–20 ms, inhibitory ones static (−5, 1 ms), thalamic kicks of 20
with probability 1/1000 per neuron per ms, a dopamine pulse every second. dt 1 ms.

The per-step synapse work (eligibility decay and weight update) is one `run_regularly` code
object per step: the fastest way Brian2 offers to write a clock-driven rule.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import env  # noqa: E402

env.ensure()

from brian2 import (  # noqa: E402
    NeuronGroup,
    PoissonGroup,
    Synapses,
    Network,
    defaultclock,
    device,
    ms,
    Hz,
    prefs,
    second,
    set_device,
    seed,
)

STDP = dict(
    model="""
        c : 1
        w : 1
        dapre/dt = -apre/(20*ms) : 1 (event-driven)
        dapost/dt = -apost/(20*ms) : 1 (event-driven)
    """,
    on_pre="apre += 1.0\nc += -0.15*apost",
    on_post="apost += 1.0\nc += 0.1*apre",
)
# One code object per step: eligibility decay and the dopamine-gated weight update, clipped.
PER_STEP = "c = c*exp(-dt/(1000*ms))\nw = clip(w + 0.01*c*(da_post + 0.002)*(dt/ms), 0, 4)"


def dopamine(group):
    group.run_regularly("da = da*exp(-dt/(200*ms))", dt=defaultclock.dt)
    group.run_regularly("da += 0.5", dt=1 * second)


def w1(n):
    pre = PoissonGroup(n, 5 * Hz)
    post = NeuronGroup(n, "da : 1 (shared)", threshold="rand() < 5*Hz*dt")
    dopamine(post)
    s = Synapses(pre, post, model=STDP["model"], on_pre=STDP["on_pre"], on_post=STDP["on_post"])
    s.connect(j="i")
    s.w = 1.0
    s.run_regularly(PER_STEP, dt=defaultclock.dt)
    return [pre, post, s], n


def w2():
    eqs = """
        v : 1
        u : 1
        a : 1 (constant)
        d : 1 (constant)
        I : 1
        da : 1 (shared)
    """
    g = NeuronGroup(1000, eqs, threshold="v >= 30", reset="v = -65\nu += d")
    g.v = -65
    g.a = "0.02 + 0.08*int(i >= 800)"
    g.d = "8 - 6*int(i >= 800)"
    g.u = "0.2*v"
    # Izhikevich's two half-steps of v, then u; kicks of 20 with probability 1/1000 per ms.
    g.run_regularly(
        """
        I = 20*int(rand() < 0.001)
        v += 0.5*(0.04*v**2 + 5*v + 140 - u + I)
        v += 0.5*(0.04*v**2 + 5*v + 140 - u + I)
        v = clip(v, -1000, 30)
        u += a*(0.2*v - u)
        """,
        dt=defaultclock.dt,
        when="before_thresholds",
    )
    dopamine(g)
    exc = Synapses(
        g[:800], g, model=STDP["model"], on_pre="v_post += w\n" + STDP["on_pre"], on_post=STDP["on_post"]
    )
    # 80 targets among the excitatory and 20 among the inhibitory neurons, no autapses.
    exc.connect(j="k for k in sample(800, size=80) if k != i", skip_if_invalid=True)
    exc.connect(j="800 + k for k in sample(200, size=20)")
    exc.w = 1.0
    exc.delay = "(1 + floor(rand()*20))*ms"
    exc.run_regularly(PER_STEP, dt=defaultclock.dt)
    inh = Synapses(g[800:], g[:800], on_pre="v_post -= 5")
    inh.connect(j="k for k in sample(800, size=100)")
    inh.delay = 1 * ms
    # 80 + 20 + 100 per neuron (a few fewer where a sampled target was the source itself).
    return [g, exc, inh], 100_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=["w1", "w2"], default="w1")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--mode", choices=["runtime", "standalone"], default="runtime")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    build_dir = None
    if a.mode == "standalone":
        build_dir = tempfile.mkdtemp(prefix="brian2_standalone_")
        set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = a.threads
    else:
        prefs.codegen.target = "cython"
    defaultclock.dt = 1 * ms
    seed(1)
    objs, synapses = w1(a.n) if a.workload == "w1" else w2()
    net = Network(*objs)
    if a.mode == "runtime":
        net.run(1 * ms)  # code generation and compilation
        t = time.perf_counter()
        net.run(a.duration_ms * ms)
        wall = time.perf_counter() - t
    else:
        net.run(a.duration_ms * ms)
        t = time.perf_counter()
        device.build(directory=build_dir, compile=True, run=False)
        t = time.perf_counter()
        device.run(directory=build_dir, with_output=False)
        process = time.perf_counter() - t
        # The C++ main times the simulation loop itself; fall back to the process time.
        wall = getattr(device, "_last_run_time", None) or process
    steps = round(a.duration_ms)
    print(
        "RESULT "
        + json.dumps(
            dict(
                simulator="brian2",
                mode=a.mode,
                workload=a.workload,
                synapses=synapses,
                threads=a.threads if a.mode == "standalone" else 1,
                steps=steps,
                wall_s=wall,
                synapse_steps_per_s=synapses * steps / wall,
                wall_s_per_simulated_s=wall / (a.duration_ms / 1000.0),
            )
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

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
W3: N synapses, each between its own 5 Hz Poisson pre and post neuron, with the linear calcium
model and calcium rule of Graupner & Brunel 2012 ("DP" set), as scenes/bench/w3_calcium.ron.
dt 0.1 ms.
W4: the plastic Brunel network of Zenke & Gerstner 2014 with edra's external drive, as
scenes/bench/w4_brunel_stdp.ron (10^4 LIF neurons, ≈ 10^7 synapses, STDP on E→E). dt 0.1 ms.
`--check` (not for timing) adds to the RESULT the mean ρ at the end (W3) or the mean rates
(W4, from spike counters), to check that the models agree with edra's.

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

import numpy as np  # noqa: E402
from brian2 import (  # noqa: E402
    NeuronGroup,
    PoissonGroup,
    Synapses,
    SpikeMonitor,
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


# W3: Graupner & Brunel 2012, "DP" parameters (scenes/bench/w3_calcium.ron). Ca jumps by C_pre
# D = 13.7 ms after a presynaptic spike and by C_post at a postsynaptic spike (Brian2's
# `synapses` slot, after the spikes of the step are known); at the end of the step ρ takes one
# Euler–Maruyama step with the c of this step (edra's order: stage 1, then stage 3), the weight
# is read out, and c decays for the next step: c_s = c_(s−1)·e^(−dt/τCa) + jumps_s, as edra.
GB = dict(tau_ca_ms=20.0, c_pre=1.0, c_post=2.0, delay_ms=13.7, tau_ms=150000.0, rho_star=0.5,
          theta_d=1.0, theta_p=1.3, gamma_d=200.0, gamma_p=321.808, sigma=2.8284)
GB_STEP = """
up = int(c >= theta_p)
down = int(c >= theta_d)
rho = rho + h*(-rho*(1 - rho)*(rho_star - rho) + gamma_p*(1 - rho)*up - gamma_d*rho*down) + sigma*sqrt(h*(up + down))*randn()
w = h_down + rho*(h_up - h_down)
c = c*decay_ca
"""


def w3(n):
    pre = PoissonGroup(n, 5 * Hz)
    post = PoissonGroup(n, 5 * Hz)
    s = Synapses(
        pre,
        post,
        model="c : 1\nrho : 1\nw : 1",
        on_pre="c += c_pre",
        on_post="c += c_post",
        delay=GB["delay_ms"] * ms,
        namespace=dict(c_pre=GB["c_pre"], c_post=GB["c_post"]),
    )
    s.connect(j="i")
    s.w = 1.0
    dt_ms = float(defaultclock.dt / ms)
    ns = {k: GB[k] for k in ["rho_star", "theta_d", "theta_p", "gamma_d", "gamma_p", "sigma"]}
    ns.update(h=dt_ms / GB["tau_ms"], decay_ca=float(np.exp(-dt_ms / GB["tau_ca_ms"])), h_down=1.0, h_up=5.0)
    s.run_regularly(GB_STEP, dt=defaultclock.dt, when="end")
    s.namespace.update(ns)
    return [pre, post, s], n


# W4: LIF neurons as edra's `lif_step`: a refractory neuron is held at reset and its input is
# dropped; otherwise v ← v_inf + (v − v_inf)·e^(−dt/τm) + input, and it fires if v ≥ θ. The input
# is what the synapses delivered on the previous step (edra's delivery runs after the neurons,
# so a spike reaches the soma delay + 1 step after it is fired; here the synapses add to I in the
# `synapses` slot and the neurons read it on the next step) plus the step's Bernoulli kick.
W4 = dict(n_e=8000, n_i=2000, p=0.1, j=0.1, g=5.0, delay_ms=1.5, tau_m=20.0, theta=20.0, v_reset=10.0,
          ref_steps=20, drive=30.57191, kick_p=0.1, kick_mv=0.4714045, lam=1e-4, alpha=2.02, wmax=0.3,
          tau_stdp=20.0)
LIF_STEP = """
is_ref = int(ref > 0)
v = is_ref*v_reset + (1 - is_ref)*(v_inf + (v - v_inf)*decay_m + I + kick_mv*int(rand() < kick_p))
ref = ref - is_ref
I = 0
"""


def w4(counters=False):
    p = W4
    dt_ms = float(defaultclock.dt / ms)
    g = NeuronGroup(
        p["n_e"] + p["n_i"],
        "v : 1\nI : 1\nref : integer",
        threshold="v >= theta",
        reset="v = v_reset\nref = ref_steps",
        namespace=dict(theta=p["theta"], v_reset=p["v_reset"], ref_steps=p["ref_steps"]),
    )
    g.run_regularly(
        LIF_STEP,
        dt=defaultclock.dt,
        when="start",
    )
    g.namespace.update(
        v_inf=p["drive"], decay_m=float(np.exp(-dt_ms / p["tau_m"])), kick_mv=p["kick_mv"], kick_p=p["kick_p"]
    )
    exc, inh = g[: p["n_e"]], g[p["n_e"]:]
    delay = p["delay_ms"] * ms
    # NEST's stdp_synapse with mu_plus 0, mu_minus 1 (edra: additive LTP, multiplicative LTD).
    ee = Synapses(
        exc,
        exc,
        model="""w : 1
                 dapre/dt = -apre/tau_stdp : 1 (event-driven)
                 dapost/dt = -apost/tau_stdp : 1 (event-driven)""",
        on_pre="I_post += w\nw = clip(w - a_minus*apost*w, 0, wmax)\napre += 1",
        on_post="w = clip(w + a_plus*apre, 0, wmax)\napost += 1",
        delay=delay,
        namespace=dict(
            tau_stdp=p["tau_stdp"] * ms, a_minus=p["alpha"] * p["lam"], a_plus=p["lam"] * p["wmax"], wmax=p["wmax"]
        ),
    )
    ee.connect(condition="i != j", p=p["p"])
    ee.w = p["j"]
    ei = Synapses(exc, inh, on_pre="I_post += J", delay=delay, namespace=dict(J=p["j"]))
    ei.connect(p=p["p"])
    ie = Synapses(inh, exc, on_pre="I_post -= gJ", delay=delay, namespace=dict(gJ=p["g"] * p["j"]))
    ie.connect(p=p["p"])
    ii = Synapses(inh, inh, on_pre="I_post -= gJ", delay=delay, namespace=dict(gJ=p["g"] * p["j"]))
    ii.connect(condition="i != j", p=p["p"])
    objs = [g, ee, ei, ie, ii]
    mons = None
    if counters:
        mons = (SpikeMonitor(exc, record=False), SpikeMonitor(inh, record=False))
        objs += list(mons)
    return objs, None, mons


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=["w1", "w2", "w3", "w4"], default="w1")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--mode", choices=["runtime", "standalone"], default="runtime")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="not for timing: W3 mean ρ, W4 spike counts")
    a = ap.parse_args()

    build_dir = None
    if a.mode == "standalone":
        build_dir = tempfile.mkdtemp(prefix="brian2_standalone_")
        set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = a.threads
    else:
        prefs.codegen.target = "cython"
    dt_ms = 0.1 if a.workload in ("w3", "w4") else 1.0
    defaultclock.dt = dt_ms * ms
    seed(1)
    mons = None
    if a.workload == "w1":
        objs, synapses = w1(a.n)
    elif a.workload == "w2":
        objs, synapses = w2()
    elif a.workload == "w3":
        objs, synapses = w3(a.n)
    else:
        objs, _, mons = w4(counters=a.check)
    net = Network(*objs)
    if a.mode == "runtime":
        net.run(defaultclock.dt)  # code generation and compilation
        t0 = time.perf_counter()
        net.run(a.duration_ms * ms)
        wall = time.perf_counter() - t0
    else:
        net.run(a.duration_ms * ms)
        t0 = time.perf_counter()
        device.build(directory=build_dir, compile=True, run=False)
        t0 = time.perf_counter()
        device.run(directory=build_dir, with_output=False)
        process = time.perf_counter() - t0
        # The C++ main times the simulation loop itself; fall back to the process time.
        wall = getattr(device, "_last_run_time", None) or process
    if a.workload == "w4":
        synapses = sum(len(o) for o in objs if isinstance(o, Synapses))
    steps = round(a.duration_ms / dt_ms)
    out = dict(
        simulator="brian2",
        mode=a.mode,
        workload=a.workload,
        synapses=synapses,
        threads=a.threads if a.mode == "standalone" else 1,
        steps=steps,
        dt_ms=dt_ms,
        wall_s=wall,
        synapse_steps_per_s=synapses * steps / wall,
        wall_s_per_simulated_s=wall / (a.duration_ms / 1000.0),
    )
    if a.check and a.workload == "w3":
        rho = np.asarray(objs[2].rho[:])
        out["mean_rho"] = float(rho.mean())
        out["frac_rho_above_half"] = float((rho > 0.5).mean())
    if mons is not None:
        sim_s = (a.duration_ms + dt_ms * (a.mode == "runtime")) / 1000.0
        out["rate_exc_hz"] = int(mons[0].num_spikes) / (W4["n_e"] * sim_s)
        out["rate_inh_hz"] = int(mons[1].num_spikes) / (W4["n_i"] * sim_s)
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

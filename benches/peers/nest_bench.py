"""The peer workloads in NEST 3.10 (`stdp_dopamine_synapse` with a `volume_transmitter`).

    python benches/peers/nest_bench.py --workload w1 --n 100000 --duration-ms 1000 --threads 2

Prints one line `RESULT {json}` with the wall time of `nest.Simulate` only (after a 1 ms
simulation that finishes the network's preparation). The workloads are those of
brian2_bench.py; NEST's DA-STDP is event-driven (Potjans et al. 2010): a synapse does work when
a spike passes it, not on every step. Post neurons of W1 are parrot neurons fed by their own
Poisson generator; the plastic synapses end on their port 1, where spikes trigger STDP but are
not repeated. Dopamine comes from a spike generator through a parrot neuron (one spike per
second) into the volume transmitter.

W4 is the plastic Brunel network of scenes/bench/w4_brunel_stdp.ron: `iaf_psc_delta` neurons
(exact integration, input dropped while refractory, as edra's LIF), `stdp_synapse` with
mu_plus 0 and mu_minus 1 on E→E, static synapses elsewhere, and edra's external drive: a
constant current (I_e = drive·C_m/τm) and a Bernoulli kick per neuron per step, given by one
parrot neuron that fires on every step into a `bernoulli_synapse` (p_transmit 0.1) to each
neuron. NEST adds a spike's input in the step it arrives, edra (and the Brian2 script) in the
step after, so the delays here are one step longer (1.6 ms) to give the same effective delay.
`--check` records spikes (not for timing) and prints the mean rates. NEST 3.10 has no
Graupner–Brunel (calcium) synapse, so there is no W3 here.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import env  # noqa: E402

env.ensure()

import nest  # noqa: E402

STDP = {
    "tau_c": 1000.0,
    "tau_n": 200.0,
    "tau_plus": 20.0,
    "A_plus": 0.1,
    "A_minus": 0.15,
    "b": 0.0,
    "Wmin": 0.0,
    "Wmax": 4.0,
}


def dopamine(duration_ms):
    sg = nest.Create("spike_generator", params={"spike_times": [1000.0 * k + 500.0 for k in range(int(duration_ms // 1000) + 2)]})
    dap = nest.Create("parrot_neuron")
    nest.Connect(sg, dap)
    vt = nest.Create("volume_transmitter")
    nest.Connect(dap, vt)
    nest.CopyModel("stdp_dopamine_synapse", "da_stdp", {**STDP, "volume_transmitter": vt})


def w1(n, duration_ms):
    dopamine(duration_ms)
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create("parrot_neuron", n, params={"tau_minus": 20.0})
    nest.Connect(nest.Create("poisson_generator", params={"rate": 5.0}), pre)
    nest.Connect(nest.Create("poisson_generator", params={"rate": 5.0}), post)
    nest.Connect(
        pre,
        post,
        "one_to_one",
        {"synapse_model": "da_stdp", "weight": 1.0, "delay": 1.0, "receptor_type": 1},
    )
    return n


def w2(duration_ms):
    dopamine(duration_ms)
    common = {"consistent_integration": False, "c": -65.0, "b": 0.2, "tau_minus": 20.0}
    exc = nest.Create("izhikevich", 800, params={**common, "a": 0.02, "d": 8.0})
    inh = nest.Create("izhikevich", 200, params={**common, "a": 0.1, "d": 2.0})
    (exc + inh).V_m = -65.0
    (exc + inh).U_m = -13.0
    # Thalamic kicks: each neuron gets 20 with probability 1/1000 per ms.
    nest.Connect(nest.Create("poisson_generator", params={"rate": 1.0}), exc + inh, syn_spec={"weight": 20.0})
    delay = nest.random.uniform_int(20) + 1.0
    rule = {"allow_autapses": False, "allow_multapses": False}
    plastic = {"synapse_model": "da_stdp", "weight": 1.0, "delay": delay}
    nest.Connect(exc, exc, {"rule": "fixed_outdegree", "outdegree": 80, **rule}, plastic)
    nest.Connect(exc, inh, {"rule": "fixed_outdegree", "outdegree": 20, **rule}, plastic)
    nest.Connect(inh, exc, {"rule": "fixed_outdegree", "outdegree": 100, **rule}, {"weight": -5.0, "delay": 1.0})
    return 100_000


# The Brunel network of scenes/bench/w4_brunel_stdp.ron (see brian2_bench.py's W4).
W4 = dict(n_e=8000, n_i=2000, p=0.1, j=0.1, g=5.0, delay_ms=1.5, tau_m=20.0, theta=20.0, v_reset=10.0,
          t_ref=2.0, drive=30.57191, kick_p=0.1, kick_mv=0.4714045, lam=1e-4, alpha=2.02, wmax=0.3,
          tau_stdp=20.0)


def w4(duration_ms, rates):
    p = W4
    c_m = 250.0
    lif = {
        "E_L": 0.0,
        "V_th": p["theta"],
        "V_reset": p["v_reset"],
        "t_ref": p["t_ref"],
        "tau_m": p["tau_m"],
        "C_m": c_m,
        "I_e": p["drive"] * c_m / p["tau_m"],
        "V_m": 0.0,
        "refractory_input": False,
        "tau_minus": p["tau_stdp"],
    }
    exc = nest.Create("iaf_psc_delta", p["n_e"], params=lif)
    inh = nest.Create("iaf_psc_delta", p["n_i"], params=lif)
    everyone = exc + inh
    # One spike on every step (from 0.1 ms on) through a parrot, kept with probability kick_p
    # per target and step: a Bernoulli kick per neuron per step, as edra's LIF kick.
    steps = int(round((duration_ms + 10.0) / 0.1))
    gen = nest.Create("spike_generator", params={"spike_times": [round(0.1 * k, 1) for k in range(1, steps + 1)]})
    clock = nest.Create("parrot_neuron")
    nest.Connect(gen, clock)
    nest.Connect(
        clock,
        everyone,
        syn_spec={"synapse_model": "bernoulli_synapse", "p_transmit": p["kick_p"], "weight": p["kick_mv"], "delay": 0.1},
    )
    d = p["delay_ms"] + 0.1
    nest.CopyModel(
        "stdp_synapse",
        "ee_stdp",
        {"tau_plus": p["tau_stdp"], "lambda": p["lam"], "alpha": p["alpha"], "mu_plus": 0.0, "mu_minus": 1.0, "Wmax": p["wmax"]},
    )
    rule = lambda auto: {"rule": "pairwise_bernoulli", "p": p["p"], "allow_autapses": auto}  # noqa: E731
    nest.Connect(exc, exc, rule(False), {"synapse_model": "ee_stdp", "weight": p["j"], "delay": d})
    nest.Connect(exc, inh, rule(True), {"weight": p["j"], "delay": d})
    nest.Connect(inh, exc, rule(True), {"weight": -p["g"] * p["j"], "delay": d})
    nest.Connect(inh, inh, rule(False), {"weight": -p["g"] * p["j"], "delay": d})
    recs = None
    if rates:
        recs = (nest.Create("spike_recorder"), nest.Create("spike_recorder"))
        nest.Connect(exc, recs[0])
        nest.Connect(inh, recs[1])
    synapses = nest.GetKernelStatus("num_connections") - len(everyone) - 1 - (p["n_e"] + p["n_i"] if rates else 0)
    return synapses, recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=["w1", "w2", "w4"], default="w1")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="not for timing: W4 records spikes, prints the rates")
    a = ap.parse_args()

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    dt_ms = 0.1 if a.workload == "w4" else 1.0
    nest.SetKernelStatus({"local_num_threads": a.threads, "resolution": dt_ms, "rng_seed": 1, "print_time": False})
    recs = None
    if a.workload == "w1":
        synapses = w1(a.n, a.duration_ms)
    elif a.workload == "w2":
        synapses = w2(a.duration_ms)
    else:
        synapses, recs = w4(a.duration_ms, a.check)
    nest.Simulate(dt_ms if a.workload == "w4" else 1.0)
    t = time.perf_counter()
    nest.Simulate(a.duration_ms)
    wall = time.perf_counter() - t
    steps = round(a.duration_ms / dt_ms)
    out = dict(
        simulator="nest",
        mode="3.10",
        workload=a.workload,
        synapses=synapses,
        threads=a.threads,
        steps=steps,
        dt_ms=dt_ms,
        wall_s=wall,
        synapse_steps_per_s=synapses * steps / wall,
        wall_s_per_simulated_s=wall / (a.duration_ms / 1000.0),
    )
    if recs is not None:
        sim_s = (a.duration_ms + dt_ms) / 1000.0
        out["rate_exc_hz"] = recs[0].n_events / (W4["n_e"] * sim_s)
        out["rate_inh_hz"] = recs[1].n_events / (W4["n_i"] * sim_s)
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

"""The peer workloads in NEST 3.10 (`stdp_dopamine_synapse` with a `volume_transmitter`).

    python benches/peers/nest_bench.py --workload w1 --n 100000 --duration-ms 1000 --threads 2

Prints one line `RESULT {json}` with the wall time of `nest.Simulate` only (after a 1 ms
simulation that finishes the network's preparation). The workloads are those of
brian2_bench.py; NEST's DA-STDP is event-driven (Potjans et al. 2010): a synapse does work when
a spike passes it, not on every step. Post neurons of W1 are parrot neurons fed by their own
Poisson generator; the plastic synapses end on their port 1, where spikes trigger STDP but are
not repeated. Dopamine comes from a spike generator through a parrot neuron (one spike per
second) into the volume transmitter.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=["w1", "w2"], default="w1")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"local_num_threads": a.threads, "resolution": 1.0, "rng_seed": 1, "print_time": False})
    synapses = w1(a.n, a.duration_ms) if a.workload == "w1" else w2(a.duration_ms)
    nest.Simulate(1.0)
    t = time.perf_counter()
    nest.Simulate(a.duration_ms)
    wall = time.perf_counter() - t
    steps = round(a.duration_ms)
    print(
        "RESULT "
        + json.dumps(
            dict(
                simulator="nest",
                mode="3.10",
                workload=a.workload,
                synapses=synapses,
                threads=a.threads,
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

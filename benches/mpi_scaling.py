"""Strong and weak scaling of `mpirun -n K edra run` over 1..4 ranks, and a model of larger runs.

    python3 benches/mpi_scaling.py [--ranks 1,2,3,4] [--strong-neurons 10000]
                                   [--weak-neurons 5000] [--ms 1000] [--threads 1]

Needs OpenMPI (`apt-get install libopenmpi-dev openmpi-bin libclang-dev`); builds edra with
`cargo build --release --features mpi` (into $CARGO_TARGET_DIR, default target/). The scene is a
recurrent Izhikevich network (80 % excitatory, 20 % inhibitory, 5 Hz random kicks) in which
every neuron receives 80 excitatory and 20 inhibitory synapses (fixed in-degree, so each rank
draws only its own), the E→E synapses with the full cascade (NMDA Ca, dopamine gating, pair STDP,
AMPA trafficking, astrocytes, tagging), axonal delays 1.5–10 ms, dt 0.5 ms: spikes are
exchanged every 3 steps. 96 synapses per neuron.

Strong scaling: the same network (`--strong-neurons`) on 1..K ranks. Weak scaling:
`--weak-neurons` per rank. Every run is its own `mpirun`, one after another, `--threads` per
rank, with no recorders; each rank runs under `/usr/bin/time` for its peak RSS. Prints, per run:
the stepping loop's wall seconds (summary.ron `wall_s`, rank 0), speed-up and efficiency against
one rank, M synapse-steps/s, peak RSS per rank (largest) and per synapse of a rank, rank 0's time
in the spike exchange (summary.ron `exchange_s`) per step and as a share of the loop, and bytes
received per exchange. The machine has as many cores as `nproc` says: more ranks than that share
cores (`--oversubscribe`), which the table marks.

Then a model on paper of 10^9 and 10^10 synapses on 8..64 hosts, from this run's figures and
the constants below (a host like a JURECA-DC node), beside NEST's published weak scaling.
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "edra")
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--timeout", "3000"]

SCENE = """Scene(
    name: "mpi_scaling",
    seed: 7,
    dt_ms: 0.5,
    duration_ms: {ms},
    slow_every_steps: 20,
    neurons: [
        NeuronGroup(name: "exc", size: {n_exc},
            model: Izhikevich((a: 0.02, b: 0.2, c_mv: -65.0, d: 8.0, kick: Some((rate_hz: 5.0, amplitude: 20.0))))),
        NeuronGroup(name: "inh", size: {n_inh},
            model: Izhikevich((a: 0.1, b: 0.2, c_mv: -65.0, d: 2.0, kick: Some((rate_hz: 5.0, amplitude: 20.0))))),
    ],
    synapses: [
        SynapseGroup(name: "exc_exc", pre: "exc", post: "exc", connectivity: FixedInDegree(80),
            axonal_delay_ms: Uniform(min: 1.5, max: 10.0), dendritic_delay_ms: 1.0,
            ca: Nmda(()),
            rule: PairStdp((tau_plus_ms: 20.0, tau_minus_ms: 20.0, a_plus: 0.1, a_minus: 0.15, h_max_mv: 10.0)),
            region: Some("cortex"),
            gating: Some((tau_eligibility_ms: 1000.0, rate_per_um_ms: 0.01)),
            trafficking: Some((total_receptors: 1000.0, mv_per_receptor: 0.0115)),
            consolidation: Some((h0_mv: 1.0)),
            init: (h_mv: 1.0)),
        SynapseGroup(name: "exc_inh", pre: "exc", post: "inh", connectivity: FixedInDegree(80),
            axonal_delay_ms: 1.5, ca: Linear(()), rule: Static, init: (h_mv: 1.0)),
        SynapseGroup(name: "inh_exc", pre: "inh", post: "exc", connectivity: FixedInDegree(20),
            axonal_delay_ms: 1.5, inhibitory: true, ca: Linear(()), rule: Static, init: (h_mv: 2.0)),
    ],
    dopamine_regions: [DopamineRegion(name: "cortex")],
    astrocytes: [AstrocyteGroup(name: "astro", covers: "exc", neurons_per_astrocyte: 100)],
    timeline: [Reward(at_ms: 200.0, region: "cortex", amount_um: 0.5)],
)
"""

# The model's host and network (stated in docs/performance.md): a JURECA-DC-like node.
HOST_CORES = 128  # 2 x AMD EPYC 7742
HOST_MEMORY_GB = 512
HOST_STREAM_GBS = 300.0  # STREAM-like bandwidth of 16 DDR4-3200 channels (409.6 GB/s peak)
LINK_GBS = 12.5  # InfiniBand HDR100, 100 Gbit/s
LINK_LATENCY_S = 2e-6  # per stage of the all-gather
RANKS_PER_HOST = 2
CASCADE_BYTES_PER_SYNAPSE = 193.0  # peak RSS per synapse, full cascade at 10^7 (docs)
CASCADE_BYTES_PER_STEP = 318.8  # bytes moved per synapse-step, docs/performance.md (roofline)
EVENT_NS_PER_ARRIVAL = 30.0  # per thread, 10^7 synapses, docs/performance.md (event-cost floor)
K_IN = 10_000  # synapses per neuron (NEST's HPC benchmark: 11 250)
RATE_HZ = 5.0
DT_MS = 0.1
INTERVAL_MS = 1.5  # NEST's HPC benchmark: minimum delay 1.5 ms


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--features", "mpi", "--bin", "edra"],
        cwd=ROOT,
        check=True,
    )


def read_summary(path):
    text = open(path).read()
    out = {}
    for key, val in re.findall(r"(\w+): ([-0-9.e+]+),", text):
        out[key] = float(val)
    return out


def run(scene_path, ranks, threads, work):
    out = os.path.join(work, f"out-{ranks}")
    rss = os.path.join(work, f"rss-{ranks}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(rss, exist_ok=True)
    inner = (
        f'exec /usr/bin/time -f %M -o {rss}/rank.${{OMPI_COMM_WORLD_RANK:-0}} '
        f"{BIN} run {scene_path} --out {out} --threads {threads} --format parquet"
    )
    cmd = ["sh", "-c", inner] if ranks == 1 else MPIRUN + ["-n", str(ranks), "sh", "-c", inner]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    total = time.perf_counter() - t0
    s = read_summary(os.path.join(out, "summary.ron"))
    peak = {
        int(f.split(".")[1]): int(open(os.path.join(rss, f)).read().split()[-1]) * 1024
        for f in os.listdir(rss)
    }
    shutil.rmtree(out)
    shutil.rmtree(rss)
    others = max((v for k, v in peak.items() if k != 0), default=peak[0])
    return {"ranks": ranks, "total_s": total, "peak_rss": peak[0], "peak_other": others, **s}


def table(title, rows, base, weak):
    cores = os.cpu_count() or 1
    print(f"\n{title}")
    print(
        "| ranks | synapses | loop s | speed-up | efficiency | M syn-steps/s |"
        " peak RSS MiB, rank 0 / others | bytes per own synapse, others |"
        " exchange ms/step | exchange share | bytes/exchange | build+write s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        k = int(r["ranks"])
        speed = base["wall_s"] / r["wall_s"]
        eff = speed if weak else speed / k
        calls = max(r.get("exchange_calls", 0), 1)
        mark = "*" if k * THREADS > cores else ""
        print(
            f"| {k}{mark} | {r['synapses']:.3g} | {r['wall_s']:.2f} | "
            f"{'—' if weak else f'{speed:.2f}×'} | {eff:.2f} | "
            f"{r['synapse_steps_per_s'] / 1e6:.1f} | "
            f"{r['peak_rss'] / 2**20:.0f} / {r['peak_other'] / 2**20:.0f} | "
            f"{r['peak_other'] / (r['synapses'] / k):.0f} | "
            f"{1e3 * r.get('exchange_s', 0) / r['steps']:.4f} | "
            f"{r.get('exchange_s', 0) / r['wall_s']:.1%} | "
            f"{r.get('exchange_bytes', 0) / calls:.0f} | {r['total_s'] - r['wall_s']:.1f} |"
        )
    print(f"(* more ranks x threads than the {cores} cores: they share cores)")


def model(base, strong):
    """Wall seconds per simulated second of larger runs, from this machine's figures."""
    rate_hz = base["spikes"] / base["neurons"] / (base["simulated_ms"] / 1e3)
    bytes_per_syn = CASCADE_BYTES_PER_SYNAPSE
    core_rate = base["synapse_steps_per_s"] / THREADS  # one core, the whole network here
    print("\nModel (per host: "
          f"{HOST_CORES} cores, {HOST_MEMORY_GB} GB, {HOST_STREAM_GBS:.0f} GB/s; "
          f"{RANKS_PER_HOST} ranks per host; links {LINK_GBS} GB/s, {LINK_LATENCY_S * 1e6:.0f} µs "
          f"per stage; {K_IN} synapses per neuron at {RATE_HZ} Hz; dt {DT_MS} ms, exchange "
          f"every {INTERVAL_MS} ms)")
    print(f"measured here: {base['peak_rss'] / base['synapses']:.0f} bytes per synapse (whole "
          f"process, this network; the model takes {bytes_per_syn:.0f}, the cascade's at 10^7), "
          f"{core_rate / 1e6:.1f} M synapse-steps/s per core, network rate {rate_hz:.1f} Hz")
    print("| synapses | hosts | GB per host | clock-driven s per step | exchange µs per interval |"
          " exchange share | wall s / simulated s (clock-driven) | (event-driven) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for syn in (1e9, 1e10):
        for hosts in (8, 16, 32, 64):
            per_host = syn / hosts
            gb = per_host * bytes_per_syn / 1e9
            step_s = max(
                per_host * CASCADE_BYTES_PER_STEP / (HOST_STREAM_GBS * 1e9),
                per_host / (core_rate * HOST_CORES),
            )
            ranks = hosts * RANKS_PER_HOST
            neurons = syn / K_IN
            spikes = neurons * RATE_HZ * INTERVAL_MS / 1e3
            msg = 4 * (spikes + ranks)  # spike ids and one status word per rank
            comm_s = LINK_LATENCY_S * math.ceil(math.log2(ranks)) + msg / (LINK_GBS * 1e9)
            steps_per_interval = INTERVAL_MS / DT_MS
            interval_s = step_s * steps_per_interval + comm_s
            wall = interval_s * 1e3 / INTERVAL_MS
            arrivals = per_host * RATE_HZ
            event_wall = arrivals * EVENT_NS_PER_ARRIVAL * 1e-9 / HOST_CORES + comm_s * 1e3 / INTERVAL_MS
            fits = "" if gb <= HOST_MEMORY_GB else " (does not fit)"
            print(
                f"| {syn:.0e} | {hosts} | {gb:.0f}{fits} | {step_s:.4f} | {comm_s * 1e6:.1f} | "
                f"{comm_s / interval_s:.2%} | {wall:.0f} | {event_wall:.2f} |"
            )


def main():
    global THREADS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", default="1,2,3,4")
    p.add_argument("--strong-neurons", type=int, default=10000)
    p.add_argument("--weak-neurons", type=int, default=5000)
    p.add_argument("--ms", type=float, default=1000.0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    THREADS = a.threads
    if shutil.which("mpirun") is None:
        sys.exit("no mpirun: apt-get install libopenmpi-dev openmpi-bin libclang-dev")
    build()
    ranks = [int(k) for k in a.ranks.split(",")]
    work = tempfile.mkdtemp(prefix="edra-mpi-scaling-")
    try:
        def scene(neurons, name):
            path = os.path.join(work, f"{name}.ron")
            n_exc = neurons * 4 // 5
            with open(path, "w") as f:
                f.write(SCENE.format(ms=a.ms, n_exc=n_exc, n_inh=neurons - n_exc))
            return path

        strong_scene = scene(a.strong_neurons, "strong")
        strong = [run(strong_scene, k, a.threads, work) for k in ranks]
        weak = [run(scene(a.weak_neurons * k, f"weak-{k}"), k, a.threads, work) for k in ranks]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table(f"Strong scaling: {a.strong_neurons} neurons, {a.ms:.0f} ms, {a.threads} thread(s) per rank",
          strong, strong[0], weak=False)
    table(f"Weak scaling: {a.weak_neurons} neurons per rank, {a.ms:.0f} ms", weak, weak[0], weak=True)
    model(strong[0], strong)


THREADS = 1

if __name__ == "__main__":
    main()

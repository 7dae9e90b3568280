"""The STDP window of the pair rule, swept from Python.

For each Δt from −100 to +100 ms (5 ms steps, 0 left out) the scene
`scenes/experiments/stdp_window_pair.ron` (Bi & Poo 1998 protocol: 60 pre/post
pairings at 1 Hz, the post spike Δt after the pre spike; Song, Miller & Abbott
2000 pair rule with τ+ = 16.8 ms, τ− = 33.7 ms) is built with that Δt, run, and
the relative change of the 0 → 1 synapse's weight, Δw/w = (h_end − h_start)/h_start,
read from `sim.synapses()`. The window is plotted beside A±·exp(−|Δt|/τ±) with
the rule's own amplitudes (60 pairings of A+ = 0.01, A− = 0.0105 in units of h),
and saved as a PNG.

    python python/examples/stdp_window.py [OUT.png]     # from the repository root
"""

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import edra  # noqa: E402

SCENE = Path(__file__).resolve().parents[2] / "scenes/experiments/stdp_window_pair.ron"
H_START_MV = 1.0
TAU_PLUS_MS, TAU_MINUS_MS = 16.8, 33.7
PAIRS, A_PLUS, A_MINUS = 60, 0.01, 0.0105


def scene_with(text: str, delta_t_ms: float) -> str:
    """The scene with one Δt and no sweep."""
    text = re.sub(r"delta_t_ms: [-0-9.]+", f"delta_t_ms: {delta_t_ms}", text)
    return re.sub(r"\n\s*sweep: \[.*\],\n", "\n", text)


def window(delta_ts_ms):
    """Δw/w of the 0 → 1 synapse for each Δt."""
    text = SCENE.read_text()
    out = []
    for dt in delta_ts_ms:
        sim = edra.Simulation.from_ron(scene_with(text, dt), name=SCENE.name)
        sim.run()
        s = sim.synapses()
        forward = (s["pre"] == 0) & (s["post"] == 1)
        out.append((float(s["h_mv"][forward][0]) - H_START_MV) / H_START_MV)
    return np.array(out)


def main(png: str = "stdp_window.png") -> Path:
    delta_ts = [d for d in range(-100, 101, 5) if d != 0]
    dw = window(delta_ts)
    fine = np.linspace(-100, 100, 401)
    model = np.where(
        fine > 0,
        PAIRS * A_PLUS * np.exp(-np.abs(fine) / TAU_PLUS_MS),
        -PAIRS * A_MINUS * np.exp(-np.abs(fine) / TAU_MINUS_MS),
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(0, color="0.7", lw=0.8)
    for side, label in ((fine < 0, "A±·exp(−|Δt|/τ±), Bi & Poo τ"), (fine > 0, None)):
        ax.plot(fine[side], model[side] / H_START_MV, color="0.5", lw=1, label=label)
    ax.plot(delta_ts, dw, "o", ms=4, label="edra")
    ax.set_xlabel("Δt = t_post − t_pre (ms)")
    ax.set_ylabel("Δw / w")
    ax.set_title("Pair-STDP window, 60 pairings at 1 Hz")
    ax.legend(frameon=False)
    fig.tight_layout()
    out = Path(png)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(*sys.argv[1:])

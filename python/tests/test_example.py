"""The worked example `python/examples/stdp_window.py` makes its PNG, and the window it reads
matches the pair rule it runs: 60 pairings of A+·exp(−Δt/τ+) (A+ = 0.01, τ+ = 16.8 ms) and
−A−·exp(−|Δt|/τ−) (A− = 0.0105, τ− = 33.7 ms; Bi & Poo 1998 time constants), within 5 %
(traces of successive pairings 1 s apart add e^(−1000/τ) ≈ 1e-13, and the weight stays far from
its bounds)."""

import importlib.util
import math
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stdp_window.py"


def load_example():
    spec = importlib.util.spec_from_file_location("stdp_window", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_writes_its_png(tmp_path):
    out = load_example().main(str(tmp_path / "window.png"))
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_the_window_matches_the_rule_within_5_percent():
    ex = load_example()
    dw = ex.window([-20.0, 10.0])
    expected = [
        -60 * 0.0105 * math.exp(-20.0 / 33.7),
        60 * 0.01 * math.exp(-10.0 / 16.8),
    ]
    for got, want in zip(dw, expected):
        assert abs(got - want) <= 0.05 * abs(want), (got, want)

"""Tests of the Python package against the `edra` command and itself.

The round trip needs the `edra` binary: $EDRA_BIN, or else target/release/edra under
$CARGO_TARGET_DIR or the checkout (build it with `cargo build --release`). Without it the test
fails, saying so.
"""

import csv
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from edra_bin import edra_bin

import edra

ROOT = Path(__file__).resolve().parents[2]
SCENE = ROOT / "scenes" / "single_synapse.ron"


def read_csv(path: Path) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {name: [r[i] for r in body] for i, name in enumerate(header)}


def same_f32(text: str, value) -> bool:
    """A CSV field (empty for a missing value) equals an array value rounded to float32."""
    if text == "":
        return math.isnan(float(value))
    return np.float32(float(text)) == np.float32(value)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    subprocess.run(
        [str(edra_bin()), "run", str(SCENE), "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    return out


@pytest.fixture(scope="module")
def full_run() -> edra.Simulation:
    sim = edra.Simulation.load(SCENE)
    sim.run(sim.duration_ms)
    return sim


def test_synapses_equal_the_cli_csv(cli_run, full_run):
    csv_cols = read_csv(cli_run / "synapses.csv")
    table = full_run.synapses()
    assert list(table) == list(csv_cols)
    n = len(csv_cols["id"])
    assert n == 1
    for name, texts in csv_cols.items():
        arr = table[name]
        assert len(arr) == n, name
        for text, value in zip(texts, arr):
            if name == "group":
                assert text == value
            elif arr.dtype.kind in "iu":
                assert int(text) == int(value), name
            elif arr.dtype == np.float64:
                assert float(text) == value, name
            else:
                assert same_f32(text, value), (name, text, value)


def test_recorders_and_spikes_equal_the_cli_csvs(cli_run, full_run):
    for name in full_run.recorders():
        csv_cols = read_csv(cli_run / f"{name}.csv")
        rec = full_run.recorder(name)
        assert list(rec) == list(csv_cols), name
        for col, texts in csv_cols.items():
            arr = rec[col]
            assert len(arr) == len(texts), (name, col)
            if col == "t_ms":
                assert [float(t) for t in texts] == arr.tolist()
            elif arr.dtype.kind == "u":
                assert [int(t) for t in texts] == arr.tolist()
            else:
                assert all(same_f32(t, v) for t, v in zip(texts, arr)), (name, col)
    spikes = read_csv(cli_run / "spikes.csv")
    t, neuron = full_run.spikes()
    assert [float(x) for x in spikes["t_ms"]] == t.tolist()
    assert [int(x) for x in spikes["neuron"]] == neuron.tolist()


def test_checkpoint_at_half_time_continues_exactly(tmp_path, full_run):
    end = full_run.t_ms
    first = edra.Simulation.load(SCENE)
    first.run(end / 2)
    assert first.t_ms == end / 2
    checkpoint = tmp_path / "half.ron"
    first.save_checkpoint(checkpoint)
    resumed = edra.Simulation.load(checkpoint)
    assert resumed.t_ms == end / 2
    resumed.run(end)
    a, b = full_run.synapses(), resumed.synapses()
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert resumed.synapse(0) == full_run.synapse(0)
    # The spikes before and after the checkpoint are those of the uninterrupted run.
    t = np.concatenate([first.spikes()[0], resumed.spikes()[0]])
    np.testing.assert_array_equal(t, full_run.spikes()[0])


def test_bad_scene_raises_edra_error_with_its_position():
    text = SCENE.read_text().replace("dt_ms: 0.5", "dt_ms: -1.0")
    with pytest.raises(edra.EdraError) as e:
        edra.Simulation.from_ron(text, name="bad.ron")
    message = str(e.value)
    assert re.search(r"bad\.ron:\d+:\d+:", message), message
    assert "dt_ms" in message, message
    assert issubclass(edra.EdraError, Exception)


def test_missing_file_raises_edra_error(tmp_path):
    with pytest.raises(edra.EdraError, match="nope.ron"):
        edra.Simulation.load(tmp_path / "nope.ron")


def test_spikes_and_recorders_have_the_right_lengths(full_run):
    steps = round(full_run.t_ms / full_run.dt_ms)
    t, neuron = full_run.spikes()
    # 20 presynaptic and 20 postsynaptic spike times, neurons 0 (pre) and 1 (post).
    assert len(t) == len(neuron) == 40
    assert sorted(set(neuron.tolist())) == [0, 1]
    assert np.all(np.diff(t) >= 0)
    assert full_run.recorders() == ["synapse", "dopamine", "astrocyte"]
    for name, id_col, every in [
        ("synapse", "synapse", 2),
        ("dopamine", "region", 2),
        ("astrocyte", "astrocyte", 200),
    ]:
        rec = full_run.recorder(name)
        assert list(rec)[:2] == ["t_ms", id_col]
        lengths = {len(v) for v in rec.values()}
        assert lengths == {steps // every}, (name, lengths)
    syn = full_run.synapse(0)
    assert list(syn) == [c for c in full_run.synapses() if c in syn]
    with pytest.raises(KeyError):
        full_run.recorder("nope")
    with pytest.raises(KeyError):
        full_run.synapse(99)


def test_step_and_repr():
    sim = edra.Simulation.load(SCENE)
    sim.step()
    assert sim.t_ms == sim.dt_ms
    assert "single_synapse" in repr(sim)


def test_ctrl_c_interrupts_run_at_a_step_boundary():
    import signal
    import sys
    import time

    # The child restores Python's own SIGINT handler: a process started in the background by a
    # non-interactive shell (a CI script run with `&`) inherits SIGINT ignored, and Python then
    # never raises KeyboardInterrupt.
    script = f"""
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import edra
sim = edra.Simulation.load({str(SCENE)!r})
print("ready", flush=True)
try:
    sim.run(1e9)
except KeyboardInterrupt:
    t = sim.t_ms
    print("interrupted", t, round(t / sim.dt_ms) * sim.dt_ms == t, flush=True)
    sim.run(t + 10.0)
    print("continued", sim.t_ms - t, flush=True)
"""
    p = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=60)
    finally:
        p.kill()
    lines = out.split("\n")
    word, t, on_step = lines[0].split()
    assert word == "interrupted" and 0 < float(t) < 1e9 and on_step == "True", out
    assert lines[1] == "continued 10.0", out


def test_reward_equals_a_scene_reward_at_that_time(full_run, tmp_path):
    # The scene without its reward at 6000 ms, given at 6000 ms from Python instead (with a
    # checkpoint between the reward and the next step, which must keep it).
    text = SCENE.read_text()
    line = 'Reward(at_ms: 6000.0, region: "vta", amount_um: 0.5),'
    assert line in text
    sim = edra.Simulation.from_ron(text.replace(line, ""), name="no_reward.ron")
    sim.run(6000.0)
    sim.reward("vta", 0.5)
    sim.save_checkpoint(tmp_path / "rewarded.ron")
    resumed = edra.Simulation.load(tmp_path / "rewarded.ron")
    for s in (sim, resumed):
        s.run(full_run.t_ms)
        a, b = full_run.synapses(), s.synapses()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    with pytest.raises(edra.EdraError, match="no dopamine region named `snc`; the scene has vta"):
        sim.reward("snc", 0.5)
    with pytest.raises(edra.EdraError, match="outside"):
        sim.reward("vta", float("nan"))


def test_set_param_equals_a_scene_set_param_and_is_checked_alike(tmp_path):
    text = SCENE.read_text()
    change = 'SetParam(at_ms: 8000.0, path: "synapses.syn.rule.a_plus", value: 0.1),'
    scripted = edra.Simulation.from_ron(
        text.replace("timeline: [", "timeline: [\n        " + change), name="scripted.ron"
    )
    scripted.run()
    sim = edra.Simulation.load(SCENE)
    sim.run(8000.0)
    sim.set_param("synapses.syn.rule.a_plus", 0.1)
    # The change is part of the checkpoint's timeline: the resumed run makes it too.
    sim.save_checkpoint(tmp_path / "changed.ron")
    resumed = edra.Simulation.load(tmp_path / "changed.ron")
    unchanged = edra.Simulation.load(SCENE)
    unchanged.run()
    for s in (sim, resumed):
        s.run()
        a, b = scripted.synapses(), s.synapses()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert scripted.synapse(0)["h_mv"] != unchanged.synapse(0)["h_mv"]
    with pytest.raises(edra.EdraError, match=r"h_max_mv.*\[0, 1000\] mV"):
        sim.set_param("synapses.syn.rule.h_max_mv", -5.0)
    with pytest.raises(edra.EdraError, match="cannot change during a run"):
        sim.set_param("synapses.syn.init.h_mv", 2.0)
    with pytest.raises(edra.EdraError, match="nope"):
        sim.set_param("synapses.nope.rule.a_plus", 0.1)
    # Refused changes leave nothing behind: the next step is the scripted run's.
    sim.step()
    scripted.step()
    a, b = scripted.synapses(), sim.synapses()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_neurons_equal_the_cli_checkpoint(cli_run, full_run):
    """`neurons()`: ids, groups and the protein pools of the run's checkpoint (spike sources
    have no membrane, so v_mv and u are NaN)."""
    n = full_run.neurons()
    assert list(n) == ["id", "group", "v_mv", "u", "protein"]
    assert n["id"].tolist() == [0, 1] and n["group"].tolist() == ["pre", "post"]
    assert np.isnan(n["v_mv"]).all() and np.isnan(n["u"]).all()
    text = (cli_run / "checkpoint.ron").read_text()
    protein = re.search(r"protein: \[([^\]]*)\]", text).group(1).split(",")
    expected = np.array([float(p) for p in protein if p.strip()], dtype=np.float32)
    assert expected[1] > 0, "the post neuron's pool made protein"
    assert np.array_equal(n["protein"], expected)


def test_tables_as_pandas_data_frames(full_run):
    """`frame=True` gives the same columns as a pandas DataFrame (CI installs pandas)."""
    import pandas as pd

    for table, frame in [
        (full_run.synapses(), full_run.synapses(frame=True)),
        (full_run.neurons(), full_run.neurons(frame=True)),
        (full_run.recorder("synapse"), full_run.recorder("synapse", frame=True)),
    ]:
        assert isinstance(frame, pd.DataFrame)
        assert list(frame.columns) == list(table)
        for name, column in table.items():
            assert np.array_equal(frame[name].to_numpy(), column, equal_nan=column.dtype.kind == "f")


def test_an_event_driven_run_skips_idle_steps_with_the_cli_every_step_results(tmp_path):
    """A scene whose every part is event-driven (a pairing protocol, event-driven pair STDP)
    skips its idle steps in `run`; its spikes and weights are those of `edra run --every-step`."""
    text = (ROOT / "scenes" / "experiments" / "stdp_window_pair.ron").read_text()
    text = text.replace("ca: Linear(()),", "ca: Off,").replace(
        "h_max_mv: 10.0))", "h_max_mv: 10.0, event_driven: true))"
    )
    text = text.replace("duration_ms: 60500.0", "duration_ms: 5500.0")
    assert "event_driven: true" in text and "ca: Off" in text
    scene = tmp_path / "pair.ron"
    scene.write_text(text)
    out = tmp_path / "every"
    subprocess.run(
        [str(edra_bin()), "run", str(scene), "--out", str(out), "--every-step"],
        check=True,
        cwd=ROOT,
    )
    sim = edra.Simulation.load(scene)
    sim.run(sim.duration_ms)
    spikes = read_csv(out / "spikes.csv")
    t, neuron = sim.spikes()
    assert len(t) > 100
    assert [float(x) for x in spikes["t_ms"]] == t.tolist()
    assert [int(x) for x in spikes["neuron"]] == neuron.tolist()
    h = read_csv(out / "synapses.csv")["h_mv"]
    assert all(same_f32(a, b) for a, b in zip(h, sim.synapses()["h_mv"]))
    assert len(set(h)) > 10, "the window moved the weights"

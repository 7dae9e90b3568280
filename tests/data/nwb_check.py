"""Reads an NWB file written by `edra export nwb` back with pynwb and compares it with the run
folder's CSVs: validation finds no errors; the units table holds every neuron's spikes from
spikes.csv (in seconds); every recorder column is the TimeSeries `<recorder>.<variable>`, with
the CSV's values (as f32), timestamps in seconds and the expected unit. Used by tests/nwb.rs.

Usage: python3 nwb_check.py NWB_FILE RUN_DIR N_NEURONS
"""

import csv
import sys
import warnings
from pathlib import Path

import numpy as np
import pynwb

UNITS = {"v_mv": ("volts", 1e-3), "u": ("volts/second", 1.0), "protein": ("dimensionless", 1.0),
         "dopamine_um": ("mol/L", 1e-6), "activity_hz": ("Hz", 1.0), "w_mv": ("volts", 1e-3),
         "glutamate_mm": ("mol/L", 1e-3), "ca_um": ("mol/L", 1e-6)}


def rows(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [[float(x) if x else np.nan for x in row] for row in r]


def main(nwb_path, run_dir, n_neurons):
    run_dir = Path(run_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no cached namespace": validated against pynwb's own
        errors = pynwb.validate(path=nwb_path)
    assert errors == [], errors
    with pynwb.NWBHDF5IO(nwb_path, "r") as io:
        f = io.read()
        assert "edra simulation of scene" in f.session_description, f.session_description
        assert len(f.units) == n_neurons, (len(f.units), n_neurons)
        _, spikes = rows(run_dir / "spikes.csv")
        assert spikes, "the run has spikes"
        expected = [[] for _ in range(n_neurons)]
        for t_ms, neuron in spikes:
            expected[int(neuron)].append(t_ms / 1000.0)
        for i in range(n_neurons):
            got = np.asarray(f.units["spike_times"][i])
            assert np.array_equal(got, np.sort(expected[i])), (i, got, expected[i])
        checked = 0
        for csv_path in sorted(run_dir.glob("*.csv")):
            if csv_path.stem in ("spikes", "synapses"):
                continue
            header, table = rows(csv_path)
            table = np.array(table)
            ids = np.unique(table[:, 1])
            times = np.unique(table[:, 0])
            for j, var in enumerate(header[2:]):
                ts = f.acquisition[f"{csv_path.stem}.{var}"]
                want = table[:, 2 + j].astype(np.float32).reshape(len(times), len(ids))
                assert np.array_equal(ts.data[:], want, equal_nan=True), (ts.name, var)
                assert np.array_equal(ts.timestamps[:], times / 1000.0), ts.name
                if var in UNITS:
                    assert (ts.unit, ts.conversion) == UNITS[var], (ts.name, ts.unit, ts.conversion)
                checked += 1
        assert checked > 0
        v = f.acquisition["neurons.v_mv"]
        print(f"ok: {n_neurons} units, {len(spikes)} spikes, {checked} series; "
              f"neurons.v_mv[0] = {v.data[0][0] * v.conversion} {v.unit}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

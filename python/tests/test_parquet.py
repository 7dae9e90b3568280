"""`edra run --format parquet` read with pandas/pyarrow: every table equals the CSV run's, the
units are in the Arrow field metadata and the run summary in the file metadata.

Needs the `edra` binary ($EDRA_BIN, or target/release/edra under $CARGO_TARGET_DIR or the
checkout) and pyarrow; it does not need the Python package.
"""

import csv
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from edra_bin import edra_bin

ROOT = Path(__file__).resolve().parents[2]
SCENE = ROOT / "scenes" / "population.ron"
TABLES = ["synapses", "spikes", "exc_synapses", "neurons", "dopamine", "astrocytes"]
ID_COLUMNS = {"id", "group", "pre", "post", "neuron", "synapse", "region", "astrocyte"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("parquet")
    for fmt in ["csv", "parquet"]:
        subprocess.run(
            [str(edra_bin()), "run", str(SCENE), "--out", str(root / fmt),
             "--duration-ms", "300", "--threads", "1", "--format", fmt],
            check=True,
            capture_output=True,
        )
    return root / "csv", root / "parquet"


def read_csv_text(path: Path) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}


def equal(text: str, value, dtype) -> bool:
    """A CSV field equals a Parquet value: empty ⇔ null, else parsed at the column's type."""
    if text == "":
        return value is None or (isinstance(value, float) and math.isnan(value))
    if dtype.kind in "iu":
        return int(text) == int(value)
    if dtype.kind == "f":
        return dtype.type(float(text)) == dtype.type(value)
    return text == value


@pytest.mark.parametrize("table", TABLES)
def test_every_column_equals_the_csv(runs, table):
    csv_dir, pq_dir = runs
    text = read_csv_text(csv_dir / f"{table}.csv")
    frame = pd.read_parquet(pq_dir / f"{table}.parquet")
    assert list(frame.columns) == list(text), table
    assert len(frame) == len(next(iter(text.values()))) and len(frame) > 0, table
    schema = pq.read_schema(pq_dir / f"{table}.parquet")
    for name, fields in text.items():
        dtype = np.dtype(schema.field(name).type.to_pandas_dtype())
        values = frame[name].tolist()
        bad = [(t, v) for t, v in zip(fields, values) if not equal(t, v, dtype)]
        assert not bad, f"{table}.{name}: {bad[:3]}"


@pytest.mark.parametrize("table", TABLES)
def test_units_and_summary_are_in_the_metadata(runs, table):
    _, pq_dir = runs
    path = pq_dir / f"{table}.parquet"
    schema = pq.read_schema(path)
    for name in schema.names:
        meta = schema.field(name).metadata or {}
        if name in ID_COLUMNS:
            assert b"unit" not in meta, f"{table}.{name}"
        else:
            assert b"unit" in meta, f"{table}.{name} has no unit"
    assert schema.field("t_ms" if table != "synapses" else "w_mv").metadata[b"unit"] in (
        b"ms",
        b"mV",
    )
    if table == "synapses":
        assert schema.field("ca_um").metadata[b"unit"] == "µM".encode()
        assert schema.field("z").metadata[b"unit"] == b"1"
    summary = json.loads(pq.read_metadata(path).metadata[b"edra.summary"])
    assert summary["scene"] == "population"
    assert summary["dt_ms"] > 0 and summary["simulated_ms"] == pytest.approx(300.0)
    assert summary["synapses"] == 100_000 and summary["edra_version"]

"""The `edra` command-line binary the tests compare the package with: `$EDRA_BIN`, else the
release build under `$CARGO_TARGET_DIR` or the repository's `target/`."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def edra_bin() -> Path:
    candidates = []
    if os.environ.get("EDRA_BIN"):
        candidates.append(Path(os.environ["EDRA_BIN"]))
    else:
        if os.environ.get("CARGO_TARGET_DIR"):
            candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "edra")
        candidates.append(ROOT / "target" / "release" / "edra")
    for c in candidates:
        if c.is_file():
            return c
    pytest.fail(
        "the edra binary was not found at "
        + " or ".join(str(c) for c in candidates)
        + "; build it with `cargo build --release` or set EDRA_BIN"
    )

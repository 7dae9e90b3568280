"""Finds or makes the Python environment of the peer simulators.

The peers (Brian2 and NEST 3.10) come from PyPI and live in a virtualenv under
target/peers/venv. `ensure()` re-executes the calling script inside that venv, creating it and
installing the two packages first when they are missing.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.environ.get("EDRA_PEERS_VENV", os.path.join(ROOT, "target", "peers", "venv"))
PY = os.path.join(VENV, "bin", "python")
# numpy 2.4 removed ndarray.ptp, which Brian2 2.9 still wraps.
PACKAGES = ["brian2", "nest-simulator==3.10.0", "numpy<2.4"]


def ensure():
    """Runs the caller inside the venv with brian2 and nest installed (installing if needed)."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(PY):
        print(f"creating {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    probe = subprocess.run(
        [PY, "-c", "import brian2, nest"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        print(f"installing {' '.join(PACKAGES)} into {VENV}", file=sys.stderr)
        subprocess.check_call([PY, "-m", "pip", "install", "-q", *PACKAGES])
    os.execv(PY, [PY, *sys.argv])


if __name__ == "__main__":
    ensure()

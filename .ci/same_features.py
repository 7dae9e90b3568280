#!/usr/bin/env python3
"""Checks that `cargo test --release` (the root crate with its dev-dependencies) and the Python
package's build (python/Cargo.toml) turn on the same features of every crate they share.

Where they differ, cargo compiles that crate, everything above it and edra itself a second time
for the Python package (262 s for the Python step, measured here before this check existed). The root Cargo.toml's
dev- and build-dependencies and python/Cargo.toml's extra dependencies exist only to line the
features up; this names the crate and the features when a version bump moves them apart.

Usage: python3 .ci/same_features.py   (exit status 1 if a shared crate differs)
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def features(manifest: Path, edges: str) -> dict[str, set[str]]:
    """Each package of the manifest's build ("name vX.Y.Z") with its features."""
    out = subprocess.run(
        ["cargo", "tree", "--manifest-path", str(manifest), "--prefix", "none",
         "-e", edges, "-f", "{p}|{f}"],
        check=True, capture_output=True, text=True,
    ).stdout
    found: dict[str, set[str]] = {}
    for line in out.splitlines():
        if "|" not in line:
            continue
        package, feats = line.split("|", 1)
        # Drop the path of local packages and cargo tree's markers.
        name = " ".join(package.split()[:2])
        feats = feats.split(" (")[0]
        found.setdefault(name, set()).update(f for f in feats.split(",") if f)
    return found


def main() -> int:
    tests = features(ROOT / "Cargo.toml", "normal,build,dev")
    python = features(ROOT / "python" / "Cargo.toml", "normal,build")
    differ = [
        (name, sorted(tests[name] - python[name]), sorted(python[name] - tests[name]))
        for name in sorted(tests.keys() & python.keys())
        if tests[name] != python[name]
    ]
    for name, only_tests, only_python in differ:
        print(f"same_features: {name}: only in the test build {only_tests}, "
              f"only in the Python build {only_python}")
    if differ:
        print("same_features: the Python package would compile edra again; add the features "
              "to the root Cargo.toml's dev-/build-dependencies or to python/Cargo.toml")
        return 1
    print(f"same_features: {len(tests.keys() & python.keys())} shared crates, same features")
    return 0


if __name__ == "__main__":
    sys.exit(main())

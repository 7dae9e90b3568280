#!/usr/bin/env bash
# Regenerates docs/screenshot.png: the report page of scenes/single_synapse.ron, (run summary,
# population, and the detail of synapse 0 with its traces). Needs chromium (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo run --release -q -- run scenes/single_synapse.ron --out "$out/run"
cargo run --release -q -- report "$out/run"
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$out/profile" \
    --window-size=1100,2600 --screenshot="$PWD/docs/screenshot.png" \
    "file://$out/run/report.html" 2>/dev/null
echo "wrote docs/screenshot.png"

#!/usr/bin/env bash
# Rendering figures of the release build, without a server: the QR matrix alone, the
# enterprise code's QR PNG (512 px), the pass page's QR PNG (480 px), the code's SVG and
# the A4 poster, in milliseconds per item (median and fastest of 7 rounds).
# Usage: deploy/bench/qr.sh [REV]   (from the repository root)
# With REV, the same benchmark of that commit (exported to a temporary folder, built in
# this checkout's target/ so dependencies are not built again), to compare two versions:
# `deploy/bench/qr.sh c828a7e` is the last commit with the hand-written QR mask scoring.
set -euo pipefail
src=.
if [ $# -gt 0 ]; then
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    git archive "$1" | tar -x -C "$src"
    echo "revision $(git rev-parse --short "$1")"
fi
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo test --release --quiet \
    --manifest-path "$src/Cargo.toml" --lib codes::render::tests::bench_render \
    -- --ignored --nocapture --test-threads 1 2>&1 | grep -v '^running\|^test \|^\.*$'

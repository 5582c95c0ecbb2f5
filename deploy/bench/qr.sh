#!/usr/bin/env bash
# Rendering figures of the release build, without a server: the QR matrix alone, the
# enterprise code's QR PNG (512 px), the pass page's QR PNG (480 px), the code's SVG and
# the A4 poster, in milliseconds per item (median and fastest of 7 rounds).
# Usage: deploy/bench/qr.sh [REV]   (from the repository root)
# With REV, the same benchmark of that commit, to compare two versions:
# `deploy/bench/qr.sh c828a7e` is the last commit with the hand-written QR mask scoring.
# The commit is exported to a temporary folder and built in a copy of this checkout's
# target/release (dependencies are not built again); its files are touched, as
# `git archive` dates them to the commit and cargo would take the copied build as fresh.
set -euo pipefail
src=.
target=${CARGO_TARGET_DIR:-$PWD/target}
if [ $# -gt 0 ]; then
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    git archive "$1" | tar -x -C "$src"
    find "$src" -type f -exec touch {} +
    mkdir -p "$src/target"
    if [ -d "$target/release" ]; then cp -a "$target/release" "$src/target/"; fi
    target=$src/target
    echo "revision $(git rev-parse --short "$1")"
fi
CARGO_TARGET_DIR=$target cargo test --release --quiet \
    --manifest-path "$src/Cargo.toml" --lib codes::render::tests::bench_render \
    -- --ignored --nocapture --test-threads 1 2>&1 | grep -v '^running\|^test \|^\.*$'

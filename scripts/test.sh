#!/usr/bin/env bash
# Runs the whole test suite, after installing the run-time packages it needs.
# wgpu tests run on whatever adapter exists (lavapipe on CPU-only machines).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
# wgpu/Mesa warn without a private runtime dir; give them one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/seglens-runtime-$(id -u)"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
# Software adapters (lavapipe) spend minutes autotuning kernels; the minimal level keeps
# the wgpu parity tests to a few minutes and changes no result.
export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}"
cargo test --locked --no-fail-fast "$@"

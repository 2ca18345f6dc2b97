#!/usr/bin/env bash
# Runs the benchmarks (they print figures; they assert nothing about speed). The benchmarks
# start the release binaries, so those are built first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --workspace --bins
cargo bench -p gd-testkit "$@"

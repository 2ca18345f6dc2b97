#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the binaries the end-to-end tests start,
# then the whole suite (unit tests, the store conformance suite on the local store and on a
# real etcd, end-to-end tests with real glusterd2 and etcd processes).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
cargo build --workspace --bins
cargo test --workspace --no-fail-fast "$@"

#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the binaries the end-to-end tests start,
# then the whole suite (unit tests, the store conformance suite on the local store and on a
# real etcd, end-to-end tests with real glusterd2 and etcd processes).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
# The failpoints (gd-core's `failpoint`: the crash matrix kills glusterd2 at every step) are
# compiled into the binaries the tests start, never into a release build.
cargo build --workspace --bins --features gd-daemon/failpoints
cargo test --workspace --no-fail-fast --features gd-daemon/failpoints "$@"

#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs one glusterd2 node in the
# foreground with the default directories (/var/lib/glusterd2, /var/run/glusterd2,
# /var/log/glusterd2) on :24007. Extra arguments go to glusterd2 (see glusterd2 --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --bins
echo "start: glusterd2 is starting; in another shell try: ./target/release/glustercli peer list"
exec ./target/release/glusterd2 --logfile stderr "$@"

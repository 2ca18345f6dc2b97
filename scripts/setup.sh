#!/usr/bin/env bash
# Installs what glusterd2 needs to build, run and be tested on Debian 12, when missing:
# GlusterFS 10.3 (bricks, self-heal daemon, FUSE client), etcd 3.4 (managed or external
# store), protoc with its well-known types (protobuf-compiler and libprotobuf-dev: the
# etcd-client crate's build script compiles etcd's protos, which import
# google/protobuf/descriptor.proto), attr (xattr tools for tests) and iproute2 (`ip netns`
# for the multi-host tests). With --tests also what only the tests use: Python's
# prometheus_client (python3-prometheus-client: its parser reads our /metrics), iptables (the
# partition tests drop traffic between hosts with it), schemathesis, pinned
# (tests/schemathesis/requirements.txt), in a Python venv at /opt/gd2-schemathesis
# (GD2_SCHEMATHESIS_VENV to move it) for the API fuzz test.
# Needs root for apt-get and /opt; does nothing when everything is already installed.
#
# `setup.sh --purge` removes the project's packages (and what they pulled in) instead, so
# that CI proves every run that the install path works on a machine without them. The venv
# lives outside /usr and needs none of them (it uses the machine's python3), so it stays; it
# is made again whenever it is missing, broken, or holds other versions than the pinned ones.
set -euo pipefail

# The project's packages: installed when missing, removed by --purge.
packages=(glusterfs-server glusterfs-client etcd-server protobuf-compiler libprotobuf-dev attr)
# What only the tests use (with --tests): installed when missing, removed by --purge.
test_packages=(python3-prometheus-client iptables)
# Part of a base Debian system, installed when missing but never purged.
base=(iproute2)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: $1 needs root (run as root, or do it by hand: $2)" >&2
    exit 1
  fi
}

if [ "${1:-}" = "--purge" ]; then
  present=()
  for p in "${packages[@]}" "${test_packages[@]}"; do installed "$p" && present+=("$p"); done
  if [ ${#present[@]} -gt 0 ]; then
    need_root "purging packages" "apt-get purge ${present[*]}"
    echo "setup: purging ${present[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${present[@]}"
    DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq
  fi
  for bin in etcd protoc glusterfsd; do
    if command -v "$bin" >/dev/null; then echo "setup: $bin is still installed after the purge" >&2; exit 1; fi
  done
  # What --tests installs goes too.
  rm -rf "${GD2_SCHEMATHESIS_VENV:-/opt/gd2-schemathesis}"
  exit 0
fi

missing=()
wanted=("${packages[@]}" "${base[@]}")
[ "${1:-}" = "--tests" ] && wanted+=("${test_packages[@]}")
for p in "${wanted[@]}"; do installed "$p" || missing+=("$p"); done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  need_root "installing packages" "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Keep the packages' own services (a system etcd, the classic glusterd) from starting:
  # glusterd2 starts what it needs itself.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi

for bin in etcd protoc glusterfsd ip cargo; do
  command -v "$bin" >/dev/null || { echo "setup: $bin is still missing after install" >&2; exit 1; }
done
if [ "${1:-}" = "--tests" ]; then
  /usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null \
    || { echo "setup: python3's prometheus_client is still missing after install" >&2; exit 1; }
  command -v iptables >/dev/null || { echo "setup: iptables is still missing after install" >&2; exit 1; }
fi
for f in /usr/include/google/protobuf/descriptor.proto; do
  [ -e "$f" ] || { echo "setup: $f is still missing after install" >&2; exit 1; }
done

[ "${1:-}" = "--tests" ] || exit 0

# schemathesis: a venv holding exactly the pinned requirements, marked by a copy of them.
venv="${GD2_SCHEMATHESIS_VENV:-/opt/gd2-schemathesis}"
requirements="$(cd "$(dirname "$0")/.." && pwd)/tests/schemathesis/requirements.txt"
stamp="$venv/gd2-requirements.txt"
if ! { cmp -s "$requirements" "$stamp" && "$venv/bin/schemathesis" --version >/dev/null 2>&1; }; then
  echo "setup: installing schemathesis into $venv"
  command -v python3 >/dev/null || { echo "setup: python3 is missing (the venv for schemathesis needs it)" >&2; exit 1; }
  if [ -e "$venv" ] && [ ! -e "$venv/pyvenv.cfg" ]; then
    echo "setup: $venv exists and is not a Python venv; not replacing it" >&2; exit 1
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
  "$venv/bin/schemathesis" --version >/dev/null || { echo "setup: schemathesis in $venv does not run" >&2; exit 1; }
fi

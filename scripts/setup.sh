#!/usr/bin/env bash
# Installs what glusterd2 needs to build, run and be tested on Debian 12, when missing:
# GlusterFS 10.3 (bricks, self-heal daemon, FUSE client), etcd 3.4 (managed or external
# store), protoc (the etcd-client crate's build script), attr (xattr tools for tests).
# Needs root for apt-get; does nothing when everything is already installed.
set -euo pipefail

packages=(glusterfs-server glusterfs-client etcd-server protobuf-compiler attr)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: installing packages needs root (run as root, or install: ${missing[*]})" >&2
    exit 1
  fi
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

for bin in etcd protoc glusterfsd cargo; do
  command -v "$bin" >/dev/null || { echo "setup: $bin is still missing after install" >&2; exit 1; }
done

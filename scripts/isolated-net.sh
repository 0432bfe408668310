#!/usr/bin/env bash
# Runs a command in a new network namespace that cannot reach anything outside this machine: only
# loopback, plus a veth pair whose two ends both stay inside the namespace. (Chromium gathers no ICE
# candidates without a non-loopback interface; this one leads nowhere.) Needs root or user namespaces.
set -euo pipefail
exec unshare --net bash -c '
  ip link set lo up
  ip link add tlm0 type veth peer name tlm1
  ip addr add 10.200.0.1/30 dev tlm0
  ip link set tlm0 up
  ip link set tlm1 up
  exec "$@"' isolated-net "$@"

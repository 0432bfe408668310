#!/usr/bin/env bash
# `npm test`: install what the tests need (incl. Chromium, FFmpeg, coturn), then run them all.
# Where this machine allows it (root), the tests run in a network namespace of their own whose only
# way out is none (scripts/isolated-net.sh): by construction no packet of theirs leaves the machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" --test
cd "$root"
. scripts/lib.sh
use_project_node   # vitest, and every server it starts, on the project's Node.js 24 (see lib.sh)
require_node
npm run --silent typecheck
# Lint (type-aware rules: floating/misused promises, exhaustive switches; no line over 150) and formatting.
npm run --silent lint
if [ "${TEST_NETNS:-1}" = 1 ] && bash scripts/isolated-net.sh true 2>/dev/null; then
  echo "[test] running in an isolated network namespace (no route off this machine)"
  exec bash scripts/isolated-net.sh npx vitest run "$@"
fi
echo "[test] note: no network namespace available; running on the host network (tests target loopback only)"
exec npx vitest run "$@"

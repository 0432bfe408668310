#!/usr/bin/env bash
# Installs everything the server needs on this machine, idempotently and quickly when nothing changed:
#   npm dependencies (lockfile), the mediasoup worker binary, the TypeScript build and SDK bundle.
# FFmpeg (recording, HLS) always; with --test also what the test suite drives: Chromium, coturn, Redis.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/lib.sh

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

# 1. npm dependencies, reinstalled only when the lockfile changes. mediasoup's own postinstall is
#    skipped here (MEDIASOUP_WORKER_BIN) because step 2 decides where the worker comes from.
stamp=node_modules/.telemed-lock-hash
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing npm dependencies (npm ci)"
  MEDIASOUP_WORKER_BIN=skip-postinstall npm ci --no-audit --no-fund >&2
  echo "$want" >"$stamp"
fi
# Everything from here on (mediasoup's install, the build) runs on the project's Node.js 24.
use_project_node
require_node

# 2. The mediasoup worker binary.
bash scripts/mediasoup-worker/install.sh

# 3. System packages: FFmpeg records consultations and makes HLS; the tests also drive Chromium and
#    coturn (TURN), Redis (the cluster tests), openssl (the HTTPS test makes its own CA) and a CJK
#    font (the demo page is in Chinese: without one its screenshots show empty boxes).
apt_install ffmpeg
if [ "$with_tests" = 1 ]; then
  apt_install chromium coturn redis-server openssl fonts-wqy-zenhei
  # The tests start their own redis-server on a free loopback port; the packaged service is not needed.
  if command -v service >/dev/null && service redis-server status >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
fi

# 4. Compile the server and bundle the SDK.
log "building server and client SDK"
npm run --silent build >&2
log "ready"

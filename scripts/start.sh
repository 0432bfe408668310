#!/usr/bin/env bash
# `npm start`: install what is missing, build, and run the server on the embedded single-node default.
# The server itself starts in production mode unless told otherwise; `npm start` is the "try it on this
# machine" command, so it asks for development mode (demo page, /dev/token) when APP_MODE is not set.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
. scripts/lib.sh
use_project_node   # the Node.js 24 from node_modules/.bin (see lib.sh), also when not run by npm
export APP_MODE="${APP_MODE:-development}"
if [ "$APP_MODE" = development ]; then
  cat >&2 <<'BANNER'
================================================================================================
  DEVELOPMENT MODE: /dev/token mints tokens for anyone on this machine; never expose it.
  Listening on loopback only. For real use: APP_MODE=production with JWT_SECRETS (or
  JWT_PUBLIC_KEY_FILES) and CORS_ORIGINS (see README, Configuration).
================================================================================================
BANNER
fi
# V8's young generation grows to tens of MiB under a join storm and stays resident afterwards; 2 MiB
# semi-spaces keep the process's memory where it was once the viewers have left (README, Benchmarks).
export NODE_OPTIONS="${NODE_OPTIONS:---max-semi-space-size=2}"
exec node dist/server/main.js

#!/usr/bin/env bash
# `npm start`: install what is missing, build, and run the server on the embedded single-node default.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
exec node dist/server/main.js

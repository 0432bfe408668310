#!/usr/bin/env bash
# `npm start`: install what is missing, build, and run the server on the embedded single-node default.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
. scripts/lib.sh
use_project_node   # the Node.js 24 from node_modules/.bin (see lib.sh), also when not run by npm
exec node dist/server/main.js

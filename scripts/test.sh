#!/usr/bin/env bash
# `npm test`: install what the tests need (incl. Chromium, FFmpeg, Redis, coturn), then run them all.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" --test
cd "$root"
npm run --silent typecheck
exec npx vitest run "$@"

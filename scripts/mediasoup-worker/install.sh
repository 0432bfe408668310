#!/usr/bin/env bash
# Puts a working mediasoup-worker where mediasoup looks for it at run time
# (node_modules/mediasoup/worker/out/Release/mediasoup-worker), so the server needs no variable.
# Order: an offline-built binary already cached for this version; else mediasoup's normal install
# (prebuilt download, then its own source build); else build from the npm tarball against Debian's
# packages (build.sh), which is what works on air-gapped hospital networks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/scripts/lib.sh"

mod="$root/node_modules/mediasoup"
version="$(node -p "require('$mod/package.json').version")"
target="$mod/worker/out/Release/mediasoup-worker"
cache="${MEDIASOUP_WORKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemed-sfu/mediasoup-worker}/$version/mediasoup-worker"
marker="$mod/worker/out/Release/.offline-build"

place() { # copies an offline-built binary into node_modules, with the libraries it links against
  apt_install $(read_list "$here/runtime-packages.txt")
  mkdir -p "$(dirname "$target")"
  cp "$1" "$target.tmp" && chmod 755 "$target.tmp" && mv "$target.tmp" "$target"
  touch "$marker"
}

if [ -x "$target" ]; then
  [ -f "$marker" ] && apt_install $(read_list "$here/runtime-packages.txt")
  exit 0
fi
if [ -x "$cache" ]; then
  log "using cached mediasoup-worker $version ($cache)"
  place "$cache"
  exit 0
fi

log "fetching mediasoup-worker $version the normal way (prebuilt download)"
if (cd "$mod" && timeout 900 env -u MEDIASOUP_WORKER_BIN node npm-scripts.mjs postinstall >&2) && [ -x "$target" ]; then
  exit 0
fi

log "no prebuilt worker reachable: building mediasoup-worker $version from the npm tarball against Debian packages (about 12 CPU-minutes, once)"
bin="$(bash "$here/build.sh" "$version" | tail -n 1)"
place "$bin"

#!/usr/bin/env bash
# Build mediasoup's C++ worker from the npm tarball against Debian packages, for
# machines that can reach npm + Debian mirrors but not GitHub/wrapdb (where
# mediasoup's postinstall fails). Background: /work/shared/mediasoup-worker-offline.md
#
# Usage: build.sh [VERSION]   (default: the mediasoup version in package.json)
# Last stdout line: absolute path of the cached binary. Logs go to stderr.
# Use it as: MEDIASOUP_WORKER_BIN="$(build.sh | tail -n1)" npm install
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version="${1:-}"
if [[ -z "$version" && -f "$repo/package.json" ]]; then
  version="$(node -p "(require('$repo/package.json').dependencies || {}).mediasoup || ''")"
  version="${version#[~^=v]}"   # a pinned-ish range still names the version to build
fi
version="${version:-3.27.1}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "need an exact version, got '$version'"

cache_dir="${MEDIASOUP_WORKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/telemed-sfu/mediasoup-worker}/$version"
bin="$cache_dir/mediasoup-worker"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi

# Serialise concurrent builds of the same version; re-check after waiting.
mkdir -p "$cache_dir"
exec 9>"$cache_dir/.lock"
flock 9
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi

# --- build dependencies (apt only when something is missing) ---------------
pkglist() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1" | awk '{print $1}'; }
missing=()
for p in $(pkglist "$here/build-packages.txt"); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing build packages: ${missing[*]}"
  # Lock::Timeout: wait for a concurrent apt/dpkg instead of failing at once.
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
  [[ "$(id -u)" -eq 0 ]] || apt=(sudo "${apt[@]}")
  apt_install() { "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2; }
  # Fresh images have no package lists; refresh only when the plain install fails.
  apt_install || { "${apt[@]}" update >&2 && apt_install; }
fi

# --- sources ---------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "fetching mediasoup@$version from npm"
(cd "$tmp" && npm pack --silent "mediasoup@$version" >&2)
tar -xzf "$tmp"/mediasoup-*.tgz -C "$tmp"
worker="$tmp/package/worker"

# Meson reuses an existing subprojects/<directory> instead of downloading it, so
# drop each shim where its .wrap points.
for shim in "$here"/shims/*/; do
  name="$(basename "$shim")"
  wrap="$worker/subprojects/$name.wrap"
  [[ -f "$wrap" ]] || die "mediasoup $version has no $name.wrap; shims need updating"
  dir="$(sed -n 's/^directory[[:space:]]*=[[:space:]]*//p' "$wrap" | tr -d '[:space:]')"
  [[ -n "$dir" ]] || die "no directory= in $name.wrap"
  cp -r "$shim" "$worker/subprojects/$dir"
done

# Bookworm's meson is 1.0.1; the worker builds fine with it despite asking 1.1.0.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$worker/meson.build"
# Add the KTLS/BIO-callback fix (see ktls-fix.c) to the worker's own sources.
cp "$here/ktls-fix.c" "$worker/src/telemed-ktls-fix.c"
grep -q '^common_sources = \[$' "$worker/meson.build" || die "meson.build layout changed"
sed -i "s|^common_sources = \[$|&\n  'src/telemed-ktls-fix.c',|" "$worker/meson.build"

# --- build -----------------------------------------------------------------
# liburing (mediasoup < 3.20.7 only) is off: bookworm's 2.3 lacks calls the worker
# needs and it is only an optional send-path optimisation.
extra=()
grep -q "'ms_disable_liburing'" "$worker/meson_options.txt" && extra+=(-Dms_disable_liburing=true)
log "configuring"
meson setup "$worker/build" "$worker" --wrap-mode=nodownload --buildtype=release \
  -Db_ndebug=true "${extra[@]}" \
  -Dcpp_link_args=-Wl,--wrap=BIO_set_callback_ex >&2
# FBS/*.h are not declared inputs of the worker's objects: generate them first.
log "compiling (several minutes)"
meson compile -C "$worker/build" flatbuffers-generator >&2
meson compile -C "$worker/build" mediasoup-worker >&2
out="$worker/build/mediasoup-worker"

# Guard against a silently missing fix or an unresolvable library. (Outputs are
# captured first: `cmd | grep -q` can fail under pipefail when cmd gets SIGPIPE.)
syms="$(nm "$out")"; libs="$(ldd "$out")"
grep -q '__wrap_BIO_set_callback_ex' <<<"$syms" || die "KTLS fix not linked in"
! grep 'not found' <<<"$libs" >&2 || die "unresolved libraries (above)"
# Keep runtime-packages.txt honest: warn about libraries from unlisted packages.
runtime="$(pkglist "$here/runtime-packages.txt")"
awk '$3 ~ /^\// {print $3}' <<<"$libs" | while read -r lib; do
  pkg="$( (dpkg -S "$lib" || dpkg -S "$(readlink -f "$lib")") 2>/dev/null | head -n1 | cut -d: -f1)" || true
  [[ -z "$pkg" ]] || grep -qx "$pkg" <<<"$runtime" \
    || log "warning: $lib comes from $pkg, not listed in runtime-packages.txt"
done

install -m 0755 "$out" "$bin.tmp.$$"
mv -f "$bin.tmp.$$" "$bin"
log "built $bin ($(du -h "$bin" | cut -f1))"
echo "$bin"

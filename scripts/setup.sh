#!/usr/bin/env bash
# Set up cyconv on this machine: system packages (when missing and we are root), .venv, the
# project with the extras named in $CYCONV_EXTRAS. Sourced by ./run-tests and ./run-lab;
# idempotent, so running it twice costs a few seconds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# shellcheck source=scripts/system-packages.sh
source scripts/system-packages.sh

install_system_packages() {
  is_debian || { echo "setup: not a Debian/Ubuntu system; install a C compiler, Python headers and Qt's libraries yourself" >&2; return 0; }
  local wanted
  read -r -a wanted <<< "$(build_packages)"
  [ "${CYCONV_WITH_LAB:-1}" = 1 ] && wanted+=("${QT_PACKAGES[@]}")
  # Without root it prints the apt-get line and carries on: the build may still work.
  ensure_debian_packages setup "${wanted[@]}" || true
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
  local fingerprint wanted installed="" extra missing=""
  fingerprint="$(build_fingerprint)-debug${CYCONV_DEBUG_CYTHON:-0}"
  wanted=$(unique_extras "${CYCONV_EXTRAS:-test,lab}")
  [ -f "$stamp" ] && installed=$(sed -n 2p "$stamp")
  for extra in ${wanted//,/ }; do
    case ",$installed," in *",$extra,"*) ;; *) missing=1 ;; esac
  done
  if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$fingerprint" ] && [ -z "$missing" ] \
     && .venv/bin/python -c "import cyconv" 2>/dev/null; then
    echo "setup: cyconv[$installed] is up to date in .venv"
    return 0
  fi
  # Extras only grow, also across a rebuild: ./run-lab keeps the test ones ./run-tests installed.
  wanted=$(unique_extras "${installed:+$installed,}$wanted")
  echo "setup: installing cyconv[$wanted] into .venv (compiles the Cython kernels)"
  .venv/bin/python -m pip install -q -e ".[$wanted]"
  printf '%s\n%s\n' "$fingerprint" "$wanted" > "$stamp"
}

install_system_packages
make_venv
install_project

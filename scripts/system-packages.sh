# Debian packages cyconv needs, and how to get them: sourced by scripts/setup.sh,
# scripts/build-wheel and scripts/make-lab-kit, so each list lives here once.

# Compiling the kernels: a C compiler and libc's headers (Python's headers and venv are added
# for Debian's own python3 only; a python built elsewhere, e.g. by pyenv, brings its own).
BUILD_PACKAGES=(gcc libc6-dev)
DEBIAN_PYTHON_BUILD_PACKAGES=(python3-dev python3-venv)
# The lab app: the libraries Qt's xcb/offscreen platforms load, and fonts (Noto CJK for the
# Korean interface).
QT_PACKAGES=(libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0
             libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
             libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
             libxcb-xkb1 fonts-dejavu-core fonts-noto-cjk)

is_debian() { command -v dpkg-query >/dev/null; }

uses_debian_python() { [ "$(command -v python3)" = /usr/bin/python3 ]; }

# The build packages this machine's python3 needs.
build_packages() {
  local packages=("${BUILD_PACKAGES[@]}")
  if uses_debian_python; then packages+=("${DEBIAN_PYTHON_BUILD_PACKAGES[@]}"); fi
  echo "${packages[@]}"
}

missing_debian_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

# Install the named packages that are missing: with apt-get as root, else print the command.
# WHO names the caller in its messages ("setup", "build-wheel").
ensure_debian_packages() {
  local who=$1; shift
  local missing
  missing=$(missing_debian_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "$who: installing system packages: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "$who: these system packages are missing; install them with:" >&2
    echo "  sudo apt-get install $(echo $missing)" >&2
    return 1
  fi
}

# The extras of a comma-separated list, each once, in first-seen order ("test,lab,lab" -> "test,lab").
unique_extras() {
  local extra seen="," out=""
  for extra in ${1//,/ }; do
    case "$seen" in *",$extra,"*) continue ;; esac
    seen="$seen$extra,"
    out="${out:+$out,}$extra"
  done
  echo "$out"
}

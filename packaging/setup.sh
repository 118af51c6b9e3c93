#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root from anywhere):
#   packaging/setup.sh demo   install build dependencies, build, run the demo checkout
#   packaging/setup.sh test   install build dependencies, build, run every test
#   packaging/setup.sh deps   only install the dependencies
#   packaging/setup.sh build  dependencies + build
# Environment: BUILD_DIR (default <source>/build), BUILD_TYPE (default RelWithDebInfo), JOBS.
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=${JOBS:-$(nproc)}

# Debian 12 packages: compiler and build tools, the core libraries, and the test tools.
PACKAGES=(
  g++ cmake ninja-build pkg-config ccache binutils file dpkg-dev
  libboost-dev libsqlite3-dev libssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev
)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "build dependencies already installed"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: these packages are missing: ${missing[*]}" >&2
    echo "setup.sh: run as root (or install them with: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  say "installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  say "configuring ($BUILD_TYPE) in $BUILD_DIR"
  cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
  say "building with $JOBS jobs"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run_tests() {
  say "running the tests (unit, integration, abi, bench smoke)"
  # Serial on purpose: several tests measure the plugin's time budget, which a second busy
  # test process on a 2-core machine would distort.
  ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 300
}

case "${1:-}" in
  deps) install_deps ;;
  build) install_deps; build ;;
  demo) install_deps; build; say "demo: regularsd with a seeded store, and a scripted checkout"
        exec bash "$SOURCE_DIR/packaging/demo/run-demo.sh" "$BUILD_DIR" ;;
  test) install_deps; build; run_tests ;;
  *) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

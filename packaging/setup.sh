#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root from anywhere):
#   packaging/setup.sh demo   install build dependencies, build, run the demo checkout
#                             (demo --serve: and leave regularsd running, with the dashboard's address)
#   packaging/setup.sh test   install build and test dependencies (axe-core too, see fetch_axe), build,
#                             run every test, then the unit and integration tests again under ASan+UBSan
#                             (a second build, in ASAN_BUILD_DIR)
#   packaging/setup.sh deps   only install the dependencies (build and test)
#   packaging/setup.sh build  build and test dependencies + build, the language bindings included
# Environment: BUILD_DIR (default <source>/build), ASAN_BUILD_DIR (default build-asan beside BUILD_DIR),
# BUILD_TYPE (default RelWithDebInfo; the ASan build is always -O1 -g1), JOBS, XDG_CACHE_HOME (axe-core's
# cache, default ~/.cache).
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-$(dirname "$BUILD_DIR")/build-asan}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=${JOBS:-$(nproc)}

# Debian 12 packages. What building needs (every command): compiler and build tools, the core
# libraries, the test frameworks.
BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache binutils file dpkg-dev
  libboost-dev libsqlite3-dev libssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libicu-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcsv-dev
  libpq-dev   # regulars-bench's PostgreSQL reference (tests/bench/references) links libpq
  prometheus-cpp-dev   # regularsd's /metrics (the core library only)
  libjemalloc-dev      # regularsd's and regularsctl's allocator (daemon/CMakeLists.txt says why)
  libjs-chart.js       # the dashboard's charts, embedded in regularsd at build time
)
# What only the tests need (setup.sh test): the language bindings' toolchains, and the servers the
# benchmark compares regularsd with.
TEST_PACKAGES=(
  # The Python binding (sdk/python): its tests, and the offline venv install they check.
  python3 python3-pytest python3-venv python3-pip python3-setuptools python3-wheel
  default-jdk-headless libjna-java junit4                 # the Java binding (sdk/java) and its tests
  mono-mcs mono-runtime nunit-console libnunit-cil-dev   # the C# binding (sdk/csharp) and its tests
  redis-server postgresql                                 # regulars-bench's references
  prometheus                                              # promtool, for the /metrics test
  chromium chromium-driver python3-selenium             # the owner's dashboard in a real browser (tests/browser)
  curl ca-certificates                                   # fetch_axe: axe-core from the npm registry
  # regulars.dll for Windows tills (64- and 32-bit), and Wine to run its tests (tests/windows);
  # 32-bit Wine is an i386 package, so the tests add that architecture to dpkg (install_deps).
  g++-mingw-w64-x86-64-posix g++-mingw-w64-i686-posix wine64 wine32:i386
)
# axe-core, the accessibility checker the browser tests run in every dashboard page (WCAG 2.1 AA).
# Debian has no package of it: a pinned release straight from the npm registry, checked against
# the registry's dist.integrity (sha512 of the tarball). Only its axe.min.js is kept, where
# tests/browser/CMakeLists.txt looks by default (REGULARS_AXE_JS). A new pin: the version, the
# tarball's sha512 (the registry's integrity, base64 -d | xxd -p) and axe.min.js's own sha512.
AXE_VERSION=4.14.1
AXE_TARBALL_SHA512=1477dafa598d8d065f273d6af302aa203c02e83131707b7fa648cd41bd3d6b734f8c22a0dab86ee6a6f64b8afbe804b214d36db85a2826965edfb3a0b9d546b5
AXE_MIN_JS_SHA512=e63e659f9806d7ae5bd40899043b0871a5062c5442b01b3f1a3edf5eaf50bf5c3a7104a72463293b4ad1b77c661a0d4e40e850dec89de9d6ece70a8c13a9af17
AXE_JS=${XDG_CACHE_HOME:-$HOME/.cache}/regulars/axe-core/axe.min.js

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# install_deps PACKAGE...: apt-get installs those not installed yet.
install_deps() {
  local missing=()
  for p in "$@"; do
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
  if [[ " ${missing[*]}" == *":i386"* ]] && ! dpkg --print-foreign-architectures | grep -qx i386; then
    say "adding the i386 architecture to dpkg (for wine32:i386, which runs the 32-bit Windows tests)"
    dpkg --add-architecture i386
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# fetch_axe: puts the pinned axe-core's axe.min.js at $AXE_JS, unless the file there already is it.
fetch_axe() {
  if [ -f "$AXE_JS" ] && echo "$AXE_MIN_JS_SHA512  $AXE_JS" | sha512sum --check --status; then
    say "axe-core $AXE_VERSION already in $AXE_JS"
    return
  fi
  local url="https://registry.npmjs.org/axe-core/-/axe-core-$AXE_VERSION.tgz" tmp
  say "fetching axe-core $AXE_VERSION from the npm registry"
  mkdir -p "$(dirname "$AXE_JS")"
  tmp=$(mktemp -d "$(dirname "$AXE_JS")/fetch.XXXXXX")
  axe_failed() { rm -rf "$tmp"; echo "setup.sh: axe-core $AXE_VERSION: $*" >&2; exit 1; }
  curl --fail --silent --show-error --location --retry 3 --retry-delay 5 --retry-connrefused \
       --connect-timeout 20 --max-time 300 -o "$tmp/axe-core.tgz" "$url" \
    || axe_failed "could not download $url (curl's error is above)"
  echo "$AXE_TARBALL_SHA512  $tmp/axe-core.tgz" | sha512sum --check --status \
    || axe_failed "$url does not have the pinned sha512 (AXE_TARBALL_SHA512); not using it"
  tar -xzf "$tmp/axe-core.tgz" -C "$tmp" package/axe.min.js \
    || axe_failed "the tarball from $url has no package/axe.min.js"
  echo "$AXE_MIN_JS_SHA512  $tmp/package/axe.min.js" | sha512sum --check --status \
    || axe_failed "package/axe.min.js in $url does not have the pinned sha512 (AXE_MIN_JS_SHA512)"
  mv -f "$tmp/package/axe.min.js" "$AXE_JS"
  rm -rf "$tmp"
  say "axe-core $AXE_VERSION checked and kept in $AXE_JS"
}

# The bindings' setting for a demo: kept when the build directory has them on (its toolchains are
# there), otherwise OFF, so that a demo on a fresh machine needs no JDK, Mono or pytest.
bindings_setting() { grep -q '^REGULARS_BINDINGS:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null && echo ON || echo OFF; }

# build ON|OFF: configures (with or without the language bindings and the Windows plugin, whose
# toolchains only the tests install) and builds.
build() {
  say "configuring ($BUILD_TYPE, bindings and Windows $1) in $BUILD_DIR"
  cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DREGULARS_BINDINGS="$1" \
    -DREGULARS_WINDOWS="$1" >/dev/null
  say "building with $JOBS jobs"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run_tests() {
  say "running the tests (unit, integration, abi, Windows under Wine, bench smoke)"
  # Serial on purpose: several tests measure the plugin's time budget, which a second busy
  # test process on a 2-core machine would distort.
  ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 300
}

# The unit and integration tests again with AddressSanitizer, LeakSanitizer and UBSan: a leak, an
# out-of-bounds access or undefined behaviour in the tests, the plugin or regularsd fails the run.
# Only the programs those tests run are built (target unit_integration_tests), at -O1 -g1: the
# level the sanitizers' authors advise, file:line in every report, and half the compile time of
# -O2 -g with the sanitizers on.
run_sanitized_tests() {
  say "configuring ASan+UBSan (-O1 -g1) in $ASAN_BUILD_DIR"
  cmake -S "$SOURCE_DIR" -B "$ASAN_BUILD_DIR" -G Ninja -DREGULARS_SANITIZE=ON -DREGULARS_BINDINGS=OFF -DREGULARS_WINDOWS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" >/dev/null
  say "building the unit and integration tests with ASan+UBSan, $JOBS jobs"
  cmake --build "$ASAN_BUILD_DIR" -j "$JOBS" --target unit_integration_tests
  say "running the unit and integration tests under ASan+UBSan"
  # The daemons and tools the tests start inherit these; their reports fail the test that started them.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ctest --test-dir "$ASAN_BUILD_DIR" -L 'unit|integration' --output-on-failure --timeout 300
}

case "${1:-}" in
  deps) install_deps "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" ;;
  build) install_deps "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; build ON ;;
  demo) install_deps "${BUILD_PACKAGES[@]}"; build "$(bindings_setting)"; say "demo: regularsd with a seeded store, and a scripted checkout"
        exec bash "$SOURCE_DIR/packaging/demo/run-demo.sh" "$BUILD_DIR" "${@:2}" ;;
  test) install_deps "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; fetch_axe; build ON; run_tests; run_sanitized_tests ;;
  *) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

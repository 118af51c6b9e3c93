#!/bin/sh
# abi_install_consumer: what `cmake --install` lays out is complete and usable from outside the
# tree: a CMake project finds it with find_package(Regulars) and links Regulars::regulars, and a
# plain `cc $(pkg-config --cflags --libs regulars)` builds the minimal example.
# Usage: check_install_consumer.sh
# Environment (set by tests/abi/CMakeLists.txt): CMAKE_COMMAND BUILD_DIR SOURCE_DIR GENERATOR
#   C_COMPILER CXX_COMPILER READELF SANITIZE_FLAGS PROJECT_VERSION, and the relative install dirs
#   BINDIR LIBDIR INCLUDEDIR SYSCONFDIR (CMAKE_INSTALL_* of the build).
set -eu

for dir in "$BINDIR" "$LIBDIR" "$INCLUDEDIR" "$SYSCONFDIR"; do
  case "$dir" in
    /*) echo "SKIP: install directory $dir is absolute; this test installs into a scratch prefix"; exit 77 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-abi-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM PIPE
prefix=$work/prefix

run_logged() {  # run_logged NAME COMMAND...: quiet on success, the whole output on failure
  name=$1
  shift
  if ! "$@" >"$work/$name.log" 2>&1; then
    echo "FAIL: $name: $*" >&2
    sed 's/^/  /' "$work/$name.log" >&2
    exit 1
  fi
}

# 1. Install into the scratch prefix.
run_logged install "$CMAKE_COMMAND" --install "$BUILD_DIR" --prefix "$prefix"

# 2. The layout.
missing=0
for path in \
  "$BINDIR/regularsd" \
  "$BINDIR/regularsctl" \
  "$LIBDIR/libregulars.so.0" \
  "$LIBDIR/libregulars.so" \
  "$INCLUDEDIR/regulars/regulars.h" \
  "$INCLUDEDIR/regulars/regulars.hpp" \
  "$LIBDIR/cmake/Regulars/RegularsConfig.cmake" \
  "$LIBDIR/cmake/Regulars/RegularsConfigVersion.cmake" \
  "$LIBDIR/cmake/Regulars/RegularsTargets.cmake" \
  "$LIBDIR/pkgconfig/regulars.pc" \
  "$SYSCONFDIR/regulars/regularsd.conf" \
  "lib/systemd/system/regularsd.service"; do
  if [ ! -e "$prefix/$path" ]; then
    echo "FAIL: not installed: <prefix>/$path" >&2
    missing=1
  fi
done
for exe in "$BINDIR/regularsd" "$BINDIR/regularsctl"; do
  if [ -e "$prefix/$exe" ] && [ ! -x "$prefix/$exe" ]; then
    echo "FAIL: <prefix>/$exe is not executable" >&2
    missing=1
  fi
done
if [ "$missing" -ne 0 ]; then
  echo "Installed files:" >&2
  (cd "$prefix" && find . ! -type d | sort | sed 's/^/  /') >&2
  exit 1
fi

# Installed files name the prefix they were installed to, never the build or source tree.
if grep -rl -e "$BUILD_DIR" -e "$SOURCE_DIR" "$prefix/$LIBDIR/cmake" "$prefix/$LIBDIR/pkgconfig" \
  "$prefix/lib/systemd" >"$work/leaks.txt"; then
  echo "FAIL: installed files refer to the build or source tree:" >&2
  sed 's/^/  /' "$work/leaks.txt" >&2
  exit 1
fi
if ! grep -qx "ExecStart=$prefix/$BINDIR/regularsd --config $prefix/$SYSCONFDIR/regulars/regularsd.conf" \
  "$prefix/lib/systemd/system/regularsd.service"; then
  echo "FAIL: the unit's ExecStart does not name the installed daemon and config:" >&2
  grep '^ExecStart' "$prefix/lib/systemd/system/regularsd.service" >&2 || true
  exit 1
fi
if "${READELF:-readelf}" -d "$prefix/$LIBDIR/libregulars.so.0" | grep -E 'R(UN)?PATH' >"$work/rpath.txt"; then
  echo "FAIL: the installed library carries a search path:" >&2
  cat "$work/rpath.txt" >&2
  exit 1
fi

# 3. A CMake consumer: find_package(Regulars) and Regulars::regulars, C and C++.
consumer_build=$work/consumer-build
run_logged consumer-configure "$CMAKE_COMMAND" -S "$SOURCE_DIR/tests/abi/consumer" -B "$consumer_build" \
  -G "$GENERATOR" \
  "-DCMAKE_PREFIX_PATH=$prefix" \
  "-DCMAKE_C_COMPILER=$C_COMPILER" "-DCMAKE_CXX_COMPILER=$CXX_COMPILER" \
  "-DCMAKE_C_FLAGS=$SANITIZE_FLAGS" "-DCMAKE_CXX_FLAGS=$SANITIZE_FLAGS" \
  "-DREGULARS_MINIMAL_EXAMPLE=$SOURCE_DIR/sdk/examples/minimal.c"
found=$(sed -n 's/^Regulars_DIR:PATH=//p' "$consumer_build/CMakeCache.txt")
if [ "$found" != "$prefix/$LIBDIR/cmake/Regulars" ]; then
  echo "FAIL: find_package(Regulars) used '$found', not the scratch prefix's package" >&2
  exit 1
fi
run_logged consumer-build "$CMAKE_COMMAND" --build "$consumer_build"
# No daemon: hints are "not now"; the wrapper knows the daemon's spool key (spool.pub beside the
# socket), so its record is spooled; both programs exit 0.
mkdir -p "$work/run"
run_logged consumer-minimal "$consumer_build/consumer_minimal" "unix:$work/run/absent.sock" "$work/run/spool-c"
run_logged consumer-wrapper "$consumer_build/consumer_wrapper" "$work/run"

# 4. pkg-config, the way sdk/examples/minimal.c says to build it.
PKG_CONFIG_PATH=$prefix/$LIBDIR/pkgconfig
export PKG_CONFIG_PATH
version=$(pkg-config --modversion regulars) || { echo "FAIL: pkg-config does not find regulars.pc" >&2; exit 1; }
if [ "$version" != "$PROJECT_VERSION" ]; then
  echo "FAIL: pkg-config reports version $version, the project is $PROJECT_VERSION" >&2
  exit 1
fi
# Word splitting of SANITIZE_FLAGS and of the pkg-config output is intended.
# shellcheck disable=SC2046,SC2086
run_logged pkg-config-build "$C_COMPILER" $SANITIZE_FLAGS -std=c99 -Wall -Wextra -pedantic -Werror \
  "$SOURCE_DIR/sdk/examples/minimal.c" $(pkg-config --cflags --libs regulars) -o "$work/minimal-pc"
LD_LIBRARY_PATH=$prefix/$LIBDIR
export LD_LIBRARY_PATH
run_logged pkg-config-minimal "$work/minimal-pc" "unix:$work/run/absent.sock" "$work/run/spool-pc"

echo "OK: installed layout complete; find_package(Regulars) + Regulars::regulars (C and C++) and" \
  "pkg-config regulars $version build and run against $prefix"

#!/bin/sh
# abi_install_rpath: programs installed into any prefix start without LD_LIBRARY_PATH. Each
# installed program that links libregulars.so.0 finds it through a search path relative to
# itself ($ORIGIN/../LIBDIR), so the prefix can even be moved after installing.
# Usage: check_install_rpath.sh
# Environment (set by tests/abi/CMakeLists.txt): CMAKE_COMMAND BUILD_DIR SOURCE_DIR READELF, and
#   the relative install dirs BINDIR LIBDIR (CMAKE_INSTALL_* of the build).
set -eu
unset LD_LIBRARY_PATH LD_PRELOAD

for dir in "$BINDIR" "$LIBDIR"; do
  case "$dir" in
    /*) echo "SKIP: install directory $dir is absolute; this test installs into a scratch prefix"; exit 77 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-abi-rpath.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM PIPE
readelf_tool=${READELF:-readelf}

if ! "$CMAKE_COMMAND" --install "$BUILD_DIR" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
  echo "FAIL: cmake --install $BUILD_DIR --prefix $work/prefix" >&2
  sed 's/^/  /' "$work/install.log" >&2
  exit 1
fi

# The installed programs that link the library, by their NEEDED entries.
linked=""
for exe in "$work/prefix/$BINDIR"/*; do
  [ -f "$exe" ] || continue
  if "$readelf_tool" -d "$exe" 2>/dev/null | grep -q 'Shared library: \[libregulars\.so\.'; then
    linked="$linked ${exe##*/}"
  fi
done
# regulars-bench and regulars-eval link it; if neither is there the build made no tools, and
# this test would check nothing about linked programs.
if [ -z "$linked" ]; then
  echo "FAIL: no installed program in <prefix>/$BINDIR links libregulars.so (build every target first)" >&2
  exit 1
fi

status=0
# Every search path of an installed program is relative to it: none names the build or source
# tree, which an installed program must not depend on.
for exe in "$work/prefix/$BINDIR"/*; do
  [ -f "$exe" ] || continue
  "$readelf_tool" -d "$exe" 2>/dev/null | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p' >"$work/paths.txt"
  if grep -q -e "$BUILD_DIR" -e "$SOURCE_DIR" "$work/paths.txt"; then
    echo "FAIL: <prefix>/$BINDIR/${exe##*/} searches the build or source tree: $(cat "$work/paths.txt")" >&2
    status=1
  fi
done

# run_each PREFIX: each linked program, and regulars-till (which dlopens the library from
# PREFIX/LIBDIR), answers --help from PREFIX.
run_each() {
  for name in regulars-till $linked; do
    if ! "$1/$BINDIR/$name" --help >"$work/$name.out" 2>&1; then
      echo "FAIL: $1/$BINDIR/$name --help (no LD_LIBRARY_PATH):" >&2
      sed 's/^/  /' "$work/$name.out" >&2
      status=1
    fi
  done
}
run_each "$work/prefix"
# Relative to the program, not to the prefix it was installed to: a moved tree still starts.
mv "$work/prefix" "$work/moved"
run_each "$work/moved"

[ "$status" -eq 0 ] || exit 1
echo "OK: regulars-till and$linked start from an installed prefix, and from the same tree moved, without LD_LIBRARY_PATH"

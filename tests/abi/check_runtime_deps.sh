#!/bin/sh
# abi_runtime_deps: libregulars.so needs nothing at run time beyond the C and C++ runtimes
# (a till installs one .so, never Boost, SQLite, spdlog, fmt or OpenSSL), and its SONAME
# carries the major version, and it has no TLS segment of its own.
# Usage: check_runtime_deps.sh READELF LIBRARY EXPECTED_SONAME [EXTRA_ALLOWED_PREFIX...]
#   EXTRA_ALLOWED_PREFIX: further allowed library name prefixes (the sanitizer runtimes of a
#   REGULARS_SANITIZE build: libasan, libubsan).
set -eu

readelf_tool=$1 library=$2 expected_soname=$3
shift 3
[ -f "$library" ] || { echo "FAIL: no library at $library" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-abi-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM PIPE

# The glibc parts (libpthread, libdl and librt are libc itself on glibc >= 2.34), the C++
# runtime, and the kernel's vDSO that ldd lists.
allowed="libc.so libm.so libpthread.so libdl.so librt.so libstdc++.so libgcc_s.so ld-linux linux-vdso $*"
is_allowed() {
  for prefix in $allowed; do
    case "$1" in "$prefix"*) return 0 ;; esac
  done
  return 1
}

status=0
# No thread-local storage of its own: a dlopened library's TLS block lands in the host's dynamic
# TLS, which some hosts' tools mishandle (LeakSanitizer crashed scanning it at exit). The last
# error per thread lives under a pthread key instead (plugin/c_api.cpp).
"$readelf_tool" -lW "$library" >"$work/segments.txt"
if grep -q '^ *TLS ' "$work/segments.txt"; then
  echo "FAIL: $library has a TLS segment (a thread_local in the plugin?): $(grep '^ *TLS ' "$work/segments.txt")" >&2
  status=1
fi
"$readelf_tool" -d "$library" >"$work/dynamic.txt"

soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p' "$work/dynamic.txt")
if [ "$soname" != "$expected_soname" ]; then
  echo "FAIL: SONAME is '${soname:-<none>}', expected '$expected_soname' (set by SOVERSION in plugin/CMakeLists.txt)" >&2
  status=1
fi

# Direct dependencies, as recorded in the library.
sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' "$work/dynamic.txt" >"$work/needed.txt"
while read -r lib; do
  if ! is_allowed "$lib"; then
    echo "FAIL: $library records NEEDED $lib; only the C and C++ runtimes are allowed" >&2
    status=1
  fi
done <"$work/needed.txt"

# Everything the loader actually brings in, dependencies of dependencies included.
if command -v ldd >/dev/null 2>&1; then
  ldd "$library" >"$work/ldd.txt" 2>&1 || { echo "FAIL: ldd $library failed:" >&2; cat "$work/ldd.txt" >&2; exit 1; }
  awk '{ print $1 }' "$work/ldd.txt" | sed 's|.*/||' >"$work/loaded.txt"
  while read -r lib; do
    if ! is_allowed "$lib"; then
      echo "FAIL: loading $library brings in $lib:" >&2
      grep -F "$lib" "$work/ldd.txt" | sed 's/^/  /' >&2
      status=1
    fi
  done <"$work/loaded.txt"
  if grep -F 'not found' "$work/ldd.txt" >&2; then
    echo "FAIL: unresolved dependencies of $library (above)" >&2
    status=1
  fi
fi
[ "$status" -eq 0 ] || exit "$status"

echo "OK: SONAME $soname; NEEDED: $(tr '\n' ' ' <"$work/needed.txt")"

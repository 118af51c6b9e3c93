#!/bin/sh
# abi_exported_symbols: libregulars.so exports only regulars_* symbols, and exactly the ones
# listed in exported_symbols.txt (curl's habit: a new export is a conscious, reviewed act).
# Usage: check_exported_symbols.sh NM LIBRARY EXPECTED_LIST
set -eu

nm_tool=$1 library=$2 expected_list=$3
[ -f "$library" ] || { echo "FAIL: no library at $library" >&2; exit 1; }
[ -f "$expected_list" ] || { echo "FAIL: no symbol list at $expected_list" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-abi-symbols.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM PIPE

# "0000000000012345 T regulars_open" -> "regulars_open"; any symbol version suffix (@...) dropped.
"$nm_tool" -D --defined-only "$library" >"$work/nm.txt"
awk 'NF >= 2 { name = $NF; sub(/@.*/, "", name); print name }' "$work/nm.txt" | LC_ALL=C sort -u >"$work/actual.txt"
grep -v -e '^#' -e '^[[:space:]]*$' "$expected_list" | LC_ALL=C sort -u >"$work/expected.txt"

status=0
if grep -v '^regulars_' "$work/actual.txt" >"$work/foreign.txt"; then
  echo "FAIL: $library exports symbols outside the regulars_ namespace:" >&2
  sed 's/^/  /' "$work/foreign.txt" >&2
  echo "  (is everything built with -fvisibility=hidden and linked with plugin/libregulars.map?)" >&2
  status=1
fi
if ! diff -u "$work/expected.txt" "$work/actual.txt" >"$work/diff.txt"; then
  echo "FAIL: exported symbols differ from $expected_list (- listed, + exported):" >&2
  sed 's/^/  /' "$work/diff.txt" >&2
  echo "  A new export must be added to that list on purpose; a listed one may never disappear." >&2
  status=1
fi
[ "$status" -eq 0 ] || exit "$status"

echo "OK: $(wc -l <"$work/actual.txt") exported symbols, all regulars_*, matching $expected_list:"
sed 's/^/  /' "$work/actual.txt"

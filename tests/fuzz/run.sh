#!/usr/bin/env bash
# Fuzz regularsd's input parsers with libFuzzer for a bounded time.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
#   SECONDS  time per target (default 60), passed to libFuzzer as -max_total_time
#   TARGET   frame, request, config, rules, sealed, spool or import (a "fuzz_" prefix is accepted); default: all
#
#   frame    bytes fed to FrameDecoder in random chunks; each frame parsed and validated
#   request  one JSON payload through parse_json, validate_event, validate_hints_request
#   config   regularsd's config file through parse_config_text
#   rules    one gesture rule (sdk/GESTURES.md) through parse_rule_text
#   sealed   a record's "sealed" field: base64_decode and SpoolKey::open with a fixed key, and the
#            bytes sealed to that key and opened again; what opens goes through parse_json and
#            validate_event
#   spool    a spool file a till left: parse_spool_records, resynchronising past damaged records
#   import   an import file: a mapping, or a sales or customers CSV read row by row into events,
#            each of which must pass validate_event
#
# Needs clang/clang++ (14 or later) with libFuzzer, plus what the project itself needs. It
# configures and builds build-fuzz-clang/ or $FUZZ_BUILD_DIR (REGULARS_FUZZ=ON, ASan + UBSan),
# then runs each target on a temporary copy of tests/fuzz/corpus/<target>/ (the seeds are never
# modified).
# A crashing input is written to tests/fuzz/crashes/<target>/ (libFuzzer's crash-*, leak-*,
# timeout-*, oom-* files); keep it there and ctest's fuzz_regression_<target> replays it on every
# build. Reproduce one with:  build-fuzz-clang/tests/fuzz/fuzz_<target> tests/fuzz/crashes/<target>/crash-...
#
# Environment: FUZZ_JOBS (parallel build jobs), FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=4"),
# FUZZ_BUILD_DIR (build directory instead of build-fuzz-clang/).
# Exit status: 0 when no target crashed, 1 when any did, 2 on usage or build errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="${FUZZ_BUILD_DIR:-$repo/build-fuzz-clang}"

seconds=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=()
for t in "$@"; do
  t=${t#fuzz_}
  case $t in
    frame|request|config|rules|sealed|spool|import) targets+=("$t") ;;
    *) echo "run.sh: unknown target '$t' (frame, request, config, rules, sealed, spool or import)" >&2; exit 2 ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(frame request config rules sealed spool import)

command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (apt-get install clang)" >&2; exit 2; }

echo "== configuring $build"
cmake -S "$repo" -B "$build" -G Ninja \
  -DREGULARS_FUZZ=ON -DREGULARS_BUILD_TESTS=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
echo "== building ${build_targets[*]}"
cmake --build "$build" --target "${build_targets[@]}" ${FUZZ_JOBS:+--parallel "$FUZZ_JOBS"} || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Tokens that help libFuzzer build protocol-shaped JSON quickly.
cat >"$work/json.dict" <<'EOF'
"{"
"}"
"["
"]"
":"
","
"\""
"\\u"
"\\ud800"
"true"
"false"
"null"
"-0"
"\"id\""
"\"op\""
"\"hello\""
"\"record\""
"\"hints\""
"\"ping\""
"\"protocol\""
"\"event\""
"\"request\""
"\"type\""
"\"purchase\""
"\"consent\""
"\"event_id\""
"\"time\""
"\"customer\""
"\"kind\""
"\"value\""
"\"card\""
"\"phone\""
"\"email\""
"\"payment_token\""
"\"lines\""
"\"sku\""
"\"name\""
"\"qty\""
"\"unit_price\""
"\"purposes\""
"\"basket\""
"\"locale\""
"\"max_hints\""
"\"limits\""
"\"max_frame_bytes\""
"\"socket_mode\""
"\"when\""
"\"gesture\""
"\"all\""
"\"any\""
"\"not\""
"\"visit\""
"\"nth\""
"\"every\""
"\"bought\""
"\"in_basket\""
"\"category\""
"\"within_days\""
"\"min_times\""
"\"member\""
"\"absent\""
"\"days\""
"\"birthday\""
"\"days_before\""
"\"spend\""
"\"over\""
"\"complaint\""
"\"open\""
"\"weekdays\""
"\"hours\""
"\"dates\""
"\"from\""
"\"to\""
"\"sat\""
"\"24:00\""
"\"2028-02-29\""
"\"tag\""
"\"segment\""
"\"random\""
"\"probability\""
"\"free_item\""
"\"discount\""
"\"favourite\""
"\"percent\""
"\"max_value\""
"\"amount\""
"\"message\""
"\"task\""
"\"cost\""
"\"cooldown_days\""
"\"monthly_budget\""
"\"holdout\""
"\"priority\""
"{item}"
"{member}"
"//"
"/*"
"*/"
"4111111111111111"
"2026-11-23T13:45:00.250+03:30"
"\x00\x00\x00\x10"
"\xff\xff\xff\xff"
EOF

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus" "$here/crashes/$t"
  cp -R "$here/corpus/$t/." "$corpus/"
  log="$work/$t.log"
  echo "== fuzz_$t for ${seconds}s (corpus copy $corpus, crashes to tests/fuzz/crashes/$t/)"
  set +e
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$work/json.dict" -artifact_prefix="$here/crashes/$t/" \
    ${FUZZ_ARGS:-} "$corpus" 2>&1 | tee "$log" | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written|stat::)' 
  rc=${PIPESTATUS[0]}
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1 || true)
  if [[ $rc -ne 0 ]]; then
    status=1
    crash=$(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -1 || true)
    summary+=("fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions; input: ${crash:-see log}")
    echo "-- last lines of the fuzz_$t log:"
    tail -n 40 "$log"
  else
    summary+=("fuzz_$t: ok, ${execs:-?} executions in ${secs:-$seconds}s, corpus grew to $(find "$corpus" -type f | wc -l) inputs")
  fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status

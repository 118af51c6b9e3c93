#!/usr/bin/env bash
# How fast `regularsctl import` brings a history in: Ta-Feng's history.json as the generic sales CSV
# (tests/eval/data/history_to_csv.py), imported RUNS times, each into a fresh store, and the rate in
# rows (sale lines) per second of each run, then min/median/max.
#
#   tests/bench/import_rate.sh BUILD_DIR HISTORY_JSON [RUNS] [OTHER_REGULARSCTL]
#
# With OTHER_REGULARSCTL (another build's regularsctl), the two are run interleaved, A B A B ...,
# and both are reported, so that a change is measured against what came before in the same run.
set -euo pipefail
build=${1:?usage: import_rate.sh BUILD_DIR HISTORY_JSON [RUNS] [OTHER_REGULARSCTL]}
history=${2:?usage: import_rate.sh BUILD_DIR HISTORY_JSON [RUNS] [OTHER_REGULARSCTL]}
runs=${3:-3}
other=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/regulars-import-rate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 "$here/../eval/data/history_to_csv.py" "$history" "$tmp/sales.csv" --end-date "$(date -u +%F)"

# rate CTL: one import into a fresh store; prints rows/s as regularsctl reports it.
rate() {
  rm -rf "$tmp/data"
  "$1" import --data-dir "$tmp/data" --consent remember,personalize "$tmp/sales.csv" 2>/dev/null |
    sed -n 's/^imported .* rows in .* s, \([0-9,]*\) rows\/s$/\1/p' | tr -d ,
}

summary() {  # NAME RATE...: min/median/max
  local name=$1
  shift
  printf '%s\n' "$@" | sort -n | awk -v name="$name" '{ r[NR] = $1 } END {
    printf "%s: rows_per_s min=%d median=%d max=%d (runs=%d)\n", name, r[1], r[int((NR + 1) / 2)], r[NR], NR }'
}

this=() before=()
for ((i = 1; i <= runs; i++)); do
  this+=("$(rate "$build/daemon/regularsctl")")
  echo "run $i: this build ${this[-1]} rows/s" >&2
  if [[ -n $other ]]; then
    before+=("$(rate "$other")")
    echo "run $i: other build ${before[-1]} rows/s" >&2
  fi
done
summary "import (this build)" "${this[@]}"
[[ -z $other ]] || summary "import (other build)" "${before[@]}"

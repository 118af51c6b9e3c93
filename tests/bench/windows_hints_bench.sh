#!/usr/bin/env bash
# Hints latency of a Windows till (regulars.dll under Wine) against a Linux till
# (libregulars.so), both over TCP with TLS and a lane token, to one regularsd, in one run: the
# same till program (tests/windows/win_till.cpp) built for each, ROUNDS rounds taking turns,
# CALLS timed hints each; p50/p99 per round, then min/median/max.
#
#   tests/bench/windows_hints_bench.sh BUILD_DIR [CALLS] [ROUNDS]
#
# BUILD_DIR is a build with -DREGULARS_WINDOWS=ON (build/win64 holds the Windows programs).
set -euo pipefail
build=$(cd "${1:?usage: windows_hints_bench.sh BUILD_DIR [CALLS] [ROUNDS]}" && pwd)
calls=${2:-2000}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/regulars-windows-bench.XXXXXX")
daemon=""
cleanup() {
  if [[ -n $daemon ]]; then
    kill "$daemon" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$daemon" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

bash "$here/../../packaging/make-tls.sh" "$tmp/tls" localhost 127.0.0.1 >/dev/null 2>&1
cat > "$tmp/regularsd.conf" <<CONF
{"listen": {"tls": {"address": "127.0.0.1", "port": 0, "cert": "$tmp/tls/server.crt", "key": "$tmp/tls/server.key"}}}
CONF
"$build/daemon/regularsd" --data-dir "$tmp/data" --config "$tmp/regularsd.conf" --log-level warn 2>"$tmp/regularsd.log" &
daemon=$!
# Ready once regularsctl gets an answer (tls.endpoint is written before the socket listens).
for _ in $(seq 200); do
  kill -0 "$daemon" 2>/dev/null || { cat "$tmp/regularsd.log" >&2; exit 1; }
  "$build/daemon/regularsctl" --data-dir "$tmp/data" status >/dev/null 2>&1 && break
  sleep 0.05
done
endpoint=$(cat "$tmp/data/tls.endpoint")
token=$("$build/daemon/regularsctl" --data-dir "$tmp/data" tokens issue --terminal bench --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# options FILE CA SPOOL: the till's options, in the path form its system reads.
options() {
  printf '{"endpoint": "%s", "ca_file": "%s", "token": "%s", "terminal": "bench", "budget_ms": 1000, "spool_dir": "%s"}' \
    "$endpoint" "$2" "$token" "$3" > "$1"
}
options "$tmp/linux.json" "$tmp/tls/ca.crt" "$tmp/linux-spool"
options "$tmp/windows.json" "Z:$tmp/tls/ca.crt" "Z:$tmp/windows-spool"
export WINEPREFIX=$build/wine-prefix64 WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
# Each till run is bounded, so a stuck one ends the bench (and its trap stops the daemon).
linux_till() { timeout 120 "$build/tests/integration/regulars_till_driver" "$tmp/linux.json" "$@"; }
windows_till() { timeout 120 /usr/lib/wine/wine64 "$build/win64/plugin/win_till.exe" "Z:$tmp/windows.json" "$@"; }

# A regular with a history, so the answer is a real one (hints, predictions).
seed=()
for i in $(seq 20); do seed+=("record:bench-seed-$i:4000123"); done
linux_till "${seed[@]}" >/dev/null

# bench TILL: "p50 p99" in µs of one round.
bench() {
  "$1" "bench:$calls:4000123" | python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{") and "\"bench\"" in line:
        b = json.loads(line)
        if b["errors"]: sys.exit("bench: %d calls failed" % b["errors"])
        print(b["p50_us"], b["p99_us"])'
}

linux=() windows=()
for ((r = 1; r <= rounds; r++)); do
  linux+=("$(bench linux_till)")
  windows+=("$(bench windows_till)")
  echo "round $r: linux p50/p99 ${linux[-1]/ //} us, windows (wine) p50/p99 ${windows[-1]/ //} us" >&2
done

summary() {  # NAME "P50 P99"...: min/median/max of each
  python3 - "$calls" "$@" <<'PY'
import sys
calls, name, rounds = sys.argv[1], sys.argv[2], [tuple(map(float, r.split())) for r in sys.argv[3:]]
def mmm(values):
    v = sorted(values)
    return "min=%.1f median=%.1f max=%.1f" % (v[0], v[(len(v) - 1) // 2], v[-1])
print("%s: hints_p50_us %s  hints_p99_us %s (rounds=%d, calls=%s)"
      % (name, mmm([r[0] for r in rounds]), mmm([r[1] for r in rounds]), len(rounds), calls))
PY
}
summary "linux (libregulars.so, TLS)" "${linux[@]}"
summary "windows (regulars.dll under Wine, TLS)" "${windows[@]}"

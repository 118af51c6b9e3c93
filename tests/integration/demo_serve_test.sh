#!/usr/bin/env bash
# `run-demo.sh --serve` (setup.sh demo --serve): after the scripted checkout, regularsd keeps
# serving the demo store, and the demo ends by printing the dashboard's address and a one-time
# login link. Checks that the daemon it leaves answers the dashboard and the admin API with the
# demo store's day, then stops it.
#   usage: demo_serve_test.sh BUILD_DIR
set -euo pipefail

build_dir=${1:?usage: demo_serve_test.sh BUILD_DIR}
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/demo-serve-test.XXXXXX")
pid=""
data=""
finish() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -f "$out"
  [[ -n $data && -d $data ]] && rm -rf "$(dirname "$data")"
}
trap finish EXIT

fail() {
  echo "FAIL: $*"
  cat "$out"
  exit 1
}

env -u REGULARS_BIN_DIR DEMO_PACE_MS=0 NO_COLOR=1 \
  bash "$src_dir/packaging/demo/run-demo.sh" "$build_dir" --serve >"$out" 2>&1 || fail "run-demo.sh --serve failed"

line=$(grep -E '^regularsd keeps running \(pid [0-9]+\) on .*; stop it with: kill [0-9]+$' "$out") ||
  fail "no 'regularsd keeps running (pid N) on DIR' line"
pid=$(sed -E 's/.*\(pid ([0-9]+)\).*/\1/' <<<"$line")
data=$(sed -E 's/.* on (.*); stop it.*/\1/' <<<"$line")
url=$(grep -Eo '^Dashboard: http://127\.0\.0\.1:[0-9]+/dashboard/$' "$out" | cut -d' ' -f2) || fail "no dashboard address"
grep -Eq '^  http://127\.0\.0\.1:[0-9]+/dashboard/link#[0-9a-f]{64}$' "$out" || fail "no one-time login link"
kill -0 "$pid" 2>/dev/null || fail "regularsd (pid $pid) is not running after the demo"

# get PATH [TOKEN]: the status line and body of a GET to the daemon's admin port.
port=$(sed -E 's|http://127\.0\.0\.1:([0-9]+)/.*|\1|' <<<"$url")
get() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n' "$1" \
    "${2:+Authorization: Bearer $2$'\r\n'}" >&3
  cat <&3
  exec 3>&-
}
get /dashboard/ | head -1 | grep -q '^HTTP/1.1 303' || fail "the dashboard does not answer (expected a redirect to sign in)"
today=$(get /v1/today "$(cat "$data/admin.token")")
grep -q '^HTTP/1.1 200' <<<"$today" || fail "GET /v1/today: $(head -1 <<<"$today")"
grep -q '"visits":' <<<"$today" || fail "/v1/today has no visits: $today"

kill "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "regularsd did not stop on SIGTERM"
pid=""
echo "demo --serve: regularsd kept serving the demo store and stopped on request"

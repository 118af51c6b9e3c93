#!/usr/bin/env bash
# eval_smoke: runs regulars-eval on the hand-made dataset of data/ (see data/make_smoke.py) and
# checks its exit status, the shape of its last line and the figures known by construction:
# every customer's staple (the only item anyone ever bought twice) is predicted first, and the
# other held-out item was never sold, so recall@10 = recall@3 = 0.5, ndcg@10 = 1/(1+1/log2 3) =
# 0.6131, phr@10 = 1 over 30 users. Then reruns on the same --data-dir: nothing may be stored
# twice (deterministic event ids) and the figures must not move.
# usage: check_smoke.sh REGULARS_EVAL DATA_DIR
set -u
eval_bin=$1
data=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/eval-smoke-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "eval_smoke: FAIL: $*" >&2; exit 1; }

shape='^recall@10=[01]\.[0-9]{4} ndcg@10=[01]\.[0-9]{4} phr@10=[01]\.[0-9]{4} recall@3=[01]\.[0-9]{4} users=[0-9]+ p50_us=[0-9]+ p99_us=[0-9]+$'
expected='recall@10=0.5000 ndcg@10=0.6131 phr@10=1.0000 recall@3=0.5000 users=30 '

run() {  # run NAME: runs regulars-eval on $work/store, output in $work/NAME.out
  "$eval_bin" --history "$data/smoke_history.json" --future "$data/smoke_future.json" --clients 3 \
    --data-dir "$work/store" --end-date 2026-01-05 >"$work/$1.out" 2>"$work/$1.err"
  local rc=$?
  cat "$work/$1.out"
  [ $rc -eq 0 ] || { cat "$work/$1.err" >&2; fail "$1: exit status $rc"; }
  local last
  last=$(tail -n 1 "$work/$1.out")
  [[ $last =~ $shape ]] || fail "$1: last line has the wrong shape: $last"
  [[ $last == "$expected"* ]] || fail "$1: expected a last line starting '$expected', got: $last"
}

run first
grep -q '^replay: 30 consents + 135 purchases ' "$work/first.out" || fail "first: not every event was acknowledged"
grep -q '^store after: events=165 (+165;' "$work/first.out" || fail "first: the store did not gain exactly 165 events"
grep -Eq '^ +3 +0\.5000 +0\.6131 +1\.0000$' "$work/first.out" || fail "first: wrong k=3 row"
grep -Eq '^ +20 +0\.5000 +0\.6131 +1\.0000$' "$work/first.out" || fail "first: wrong k=20 row"
grep -q 'replay  *[0-9]*%: ' "$work/first.err" || fail "first: no progress on stderr"

run again
grep -q '^store after: events=165 (+0;' "$work/again.out" || fail "again: the rerun stored events twice"
[ "$(tail -n 1 "$work/first.out" | cut -d' ' -f1-5)" == "$(tail -n 1 "$work/again.out" | cut -d' ' -f1-5)" ] ||
  fail "again: the figures moved on a rerun"
echo "eval_smoke: OK"

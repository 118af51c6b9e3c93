#!/usr/bin/env bash
# eval_bad_input: a malformed dataset is refused before any daemon starts, with exit status 1 and
# an error naming the file, the customer and the position.
# usage: check_bad_input.sh REGULARS_EVAL DATA_DIR
set -u
eval_bin=$1
data=$2
err=$("$eval_bin" --history "$data/bad_history.json" --future "$data/smoke_future.json" --regularsd /nonexistent 2>&1 >/dev/null)
rc=$?
echo "$err"
[ $rc -eq 1 ] || { echo "eval_bad_input: FAIL: exit status $rc, expected 1" >&2; exit 1; }
want='bad_history.json: customer "2", element 2 of its list, item 1: item ids must be non-negative integers, got "x"'
[[ $err == *"$want"* ]] || { echo "eval_bad_input: FAIL: expected the error: $want" >&2; exit 1; }
echo "eval_bad_input: OK"

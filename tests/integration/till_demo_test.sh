#!/usr/bin/env bash
# The demo end to end: packaging/demo/run-demo.sh seeds a store, adds the chips gesture rule with
# regularsctl, runs the scripted checkout in regulars-till (the parent is offered free chips for
# her son and accepts), and stops regularsd. Checks what a person watching must see.
#   usage: till_demo_test.sh BUILD_DIR
set -euo pipefail

build_dir=${1:?usage: till_demo_test.sh BUILD_DIR}
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/till-demo-test.XXXXXX")
trap 'rm -f "$out"' EXIT

rc=0
env -u REGULARS_BIN_DIR DEMO_PACE_MS=0 NO_COLOR=1 \
  bash "$src_dir/packaging/demo/run-demo.sh" "$build_dir" >"$out" 2>&1 || rc=$?

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# section START: the output from the line containing START up to the end of that visit.
section() {
  awk -v start="$1" 'index($0, start) { on = 1 } on { print } on && /visit ended/ { exit }' "$out"
}

((rc == 0)) || fail "run-demo.sh exited with status $rc"
grep -Eq '^seeded [0-9]+ events for 6 customers .*; 0 spooled\)$' "$out" ||
  fail "no 'seeded N events for 6 customers (...; 0 spooled)' line"
grep -q "^gesture rule 'chips-for-the-kids' saved" "$out" || fail "the chips gesture rule was not added with regularsctl"

regular=$(section "▸ customer card 4000123")
[[ -n $regular ]] || fail "the regular's visit (customer card 4000123) is missing"
grep -q "Welcome back — visit 9 " <<<"$regular" || fail "the regular is not greeted as visit 9"
# Oat milk among the predictions: a row of the "Likely today" part of her hints panel.
awk '/Likely today/ { on = 1; next } on && /╰/ { exit } on' <<<"$regular" | grep -q "Oat milk" ||
  fail "oat milk is not among the regular's predictions"
grep -q "usual, not in today's basket: Oat milk" <<<"$regular" ||
  fail "the till does not point out that the usual oat milk is missing at payment"
grep -q "purchase (3 lines, 5.85) recorded" <<<"$regular" || fail "the regular's purchase was not recorded"
grep -q "♥ offer\|─ Offer" <<<"$regular" && fail "the regular is offered a gesture (she never bought chips)"

walk_in=$(section "▸ customer phone +44 7700 900456")
grep -q "Not recognised" <<<"$walk_in" || fail "the walk-in customer is not shown as not recognised"
grep -q "Welcome back" <<<"$walk_in" && fail "the walk-in customer is greeted as a regular"

parent=$(section "▸ customer card 4000456")
grep -q "Welcome back — visit 7 " <<<"$parent" || fail "the parent is not greeted as visit 7"
# The gesture: offer 1 in her hints panel (its "Offer" part), with the text from the rule and the item.
offer=$(awk '/─ Offer/ { on = 1; next } on && /╰/ { exit } on' <<<"$parent")
grep -q "1 ♥ A free pack of Salt & vinegar crisps for son, on the house!" <<<"$offer" ||
  fail "the parent's hints panel does not show offer 1: a free pack of Salt & vinegar crisps for son"
grep -q "item: Salt & vinegar crisps · for son" <<<"$offer" || fail "the offer does not name its item and member"
grep -q "✓ offer 1 accepted: Salt & vinegar crisps for son · durable" <<<"$parent" ||
  fail "the cashier's 'accept' was not confirmed as recorded"
grep -q "Salt & vinegar crisps (for son)" <<<"$parent" || fail "the crisps for her son are not on the receipt"
grep -q "purchase (3 lines, 3.55) recorded" <<<"$parent" || fail "the parent's purchase (crisps free) was not recorded"
grep -q "1 offer outcome; 0 spooled)" "$out" || fail "the till's session summary does not count the offer outcome"
# The store's side, through regularsctl gestures roi: the offers table holds one offer, accepted.
grep -q "^owner's report: chips-for-the-kids: 1 offers (1 accepted, 0 declined, 0 redeemed), cost 1.50$" "$out" ||
  fail "the store does not hold exactly one chips offer, accepted"

grep -q "regularsd stopped cleanly" "$out" || fail "regularsd did not stop cleanly"
grep -q "✗" "$out" && fail "the demo printed an error"

if ((failures > 0)); then
  echo "---- demo output ----"
  cat "$out"
  exit 1
fi
echo "till demo: ok"

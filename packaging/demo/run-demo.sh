#!/usr/bin/env bash
# The Regulars demo: regularsd on a fresh store, eight weeks of seeded history, the owner's
# loyalty gesture rule, then a scripted checkout in regulars-till that shows the cashier's hints
# and the gesture offer, which the cashier accepts.
#
#   usage: run-demo.sh [BUILD_DIR] [--serve]
#
# --serve: leave regularsd running on the demo store afterwards (the store is kept), and end by
# printing the owner's dashboard address with a one-time login link, to explore it.
#
# Programs: from $REGULARS_BIN_DIR when set (e.g. an installed /usr/local/bin), otherwise from the
# build tree BUILD_DIR (daemon/regularsd, daemon/regularsctl, sdk/examples/till/regulars-till),
# otherwise from PATH.
# Environment: DEMO_PACE_MS  pause between checkout steps (default 500 on a terminal, else 0)
#              REGULARS_PLUGIN  libregulars for regulars-till to load (default: it finds its own)
#              KEEP_DEMO=1   keep the temporary store and logs
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir="" serve=0
for arg in "$@"; do
  case $arg in
    --serve) serve=1 ;;
    -*) echo "run-demo: unknown option $arg (usage: run-demo.sh [BUILD_DIR] [--serve])" >&2; exit 2 ;;
    *) build_dir=$arg ;;
  esac
done
bin_dir=${REGULARS_BIN_DIR:-}

die() {
  echo "run-demo: $*" >&2
  exit 1
}

# find_bin NAME SUBDIR: the program NAME, from $REGULARS_BIN_DIR, the build tree or PATH.
find_bin() {
  local name=$1 sub=$2 candidate
  if [[ -n $bin_dir ]]; then
    candidate=$bin_dir/$name
  elif [[ -n $build_dir ]]; then
    for candidate in "$build_dir/$sub/$name" "$build_dir/bin/$name" "$build_dir/$name"; do
      [[ -x $candidate ]] && break
    done
  else
    candidate=$(command -v "$name" || true)
  fi
  [[ -n $candidate && -x $candidate ]] || return 1
  echo "$candidate"
}

[[ -z $build_dir || -d $build_dir ]] || die "no such build directory: $build_dir"
regularsd=$(find_bin regularsd daemon) || die "regularsd not found (build it, pass the build dir, or set REGULARS_BIN_DIR)"
regularsctl=$(find_bin regularsctl daemon) || die "regularsctl not found (build it, pass the build dir, or set REGULARS_BIN_DIR)"
till=$(find_bin regulars-till sdk/examples/till) || die "regulars-till not found (build it, pass the build dir, or set REGULARS_BIN_DIR)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/regulars-demo.XXXXXX")
daemon_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if ((rc != 0)) && [[ -s $tmp/regularsd.log ]]; then
    echo "run-demo: last lines of the regularsd log:" >&2
    tail -n 20 "$tmp/regularsd.log" >&2
  fi
  if [[ ${KEEP_DEMO:-0} == 1 ]]; then
    echo "run-demo: demo files kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The daemon, on an empty store.
sock=$tmp/data/regularsd.sock
"$regularsd" --data-dir "$tmp/data" --log-format text >"$tmp/regularsd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 200); do
  # The socket exists once bound; the "started" line is logged once it is served.
  [[ -S $sock ]] && grep -q "regularsd started" "$tmp/regularsd.log" && break
  kill -0 "$daemon_pid" 2>/dev/null || die "regularsd exited at start"
  sleep 0.05
done
[[ -S $sock ]] || die "regularsd did not open $sock within 10 s"
echo "regularsd running (pid $daemon_pid) on $tmp/data"

# 2. The store's history, quietly. A generous budget: this is a batch load, not a till.
common=(--endpoint "unix:$sock" --spool "$tmp/spool" --terminal lane-1)
[[ -n ${REGULARS_PLUGIN:-} ]] && common+=(--plugin "$REGULARS_PLUGIN")
if ! summary=$("$till" "${common[@]}" --script "$here/seed.till" --quiet --budget-ms 2000); then
  die "seeding the demo store failed"
fi
echo "seeded ${summary#recorded }"
echo

# 3. The owner's loyalty gesture (sdk/GESTURES.md): a free pack of the household's favourite
#    chips when there are none in the basket, at most once every 30 days per customer. Added after
#    the history: seeding asks for hints too, and an offer made then would start the cooldown.
rule=$tmp/data/chips-for-the-kids.json
cat >"$rule" <<'EOF'
{"id": "chips-for-the-kids", "name": "Free chips for the child",
 "when": {"all": [{"bought": {"category": "chips", "member": "any"}},
                  {"not": {"in_basket": {"category": "chips"}}}]},
 "gesture": {"kind": "free_item", "favourite": {"category": "chips", "member": "any"}, "value": 150,
             "message": {"en": "A free pack of {item} for {member|the family}, on the house!",
                         "fa": "یک بسته {item} رایگان برای {member|خانواده}، مهمان ما!"}},
 "limits": {"cooldown_days": 30}}
EOF
ctl=("$regularsctl" --data-dir "$tmp/data")
saved=$("${ctl[@]}" gestures add "$rule") || die "adding the gesture rule failed"
echo "gesture $saved: a free pack of the household's favourite chips, once a month"
echo

# 4. The checkout, to watch.
pace=${DEMO_PACE_MS:-}
if [[ -z $pace ]]; then
  if [[ -t 1 ]]; then pace=500; else pace=0; fi
fi
# DEMO_BUDGET_MS: the till's budget, when not the plugin's default (the tests raise it under a
# sanitizer, which makes every call several times slower).
budget=()
[[ -n ${DEMO_BUDGET_MS:-} ]] && budget=(--budget-ms "$DEMO_BUDGET_MS")
"$till" "${common[@]}" "${budget[@]}" --cashier c-07 --pace "$pace" --script "$here/checkout.till"

# 5. What the owner sees of the gesture: offers made and what became of them.
echo
roi=$("${ctl[@]}" gestures roi chips-for-the-kids) || die "regularsctl gestures roi failed"
echo "owner's report: $(sed -n 2p <<<"$roi")"

# 6. With --serve, regularsd keeps serving the demo store: the dashboard is the owner's view of it.
if ((serve)); then
  echo
  "${ctl[@]}" dashboard || die "regularsctl dashboard failed"
  echo "regularsd keeps running (pid $daemon_pid) on $tmp/data; stop it with: kill $daemon_pid"
  disown "$daemon_pid" 2>/dev/null || true
  trap - EXIT
  exit 0
fi

# 7. A clean stop.
echo
kill -TERM "$daemon_pid"
for _ in $(seq 100); do
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$daemon_pid" 2>/dev/null; then
  kill -KILL "$daemon_pid" 2>/dev/null || true
  die "regularsd did not stop within 5 s of SIGTERM"
fi
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
((rc == 0)) || die "regularsd exited with status $rc"
echo "regularsd stopped cleanly"

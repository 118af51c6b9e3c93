#!/bin/bash
# abi_config_example: the shipped default config (packaging/regularsd.conf) is accepted by the
# daemon it ships with: regularsd starts on it, applies it, and stops cleanly on SIGTERM.
# Usage: check_config_example.sh REGULARSD CONFIG_FILE
# bash rather than sh: it reaps the daemon as soon as it exits, so the `kill -0` polls see it go.
set -eu

regularsd=$1 config=$2
[ -x "$regularsd" ] || { echo "FAIL: no regularsd at $regularsd" >&2; exit 1; }
[ -f "$config" ] || { echo "FAIL: no config file at $config" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-abi-conf.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

data_dir=$work/data
socket=$data_dir/regularsd.sock  # the config leaves listen.socket at its default
"$regularsd" --config "$config" --data-dir "$data_dir" 2>"$work/stderr.log" &
pid=$!

show_log() { echo "--- regularsd stderr:" >&2; cat "$work/stderr.log" >&2; }

# Started: the socket appears (within 10 s).
tries=0
while [ ! -S "$socket" ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    code=0; wait "$pid" || code=$?; pid=
    echo "FAIL: regularsd exited with status $code on $config before listening" >&2
    show_log; exit 1
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then
    echo "FAIL: regularsd did not create $socket within 10 s" >&2
    show_log; exit 1
  fi
  sleep 0.05
done

# Applied: the socket mode and the log format are the ones the file sets.
mode=$(stat -c '%a' "$socket")
if [ "$mode" != "660" ]; then
  echo "FAIL: socket mode is $mode, the config sets listen.socket_mode \"0660\"" >&2
  show_log; exit 1
fi
# The start-up record arrives just after the socket; every line is a JSON object.
tries=0
until grep -q '^{.*"msg":"regularsd started"' "$work/stderr.log"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ]; then
    echo "FAIL: no JSON 'regularsd started' record in the log (log.format \"json\")" >&2
    show_log; exit 1
  fi
  sleep 0.05
done
if grep -qv '^{' "$work/stderr.log"; then
  echo "FAIL: a log line is not a JSON object (log.format \"json\")" >&2
  show_log; exit 1
fi
# The admin API is on (the file enables it) and says where.
if ! grep -q '^http://127\.0\.0\.1:[0-9]\+$' "$data_dir/admin.endpoint"; then
  echo "FAIL: DATA_DIR/admin.endpoint does not hold the admin API's address" >&2
  show_log; exit 1
fi

# Stopped cleanly: SIGTERM gives exit status 0 within 10 s, and the socket is removed.
kill -TERM "$pid"
tries=0
while kill -0 "$pid" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then
    echo "FAIL: regularsd still running 10 s after SIGTERM" >&2
    show_log; exit 1
  fi
  sleep 0.05
done
code=0; wait "$pid" || code=$?; pid=
if [ "$code" -ne 0 ]; then
  echo "FAIL: regularsd exited with status $code after SIGTERM, expected 0" >&2
  show_log; exit 1
fi
if [ -e "$socket" ]; then
  echo "FAIL: $socket left behind after a clean stop" >&2
  exit 1
fi

echo "OK: regularsd started on $config (socket mode $mode, JSON logs) and stopped cleanly on SIGTERM"

#!/bin/sh
# abi_maintainer_scripts: the .deb's postinst, prerm and postrm enable, start, stop and forget
# regularsd.service as dh_installsystemd does for Debian's own daemons. systemd does not run in
# a build container, so the scripts run with fake deb-systemd-helper, deb-systemd-invoke and
# systemctl (and fake getent, addgroup, adduser and install, so no account or folder is made)
# first in PATH. Each fake records its arguments; the test compares the calls of each case with
# what it must be. The scripts run unmodified, in a private mount namespace whose own /run and
# /var/lib say whether systemd is running and whether the store exists.
# Usage: check_maintainer_scripts.sh DIR   (DIR holds postinst, prerm and postrm)
set -eu

scripts=$(cd "$1" && pwd)
for s in postinst prerm postrm; do
  [ -x "$scripts/$s" ] || { echo "FAIL: $scripts/$s is missing or not executable" >&2; exit 1; }
done

if [ -z "${REGULARS_MAINT_TEST_NAMESPACE:-}" ]; then
  REGULARS_MAINT_TEST_NAMESPACE=1
  export REGULARS_MAINT_TEST_NAMESPACE
  # As root a mount namespace is enough; otherwise a user namespace maps us to root in it.
  if unshare -m true 2>/dev/null; then exec unshare -m sh "$0" "$scripts"; fi
  if unshare -r -m true 2>/dev/null; then exec unshare -r -m sh "$0" "$scripts"; fi
  echo "SKIP: cannot make a private mount namespace (unshare -m), needed to fake /run/systemd/system"
  exit 77
fi

# In the namespace: /run and /var/lib are our own, empty, and gone when the test ends.
mount -t tmpfs regulars-test-run /run
mount -t tmpfs regulars-test-varlib /var/lib
work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-maint.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM PIPE

# One fake per command: appends "NAME ARGS..." to $CALLS. deb-systemd-helper's was-enabled
# answers $FAKE_WAS_ENABLED (0: enabled), getent answers $FAKE_GETENT (2: no such entry).
mkdir "$work/bin"
for name in deb-systemd-helper deb-systemd-invoke systemctl getent addgroup adduser install; do
  cat >"$work/bin/$name" <<'EOF'
#!/bin/sh
name=${0##*/}
echo "$name $*" >>"$CALLS"
case "$name $*" in
  "deb-systemd-helper --quiet was-enabled "*) exit "${FAKE_WAS_ENABLED:-0}" ;;
  "getent "*) exit "${FAKE_GETENT:-0}" ;;
esac
exit 0
EOF
  chmod +x "$work/bin/$name"
done
PATH=$work/bin:/usr/sbin:/usr/bin:/sbin:/bin
CALLS=$work/calls
export PATH CALLS

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# systemd_running yes|no: whether /run/systemd/system exists, systemd's own sign that it runs.
systemd_running() {
  rm -rf /run/systemd
  if [ "$1" = yes ]; then mkdir -p /run/systemd/system; fi
}

# store_exists yes|no: whether /var/lib/regulars is there already (an upgrade) or not.
store_exists() {
  rm -rf /var/lib/regulars
  if [ "$1" = yes ]; then mkdir /var/lib/regulars; fi
}

# run CASE SCRIPT ARGS...: runs the script, which must exit 0; its calls are then in $CALLS.
run() {
  case_name=$1 script=$2
  shift 2
  : >"$CALLS"
  if ! "$scripts/$script" "$@" >"$work/out" 2>&1; then
    fail "$case_name: $script $* exited non-zero:"
    sed 's/^/  /' "$work/out" >&2
  fi
}

# expect_service_calls CASE LINE...: the calls to deb-systemd-helper, deb-systemd-invoke and
# systemctl were exactly these, in this order.
expect_service_calls() {
  case_name=$1
  shift
  : >"$work/expected"
  for line in "$@"; do echo "$line" >>"$work/expected"; done
  grep -E '^(deb-systemd-helper|deb-systemd-invoke|systemctl) ' "$CALLS" >"$work/actual" || true
  if ! cmp -s "$work/expected" "$work/actual"; then
    fail "$case_name: the service calls differ from what they must be (- expected, + actual):"
    diff -u "$work/expected" "$work/actual" | tail -n +3 | sed 's/^/  /' >&2
  fi
}

# expect_account_calls CASE LINE...: the calls that make the account and the store, exactly.
expect_account_calls() {
  case_name=$1
  shift
  : >"$work/expected"
  for line in "$@"; do echo "$line" >>"$work/expected"; done
  grep -E '^(addgroup|adduser|install) ' "$CALLS" >"$work/actual" || true
  if ! cmp -s "$work/expected" "$work/actual"; then
    fail "$case_name: the account and store calls differ (- expected, + actual):"
    diff -u "$work/expected" "$work/actual" | tail -n +3 | sed 's/^/  /' >&2
  fi
}

unit=regularsd.service

# 1. A first install on a running system: account and store made, service enabled and started.
systemd_running yes
store_exists no
FAKE_GETENT=2 FAKE_WAS_ENABLED=0 run "first install" postinst configure
expect_account_calls "first install" \
  "addgroup --system --quiet regulars" \
  "adduser --system --quiet --ingroup regulars --home /var/lib/regulars --no-create-home --shell /usr/sbin/nologin --gecos Regulars daemon regulars" \
  "install -d -o regulars -g regulars -m 0750 /var/lib/regulars"
expect_service_calls "first install" \
  "deb-systemd-helper unmask $unit" \
  "deb-systemd-helper --quiet was-enabled $unit" \
  "deb-systemd-helper enable $unit" \
  "systemctl --system daemon-reload" \
  "deb-systemd-invoke start $unit"

# 2. An upgrade of an enabled service: enabled again (new symlinks, if any), restarted onto the
#    new binaries; the account and the store are left as they are.
store_exists yes
FAKE_GETENT=0 FAKE_WAS_ENABLED=0 run "upgrade" postinst configure 0.0.9
expect_account_calls "upgrade"
expect_service_calls "upgrade" \
  "deb-systemd-helper unmask $unit" \
  "deb-systemd-helper --quiet was-enabled $unit" \
  "deb-systemd-helper enable $unit" \
  "systemctl --system daemon-reload" \
  "deb-systemd-invoke restart $unit"

# 3. An upgrade after the administrator ran `systemctl disable regularsd`: not enabled, not
#    started; only a daemon they started by hand moves onto the new binaries.
FAKE_GETENT=0 FAKE_WAS_ENABLED=1 run "admin disabled" postinst configure 0.0.9
expect_service_calls "admin disabled" \
  "deb-systemd-helper unmask $unit" \
  "deb-systemd-helper --quiet was-enabled $unit" \
  "deb-systemd-helper update-state $unit" \
  "systemctl --system daemon-reload" \
  "deb-systemd-invoke try-restart $unit"

# 4. A first install where systemd does not run (a chroot, an image build): enabled for the
#    next boot, nothing started.
systemd_running no
store_exists no
FAKE_GETENT=0 FAKE_WAS_ENABLED=0 run "no systemd" postinst configure
expect_service_calls "no systemd" \
  "deb-systemd-helper unmask $unit" \
  "deb-systemd-helper --quiet was-enabled $unit" \
  "deb-systemd-helper enable $unit"
systemd_running yes
store_exists yes

# 5. Removal stops the daemon; an upgrade's prerm leaves it running for postinst to restart.
run "remove" prerm remove
expect_service_calls "remove" "deb-systemd-invoke stop $unit"
run "upgrade prerm" prerm upgrade 0.2.0
expect_service_calls "upgrade prerm"
run "remove postrm" postrm remove
expect_service_calls "remove postrm" \
  "deb-systemd-helper mask $unit" \
  "systemctl --system daemon-reload"

# 6. Purge forgets the enablement and its state, and keeps the customer store (saying so).
run "purge" postrm purge
expect_service_calls "purge" \
  "deb-systemd-helper purge $unit" \
  "deb-systemd-helper unmask $unit" \
  "systemctl --system daemon-reload"
if ! grep -q "/var/lib/regulars was kept" "$work/out"; then
  fail "purge: no word that the customer store in /var/lib/regulars was kept"
fi
[ -d /var/lib/regulars ] || fail "purge: /var/lib/regulars is gone"

# 7. A reinstall after removal (configure with the old version): unmasked, enabled, started.
FAKE_GETENT=0 FAKE_WAS_ENABLED=0 run "reinstall" postinst configure 0.1.0
expect_service_calls "reinstall" \
  "deb-systemd-helper unmask $unit" \
  "deb-systemd-helper --quiet was-enabled $unit" \
  "deb-systemd-helper enable $unit" \
  "systemctl --system daemon-reload" \
  "deb-systemd-invoke restart $unit"

# 8. dpkg's contract: an argument the script does not know is an error.
for s in postinst prerm postrm; do
  if "$scripts/$s" no-such-action >/dev/null 2>&1; then fail "$s no-such-action exited 0"; fi
done

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) of the maintainer scripts in $scripts failed" >&2
  exit 1
fi
echo "OK: postinst, prerm and postrm enable, start, restart, stop, mask and purge regularsd.service as expected"

#!/usr/bin/env bash
# Soak test (docs/soak.md): mounts memfs and passthrough (over a temp source directory), runs
# `fusekit-soak run` against both AT THE SAME TIME for the full duration, several worker
# processes each, then unmounts, checks that both daemons exited with status 0, and removes
# everything it made (also on failure, Ctrl-C or the deadline).
#
# Usage: scripts/soak.sh [--minutes N | --seconds N] [--procs P] [--debug] [--seed S]
#                        [--transport auto|dev|uring] [--writeback] [--out DIR]
#   default: 2 minutes, 3 workers per filesystem, release build, seed 1, transport auto.
#   --debug   use the debug build (what scripts/test.sh already built) instead of release.
#   --writeback  mount both with the kernel's writeback cache (--writeback-cache).
#   --out DIR keep the reports (text and JSON) in DIR.
# Deadline: once the binaries are built, everything (mounting, the soak, its final sweep and
# cleanup, unmounting) must finish within duration + 3 minutes, or the script fails
# (SOAK_DEADLINE=SECONDS overrides that limit, e.g. to test the watchdog).
# Needs root and /dev/fuse: skipped without them, except under CI=true (then it fails).
# Exit status: 0 passed (or skipped), 1 any failure, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=120
PROCS=3
PROFILE=release
SEED=1
TRANSPORT=auto
OUT=""
WB=()
usage() { sed -n '7,13p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) [ $# -ge 2 ] || usage; DURATION=$(( $2 * 60 )); shift 2 ;;
    --seconds) [ $# -ge 2 ] || usage; DURATION=$2; shift 2 ;;
    --procs) [ $# -ge 2 ] || usage; PROCS=$2; shift 2 ;;
    --seed) [ $# -ge 2 ] || usage; SEED=$2; shift 2 ;;
    --transport) [ $# -ge 2 ] || usage; TRANSPORT=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
    --debug) PROFILE=debug; shift ;;
    --writeback) WB=(--writeback-cache); shift ;;
    -h|--help) usage ;;
    *) echo "soak: unknown argument $1" >&2; usage ;;
  esac
done
case "$DURATION$PROCS$SEED" in *[!0-9]*) echo "soak: numbers expected" >&2; usage ;; esac
[ "$DURATION" -ge 20 ] || { echo "soak: at least 20 seconds (the flatness rule needs samples)" >&2; exit 2; }

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
  why="needs root and /dev/fuse (uid $(id -u), /dev/fuse $([ -c /dev/fuse ] && echo present || echo missing))"
  if [ "${CI:-}" = true ]; then echo "soak: FAIL: $why, and CI=true" >&2; exit 1; fi
  echo "soak: skipped: $why"
  exit 0
fi

TARGET="${CARGO_TARGET_DIR:-target}"
if [ "$PROFILE" = release ]; then
  echo "== cargo build --release -p fusekit-cli -p fusekit-soak"
  cargo build --release -q -p fusekit-cli -p fusekit-soak
else
  echo "== cargo build -p fusekit-cli -p fusekit-soak (debug)"
  cargo build -q -p fusekit-cli -p fusekit-soak
fi
BIN="$TARGET/$PROFILE/fusekit"
SOAK="$TARGET/$PROFILE/fusekit-soak"

LIMIT="${SOAK_DEADLINE:-$(( DURATION + 180 ))}"
GRACE=60
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fusekit-soak.XXXXXX")"
SRC="$TMP/src"; MNT_MEM="$TMP/mnt-memfs"; MNT_PT="$TMP/mnt-passthrough"
mkdir "$SRC" "$MNT_MEM" "$MNT_PT"
PID_MEM=""; PID_PT=""; SOAK_MEM=""; SOAK_PT=""; WATCHDOG=""
FAILED=0

mounted() { grep -q " $1 fuse" /proc/mounts; }

# Stops a daemon: unmount, wait up to 10 s, then SIGKILL; clears a dead mount.
stop_daemon() { # mountpoint pid
  local mnt="$1" pid="$2"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    "$BIN" unmount "$mnt" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if mounted "$mnt"; then "$BIN" unmount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; fi
}

cleanup() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
  set +e # best effort from here on: every step runs even if one fails
  if [ -n "$WATCHDOG" ]; then kill "$WATCHDOG" 2>/dev/null; fi
  for p in $SOAK_MEM $SOAK_PT; do
    kill "$p" 2>/dev/null # its workers follow (parent-death signal)
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  stop_daemon "$MNT_MEM" "$PID_MEM"
  stop_daemon "$MNT_PT" "$PID_PT"
  if mounted "$MNT_MEM" || mounted "$MNT_PT"; then
    echo "soak: a mount under $TMP is still present; not removing it" >&2
    rc=1
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
on_signal() {
  if [ -e "$TMP/deadline" ]; then
    echo "soak: FAIL: deadline of $LIMIT s exceeded (duration + 3 minutes unless SOAK_DEADLINE)" >&2
  else
    echo "soak: interrupted ($1)" >&2
  fi
  exit 1
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

( trap 'kill $s 2>/dev/null; exit 0' TERM; sleep "$LIMIT" & s=$!; wait $s
  touch "$TMP/deadline"; kill -TERM $$ ) &
WATCHDOG=$!

# Starts a daemon in the background (its pid into the variable named VAR, at once, so cleanup
# can stop it) and waits until its mount appears.
mount_fs() { # VAR name log mountpoint args...
  local var="$1" name="$2" log="$3" mnt="$4"; shift 4
  "$BIN" mount "$@" --transport "$TRANSPORT" ${WB[@]+"${WB[@]}"} >"$log" 2>&1 &
  local pid=$!
  printf -v "$var" '%s' "$pid"
  for _ in $(seq 200); do
    mounted "$mnt" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "soak: $name daemon exited early" >&2; exit 1; }
    sleep 0.05
  done
  mounted "$mnt" || { cat "$log" >&2; echo "soak: $name did not mount on $mnt" >&2; exit 1; }
}

echo "== mounting memfs on $MNT_MEM and passthrough of $SRC on $MNT_PT (transport $TRANSPORT${WB[@]+, writeback cache})"
mount_fs PID_MEM memfs "$TMP/memfs.log" "$MNT_MEM" memfs "$MNT_MEM"
mount_fs PID_PT passthrough "$TMP/passthrough.log" "$MNT_PT" passthrough "$SRC" "$MNT_PT"

echo "== soaking both for $DURATION s at once, $PROCS workers each (seed $SEED; deadline $LIMIT s)"
"$SOAK" run --dir "$MNT_MEM" --pid "$PID_MEM" --seconds "$DURATION" --procs "$PROCS" \
  --seed "$SEED" --grace "$GRACE" --label memfs --json "$TMP/memfs.json" >"$TMP/memfs.out" 2>&1 &
SOAK_MEM=$!
"$SOAK" run --dir "$MNT_PT" --pid "$PID_PT" --seconds "$DURATION" --procs "$PROCS" \
  --seed "$(( SEED + 1000 ))" --grace "$GRACE" --label passthrough --json "$TMP/passthrough.json" \
  >"$TMP/passthrough.out" 2>&1 &
SOAK_PT=$!
RC_MEM=0; wait "$SOAK_MEM" || RC_MEM=$?
RC_PT=0; wait "$SOAK_PT" || RC_PT=$?
SOAK_MEM=""; SOAK_PT=""
cat "$TMP/memfs.out"; echo; cat "$TMP/passthrough.out"; echo
[ "$RC_MEM" = 0 ] || { echo "soak: FAIL: memfs soak exited $RC_MEM" >&2; FAILED=1; }
[ "$RC_PT" = 0 ] || { echo "soak: FAIL: passthrough soak exited $RC_PT" >&2; FAILED=1; }
if [ -n "$(ls -A "$SRC")" ]; then
  echo "soak: FAIL: the passthrough source still holds: $(ls -A "$SRC" | head)" >&2; FAILED=1
fi

echo "== unmounting"
for pair in "memfs $MNT_MEM $PID_MEM" "passthrough $MNT_PT $PID_PT"; do
  set -- $pair
  "$BIN" unmount "$2" || { echo "soak: FAIL: fusekit unmount $2" >&2; FAILED=1; }
  for _ in $(seq 200); do kill -0 "$3" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$3" 2>/dev/null; then
    echo "soak: FAIL: $1 daemon still running 10 s after unmount" >&2; FAILED=1
  else
    RC=0; wait "$3" || RC=$?
    if [ "$RC" = 0 ]; then echo "$1 daemon exited with status 0"; else
      echo "soak: FAIL: $1 daemon exited with status $RC; its log:" >&2; sed 's/^/  /' "$TMP/$1.log" >&2; FAILED=1
    fi
  fi
  grep -i -E "transport|error|panic" "$TMP/$1.log" | sed "s/^/  $1 log: /" | head -5 || true
done
PID_MEM=""; PID_PT=""

if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  cp "$TMP"/memfs.out "$TMP"/passthrough.out "$TMP"/memfs.log "$TMP"/passthrough.log "$OUT"/
  cp "$TMP"/*.json "$OUT"/ 2>/dev/null || true
  echo "reports kept in $OUT"
fi
if [ "$FAILED" = 0 ]; then echo "soak: PASS ($DURATION s, memfs and passthrough)"; else echo "soak: FAIL" >&2; fi
exit "$FAILED"

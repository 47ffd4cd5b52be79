#!/usr/bin/env bash
# The main job, end to end: build the fusekit CLI, mount a filesystem on a fresh directory,
# use it the way any program would, unmount it, and show that nothing is left behind.
# Usage: scripts/demo.sh [memfs|hello]   (needs root, or fusermount3 from the fuse3 package)
set -euo pipefail
cd "$(dirname "$0")/.."

FS="${1:-memfs}"
case "$FS" in memfs|hello) ;; *) echo "usage: $0 [memfs|hello]" >&2; exit 2 ;; esac

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

BIN="${CARGO_TARGET_DIR:-target}/release/fusekit"
if [ -x "$BIN" ]; then
  echo "== building the fusekit CLI (cargo build --release -p fusekit-cli; up to date in seconds)"
else
  echo "== building the fusekit CLI (cargo build --release -p fusekit-cli): the first build"
  echo "   compiles about 70 crates: about 3 minutes on 2 idle CPUs; cargo shows its progress"
fi
start=$SECONDS
cargo build --release -p fusekit-cli
echo "== built $BIN in $((SECONDS - start)) s"

MNT="$(mktemp -d "${TMPDIR:-/tmp}/fusekit-demo.XXXXXX")"
LOG="$(mktemp "${TMPDIR:-/tmp}/fusekit-demo-log.XXXXXX")"
DAEMON=""
cleanup() {
  if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
    "$BIN" unmount "$MNT" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
    kill "$DAEMON" 2>/dev/null || true
  fi
  rmdir "$MNT" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

echo "== mounting $FS on $MNT (the daemon runs in the foreground; here in the background)"
"$BIN" mount "$FS" "$MNT" >"$LOG" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
  grep -q " $MNT fuse" /proc/mounts && break
  kill -0 "$DAEMON" 2>/dev/null || { cat "$LOG"; echo "demo: the daemon exited early" >&2; exit 1; }
  sleep 0.05
done
grep " $MNT fuse" /proc/mounts || { cat "$LOG"; echo "demo: mount did not appear" >&2; exit 1; }

if [ "$FS" = hello ]; then
  run ls -la "$MNT"
  run cat "$MNT/hello.txt"
  run stat "$MNT/hello.txt"
else
  run mkdir -p "$MNT/projects/demo"
  say "echo 'hello, fusekit' > $MNT/projects/demo/greeting.txt"
  echo 'hello, fusekit' > "$MNT/projects/demo/greeting.txt"
  run cat "$MNT/projects/demo/greeting.txt"
  run ln -s greeting.txt "$MNT/projects/demo/link"
  run cat "$MNT/projects/demo/link"
  run mv "$MNT/projects/demo/greeting.txt" "$MNT/projects/demo/hello.txt"
  run ln -sf hello.txt "$MNT/projects/demo/link"
  run cat "$MNT/projects/demo/link"
  run dd if=/dev/urandom of="$MNT/projects/demo/blob" bs=1M count=8 status=none
  run sha256sum "$MNT/projects/demo/blob"
  run ls -la "$MNT/projects/demo"
  say "python3: open a temp file, unlink it, write and read it back, close"
  python3 - "$MNT" <<'PY' || echo "(python3 step failed)"
import os, sys, tempfile
with tempfile.TemporaryFile(dir=sys.argv[1]) as f:
    f.write(b"written after unlink"); f.seek(0); print("read back:", f.read().decode())
PY
  run df -h "$MNT"
fi

echo
echo "== unmounting"
run "$BIN" unmount "$MNT"
for _ in $(seq 100); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$DAEMON" 2>/dev/null; then echo "demo: daemon still running after unmount" >&2; exit 1; fi
wait "$DAEMON" && echo "daemon exited cleanly (status 0)"
if grep -q " $MNT fuse" /proc/mounts; then echo "demo: mount still present" >&2; exit 1; fi
echo "mount gone; daemon log:"
sed 's/^/  /' "$LOG"
DAEMON=""
echo
echo "demo finished: $FS mounted, used and unmounted"

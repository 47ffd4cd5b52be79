#!/usr/bin/env bash
# The test suite: formatting, lints, then every test of the workspace over /dev/fuse, a 2-minute
# soak of memfs and passthrough, then the tests that mount (memfs, passthrough with the
# fusekit-check suite, the CLI's daemons) again over FUSE over io_uring. Tests that mount
# through the kernel need root and /dev/fuse; without them they are skipped (each says why),
# except under CI=true, where they fail. Likewise the
# io_uring pass needs root and the fuse module parameter enable_uring (Linux >= 6.14): without
# them it is skipped with the reason, except under CI=true, where that is a failure.
# The last line is always the verdict: "== all tests passed" or "== FAILED: <stages>".
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
failed=()
# Records that stage $1 failed; the run goes on so that the verdict covers every stage.
fail() { status=1; failed+=("$1"); }
# Prints the verdict line and exits with the run's status.
verdict() {
  if [ "$status" = 0 ]; then
    echo "== all tests passed${1:+ ($1)}"
  else
    local IFS=,
    echo "== FAILED:${failed[*]/#/ }"
  fi
  exit "$status"
}

echo "== cargo fmt --check"
cargo fmt --all -- --check || fail "cargo fmt"
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -q -- -D warnings || fail "cargo clippy"

echo "== cargo test (over /dev/fuse)"
start=$SECONDS
# Among them the etcdfs multi-host soak (crates/cli/tests/etcd_soak: 3 daemons x 3 writers on
# one prefix of a real cluster, ~40 s in all), pinned to its short 30 s workload here; a real
# run sets FUSEKIT_ETCD_SOAK_SECS itself (docs/etcdfs-coherence.md).
FUSEKIT_TEST_TRANSPORT=dev FUSEKIT_ETCD_SOAK_SECS=30 cargo test --workspace --no-fail-fast ||
  fail "cargo test over /dev/fuse"
echo "== cargo test over /dev/fuse: $((SECONDS - start)) s"

# The soak (docs/soak.md): memfs and passthrough under a model-checked multi-process workload
# for 2 minutes, failing on any data error or on growing daemon RSS, fds or threads. The debug
# build reuses what cargo test built; it runs ~2.5k ops/s, enough to catch a 1 KiB/op leak.
echo "== soak (2 minutes, memfs and passthrough)"
./scripts/soak.sh --minutes 2 --debug || fail "soak"

# ---- The second pass: the mounting tests again, with FUSEKIT_TEST_TRANSPORT=uring. ----
# Every mount of those tests then runs over io_uring or fails (no fall back to /dev/fuse), and
# each proves that requests travelled over the rings (see crates/testkit/src/transport.rs).
# memfs's and passthrough's integration tests (the fusekit-check suite runs inside them, over
# memfs in-process and over the passthrough daemon), the CLI's (its mount daemons, etcdfs's
# among them), etcdfs's fusekit-check run on a real etcd cluster (an async filesystem) and its
# two-mount peer run (invalidations sent over the io_uring connection), and
# the fusekit crate's async adapter tests (async_fs: interrupts, deadlines, the in-flight limit;
# its two /dev/fuse-worker tests stay on /dev/fuse). Not run again: the fusekit-check crate's
# own tests (they judge tmpfs and mount no FUSE filesystem) and the fusekit crate's other
# tests (they choose their transports themselves; its uring_* tests cover io_uring).
URING_PARAM=/sys/module/fuse/parameters/enable_uring

uring_unavailable() {
  if [ "$(id -u)" != 0 ]; then
    echo "not running as root (enable_uring and mounting need it)"
  elif [ ! -e /dev/fuse ]; then
    echo "/dev/fuse is missing"
  elif [ ! -e "$URING_PARAM" ]; then
    local release major minor
    release=$(uname -r)
    IFS=. read -r major minor _ <<<"$release"
    if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "${minor%%[!0-9]*}" -lt 14 ]; }; then
      echo "kernel $release is older than 6.14 (no FUSE over io_uring)"
    else
      echo "$URING_PARAM is missing (fuse built without FUSE over io_uring?)"
    fi
  elif [ ! -w "$URING_PARAM" ]; then
    echo "$URING_PARAM is not writable"
  fi
}

why=$(uring_unavailable)
if [ -n "$why" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: the io_uring test pass cannot run: $why (CI=true: this must not be skipped)"
    fail "io_uring pass (cannot run: $why)"
    verdict
  fi
  echo "== io_uring test pass SKIPPED: $why"
  verdict "io_uring pass skipped: $why"
fi

uring_previous=$(cat "$URING_PARAM")
restore_uring_param() {
  echo "$uring_previous" >"$URING_PARAM" || echo "WARNING: could not restore $URING_PARAM"
}
trap restore_uring_param EXIT
trap 'exit 130' INT TERM
echo Y >"$URING_PARAM"

echo "== cargo test over io_uring (enable_uring=Y, was $uring_previous)"
start=$SECONDS
export FUSEKIT_TEST_TRANSPORT=uring
cargo test -p fusekit-memfs --no-fail-fast --test '*' || fail "memfs over io_uring"
cargo test -p fusekit-passthrough --no-fail-fast --test '*' || fail "passthrough over io_uring"
cargo test -p fusekit-cli --no-fail-fast --test '*' || fail "CLI over io_uring"
cargo test -p fusekit-etcdfs --test mount_check --test peer_mounts || fail "etcdfs over io_uring"
cargo test -p fusekit --features tokio --test async_fs || fail "async_fs over io_uring"
unset FUSEKIT_TEST_TRANSPORT
echo "== cargo test over io_uring: $((SECONDS - start)) s"

restore_uring_param
trap - EXIT INT TERM
verdict

#!/usr/bin/env bash
# The test suite: formatting, lints, then every test of the workspace. Tests that mount
# through the kernel need root and /dev/fuse; without them they are skipped (each says why),
# except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -q -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast

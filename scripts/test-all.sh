#!/usr/bin/env bash
# THE test command of the Wohnungserhalt Hub: runs the whole suite, one step after another.
#
#   scripts/test-all.sh
#
# Steps (each one check, pass or fail; a failed step does not stop the later ones):
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets --locked -- -D warnings
#   3. cargo test --workspace --locked                  (SQLite; output passed through unchanged)
#   -  [reserved] PostgreSQL step, see the marked place below
#   4. buf lint (proto/, STANDARD rules; buf 1.75.0 from PyPI into .venv)
#   5. Python gRPC client test (tests/python/run.sh: real hub, mTLS, Frau K. case from Python, grpcurl reflection)
#
# Ends with the line "N passed, M failed" (N, M = steps) and exits 1 if any step failed.
# Needs: Rust toolchain (cargo, rustfmt, clippy), Python 3 with venv, and registry access on the first run only
# (PyPI, crates.io); later runs work offline. Debug builds only.
set -u
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

BUF_VERSION="1.75.0"

PASSED=0
FAILED=0
RESULTS=()

# step NAME CMD...: runs CMD with its output unchanged and records the result.
step() {
    local name="$1"
    shift
    local t0 rc
    t0=$(date +%s)
    printf '\n==> [%d] %s\n' "$((PASSED + FAILED + 1))" "$name"
    "$@"
    rc=$?
    local secs=$(($(date +%s) - t0))
    if [[ $rc -eq 0 ]]; then
        PASSED=$((PASSED + 1))
        RESULTS+=("PASS  $name (${secs}s)")
        printf '==> PASS %s (%ss)\n' "$name" "$secs"
    else
        FAILED=$((FAILED + 1))
        RESULTS+=("FAIL  $name (exit $rc, ${secs}s)")
        printf '==> FAIL %s (exit %s, %ss)\n' "$name" "$rc" "$secs"
    fi
}

# buf comes from PyPI (buf-bin, pinned in tests/python/requirements.txt) into .venv, so the suite needs
# nothing beyond Rust and Python.
buf_lint() {
    "$ROOT/scripts/ensure-venv.sh" || return 1
    "$ROOT/.venv/bin/buf" --version || return 1
    (cd "$ROOT/proto" && "$ROOT/.venv/bin/buf" lint)
}

step "cargo fmt --all --check" cargo fmt --all --check
step "cargo clippy --workspace --all-targets --locked -- -D warnings" \
    cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test --workspace --locked" cargo test --workspace --locked

# ---------------------------------------------------------------------------------------------------------------
# [PLACEHOLDER: PostgreSQL step] -- to be added later (not yet written).
# It goes here, as one more `step "..." some_function`, e.g. the hub's tests against a fresh PostgreSQL database
# on 127.0.0.1:5432 (see shared/STACK.md). Keep it a single step so the summary counts stay meaningful.
# ---------------------------------------------------------------------------------------------------------------

step "buf lint (proto/, buf $BUF_VERSION)" buf_lint
step "Python gRPC client test (tests/python/run.sh)" bash "$ROOT/tests/python/run.sh"

printf '\n==> Summary\n'
for r in "${RESULTS[@]}"; do
    printf '    %s\n' "$r"
done
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]

#!/usr/bin/env bash
# Runs every fuzz target of the hub with a larger budget than the normal test suite and
# prints, per target, the cases run, cases per second and failures.
#
#   scripts/fuzz.sh [CASES [SEED]]
#
# CASES: mutated inputs per target (default $PROPTEST_CASES, else 50000).
# SEED: the RNG seed, a decimal u64 (default $PROPTEST_RNG_SEED, else each target's fixed seed), so a
# run is reproducible. A failing case is shrunk, printed, and its seed stored in
# tests/fuzz/regressions/<target>.txt; the next run of that target (this script or cargo test) replays it
# first.
#
# The targets are property tests (proptest) over mutated entries of tests/fuzz/corpus/<target>/; the
# mutations are in tests/fuzz/mutations.rs:
#   requests  tests/tests/e2e/fuzz_requests.rs   protobuf request bytes -> prost -> the hub's service handlers
#   tokens    tests/tests/e2e/fuzz_tokens.rs     action-link tokens (LinkKey::verify)
#   receipts  tests/tests/e2e/fuzz_tokens.rs     receipts (LinkKey::verify_receipt)
#   config    tests/tests/e2e/fuzz_config.rs     hub.toml -> Config::load
#   csv       hubctl/src/fuzz_tests.rs       CSV import files -> csv::decode, arrears/court parse_file
#
# `cargo test` runs the same targets with 2,000 cases (1,500 for requests), so they always run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

export PROPTEST_CASES="${1:-${PROPTEST_CASES:-50000}}"
if [ -n "${2:-}" ]; then
    export PROPTEST_RNG_SEED="$2"
fi
# anyhow captures a backtrace for every error when RUST_BACKTRACE is set; a refused configuration
# is an error per input, so that would dominate the config target's time. Panics keep theirs.
export RUST_LIB_BACKTRACE=0

echo "fuzz: ${PROPTEST_CASES} cases per target, seed ${PROPTEST_RNG_SEED:-fixed per target}"
echo "fuzz: building the test binaries (not counted in the figures)"
cargo test -q -p hub-tests --test e2e --no-run
cargo test -q -p hubctl --no-run

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# One target at a time (--test-threads=1), so each has the machine to itself.
cargo test -q -p hub-tests --test e2e fuzz_ \
    -- --nocapture --test-threads=1 2>&1 | tee -a "$log" || status=1
cargo test -q -p hubctl fuzz_tests::fuzz_csv_import -- --nocapture --test-threads=1 2>&1 | tee -a "$log" || status=1

echo
echo "fuzz summary (seed ${PROPTEST_RNG_SEED:-fixed per target}):"
printf '%-10s %10s %9s %9s %9s\n' target cases seconds cases/s failures
# With -q, libtest's progress dots may precede a result line on the same line.
grep -o 'fuzz-result .*' "$log" | while read -r line; do
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '%-10s %10s %9s %9s %9s\n' "$(field target)" "$(field cases)" "$(field secs)" \
        "$(field cases_per_sec)" "$(field failures)"
done
targets="$(grep -c 'fuzz-result ' "$log" || true)"
if [ "$status" -ne 0 ] || [ "$targets" -lt 5 ]; then
    echo "fuzz: FAILED (a target panicked, violated a property, or did not run; see above)"
    exit 1
fi
echo "fuzz: all targets clean"

#!/usr/bin/env bash
# Runs every fuzz target of the hub with a larger budget than the normal test suite and
# prints, per target, the iterations, executions per second, panics and property violations.
#
#   scripts/fuzz.sh [ITERATIONS [SEED]]
#
# ITERATIONS: mutated inputs per target (default $HUB_FUZZ_ITERATIONS, else 50000).
# SEED: the RNG seed, decimal or 0x hex (default $HUB_FUZZ_SEED, else the fixed default seed), so a
# run is reproducible. A failing input is printed as hex and written to target/fuzz-failures/<target>/;
# replay it with HUB_FUZZ_REPRO=<file> and the same cargo test command.
#
# The targets (the engine is tests/fuzz/fuzzkit.rs, the seed corpus tests/fuzz/corpus/<target>/):
#   requests  tests/tests/fuzz_requests.rs   protobuf request bytes -> prost -> the hub's service handlers
#   tokens    tests/tests/fuzz_tokens.rs     action-link tokens (LinkKey::verify)
#   receipts  tests/tests/fuzz_tokens.rs     receipts (LinkKey::verify_receipt)
#   config    tests/tests/fuzz_config.rs     hub.toml -> Config::load
#   csv       hubctl/src/fuzz_tests.rs       CSV import files -> csv::decode, arrears/court parse_file
#
# `cargo test` runs the same targets with a small default budget, so they always run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

export HUB_FUZZ_ITERATIONS="${1:-${HUB_FUZZ_ITERATIONS:-50000}}"
if [ -n "${2:-}" ]; then
    export HUB_FUZZ_SEED="$2"
fi
# anyhow captures a backtrace for every error when RUST_BACKTRACE is set; a refused configuration
# is an error per input, so that would dominate the config target's time. Panics keep theirs.
export RUST_LIB_BACKTRACE=0
unset HUB_FUZZ_REPRO

echo "fuzz: ${HUB_FUZZ_ITERATIONS} iterations per target, seed ${HUB_FUZZ_SEED:-default}"
echo "fuzz: building the test binaries (not counted in the figures)"
cargo test -q -p hub-tests --test fuzz_requests --test fuzz_tokens --test fuzz_config --no-run
cargo test -q -p hubctl --no-run

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# One target at a time (--test-threads=1), so each has the machine to itself.
cargo test -q -p hub-tests --test fuzz_requests --test fuzz_tokens --test fuzz_config fuzz_ \
    -- --nocapture --test-threads=1 2>&1 | tee -a "$log" || status=1
cargo test -q -p hubctl fuzz_tests::fuzz_csv_import -- --nocapture --test-threads=1 2>&1 | tee -a "$log" || status=1

echo
echo "fuzz summary (seed ${HUB_FUZZ_SEED:-default}):"
printf '%-10s %12s %9s %10s %8s %11s %9s\n' target iterations seconds exec/s panics violations outcomes
grep '^fuzz-result ' "$log" | grep -v 'target=fuzzkit-selftest' | while read -r line; do
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '%-10s %12s %9s %10s %8s %11s %9s\n' "$(field target)" "$(field iterations)" "$(field secs)" \
        "$(field execs_per_sec)" "$(field panics)" "$(field violations)" "$(field outcomes)"
done
targets="$(grep -c '^fuzz-result ' "$log" || true)"
if [ "$status" -ne 0 ] || [ "$targets" -lt 5 ]; then
    echo "fuzz: FAILED (a target panicked, violated a property, or did not run; see above)"
    exit 1
fi
echo "fuzz: all targets clean"

#!/usr/bin/env bash
# Profiles `hub serve` while benchmark scenarios run: `perf record` (99 Hz, DWARF call graphs) is
# attached to every hub process the suite starts, and a flat and an inclusive report per process are
# written to target/profile/. Figures of a profiled run are not benchmark figures (sampling costs CPU).
#
#   scripts/profile.sh --no-postgres --only creates --create-parallel 3000
#   scripts/profile.sh --only postgres --arrears-big 0
#
# Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid <= 2 (own processes only).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "profile: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
out=target/profile
rm -rf "$out" && mkdir -p "$out"
cargo build --release --locked -p hub -p hub-bench
HUB_BENCH_PERF="$PWD/$out" target/release/hub-bench run --hub-bin target/release/hub \
    --out "$out/benchmarks.md" --command-line "scripts/profile.sh $*" "$@"
for data in "$out"/hub-*.data; do
    [ -s "$data" ] || continue
    base="${data%.data}"
    perf report -i "$data" --no-children --sort symbol --percent-limit 0.7 --stdio -g none \
        >"$base.flat.txt" 2>/dev/null || true
    perf report -i "$data" --children --sort symbol --percent-limit 3 --stdio -g none \
        >"$base.inclusive.txt" 2>/dev/null || true
    echo "profile: $base.flat.txt, $base.inclusive.txt"
done

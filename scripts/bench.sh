#!/usr/bin/env bash
# The benchmark suite: builds `hub` and `hub-bench` in release mode, runs every scenario
# against a real `hub serve` process and its reference back to back, and writes docs/benchmarks.md.
#
#   scripts/bench.sh                      # the whole suite, about 15 minutes on 2 cores
#   scripts/bench.sh --quick              # small sizes, a minute or two; writes target/benchmarks-quick.md
#   scripts/bench.sh --arrears-big 0      # skip the 550k-notice stream on PostgreSQL
#   scripts/bench.sh --no-postgres        # SQLite scenarios only
#   scripts/bench.sh --no-postgres --only unary,fanout   # focused before/after runs of some scenarios;
#                                         # writes target/benchmarks-focused.md
#
# Other flags go to `hub-bench run` (see `target/release/hub-bench run --help`): --read-secs,
# --create-serial, --create-parallel, --arrears, --fanout-many, --only, --out, --postgres URL.
set -euo pipefail
cd "$(dirname "$0")/.."

out=docs/benchmarks.md
for a in "$@"; do
    case "$a" in
        --quick) out=target/benchmarks-quick.md ;;
        --only|--only=*) out=target/benchmarks-focused.md ;;
    esac
done

cargo build --release --locked -p hub -p hub-bench

postgres=yes
for a in "$@"; do [ "$a" = --no-postgres ] && postgres=no; done
if [ "$postgres" = yes ] && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "bench: PostgreSQL at 127.0.0.1:5432 is down; starting the local cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi

exec target/release/hub-bench run --hub-bin target/release/hub --out "$out" \
    --command-line "scripts/bench.sh${*:+ $*}" "$@"

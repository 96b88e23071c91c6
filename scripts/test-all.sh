#!/usr/bin/env bash
# THE test command of the Wohnungserhalt Hub: runs the whole suite, one step after another.
#
#   scripts/test-all.sh
#
# First, not steps: scripts/ensure-venv.sh sets up .venv (the cargo tests' SMTP sink needs aiosmtpd from it), and
# scripts/ensure-chromium.sh makes chromium and chromedriver available (apt-get install chromium chromium-driver when
# missing) for the dashboard's browser tests (dashboard_browser, run in steps 3 and 4).
# Steps (each one check, pass or fail; a failed step does not stop the later ones):
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets --locked -- -D warnings
#   3. cargo test --workspace --locked                  (SQLite; output passed through unchanged; the PostgreSQL-only
#      tests schema_drift and replicas skip themselves here: HUB_TEST_POSTGRES_SKIP=1, step 4 runs them)
#   4. cargo test on PostgreSQL: the end-to-end suite (hub-tests' integration tests, `--workspace --test '*'`)
#      again, every test hub on a fresh database on
#      127.0.0.1:5432 (HUB_TEST_POSTGRES_URL), then the hub_test_* databases are dropped. If PostgreSQL is not
#      reachable (after trying to start the local cluster), this step FAILS under CI (CI set) and is SKIPPED
#      otherwise (listed as SKIP, neither passed nor failed, exit code unaffected).
#   5. buf lint (proto/, STANDARD rules; buf 1.75.0 from PyPI into .venv)
#   6. buf breaking (proto/ against the previous commit's proto/, FILE rules): a change that would break the
#      partners' generated clients fails. Skipped (not failed) when the clone has no previous commit.
#   7. Python gRPC client test (tests/python/run.sh: real hub, mTLS, Frau K. case from Python, grpcurl reflection)
#   8. cargo deny check bans licenses sources (deny.toml: permissive licences only, no second version of a crate
#      unless listed with its reason, crates.io only); cargo-deny is installed with cargo install on first use
#   9. cargo deny check advisories: the RustSec database fetched from GitHub, else the copy cached by an earlier
#      fetch (its date printed), else SKIP (this machine has no route to GitHub)
#
# Ends with the line "N passed, M failed" (N, M = steps; ", K skipped" appended when a step was skipped) and exits 1
# if any step failed.
# Needs: Rust toolchain (cargo, rustfmt, clippy), Python 3 with venv, root or `sudo -n` when chromium is not installed
# yet, and registry access on the first run only (PyPI, crates.io, Debian's packages); later runs work offline.
# Debug builds only.
set -u
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

BUF_VERSION="1.75.0"

PASSED=0
FAILED=0
SKIPPED=0
RESULTS=()

# step NAME CMD...: runs CMD with its output unchanged and records the result.
step() {
    local name="$1"
    shift
    local t0 rc
    t0=$(date +%s)
    printf '\n==> [%d] %s\n' "$((PASSED + FAILED + SKIPPED + 1))" "$name"
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

# skip_step NAME REASON: a step that cannot run here, listed as SKIP (neither passed nor failed).
skip_step() {
    printf '\n==> [%d] %s\n' "$((PASSED + FAILED + SKIPPED + 1))" "$1"
    echo "$2"
    SKIPPED=$((SKIPPED + 1))
    RESULTS+=("SKIP  $1 ($2)")
    printf '==> SKIP %s\n' "$1"
}

# buf comes from PyPI (buf-bin, pinned in tests/python/requirements.txt) into .venv, so the suite needs
# nothing beyond Rust and Python.
buf_lint() {
    "$ROOT/scripts/ensure-venv.sh" || return 1
    "$ROOT/.venv/bin/buf" --version || return 1
    (cd "$ROOT/proto" && "$ROOT/.venv/bin/buf" lint)
}

# The cargo tests need .venv too: the mail tests run a real SMTP server (tests/smtp/mailsink.py, aiosmtpd) with
# .venv/bin/python. Set up once here, before any cargo step; a failure shows up as a failing mail test, which
# names scripts/ensure-venv.sh. (buf_lint and tests/python/run.sh call it again; that is a no-op by then.)
# Disk: a clean build of the suite needs about 15 GB under target/, and the PostgreSQL step writes its test databases
# to the same machine. Under CI, no incremental caches (they only help a developer's next build and double the size).
if [[ -n "${CI:-}" ]]; then
    export CARGO_INCREMENTAL=0
fi
echo "==> free disk before the build: $(df -h --output=avail "$ROOT" | tail -1 | tr -d ' ')"

echo "==> setting up .venv (scripts/ensure-venv.sh) for the cargo tests"
"$ROOT/scripts/ensure-venv.sh" || echo "scripts/ensure-venv.sh failed: tests that need .venv will fail" >&2
# The browser tests drive headless Chromium through chromedriver. Same pattern: a failure shows up as failing
# browser tests, which name scripts/ensure-chromium.sh.
echo "==> making chromium and chromedriver available (scripts/ensure-chromium.sh) for the browser tests"
"$ROOT/scripts/ensure-chromium.sh" || echo "scripts/ensure-chromium.sh failed: the browser tests will fail" >&2

step "cargo fmt --all --check" cargo fmt --all --check
step "cargo clippy --workspace --all-targets --locked -- -D warnings" \
    cargo clippy --workspace --all-targets --locked -- -D warnings
# HUB_TEST_POSTGRES_SKIP=1: the PostgreSQL-only tests skip here even under CI; step 4 runs them (or fails under CI).
step "cargo test --workspace --locked" env HUB_TEST_POSTGRES_SKIP=1 cargo test --workspace --locked

# PostgreSQL: the local server with trust auth (see shared/STACK.md). Each test hub creates its own database
# hub_test_<uuid> on it; they are all dropped after the run.
PG_HOST="127.0.0.1"
PG_PORT="5432"
PG_URL="postgres://postgres@$PG_HOST:$PG_PORT/postgres"

pg_reachable() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -h "$PG_HOST" -p "$PG_PORT" -q
}

# Returns 0 once PostgreSQL answers, starting the local cluster(s) if it does not.
ensure_postgres() {
    pg_reachable && return 0
    echo "PostgreSQL does not answer on $PG_HOST:$PG_PORT; trying to start the local cluster"
    local v
    for v in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$v" main start
    done
    for _ in $(seq 1 20); do
        pg_reachable && return 0
        sleep 0.5
    done
    return 1
}

drop_test_databases() {
    local names name rc=0
    names=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -XAtc \
        "SELECT datname FROM pg_database WHERE datname LIKE 'hub\_test\_%'") || return 1
    for name in $names; do
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Xqc "DROP DATABASE \"$name\" WITH (FORCE)" || rc=1
    done
    echo "dropped $(wc -w <<<"$names") test database(s)"
    return $rc
}

postgres_tests() {
    local rc=0
    # --workspace --test '*': the integration tests (all in hub-tests), resolved like step 3 so that nothing is
    # compiled again (`-p hub-tests` resolves the dependencies' features on its own and rebuilds the bundled SQLite).
    HUB_TEST_POSTGRES_URL="$PG_URL" cargo test --workspace --locked --test '*' || rc=$?
    drop_test_databases || { [[ $rc -ne 0 ]] || rc=1; }
    return $rc
}

postgres_unreachable() {
    echo "PostgreSQL not reachable on $PG_HOST:$PG_PORT and CI is set: the PostgreSQL backend was NOT tested" >&2
    return 1
}

PG_STEP="cargo test on PostgreSQL"
if ensure_postgres; then
    step "$PG_STEP" postgres_tests
elif [[ -n "${CI:-}" ]]; then
    step "$PG_STEP" postgres_unreachable
else
    skip_step "$PG_STEP" "PostgreSQL not reachable: ran SQLite only"
fi

step "buf lint (proto/, buf $BUF_VERSION)" buf_lint
# The previous commit's proto as the reference (buf reads it from git, no checkout needed).
buf_breaking() {
    "$ROOT/scripts/ensure-venv.sh" || return 1
    (cd "$ROOT/proto" && "$ROOT/.venv/bin/buf" breaking --against "$ROOT/.git#ref=HEAD~1,subdir=proto")
}

BREAKING_STEP="buf breaking (proto/ against HEAD~1)"
if git -C "$ROOT" rev-parse --verify -q HEAD~1 >/dev/null; then
    step "$BREAKING_STEP" buf_breaking
else
    skip_step "$BREAKING_STEP" "no previous commit in this clone (shallow?): nothing to compare the proto with"
fi
step "Python gRPC client test (tests/python/run.sh)" bash "$ROOT/tests/python/run.sh"

# cargo-deny, installed into ~/.cargo/bin on first use (a few minutes' build, once): the policy is deny.toml.
CARGO_DENY_VERSION="0.20.2"
ensure_cargo_deny() {
    cargo deny --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION" && return 0
    echo "installing cargo-deny $CARGO_DENY_VERSION (cargo install, once)"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
}
cargo_deny() {
    ensure_cargo_deny || return 1
    cargo deny --locked check bans licenses sources
}
step "cargo deny check bans licenses sources (deny.toml)" cargo_deny

# Advisories need the RustSec database (a git repository on GitHub). Fetched when GitHub answers; else the copy
# cargo-deny fetched before (~/.cargo/advisory-dbs), named with its date; with neither, the step is listed as SKIP.
ADVISORY_STEP="cargo deny check advisories (RustSec)"
advisories_fetched() {
    ensure_cargo_deny || return 1
    cargo deny --locked check advisories
}
advisories_cached() {
    ensure_cargo_deny || return 1
    echo "GitHub unreachable: checking against the cached RustSec database of $(git -C "$1" log -1 --format=%cs)"
    cargo deny --locked --offline check advisories
}
ADVISORY_CACHE=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/advisory-db-* 2>/dev/null | head -1)
if timeout 20 git ls-remote https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
    step "$ADVISORY_STEP" advisories_fetched
elif [[ -n "$ADVISORY_CACHE" ]] && git -C "$ADVISORY_CACHE" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    step "$ADVISORY_STEP, cached copy" advisories_cached "$ADVISORY_CACHE"
else
    skip_step "$ADVISORY_STEP" "the RustSec database is neither reachable (github.com) nor cached here"
fi

printf '\n==> Summary\n'
for r in "${RESULTS[@]}"; do
    printf '    %s\n' "$r"
done
if [[ $SKIPPED -gt 0 ]]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
[[ $FAILED -eq 0 ]]

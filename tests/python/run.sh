#!/usr/bin/env bash
# Python gRPC client test of the Wohnungserhalt Hub: proves the API is usable from another language
# with nothing but the .proto files and grpcio.
#
#   1. creates .venv (repo root) if missing and installs tests/python/requirements.txt into it
#      (skipped when the installed set matches the requirements file, so reruns work offline);
#   2. generates Python stubs from proto/ into tests/python/gen/ (gitignored) with grpc_tools.protoc;
#   3. builds the hub (debug, --locked), makes a temporary data dir, runs `hub pki init` and issues client
#      certificates for the 7 organisations of the standard network;
#   4. starts `hub serve` on a free loopback port (stopped on exit) and runs frau_k_client.py against it.
#
# Usage: tests/python/run.sh            (from anywhere; exit status is the client's)
# Env:   KEEP_HUB_DATA=1 keeps the temporary data dir (path is printed); PYTHON=python3.11 picks the interpreter
#        used to create the venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
GEN="$ROOT/tests/python/gen"
ORGS=(fachstelle-hannover jobcenter-hannover sozialamt-hannover schuldnerberatung-nord wohnbau-nord
      traeger-wohnhilfe frauenberatung-hannover)

log() { printf '[python-client] %s\n' "$*"; }

# --- 1. virtualenv ---------------------------------------------------------------------------------------------
"$ROOT/scripts/ensure-venv.sh"
PY="$VENV/bin/python"

# --- 2. stubs from the .proto files -----------------------------------------------------------------------------
rm -rf "$GEN"
mkdir -p "$GEN"
log "generating stubs into tests/python/gen"
"$PY" -m grpc_tools.protoc -I proto --python_out="$GEN" --grpc_python_out="$GEN" proto/wohnungserhalt/hub/v1/*.proto

# --- 3. hub binary, PKI ----------------------------------------------------------------------------------------
log "building the hub (cargo build --workspace --all-targets --locked, as the Rust tests do: their build is reused)"
cargo build --workspace --all-targets --locked
HUB="${CARGO_TARGET_DIR:-$ROOT/target}/debug/hub"
[[ -x "$HUB" ]] || { log "no hub binary at $HUB"; exit 1; }

DATA="$(mktemp -d "${TMPDIR:-/tmp}/hub-python-client.XXXXXX")"
SERVER_LOG="$DATA/serve.log"
SERVER_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$SERVER_LOG" ]]; then
        log "hub serve log (last 60 lines):"
        tail -n 60 "$SERVER_LOG" | sed 's/^/    hub| /'
    fi
    if [[ "${KEEP_HUB_DATA:-0}" == 1 ]]; then
        log "kept data dir $DATA"
    else
        rm -rf "$DATA"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "data dir $DATA"
"$HUB" pki init --data-dir "$DATA"
for f in ca.pem ca.key server.pem server.key operator.pem operator.key; do
    [[ -s "$DATA/pki/$f" ]] || { log "hub pki init did not create pki/$f"; exit 1; }
done
for org in "${ORGS[@]}"; do
    "$HUB" pki issue "$org" --data-dir "$DATA"
    [[ -s "$DATA/pki/clients/$org.pem" && -s "$DATA/pki/clients/$org.key" ]] \
        || { log "hub pki issue $org did not create pki/clients/$org.pem and .key"; exit 1; }
done
log "PKI ready: CA, server, operator and ${#ORGS[@]} client certificates"

# --- 4. serve and run the client -------------------------------------------------------------------------------
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log "starting hub serve on 127.0.0.1:$PORT"
HUB_DASHBOARD_LISTEN=127.0.0.1:0 "$HUB" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

PYTHONPATH="$GEN${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$ROOT/tests/python/frau_k_client.py" \
    --target "localhost:$PORT" \
    --pki-dir "$DATA/pki" \
    --server-pid "$SERVER_PID"

# --- 5. reflection: grpcurl (a third client, not written in Rust) lists every service ---------------------------
log "grpcurl: listing services by reflection over mTLS"
LISTED="$("$VENV/bin/grpcurl" -cacert "$DATA/pki/ca.pem" -cert "$DATA/pki/operator.pem" -key "$DATA/pki/operator.key" \
    "localhost:$PORT" list)"
for svc in wohnungserhalt.hub.v1.DirectoryService wohnungserhalt.hub.v1.CaseService \
    wohnungserhalt.hub.v1.ConsentService wohnungserhalt.hub.v1.ReferralService wohnungserhalt.hub.v1.EventService \
    wohnungserhalt.hub.v1.NoticeService wohnungserhalt.hub.v1.DeliveryService \
    grpc.health.v1.Health; do
    grep -qx "$svc" <<<"$LISTED" || { log "grpcurl list is missing $svc:"; echo "$LISTED"; exit 1; }
done
log "grpcurl lists all hub services, health and reflection"

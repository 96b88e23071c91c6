#!/usr/bin/env bash
# Creates .venv (repo root) if missing and installs the pinned test tools from
# tests/python/requirements.txt: grpcio for the Python client, buf for proto lint, grpcurl for the
# reflection check. Skipped when the venv already matches the file, so later runs work offline.
# Usage: scripts/ensure-venv.sh   (PYTHON=python3.11 picks the interpreter that creates the venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/tests/python/requirements.txt"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "[venv] creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
STAMP="$VENV/.hub-requirements.sha256"
REQ_SUM="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$REQ_SUM" ]]; then
    echo "[venv] installing the pinned packages of tests/python/requirements.txt"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQ"
    echo "$REQ_SUM" >"$STAMP"
fi

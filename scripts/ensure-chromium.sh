#!/usr/bin/env bash
# Makes Debian's `chromium` and `chromedriver` available for the dashboard's browser tests
# (tests/tests/e2e/dashboard_browser.rs drives headless Chromium over WebDriver). Installs the packages
# `chromium` and `chromium-driver` with apt-get when either program is missing (as root, or through
# `sudo -n` otherwise), then prints both versions. A no-op apart from the versions when both are there,
# so later runs work offline.
# Usage: scripts/ensure-chromium.sh
# Exits non-zero with a message naming what is missing when it cannot provide both programs.
set -euo pipefail

have_both() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

fail() {
    echo "scripts/ensure-chromium.sh: $*" >&2
    echo "scripts/ensure-chromium.sh: the browser tests (dashboard_browser) need chromium and chromedriver on PATH;" \
        "install the Debian packages chromium and chromium-driver" >&2
    exit 1
}

if ! have_both; then
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        fail "chromium or chromedriver is missing and this user can neither install packages (not root) nor use sudo -n"
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        fail "chromium or chromedriver is missing and apt-get is not available"
    fi
    echo "[chromium] installing chromium and chromium-driver with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq >/dev/null || fail "apt-get update failed"
    # chromium-l10n: without its German locale, date fields show the English "mm/dd/yyyy".
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver chromium-l10n \
        fonts-dejavu-core >/dev/null || fail "apt-get install chromium chromium-driver failed"
    have_both || fail "chromium or chromedriver is still missing after apt-get install"
fi

# A machine that had Chromium already may lack the German locale the screenshots are taken in.
if [[ ! -e /usr/lib/chromium/locales/de.pak ]] && command -v apt-get >/dev/null 2>&1 \
    && { [[ $(id -u) -eq 0 ]] || sudo -n true 2>/dev/null; }; then
    SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo -n)
    echo "[chromium] installing chromium-l10n (German locale)"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium-l10n >/dev/null \
        || echo "[chromium] chromium-l10n not installed: date fields will show the English format"
fi

# The Debian wrapper /usr/bin/chromium may print shell noise on stderr; only the version line matters.
chromium_version=$(chromium --version 2>/dev/null) || fail "chromium --version failed"
driver_version=$(chromedriver --version 2>/dev/null) || fail "chromedriver --version failed"
echo "[chromium] $chromium_version"
echo "[chromium] $driver_version"

# axe-core (npm, pinned) for the accessibility checks of the browser tests, into .axe/ of the workspace.
AXE_VERSION="4.14.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AXE_JS="$ROOT/.axe/node_modules/axe-core/axe.min.js"
if ! grep -qs "\"version\": \"$AXE_VERSION\"" "$ROOT/.axe/node_modules/axe-core/package.json"; then
    command -v npm >/dev/null 2>&1 || fail "npm is missing: the accessibility checks need axe-core $AXE_VERSION from npm"
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.axe" "axe-core@$AXE_VERSION" >/dev/null \
        || fail "npm install axe-core@$AXE_VERSION failed"
fi
[[ -s "$AXE_JS" ]] || fail "axe-core missing at $AXE_JS"
echo "axe-core $AXE_VERSION"

#!/usr/bin/env bash
# The search page in a real browser: headless Chromium and chromedriver from Debian's packages,
# driven by selenium (pinned, installed into a venv under ~/.cache/glossa on first use), against
# the release binary in demo mode (tests/browser/test_page.py). scripts/test.sh runs it after the
# Rust tests, which build the binary. GLOSSA_SCREENSHOTS=1 rewrites docs/screenshots/*.png.
#
# Usage: bash scripts/browser-test.sh [PATH_TO_GLOSSA]   (default: target/release/glossa)
# GLOSSA_BROWSER and GLOSSA_CHROMEDRIVER point at another Chromium/Chrome and its driver (e.g. a
# CI runner's preinstalled Chrome, where the distribution's chromium package is not usable).
set -euo pipefail
cd "$(dirname "$0")/.."

export GLOSSA_BROWSER="${GLOSSA_BROWSER:-/usr/bin/chromium}"
export GLOSSA_CHROMEDRIVER="${GLOSSA_CHROMEDRIVER:-/usr/bin/chromedriver}"

SELENIUM_VERSION=4.40.0
VENV="${HOME}/.cache/glossa/browser-venv"
GLOSSA_BIN="${1:-${CARGO_TARGET_DIR:-target}/release/glossa}"

if [[ ! -x "$GLOSSA_BIN" ]]; then
  echo "error: $GLOSSA_BIN not found; build it first (cargo build --release)" >&2
  exit 1
fi

if [[ ! -x "$GLOSSA_BROWSER" || ! -x "$GLOSSA_CHROMEDRIVER" ]]; then
  echo "== installing chromium and chromium-driver (Debian packages)"
  sudo_cmd=()
  if [[ "$(id -u)" != 0 ]]; then
    sudo_cmd=(sudo -n)
  fi
  if ! { timeout 300 "${sudo_cmd[@]}" apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive timeout 900 "${sudo_cmd[@]}" apt-get install -y -q chromium chromium-driver >/dev/null; }; then
    echo "error: could not install chromium and chromium-driver with apt-get (needs root and Debian's package mirror); install them and run again" >&2
    exit 1
  fi
  if [[ ! -x "$GLOSSA_BROWSER" || ! -x "$GLOSSA_CHROMEDRIVER" ]]; then
    echo "error: $GLOSSA_BROWSER or $GLOSSA_CHROMEDRIVER is still missing after installing chromium and chromium-driver" >&2
    exit 1
  fi
fi

if ! "$VENV/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
  echo "== installing selenium $SELENIUM_VERSION into $VENV"
  rm -rf "$VENV"
  if ! { timeout 120 python3 -m venv "$VENV" &&
    timeout 300 "$VENV/bin/pip" install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION"; }; then
    echo "error: could not install selenium $SELENIUM_VERSION from PyPI into $VENV (needs python3-venv and PyPI)" >&2
    exit 1
  fi
fi

echo "== search page in headless Chromium ($("$GLOSSA_BROWSER" --version 2>/dev/null | head -1))"
# The whole run is bounded too: a hung browser must not hold the suite.
timeout 300 "$VENV/bin/python" tests/browser/test_page.py "$GLOSSA_BIN"

#!/usr/bin/env bash
# Dependency policy check (deny.toml) with cargo-deny: every crate's licence is one of the allowed
# permissive licences, crates come from crates.io only, no wildcard version requirements
# (duplicate versions are reported as warnings). Runs offline against the local crate cache;
# the advisories check needs the RustSec database from the network and runs in CI instead
# (.github/workflows/ci.yml: `cargo deny check advisories`).
#
# Usage: scripts/deny.sh
# Installs cargo-deny $CARGO_DENY_VERSION (below) with `cargo install --locked` when `cargo deny`
# is missing or another version: one attempt, bounded by CARGO_DENY_INSTALL_TIMEOUT seconds
# (default 1800; a build from source takes a few minutes). Every crate of Cargo.lock must be in
# the local cache (for every platform): `cargo fetch --locked` once, with network, if not.
# Exit status: 0 when the checks pass; 1 when a check fails or cargo-deny cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
install_timeout="${CARGO_DENY_INSTALL_TIMEOUT:-1800}"

fail() {
  echo "error: scripts/deny.sh: $*" >&2
  exit 1
}

command -v cargo >/dev/null 2>&1 || fail "cargo not found (install Rust: https://rustup.rs)"

current="$(cargo deny --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$current" != "$CARGO_DENY_VERSION" ]]; then
  echo "== cargo-deny ${current:-not installed}; installing cargo-deny $CARGO_DENY_VERSION" \
    "(cargo install --locked, at most ${install_timeout}s)"
  install=(cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION")
  if command -v timeout >/dev/null 2>&1; then
    install=(timeout "$install_timeout" "${install[@]}")
  fi
  if ! "${install[@]}"; then
    fail "installing cargo-deny $CARGO_DENY_VERSION failed (it needs crates.io); install it by hand with: cargo install --locked cargo-deny --version $CARGO_DENY_VERSION"
  fi
  current="$(cargo deny --version 2>/dev/null | awk '{print $2}' || true)"
  [[ "$current" == "$CARGO_DENY_VERSION" ]] ||
    fail "cargo deny --version reports '${current:-nothing}' after installing $CARGO_DENY_VERSION (is ~/.cargo/bin first on PATH?)"
fi

# cargo-deny reads the crate graph with `cargo metadata`; offline, that needs every crate in the
# local cache. Checked first so a missing crate gets a message that says what to do.
if ! metadata_error="$(cargo metadata --offline --locked --format-version 1 2>&1 >/dev/null)"; then
  echo "$metadata_error" | tail -n 5 >&2
  fail "cargo metadata failed offline: run 'cargo fetch --locked' once with network (or fix Cargo.lock if it is out of date)"
fi

echo "== cargo deny $CARGO_DENY_VERSION: licenses, bans, sources (deny.toml)"
if ! cargo deny --offline --locked check licenses bans sources; then
  fail "dependency policy check failed (see the errors above; policy: deny.toml)"
fi
echo "== dependency policy: ok"

#!/usr/bin/env bash
# Runs the whole test suite: unit tests, integration tests (real binary and router over HTTP),
# doc tests, and builds the benchmarks so they cannot rot. Release mode, because language
# detection in debug builds is too slow to exercise realistically.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust 1.95+ (https://rustup.rs)" >&2
  exit 1
fi

echo "== building benchmarks (compile check only)"
cargo build --release --locked --benches

echo "== running tests"
cargo test --release --locked

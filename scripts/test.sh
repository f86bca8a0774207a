#!/usr/bin/env bash
# Runs the whole test suite: unit tests, end-to-end tests (real binary, real HTTP, the embedded
# index and a real 3-node OpenSearch 2.19.6 cluster on loopback), doc tests, and builds the
# benchmarks so they cannot rot. Release mode, because language detection in debug builds is too
# slow to exercise realistically.
#
# Services: scripts/opensearch/cluster.sh fetches OpenSearch from Maven Central on first use
# (cached under ~/.cache/glossa) and needs Java 17 and Maven; every wait is bounded and a failure
# prints the nodes' logs. The cluster is stopped when this script exits, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo java mvn curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool not found; the test suite needs Rust 1.95+, Java 17, Maven and curl" >&2
    exit 1
  fi
done

OS=scripts/opensearch/cluster.sh
# A deliberately small write pool, so the cluster answers 429 under concurrent bulk load and the
# suite exercises backoff and retries for real (every other test must pass on it too).
os_settings="$(mktemp)"
printf 'thread_pool.write.size: 1\nthread_pool.write.queue_size: 2\n' >"$os_settings"
export GLOSSA_OS_EXTRA_SETTINGS="$os_settings"
cleanup() { bash "$OS" stop >/dev/null 2>&1 || true; rm -f "$os_settings"; }
trap cleanup EXIT

echo "== building benchmarks (compile check only)"
cargo build --release --locked --benches
echo "== building tests"
cargo test --release --locked --no-run

# Started after the build, not during it: on 2 cores the JVMs and rustc would slow each other.
echo "== starting a 3-node OpenSearch cluster"
if ! bash "$OS" start 3; then
  echo "error: the OpenSearch test cluster did not start (node logs above)" >&2
  exit 1
fi
GLOSSA_TEST_OPENSEARCH_URLS="$(bash "$OS" urls | paste -sd, -)"
export GLOSSA_TEST_OPENSEARCH_URLS
echo "   $GLOSSA_TEST_OPENSEARCH_URLS"

echo "== running tests"
cargo test --release --locked -- --include-ignored

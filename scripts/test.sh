#!/usr/bin/env bash
# Runs the whole test suite: the module layering check (scripts/check-layers.py), unit tests,
# end-to-end tests (real binary, real HTTP, the embedded index, a real 3-node OpenSearch 2.19.6
# cluster, a secured OpenSearch node (the real security plugin: HTTPS, basic auth), a real Apache
# Kafka 4.4 broker and a real S3-protocol server (s3s-fs), all on loopback), doc tests, the
# dependency policy (scripts/deny.sh, cargo-deny installed on first use), the alert rules and
# dashboard (scripts/check-ops.sh, promtool from Debian's package on first use), builds the
# benchmarks so they cannot rot, and last the search page in a real browser
# (scripts/browser-test.sh: headless Chromium and chromedriver from Debian's packages, apt-get
# installed if missing, driven by a pinned selenium in a venv under ~/.cache/glossa, against the
# release binary in demo mode). Release mode, because language detection in debug builds is too
# slow to exercise realistically.
#
# Services: scripts/opensearch/cluster.sh and scripts/kafka/kafka.sh fetch OpenSearch and Kafka
# from Maven Central on first use, scripts/s3/s3.sh builds s3s-fs from crates.io on first use (all
# cached under ~/.cache/glossa); they need Java 17 and Maven. Every wait is bounded and a failure
# prints the service's log. Every service is stopped when this script exits, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo java mvn curl openssl unzip python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool not found; the test suite needs Rust 1.95+, Java 17, Maven, curl, openssl, unzip and Python 3 with venv" >&2
    exit 1
  fi
done

OS=scripts/opensearch/cluster.sh
# A deliberately small write pool, so the cluster answers 429 under concurrent bulk load and the
# suite exercises backoff and retries for real (every other test must pass on it too).
os_settings="$(mktemp)"
printf 'thread_pool.write.size: 1\nthread_pool.write.queue_size: 2\n' >"$os_settings"
export GLOSSA_OS_EXTRA_SETTINGS="$os_settings"
# The secured node: its own run directory and ports, beside the open cluster.
secure_os() {
  GLOSSA_OS_SECURE=1 GLOSSA_OS_RUN=/tmp/glossa-opensearch-secure GLOSSA_OS_HTTP_PORT=9250 \
    GLOSSA_OS_TRANSPORT_PORT=9350 GLOSSA_OS_CLUSTER_NAME=glossa-secure GLOSSA_OS_EXTRA_SETTINGS= \
    GLOSSA_OS_ADMIN_PASSWORD=Glossa-test-secret-1 bash "$OS" "$@"
}
KAFKA=scripts/kafka/kafka.sh
S3=scripts/s3/s3.sh
cleanup() {
  bash "$OS" stop >/dev/null 2>&1 || true
  secure_os stop >/dev/null 2>&1 || true
  bash "$KAFKA" stop >/dev/null 2>&1 || true
  bash "$S3" stop >/dev/null 2>&1 || true
  rm -f "$os_settings"
}
trap cleanup EXIT

echo "== module layering (no import cycles among src/ modules; README, Architecture)"
python3 scripts/check-layers.py

echo "== dependency policy (cargo-deny: licences, bans, sources; deny.toml)"
# Every crate of Cargo.lock, for every platform, must be in the local cache for the offline check.
cargo fetch --locked --quiet
bash scripts/deny.sh

echo "== operations kit (alert rules with promtool, dashboard; docs/operations)"
bash scripts/check-ops.sh

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

echo "== starting a secured OpenSearch node (security plugin, HTTPS, basic auth)"
if ! GLOSSA_TEST_SECURE_OPENSEARCH_URL="$(secure_os start 1)"; then
  echo "error: the secured OpenSearch node did not start (node log above)" >&2
  exit 1
fi
GLOSSA_TEST_SECURE_OPENSEARCH_CA="$(secure_os ca)"
export GLOSSA_TEST_SECURE_OPENSEARCH_URL GLOSSA_TEST_SECURE_OPENSEARCH_CA
export GLOSSA_TEST_SECURE_OPENSEARCH_USER=admin GLOSSA_TEST_SECURE_OPENSEARCH_PASSWORD=Glossa-test-secret-1
echo "   $GLOSSA_TEST_SECURE_OPENSEARCH_URL (CA $GLOSSA_TEST_SECURE_OPENSEARCH_CA)"

echo "== starting an Apache Kafka broker"
if ! kafka_env="$(bash "$KAFKA" start)"; then
  echo "error: the Kafka test broker did not start (log above)" >&2
  exit 1
fi
eval "$kafka_env"
export GLOSSA_TEST_KAFKA_BOOTSTRAP="$GLOSSA_KAFKA_BOOTSTRAP"
export GLOSSA_TEST_KAFKA_SASL_BOOTSTRAP="$GLOSSA_KAFKA_SASL_BOOTSTRAP"
export GLOSSA_TEST_KAFKA_SASL_USER="$GLOSSA_KAFKA_SASL_USER"
export GLOSSA_TEST_KAFKA_SASL_PASSWORD="$GLOSSA_KAFKA_SASL_PASSWORD"
echo "   $GLOSSA_TEST_KAFKA_BOOTSTRAP"

echo "== starting an S3-protocol server"
if ! s3_env="$(bash "$S3" start)"; then
  echo "error: the S3 test server did not start (log above)" >&2
  exit 1
fi
eval "$s3_env"
export GLOSSA_TEST_S3_ENDPOINT="$GLOSSA_S3_ENDPOINT"
echo "   $GLOSSA_TEST_S3_ENDPOINT ($GLOSSA_S3_SERVER_KIND)"

echo "== running tests"
# The node-loss test kills an OpenSearch node: run beside the others, it can take down the
# primaries of an index another test is creating, which then waits for a node that is gone.
node_loss=opensearch_node_killed_during_ingest_loses_no_acknowledged_record
cargo test --release --locked -- --include-ignored --skip "$node_loss"
echo "== the node-loss test, alone"
cargo test --release --locked --test e2e -- --include-ignored "$node_loss"

echo "== search page in a real browser"
bash scripts/browser-test.sh

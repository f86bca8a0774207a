#!/usr/bin/env bash
# OpenSearch ingest benchmark: Glossa end to end (read, detect, route, bulk) into the local
# cluster, against the cluster's own ceiling measured in the same run (the same documents as
# pre-built _bulk bodies, no detection, best of several concurrencies). Reports the ratio.
# Usage: loadtest/opensearch-bench.sh [COUNT] [NODES]   (defaults: 1000000 3)
# Starts its own cluster with scripts/opensearch/cluster.sh (default settings, not the test
# suite's tiny write pool) and stops it at the end.
#
# CPU layout: by default the cluster is pinned to all CPUs but the last and the client (the
# ceiling's poster, then Glossa) to the last one, as data nodes and ingest workers are separate
# machines in a deployment; otherwise Glossa's detection would take its CPU from the cluster and
# the ratio would measure the machine, not Glossa. GLOSSA_BENCH_SHARED_CPUS=1 runs everything on
# all CPUs instead (the earlier method).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
nodes="${2:-3}"
work="$(mktemp -d)"
OS=scripts/opensearch/cluster.sh
trap 'bash "$OS" stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

cargo build --release --locked --quiet
python3 loadtest/gen_corpus.py --count "$count" --out "$work/plain.ndjson"
python3 loadtest/gen_corpus.py --count "$count" --with-lang-hints --out "$work/hinted.ndjson"
unset GLOSSA_OS_EXTRA_SETTINGS
cpus="$(nproc)"
if [[ "${GLOSSA_BENCH_SHARED_CPUS:-0}" != 1 && "$cpus" -ge 2 ]]; then
  on_cluster=(taskset -c "0-$((cpus - 2))")
  on_client=(taskset -c "$((cpus - 1))")
  layout="cluster on CPUs 0-$((cpus - 2)), client on CPU $((cpus - 1))"
else
  on_cluster=()
  on_client=()
  layout="cluster and client share all $cpus CPUs"
fi
"${on_cluster[@]}" bash "$OS" start "$nodes" >/dev/null
urls="$(bash "$OS" urls | paste -sd, -)"
first="${urls%%,*}"
echo "corpus: $count records, $(du -h "$work/plain.ndjson" | cut -f1); cluster: $nodes nodes ($urls); $layout"

"${on_client[@]}" python3 loadtest/bulk_ceiling.py --url "$first" --corpus "$work/hinted.ndjson" \
  --mapping mappings/glossa-index.json --concurrency 2,4,8 | tee "$work/ceiling.txt"

"${on_client[@]}" /usr/bin/time -f 'cpu_seconds=%U+%S peak_rss_kb=%M' -o "$work/glossa.time" \
  target/release/glossa --backend opensearch --opensearch-urls "$urls" \
  --opensearch-index "bench-$(date +%s)" --data-dir "$work/data" \
  ingest --bulk-load "$work/plain.ndjson" >"$work/glossa.out" 2>"$work/glossa.err"
echo "glossa: $(head -1 "$work/glossa.out") | $(cat "$work/glossa.time")"
glossa_rate="$(head -1 "$work/glossa.out" | grep -o '([0-9]* records/s' | tr -dc '0-9')"
ceiling_rate="$(grep -o 'ceiling best: [0-9]*' "$work/ceiling.txt" | tr -dc '0-9')"
python3 -c "print('glossa / ceiling: %.2f' % ($glossa_rate / $ceiling_rate))"

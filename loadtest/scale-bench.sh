#!/usr/bin/env bash
# Scale curve benchmark: embedded ingest of real multilingual text (Debian's package
# descriptions, loadtest/real_corpus.py) into one index in cumulative stages, by default to 1M,
# 5M and 10M documents, with records/s, CPU, resident memory, index size and segments over
# time, and search p50/p99 after each stage (loadtest/scale_bench.py has the method).
# Usage: loadtest/scale-bench.sh [--sizes 1000000,5000000,10000000] [--dir DIR] [--queries N]
#                                [--opensearch NODES] [--memory-limit MB]
#   --opensearch NODES ingests into (and searches) a local OpenSearch cluster of NODES nodes
#   started with scripts/opensearch/cluster.sh (default settings) instead of the embedded index,
#   and stops it at the end; index bytes are then the primaries' store.
#   --memory-limit MB runs each ingest stage in a memory cgroup of MB megabytes (needs root), as
#   in a container with that limit.
#   --dir keeps the index, timeline.tsv and stages.tsv there (default: a temporary directory,
#   removed at the end). Disk: about 1 KB per document for the index plus the largest stage's
#   input (530 bytes per record). Method and figures: docs/benchmarks/scale.md.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=1000000,5000000,10000000 dir="" queries=1000 nodes=0 limit=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --queries) queries="$2"; shift 2 ;;
    --opensearch) nodes="$2"; shift 2 ;;
    --memory-limit) limit=(--memory-limit "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
made="" started=0
cleanup() {
  if [[ "$started" == 1 ]]; then bash scripts/opensearch/cluster.sh stop >/dev/null 2>&1 || true; fi
  if [[ -n "$made" ]]; then rm -rf "$made"; fi
}
trap cleanup EXIT
if [[ -z "$dir" ]]; then
  dir="$(mktemp -d)"
  made="$dir"
else
  rm -rf "$dir/data"
fi
cargo build --release --locked --quiet
backend=()
if [[ "$nodes" -gt 0 ]]; then
  unset GLOSSA_OS_EXTRA_SETTINGS
  started=1
  bash scripts/opensearch/cluster.sh start "$nodes" >/dev/null
  backend=(--opensearch "$(bash scripts/opensearch/cluster.sh urls | paste -sd, -)")
fi
python3 loadtest/scale_bench.py --bin "$PWD/target/release/glossa" --dir "$dir" \
  --sizes "$sizes" --queries "$queries" "${backend[@]}" "${limit[@]}"

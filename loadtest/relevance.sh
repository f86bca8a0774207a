#!/usr/bin/env bash
# Relevance benchmark: Glossa embedded (and on OpenSearch) against a single-field BM25 baseline,
# MRR@10 per language, on a known-item suite built from Debian's DDTP description translations.
# Usage: loadtest/relevance.sh [PER_LANGUAGE]          (default 300 queries per language)
#   GLOSSA_RELEVANCE_OPENSEARCH=1   also start a 1-node OpenSearch test cluster and measure it
#   GLOSSA_RELEVANCE_OUT=FILE       also write the Markdown table there
# Method and latest figures: docs/benchmarks/relevance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
per_language="${1:-300}"
corpus="${GLOSSA_RELEVANCE_DIR:-/tmp/glossa-relevance-$per_language}"

echo "== corpus: $per_language known-item queries per language -> $corpus"
python3 scripts/make-relevance-corpus.py --out "$corpus" --per-language "$per_language"

if [ "${GLOSSA_RELEVANCE_OPENSEARCH:-0}" = 1 ]; then
  echo "== starting a 1-node OpenSearch cluster"
  trap 'bash scripts/opensearch/cluster.sh stop >/dev/null 2>&1 || true' EXIT
  bash scripts/opensearch/cluster.sh start 1
  GLOSSA_RELEVANCE_OPENSEARCH_URLS="$(bash scripts/opensearch/cluster.sh urls | head -1)"
  export GLOSSA_RELEVANCE_OPENSEARCH_URLS
fi

echo "== measuring"
GLOSSA_RELEVANCE_DIR="$corpus" cargo bench --locked --bench relevance

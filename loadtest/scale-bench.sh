#!/usr/bin/env bash
# Scale curve benchmark: embedded ingest of real multilingual text (Debian's package
# descriptions, loadtest/real_corpus.py) into one index in cumulative stages, by default to 1M,
# 5M and 10M documents, with records/s, CPU, resident memory, index size and segments over
# time, and search p50/p99 after each stage (loadtest/scale_bench.py has the method).
# Usage: loadtest/scale-bench.sh [--sizes 1000000,5000000,10000000] [--dir DIR] [--queries N]
#   --dir keeps the index, timeline.tsv and stages.tsv there (default: a temporary directory,
#   removed at the end). Disk: about 1 KB per document for the index plus the largest stage's
#   input (530 bytes per record). Method and figures: docs/benchmarks/scale.md.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=1000000,5000000,10000000 dir="" queries=1000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --queries) queries="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$dir" ]]; then
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
else
  rm -rf "$dir/data"
fi
cargo build --release --locked --quiet
python3 loadtest/scale_bench.py --bin "$PWD/target/release/glossa" --dir "$dir" \
  --sizes "$sizes" --queries "$queries"

#!/usr/bin/env bash
# Embedded ingest benchmark: end-to-end `glossa ingest` of a generated multilingual corpus and
# of real text (Debian's package descriptions in 28 languages, loadtest/real_corpus.py), each
# with detection and, as the same-run baseline, with `lang` hints (detection skipped).
# Usage: loadtest/ingest-bench.sh [COUNT] [BODY_BYTES] [REAL_COUNT]
#   (defaults: 100000 400 246006, the whole real pool once)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-100000}"
bytes="${2:-400}"
real_count="${3:-246006}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked --quiet
bin=target/release/glossa

python3 loadtest/gen_corpus.py --count "$count" --bytes "$bytes" --out "$work/plain.ndjson"
python3 loadtest/gen_corpus.py --count "$count" --bytes "$bytes" --with-lang-hints --out "$work/hinted.ndjson"
python3 loadtest/real_corpus.py --count "$real_count" --out "$work/real.ndjson"
python3 loadtest/real_corpus.py --count "$real_count" --with-lang-hints --out "$work/real-hinted.ndjson"

run() {
  local name="$1" file="$2" records="$3"
  rm -rf "$work/data"
  local start end
  start=$(date +%s.%N)
  RUST_LOG=info /usr/bin/time -f 'cpu_seconds=%U+%S peak_rss_kb=%M' -o "$work/$name.time" \
    "$bin" --data-dir "$work/data" ingest "$file" >"$work/$name.out" 2>"$work/$name.err"
  end=$(date +%s.%N)
  local rate
  rate=$(python3 -c "print(round($records / ($end - $start)))")
  echo "$name: $(head -1 "$work/$name.out") | wall incl. startup: $rate docs/s | $(grep -o 'commits=[0-9]* commit_seconds=[0-9.]*' "$work/$name.err" || true) | $(cat "$work/$name.time")"
  echo "$rate" >"$work/$name.rate"
}

echo "corpus: $count records, $(du -h "$work/plain.ndjson" | cut -f1), bodies >= $bytes bytes"
run sample data/sample/udhr.ndjson "$(wc -l < data/sample/udhr.ndjson)"
run detect "$work/plain.ndjson" "$count"
run hinted "$work/hinted.ndjson" "$count"
python3 -c "print('detect / hinted ratio: %.2f' % ($(cat "$work/detect.rate") / $(cat "$work/hinted.rate")))"
echo "real text: $real_count records, $(du -h "$work/real.ndjson" | cut -f1)"
run real "$work/real.ndjson" "$real_count"
run real-hinted "$work/real-hinted.ndjson" "$real_count"
python3 -c "print('real / real-hinted ratio: %.2f' % ($(cat "$work/real.rate") / $(cat "$work/real-hinted.rate")))"

#!/usr/bin/env bash
# Search benchmark: `glossa serve` over COUNT generated multilingual documents (the embedded
# index, or the OpenSearch test cluster), loaded by wrk with realistic multilingual queries
# (loadtest/search_queries.py) at 1, 8 and 32 connections: searches/s, p50, p99, errors, and
# Glossa's overhead over the backend's own time in the same run (every answer carries
# `backend_took_ms`: OpenSearch's `took`, or the built Tantivy query's collection, stored
# documents and snippets; overhead = client p50 - backend p50; on OpenSearch also the cluster
# queried directly with a body of the same shape, loadtest/os_direct.py, for what any client
# pays over `took`). Rows per connection count:
#   given   queries with their language (`lang=xx`): no query-language detection
#   detect  the same queries, language detected (a new seed per connection count, so mostly
#           fresh texts); the cache hit share is shown
#   repeat  500 popular queries over and over: detection answered from the cache
# With --soak-minutes M, then M minutes at --soak-rate R searches/s (vegeta, constant rate, at
# most 64 in flight).
#
# Usage: loadtest/search-bench.sh [--backend embedded|opensearch] [--nodes N] [--count C]
#                                 [--seconds S] [--soak-minutes M] [--soak-rate R]
#   defaults: embedded, 1 node, 1000000 documents, 20 s per row, no soak, 200/s
# Environment:
#   GLOSSA_BENCH_DIR       keep the corpus and the embedded index here and reuse them
#   GLOSSA_BENCH_OS_URLS   a running cluster to use (comma-separated) instead of starting one
#   GLOSSA_BENCH_PORT      glossa's port (18080)
# Needs wrk (Debian package `wrk`); the soak installs vegeta 12.13.0 with `go install` once.
# Method and figures: docs/benchmarks/search.md.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=embedded nodes=1 count=1000000 seconds=20 soak_minutes=0 soak_rate=200
while [[ $# -gt 0 ]]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --soak-minutes) soak_minutes="$2"; shift 2 ;;
    --soak-rate) soak_rate="$2"; shift 2 ;;
    *) echo "error: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ "$backend" == embedded || "$backend" == opensearch ]] || { echo "error: --backend embedded|opensearch" >&2; exit 2; }
port="${GLOSSA_BENCH_PORT:-18080}"
command -v wrk >/dev/null || { echo "error: wrk not found (apt-get install wrk)" >&2; exit 1; }
if [[ -n "${GLOSSA_BENCH_DIR:-}" ]]; then work="$GLOSSA_BENCH_DIR"; mkdir -p "$work"; keep=1; else work="$(mktemp -d)"; keep=0; fi
OS=scripts/opensearch/cluster.sh
export GLOSSA_OS_RUN=/tmp/glossa-bench-opensearch GLOSSA_OS_HTTP_PORT=9280 GLOSSA_OS_TRANSPORT_PORT=9380 \
  GLOSSA_OS_HEAP="${GLOSSA_OS_HEAP:-1g}" GLOSSA_OS_CLUSTER_NAME=glossa-bench
unset GLOSSA_OS_EXTRA_SETTINGS
server="" started_cluster=0
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [[ "$started_cluster" == 1 ]] && bash "$OS" stop >/dev/null 2>&1
  [[ "$keep" == 0 ]] && rm -rf "$work"
  true
}
trap cleanup EXIT

cargo build --release --locked --quiet
bin=target/release/glossa
[[ -s "$work/corpus.ndjson" ]] || python3 loadtest/gen_corpus.py --count "$count" --bytes 400 \
  --with-lang-hints --out "$work/corpus.ndjson"

if [[ "$backend" == embedded ]]; then
  flags=(--data-dir "$work/data")
  if [[ ! -f "$work/data/.bench-$count" ]]; then
    rm -rf "$work/data"
    echo "== ingesting $count documents (embedded)"
    "$bin" "${flags[@]}" ingest "$work/corpus.ndjson" | tail -1
    touch "$work/data/.bench-$count"
  fi
  where="embedded, index $(du -sh "$work/data" | cut -f1)"
else
  urls="${GLOSSA_BENCH_OS_URLS:-}"
  if [[ -z "$urls" ]]; then
    bash "$OS" start "$nodes" >/dev/null
    started_cluster=1
    urls="$(bash "$OS" urls | paste -sd, -)"
  fi
  flags=(--backend opensearch --opensearch-urls "$urls" --opensearch-index bench --data-dir "$work/os-data")
  have="$(curl -fs "${urls%%,*}/bench/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])' 2>/dev/null || echo 0)"
  if [[ "$have" -lt "$count" ]]; then
    echo "== ingesting $count documents (OpenSearch, $urls)"
    "$bin" "${flags[@]}" ingest --bulk-load "$work/corpus.ndjson" | tail -1
  fi
  # Replicas are restored when the load ends: measure once they are copied, not during it
  # (a 1-node cluster stays yellow: it has nowhere to put a replica).
  health="wait_for_no_initializing_shards=true&wait_for_no_relocating_shards=true&timeout=900s"
  [[ "$nodes" -gt 1 && -z "${GLOSSA_BENCH_OS_URLS:-}" ]] && health="$health&wait_for_status=green"
  curl -fs "${urls%%,*}/_cluster/health?$health" | grep -q '"timed_out":false' \
    || { echo "error: the cluster's shards did not settle within 900 s" >&2; exit 1; }
  where="OpenSearch ($urls), $(curl -fs "${urls%%,*}/_cat/indices/bench*?h=index,pri,rep,docs.count,store.size" | tr '\n' ' ')"
fi
echo "== $where"

# wrk is one client address sending thousands of keyless searches a second from loopback: the
# per-address rate limit (1,000/s by default) would answer most of them 429.
cat >"$work/bench.toml" <<'TOML'
[server]
per_address_rate_per_second = 0
TOML
RUST_LOG=warn "$bin" "${flags[@]}" --config "$work/bench.toml" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "error: glossa serve did not get ready" >&2; tail -20 "$work/serve.log" >&2; exit 1; }

# Each request takes the next query of the file (round robin from a fixed start per thread);
# each answer's backend_took_ms is kept, and `done` prints their median.
cat >"$work/queries.lua" <<'LUA'
local queries = {}
local n = 0
took = {}
local threads = {}
local started = 0
setup = function(thread)
  started = started + 1
  thread:set("id", started)
  table.insert(threads, thread)
end
init = function(args)
  for line in io.lines(args[1]) do
    n = n + 1
    queries[n] = line
  end
  -- Fixed starting points (thread k at the k-th 5,000), so rows over the same file send the
  -- same texts in the same order.
  i = ((id or 1) - 1) * 5000 % n
end
request = function()
  i = (i % n) + 1
  return wrk.format("GET", "/v1/search?" .. queries[i])
end
response = function(status, headers, body)
  if status == 200 then
    local t = body:match('"backend_took_ms":([%d%.eE+-]+)')
    if t then took[#took + 1] = tonumber(t) end
  end
end
done = function(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get("took")) do all[#all + 1] = v end
  end
  table.sort(all)
  io.write(string.format("backend_p50_ms %.3f\n", all[math.floor(#all / 2) + 1] or 0 / 0))
end
LUA

cache_counts() {
  curl -fs "http://127.0.0.1:$port/metrics" | python3 -c '
import re, sys
text = sys.stdin.read()
get = lambda r: sum(float(v) for v in re.findall(r"^glossa_query_language_cache_total\{result=\"%s\"\} (\S+)$" % r, text, re.M))
print(int(get("hit")), int(get("miss")))'
}

python3 loadtest/search_queries.py --count 500 --seed 99 --out "$work/repeat.txt"
# Warm-up: the JVM's or the page cache's first searches, and the popular queries' answers.
for q in $(cat "$work/repeat.txt"); do curl -fs "http://127.0.0.1:$port/v1/search?$q" >/dev/null; done

echo "| backend | queries | connections | searches/s | p50 ms | p99 ms | backend p50 ms | Glossa overhead p50 ms | cache hits | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for conns in 1 8 32; do
  # The same texts in both rows, with and without their language.
  python3 loadtest/search_queries.py --count 20000 --seed "$conns" --with-lang --out "$work/given.txt"
  python3 loadtest/search_queries.py --count 20000 --seed "$conns" --out "$work/detect.txt"
  for kind in given detect repeat; do
    read -r hits_before misses_before < <(cache_counts)
    out="$(wrk -t "$(( conns < 2 ? 1 : 2 ))" -c "$conns" -d "${seconds}s" --latency \
      -s "$work/queries.lua" "http://127.0.0.1:$port" -- "$work/$kind.txt")"
    read -r hits_after misses_after < <(cache_counts)
    OUT="$out" python3 - "$backend" "$kind" "$conns" "$((hits_after - hits_before))" "$((misses_after - misses_before))" <<'PY'
import os, re, sys
out = os.environ["OUT"]
backend, kind, conns, hits, misses = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
backend_p50 = float(re.search(r"backend_p50_ms (\S+)", out).group(1))
errors = 0
for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
    m = re.search(pattern, out)
    if m:
        errors += sum(int(g) for g in m.groups())
share = "-" if hits + misses == 0 else f"{100 * hits / (hits + misses):.0f}%"
print(f"| {backend} | {kind} | {conns} | {rps:.0f} | {ms('50%'):.2f} | {ms('99%'):.2f} | "
      f"{backend_p50:.2f} | {ms('50%') - backend_p50:.2f} | {share} | {errors} |")
PY
  done
  if [[ "$backend" == opensearch && "$conns" == 1 ]]; then
    python3 loadtest/os_direct.py "${urls%%,*}" bench "$work/given.txt" "$seconds"
  fi
done

if [[ "$soak_minutes" -gt 0 ]]; then
  vegeta="$(command -v vegeta || echo "$HOME/.cache/glossa/bin/vegeta")"
  if [[ ! -x "$vegeta" ]]; then
    echo "== installing vegeta 12.13.0 (go install)"
    GOBIN="$HOME/.cache/glossa/bin" timeout 900 go install github.com/tsenart/vegeta/v12@v12.13.0 \
      || { echo "error: cannot install vegeta (needs Go and the module proxy)" >&2; exit 1; }
  fi
  python3 loadtest/search_queries.py --count 200000 --seed 4242 --out "$work/soak.txt"
  sed "s|^|GET http://127.0.0.1:$port/v1/search?|" "$work/soak.txt" >"$work/soak.targets"
  echo "== soak: $soak_minutes min at $soak_rate searches/s ($backend)"
  read -r hits_before misses_before < <(cache_counts)
  # At most 64 requests in flight: a server slower than the rate shows as a lower throughput
  # and longer latencies, not as thousands of connections.
  "$vegeta" attack -rate="$soak_rate/s" -duration="${soak_minutes}m" -timeout=10s -max-workers=64 \
    -targets="$work/soak.targets" -output="$work/soak.bin"
  read -r hits_after misses_after < <(cache_counts)
  "$vegeta" report -type=json "$work/soak.bin" >"$work/soak.json"
  "$vegeta" report "$work/soak.bin"
  python3 - "$work/soak.json" "$((hits_after - hits_before))" "$((misses_after - misses_before))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
hits, misses = int(sys.argv[2]), int(sys.argv[3])
lat = r["latencies"]
failed = r["requests"] - r["status_codes"].get("200", 0)
print(f"soak: {r['requests']} searches, {r['throughput']:.1f}/s, p50 {lat['50th'] / 1e6:.2f} ms, "
      f"p99 {lat['99th'] / 1e6:.2f} ms, max {lat['max'] / 1e6:.1f} ms, failed {failed}, "
      f"status codes {r['status_codes']}, cache hits {100 * hits / max(1, hits + misses):.0f}%")
PY
fi

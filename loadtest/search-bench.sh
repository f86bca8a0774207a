#!/usr/bin/env bash
# Embedded search benchmark: `glossa serve` over COUNT generated multilingual documents, loaded
# by wrk with realistic multilingual queries (loadtest/search_queries.py) at 1, 8 and 32
# connections: searches/s, p50, p99, errors. Same-run baseline: the same queries with their
# language given (`lang=xx`, no query-language detection), which shows detection's share.
# Usage: loadtest/search-bench.sh [COUNT] [SECONDS]      (defaults: 1000000 20)
# Needs wrk (Debian package `wrk`). Figures: docs/benchmarks/search.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
seconds="${2:-20}"
port="${GLOSSA_BENCH_PORT:-18080}"
command -v wrk >/dev/null || { echo "error: wrk not found (apt-get install wrk)" >&2; exit 1; }
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release --locked --quiet
bin=target/release/glossa
python3 loadtest/gen_corpus.py --count "$count" --bytes 400 --out "$work/corpus.ndjson"
python3 loadtest/search_queries.py --count 5000 --out "$work/detect.txt"
python3 loadtest/search_queries.py --count 5000 --with-lang --out "$work/given.txt"
echo "== ingesting $count documents"
"$bin" --data-dir "$work/data" ingest "$work/corpus.ndjson" | tail -1
echo "   index: $(du -sh "$work/data" | cut -f1)"

RUST_LOG=warn "$bin" --data-dir "$work/data" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 1
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "error: glossa serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

# Each request takes the next query of the file, round robin per thread.
cat >"$work/queries.lua" <<'LUA'
local queries = {}
local n = 0
init = function(args)
  for line in io.lines(args[1]) do
    n = n + 1
    queries[n] = line
  end
  math.randomseed(os.time() + math.random(1000))
  i = math.random(n)
end
request = function()
  i = (i % n) + 1
  return wrk.format("GET", "/v1/search?" .. queries[i])
end
LUA

# A few searches first: the query detector loads its models lazily.
for q in $(head -20 "$work/detect.txt"); do curl -fs "http://127.0.0.1:$port/v1/search?$q" >/dev/null; done

echo "| queries | connections | searches/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for conns in 1 8 32; do
  for kind in detect given; do
    out="$(wrk -t "$(( conns < 2 ? 1 : 2 ))" -c "$conns" -d "${seconds}s" --latency \
      -s "$work/queries.lua" "http://127.0.0.1:$port" -- "$work/$kind.txt")"
    python3 - "$kind" "$conns" <<PY
import re, sys
out = """$out"""
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
errors = 0
for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
    m = re.search(pattern, out)
    if m:
        errors += sum(int(g) for g in m.groups())
print(f"| {sys.argv[1]} | {sys.argv[2]} | {float(rps):.0f} | {ms('50%'):.2f} | {ms('99%'):.2f} | {errors} |")
PY
  done
done

#!/usr/bin/env bash
# Kafka ingest benchmark: `glossa ingest --from kafka://...` against `glossa ingest FILE` of the
# very same records, in the same run, on the embedded backend and on OpenSearch; reports the
# ratio Kafka / file for each and the consumer lag over time of each Kafka ingest.
# Usage: loadtest/kafka-bench.sh [COUNT] [PARTITIONS]   (defaults: 100000 4)
# Environment: GLOSSA_BIN (default target/release/glossa, built if missing), KBENCH_OS_NODES (1),
# KBENCH_PYTHON (python with kafka-python 3.0.12; default the S3 test venv), KBENCH_RESULTS
# (default /tmp/kbench-results/<time>), KBENCH_TIMEOUT (seconds per glossa run, 1800),
# KBENCH_OS_WARMUP (records ingested into a throwaway index before the OpenSearch pair, 10000),
# KBENCH_ORDER (file-first, the default, or kafka-first: which run of each pair goes first),
# GLOSSA_CONFIG (optional TOML applied to all four glossa runs, e.g. [kafka] or [pipeline] keys).
# Starts its own Kafka broker and OpenSearch cluster on ports and run dirs of its own (never the
# test suite's) and stops them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-100000}"
parts="${2:-4}"
nodes="${KBENCH_OS_NODES:-1}"
bin="${GLOSSA_BIN:-target/release/glossa}"
py="${KBENCH_PYTHON:-$HOME/.cache/glossa/s3/venv/bin/python}"
limit="${KBENCH_TIMEOUT:-1800}"
warm="${KBENCH_OS_WARMUP:-10000}"
case "${KBENCH_ORDER:-file-first}" in
  file-first) steps="file kafka" ;;
  kafka-first) steps="kafka file" ;;
  *) echo "KBENCH_ORDER is file-first or kafka-first" >&2; exit 2 ;;
esac
stamp="$(date +%Y%m%d-%H%M%S)"
out="${KBENCH_RESULTS:-/tmp/kbench-results/$stamp}"
export GLOSSA_KAFKA_RUN_DIR=/tmp/kbench-kafka GLOSSA_KAFKA_PORT=19292 GLOSSA_KAFKA_CONTROLLER_PORT=19293 GLOSSA_KAFKA_SASL_PORT=19294
export GLOSSA_OS_RUN=/tmp/kbench-os GLOSSA_OS_HTTP_PORT=9600 GLOSSA_OS_TRANSPORT_PORT=9700
unset GLOSSA_OS_EXTRA_SETTINGS
KAFKA=scripts/kafka/kafka.sh
OS=scripts/opensearch/cluster.sh
bootstrap="127.0.0.1:$GLOSSA_KAFKA_PORT"
topic="kbench-$stamp"
work="$(mktemp -d /tmp/kbench-work.XXXXXX)"
lag_pid=""
cleanup() {
  if [[ -n "$lag_pid" ]]; then kill "$lag_pid" 2>/dev/null || true; fi
  bash "$OS" stop >/dev/null 2>&1 || true
  bash "$KAFKA" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$out"
say() { echo "kafka-bench: $*" >&2; }

[[ -x "$bin" ]] || cargo build --release --locked --quiet
"$py" -c 'import kafka' 2>/dev/null || { say "$py lacks kafka-python (pip install -r loadtest/requirements-loadgen.txt)"; exit 2; }

# The records, once: every measurement below reads exactly these lines.
python3 loadtest/loadgen.py --to "file:$work/records.ndjson" --count "$count" --seed 1 --run-id kb \
  --progress 600 >"$out/loadgen.json" 2>/dev/null

say "starting Kafka on $bootstrap and a $nodes-node OpenSearch cluster on :$GLOSSA_OS_HTTP_PORT"
bash "$KAFKA" start >/dev/null
bash "$OS" start "$nodes" >/dev/null
urls="$(bash "$OS" urls | paste -sd, -)"
first="${urls%%,*}"
"$py" loadtest/kafka_lag.py produce --bootstrap "$bootstrap" --topic "$topic" --partitions "$parts" \
  "$work/records.ndjson" >"$out/produce.json"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "records: $count, $(du -h "$work/records.ndjson" | cut -f1); topic $topic: $parts partitions, produced at $(
  python3 -c 'import json,sys; print(json.load(sys.stdin)["docs_per_s"])' <"$out/produce.json") docs/s; OpenSearch: $nodes node(s); load average $load_start"

# run NAME GROUP|- GLOSSA_ARGS...: one glossa run on a fresh data dir; with a GROUP, samples its
# consumer lag every second meanwhile. Appends one JSON line to $out/runs.jsonl.
run() {
  local name="$1" group="$2"; shift 2
  local data="$work/data-$name" csv="$out/lag-$name.csv" status=0 start end i
  rm -rf "$data"
  if [[ "$group" != - ]]; then
    "$py" loadtest/kafka_lag.py lag --bootstrap "$bootstrap" --group "$group" --topic "$topic" \
      --interval 1 --out "$csv" 2>"$out/lag-$name.err" &
    lag_pid=$!
    for ((i = 0; i < 600; i++)); do  # the first sample (lag = COUNT) before glossa starts
      [[ -f "$csv" && "$(wc -l <"$csv")" -ge 2 ]] && break
      kill -0 "$lag_pid" 2>/dev/null || { say "lag sampler died: $(cat "$out/lag-$name.err")"; exit 1; }
      sleep 0.1
    done
  fi
  start=$(date +%s.%N)
  RUST_LOG=info /usr/bin/time -f 'cpu_seconds=%U+%S peak_rss_kb=%M' -o "$out/$name.time" \
    timeout --foreground "$limit" "$bin" --data-dir "$data" "$@" >"$out/$name.out" 2>"$out/$name.err" || status=$?
  end=$(date +%s.%N)
  if [[ -n "$lag_pid" ]]; then
    kill -TERM "$lag_pid" 2>/dev/null || true
    wait "$lag_pid" || true
    lag_pid=""
  fi
  echo "$name: $(head -1 "$out/$name.out") | exit $status | $(tail -1 "$out/$name.time" 2>/dev/null || true)"
  NAME="$name" STATUS="$status" WALL="$(python3 -c "print($end - $start)")" OUTF="$out/$name.out" \
    TIMEF="$out/$name.time" python3 - >>"$out/runs.jsonl" <<'EOF'
import json, os, re
line = open(os.environ["OUTF"]).readline()
m = re.search(r"indexed (\d+) records, rejected (\d+), in ([\d.]+)s \((\d+) records/s", line)
t = open(os.environ["TIMEF"]).read() if os.path.exists(os.environ["TIMEF"]) else ""
cpu = re.search(r"cpu_seconds=([\d.]+)\+([\d.]+)", t)
rss = re.search(r"peak_rss_kb=(\d+)", t)
print(json.dumps({
    "name": os.environ["NAME"], "exit": int(os.environ["STATUS"]), "wall_s": round(float(os.environ["WALL"]), 2),
    "indexed": int(m[1]) if m else None, "rejected": int(m[2]) if m else None,
    "glossa_s": float(m[3]) if m else None, "rate": int(m[4]) if m else None,
    "cpu_s": round(float(cpu[1]) + float(cpu[2]), 1) if cpu else None,
    "rss_mb": round(int(rss[1]) / 1024) if rss else None,
}))
EOF
}

# The read alias's document count after a refresh (OpenSearch runs).
os_count() {
  curl -sf -XPOST "$first/$1/_refresh" >/dev/null
  curl -sf "$first/$1/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}

# pair BACKEND: the file run and the Kafka run on one backend, in the order KBENCH_ORDER says.
pair() {
  local backend="$1" args=(--backend "$1") file_args=() kafka_args=() group="kb-$1-$stamp" step
  if [[ "$backend" == opensearch ]]; then
    args+=(--opensearch-urls "$urls")
    file_args=(--opensearch-index "kb-file-$stamp")
    kafka_args=(--opensearch-index "kb-kafka-$stamp")
  fi
  for step in $steps; do
    if [[ "$step" == file ]]; then
      run "file-$backend" - "${args[@]}" "${file_args[@]}" ingest "$work/records.ndjson"
    else
      run "kafka-$backend" "$group" "${args[@]}" "${kafka_args[@]}" \
        ingest --from "kafka://$bootstrap/$topic?group=$group"
    fi
  done
}

pair embedded
# Warm the fresh cluster (JIT, analyzers) on a throwaway index first; otherwise the first
# OpenSearch measurement pays for it alone.
head -n "$warm" "$work/records.ndjson" >"$work/warmup.ndjson"
"$bin" --data-dir "$work/data-warmup" --backend opensearch --opensearch-urls "$urls" \
  --opensearch-index "kb-warmup-$stamp" ingest "$work/warmup.ndjson" \
  >"$out/warmup-opensearch.out" 2>"$out/warmup-opensearch.err"
echo "warm-up: $(head -1 "$out/warmup-opensearch.out")"
curl -sf -XDELETE "$first/kb-warmup-$stamp-v1" >/dev/null || say "could not delete the warm-up index"
pair opensearch
for index in "kb-file-$stamp" "kb-kafka-$stamp"; do
  echo "$index $(os_count "$index")" >>"$out/os-counts.txt"
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

for name in kafka-embedded kafka-opensearch; do
  "$py" loadtest/kafka_lag.py summary --count "$count" --label "$name" "$out/lag-$name.csv" >>"$out/lag.jsonl" || true
done

COUNT="$count" PARTS="$parts" NODES="$nodes" ORDER="${KBENCH_ORDER:-file-first}" OUT="$out" LOAD0="$load_start" LOAD1="$load_end" python3 - <<'EOF'
import json, os
out, count = os.environ["OUT"], int(os.environ["COUNT"])
runs = {r["name"]: r for r in map(json.loads, open(f"{out}/runs.jsonl"))}
lags = {l["label"]: l for l in map(json.loads, open(f"{out}/lag.jsonl"))}
produced = json.load(open(f"{out}/produce.json"))
os_counts = dict(l.split() for l in open(f"{out}/os-counts.txt"))
problems = []
for r in runs.values():
    if r["exit"] != 0:
        problems.append(f"{r['name']}: exit status {r['exit']}" + (" (timeout: hang?)" if r["exit"] == 124 else ""))
    if r["indexed"] != count or r["rejected"] != 0:
        problems.append(f"{r['name']}: indexed {r['indexed']}, rejected {r['rejected']}, expected {count} and 0")
for index, n in os_counts.items():
    if int(n) != count:
        problems.append(f"OpenSearch index {index}: _count {n}, expected {count}")
for name, l in lags.items():
    if l.get("final_lag") != 0:
        problems.append(f"{name}: final consumer lag {l.get('final_lag')}, expected 0")
    if l.get("initial_lag") != count:
        problems.append(f"{name}: initial lag {l.get('initial_lag')}, expected {count}")
if produced.get("end_offsets_total") != count:
    problems.append(f"topic holds {produced.get('end_offsets_total')} records, expected {count}")

def ratio(a, b, key):
    x, y = runs.get(a, {}).get(key), runs.get(b, {}).get(key)
    return round(x / y, 2) if x and y else None

for r in runs.values():
    r["wall_rate"] = round(count / r["wall_s"]) if r["wall_s"] else None
print()
print(f"{'run':<18}{'indexed':>9}{'rej':>5}{'docs/s':>9}{'incl.start':>12}{'cpu s':>8}{'rss MB':>8}  lag -> 0")
for name in ("file-embedded", "kafka-embedded", "file-opensearch", "kafka-opensearch"):
    r = runs.get(name)
    if not r:
        continue
    z = lags.get(name, {}).get("seconds_to_zero")
    print(f"{name:<18}{r['indexed'] or '-':>9}{r['rejected'] if r['rejected'] is not None else '-':>5}"
          f"{r['rate'] or '-':>9}{r['wall_rate'] or '-':>12}{r['cpu_s'] or '-':>8}{r['rss_mb'] or '-':>8}"
          f"  {(str(z) + ' s') if z is not None else ''}")
summary = {
    "count": count, "partitions": int(os.environ["PARTS"]), "os_nodes": int(os.environ["NODES"]),
    "order": os.environ["ORDER"],
    "produce_docs_per_s": produced.get("docs_per_s"),
    "kafka_over_file_embedded": ratio("kafka-embedded", "file-embedded", "rate"),
    "kafka_over_file_opensearch": ratio("kafka-opensearch", "file-opensearch", "rate"),
    "kafka_over_file_embedded_incl_start": ratio("kafka-embedded", "file-embedded", "wall_rate"),
    "kafka_over_file_opensearch_incl_start": ratio("kafka-opensearch", "file-opensearch", "wall_rate"),
    "runs": runs, "lag": lags, "os_counts": {k: int(v) for k, v in os_counts.items()},
    "load_average": {"start": os.environ["LOAD0"], "end": os.environ["LOAD1"]},
    "problems": problems, "results_dir": out,
}
print(f"kafka / file: embedded {summary['kafka_over_file_embedded']}, opensearch {summary['kafka_over_file_opensearch']}"
      f" (incl. process start: {summary['kafka_over_file_embedded_incl_start']}, {summary['kafka_over_file_opensearch_incl_start']})")
for name, l in lags.items():
    print(f"lag {name}: initial {l.get('initial_lag')}, first commit after {l.get('seconds_to_first_commit')} s, "
          f"0 after {l.get('seconds_to_zero')} s, samples {l.get('lag_at')}, longest standstill {l.get('longest_plateau')}")
for p in problems:
    print(f"PROBLEM: {p}")
print(f"results (lag CSVs, glossa output and logs): {out}")
line = json.dumps(summary)
open(f"{out}/summary.json", "w").write(line + "\n")
print(line)
raise SystemExit(1 if problems else 0)
EOF

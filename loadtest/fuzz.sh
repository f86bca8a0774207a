#!/usr/bin/env bash
# Fuzzes glossa's untrusted-input parsers with cargo-fuzz (libFuzzer + AddressSanitizer): each
# target in fuzz/fuzz_targets/ runs for FUZZ_SECONDS, then a summary (executions, executions/s,
# new coverage units, peak RSS, outcome) is printed. Method and recorded figures: docs/fuzzing.md.
#
# Usage: loadtest/fuzz.sh [TARGET...]        (default: every target)
#   targets: decode_record query_text cursor filters config
#   FUZZ_SECONDS   seconds per target (default 300)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB    memory limit of a fuzzing process, in MB (default 2048)
#   FUZZ_WORK_DIR  where the corpus grown during runs is kept (default fuzz/target/work-corpus);
#                  the committed seeds in fuzz/corpus/TARGET are read, never written
#   FUZZ_LOG_DIR   where each target's libFuzzer log is written (default fuzz/target/fuzz-logs)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. FUZZ_ARGS='-dict=my.dict -seed=1'
#   CARGO_TARGET_DIR is honoured (build output elsewhere than fuzz/target).
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz
# (cargo install cargo-fuzz --locked).
#
# Exit status: 0 when no target found anything; 1 when any target crashed (panic, sanitizer
# report), hung past FUZZ_TIMEOUT or ran out of memory; 2 on a usage or build error. Every
# failing input is kept in fuzz/artifacts/TARGET/ (committed as a regression input: see
# fuzz/README.md); replay one with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/FILE`.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-300}"
timeout="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
work_dir="${FUZZ_WORK_DIR:-fuzz/target/work-corpus}"
all_targets=(decode_record query_text cursor filters config)

# Longest input per target: a little over what the code under test accepts, so the size
# limits themselves are exercised (records: 64 KiB decoder limit; query text: 4096 bytes after
# NFC; cursors: about 5.5 KB of base64; filters and config files: small documents).
max_len() {
  case "$1" in
    decode_record) echo 65536 ;;
    query_text) echo 8192 ;;
    cursor) echo 8192 ;;
    filters) echo 16384 ;;
    config) echo 16384 ;;
  esac
}

if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " =~ " $t " ]]; then
    echo "error: unknown fuzz target '$t' (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: FUZZ_SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "error: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "error: cargo-fuzz not found (cargo install cargo-fuzz --locked)" >&2
  exit 2
fi

# cargo-fuzz builds the Rust code with AddressSanitizer, and the cc crate then compiles C
# dependencies with -fsanitize=address too; librdkafka's configure script links a test program
# against that instrumented libzstd without the ASan runtime and fails. The C libraries are not
# what the targets exercise: build them uninstrumented (cc honours -fno-sanitize=address).
export CFLAGS="${CFLAGS:+$CFLAGS }-fno-sanitize=address"
export CXXFLAGS="${CXXFLAGS:+$CXXFLAGS }-fno-sanitize=address"

echo "== building fuzz targets (nightly, release + debug assertions, AddressSanitizer)"
# One build of every target; each `cargo fuzz run` below then finds its binary up to date.
if ! cargo +nightly fuzz build --release --debug-assertions; then
  echo "error: building the fuzz targets failed" >&2
  exit 2
fi

logs="${FUZZ_LOG_DIR:-fuzz/target/fuzz-logs}"
mkdir -p "$logs"
failed=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$work_dir/$t" "fuzz/artifacts/$t" "fuzz/corpus/$t"
  log="$logs/$t.log"
  echo "== fuzzing $t for ${seconds}s (max_len $(max_len "$t"); log $log)"
  # The first corpus directory receives new inputs; the committed seeds are only read.
  # shellcheck disable=SC2086
  RUST_BACKTRACE=1 cargo +nightly fuzz run --release --debug-assertions "$t" \
    "$work_dir/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout="$timeout" \
    -rss_limit_mb="$rss_mb" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
  status=$?
  stat() { grep -m1 "^stat::$1:" "$log" | awk '{print $2}'; }
  execs="$(stat number_of_executed_units)"
  rate="$(stat average_exec_per_sec)"
  units="$(stat new_units_added)"
  rss="$(stat peak_rss_mb)"
  outcome="ok"
  if [[ $status -ne 0 ]]; then
    failed=1
    if grep -q "ERROR: libFuzzer: timeout" "$log"; then outcome="TIMEOUT"
    elif grep -q "out-of-memory" "$log"; then outcome="OUT-OF-MEMORY"
    elif grep -q "panicked at" "$log"; then outcome="PANIC"
    elif grep -q "ERROR: AddressSanitizer" "$log"; then outcome="SANITIZER"
    elif grep -q "ERROR: libFuzzer" "$log"; then outcome="CRASH"
    else outcome="FAILED (exit $status)"
    fi
    # cargo fuzz already writes failing inputs to fuzz/artifacts/TARGET/; copy any written
    # elsewhere (a custom -artifact_prefix in FUZZ_ARGS) so every one is kept there.
    grep -o "Test unit written to [^ ]*" "$log" | awk '{print $5}' | while read -r file; do
      [[ -f "$file" ]] || continue
      if [[ "$(cd "$(dirname "$file")" && pwd)" != "$PWD/fuzz/artifacts/$t" ]]; then
        cp "$file" "fuzz/artifacts/$t/"
      fi
      echo "   failing input: fuzz/artifacts/$t/$(basename "$file")"
    done
    echo "---- last lines of the $t log (full log: $log)"
    tail -n 60 "$log"
    echo "----"
  fi
  summary+=("$(printf '%-14s %-14s %12s %10s %9s %8s' "$t" "$outcome" "${execs:-n/a}" \
    "${rate:-n/a}" "${units:-n/a}" "${rss:-n/a}")")
done

echo
echo "== fuzz summary (${seconds}s per target, $(date -u +%Y-%m-%dT%H:%M:%SZ))"
printf '%-14s %-14s %12s %10s %9s %8s\n' target outcome executions "execs/s" "new units" "rss MB"
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
  echo "FAILED: at least one target found a failing input; see fuzz/artifacts/ and the logs in $logs" >&2
  exit 1
fi
echo "no crashes, hangs or out-of-memory inputs found (logs: $logs)"

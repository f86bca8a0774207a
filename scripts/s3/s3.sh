#!/usr/bin/env bash
# A real S3-protocol server on loopback, without Docker.
#
# Server: s3s-fs 0.14.1 (Rust, crates.io; stores objects as files under the run dir),
# built once with `cargo install --locked --root <cache>`. If that build fails or is
# not possible, falls back to moto[server] 5.2.5 (Python, PyPI; in memory) in a venv.
#
#   scripts/s3/s3.sh start     # install if missing, start, wait until it answers
#   scripts/s3/s3.sh stop      # stop it and wait for it to exit
#   scripts/s3/s3.sh status    # exit 0 if running and answering, 3 if not
#   scripts/s3/s3.sh env       # print export lines (endpoint, keys, region) for a test script
#   scripts/s3/s3.sh install   # only install the server (and nothing else)
#   scripts/s3/s3.sh smoke     # run smoke.py (boto3 in a venv under the cache) against the running server
#   scripts/s3/s3.sh python ARGS...  # run the cache venv's python (boto3 installed), e.g. for test clients
#
# Environment (all optional):
#   GLOSSA_S3_CACHE       install cache           (default ~/.cache/glossa/s3)
#   GLOSSA_S3_RUN_DIR     pid, log, data          (default /tmp/glossa-s3)
#   GLOSSA_S3_PORT        listen port             (default 8014)
#   GLOSSA_S3_ACCESS_KEY  access key              (default glossa-test-ak)
#   GLOSSA_S3_SECRET_KEY  secret key              (default glossa-test-sk)
#   GLOSSA_S3_SERVER      auto | s3s-fs | moto    (default auto: s3s-fs, else moto)
#   GLOSSA_S3_TIMEOUT     seconds to wait for readiness (default 60)
#   GLOSSA_S3_INSTALL_TIMEOUT  seconds allowed for `cargo install` (default 900)
#   GLOSSA_S3_KEEP_DATA=1 keep the s3s-fs data dir of an earlier run (default: fresh each start)
# Addressing is path-style (http://127.0.0.1:PORT/BUCKET/KEY); region us-east-1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S3S_VERSION=0.14.1
MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.5
CACHE="${GLOSSA_S3_CACHE:-$HOME/.cache/glossa/s3}"
RUN_DIR="${GLOSSA_S3_RUN_DIR:-/tmp/glossa-s3}"
PORT="${GLOSSA_S3_PORT:-8014}"
AK="${GLOSSA_S3_ACCESS_KEY:-glossa-test-ak}"
SK="${GLOSSA_S3_SECRET_KEY:-glossa-test-sk}"
SERVER="${GLOSSA_S3_SERVER:-auto}"
TIMEOUT="${GLOSSA_S3_TIMEOUT:-60}"
INSTALL_TIMEOUT="${GLOSSA_S3_INSTALL_TIMEOUT:-900}"
HOST=127.0.0.1
ENDPOINT="http://$HOST:$PORT"
S3S_ROOT="$CACHE/s3s-fs-$S3S_VERSION"
S3S_BIN="$S3S_ROOT/bin/s3s-fs"
VENV="$CACHE/venv"
PID_FILE="$RUN_DIR/s3.pid"
KIND_FILE="$RUN_DIR/s3.server"
LOG_FILE="$RUN_DIR/s3.log"
DATA="$RUN_DIR/data"

say() { echo "s3.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- installs ---------------------------------------------------------------
venv_ready() { [[ -x "$VENV/bin/python" ]]; }
make_venv() {
  venv_ready && return 0
  command -v python3 >/dev/null || die "python3 not found"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" >&2 || die "python3 -m venv failed"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
}
pip_has() { "$VENV/bin/python" -c "import $1" 2>/dev/null; }
ensure_boto3() {
  make_venv
  pip_has boto3 && return 0
  say "installing boto3==$BOTO3_VERSION into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "boto3==$BOTO3_VERSION" "botocore==$BOTO3_VERSION" >&2 \
    || die "pip install boto3 failed"
}
install_moto() {
  make_venv
  [[ -x "$VENV/bin/moto_server" ]] && return 0
  say "installing moto[server]==$MOTO_VERSION into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
      "boto3==$BOTO3_VERSION" "botocore==$BOTO3_VERSION" >&2 \
    || die "pip install moto[server]==$MOTO_VERSION failed"
}
install_s3s() {
  [[ -x "$S3S_BIN" ]] && return 0
  command -v cargo >/dev/null || { say "cargo not found"; return 1; }
  # A build that failed (not: timed out) is not retried on every start in auto mode.
  if [[ "$SERVER" == auto && -f "$S3S_ROOT.failed" ]]; then
    say "s3s-fs build failed before (see $S3S_ROOT.failed; delete it to retry)"
    return 1
  fi
  mkdir -p "$CACHE"
  say "building s3s-fs $S3S_VERSION with cargo into $S3S_ROOT (first run only, a few minutes; log $CACHE/cargo-install.log)"
  # The target dir is kept after a timeout, so a later start resumes the build.
  local tgt="$CACHE/cargo-target" rc=0
  timeout "$INSTALL_TIMEOUT" env CARGO_TARGET_DIR="$tgt" \
      cargo install s3s-fs --version "$S3S_VERSION" --features binary --locked --root "$S3S_ROOT" \
      >"$CACHE/cargo-install.log" 2>&1 || rc=$?
  if ((rc == 0)); then
    rm -rf "$tgt" "$S3S_ROOT.failed"
    return 0
  fi
  if ((rc == 124)); then
    say "cargo install s3s-fs took longer than ${INSTALL_TIMEOUT}s (GLOSSA_S3_INSTALL_TIMEOUT); last lines:"
  else
    say "cargo install s3s-fs failed (exit $rc); last lines:"
    cp "$CACHE/cargo-install.log" "$S3S_ROOT.failed"
  fi
  tail -n 15 "$CACHE/cargo-install.log" >&2 || true
  return 1
}
# Picks the server and makes sure it is installed; prints its kind.
install_server() {
  case "$SERVER" in
    s3s-fs) install_s3s || die "s3s-fs install failed"; echo s3s-fs ;;
    moto) install_moto; echo moto ;;
    auto)
      if install_s3s; then echo s3s-fs
      else say "falling back to moto[server]"; install_moto; echo moto; fi ;;
    *) die "GLOSSA_S3_SERVER must be auto, s3s-fs or moto (got '$SERVER')" ;;
  esac
}

# --- process helpers ----------------------------------------------------------
pid_alive() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }
# Any HTTP status line (an unsigned request gets 403 from s3s-fs) means the server answers.
http_answers() {
  local code
  code="$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$ENDPOINT/" 2>/dev/null)" || return 1
  [[ "$code" =~ ^[2-5][0-9][0-9]$ ]]
}

print_env() {
  cat <<EOF
export GLOSSA_S3_ENDPOINT=$ENDPOINT
export GLOSSA_S3_ACCESS_KEY=$AK
export GLOSSA_S3_SECRET_KEY=$SK
export GLOSSA_S3_REGION=us-east-1
export GLOSSA_S3_SERVER_KIND=$(cat "$KIND_FILE" 2>/dev/null || echo unknown)
export AWS_ACCESS_KEY_ID=$AK
export AWS_SECRET_ACCESS_KEY=$SK
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=$ENDPOINT
EOF
}

fail_start() {
  say "error: $*"
  say "---- last 40 lines of $LOG_FILE ----"
  tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
  say "----"
  if pid_alive; then kill -9 "$(cat "$PID_FILE")" 2>/dev/null || true; fi
  rm -f "$PID_FILE"
  exit 1
}

# --- commands -----------------------------------------------------------------
cmd_start() {
  command -v curl >/dev/null || die "curl not found (used for the readiness check)"
  if pid_alive; then
    say "already running (pid $(cat "$PID_FILE"), $(cat "$KIND_FILE")) at $ENDPOINT"
    print_env
    return 0
  fi
  port_open && die "port $PORT is already in use on $HOST (set GLOSSA_S3_PORT)"
  local kind t0
  kind="$(install_server)"
  t0=$SECONDS
  mkdir -p "$RUN_DIR"
  echo "$kind" >"$KIND_FILE"
  : >"$LOG_FILE"
  case "$kind" in
    s3s-fs)
      [[ "${GLOSSA_S3_KEEP_DATA:-0}" == 1 ]] || rm -rf "$DATA"
      mkdir -p "$DATA"
      RUST_LOG="${RUST_LOG:-info}" setsid "$S3S_BIN" --host "$HOST" --port "$PORT" \
        --access-key "$AK" --secret-key "$SK" "$DATA" </dev/null >>"$LOG_FILE" 2>&1 &
      ;;
    moto)
      # moto accepts any credentials; keeps everything in memory.
      setsid "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" </dev/null >>"$LOG_FILE" 2>&1 &
      ;;
  esac
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + TIMEOUT))
  until http_answers; do
    pid_alive || fail_start "$kind exited during startup"
    ((SECONDS < deadline)) || fail_start "$kind did not answer on $ENDPOINT within ${TIMEOUT}s"
    sleep 0.3
  done
  say "$kind ready at $ENDPOINT (pid $(cat "$PID_FILE"), $((SECONDS - t0))s, access key '$AK', secret key '$SK', path-style, log $LOG_FILE)"
  print_env
}

cmd_stop() {
  if ! pid_alive; then say "not running"; rm -f "$PID_FILE"; return 0; fi
  local pid i; pid="$(cat "$PID_FILE")"
  kill -INT "$pid" 2>/dev/null || true   # s3s-fs shuts down gracefully on SIGINT
  for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    say "did not exit after INT and TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
  fi
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  if pid_alive && http_answers; then
    say "running (pid $(cat "$PID_FILE"), $(cat "$KIND_FILE" 2>/dev/null)) at $ENDPOINT"
    print_env
    return 0
  fi
  if pid_alive; then say "process $(cat "$PID_FILE") alive but $ENDPOINT not answering"; return 3; fi
  say "not running"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) print_env ;;
  install) say "installed: $(install_server)" ;;
  smoke)
    ensure_boto3
    pid_alive || die "not running (run: $0 start)"
    eval "$(print_env)"
    "$VENV/bin/python" "$HERE/smoke.py" ;;
  python) shift; ensure_boto3; exec "$VENV/bin/python" "$@" ;;
  *) echo "usage: $0 start|stop|status|env|install|smoke|python ARGS..." >&2; exit 2 ;;
esac

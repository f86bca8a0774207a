#!/usr/bin/env bash
# A real Apache Kafka 4.x broker (KRaft, combined broker+controller, one node) on
# loopback, without Docker: the jars come from Maven Central through pom.xml
# beside this script and are cached, so later runs are offline.
#
#   scripts/kafka/kafka.sh start     # fetch jars if needed, format fresh storage, start, wait until ready
#   scripts/kafka/kafka.sh stop      # stop the broker and wait for it to exit
#   scripts/kafka/kafka.sh status    # exit 0 if running and answering, 3 if not
#   scripts/kafka/kafka.sh env       # print the export lines a test script can eval
#   scripts/kafka/kafka.sh fetch     # only resolve the jars into the cache
#   scripts/kafka/kafka.sh classpath # print the classpath (for tool classes)
#   scripts/kafka/kafka.sh run CLASS [ARGS...]   # run a tool class on the same classpath, e.g.
#       kafka.sh run org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
#
# Environment (all optional):
#   GLOSSA_KAFKA_CACHE        jar cache           (default ~/.cache/glossa/kafka-4.x)
#   GLOSSA_KAFKA_RUN_DIR      pid, log, data      (default /tmp/glossa-kafka)
#   GLOSSA_KAFKA_PORT         broker port         (default 19092)
#   GLOSSA_KAFKA_CONTROLLER_PORT  controller port (default 19093)
#   GLOSSA_KAFKA_SASL_PORT    SASL_PLAINTEXT listener, SCRAM-SHA-512, user glossa (default 19094)
#   GLOSSA_KAFKA_TIMEOUT      seconds to wait for readiness (default 120)
#   GLOSSA_KAFKA_HEAP         broker -Xmx         (default 512m)
#   GLOSSA_KAFKA_KEEP_DATA=1  keep the data dir of an earlier run instead of formatting a fresh one
#   JAVA                      java binary         (default: java on PATH; needs 17+)
#
# Topic auto-creation is OFF: tests create their topics (with the partition count
# they need) explicitly, e.g. with `kafka.sh run org.apache.kafka.tools.TopicCommand ...`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
CACHE="${GLOSSA_KAFKA_CACHE:-$HOME/.cache/glossa/kafka-4.x}"
LIB="$CACHE/lib-$KAFKA_VERSION"
RUN_DIR="${GLOSSA_KAFKA_RUN_DIR:-/tmp/glossa-kafka}"
PORT="${GLOSSA_KAFKA_PORT:-19092}"
CPORT="${GLOSSA_KAFKA_CONTROLLER_PORT:-19093}"
# A second client listener with SASL/SCRAM authentication, for tests of the security settings.
SPORT="${GLOSSA_KAFKA_SASL_PORT:-19094}"
SASL_USER=glossa
SASL_PASSWORD=glossa-test-secret
TIMEOUT="${GLOSSA_KAFKA_TIMEOUT:-120}"
HEAP="${GLOSSA_KAFKA_HEAP:-512m}"
JAVA="${JAVA:-java}"
HOST=127.0.0.1
BOOTSTRAP="$HOST:$PORT"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_FILE="$RUN_DIR/kafka.log"
PROPS="$RUN_DIR/kraft.properties"
LOG4J="$RUN_DIR/log4j2.xml"
DATA="$RUN_DIR/data"
# Short-lived tool JVMs: small heap, quick start.
TOOL_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

say() { echo "kafka.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- jars -----------------------------------------------------------------
fetch() {
  local stamp="$LIB/.pom.sha256" want
  want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka $KAFKA_VERSION jars into $LIB)"
  say "fetching Kafka $KAFKA_VERSION jars into $LIB (first run only; ~55 MB)"
  mkdir -p "$CACHE"
  local tmp="$LIB.tmp.$$"
  rm -rf "$tmp"
  if ! (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
          -DoutputDirectory="$tmp" >"$CACHE/mvn.log" 2>&1); then
    tail -n 40 "$CACHE/mvn.log" >&2 || true
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (full log: $CACHE/mvn.log)"
  fi
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  echo "$want" >"$stamp"
}

classpath() { echo "$LIB/*"; }

run_tool() {
  local cls="$1"; shift
  "$JAVA" "${TOOL_OPTS[@]}" -Dlog4j2.configurationFile="file:$RUN_DIR/log4j2-tools.xml" \
    -cp "$(classpath)" "$cls" "$@"
}

# --- process helpers ------------------------------------------------------
pid_alive() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

print_env() {
  cat <<EOF
export GLOSSA_KAFKA_BOOTSTRAP=$BOOTSTRAP
export GLOSSA_KAFKA_CLASSPATH='$(classpath)'
export GLOSSA_KAFKA_LOG=$LOG_FILE
export GLOSSA_KAFKA_SASL_BOOTSTRAP=$HOST:$SPORT
export GLOSSA_KAFKA_SASL_USER=$SASL_USER
export GLOSSA_KAFKA_SASL_PASSWORD=$SASL_PASSWORD
EOF
}

write_configs() {
  mkdir -p "$RUN_DIR"
  cat >"$PROPS" <<EOF
# written by scripts/kafka/kafka.sh; regenerated on every start
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT,SASL_PLAINTEXT://$HOST:$SPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT,SASL_PLAINTEXT://$HOST:$SPORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
log.retention.check.interval.ms=300000
EOF
  write_log4j "$LOG4J" INFO
  write_log4j "$RUN_DIR/log4j2-tools.xml" WARN
}

# write_log4j FILE ROOT_LEVEL: log4j2 config logging to stderr (the broker's stderr goes to $LOG_FILE).
write_log4j() {
  mkdir -p "$RUN_DIR"
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by scripts/kafka/kafka.sh -->
<Configuration status="WARN">
  <Appenders>
    <Console name="STDERR" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d{ISO8601}] %p %m (%c{1})%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="WARN"/>
    <Root level="$2"><AppenderRef ref="STDERR"/></Root>
  </Loggers>
</Configuration>
EOF
}

fail_start() {
  say "error: $*"
  say "---- last 60 lines of $LOG_FILE ----"
  tail -n 60 "$LOG_FILE" >&2 2>/dev/null || true
  say "----"
  if pid_alive; then kill -9 "$(cat "$PID_FILE")" 2>/dev/null || true; fi
  rm -f "$PID_FILE"
  exit 1
}

# --- commands -------------------------------------------------------------
cmd_start() {
  command -v "$JAVA" >/dev/null || die "java not found (need Java 17+)"
  fetch
  if pid_alive; then
    say "already running (pid $(cat "$PID_FILE")) on $BOOTSTRAP"
    print_env
    return 0
  fi
  port_open "$PORT" && die "port $PORT is already in use on $HOST (set GLOSSA_KAFKA_PORT)"
  port_open "$CPORT" && die "port $CPORT is already in use on $HOST (set GLOSSA_KAFKA_CONTROLLER_PORT)"
  port_open "$SPORT" && die "port $SPORT is already in use on $HOST (set GLOSSA_KAFKA_SASL_PORT)"
  write_configs
  local t0=$SECONDS
  if [[ "${GLOSSA_KAFKA_KEEP_DATA:-0}" != 1 ]]; then rm -rf "$DATA"; fi
  : >"$LOG_FILE"
  : >"$RUN_DIR/ready-probe.log"
  if [[ ! -f "$DATA/meta.properties" ]]; then
    local id
    id="$(run_tool kafka.tools.StorageTool random-uuid 2>>"$LOG_FILE")" || fail_start "StorageTool random-uuid failed"
    # The SCRAM credentials of the SASL listener are written into the metadata at format time.
    run_tool kafka.tools.StorageTool format --standalone -t "$id" -c "$PROPS" --ignore-formatted \
      --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" \
      >>"$LOG_FILE" 2>&1 || fail_start "StorageTool format failed"
  fi
  # setsid: own process group, so the caller's Ctrl-C or job control does not hit it.
  setsid "$JAVA" -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="file:$LOG4J" -Dkafka.logs.dir="$RUN_DIR" \
    -cp "$(classpath)" kafka.Kafka "$PROPS" </dev/null >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + TIMEOUT))
  until port_open "$PORT"; do
    pid_alive || fail_start "broker exited during startup"
    ((SECONDS < deadline)) || fail_start "port $PORT did not open within ${TIMEOUT}s"
    sleep 0.5
  done
  # The port answering is not enough: wait until a metadata request (Admin listTopics) works.
  until run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list \
          >/dev/null 2>>"$RUN_DIR/ready-probe.log"; do
    pid_alive || fail_start "broker exited during startup"
    ((SECONDS < deadline)) || fail_start "no metadata answer from $BOOTSTRAP within ${TIMEOUT}s (probe log: $RUN_DIR/ready-probe.log)"
    sleep 1
  done
  say "Kafka $KAFKA_VERSION ready on $BOOTSTRAP (pid $(cat "$PID_FILE"), $((SECONDS - t0))s, log $LOG_FILE)"
  print_env
}

cmd_stop() {
  if ! pid_alive; then
    say "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  local pid; pid="$(cat "$PID_FILE")"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do   # controlled shutdown normally takes a few seconds
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "did not exit within 30s after TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  if pid_alive && port_open "$PORT"; then
    say "running (pid $(cat "$PID_FILE")) on $BOOTSTRAP"
    print_env
    return 0
  fi
  if pid_alive; then say "process $(cat "$PID_FILE") alive but port $PORT not answering"; return 3; fi
  say "not running"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) print_env ;;
  fetch) fetch; say "jars in $LIB ($(ls "$LIB" | wc -l) files)" ;;
  classpath) fetch; classpath ;;
  run)
    shift; [[ $# -ge 1 ]] || die "usage: $0 run CLASS [ARGS...]"
    fetch
    [[ -f "$RUN_DIR/log4j2-tools.xml" ]] || write_log4j "$RUN_DIR/log4j2-tools.xml" WARN
    run_tool "$@" ;;
  *) echo "usage: $0 start|stop|status|env|fetch|classpath|run CLASS [ARGS...]" >&2; exit 2 ;;
esac

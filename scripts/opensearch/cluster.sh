#!/usr/bin/env bash
# A real OpenSearch 2.19.6 test cluster on loopback, one JVM per node, no Docker, no tarball.
#
#   cluster.sh start [NODES]     resolve/compile once (cached), start NODES (default 2) nodes, wait for green
#   cluster.sh stop              stop every node (SIGTERM, then SIGKILL after GLOSSA_OS_STOP_TIMEOUT s)
#   cluster.sh stop-node I [--kill]   stop node I (0-based); --kill sends SIGKILL at once (a crash)
#   cluster.sh start-node I      start node I again (same data dir), e.g. after stop-node
#   cluster.sh status            pid of each node, _cat/nodes and cluster health
#   cluster.sh wait-green [N]    wait for N nodes (default: as started) and status green
#   cluster.sh wait-status S [N] wait for N nodes and status S (green|yellow)
#   cluster.sh urls              the HTTP URL of each node, one a line
#   cluster.sh prepare           only resolve the artifacts and compile (no node started)
#   cluster.sh logs [I]          tail of each node's log (or node I's)
#   cluster.sh ca                the CA certificate of a secured cluster (GLOSSA_OS_SECURE=1)
#
# Environment (all optional):
#   GLOSSA_OS_CACHE           artifacts + compiled classes  (~/.cache/glossa/opensearch-2.19.6)
#   GLOSSA_OS_RUN             pid files, node homes, data, logs (/tmp/glossa-opensearch)
#   GLOSSA_OS_HTTP_PORT       HTTP port of node 0; node I gets +I   (9200)
#   GLOSSA_OS_TRANSPORT_PORT  transport port of node 0; node I gets +I (9300)
#   GLOSSA_OS_HEAP            -Xms/-Xmx of each node                 (512m)
#   GLOSSA_OS_CLUSTER_NAME    cluster.name                           (glossa-test)
#   GLOSSA_OS_TIMEOUT         seconds to wait for the cluster        (180)
#   GLOSSA_OS_MVN_TIMEOUT     seconds allowed to mvn                 (900)
#   GLOSSA_OS_MVN_ARGS        extra mvn arguments, e.g. -Dmaven.repo.local=/path or -o
#   GLOSSA_OS_STOP_TIMEOUT    seconds a node gets to exit on SIGTERM (30)
#   GLOSSA_OS_EXTRA_SETTINGS  file of opensearch.yml lines appended to every node's config
#   GLOSSA_OS_SECURE          1: the real security plugin, HTTPS with a CA made per start, basic
#                             auth (user admin); for managed-cluster settings (TLS, passwords)   (0)
#   GLOSSA_OS_ADMIN_PASSWORD  the admin password of a secured cluster    (Glossa-test-secret-1)
#   JAVA_HOME                 the JDK (java and javac 17; 2.19.6 does not need newer)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OS_VERSION=2.19.6
CACHE="${GLOSSA_OS_CACHE:-$HOME/.cache/glossa/opensearch-$OS_VERSION}"
RUN="${GLOSSA_OS_RUN:-/tmp/glossa-opensearch}"
HTTP_BASE="${GLOSSA_OS_HTTP_PORT:-9200}"
TRANSPORT_BASE="${GLOSSA_OS_TRANSPORT_PORT:-9300}"
HEAP="${GLOSSA_OS_HEAP:-512m}"
CLUSTER_NAME="${GLOSSA_OS_CLUSTER_NAME:-glossa-test}"
TIMEOUT="${GLOSSA_OS_TIMEOUT:-180}"
MVN_TIMEOUT="${GLOSSA_OS_MVN_TIMEOUT:-900}"
STOP_TIMEOUT="${GLOSSA_OS_STOP_TIMEOUT:-30}"
SECURE="${GLOSSA_OS_SECURE:-0}"
ADMIN_PASSWORD="${GLOSSA_OS_ADMIN_PASSWORD:-Glossa-test-secret-1}"
# The newest opensearch-security build for 2.19 that Maven Central serves here (no 2.19.6.0 is);
# its descriptor is set to $OS_VERSION, as 2.19 patch releases share the plugin API.
SECURITY_VERSION=2.19.4.0
SECURITY="$CACHE/security-$SECURITY_VERSION"
NODE_DN="CN=glossa-test-node,OU=glossa,O=glossa-test"   # the subject below, in RFC 2253 order
if [[ "$SECURE" == 1 ]]; then SCHEME=https; else SCHEME=http; fi
if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; JAVAC="$JAVA_HOME/bin/javac"; JAR="$JAVA_HOME/bin/jar"
else JAVA=java; JAVAC=javac; JAR=jar; fi

# plugin name | plugin class | jars (globs in the resolved set) that go into plugins/<name>/
PLUGINS=(
  "analysis-icu|glossa.testcluster.analysis.icu.AnalysisICUPlugin|lucene-analysis-icu-*.jar icu4j-*.jar"
  "analysis-kuromoji|glossa.testcluster.analysis.kuromoji.AnalysisKuromojiPlugin|lucene-analysis-kuromoji-*.jar"
  "analysis-smartcn|glossa.testcluster.analysis.smartcn.AnalysisSmartChinesePlugin|lucene-analysis-smartcn-*.jar"
  "analysis-nori|glossa.testcluster.analysis.nori.AnalysisNoriPlugin|lucene-analysis-nori-*.jar"
  "analysis-stempel|glossa.testcluster.analysis.stempel.AnalysisStempelPlugin|lucene-analysis-stempel-*.jar"
  "analysis-ukrainian|glossa.testcluster.analysis.ukrainian.AnalysisUkrainianPlugin|lucene-analysis-morfologik-*.jar morfologik-*.jar"
)

say() { echo "cluster.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- prepare (cached)
inputs_hash() {
  { cat "$HERE/pom.xml" "$HERE/TestCluster.java"; find "$HERE/plugins-src" -type f -name '*.java' | sort | xargs cat
    printf '%s\n' "${PLUGINS[@]}"; } | sha256sum | cut -c1-16
}

prepare() {
  command -v "$JAVA" >/dev/null || die "java not found"
  command -v "$JAVAC" >/dev/null || die "javac not found (a JDK 17 is needed, not only a JRE)"
  local hash; hash="$(inputs_hash)"
  if [[ -f "$CACHE/.ready" && "$(cat "$CACHE/.ready")" == "$hash" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$(dirname "$CACHE")"
  local tmp="$CACHE.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp/jars" "$tmp/lib" "$tmp/plugins" "$tmp/classes" "$tmp/build"
  say "resolving OpenSearch $OS_VERSION artifacts with mvn (a first run downloads ~110 MB into the Maven repository) ..."
  local t0=$SECONDS
  # shellcheck disable=SC2086
  if ! timeout "$MVN_TIMEOUT" mvn -q -B ${GLOSSA_OS_MVN_ARGS:-} -f "$HERE/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$tmp/jars" >"$tmp/mvn.log" 2>&1; then
    tail -n 40 "$tmp/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed or timed out after ${MVN_TIMEOUT}s (log: $tmp/mvn.log)"
  fi
  say "mvn done in $((SECONDS - t0)) s"
  # split: plugin jars -> plugins/<name>/, everything else -> lib/ (the server classpath)
  local entry name cls globs g f
  for entry in "${PLUGINS[@]}"; do
    IFS='|' read -r name cls globs <<<"$entry"
    mkdir -p "$tmp/plugins/$name"
    for g in $globs; do
      for f in "$tmp/jars/"$g; do
        [[ -f "$f" ]] || die "no jar matches $g for $name"
        mv "$f" "$tmp/plugins/$name/"
      done
    done
  done
  mv "$tmp/jars/"*.jar "$tmp/lib/"
  # compile each plugin against the server classpath + its own jars, and write its descriptor
  for entry in "${PLUGINS[@]}"; do
    IFS='|' read -r name cls globs <<<"$entry"
    mkdir -p "$tmp/build/$name"
    "$JAVAC" -nowarn --release 11 -encoding UTF-8 -d "$tmp/build/$name" \
      -cp "$tmp/lib/*:$tmp/plugins/$name/*" $(find "$HERE/plugins-src/$name" -name '*.java') \
      >"$tmp/build/$name.log" 2>&1 || { cat "$tmp/build/$name.log" >&2; die "javac failed for $name"; }
    "$JAR" cf "$tmp/plugins/$name/glossa-$name-$OS_VERSION.jar" -C "$tmp/build/$name" .
    cat >"$tmp/plugins/$name/plugin-descriptor.properties" <<PROPS
description=Glossa test-cluster stand-in for the OpenSearch $name plugin (same component names, Lucene's analysis library)
version=$OS_VERSION
name=$name
classname=$cls
java.version=11
opensearch.version=$OS_VERSION
extended.plugins=
has.native.controller=false
PROPS
  done
  "$JAVAC" -nowarn -encoding UTF-8 -d "$tmp/classes" -cp "$tmp/lib/*" "$HERE/TestCluster.java" \
    >"$tmp/build/TestCluster.log" 2>&1 || { cat "$tmp/build/TestCluster.log" >&2; die "javac failed for TestCluster.java"; }
  rm -rf "$tmp/jars" "$tmp/build"
  echo "$hash" >"$tmp/.ready"
  rm -rf "$CACHE"; mv "$tmp" "$CACHE"
  say "cache ready: $CACHE ($(du -sh "$CACHE" | cut -f1))"
}

# The security plugin zip, without the jars the server classpath already has (the launcher puts
# the modules on it; two copies of a class fail the jar-hell check). Cached like the rest.
prepare_security() {
  [[ -f "$SECURITY/.ready" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl): a secured cluster needs certificates"
  command -v unzip >/dev/null || die "unzip not found (apt-get install unzip)"
  local tmp="$SECURITY.tmp.$$" f base
  rm -rf "$tmp"; mkdir -p "$tmp"
  say "resolving opensearch-security $SECURITY_VERSION with mvn (~45 MB on a first run) ..."
  # shellcheck disable=SC2086
  if ! (cd "$tmp" && timeout "$MVN_TIMEOUT" mvn -q -B ${GLOSSA_OS_MVN_ARGS:-} dependency:copy \
        -Dartifact="org.opensearch.plugin:opensearch-security:$SECURITY_VERSION:zip" -DoutputDirectory="$tmp" \
        >"$tmp/mvn.log" 2>&1); then
    tail -n 40 "$tmp/mvn.log" >&2
    die "mvn could not fetch opensearch-security $SECURITY_VERSION (log: $tmp/mvn.log)"
  fi
  unzip -q "$tmp/opensearch-security-$SECURITY_VERSION.zip" -d "$tmp/plugin"
  mv "$tmp/plugin/config" "$tmp/config"
  rm -rf "$tmp/plugin/tools" "$tmp/opensearch-security-$SECURITY_VERSION.zip"
  for f in "$tmp/plugin/"*.jar; do
    base="$(basename "$f" | sed -E 's/-[0-9][0-9.]*(-jre|\.Final)?\.jar$//')"
    if compgen -G "$CACHE/lib/$base-[0-9]*.jar" >/dev/null; then rm "$f"; fi
  done
  sed -i "s/^opensearch.version=.*/opensearch.version=$OS_VERSION/" "$tmp/plugin/plugin-descriptor.properties"
  echo "$SECURITY_VERSION" >"$tmp/.ready"
  rm -rf "$SECURITY"; mv "$tmp" "$SECURITY"
}

# A CA and one node certificate (for 127.0.0.1 and localhost) per start, and the admin's hash.
make_certificates() {
  local c="$RUN/certs"
  mkdir -p "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$c/root-ca-key.pem" -out "$c/root-ca.pem" -days 30 \
    -subj "/CN=glossa-test-root-ca" >/dev/null 2>&1 || die "openssl could not make the test CA"
  openssl req -newkey rsa:2048 -nodes -keyout "$c/node-rsa.pem" -out "$c/node.csr" \
    -subj "/O=glossa-test/OU=glossa/CN=glossa-test-node" >/dev/null 2>&1 || die "openssl could not make the node key"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' >"$c/node.ext"
  openssl x509 -req -in "$c/node.csr" -CA "$c/root-ca.pem" -CAkey "$c/root-ca-key.pem" -CAcreateserial \
    -out "$c/node.pem" -days 30 -extfile "$c/node.ext" >/dev/null 2>&1 || die "openssl could not sign the node certificate"
  openssl pkcs8 -topk8 -nocrypt -in "$c/node-rsa.pem" -out "$c/node-key.pem" || die "openssl pkcs8 failed"
  "$JAVA" -cp "$SECURITY/plugin/*:$CACHE/lib/*" org.opensearch.security.tools.Hasher -p "$ADMIN_PASSWORD" 2>/dev/null \
    | tail -n 1 >"$c/admin.hash"
  grep -q '^\$2' "$c/admin.hash" || die "could not hash the admin password with the security plugin's Hasher"
}

# curl with the cluster's CA and the admin's password when it is secured.
os_curl() {
  if [[ "$SECURE" == 1 ]]; then curl --cacert "$RUN/certs/root-ca.pem" -u "admin:$ADMIN_PASSWORD" "$@"; else curl "$@"; fi
}

# ---------------------------------------------------------------- nodes
node_dir() { echo "$RUN/node-$1"; }
node_pid() { local f; f="$(node_dir "$1")/pid"; [[ -f "$f" ]] && cat "$f" || true; }
alive() { local p; p="$(node_pid "$1")"; [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; }
http_port() { echo $((HTTP_BASE + $1)); }
transport_port() { echo $((TRANSPORT_BASE + $1)); }
nodes_started() { [[ -f "$RUN/nodes" ]] && cat "$RUN/nodes" || echo 0; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_node_config() {  # i n
  local i=$1 n=$2 d; d="$(node_dir "$i")"
  mkdir -p "$d/home/config" "$d/home/plugins" "$d/home/modules" "$d/data" "$d/logs" "$d/tmp"
  local seeds="" j
  for ((j = 0; j < n; j++)); do seeds+="${seeds:+, }\"127.0.0.1:$(transport_port "$j")\""; done
  {
    echo "cluster.name: $CLUSTER_NAME"
    echo "node.name: node-$i"
    echo "path.data: $d/data"
    echo "path.logs: $d/logs"
    echo "network.host: 127.0.0.1"
    echo "http.port: $(http_port "$i")"
    echo "transport.port: $(transport_port "$i")"
    if ((n == 1)); then
      echo "discovery.type: single-node"
    else
      echo "discovery.seed_hosts: [$seeds]"
      echo "cluster.initial_cluster_manager_nodes: [\"node-0\"]"
    fi
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    if [[ -n "${GLOSSA_OS_EXTRA_SETTINGS:-}" ]]; then cat "$GLOSSA_OS_EXTRA_SETTINGS"; fi
    if [[ "$SECURE" == 1 ]]; then
      local setting
      for setting in transport http; do
        echo "plugins.security.ssl.$setting.pemcert_filepath: node.pem"
        echo "plugins.security.ssl.$setting.pemkey_filepath: node-key.pem"
        echo "plugins.security.ssl.$setting.pemtrustedcas_filepath: root-ca.pem"
      done
      echo "plugins.security.ssl.http.enabled: true"
      echo "plugins.security.ssl.transport.enforce_hostname_verification: false"
      echo "plugins.security.nodes_dn: [\"$NODE_DN\"]"
      echo "plugins.security.authcz.admin_dn: [\"CN=glossa-test-admin,OU=glossa,O=glossa-test\"]"
      echo "plugins.security.allow_default_init_securityindex: true"
      echo "plugins.security.audit.type: noop"
    fi
  } >"$d/home/config/opensearch.yml"
  cat >"$d/home/config/log4j2.properties" <<L4J
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $d/logs/opensearch.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [node-$i] %m%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
L4J
  # the plugins, one folder each, as an installation has them (hard links when possible)
  rm -rf "$d/home/plugins"; mkdir -p "$d/home/plugins"
  cp -al "$CACHE/plugins/." "$d/home/plugins/" 2>/dev/null || cp -a "$CACHE/plugins/." "$d/home/plugins/"
  if [[ "$SECURE" == 1 ]]; then
    cp -a "$SECURITY/plugin" "$d/home/plugins/opensearch-security"
    cp "$RUN/certs/root-ca.pem" "$RUN/certs/node.pem" "$RUN/certs/node-key.pem" "$d/home/config/"
    rm -rf "$d/home/config/opensearch-security"; cp -a "$SECURITY/config" "$d/home/config/opensearch-security"
    printf '_meta:\n  type: "internalusers"\n  config_version: 2\nadmin:\n  hash: "%s"\n  reserved: true\n  backend_roles: ["admin"]\n' \
      "$(cat "$RUN/certs/admin.hash")" >"$d/home/config/opensearch-security/internal_users.yml"
    # the plugin warns about anything readable by others
    chmod -R go-rwx "$d/home/config"
  fi
}

launch_node() {  # i
  local i=$1 d; d="$(node_dir "$i")"
  local hp tp; hp="$(http_port "$i")"; tp="$(transport_port "$i")"
  port_busy "$hp" && die "port $hp (http of node-$i) is already in use; set GLOSSA_OS_HTTP_PORT"
  port_busy "$tp" && die "port $tp (transport of node-$i) is already in use; set GLOSSA_OS_TRANSPORT_PORT"
  # JVM flags: heap, plus the system JVM options the 2.19 launcher adds on JDK 17
  setsid "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 \
    -Xss1m -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true -XX:-OmitStackTraceInFastThrow \
    -XX:+ShowCodeDetailsInExceptionMessages -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
    -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Djava.locale.providers=SPI,COMPAT \
    -Dopensearch.set.netty.runtime.available.processors=false \
    -Djava.io.tmpdir="$d/tmp" -XX:ErrorFile="$d/logs/hs_err_pid%p.log" \
    -Dlog4j2.configurationFile="file:$d/home/config/log4j2.properties" \
    -cp "$CACHE/lib/*:$CACHE/classes" TestCluster "$d/home" \
    </dev/null >"$d/logs/stdout.log" 2>&1 &
  echo $! >"$d/pid"
  say "node-$i pid $! $SCHEME://127.0.0.1:$hp transport 127.0.0.1:$tp (log $d/logs/opensearch.log)"
}

print_logs() {  # [i]
  local i n; n="$(nodes_started)"
  for ((i = 0; i < n; i++)); do
    [[ -n "${1:-}" && "$1" != "$i" ]] && continue
    local d; d="$(node_dir "$i")"
    echo "----- node-$i ($(alive "$i" && echo running || echo "not running")): tail of $d/logs/opensearch.log" >&2
    tail -n 40 "$d/logs/opensearch.log" 2>/dev/null >&2 || echo "(no log)" >&2
    if [[ -s "$d/logs/stdout.log" ]]; then
      echo "----- node-$i: tail of $d/logs/stdout.log" >&2; tail -n 20 "$d/logs/stdout.log" >&2
    fi
  done
}

# wait_status STATUS N: bounded wait; fails if a node that should run died
wait_status() {
  local status=$1 want=$2 n; n="$(nodes_started)"
  ((n > 0)) || die "no cluster started under $RUN"
  local deadline=$((SECONDS + TIMEOUT)) body="" i url
  while ((SECONDS < deadline)); do
    for ((i = 0; i < n; i++)); do
      if [[ ! -f "$(node_dir "$i")/stopped" ]] && ! alive "$i"; then
        print_logs; die "node-$i exited while waiting for the cluster (see logs above)"
      fi
    done
    # ask any running node
    for ((i = 0; i < n; i++)); do
      alive "$i" || continue
      url="$SCHEME://127.0.0.1:$(http_port "$i")/_cluster/health?wait_for_nodes=$want&wait_for_status=$status&timeout=5s"
      if body="$(os_curl -s -m 10 -f "$url" 2>/dev/null)" && [[ "$body" == *'"timed_out":false'* ]]; then
        say "cluster $status with $want node(s) after $((SECONDS - ${WAIT_T0:-0})) s: $body"
        return 0
      fi
      break
    done
    sleep 1
  done
  print_logs
  die "cluster not $status with $want node(s) within ${TIMEOUT}s (last answer: ${body:-none})"
}

stop_node() {  # i [--kill]
  local i=$1 sig=TERM p; [[ "${2:-}" == "--kill" ]] && sig=KILL
  p="$(node_pid "$i")"
  touch "$(node_dir "$i")/stopped"
  if [[ -z "$p" ]] || ! kill -0 "$p" 2>/dev/null; then say "node-$i is not running"; return 0; fi
  kill -"$sig" "$p" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$p" 2>/dev/null; then
    say "node-$i (pid $p) still running after ${STOP_TIMEOUT}s: SIGKILL"; kill -KILL "$p" 2>/dev/null || true
    deadline=$((SECONDS + 10)); while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  kill -0 "$p" 2>/dev/null && die "node-$i (pid $p) did not exit"
  say "node-$i stopped (SIG$sig)"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  prepare) prepare ;;
  start)
    n="${1:-2}"; [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "NODES must be a positive number, got '$n'"
    for ((i = 0; i < $(nodes_started); i++)); do alive "$i" && die "a cluster is already running under $RUN (cluster.sh stop first)"; done
    T0=$SECONDS; prepare; if [[ "$SECURE" == 1 ]]; then prepare_security; fi; say "prepared in $((SECONDS - T0)) s"
    rm -rf "$RUN"; mkdir -p "$RUN"; echo "$n" >"$RUN/nodes"
    if [[ "$SECURE" == 1 ]]; then make_certificates; fi
    for ((i = 0; i < n; i++)); do write_node_config "$i" "$n"; done
    for ((i = 0; i < n; i++)); do
      port_busy "$(http_port "$i")" && die "port $(http_port "$i") (http of node-$i) is already in use; set GLOSSA_OS_HTTP_PORT"
      port_busy "$(transport_port "$i")" && die "port $(transport_port "$i") (transport of node-$i) is already in use; set GLOSSA_OS_TRANSPORT_PORT"
    done
    # whatever goes wrong from here on, no node is left running
    trap 'say "start failed: stopping the nodes"; for ((j = 0; j < n; j++)); do stop_node "$j" --kill >/dev/null 2>&1 || true; done' EXIT
    for ((i = 0; i < n; i++)); do launch_node "$i"; done
    WAIT_T0=$SECONDS
    wait_status green "$n"
    trap - EXIT
    for ((i = 0; i < n; i++)); do echo "$SCHEME://127.0.0.1:$(http_port "$i")"; done
    say "started $n node(s) in $((SECONDS - T0)) s"
    ;;
  start-node)
    i="${1:?usage: start-node I}"; n="$(nodes_started)"; ((i < n)) || die "node-$i was not part of the cluster ($n nodes)"
    alive "$i" && die "node-$i is already running"
    rm -f "$(node_dir "$i")/stopped"; launch_node "$i"
    ;;
  stop)
    n="$(nodes_started)"
    for ((i = 0; i < n; i++)); do stop_node "$i" "${1:-}"; done
    ;;
  stop-node) stop_node "${1:?usage: stop-node I [--kill]}" "${2:-}" ;;
  wait-green) WAIT_T0=$SECONDS; wait_status green "${1:-$(nodes_started)}" ;;
  wait-status) WAIT_T0=$SECONDS; wait_status "${1:?usage: wait-status green|yellow [N]}" "${2:-$(nodes_started)}" ;;
  urls) n="$(nodes_started)"; for ((i = 0; i < n; i++)); do echo "$SCHEME://127.0.0.1:$(http_port "$i")"; done ;;
  ca) [[ -f "$RUN/certs/root-ca.pem" ]] || die "no secured cluster under $RUN"; echo "$RUN/certs/root-ca.pem" ;;
  logs) print_logs "${1:-}" 2>&1 ;;
  status)
    n="$(nodes_started)"; ((n > 0)) || { echo "no cluster under $RUN"; exit 1; }
    up=""
    for ((i = 0; i < n; i++)); do
      if alive "$i"; then echo "node-$i pid $(node_pid "$i") $SCHEME://127.0.0.1:$(http_port "$i") running"; up="${up:-$i}"
      else echo "node-$i not running"; fi
    done
    [[ -n "$up" ]] || exit 1
    u="$SCHEME://127.0.0.1:$(http_port "$up")"
    os_curl -s -m 10 "$u/_cat/nodes?v&h=name,ip,http_address,node.role,cluster_manager,heap.max,heap.percent" || true
    os_curl -s -m 10 "$u/_cluster/health?pretty" || true
    ;;
  *) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

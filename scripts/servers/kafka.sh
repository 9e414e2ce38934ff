#!/usr/bin/env bash
# Apache Kafka 4.x, single node in KRaft mode (broker and controller in one JVM), run straight from its
# Maven Central jars: no Docker, no tarball download (the machines reach only package registries).
#
#   scripts/servers/kafka.sh install         resolve the broker jars into the cache (first run: mvn)
#   scripts/servers/kafka.sh start [--fresh] install if needed, format the log dir once, start, wait
#                                            (--fresh: delete the data first, for a clean test run)
#   scripts/servers/kafka.sh stop [--wipe]   stop (TERM, then KILL); --wipe also deletes the data
#   scripts/servers/kafka.sh reset           stop and delete the data
#   scripts/servers/kafka.sh status          exit 0 when running and answering
#
# Environment (all optional):
#   CRM_KAFKA_VERSION          broker version on Maven Central (default 4.1.1)
#   CRM_KAFKA_LOG4J_VERSION    log4j-slf4j-impl binding, matching the broker's log4j-core (default 2.24.3)
#   CRM_KAFKA_PORT             client listener (default 19092)
#   CRM_KAFKA_CONTROLLER_PORT  KRaft controller listener (default 19093)
#   CRM_KAFKA_HEAP             JVM heap (default 512m)
#   CRM_KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 60)
#   CRM_CACHE_DIR              jar cache (default ~/.cache/crm)
#   CRM_SERVERS_DIR            config, data, pid and log (default <repo>/.servers)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

KAFKA_VERSION="${CRM_KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="${CRM_KAFKA_LOG4J_VERSION:-2.24.3}"
PORT="${CRM_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${CRM_KAFKA_CONTROLLER_PORT:-19093}"
HEAP="${CRM_KAFKA_HEAP:-512m}"
START_TIMEOUT="${CRM_KAFKA_START_TIMEOUT:-60}"
HOST="127.0.0.1"

CACHE_DIR="${CRM_CACHE_DIR:-$HOME/.cache/crm}/kafka-$KAFKA_VERSION"
LIBS="$CACHE_DIR/libs"
SERVER_DIR="${CRM_SERVERS_DIR:-$REPO_ROOT/.servers}/kafka"
DATA_DIR="$SERVER_DIR/data"
PROPS="$SERVER_DIR/server.properties"
LOG4J_CONF="$SERVER_DIR/log4j2.properties"
PID_FILE="$SERVER_DIR/kafka.pid"
LOG_FILE="$SERVER_DIR/kafka.log"
CLUSTER_ID_FILE="$SERVER_DIR/cluster.id"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------- install

install() {
    # The "done" marker is written last, so an interrupted download is redone rather than half-used.
    if [[ -f "$LIBS/.complete" ]]; then
        log "jars for Kafka $KAFKA_VERSION already in $LIBS"
        return 0
    fi
    command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; exit 1; }
    command -v java >/dev/null || { log "java not found (JDK 17+ needed)"; exit 1; }
    mkdir -p "$CACHE_DIR"
    # kafka_2.13 alone lacks an SLF4J binding: without log4j-slf4j-impl the broker runs but logs
    # nothing, which makes a failed start impossible to diagnose.
    cat >"$CACHE_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.crm</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into $LIBS"
    rm -rf "$LIBS"
    # mvn -q still prints colour escapes; keep its output in a file and show it only on failure.
    if ! mvn -q -B -f "$CACHE_DIR/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$CACHE_DIR/mvn.log" 2>&1; then
        tail -n 40 "$CACHE_DIR/mvn.log" >&2
        log "mvn could not resolve Kafka $KAFKA_VERSION (see $CACHE_DIR/mvn.log)"
        exit 1
    fi
    [[ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]] || { log "kafka_2.13-$KAFKA_VERSION.jar missing"; exit 1; }
    touch "$LIBS/.complete"
    log "installed $(find "$LIBS" -name '*.jar' | wc -l) jars"
}

# ------------------------------------------------------------------------------------------ process

running_pid() {
    # Prints the pid when the pid file names a live Kafka JVM (a recycled pid is not ours).
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    grep -q 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

port_open() {
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

venv_python() {
    local py="$REPO_ROOT/.venv/bin/python"
    [[ -x "$py" ]] && "$py" -c 'import aiokafka' 2>/dev/null && echo "$py"
}

answers() {
    # A real Kafka-protocol round trip: metadata, and the group coordinator (its first lookup creates
    # __consumer_offsets; doing it here keeps that delay out of the first test). Without the project
    # venv, fall back to the port being open.
    port_open "$PORT" || return 1
    local py
    if ! py="$(venv_python)"; then
        return 0
    fi
    "$py" - "$HOST:$PORT" <<'EOF' >/dev/null 2>&1
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient


async def main() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000)
    await asyncio.wait_for(admin.start(), 5)
    try:
        await asyncio.wait_for(admin.list_topics(), 5)
        await asyncio.wait_for(admin.find_coordinator("crm-healthcheck"), 5)
    finally:
        await admin.close()


asyncio.run(main())
EOF
}

write_config() {
    mkdir -p "$SERVER_DIR" "$DATA_DIR"
    # Regenerated on every start, so a changed port takes effect; the data dir stays.
    cat >"$PROPS" <<EOF
# Generated by scripts/servers/kafka.sh; edits are overwritten on start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
# One node: every internal topic has one replica, and fewer partitions so they are created quickly.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=5
min.insync.replicas=1
# Tests join and leave groups constantly; the 3 s default delay would slow every join.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
    cat >"$LOG4J_CONF" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
# The request logger and state-change logger are chatty at INFO and say little to a test run.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

# An array, not a string: the class path "libs/*" must reach java unexpanded, and paths may hold spaces.
# TieredStopAtLevel=1 (C1 only): on 2 cores the broker starts in ~3 s instead of ~5 s, and a test
# broker's load never needs C2's peak speed (measured: same bus throughput either way).
JAVA_ARGS=(
    "-Xmx$HEAP" -Xms128m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$LOG4J_CONF" "-Dkafka.logs.dir=$SERVER_DIR" -cp "$LIBS/*"
)

format_once() {
    # KRaft refuses to start on an unformatted log dir; formatting twice would fail, so only once.
    [[ -f "$DATA_DIR/meta.properties" ]] && return 0
    local cluster_id
    if [[ -s "$CLUSTER_ID_FILE" ]]; then
        cluster_id="$(cat "$CLUSTER_ID_FILE")"
    else
        cluster_id="$(java "${JAVA_ARGS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
        echo "$cluster_id" >"$CLUSTER_ID_FILE"
    fi
    log "formatting $DATA_DIR (cluster id $cluster_id)"
    java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >"$SERVER_DIR/format.log" 2>&1 || {
        tail -n 20 "$SERVER_DIR/format.log" >&2
        exit 1
    }
}

start() {
    local pid
    if pid="$(running_pid)"; then
        if answers; then
            log "already running (pid $pid) on $HOST:$PORT"
            return 0
        fi
        log "process $pid is running but not answering yet; waiting"
    else
        install
        if port_open "$PORT" || port_open "$CONTROLLER_PORT"; then
            log "port $PORT or $CONTROLLER_PORT on $HOST is taken by another process"
            exit 1
        fi
        write_config
        format_once
        log "starting Kafka $KAFKA_VERSION on $HOST:$PORT (log: $LOG_FILE)"
        # setsid: the broker must outlive this shell and its process group. (A background job of a
        # non-interactive shell is no group leader, so setsid does not fork and $! is the JVM.)
        setsid java "${JAVA_ARGS[@]}" kafka.Kafka "$PROPS" >"$LOG_FILE" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PID_FILE"
    fi
    local deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "Kafka exited during start; last log lines:"
            tail -n 40 "$LOG_FILE" >&2
            rm -f "$PID_FILE"
            exit 1
        fi
        if answers; then
            log "Kafka is up (pid $pid) on $HOST:$PORT after ${SECONDS}s"
            return 0
        fi
        sleep 0.5
    done
    log "Kafka did not answer within ${START_TIMEOUT}s; last log lines:"
    tail -n 40 "$LOG_FILE" >&2
    exit 1
}

stop() {
    local wipe="${1:-}" pid
    if pid="$(running_pid)"; then
        log "stopping Kafka (pid $pid)"
        kill -TERM "$pid"
        # A controlled shutdown takes a few seconds; after 30 s it is hung, so KILL.
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "still running after 30 s; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped"
    else
        log "not running"
    fi
    rm -f "$PID_FILE"
    if [[ "$wipe" == "--wipe" ]]; then
        log "deleting $DATA_DIR"
        rm -rf "$DATA_DIR" "$CLUSTER_ID_FILE"
    fi
}

status() {
    local pid
    if pid="$(running_pid)" && answers; then
        echo "kafka: running (pid $pid) on $HOST:$PORT"
        return 0
    fi
    echo "kafka: not running"
    return 1
}

case "${1:-}" in
    install) install ;;
    start)
        # --fresh: a clean log dir. Every test run adds topics, and a broker with thousands of
        # partitions takes several seconds longer to start and to stop.
        if [[ "${2:-}" == "--fresh" ]]; then
            stop --wipe
        fi
        start
        ;;
    stop) stop "${2:-}" ;;
    reset) stop --wipe ;;
    status) status ;;
    *)
        echo "usage: $0 {install|start [--fresh]|stop [--wipe]|reset|status}" >&2
        exit 2
        ;;
esac

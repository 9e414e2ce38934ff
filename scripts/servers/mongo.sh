#!/usr/bin/env bash
# Start, stop or check the MongoDB-protocol server used by tests and local runs: SecantusDB from the
# project's venv (GPL-2.0, so a test-only dependency, never shipped).
#
#   scripts/servers/mongo.sh {start|stop|status}
#
# Environment: CRM_MONGO_PORT (default 27117), CRM_SERVERS_DIR (default <repo>/.servers).
# Files: <servers dir>/mongo/{data/,mongo.pid,mongo.log,secantusd.toml}.
#
# Connect with mongodb://127.0.0.1:<port>/?directConnection=true&retryWrites=false
# (retryWrites=false: SecantusDB 0.7 keeps every retryable-write reply for 30 min, up to 10,000, and
# scans, past the cap sorts, that table on each write, so with retryable writes each single write
# gets slower until it takes tens of milliseconds; the read store's guards make retries unneeded.)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${CRM_MONGO_PORT:-27117}"
HOST="127.0.0.1"
BASE="${CRM_SERVERS_DIR:-$ROOT/.servers}/mongo"
DATA="$BASE/data"
PIDFILE="$BASE/mongo.pid"
LOGFILE="$BASE/mongo.log"
CONFIG="$BASE/secantusd.toml"
PYTHON="$ROOT/.venv/bin/python"
SERVER="$ROOT/.venv/bin/secantusd-py"
START_TIMEOUT=30
STOP_TIMEOUT=10

# Exit 0 when a server answers a ping on HOST:PORT.
ping_server() {
    "$PYTHON" -c '
import sys
from pymongo import MongoClient
client = MongoClient(sys.argv[1], directConnection=True, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
try:
    client.admin.command("ping")
except Exception:
    sys.exit(1)
finally:
    client.close()
' "mongodb://$HOST:$PORT/" >/dev/null 2>&1
}

# The pid from the pid file if that process is alive and is our server (pids get reused).
running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q secantusd || return 1
    echo "$pid"
}

log_tail() {
    if [[ -f "$LOGFILE" ]]; then
        echo "--- last lines of $LOGFILE ---" >&2
        tail -n 40 "$LOGFILE" >&2
    fi
}

wait_until_up() {
    local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ping_server; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "mongo: server process $pid exited during startup" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "mongo: server did not answer on $HOST:$PORT within ${START_TIMEOUT}s" >&2
    return 1
}

start() {
    local pid
    if pid="$(running_pid)"; then
        # Idempotent: a server we started is already there (maybe still starting).
        if wait_until_up "$pid"; then
            echo "mongo: already running (pid $pid) on $HOST:$PORT"
            return 0
        fi
        log_tail
        return 1
    fi
    if ping_server; then
        # Something we did not start answers on the port; using it beats failing on a port clash.
        echo "mongo: a server already answers on $HOST:$PORT (not started by this script); leaving it"
        return 0
    fi
    if [[ ! -x "$SERVER" ]]; then
        echo "mongo: $SERVER not found; run 'uv sync' (secantusdb is in the dev group)" >&2
        return 1
    fi
    mkdir -p "$DATA"
    # An explicit (empty) config file switches off secantusd's auto-discovery of ./secantusd.toml,
    # ~/.secantus/ and /etc/secantus/, so only the flags below decide how the server runs.
    [[ -f "$CONFIG" ]] || : >"$CONFIG"
    rm -f "$PIDFILE"
    # setsid: the server gets its own session, so a Ctrl-C in the calling terminal does not reach it.
    setsid "$SERVER" --config "$CONFIG" --host "$HOST" --port "$PORT" --storage-path "$DATA" \
        --log-level WARNING </dev/null >>"$LOGFILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    if wait_until_up "$pid"; then
        echo "mongo: started (pid $pid) on $HOST:$PORT, data in $DATA, log $LOGFILE"
        echo "mongo: URI mongodb://$HOST:$PORT/?directConnection=true&retryWrites=false"
        return 0
    fi
    log_tail
    stop >/dev/null 2>&1 || true
    return 1
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        echo "mongo: not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "mongo: pid $pid ignored TERM for ${STOP_TIMEOUT}s; sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    echo "mongo: stopped (pid $pid)"
}

status() {
    if ping_server; then
        local pid
        pid="$(running_pid || echo "not started by this script")"
        echo "mongo: answering on $HOST:$PORT (pid $pid)"
        return 0
    fi
    echo "mongo: not answering on $HOST:$PORT"
    return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
    ;;
esac

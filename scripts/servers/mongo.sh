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
NAME="mongo"
PROCESS="secantusd"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

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

dispatch "$@"

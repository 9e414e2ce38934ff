#!/usr/bin/env bash
# Start, stop or check the S3-compatible object storage used by tests and local runs: moto's
# standalone server from the project's venv (moto[s3] + flask, test-only dev dependencies). It keeps
# objects in memory, so each start is empty; the script creates the bucket after starting it.
#
#   scripts/servers/s3.sh {start|stop|status}
#
# Environment: CRM_S3_PORT (default 19000), CRM_S3_BUCKET (default crm), CRM_SERVERS_DIR (default <repo>/.servers).
# Files: <servers dir>/s3/{s3.pid,s3.log}.
#
# Connect with endpoint http://127.0.0.1:<port>, any access key and secret, region us-east-1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${CRM_S3_PORT:-19000}"
BUCKET="${CRM_S3_BUCKET:-crm}"
HOST="127.0.0.1"
BASE="${CRM_SERVERS_DIR:-$ROOT/.servers}/s3"
PIDFILE="$BASE/s3.pid"
LOGFILE="$BASE/s3.log"
PYTHON="$ROOT/.venv/bin/python"
SERVER="$ROOT/.venv/bin/moto_server"
START_TIMEOUT=30
STOP_TIMEOUT=10

# Exit 0 when an S3 server answers a bucket listing on HOST:PORT.
ping_server() {
    "$PYTHON" -c '
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=1).read()
except Exception:
    sys.exit(1)
' "http://$HOST:$PORT/" >/dev/null 2>&1
}

# Create the bucket (idempotent: an existing one is kept).
create_bucket() {
    "$PYTHON" -c '
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="PUT"), timeout=5).read()
except urllib.error.HTTPError as exc:
    if exc.code != 409:  # 409: the bucket exists already
        raise
' "http://$HOST:$PORT/$BUCKET"
}

# The pid from the pid file if that process is alive and is our server (pids get reused).
running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q moto_server || return 1
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
            echo "s3: server process $pid exited during startup" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "s3: server did not answer on $HOST:$PORT within ${START_TIMEOUT}s" >&2
    return 1
}

start() {
    local pid
    if pid="$(running_pid)"; then
        if wait_until_up "$pid" && create_bucket; then
            echo "s3: already running (pid $pid) on $HOST:$PORT"
            return 0
        fi
        log_tail
        return 1
    fi
    if ping_server; then
        # Something we did not start answers on the port; using it beats failing on a port clash.
        echo "s3: a server already answers on $HOST:$PORT (not started by this script); leaving it"
        create_bucket
        return 0
    fi
    if [[ ! -x "$SERVER" ]]; then
        echo "s3: $SERVER not found; run 'uv sync' (moto is in the dev group)" >&2
        return 1
    fi
    mkdir -p "$BASE"
    rm -f "$PIDFILE"
    # setsid: the server gets its own session, so a Ctrl-C in the calling terminal does not reach it.
    setsid "$SERVER" -H "$HOST" -p "$PORT" </dev/null >>"$LOGFILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    if wait_until_up "$pid" && create_bucket; then
        echo "s3: started (pid $pid) on $HOST:$PORT, bucket $BUCKET, log $LOGFILE"
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
        echo "s3: not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "s3: pid $pid ignored TERM for ${STOP_TIMEOUT}s; sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    echo "s3: stopped (pid $pid)"
}

status() {
    if ping_server; then
        local pid
        pid="$(running_pid || echo "not started by this script")"
        echo "s3: answering on $HOST:$PORT (pid $pid)"
        return 0
    fi
    echo "s3: not answering on $HOST:$PORT"
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

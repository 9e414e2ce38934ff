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
NAME="s3"
PROCESS="moto_server"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

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

dispatch "$@"

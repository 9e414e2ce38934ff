# Shared by the server scripts that run one Python-started server (mongo.sh, s3.sh): source it after
# setting NAME (the prefix of messages), PROCESS (a word of the server's command line), HOST, PORT,
# PIDFILE, LOGFILE, START_TIMEOUT, STOP_TIMEOUT, and defining ping_server and start.

# The pid from the pid file if that process is alive and is our server (pids get reused).
running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$PROCESS" || return 1
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
            echo "$NAME: server process $pid exited during startup" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "$NAME: server did not answer on $HOST:$PORT within ${START_TIMEOUT}s" >&2
    return 1
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        echo "$NAME: not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$NAME: pid $pid ignored TERM for ${STOP_TIMEOUT}s; sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    echo "$NAME: stopped (pid $pid)"
}

status() {
    if ping_server; then
        local pid
        pid="$(running_pid || echo "not started by this script")"
        echo "$NAME: answering on $HOST:$PORT (pid $pid)"
        return 0
    fi
    echo "$NAME: not answering on $HOST:$PORT"
    return 1
}

# Runs the command the script was called with.
dispatch() {
    case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 {start|stop|status}" >&2
        exit 2
        ;;
    esac
}

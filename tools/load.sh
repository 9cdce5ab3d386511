#!/usr/bin/env bash
# make load: load test of the till's CRM.COM calls. Creates a fresh database without demo
# data, starts the CRM.COM simulator (its own process) and Odoo with worker processes, both on
# free ports of 127.0.0.1, opens a POS session for a dedicated POS user, then runs
# tools/load_crmcom.py: identifications and previews through Odoo's JSON-RPC, then the same
# CRM.COM calls straight at the simulator, and prints throughput, latency percentiles, errors
# and what Odoo adds. Everything it started is stopped, and the database dropped, on exit.
#
# Environment:
#   LOAD_SECONDS=N       duration of each phase (default 60)
#   LOAD_CLIENTS=N       concurrent clients (default 8)
#   LOAD_MAX_REQUESTS=N  cap on the requests of each phase (default 200000)
#   LOAD_WORKERS=N       Odoo worker processes (default 2, at least 2)
#   LOAD_DB=name         database name (default crmcom_load_<timestamp>_<pid>)
#   LOAD_JSON=file       also write the figures as JSON to this file
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SKIP_CHROMIUM=1 bash "$REPO/tools/setup.sh"
ensure_odoo_ready

DB="${LOAD_DB:-crmcom_load_$(unique_suffix)}"
WORKERS="${LOAD_WORKERS:-2}"
[[ "$WORKERS" =~ ^[0-9]+$ && "$WORKERS" -ge 2 ]] || die "LOAD_WORKERS must be 2 or more"
LOG_DIR="$BUILD_DIR/logs"
CONF="$BUILD_DIR/odoo-load-$DB.conf"
SETUP_JSON="$BUILD_DIR/load-setup-$DB.json"
mkdir -p "$LOG_DIR"

SIM_PID=""
ODOO_PID=""
# shellcheck disable=SC2317  # stop_process and cleanup run from the EXIT trap
stop_process() {
    local pid="$1" i
    if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
        if [[ $i -eq 50 ]]; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317
cleanup() {
    local status=$?
    stop_process "$ODOO_PID"
    stop_process "$SIM_PID"
    drop_db "$DB"
    rm -f "$CONF" "$SETUP_JSON"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait until http://127.0.0.1:PORT/PATH answers (any HTTP status), or die.
wait_http() {
    local port="$1" path="$2" pid="$3" what="$4" logfile="$5" i
    for i in $(seq 1 150); do
        if "$VENV/bin/python" - "$port" "$path" <<'PY' 2>/dev/null; then
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=2)
except urllib.error.HTTPError:
    pass
PY
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$logfile" >&2; die "$what exited"; }
        sleep 0.2
        [[ $i -eq 150 ]] && die "$what did not answer on port $port within 30 s"
    done
}

SIM_PORT="$(free_port)"
SIM_URL="http://127.0.0.1:$SIM_PORT"
log "starting the CRM.COM simulator on $SIM_URL"
(cd "$REPO" && exec "$VENV/bin/python" -m simulator --host 127.0.0.1 --port "$SIM_PORT") \
    >"$LOG_DIR/load-simulator-$DB.log" 2>&1 &
SIM_PID=$!
wait_http "$SIM_PORT" /_simulator/state "$SIM_PID" "the simulator" "$LOG_DIR/load-simulator-$DB.log"

HTTP_PORT="$(free_port)"
GEVENT_PORT="$(free_port)"
write_odoo_conf "$CONF" "$DB" "http_port = $HTTP_PORT" "gevent_port = $GEVENT_PORT" \
    "workers = $WORKERS" "max_cron_threads = 0" "limit_time_real = 300" \
    "limit_time_cpu = 120" "log_level = warn"
ODOO_LOG="$LOG_DIR/load-odoo-$DB.log"

log "installing $ADDON_NAME without demo data into fresh database $DB"
drop_db "$DB"
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON_NAME" --stop-after-init --workers=0 \
    >"$LOG_DIR/load-install-$DB.log" 2>&1 ||
    die "install failed, see $LOG_DIR/load-install-$DB.log"

log "configuring $DB against the simulator; opening a POS session for a POS user"
"$VENV/bin/python" "$REPO/tools/load_crmcom.py" setup \
    --conf "$CONF" --db "$DB" --simulator "$SIM_URL" >"$SETUP_JSON" \
    2>"$LOG_DIR/load-setup-$DB.log" || die "set-up of $DB failed, see $LOG_DIR/load-setup-$DB.log"

log "starting Odoo on 127.0.0.1:$HTTP_PORT with $WORKERS workers (log: $ODOO_LOG)"
# Not through odoo_bin: $! must be Odoo's own process (the prefork master) to stop it.
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ODOO_ADDONS_PATH" -c "$CONF" -d "$DB" \
    --workers="$WORKERS" --max-cron-threads=0 >"$ODOO_LOG" 2>&1 &
ODOO_PID=$!
wait_http "$HTTP_PORT" /web/login "$ODOO_PID" "Odoo" "$ODOO_LOG"

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -h | awk '/^Mem:/ {print $2}') RAM; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u)"
args=(run --odoo "http://127.0.0.1:$HTTP_PORT" --db "$DB" --simulator "$SIM_URL"
    --setup "$SETUP_JSON")
if [[ -n "${LOAD_JSON:-}" ]]; then
    args+=(--json "$LOAD_JSON")
fi
set +e
"$VENV/bin/python" "$REPO/tools/load_crmcom.py" "${args[@]}"
rc=$?
set -e
log "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
# Concurrent updates of one row are retried by Odoo (the client saw no error); report them.
# sql_db logs each as an ERROR "bad query" followed by the PostgreSQL message.
conflicts="$(grep -c "could not serialize access due to concurrent update" "$ODOO_LOG" || true)"
log "serialisation conflicts retried by Odoo during the run: $conflicts (see $ODOO_LOG)"
other="$(grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$ODOO_LOG" |
    grep -v "odoo.sql_db: bad query" || true)"
if [[ -n "$other" ]]; then
    log "Odoo logged other errors during the run (see $ODOO_LOG):"
    head -5 <<<"$other" >&2
    rc=1
fi
exit "$rc"

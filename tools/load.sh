#!/usr/bin/env bash
# make load: load test of the till's CRM.COM calls. Creates a fresh database without demo
# data, starts Odoo with worker processes on a free port of 127.0.0.1, opens a POS session for
# a dedicated POS user, then for each run (LOAD_RUNS) starts a CRM.COM simulator (its own
# process) and runs tools/load_crmcom.py: for 1 client and for LOAD_CLIENTS, Odoo's floor (a
# trivial RPC), identifications and previews through the till's routes, and the same CRM.COM
# calls straight at the simulator; it prints throughput, latency percentiles, errors and the
# add-on's own cost per method (through Odoo - floor - direct), then a summary of every run.
# Everything it started is stopped, and the database dropped, on exit.
#
# Runs (LOAD_RUNS, space-separated, default "plain latency tls"):
#   plain    the simulator over HTTP, answering at once
#   latency  the simulator over HTTP, adding LOAD_LATENCY_MS (default 40) to every call
#   tls      the simulator over HTTPS (a self-signed certificate made at its start, which Odoo
#            trusts through the system parameter pos_crmcom_rewards.ca_file), at once
#
# Environment:
#   LOAD_SECONDS=N       duration of each phase (default 20; 3 phases x 2 client counts a run)
#   LOAD_CLIENTS=N       concurrent clients of the second round (default 8; the first has 1)
#   LOAD_MAX_REQUESTS=N  cap on the requests of each phase (default 200000)
#   LOAD_WORKERS=N       Odoo worker processes (default 2, at least 2)
#   LOAD_RUNS=...        runs to make, see above
#   LOAD_LATENCY_MS=N    latency of the "latency" run (default 40)
#   LOAD_PROFILE=N       also profile N identifications and N previews (cProfile, in the
#                        script's own process, against the plain simulator; default 0: not)
#   LOAD_DB=name         database name (default crmcom_load_<timestamp>_<pid>)
#   LOAD_JSON=prefix     also write each run's figures as JSON to <prefix>.<run>.json
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
CA_FILE="$BUILD_DIR/load-ca-$DB.pem"
RESULTS_DIR="$(mktemp -d)"
RUNS="${LOAD_RUNS:-plain latency tls}"
LATENCY_MS="${LOAD_LATENCY_MS:-40}"
PROFILE_ROUNDS="${LOAD_PROFILE:-0}"
for run in $RUNS; do
    [[ "$run" =~ ^(plain|latency|tls)$ ]] || die "unknown run '$run' in LOAD_RUNS"
done
[[ "$LATENCY_MS" =~ ^[0-9]+$ ]] || die "LOAD_LATENCY_MS must be a whole number"
[[ "$PROFILE_ROUNDS" =~ ^[0-9]+$ ]] || die "LOAD_PROFILE must be a whole number"
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
    rm -f "$CONF" "$SETUP_JSON" "$CA_FILE"
    rm -rf "$RESULTS_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_simulator RUN: a simulator for that run (SIM_PID, SIM_URL), the previous one stopped.
start_simulator() {
    local run="$1" scheme=http port sim_log
    local extra=()
    stop_process "$SIM_PID"
    SIM_PID=""
    case "$run" in
        latency) extra=(--latency-ms "$LATENCY_MS") ;;
        tls) extra=(--tls --ca-out "$CA_FILE") scheme=https ;;
    esac
    port="$(free_port)"
    SIM_URL="$scheme://127.0.0.1:$port"
    sim_log="$LOG_DIR/load-simulator-$DB-$run.log"
    log "starting the CRM.COM simulator on $SIM_URL (${extra[*]:-no option})"
    rm -f "$CA_FILE"
    (cd "$REPO" && exec "$VENV/bin/python" -m simulator --host 127.0.0.1 --port "$port" \
        "${extra[@]}") >"$sim_log" 2>&1 &
    SIM_PID=$!
    if [[ "$run" == tls ]]; then
        wait_file "$CA_FILE" "$SIM_PID" "$sim_log"
        wait_https "$port" "$SIM_PID" "$sim_log"
    else
        wait_http "$port" /_simulator/state "$SIM_PID" "the simulator" "$sim_log"
    fi
}

wait_file() {
    local file="$1" pid="$2" logfile="$3" i
    for i in $(seq 1 150); do
        [[ -s "$file" ]] && return 0
        kill -0 "$pid" 2>/dev/null || { tail -20 "$logfile" >&2; die "the simulator exited"; }
        sleep 0.2
    done
    die "the simulator wrote no certificate to $file within 30 s"
}

wait_https() {
    local port="$1" pid="$2" logfile="$3" i
    for i in $(seq 1 150); do
        if "$VENV/bin/python" - "$port" "$CA_FILE" <<'PY' 2>/dev/null; then
import ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/_simulator/state", timeout=2,
                       context=context)
PY
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$logfile" >&2; die "the simulator exited"; }
        sleep 0.2
    done
    die "the simulator did not answer over HTTPS on port $port within 30 s"
}

start_simulator plain

HTTP_PORT="$(free_port)"
GEVENT_PORT="$(free_port)"
write_odoo_conf "$CONF" "$DB" "http_port = $HTTP_PORT" "gevent_port = $GEVENT_PORT" \
    "workers = $WORKERS" "max_cron_threads = 0" "limit_time_real = 300" \
    "limit_time_cpu = 120" "log_level = warn"
ODOO_LOG="$LOG_DIR/load-odoo-$DB.log"

install_fresh "$CONF" "$DB" "$LOG_DIR/load-install-$DB.log"

log "configuring $DB against the simulator; opening a POS session for a POS user"
"$VENV/bin/python" "$REPO/tools/load_crmcom.py" setup \
    --conf "$CONF" --db "$DB" --simulator "$SIM_URL" --ca-file "$CA_FILE" >"$SETUP_JSON" \
    2>"$LOG_DIR/load-setup-$DB.log" || die "set-up of $DB failed, see $LOG_DIR/load-setup-$DB.log"

log "starting Odoo on 127.0.0.1:$HTTP_PORT with $WORKERS workers (log: $ODOO_LOG)"
# Not through odoo_bin: $! must be Odoo's own process (the prefork master) to stop it.
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ODOO_ADDONS_PATH" -c "$CONF" -d "$DB" \
    --workers="$WORKERS" --max-cron-threads=0 >"$ODOO_LOG" 2>&1 &
ODOO_PID=$!
wait_http "$HTTP_PORT" /web/login "$ODOO_PID" "Odoo" "$ODOO_LOG"

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -h | awk '/^Mem:/ {print $2}') RAM; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u)"
rc=0
if [[ "$PROFILE_ROUNDS" -gt 0 ]]; then
    log "profiling $PROFILE_ROUNDS identifications and previews (cProfile, this process)"
    "$VENV/bin/python" "$REPO/tools/load_crmcom.py" profile --conf "$CONF" --db "$DB" \
        --setup "$SETUP_JSON" --rounds "$PROFILE_ROUNDS" 2>"$LOG_DIR/load-profile-$DB.log" ||
        rc=1
    log "full profiles: $LOG_DIR/load-profile-$DB.log"
fi
first=1
for run in $RUNS; do
    if [[ -z "$first" || "$run" != plain ]]; then
        start_simulator "$run"
        "$VENV/bin/python" "$REPO/tools/load_crmcom.py" connect --conf "$CONF" --db "$DB" \
            --simulator "$SIM_URL" 2>>"$LOG_DIR/load-setup-$DB.log" ||
            die "could not point $DB at $SIM_URL, see $LOG_DIR/load-setup-$DB.log"
    fi
    first=""
    log "run '$run' against $SIM_URL; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    args=(run --odoo "http://127.0.0.1:$HTTP_PORT" --db "$DB" --simulator "$SIM_URL"
        --setup "$SETUP_JSON" --label "$run" --json "$RESULTS_DIR/$run.json")
    if [[ "$run" == tls ]]; then
        args+=(--ca-file "$CA_FILE")
    fi
    "$VENV/bin/python" "$REPO/tools/load_crmcom.py" "${args[@]}" || rc=1
    if [[ -n "${LOAD_JSON:-}" && -f "$RESULTS_DIR/$run.json" ]]; then
        cp "$RESULTS_DIR/$run.json" "$LOAD_JSON.$run.json"
    fi
done
summaries=()
for run in $RUNS; do
    [[ -f "$RESULTS_DIR/$run.json" ]] && summaries+=("$RESULTS_DIR/$run.json")
done
if [[ ${#summaries[@]} -gt 0 ]]; then
    "$VENV/bin/python" "$REPO/tools/load_crmcom.py" summary "${summaries[@]}"
fi
log "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u)"
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

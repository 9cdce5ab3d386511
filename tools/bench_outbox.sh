#!/usr/bin/env bash
# make bench-outbox: the award outbox drained by 1, 2 and 4 senders. Installs the add-on
# without demo data into a fresh database, starts the CRM.COM simulator (its own process)
# adding BENCH_LATENCY_MS to every call, queues BENCH_AWARDS awards, then for each count of
# senders makes them all due again and drains them with that many sender processes at once;
# prints awards per second, the ratio to N x one sender's, the simulator's own rate for the
# same calls at the same concurrency, the load average before and after, and checks that
# every award reached CRM.COM exactly once. Everything it started is stopped, and the
# database dropped, on exit.
#
# Environment:
#   BENCH_AWARDS=N       queued awards (default 10000)
#   BENCH_SENDERS=1,2,4  the counts of senders of the rounds
#   BENCH_LATENCY_MS=N   milliseconds the simulator adds to every call (default 50)
#   BENCH_DB=name        database name (default crmcom_bench_outbox); dropped first, and
#                        afterwards unless KEEP_DB=1
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SKIP_CHROMIUM=1 bash "$REPO/tools/setup.sh"
ensure_odoo_ready

DB="${BENCH_DB:-crmcom_bench_outbox}"
AWARDS="${BENCH_AWARDS:-10000}"
SENDERS="${BENCH_SENDERS:-1,2,4}"
LATENCY_MS="${BENCH_LATENCY_MS:-50}"
[[ "$AWARDS" =~ ^[0-9]+$ && "$AWARDS" -gt 0 ]] || die "BENCH_AWARDS must be a positive number"
[[ "$SENDERS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "BENCH_SENDERS must be like 1,2,4"
[[ "$LATENCY_MS" =~ ^[0-9]+$ ]] || die "BENCH_LATENCY_MS must be a whole number"
CONF="$BUILD_DIR/odoo-bench-$DB.conf"
LOG_DIR="$BUILD_DIR/logs"
mkdir -p "$LOG_DIR"
SIM_PID=""

cleanup() {
    local status=$?
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    if [[ "${KEEP_DB:-0}" != "1" ]]; then
        drop_db "$DB"
        rm -f "$CONF"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Odoo's own connection pool per process is enough for a sender; the senders are processes.
write_odoo_conf "$CONF" "$DB" "workers = 0" "max_cron_threads = 0" "log_level = warn"
install_fresh "$CONF" "$DB" "$LOG_DIR/bench-outbox-install-$DB.log"

port="$(free_port)"
SIM_URL="http://127.0.0.1:$port"
sim_log="$LOG_DIR/bench-outbox-simulator-$DB.log"
log "starting the CRM.COM simulator on $SIM_URL, $LATENCY_MS ms a call"
(cd "$REPO" && exec "$VENV/bin/python" -m simulator --host 127.0.0.1 --port "$port" \
    --latency-ms "$LATENCY_MS") >"$sim_log" 2>&1 &
SIM_PID=$!
wait_http "$port" /_simulator/state "$SIM_PID" "the simulator" "$sim_log"

log "queueing $AWARDS awards"
"$VENV/bin/python" "$REPO/tools/bench_outbox.py" setup --conf "$CONF" --db "$DB" \
    --simulator "$SIM_URL" --awards "$AWARDS" >/dev/null \
    2>"$LOG_DIR/bench-outbox-setup-$DB.log" ||
    die "set-up failed, see $LOG_DIR/bench-outbox-setup-$DB.log"

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -h | awk '/^Mem:/ {print $2}') RAM; $(date -u)"
"$VENV/bin/python" "$REPO/tools/bench_outbox.py" run --conf "$CONF" --db "$DB" \
    --simulator "$SIM_URL" --awards "$AWARDS" --senders "$SENDERS" --latency-ms "$LATENCY_MS" \
    2> >(tee "$LOG_DIR/bench-outbox-run-$DB.log" >&2)

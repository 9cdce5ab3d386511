#!/usr/bin/env bash
# make bench: benchmark of the product synchronisation. Installs the add-on without demo data
# into a fresh database, seeds BENCH_PRODUCTS products, then, BENCH_ROUNDS times: synchronises
# them against the CRM.COM simulator (full, then incremental with nothing changed) and posts
# the same payloads with a bare client; prints time, products/s, calls, memory, the ratios of
# each round and their medians, and the load average before and after.
#
# Environment:
#   BENCH_PRODUCTS=N  number of products (default 100000)
#   BENCH_ROUNDS=R    rounds (default 5)
#   BENCH_DB=name     database name (default crmcom_bench); dropped first, and afterwards
#                     unless KEEP_DB=1
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$REPO/tools/setup.sh"
ensure_odoo_ready

DB="${BENCH_DB:-crmcom_bench}"
PRODUCTS="${BENCH_PRODUCTS:-100000}"
CONF="$BUILD_DIR/odoo-bench-$DB.conf"
LOG_DIR="$BUILD_DIR/logs"
mkdir -p "$LOG_DIR"

cleanup() {
    local status=$?
    if [[ "${KEEP_DB:-0}" != "1" ]]; then
        drop_db "$DB"
        rm -f "$CONF"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_odoo_conf "$CONF" "$DB" "workers = 0" "max_cron_threads = 0" "log_level = warn"
install_fresh "$CONF" "$DB" "$LOG_DIR/bench-install-$DB.log"

# The load average before and after says whether other work shared the machine: the ratios
# are only comparable between runs on a quiet machine (a load average near 0 before).
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -h | awk '/^Mem:/ {print $2}') RAM; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u)"
"$VENV/bin/python" "$REPO/tools/bench_product_sync.py" --conf "$CONF" --db "$DB" --products "$PRODUCTS" \
    --rounds "${BENCH_ROUNDS:-5}"
log "load average after the rounds: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u)"

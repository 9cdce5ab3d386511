#!/usr/bin/env bash
# make run: start the CRM.COM simulator in the background and Odoo (with this
# add-on and demo data) in the foreground. Ctrl-C stops both.
#
# Environment: RUN_DB (default crmcom_demo), HTTP_PORT (8069), SIM_PORT (8079),
# SIM_CURRENCY (USD: the demo company's) for the wallets, NO_SIMULATOR=1 to skip the simulator,
# extra Odoo arguments as script arguments.
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_DB="${RUN_DB:-crmcom_demo}"
HTTP_PORT="${HTTP_PORT:-8069}"
SIM_PORT="${SIM_PORT:-8079}"

SKIP_CHROMIUM=1 bash "$REPO/tools/setup.sh"
ensure_odoo_ready

port_busy() {
    "$VENV/bin/python" -c 'import socket, sys
s = socket.socket()
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}
port_busy "$HTTP_PORT" && die "port $HTTP_PORT is in use: set HTTP_PORT=<free port>"

CONF="$BUILD_DIR/odoo-run.conf"
mkdir -p "$BUILD_DIR/data" "$BUILD_DIR/logs"
write_odoo_conf "$CONF" "$RUN_DB" "http_port = $HTTP_PORT" "workers = 0"

SIM_PID=""
stop_simulator() {
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
}
trap stop_simulator EXIT
trap 'exit 130' INT TERM

if [[ "${NO_SIMULATOR:-0}" != "1" ]]; then
    port_busy "$SIM_PORT" && die "port $SIM_PORT is in use (simulator already running?): set SIM_PORT or NO_SIMULATOR=1"
    log "starting the CRM.COM simulator on 127.0.0.1:$SIM_PORT (log: $BUILD_DIR/logs/simulator.log)"
    # The wallets in the currency the demo company sells in (Odoo's demo: US dollars).
    (cd "$REPO" && exec "$VENV/bin/python" -m simulator --host 127.0.0.1 --port "$SIM_PORT" \
        --currency "${SIM_CURRENCY:-USD}") \
        >"$BUILD_DIR/logs/simulator.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 1 50); do
        port_busy "$SIM_PORT" && break
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$BUILD_DIR/logs/simulator.log" >&2; die "the simulator exited"; }
        sleep 0.2
    done
    port_busy "$SIM_PORT" || die "the simulator did not open port $SIM_PORT"
fi

if db_exists "$RUN_DB"; then
    log "database $RUN_DB exists: reusing it (drop it with: dropdb $RUN_DB)"
else
    log "creating database $RUN_DB with $ADDON_NAME and demo data (takes about a minute)"
    if ! odoo_bin -c "$CONF" -d "$RUN_DB" -i "$ADDON_NAME" --with-demo --stop-after-init \
        --log-level=warn; then
        drop_db "$RUN_DB"
        die "could not create database $RUN_DB"
    fi
fi
# This demo talks to nothing but the simulator: no company enrichment through Odoo's IAP
# service, no weekly "publisher" ping to Odoo's servers.
psql -X -q -d "$RUN_DB" <<'SQL'
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_name = 'res_company' AND column_name = 'iap_enrich_auto_done') THEN
        UPDATE res_company SET iap_enrich_auto_done = TRUE;
    END IF;
END $$;
UPDATE ir_cron SET active = FALSE
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE module = 'mail' AND name = 'ir_cron_module_update_notification');
SQL

cat <<INFO

  Odoo          http://localhost:$HTTP_PORT/odoo/action-point_of_sale.action_client_pos_menu
                (or http://localhost:$HTTP_PORT/odoo)   login: admin   password: admin
  Database      $RUN_DB
INFO
if [[ "${NO_SIMULATOR:-0}" != "1" ]]; then
    cat <<INFO
  CRM.COM sim   http://127.0.0.1:$SIM_PORT   API key: SIM-SYSTEM-KEY
                (user posuser / password secret / organisation CRMDEMO;
                 the full list of demo identities is in $BUILD_DIR/logs/simulator.log)
INFO
fi
printf '\n  Ctrl-C stops Odoo%s.\n\n' "$([[ -n "$SIM_PID" ]] && echo ' and the simulator')"

odoo_bin -c "$CONF" -d "$RUN_DB" "$@"

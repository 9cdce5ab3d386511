#!/usr/bin/env bash
# make pot: export the translation template i18n/pos_crmcom_rewards.pot from a
# temporary database with the add-on installed (dropped afterwards).
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SKIP_CHROMIUM=1 bash "$REPO/tools/setup.sh"
ensure_odoo_ready

DB="crmcom_i18n_$(unique_suffix)"
CONF="$BUILD_DIR/odoo-i18n-$DB.conf"
POT="$ADDON_SRC/i18n/$ADDON_NAME.pot"
mkdir -p "$BUILD_DIR/data" "$BUILD_DIR/logs" "$ADDON_SRC/i18n"
cleanup() {
    local status=$?
    drop_db "$DB"
    rm -f "$CONF"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_odoo_conf "$CONF" "$DB"

log "installing $ADDON_NAME into temporary database $DB (no demo data)"
odoo_bin -c "$CONF" -d "$DB" -i "$ADDON_NAME" --stop-after-init --log-level=warn
log "exporting $POT"
odoo_bin i18n export -c "$CONF" -d "$DB" -o "$POT" "$ADDON_NAME"
[[ -s "$POT" ]] || die "the export produced no $POT"
log "wrote $POT ($(grep -c '^msgid ' "$POT") messages)"

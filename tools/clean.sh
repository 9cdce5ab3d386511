#!/usr/bin/env bash
# make clean: drop the test and translation databases and this checkout's build folder.
# The virtualenv is kept (it is shared by every checkout; delete $VENV by hand if needed).
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

for db in $(psql -X -At -d postgres -c "SELECT datname FROM pg_database
        WHERE datname LIKE 'crmcom\_test\_%' OR datname LIKE 'crmcom\_i18n\_%'" 2>/dev/null); do
    log "dropping database $db"
    dropdb --if-exists "$db"
done
rm -rf "$BUILD_DIR"
log "removed $BUILD_DIR"

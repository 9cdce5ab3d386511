#!/usr/bin/env bash
# Create/refresh the development environment: Odoo source, virtualenv with
# Odoo's (filtered) requirements and ours, Chromium, PostgreSQL role.
# Idempotent: pip is skipped while the requirement inputs are unchanged.
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_odoo_src
ensure_addons_dir

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.crmcom-requirements.sha256"
hash="$(cat "$ODOO_SRC/requirements.txt" "$REPO/tools/odoo_requirements.py" \
    "$REPO/requirements.txt" "$REPO/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    log "Python requirements up to date ($VENV)"
else
    log "installing Python requirements into $VENV"
    mkdir -p "$BUILD_DIR"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" "$REPO/tools/odoo_requirements.py" "$ODOO_SRC/requirements.txt" \
        >"$BUILD_DIR/odoo-requirements.txt"
    "$VENV/bin/python" -m pip install --quiet \
        -r "$BUILD_DIR/odoo-requirements.txt" \
        -r "$REPO/requirements.txt" \
        -r "$REPO/requirements-dev.txt"
    printf '%s\n' "$hash" >"$stamp"
fi

# Make `import odoo` work in the venv (pytest-odoo, pylint-odoo) without
# installing Odoo itself: a .pth file pointing at the source tree.
site_packages="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$ODOO_SRC" >"$site_packages/odoo-src.pth"

if [[ "${SKIP_CHROMIUM:-0}" != "1" ]]; then
    ensure_chromium
fi
ensure_postgres
log "setup done: venv=$VENV odoo=$ODOO_SRC addons=$ADDONS_DIR"

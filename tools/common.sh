# shellcheck shell=bash
# Shared settings and helpers, sourced by the other tools/*.sh scripts.
#
# Environment overrides:
#   ODOO_SRC   Odoo 19.0 source tree (default /opt/odoo/19.0; cloned when absent)
#   STATE_DIR  where the virtualenv and build files live (default ~/.cache/pos_crmcom_rewards).
#              Never inside the repository: the repository is the add-on, and Odoo walks the
#              add-on's folder (translation export), so a venv or a link back to it would be
#              walked too.
#   VENV       Python virtualenv (default $STATE_DIR/venv, shared by every checkout)
#   PYTHON     interpreter used to create the venv (default python3)
#   TEST_ADDON path of an add-on to use instead of this repository (testing the tooling only)

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
ADDON_NAME="pos_crmcom_rewards"
ADDON_SRC="${TEST_ADDON:-$REPO}"
if [[ -n "${TEST_ADDON:-}" ]]; then
    ADDON_NAME="$(basename "$TEST_ADDON")"
fi
ODOO_SRC="${ODOO_SRC:-/opt/odoo/19.0}"
ODOO_GIT_URL="https://github.com/odoo/odoo.git"
ODOO_BRANCH="19.0"
STATE_DIR="${STATE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pos_crmcom_rewards}"
VENV="${VENV:-$STATE_DIR/venv}"
PYTHON="${PYTHON:-python3}"
# One build folder per checkout: it holds the link that gives the add-on its technical name.
BUILD_DIR="$STATE_DIR/build/$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)"
ADDONS_DIR="$BUILD_DIR/addons"
ADDON_DIR="$ADDONS_DIR/$ADDON_NAME"
ODOO_ADDONS_PATH="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR"
DB_USER="${DB_USER:-$(id -un)}"
export REPO ODOO_SRC VENV ADDONS_DIR ODOO_ADDONS_PATH

log() { printf '\033[1;34m[%s]\033[0m %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '\033[1;31m[%s] ERROR:\033[0m %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Print a unique-ish suffix usable in database names.
unique_suffix() { printf '%s_%s' "$(date +%Y%m%d%H%M%S)" "$$"; }

# Link the add-on into $ADDONS_DIR (Odoo and pylint-odoo need a folder named after it).
ensure_addons_dir() {
    mkdir -p "$ADDONS_DIR"
    if [[ "$(readlink "$ADDON_DIR" 2>/dev/null || true)" != "$ADDON_SRC" ]]; then
        rm -f "$ADDON_DIR"
        ln -s "$ADDON_SRC" "$ADDON_DIR"
    fi
}

ensure_odoo_src() {
    if [[ -f "$ODOO_SRC/odoo-bin" && -f "$ODOO_SRC/requirements.txt" ]]; then
        return 0
    fi
    if [[ -e "$ODOO_SRC" ]] && [[ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ]]; then
        die "ODOO_SRC=$ODOO_SRC exists but is not an Odoo source tree (no odoo-bin)."
    fi
    command -v git >/dev/null || die "Odoo is absent from $ODOO_SRC and git is not installed to clone it."
    log "Odoo not found in $ODOO_SRC: cloning branch $ODOO_BRANCH (shallow)..."
    mkdir -p "$(dirname "$ODOO_SRC")" 2>/dev/null || true
    if ! git clone --depth 1 --branch "$ODOO_BRANCH" "$ODOO_GIT_URL" "$ODOO_SRC"; then
        rm -rf "$ODOO_SRC"
        die "Odoo 19.0 is absent from ODOO_SRC=$ODOO_SRC and cloning $ODOO_GIT_URL failed.
Provide an Odoo 19.0 source tree there (or set ODOO_SRC to one) and retry."
    fi
}

pg_ok() { psql -X -q -d postgres -c 'select 1' >/dev/null 2>&1; }

# Start the local PostgreSQL cluster when it is down and make sure the current
# user has a (superuser) role.
ensure_postgres() {
    command -v psql >/dev/null || die "psql not found: install PostgreSQL (apt-get install -y postgresql)."
    if ! pg_ok; then
        if command -v pg_lsclusters >/dev/null; then
            local ver name
            while read -r ver name _; do
                log "starting PostgreSQL cluster $ver/$name"
                pg_ctlcluster "$ver" "$name" start 2>/dev/null || true
            done < <(pg_lsclusters -h 2>/dev/null | awk '$4 != "online"')
        fi
        local i
        for i in $(seq 1 30); do
            pg_ok && break
            # the role may be missing rather than the server down
            if is_root && su postgres -c "psql -X -q -d postgres -c 'select 1'" >/dev/null 2>&1; then
                break
            fi
            sleep 1
            [[ $i -eq 30 ]] && die "PostgreSQL is not reachable (tried for 30 s)."
        done
    fi
    if ! pg_ok; then
        is_root || die "PostgreSQL role '$DB_USER' is missing; create it: sudo -u postgres createuser -s $DB_USER"
        log "creating PostgreSQL superuser role '$DB_USER'"
        su postgres -c "createuser --superuser '$DB_USER'" || die "could not create role $DB_USER"
        pg_ok || die "PostgreSQL is still not reachable as '$DB_USER'."
    fi
}

ensure_venv() {
    [[ -x "$VENV/bin/python" ]] || die "no virtualenv at $VENV: run tools/setup.sh (make setup)."
}

ensure_chromium() {
    local bin
    for bin in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$bin" >/dev/null; then
            return 0
        fi
    done
    if is_root && command -v apt-get >/dev/null; then
        log "Chromium missing: installing it with apt-get (needed by the HttpCase tours)"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
        command -v chromium >/dev/null && return 0
    fi
    die "Chromium is required for the browser tests (HttpCase tours).
Install it, e.g.: sudo apt-get update && sudo apt-get install -y chromium"
}

# odoo_bin ARGS... : run Odoo from the venv with our addons path.
odoo_bin() {
    "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ODOO_ADDONS_PATH" "$@"
}

db_exists() {
    [[ "$(psql -X -At -d postgres -c "select 1 from pg_database where datname = '$1'")" == "1" ]]
}

# Drop a database and its Odoo filestore.
drop_db() {
    local db="$1"
    dropdb --if-exists "$db" >/dev/null 2>&1 || log "warning: could not drop database $db"
    rm -rf "$BUILD_DIR/data/filestore/$db"
}

# Print a TCP port free on 127.0.0.1.
free_port() {
    "$VENV/bin/python" - <<'PY'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

# Fail when an Odoo log has ERROR/CRITICAL lines, or WARNING lines from our
# module's loggers (odoo.addons.<name>...) or mentioning it (e.g. "Missing
# `author` key in manifest for '<name>'", "no access rules in module <name>").
check_odoo_log() {
    local logfile="$1" bad
    bad="$(grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) |^[0-9-]+ [0-9:,]+ [0-9]+ WARNING .*$ADDON_NAME" "$logfile" || true)"
    if [[ -n "$bad" ]]; then
        printf '%s\n' "$bad" >&2
        return 1
    fi
}

# Write an Odoo configuration file for database DB: write_odoo_conf FILE DB [EXTRA_LINE...]
write_odoo_conf() {
    local file="$1" db="$2"
    shift 2
    mkdir -p "$(dirname "$file")" "$BUILD_DIR/data"
    {
        printf '[options]\n'
        printf 'addons_path = %s\n' "$ODOO_ADDONS_PATH"
        printf 'db_name = %s\n' "$db"
        printf 'db_user = %s\n' "$DB_USER"
        printf 'dbfilter = ^%s$\n' "$db"
        printf 'data_dir = %s\n' "$BUILD_DIR/data"
        printf 'http_interface = 127.0.0.1\n'
        printf '%s\n' "$@"
    } >"$file"
}

# What every script that runs Odoo needs: the venv, PostgreSQL and the add-on's link.
ensure_odoo_ready() {
    ensure_venv
    ensure_postgres
    ensure_addons_dir
    [[ -f "$ADDON_DIR/__manifest__.py" ]] || die "no __manifest__.py in $ADDON_SRC"
}

# Install the add-on without demo data into a fresh database: install_fresh CONF DB LOG
# (the database is dropped first; the log says why when it fails).
install_fresh() {
    local conf="$1" db="$2" logfile="$3"
    drop_db "$db"
    log "installing $ADDON_NAME without demo data into $db"
    odoo_bin -c "$conf" -d "$db" -i "$ADDON_NAME" --stop-after-init --log-level=warn --workers=0 \
        >"$logfile" 2>&1 || die "install failed, see $logfile"
}

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

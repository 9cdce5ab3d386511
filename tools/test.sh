#!/usr/bin/env bash
# make test: setup, lint, install the add-on with demo data into a fresh
# database (fails on ERROR lines or on WARNINGs about our module), then run the
# add-on's tests (including HttpCase browser tours) with pytest-odoo, then again with Odoo's
# own runner (what OCA's CI and runboat run): both must pass and count the same tests.
#
# Environment:
#   KEEP_DB=1       keep the test database (and its filestore) afterwards
#   TEST_DB=name    database name (default crmcom_test_<timestamp>_<pid>)
#   REUSE_DB=1      with TEST_DB: skip the install when that database exists
#                   (quick re-runs while writing tests; implies KEEP_DB=1)
#   SKIP_LINT=1     do not run tools/lint.sh
#   SKIP_UNINSTALL=1  skip the install-without-demo and uninstall checks after the tests
#   PYTEST_ARGS     extra pytest arguments (e.g. "-x -k 'tour and not slow'");
#                   arguments of this script are passed to pytest as well
#   ALLOW_SKIPS=1   do not fail the run when tests were skipped
#   SKIP_ODOO_RUNNER=1  do not run the tests again with Odoo's runner
#   ODOO_LOG_LEVEL  Odoo log level during pytest (default warn)
set -euo pipefail
# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$REPO/tools/setup.sh"
if [[ "${SKIP_LINT:-0}" != "1" ]]; then
    bash "$REPO/tools/lint.sh"
fi
ensure_chromium
ensure_odoo_ready

DB="${TEST_DB:-crmcom_test_$(unique_suffix)}"
LOG_DIR="$BUILD_DIR/logs"
CONF="$BUILD_DIR/odoo-test-$DB.conf"
mkdir -p "$LOG_DIR" "$BUILD_DIR/data" "$BUILD_DIR/screenshots"

cleanup() {
    local status=$?
    if [[ "${KEEP_DB:-0}" == "1" ]]; then
        log "KEEP_DB=1: keeping database $DB (config $CONF)"
    else
        drop_db "$DB"
        rm -f "$CONF"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pytest-odoo's --odoo-http overrides http_port with a random free port of its
# own; this one serves the install run (no server is started by it anyway).
HTTP_PORT="$(free_port)"
write_odoo_conf "$CONF" "$DB" "screenshots = $BUILD_DIR/screenshots" \
    "http_port = $HTTP_PORT" "workers = 0" "max_cron_threads = 0"

# Run odoo-bin with ARGS; fail on a non-zero exit, on ERROR/CRITICAL lines and on WARNINGs
# that name this add-on.
odoo_checked() {
    local what="$1" logfile rc start=$SECONDS
    shift
    logfile="$LOG_DIR/$(tr -c 'a-z0-9\n' '-' <<<"$what" | head -c 60)-$DB.log"
    log "$what"
    set +e
    odoo_bin "$@" 2>&1 | tee "$logfile" |
        grep -E --line-buffered " (WARNING|ERROR|CRITICAL) |odoo\.modules\.loading: Modules loaded"
    rc=${PIPESTATUS[0]}
    set -e
    log "$what took $((SECONDS - start)) s (log: $logfile)"
    [[ $rc -eq 0 ]] || die "$what failed (exit $rc), see $logfile"
    check_odoo_log "$logfile" ||
        die "$what: the log has ERROR lines or WARNINGs about $ADDON_NAME (above; see $logfile)"
}

if [[ "${REUSE_DB:-0}" == "1" && -n "${TEST_DB:-}" ]] && db_exists "$DB"; then
    KEEP_DB=1
    log "REUSE_DB=1: reusing database $DB (no install, no install-log check)"
else
    log "installing $ADDON_NAME with demo data into fresh database $DB"
    drop_db "$DB"
    odoo_checked "install with demo data" -c "$CONF" -d "$DB" -i "$ADDON_NAME" --with-demo \
        --stop-after-init --log-level=info
fi

# tools/pytest_fail_on_skip.py is loaded as a plugin (-p): a skipped test fails the run.
# --confcutdir keeps pytest from looking for conftest files above tests/, inside the add-on
# package, which it would import as a top-level package before Odoo is set up.
PLUGIN_DIR="$REPO/tools"
printf '[pytest]\n# written by tools/test.sh; the options are on its command line\n' >"$BUILD_DIR/pytest.ini"
# PYTEST_ARGS is split like a shell would (quotes allowed); arguments given to
# this script are passed on too.
extra_args=()
if [[ -n "${PYTEST_ARGS:-}" ]]; then
    mapfile -t extra_args < <(xargs -n1 printf '%s\n' <<<"$PYTEST_ARGS")
fi
extra_args+=("$@")
pytest_cmd=(
    "$VENV/bin/python" -m pytest
    -c "$BUILD_DIR/pytest.ini" --rootdir "$BUILD_DIR" --confcutdir "$ADDON_DIR/tests"
    -p pytest_fail_on_skip -p no:cacheprovider -rs --junitxml "$LOG_DIR/pytest-$DB.xml"
    --odoo-config "$CONF" --odoo-database "$DB" --odoo-http
    --odoo-log-level "${ODOO_LOG_LEVEL:-warn}"
    "$ADDON_DIR/tests" "${extra_args[@]}"
)
log "running pytest-odoo on $ADDON_DIR/tests"
log "+ PYTHONPATH=$PLUGIN_DIR ${pytest_cmd[*]}"
set +e
(
    cd "$BUILD_DIR"
    PATH="$VENV/bin:$PATH" PYTHONPATH="$PLUGIN_DIR${PYTHONPATH:+:$PYTHONPATH}" "${pytest_cmd[@]}"
) 2>&1 | tee "$LOG_DIR/pytest-$DB.log"
rc=${PIPESTATUS[0]}
set -e
case $rc in
    0) log "tests passed" ;;
    5) die "pytest collected no tests (exit 5): failing" ;;
    *) die "tests failed (pytest exit $rc)" ;;
esac

# The same tests under Odoo's own runner (odoo-bin --test-tags): every test module is imported
# by tests/__init__.py and every test class is one of Odoo's, so both runners run them all.
if [[ "${SKIP_ODOO_RUNNER:-0}" != "1" && ${#extra_args[@]} -eq 0 ]]; then
    runner_log="$LOG_DIR/odoo-runner-$DB.log"
    log "running the tests again with Odoo's runner (log: $runner_log)"
    set +e
    odoo_bin -c "$CONF" -d "$DB" --test-tags "/$ADDON_NAME" --stop-after-init \
        --log-level=test --http-port "$(free_port)" >"$runner_log" 2>&1
    rc=$?
    set -e
    odoo_tests="$(sed -nE 's/.*odoo\.tests\.result: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/p' "$runner_log" | tail -1)"
    read -r odoo_failed odoo_errors odoo_count <<<"${odoo_tests:-x x x}"
    pytest_count="$(grep -oE '[0-9]+ passed' "$LOG_DIR/pytest-$DB.log" | tail -1 | cut -d' ' -f1)"
    log "Odoo's runner: ${odoo_count} tests, ${odoo_failed} failed, ${odoo_errors} errors; pytest-odoo: ${pytest_count} tests"
    if [[ $rc -ne 0 || "$odoo_failed" != "0" || "$odoo_errors" != "0" ]]; then
        grep -E " (ERROR|CRITICAL) |^(FAIL|ERROR):" "$runner_log" | head -40 || true
        die "Odoo's runner failed (exit $rc), see $runner_log"
    fi
    [[ "$odoo_count" == "$pytest_count" ]] ||
        die "Odoo's runner ran $odoo_count tests, pytest-odoo $pytest_count: a test runs under one only"
fi

# The add-on must also install without demo data, and uninstall cleanly in both cases.
if [[ "${SKIP_UNINSTALL:-0}" != "1" && "${REUSE_DB:-0}" != "1" ]]; then
    odoo_checked "uninstall (demo data)" module uninstall -c "$CONF" -d "$DB" "$ADDON_NAME"
    DB="${DB}_nodemo"
    drop_db "$DB"
    odoo_checked "install without demo data" -c "$CONF" -d "$DB" -i "$ADDON_NAME" \
        --stop-after-init --log-level=info
    odoo_checked "uninstall (no demo data)" module uninstall -c "$CONF" -d "$DB" "$ADDON_NAME"
    drop_db "$DB"
    DB="${DB%_nodemo}"
    log "install and uninstall, with and without demo data: clean"
fi

# The test count, last, in the plain form CI reads ("N passed, N failed").
"$VENV/bin/python" - "$LOG_DIR/pytest-$DB.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
tests, failed = int(suite.get("tests")), int(suite.get("failures")) + int(suite.get("errors"))
skipped = int(suite.get("skipped"))
print(f"{tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY

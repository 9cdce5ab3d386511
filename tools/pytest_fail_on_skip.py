"""pytest plugin of this repository: a skipped test fails the run.

Odoo skips browser tours silently when Chromium or
websocket-client is missing, and pytest-odoo skips HttpCase tests without
--odoo-http. Set ALLOW_SKIPS=1 to accept skips. tools/test.sh loads this
file as a plugin (-p).
"""

import os


def _skips(config):
    if os.environ.get("ALLOW_SKIPS") == "1":
        return []
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.stats.get("skipped", []) if reporter else []


def pytest_sessionfinish(session, exitstatus):
    if _skips(session.config) and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = _skips(config)
    if skipped:
        terminalreporter.write_sep(
            "=", "skipped tests fail this run (ALLOW_SKIPS=1 allows them)", red=True
        )
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            terminalreporter.write_line(f"SKIPPED {report.nodeid}: {reason}")

"""Run the add-on's hoot unit tests (static/tests/unit) in headless Chrome.

Only this add-on's suite runs: a ``filter`` regular expression on the tests' full names
(``@pos_crmcom_rewards/...``), as web's QunitCommon builds its filters. Not an ``id=`` (hoot's
hash of the suite name, as web's HOOTCommon uses): hoot drops from the URL an id it cannot
find, then runs every test of every installed module. A filter that matches nothing runs
nothing, and hoot reports success for that, so the number of tests it says it passed is
checked too: a suite that silently stopped running (a renamed folder, an asset bundle that
lost it) fails here.
"""

import logging
import re

from werkzeug.urls import url_quote_plus

from odoo.tests import HttpCase, tagged

from odoo.addons.web.tests.test_js import unit_test_error_checker

SUITE = "@pos_crmcom_rewards"
# Tests in static/tests/unit when this was written; more may be added, fewer may not run.
MIN_TESTS = 40

RE_PASSED = re.compile(r"\bPassed (\d+) tests\b")
RE_FAILED = re.compile(r"\bFailed (\d+) tests\b")
RE_TEST_PASSED = re.compile(r"\bTest ([\"'`])(.+?)\1 passed \(assertions")


class _Collect(logging.Handler):
    """Keeps the browser console messages, passes on those the run's log level shows."""

    def __init__(self, logger, level):
        super().__init__(logging.DEBUG)
        self.logger = logger
        self.level_shown = level
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())
        if record.levelno >= self.level_shown and self.logger.parent:
            self.logger.parent.handle(record)


@tagged("post_install", "-at_install")
class TestJsUnit(HttpCase):
    def test_hoot_unit_suite(self):
        name_filter = url_quote_plus(f"/^{re.escape(SUITE)}\\//")
        url = f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&filter={name_filter}"
        # The browser's console is logged by this logger; hoot's "Passed N tests" line is a
        # console.dir (RUNBOT level), below what a --log-level=warn run shows, so the logger is
        # opened to everything while this test runs and only what the run's level shows is
        # passed on.
        browser_logger = self._logger.getChild("browser")
        collect = _Collect(browser_logger, browser_logger.getEffectiveLevel())
        old_level, old_propagate = browser_logger.level, browser_logger.propagate
        browser_logger.addHandler(collect)
        browser_logger.setLevel(logging.DEBUG)
        browser_logger.propagate = False
        try:
            self.browser_js(
                url,
                "",
                "",
                login="admin",
                timeout=900,
                success_signal="[HOOT] Test suite succeeded",
                error_checker=unit_test_error_checker,
            )
        finally:
            browser_logger.removeHandler(collect)
            browser_logger.setLevel(old_level)
            browser_logger.propagate = old_propagate

        log = "\n".join(collect.messages)
        failed = [int(count) for count in RE_FAILED.findall(log)]
        self.assertFalse(any(failed), f"hoot tests failed:\n{log[-3000:]}")
        passed = [int(count) for count in RE_PASSED.findall(log)]
        self.assertTrue(passed, f"hoot did not say how many tests passed:\n{log[-3000:]}")
        self.assertGreaterEqual(
            passed[-1],
            MIN_TESTS,
            f"only {passed[-1]} hoot tests of {SUITE} ran, at least {MIN_TESTS} expected",
        )
        # Every test that ran is one of ours ("todo" tests that fail as expected are logged as
        # passed but not counted as such).
        ran = [name for _quote, name in RE_TEST_PASSED.findall(log)]
        self.assertGreaterEqual(len(ran), passed[-1], "hoot's count and its log disagree")
        foreign = [name for name in ran if not name.startswith(SUITE + "/")]
        self.assertFalse(foreign, f"tests of other modules ran: {foreign[:5]}")

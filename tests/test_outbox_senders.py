"""The outbox's senders: how many there are, when they run, how they share the work of a
company and how they back off. Their concurrency, across threads and processes, is in
test_outbox_processes.py and test_concurrency.py."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from ..crmcom import (
    AuthenticationError,
    BadReplyError,
    BusinessRuleError,
    CallTimeoutError,
    CrmComError,
    RateLimitedError,
    TransportError,
)
from ..models.crmcom_parameters import OUTBOX_CALLS_PER_COMPANY
from ..models.crmcom_purchase import MAX_BACKOFF, OUTAGE_PAUSE, SENDERS, _pause_for
from .common import CashierCase, connect_company


@tagged("post_install", "-at_install")
class TestOutboxSenders(CashierCase):
    def senders(self):
        return self.env["crmcom.purchase"]._senders()

    def settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def test_the_settings_make_that_many_senders_active(self):
        self.assertEqual(len(self.senders()), len(SENDERS))
        self.assertEqual(self.senders().mapped("active"), [True, False, False, False])
        self.assertEqual(self.settings().crmcom_award_senders, 1)
        self.settings(crmcom_award_senders=3).execute()
        self.assertEqual(self.senders().mapped("active"), [True, True, True, False])
        self.assertEqual(self.settings().crmcom_award_senders, 3)
        self.settings(crmcom_award_senders=1).execute()
        self.assertEqual(self.senders().mapped("active"), [True, False, False, False])
        for wrong in (0, len(SENDERS) + 1):
            with self.assertRaises(ValidationError):
                self.settings(crmcom_award_senders=wrong).execute()
        self.assertEqual(self.senders().mapped("active"), [True, False, False, False])

    def test_saving_other_settings_switches_no_stopped_sender_on(self):
        """A neutralised copy has every sender stopped: saving the settings keeps it so."""
        self.senders().active = False
        self.settings(crmcom_receipt_wait_seconds=3).execute()
        self.assertFalse(any(self.senders().mapped("active")))

    def triggered(self, before):
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "in", self.senders().ids)])
        return (triggers - before).cron_id

    def test_a_neutralised_copy_switches_no_sender_on(self):
        self.env["ir.config_parameter"].set_param("database.is_neutralized", "True")
        with self.assertRaises(UserError):
            self.settings(crmcom_award_senders=2).execute()
        self.assertEqual(self.senders().mapped("active"), [True, False, False, False])

    def test_a_paid_order_wakes_the_first_sender_and_a_backlog_the_next(self):
        self.settings(crmcom_award_senders=3).execute()
        first, second, third, _fourth = self.senders()
        before = self.env["ir.cron.trigger"].search([])
        self.paid_order(self.john(), "uuid-s1")
        self.assertEqual(self.triggered(before), first, "one sale: one sender")
        self.paid_order(self.john(), "uuid-s2")
        before = self.env["ir.cron.trigger"].search([])
        self.run_submit_cron()  # the first sender: two rows, a backlog
        self.assertEqual(self.triggered(before), second, "the next sender shares it")
        self.assertNotIn(third, self.triggered(before))

    def test_the_calls_per_company_setting_is_bounded(self):
        with self.assertRaises(ValidationError):
            self.settings(crmcom_outbox_calls_per_company=0).execute()
        self.settings(crmcom_outbox_calls_per_company=4).execute()
        self.assertEqual(OUTBOX_CALLS_PER_COMPANY.value(self.env), 4)

    # ------------------------------------------------------------------ back-off

    def due_purchase(self, uuid):
        purchase = self.paid_order(self.john(), uuid).crmcom_purchase_id.sudo()
        self.assertEqual(purchase.state, "pending")
        return purchase

    def test_a_retry_waits_its_back_off_and_a_little_more(self):
        purchase = self.due_purchase("uuid-s2")
        now = fields.Datetime.now()
        with patch.object(fields.Datetime, "now", return_value=now):
            purchase._set_retry(TransportError("down"))
        wait = purchase.next_attempt_at - now
        # 2^0 minutes, plus a jitter of up to a quarter (whole seconds: Datetime fields).
        self.assertGreaterEqual(wait, timedelta(minutes=1))
        self.assertLessEqual(wait, timedelta(minutes=1.25))

    def test_a_retry_after_429_waits_what_crmcom_asked(self):
        purchase = self.due_purchase("uuid-s3")
        now = fields.Datetime.now()
        with patch.object(fields.Datetime, "now", return_value=now):
            purchase._set_retry(RateLimitedError("slow down", retry_after=900))
        wait = purchase.next_attempt_at - now
        self.assertGreaterEqual(wait, timedelta(seconds=900))
        self.assertLessEqual(wait, timedelta(seconds=900 * 1.25))

    def test_the_jitter_spreads_the_retries_of_one_outage(self):
        purchases = self.due_purchase("uuid-s4") | self.due_purchase("uuid-s5")
        purchases |= self.due_purchase("uuid-s6")
        now = fields.Datetime.now()
        with patch.object(fields.Datetime, "now", return_value=now):
            for purchase in purchases:
                purchase._set_retry(RateLimitedError("slow down", retry_after=3600))
        self.assertGreater(len(set(purchases.mapped("next_attempt_at"))), 1)

    # ------------------------------------------------------------------ companies

    def test_a_company_whose_crmcom_is_down_is_passed_and_the_others_go_on(self):
        """Rows of a company whose CRM.COM cannot be reached wait for the next run; the rows
        of other companies due after them are still sent in the same run."""
        elsewhere = self.env["res.company"].create({"name": "Shop whose CRM.COM is down"})
        # A port nothing listens on: every call fails at once, as a transport error.
        connect_company(elsewhere, self.simulator, base_url="http://127.0.0.1:9")
        down = self.due_purchase("uuid-d1") | self.due_purchase("uuid-d2")
        up = self.due_purchase("uuid-u1") | self.due_purchase("uuid-u2")
        self.env.flush_all()
        # The company is a stored related field: moved under the SQL, as rows of a till of
        # that company would be.
        self.env.cr.execute(
            SQL(
                "UPDATE crmcom_purchase SET company_id = %s WHERE id IN %s",
                elsewhere.id,
                tuple(down.ids),
            )
        )
        self.env.invalidate_all()
        handled = []
        process_due = type(down)._process_due

        def recording_process_due(purchase, cron):
            handled.append(purchase.order_uuid)
            return process_due(purchase, cron)

        with patch.object(type(down), "_process_due", recording_process_due):
            self.run_submit_cron()
        self.assertEqual(handled, ["uuid-d1", "uuid-u1", "uuid-u2"], "one call, then passed")
        self.assertEqual(up.mapped("state"), ["posted", "posted"])
        self.assertEqual(down.mapped("state"), ["pending", "pending"])
        self.assertEqual(down.mapped("attempts"), [1, 0], "the second one was never tried")
        # Paused for every sender, not only for the rest of this one's run.
        paused = elsewhere._crmcom_connection().outbox_paused_until
        self.assertTrue(paused and paused > fields.Datetime.now())
        down.next_attempt_at = False  # its own back-off over: the company's pause still holds
        handled.clear()
        with patch.object(type(down), "_process_due", recording_process_due):
            self.run_submit_cron()
        self.assertEqual(handled, [], "left alone while paused")
        later = fields.Datetime.now() + OUTAGE_PAUSE + timedelta(seconds=1)
        with patch.object(fields.Datetime, "now", return_value=later):
            self.assertEqual(self.env["crmcom.purchase"].sudo()._lock_next_due(), down[:1])
        down.action_retry()  # a person asks to try now
        self.assertFalse(elsewhere._crmcom_connection().outbox_paused_until)

    def test_what_pauses_a_company_and_what_is_one_rows_own(self):
        cases = [
            (RateLimitedError("slow down", retry_after=30), timedelta(seconds=30)),
            (RateLimitedError("slow down", retry_after=10**6), MAX_BACKOFF),
            (RateLimitedError("slow down"), timedelta(seconds=60)),
            (TransportError("refused"), OUTAGE_PAUSE),
            (TransportError("bad gateway", http_status=502), OUTAGE_PAUSE),
            (BadReplyError("a proxy's page", http_status=503), OUTAGE_PAUSE),
            (AuthenticationError("key refused"), OUTAGE_PAUSE),
            (TransportError("server error", http_status=500), None),
            (CallTimeoutError("no reply"), None),
            (BusinessRuleError("refused"), None),
            (BadReplyError("not JSON", http_status=200), None),
        ]
        for exc, pause in cases:
            with self.subTest(exc=repr(exc)):
                self.assertEqual(_pause_for(exc), pause)

    def test_a_sender_out_of_time_has_the_job_run_again_at_once(self):
        """Odoo gives a job's run 10 s, then runs it again at once only if the job says rows
        are left: a backlog is never left to the job's next interval."""
        purchases = self.due_purchase("uuid-t1") | self.due_purchase("uuid-t2")
        purchases |= self.due_purchase("uuid-t3")
        with patch("odoo.addons.base.models.ir_cron.MIN_TIME_PER_JOB", 0):
            self.run_submit_cron()  # out of time after each row
        self.assertEqual(purchases.mapped("state"), ["posted"] * 3)

    def test_a_refusal_passes_no_company(self):
        purchases = self.due_purchase("uuid-r1") | self.due_purchase("uuid-r2")
        handled = []

        def refused(purchase, cron):
            handled.append(purchase.order_uuid)
            purchase._set_retry(CrmComError("refused"))
            raise CrmComError("refused")

        with patch.object(type(purchases), "_process_due", refused):
            self.run_submit_cron()
        self.assertEqual(handled, ["uuid-r1", "uuid-r2"], "a refusal is the row's, not CRM.COM's")

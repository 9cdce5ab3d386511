"""The call log keeps what it should, for as long as configured."""

from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged

from ..crmcom import CallRecord
from ..models.crmcom_parameters import CALL_LOG_RETENTION_DAYS


@tagged("post_install", "-at_install")
class TestCrmComCallLog(TransactionCase):
    def log_at(self, when):
        return self.env["crmcom.call.log"].create(
            {
                "method": "wallets/show",
                "called_at": when,
                "outcome": "ok",
            }
        )

    def test_prune_removes_only_entries_older_than_the_retention(self):
        self.env["ir.config_parameter"].set_param(CALL_LOG_RETENTION_DAYS.key, "10")
        now = fields.Datetime.now()
        old = self.log_at(now - timedelta(days=11))
        recent = self.log_at(now - timedelta(days=9))
        # The job runs in a cursor of its own: let it see this test's transaction.
        with self.enter_registry_test_mode():
            self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_call_log_prune").method_direct_trigger()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())

    def test_prune_works_in_batches(self):
        now = fields.Datetime.now()
        logs = self.env["crmcom.call.log"].create(
            [
                {"method": "wallets/show", "called_at": now - timedelta(days=400), "outcome": "ok"}
                for _ in range(5)
            ]
        )
        self.assertEqual(self.env["crmcom.call.log"]._prune(limit=3), 3)
        self.assertEqual(len(logs.exists()), 2)

    def test_hook_stores_the_masked_record(self):
        related = self.env["res.partner"].create({"name": "Linked"})
        record = CallRecord(
            method="customer_events/purchases/create",
            started_at=1_790_000_000,
            duration=0.1234,
            outcome="business_rule_error",
            http_status=200,
            status_code="DUPLICATE_REFERENCE_NUMBER",
            message="Duplicate",
            request={"token": "***", "reference_number": "Shop/1"},
            response='{"status": {"code": "DUPLICATE_REFERENCE_NUMBER"}}',
        )
        log = self.env["crmcom.call.log"]._log_call(record, self.env.company, related)
        self.assertEqual(log.duration_ms, 123)
        self.assertEqual(log.called_at, fields.Datetime.to_datetime("2026-09-21 14:13:20"))
        self.assertEqual((log.res_model, log.res_id), ("res.partner", related.id))
        self.assertIn('"reference_number": "Shop/1"', log.request)
        self.assertEqual(log.status_code, "DUPLICATE_REFERENCE_NUMBER")

"""Refunds and abandoned sales: nothing left dangling in CRM.COM, nobody short-changed."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..models.crmcom_parameters import ABANDONED_AFTER_HOURS
from .common import CashierCase


@tagged("post_install", "-at_install")
class TestRefunds(CashierCase):
    def wallet(self, number="W0001"):
        wallets = self.simulator_state()["wallets"]
        return next(w for w in wallets if w["number"] == number)["balance"]

    def refund(self, order, keep=()):
        """Refund ``order`` at the till, except the products in ``keep``; submit it."""
        # Without ``keep``, the back office's refund as it comes (its wallet share is Odoo's).
        returned = order.lines.filtered(lambda line: line.product_id not in keep) if keep else None
        refund = super().refund(order, returned)
        self.run_submit_cron()
        return refund

    def test_the_till_is_told_the_wallet_share_of_a_refund(self):
        john = self.john()
        basket = self.basket(john, [(self.desk, 1), (self.lamp, 1)], uuid="uuid-r9")
        self.assertEqual(self.config._crmcom_spend(basket, 20)["spent"], 20.0)
        order = self.paid_order(
            john, "uuid-r9", discount=20, products=[(self.desk, 1), (self.lamp, 1)]
        )
        lamp = order.lines.filtered(lambda line: line.product_id == self.lamp)
        share = self.config._crmcom_refund_share(order.id, [[lamp.id, 1]])
        self.assertEqual(share, {"ok": True, "wallet": 5.0})
        # After that refund, the desk brings back what stays spent: 15.00.
        self.refund(order, keep=(self.desk, self.spend_product))
        desk = order.lines.filtered(lambda line: line.product_id == self.desk)
        self.assertEqual(self.config._crmcom_refund_share(order.id, [[desk.id, 1]])["wallet"], 15.0)
        for lines in ([[desk.id + 10**6, 1]], [[desk.id, "x"]], [[desk.id, -1]], "desk"):
            with self.subTest(lines=lines):
                result = self.config._crmcom_refund_share(order.id, lines)
                self.assertEqual(result["error"], "invalid", result)

    def test_full_refund_takes_the_award_back(self):
        john = self.john()
        order = self.paid_order(john, "uuid-r1")
        self.run_submit_cron()
        self.assertEqual(self.wallet(), 26.5)
        purchase = order.crmcom_purchase_id
        self.assertEqual(purchase.booked_awarded, 1.5)
        self.refund(order)
        self.assertEqual(order.crmcom_state, "cancelled")
        # The awards list's totals add nothing for it any more; the award itself is kept.
        self.assertEqual((purchase.booked_awarded, purchase.awarded), (0.0, 1.5))
        self.assertEqual(self.crm_purchases(), [])
        self.assertEqual(len(self.crm_purchases("CANCELLED")), 1)
        self.assertEqual(self.wallet(), 25.0)

    def test_full_refund_gives_the_spend_back(self):
        john = self.john()
        self.config._crmcom_spend(self.basket(john, uuid="uuid-r2"), 10)
        order = self.paid_order(john, "uuid-r2", discount=10)
        self.assertEqual(self.wallet(), 16.5)  # 25.00 + 1.50 awarded - 10.00 spent
        self.refund(order)
        self.assertEqual(self.crm_purchases(), [])
        self.assertEqual(self.wallet(), 25.0, "the award taken back, the spend given back")

    def test_partial_refund_keeps_only_the_kept_goods_share(self):
        john = self.john()
        basket = self.basket(john, [(self.desk, 1), (self.lamp, 1)], uuid="uuid-r3")
        self.assertEqual(self.config._crmcom_spend(basket, 20)["spent"], 20.0)
        order = self.paid_order(
            john, "uuid-r3", discount=20, products=[(self.desk, 1), (self.lamp, 1)]
        )
        self.assertEqual(self.wallet(), 7.0)  # 25.00 + 2.00 awarded - 20.00 spent
        receipt = order.crmcom_receipt
        self.assertEqual(
            receipt,
            {
                "confirmed": True,
                "cancelled": False,
                "awarded": 2.0,
                "spent": 20.0,
                "balance_after": 7.0,
                "wallet_currency": self.company.currency_id.name,
            },
        )
        refund = self.refund(order, keep=(self.desk, self.spend_product))  # the lamp comes back
        replacement = order.crmcom_purchase_id
        # The sale's receipt (and every reprint) still says what happened at the sale.
        order.invalidate_recordset()
        self.assertEqual(order.crmcom_receipt, receipt)
        # The refund shows the sale's purchase, cancelled, and its replacement.
        self.assertEqual(
            refund.crmcom_refunded_purchase_ids.sorted("id").mapped("state"),
            ["cancelled", "posted"],
        )
        self.assertEqual(replacement.state, "posted")
        self.assertEqual(replacement.amount_total, 30.0)
        # The desk is 30/40 of the basket: it keeps 15.00 of the 20.00 spent, and 1.50 award.
        self.assertEqual((replacement.awarded, replacement.spent), (1.5, 15.0))
        self.assertEqual(self.wallet(), 11.5)  # 25.00 + 1.50 - 15.00
        posted = self.crm_purchases()
        self.assertEqual(len(posted), 1)
        self.assertEqual(posted[0]["reference_number"], f"{order.pos_reference}/R1")
        # Refunding the rest later cancels the replacement too: back to where John started.
        self.refund(order)
        self.assertEqual(self.crm_purchases(), [])
        self.assertEqual(self.wallet(), 25.0)

    def test_refund_while_crmcom_is_down_is_done_later(self):
        john = self.john()
        order = self.paid_order(john, "uuid-r4")
        self.run_submit_cron()
        self.simulator.faults.add("http_500", times=None)
        self.refund(order)
        self.assertEqual(order.crmcom_purchase_id.state, "to_cancel")
        self.simulator.faults.clear()
        order.crmcom_purchase_id.action_retry()
        self.run_submit_cron()
        self.assertEqual(order.crmcom_state, "cancelled")
        self.assertEqual(self.wallet(), 25.0)

    def test_refund_of_an_award_never_sent_sends_nothing(self):
        john = self.john()
        self.simulator.faults.add("http_500", times=None)
        order = self.paid_order(john, "uuid-r5")
        self.simulator.faults.clear()
        self.refund(order)
        self.assertEqual(order.crmcom_state, "cancelled")
        self.assertEqual(self.simulator_state()["purchases"], [])

    def test_abandoned_spend_is_cancelled_after_the_configured_age(self):
        john = self.john()
        self.config._crmcom_spend(self.basket(john, uuid="uuid-r6"), 10)
        self.env["ir.config_parameter"].set_param(ABANDONED_AFTER_HOURS.key, "2")
        self.run_submit_cron()
        self.assertEqual(len(self.crm_purchases()), 1, "too young to be abandoned")
        later = fields.Datetime.now() + timedelta(hours=3)
        with patch.object(fields.Datetime, "now", return_value=later):
            self.run_submit_cron()
        self.assertEqual(self.crm_purchases(), [])
        self.assertEqual(self.wallet(), 25.0)

    def test_paid_order_is_never_taken_for_abandoned(self):
        john = self.john()
        self.config._crmcom_spend(self.basket(john, uuid="uuid-r7"), 10)
        self.paid_order(john, "uuid-r7", discount=10)
        later = fields.Datetime.now() + timedelta(days=30)
        with patch.object(fields.Datetime, "now", return_value=later):
            self.run_submit_cron()
        self.assertEqual(len(self.crm_purchases()), 1)

"""The cashier's CRM.COM Rewards flow at the till, in Chromium, against the simulator."""

import time

from odoo import Command
from odoo.tests import tagged

from ..models.pos_order import _amount_incl
from .common import CrmComTourCase


@tagged("post_install", "-at_install")
class TestCrmComCashier(CrmComTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax_10 = cls.env["account.tax"].create(
            {"name": "CRM VAT 10%", "amount": 10, "amount_type": "percent"}
        )
        cls.shirt = cls.env["product.product"].create(
            {
                "name": "CRM Shirt",
                "available_in_pos": True,
                "list_price": 25.0,
                "taxes_id": [Command.set(cls.tax_10.ids)],
            }
        )

    def _open_and_tour(self, tour):
        self.main_pos_config.with_user(self.pos_user).open_ui()
        self.start_pos_tour(tour, login="pos_user")
        return self.main_pos_config.current_session_id

    def _john(self):
        return self.env["res.partner"].search([("crmcom_participant_number", "=", "P0001")])

    def test_identify_errors_and_preview(self):
        # A slow CRM.COM, so that the tour sees the preview being refreshed.
        self.simulator.faults.add(
            "latency", method="customer_events/purchases/preview", times=None, seconds=1.5
        )
        self._open_and_tour("CrmComIdentifyTour")
        john = self._john()
        self.assertEqual(len(john), 1, "identifying John creates (or finds) his contact")
        self.assertEqual(john.name, "John Doe")
        self.assertAlmostEqual(john.crmcom_balance, 25.0)
        # Neither the unknown card nor the terminated participant got a contact.
        self.assertFalse(
            self.env["res.partner"].search([("crmcom_participant_number", "=", "P0003")])
        )

    def test_outage_sale_completes(self):
        self.simulator.faults.add("drop", method="rewards_participants/show", times=None)
        session = self._open_and_tour("CrmComOutageTour")
        order = session.order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "paid")
        self.assertFalse(order.partner_id)
        self.assertFalse(order.crmcom_purchase_id)

    def _purchases_of(self, order):
        return [
            purchase
            for purchase in self.simulator_state()["purchases"]
            if purchase.get("external_system_reference_number") == order.uuid
        ]

    def test_scanned_card_award_on_the_receipt(self):
        session = self._open_and_tour("CrmComScanAwardTour")
        order = session.order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(order.partner_id, self._john())
        self.assertEqual(order.state, "paid")
        self.assertEqual(order.amount_total, 20.0)
        self.assertEqual(order.crmcom_participant_number, "P0001")
        # Sent while the receipt waited, once: the receipt printed CRM.COM's figures.
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual((order.crmcom_awarded, order.crmcom_balance_after), (1.0, 26.0))
        self.assertEqual(len(self._purchases_of(order)), 1)
        self.run_submit_cron()
        self.assertEqual(len(self._purchases_of(order)), 1, "the outbox sends it no more")
        # Only the card was looked up: the other code is no card by the nomenclature.
        lookups = self.env["crmcom.call.log"].search([("method", "=", "rewards_participants/show")])
        self.assertEqual(len(lookups), 1)
        self.assertIn("***1234", lookups.request)
        self.assertNotIn("4000123412341234", lookups.request, "kept masked")
        self.assertFalse(order.lines.filtered(lambda line: line.product_id == self._spend()))

    def test_slow_crmcom_receipt_prints_the_expected_award(self):
        self.simulator.faults.add(
            "latency", method="customer_events/purchases/create", times=1, seconds=4
        )
        started = time.monotonic()
        session = self._open_and_tour("CrmComSlowAwardTour")
        order = session.order_ids
        self.assertEqual(order.state, "paid")
        # The receipt waited 2 s for CRM.COM: the call may have arrived, so it is looked up.
        self.assertIn(order.crmcom_state, ("unknown", "pending"))
        # The slow call is done in CRM.COM by now (or soon): the outbox adopts it.
        for _attempt in range(50):
            if self._purchases_of(order) or time.monotonic() - started > 30:
                break
            time.sleep(0.2)
        self.assertEqual(len(self._purchases_of(order)), 1)
        order.crmcom_purchase_id.sudo().next_attempt_at = False
        self.run_submit_cron()
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual(order.crmcom_awarded, 1.0)
        self.assertEqual(len(self._purchases_of(order)), 1, "exactly once")

    def _spend(self):
        return self.main_pos_config.crmcom_discount_product_id

    def test_partial_spend(self):
        self.simulator.config.update({"preview_spend_includes_award": True})
        session = self._open_and_tour("CrmComSpendTour")
        order = session.order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "paid")
        discount = order.lines.filtered(lambda line: line.product_id == self._spend())
        # One discount line per tax group, carrying that group's taxes.
        self.assertEqual(len(discount), 2)
        self.assertEqual(
            sorted(discount.mapped(lambda line: tuple(line.tax_ids.ids))),
            sorted([(), tuple(self.tax_10.ids)]),
        )
        self.assertAlmostEqual(sum(discount.mapped("price_subtotal_incl")), -27.38, places=2)
        self.assertAlmostEqual(order.amount_total, 20.12, places=2)
        self.assertAlmostEqual(sum(order.payment_ids.mapped("amount")), 20.12, places=2)
        # Proportional to each group's share of 47.50 (27.50 taxed, 20.00 untaxed).
        taxed = discount.filtered("tax_ids")
        self.assertAlmostEqual(taxed.price_subtotal_incl, -15.85, places=2)
        self.assertAlmostEqual((discount - taxed).price_subtotal_incl, -11.53, places=2)
        self.assertEqual(order.crmcom_state, "posted")
        self.assertAlmostEqual(order.crmcom_spent, 27.38, places=2)
        self.assertAlmostEqual(order.crmcom_awarded, 2.38, places=2)
        self.assertAlmostEqual(order.crmcom_balance_after, 0.0, places=2)
        # CRM.COM: the first spend (5.00) and its purchase were cancelled when the basket
        # changed; the second purchase holds the 27.38 spend.
        state = self.simulator_state()
        self.assertEqual(self._john().crmcom_participant_number, "P0001")
        spends = sorted(
            (spend["life_cycle_state"], float(spend["spend_amount"]))
            for spend in state["spend_requests"]
        )
        self.assertEqual(spends, [("CANCELLED", 5.0), ("POSTED", 27.38)])
        purchases = sorted(purchase["life_cycle_state"] for purchase in state["purchases"])
        self.assertEqual(purchases, ["CANCELLED", "POSTED"])
        posted = [p for p in state["purchases"] if p["life_cycle_state"] == "POSTED"]
        self.assertEqual(posted[0]["id"], order.crmcom_purchase_id.crmcom_id)

    def test_refund_gives_back_the_wallet_share(self):
        session = self._open_and_tour("CrmComRefundTour")
        sale = session.order_ids.filtered(lambda order: not order.is_refund)
        refund = session.order_ids - sale
        self.assertEqual(len(refund), 1)
        self.assertEqual(refund.state, "paid")
        wallet = refund.lines.filtered(lambda line: line.product_id == self._spend())
        # Odoo stores a refund's line totals in the refund's sign: read them as it computes.
        restored = sum(map(_amount_incl, wallet))
        self.assertAlmostEqual(restored, 8.42, places=2)
        self.assertAlmostEqual(refund.amount_total, -11.58, places=2)
        # For the shirt that is kept: cash paid - cash refunded + wallet spent - restored.
        shirt = sale.lines.filtered(lambda line: line.product_id == self.shirt)
        paid = sum(sale.payment_ids.mapped("amount")) + sum(refund.payment_ids.mapped("amount"))
        spent = sale.lines.filtered(lambda line: line.product_id == self._spend())
        wallet_spent = -sum(spent.mapped("price_subtotal_incl"))
        wallet_kept = wallet_spent - restored
        self.assertAlmostEqual(paid + wallet_kept, shirt.price_subtotal_incl, places=2)
        self.env["crmcom.purchase"].sudo().search([]).write({"next_attempt_at": False})
        self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_submit_purchases").method_direct_trigger()
        state = self.simulator_state()
        posted = [p for p in state["purchases"] if p["life_cycle_state"] == "POSTED"]
        self.assertEqual(len(posted), 1, "the replacement, for the shirt")
        spends = [s for s in state["spend_requests"] if s["life_cycle_state"] == "POSTED"]
        self.assertEqual([float(s["spend_amount"]) for s in spends], [11.58])
        self.assertEqual(sale.crmcom_purchase_id.spent, 11.58)

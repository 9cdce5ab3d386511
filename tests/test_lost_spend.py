"""A spend request whose answer was lost: looked up in CRM.COM, never doubled, never kept
without a discount."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..models.crmcom_parameters import ABANDONED_AFTER_HOURS
from .common import CashierCase

SPEND = "customer_events/spend_requests/create"


@tagged("post_install", "-at_install")
class TestLostSpend(CashierCase):
    def wallet(self):
        wallets = self.simulator_state()["wallets"]
        return next(w for w in wallets if w["number"] == "W0001")["balance"]

    def spends(self, state="POSTED"):
        spends = self.simulator_state()["spend_requests"]
        return [spend for spend in spends if spend["life_cycle_state"] == state]

    def purchase(self, uuid):
        return self.env["crmcom.purchase"].search(
            [("order_uuid", "=", uuid), ("state", "!=", "cancelled")]
        )

    def lose_spend_answer(self, partner, uuid, amount=10, fault="drop_after"):
        """Spend at the till while CRM.COM's answer is lost (``drop_after``: it did spend;
        ``drop``: it never saw the request)."""
        self.simulator.faults.add(fault, method=SPEND)
        result = self.config._crmcom_spend(self.basket(partner, uuid=uuid), amount)
        self.assertFalse(result["ok"], result)
        self.assertEqual(self.purchase(uuid).spend_state, "unknown")
        return result

    def test_retry_after_a_lost_answer_returns_that_spend_without_spending_twice(self):
        john = self.john()
        self.lose_spend_answer(john, "uuid-l1")
        self.assertEqual(len(self.spends()), 1, "CRM.COM did spend")
        retry = self.config._crmcom_spend(self.basket(john, uuid="uuid-l1"), 10)
        self.assertTrue(retry["ok"], retry)
        self.assertEqual((retry["spent"], retry["requested"]), (10.0, 10.0))
        self.assertEqual(len(self.spends()), 1, "found again, not spent again")
        self.assertEqual(retry["spend_number"], self.spends()[0]["number"])
        self.assertEqual(self.wallet(), 25.0 + 1.5 - 10.0)
        purchase = self.purchase("uuid-l1")
        self.assertEqual((purchase.spend_state, purchase.spent), ("posted", 10.0))
        order = self.paid_order(john, "uuid-l1", discount=10)
        self.assertEqual(order.state, "paid")

    def test_a_spend_that_never_arrived_is_forgotten_and_made_again(self):
        john = self.john()
        self.lose_spend_answer(john, "uuid-l2", fault="drop")
        self.assertEqual(self.spends(), [], "CRM.COM never saw it")
        retry = self.config._crmcom_spend(self.basket(john, uuid="uuid-l2"), 10)
        self.assertTrue(retry["ok"], retry)
        self.assertEqual(len(self.spends()), 1)
        self.assertEqual(self.wallet(), 25.0 + 1.5 - 10.0)

    def test_paid_order_without_the_discount_gets_the_wallet_money_back(self):
        john = self.john()
        self.lose_spend_answer(john, "uuid-l3")
        # The till got no answer, so it gave no discount; the order is paid in full.
        order = self.paid_order(john, "uuid-l3")
        self.assertEqual(order.state, "paid")
        self.run_submit_cron()
        self.assertEqual(self.spends(), [])
        self.assertEqual(len(self.spends("CANCELLED")), 1)
        self.assertEqual(self.wallet(), 25.0 + 1.5, "the award stays, the spend is undone")
        self.assertEqual(order.crmcom_purchase_id.spend_state, "cancelled")
        self.assertEqual(order.crmcom_spent, 0.0)

    def test_lost_spend_of_a_paid_order_waits_while_crmcom_is_down(self):
        john = self.john()
        self.lose_spend_answer(john, "uuid-l4")
        order = self.paid_order(john, "uuid-l4")
        self.simulator.faults.add("http_500", times=None)
        self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertEqual(purchase.spend_state, "unknown", "still not known")
        self.assertTrue(purchase.next_attempt_at, "retried later")
        self.simulator.faults.clear()
        purchase.action_retry()
        self.run_submit_cron()
        self.assertEqual(purchase.spend_state, "cancelled")
        self.assertEqual(self.spends(), [])

    def test_cancel_at_the_till_after_a_lost_answer_cancels_in_crmcom(self):
        john = self.john()
        self.lose_spend_answer(john, "uuid-l5")
        result = self.config._crmcom_cancel_spend("uuid-l5")
        self.assertTrue(result["ok"], result)
        self.assertEqual(self.spends(), [])
        self.assertEqual(self.crm_purchases(), [])
        self.assertEqual(self.wallet(), 25.0)

    def test_abandoned_order_with_a_lost_spend_is_undone(self):
        john = self.john()
        self.lose_spend_answer(john, "uuid-l6")
        self.env["ir.config_parameter"].set_param(ABANDONED_AFTER_HOURS.key, "1")
        later = fields.Datetime.now() + timedelta(hours=2)
        with patch.object(fields.Datetime, "now", return_value=later):
            self.run_submit_cron()
        self.assertEqual(self.spends(), [])
        self.assertEqual(self.crm_purchases(), [])
        self.assertEqual(self.wallet(), 25.0)

    # ------------------------------------------------------------------ went on without it

    def test_order_paid_without_a_spend_the_till_did_not_wait_for_gets_it_back(self):
        """The cashier went on without waiting for a slow spend: CRM.COM made it, the till
        never added its discount, and the order is paid in full. The sale goes through and
        the wallet money goes back."""
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid="uuid-w1"), 10)["ok"])
        self.assertEqual(self.wallet(), 25.0 + 1.5 - 10.0)
        order = self.paid_order(john, "uuid-w1")
        self.assertEqual(order.state, "paid")
        self.assertEqual(order.crmcom_spent, 0.0, "no discount booked, none spent")
        self.run_submit_cron()
        self.assertEqual(self.spends(), [])
        self.assertEqual(len(self.crm_purchases()), 1, "the sale's one purchase")
        self.assertEqual(self.wallet(), 25.0 + 1.5, "the award stays, the spend is undone")
        self.assertEqual(order.crmcom_purchase_id.spend_state, "cancelled")

    def test_changed_basket_paid_without_the_spend_gets_it_back_and_its_own_purchase(self):
        """As above, and the cashier changed the basket afterwards: the spend's purchase is
        cancelled (spend and all) before the order's own purchase is sent."""
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid="uuid-w2"), 10)["ok"])
        spent_on = self.purchase("uuid-w2")
        order = self.paid_order(john, "uuid-w2", products=[(self.desk, 1), (self.lamp, 1)])
        self.assertEqual(order.state, "paid")
        self.assertEqual(spent_on.state, "to_cancel")
        self.assertEqual(order.crmcom_purchase_id.replaces_id, spent_on)
        self.run_submit_cron()
        self.assertEqual(spent_on.state, "cancelled")
        self.assertEqual(self.spends(), [])
        [crm_purchase] = self.crm_purchases()
        self.assertEqual(crm_purchase["number"], order.crmcom_purchase_id.crmcom_number)
        self.assertEqual(crm_purchase["total_amount"], order.amount_total, "the paid basket")
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual(self.wallet(), 25.0 + order.crmcom_awarded, "only the paid basket's award")

    def test_refund_before_the_give_back_books_no_spend_on_the_sale(self):
        """The order was paid without the spend the till did not wait for, and refunded
        before the outbox gave the spend back: the refund's cancellation finds the spend in
        CRM.COM and cancels it, and the sale still records nothing spent (its receipt and its
        session say what the customer paid)."""
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid="uuid-w3"), 10)["ok"])
        order = self.paid_order(john, "uuid-w3")
        purchase = order.crmcom_purchase_id
        self.assertEqual((purchase.spend_state, purchase.spent), ("unknown", 0.0))
        self.refund(order)
        self.assertEqual(purchase.state, "to_cancel")
        self.run_submit_cron()
        self.assertEqual(purchase.state, "cancelled")
        self.assertEqual(self.spends(), [], "given back")
        self.assertEqual(self.crm_purchases(), [], "the award reversed")
        self.assertEqual(self.wallet(), 25.0, "the wallet as before the sale")
        self.assertEqual(purchase.spent, 0.0, "nothing was spent on the sale")
        self.assertEqual(purchase._receipt_of_sale()["spent"], 0.0)
        totals = order.session_id._crmcom_session_totals()
        self.assertEqual((totals["spent"], totals["restored"]), (0.0, 0.0))

    def test_a_give_back_that_fails_is_tried_again(self):
        """CRM.COM holds the spend the till never applied, but refuses its cancellation once:
        the spend stays to be given back, not recorded as spent for good."""
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid="uuid-w4"), 10)["ok"])
        order = self.paid_order(john, "uuid-w4")
        self.simulator.faults.add("http_500", method="customer_events/spend_requests/cancel")
        self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertEqual(len(self.spends()), 1, "not given back yet")
        self.assertEqual((purchase.spend_state, purchase.spent), ("unknown", 0.0))
        self.assertTrue(purchase.next_attempt_at, "tried again later")
        purchase.action_retry()
        self.run_submit_cron()
        self.assertEqual(self.spends(), [])
        self.assertEqual(purchase.spend_state, "cancelled")
        self.assertEqual(self.wallet(), 25.0 + order.crmcom_awarded)

    def test_a_discount_under_a_spend_product_changed_since_is_still_checked(self):
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid="uuid-w5"), 10)["ok"])
        # An administrator gives the till another wallet spend product meanwhile: the order
        # still carries its discount under the one it was spent with.
        old_product = self.spend_product
        self.config.sudo().crmcom_discount_product_id = old_product.copy({"name": "Wallet 2"})
        self.spend_product = old_product
        with self.assertRaisesRegex(Exception, "CRM.COM spent"):
            self.paid_order(john, "uuid-w5", discount=10)
        self.assertEqual(len(self.spends()), 1, "the spend is not given back on top")

"""The server side of the cashier flow: what the till calls, and what a paid order queues."""

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models.crmcom_purchase import REFUSALS_BEFORE_PARKING
from ..simulator.state import Currency
from .common import API_KEY, JOHN_CARD, CashierCase

PURCHASE_CREATE = "customer_events/purchases/create"


@tagged("post_install", "-at_install")
class TestCashierServer(CashierCase):
    # ------------------------------------------------------------------ identify

    def test_identify_by_card_and_phone_links_one_contact(self):
        by_card = self.identify()
        self.assertEqual(by_card["participant_number"], "P0001")
        self.assertEqual(by_card["name"], "John Doe")
        self.assertEqual(by_card["balance"], 25.0)
        by_phone = self.identify("+35799123456", "phone")
        self.assertEqual(by_phone["partner_id"], by_card["partner_id"])
        partner = self.env["res.partner"].browse(by_card["partner_id"])
        self.assertEqual(partner.crmcom_participant_number, "P0001")
        self.assertEqual(partner.crmcom_balance, 25.0)

    def test_each_company_has_its_own_contact_of_a_participant(self):
        john = self.john()
        self.assertEqual(john.company_id, self.company, "the company's own customer")
        # Another company, on another CRM.COM organisation: its P0001 is someone else.
        other = self.env["res.company"].create({"name": "Other organisation's shop"})
        partners = self.env["res.partner"].sudo()
        theirs = partners._crmcom_find_or_create(
            {
                "number": john.crmcom_participant_number,
                "wallet": {"balance": 99.0},
                "accounts_receivable": {"account_owner": {"name": "Someone Else"}},
            },
            other,
        )
        self.assertNotEqual(theirs, john)
        self.assertEqual((theirs.company_id, theirs.name), (other, "Someone Else"))
        self.assertEqual((theirs.crmcom_balance, john.crmcom_balance), (99.0, 25.0))
        self.assertEqual(self.identify()["partner_id"], john.id)

    def test_a_shared_contact_of_an_earlier_version_is_still_used(self):
        shared = (
            self.env["res.partner"]
            .sudo()
            .create({"name": "John Doe", "crmcom_participant_number": "P0001"})
        )
        self.assertFalse(shared.company_id)
        self.assertEqual(self.identify()["partner_id"], shared.id)
        self.assertEqual(shared.crmcom_balance, 25.0)

    def test_identify_refusals(self):
        self.assertEqual(self.identify("0000", "card")["error"], "not_found")
        terminated = self.identify("4000000000000003", "card")
        self.assertEqual(terminated["error"], "terminated")
        self.assertIn("P0003", terminated["message"])
        self.assertFalse(
            self.env["res.partner"].search([("crmcom_participant_number", "=", "P0003")]),
            "no contact is made for a terminated participant",
        )

    def test_identify_with_crmcom_down(self):
        self.simulator.faults.add("http_500", times=None)
        result = self.identify()
        self.assertEqual(result["error"], "unreachable")
        # The customer is not on the order yet: rewards follow only if the cashier puts them.
        self.assertIn("from the customer list", result["message"])
        john = (
            self.env["res.partner"]
            .sudo()
            .create({"name": "John Doe", "crmcom_participant_number": "P0001"})
        )
        preview = self.config._crmcom_preview(self.basket(john))
        self.assertEqual(preview["error"], "unreachable")
        self.assertIn("its rewards will be added when CRM.COM is back", preview["message"])

    def test_identify_bad_input_sends_nothing(self):
        before = self.calls()
        for query, method in (
            ("", "card"),
            ("   ", "card"),
            ("x" * 129, "card"),
            (None, "card"),
            (42, "card"),
            ("a\x00b", "card"),
            (JOHN_CARD, "iris"),
            ({"$ne": 1}, "card"),
        ):
            result = self.identify(query, method)
            self.assertEqual(result["error"], "invalid", (query, method))
        self.config.crmcom_identify_email = False
        self.assertEqual(self.identify("john.doe@example.com", "email")["error"], "invalid")
        self.assertEqual(self.calls(), before)

    # ------------------------------------------------------------------ preview

    def test_preview_figures(self):
        john = self.john()
        preview = self.config._crmcom_preview(self.basket(john))
        self.assertTrue(preview["ok"], preview)
        self.assertEqual(preview["award"], 1.5)  # 5 % of 30.00
        self.assertEqual(preview["spendable"], 25.0)  # the wallet, under the 50.00 maximum
        self.assertEqual(preview["balance"], 25.0)
        self.assertEqual((preview["min_spend"], preview["max_spend"]), (1.0, 50.0))
        self.assertFalse(preview["includes_award"])
        self.assertFalse(preview["spend_blocked"])
        bigger = self.config._crmcom_preview(self.basket(john, [(self.desk, 1), (self.lamp, 2)]))
        self.assertEqual(bigger["award"], 2.5)
        self.assertFalse(self.crm_purchases(), "a preview creates nothing")

    def test_preview_spendable_is_bounded_by_the_order_total(self):
        self.identify("4000999988887777", "card")  # Maria, 120.50
        maria = self.env["res.partner"].search([("crmcom_participant_number", "=", "P0002")])
        preview = self.config._crmcom_preview(self.basket(maria))
        self.assertEqual(preview["spendable"], 30.0)

    def test_the_spendable_figure_says_when_it_counts_this_sales_award(self):
        # Whether CRM.COM's preview counts the purchase's own award is not documented.
        self.simulator.config.update({"preview_spend_includes_award": True})
        john = self.john()
        preview = self.config._crmcom_preview(self.basket(john))
        self.assertEqual((preview["spendable"], preview["balance"]), (26.5, 25.0))
        self.assertTrue(preview["includes_award"])
        # What the till offers is what CRM.COM then spends.
        result = self.config._crmcom_spend(self.basket(john), preview["spendable"])
        self.assertEqual(result["spent"], 26.5)

    def test_a_wallet_whose_spending_is_blocked_says_so(self):
        result = self.identify("4000000000000004", "card")  # Blocky Spender
        self.assertTrue(result["ok"], result)
        self.assertTrue(result["spend_blocked"])
        blocky = self.env["res.partner"].browse(result["partner_id"])
        self.assertTrue(blocky.crmcom_spend_blocked)
        preview = self.config._crmcom_preview(self.basket(blocky))
        self.assertEqual((preview["spend_blocked"], preview["spendable"]), (True, 0.0))
        self.assertFalse(self.john().crmcom_spend_blocked)

    def test_a_wallet_in_another_currency_is_shown_as_such_and_never_spent(self):
        till_currency = self.config.currency_id.name
        other = "GBP" if till_currency != "GBP" else "EUR"
        self.simulator.state.currency = Currency(f"CUR-{other}", other, other)
        result = self.identify()
        self.assertEqual(result["currency"], other)
        john = self.env["res.partner"].browse(result["partner_id"])
        self.assertEqual(john.crmcom_wallet_currency, other)
        preview = self.config._crmcom_preview(self.basket(john))
        self.assertEqual(preview["spendable"], 0.0)
        spent = self.config._crmcom_spend(self.basket(john), 5)
        self.assertEqual((spent["ok"], spent["error"]), (False, "currency"), spent)
        self.assertIn(other, spent["message"])
        self.assertFalse(self.simulator_state()["spend_requests"], "CRM.COM is asked nothing")
        # Back in the till's currency: spent as usual.
        self.simulator.state.currency = Currency(f"CUR-{till_currency}", till_currency, "")
        self.identify()
        self.assertTrue(self.config._crmcom_spend(self.basket(john), 5)["ok"])

    # ------------------------------------------------------------------ spend

    def test_partial_spend_discounts_what_crmcom_spent(self):
        john = self.john()
        result = self.config._crmcom_spend(self.basket(john), 30)
        self.assertTrue(result["ok"], result)
        # 25.00 in the wallet + 1.50 awarded on this purchase: CRM.COM spends 26.50, not 30.
        self.assertEqual(result["spent"], 26.5)
        self.assertEqual(result["requested"], 30.0)
        self.assertEqual(result["awarded"], 1.5)
        self.assertEqual(result["balance_after"], 0.0)
        order = self.paid_order(john, "uuid-0001", discount=26.5)
        self.assertEqual(order.state, "paid")
        self.assertEqual(order.amount_total, 3.5)
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual((order.crmcom_spent, order.crmcom_awarded), (26.5, 1.5))
        self.assertEqual(order.crmcom_participant_number, "P0001")
        self.run_submit_cron()
        self.assertEqual(len(self.crm_purchases()), 1, "the spend's purchase is the award")

    def test_spend_amount_validation_sends_nothing(self):
        john = self.john()
        before = self.calls()
        for amount in (0, -5, "abc", "NaN", float("inf"), 31, 1e12, None, True, [5]):
            result = self.config._crmcom_spend(self.basket(john), amount)
            self.assertEqual(result["error"], "amount", amount)
        self.assertEqual(self.calls(), before)

    def test_spend_refusals_from_crmcom(self):
        self.identify("4000000000000004", "card")
        blocked = self.env["res.partner"].search([("crmcom_participant_number", "=", "P0004")])
        result = self.config._crmcom_spend(self.basket(blocked), 5)
        self.assertEqual(result.get("error"), "blocked", result)
        self.identify("4000000000000005", "card")
        broke = self.env["res.partner"].search([("crmcom_participant_number", "=", "P0005")])
        # An empty wallet can still spend what this very purchase awards (5 % of 30.00)...
        result = self.config._crmcom_spend(self.basket(broke, uuid="u2"), 5)
        self.assertEqual((result["spent"], result["requested"]), (1.5, 5.0))
        # ...but not the 0.50 a lamp earns: under CRM.COM's 1.00 minimum.
        result = self.config._crmcom_spend(self.basket(broke, [(self.lamp, 1)], uuid="u3"), 5)
        self.assertEqual(result["error"], "not_allowed")

    def test_second_spend_on_one_order_is_refused_until_cancelled(self):
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john), 5)["ok"])
        self.assertEqual(self.config._crmcom_spend(self.basket(john), 5)["error"], "locked")
        self.assertTrue(self.config._crmcom_cancel_spend("uuid-0001")["ok"])
        self.assertEqual(self.crm_purchases(), [], "cancelled in CRM.COM")
        wallet = self.simulator_state()["wallets"]
        self.assertEqual(next(w for w in wallet if w["number"] == "W0001")["balance"], 25.0)
        again = self.config._crmcom_spend(self.basket(john), 5)
        self.assertTrue(again["ok"], again)
        self.assertEqual(len(self.crm_purchases()), 1)

    def test_tampered_discount_is_refused(self):
        john = self.john()
        self.config._crmcom_spend(self.basket(john), 10)
        with self.assertRaisesRegex(UserError, "CRM.COM spent"):
            self.paid_order(john, "uuid-0001", discount=15)
        order = self.env["pos.order"].search([("uuid", "=", "uuid-0001")])
        self.assertNotEqual(order.state, "paid")
        self.assertFalse(order.crmcom_purchase_id)
        self.assertEqual(len(self.crm_purchases()), 1, "only the spend's own purchase")

    def test_discount_without_a_spend_is_refused(self):
        john = self.john()
        with self.assertRaisesRegex(UserError, "CRM.COM spent"):
            self.paid_order(john, "uuid-0009", discount=5)
        self.assertEqual(self.crm_purchases(), [], "nothing was submitted")

    def test_basket_changed_after_the_spend_is_refused(self):
        john = self.john()
        self.config._crmcom_spend(self.basket(john), 10)
        with self.assertRaisesRegex(UserError, "changed after"):
            self.paid_order(
                john, "uuid-0001", discount=10, products=[(self.desk, 1), (self.lamp, 1)]
            )

    def test_browser_cannot_set_crmcom_figures(self):
        john = self.john()
        data = self.create_ui_order_data([(self.desk, 1)], customer=john, uuid="uuid-0003")
        data.update(crmcom_spent=999, crmcom_awarded=999, crmcom_participant_number="P0002")
        order_id = self.env["pos.order"].sync_from_ui([data])["pos.order"][0]["id"]
        order = self.env["pos.order"].browse(order_id)
        self.assertEqual(order.crmcom_participant_number, "P0001")
        self.assertEqual((order.crmcom_spent, order.crmcom_awarded), (0.0, 0.0))

    # ------------------------------------------------------------------ award (outbox)

    def test_award_without_spend_is_submitted_once(self):
        john = self.john()
        order = self.paid_order(john, "uuid-0002")
        self.assertEqual(order.crmcom_state, "pending")
        self.assertEqual(self.crm_purchases(), [], "the sale did not wait for CRM.COM")
        self.run_submit_cron()
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual(order.crmcom_awarded, 1.5)
        self.assertEqual(order.crmcom_balance_after, 26.5)
        # The same order synced again, and the cron run again: still one purchase.
        self.env["pos.order"].sync_from_ui(
            [self.create_ui_order_data([(self.desk, 1)], customer=john, uuid="uuid-0002")]
        )
        self.run_submit_cron()
        purchases = self.crm_purchases()
        self.assertEqual(len(purchases), 1)
        self.assertEqual(purchases[0]["reference_number"], order.pos_reference or order.name)

    def test_timeout_after_crmcom_processed_is_reconciled_not_resent(self):
        john = self.john()
        order = self.paid_order(john, "uuid-0004")
        self.company._crmcom_connection().timeout = 1
        self.simulator.faults.add(
            "timeout_after", method="customer_events/purchases/create", seconds=12
        )
        self.run_submit_cron()
        self.assertEqual(order.crmcom_state, "unknown")
        self.assertEqual(len(self.crm_purchases()), 1, "CRM.COM did process it")
        self.simulator.faults.clear()
        order.crmcom_purchase_id.action_retry()
        self.run_submit_cron()
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual(len(self.crm_purchases()), 1, "reconciled, not sent again")

    def test_crmcom_down_during_award(self):
        john = self.john()
        self.simulator.faults.add("http_500", times=None)
        order = self.paid_order(john, "uuid-0005")
        self.assertEqual(order.state, "paid", "the sale completes")
        self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertIn(purchase.state, ("pending", "unknown"))
        self.assertGreater(purchase.next_attempt_at, fields.Datetime.now())
        # Plain words for the Point of Sale managers who read it; the detail in the call log.
        self.assertEqual(purchase.last_error, "CRM.COM could not be reached.")
        self.assertIn("HTTP 500", self.call_log(purchase)[:1].message)
        self.simulator.faults.clear()
        self.run_submit_cron()
        self.assertNotEqual(purchase.state, "posted", "it waits for its next attempt")
        purchase.action_retry()
        self.run_submit_cron()
        self.assertEqual(purchase.state, "posted")
        self.assertEqual(len(self.crm_purchases()), 1)

    def test_a_row_being_sent_is_not_taken_by_another_worker(self):
        john = self.john()
        order = self.paid_order(john, "uuid-0006")
        purchases = self.env["crmcom.purchase"]
        self.assertEqual(purchases._lock_next_due(), order.crmcom_purchase_id)
        order.crmcom_purchase_id.sudo().state = "sending"
        self.env.flush_all()
        self.assertFalse(purchases._lock_next_due(), "a fresh 'sending' row belongs to its worker")

    def test_refused_purchase_is_failed_and_can_be_retried(self):
        # A contact linked earlier whose membership has ended since.
        terry = (
            self.env["res.partner"]
            .sudo()
            .create({"name": "Terry Minated", "crmcom_participant_number": "P0003"})
        )
        order = self.paid_order(terry, "uuid-0007")
        purchase = order.crmcom_purchase_id
        for _refusal in range(REFUSALS_BEFORE_PARKING):  # tried again, then parked
            purchase.sudo().next_attempt_at = False
            self.run_submit_cron()
        self.assertEqual(purchase.state, "failed")
        self.assertEqual(purchase.last_error, "CRM.COM refused: Rewards participant is terminated")
        self.assertEqual(
            self.call_log(purchase)
            .filtered(lambda log: log.method == PURCHASE_CREATE)[:1]
            .status_code,
            "PARTICIPANT_TERMINATED",
        )
        to_do = self.env["crmcom.purchase"].search(
            [("state", "in", ("pending", "sending", "unknown", "failed"))]
        )
        self.assertIn(purchase, to_do)
        order.action_crmcom_retry()
        self.assertEqual(purchase.state, "pending")

    def test_contact_balance_refresh(self):
        john = self.john()
        john.sudo().crmcom_balance = 0.0
        self.assertTrue(john.action_crmcom_refresh_balance())
        self.assertEqual(john.crmcom_balance, 25.0)
        self.assertTrue(john.crmcom_balance_date)
        self.simulator.faults.add("http_500", times=None)
        action = john.action_crmcom_refresh_balance()
        self.assertEqual(action["params"]["type"], "danger")

    def test_a_till_cannot_touch_another_tills_order(self):
        john = self.john()
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid="uuid-x"), 5)["ok"])
        other = self.config.copy({"name": "Other till"})
        other.open_ui()
        other.current_session_id.set_opening_control(0, None)
        self.assertEqual(
            other._crmcom_spend(self.basket(john, uuid="uuid-x"), 5)["error"], "invalid"
        )
        self.assertTrue(other._crmcom_cancel_spend("uuid-x")["ok"])  # nothing of its own to cancel
        self.assertEqual(len(self.crm_purchases()), 1, "the first till's spend is untouched")

    def test_a_till_without_an_open_session_is_refused(self):
        closed = self.config.copy({"name": "Closed till"})
        with self.assertRaises(AccessError):
            closed._crmcom_identify(JOHN_CARD, "card")

    def test_call_log_holds_no_secret(self):
        john = self.john()
        self.config._crmcom_spend(self.basket(john, uuid="uuid-log"), 5)
        self.simulator.expire_tokens()  # a renewal too
        self.config._crmcom_preview(self.basket(john, uuid="uuid-log2"))
        token = self.env["crmcom.token"].search([("company_id", "=", self.company.id)]).token
        self.assertTrue(token)
        logs = self.env["crmcom.call.log"].search([])
        self.assertGreater(len(logs), 4)
        dump = repr(logs.read())
        for secret in (token, API_KEY):
            self.assertNotIn(secret, dump)
        calls = logs.filtered(lambda log: not log.method.startswith("authentication/"))
        self.assertTrue(all('"token": "***"' in log.request for log in calls))

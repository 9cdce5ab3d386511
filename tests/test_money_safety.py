"""Wallet money is never lost, doubled or moved, whatever CRM.COM answers.

CRM.COM does not document the HTTP status of its errors, whether a server error carries the
JSON envelope, nor how it treats a duplicate reference. Each creating or changing call
(purchase, spend, cancellations, a refund's replacement and re-spend) is run here under every
answer the simulator can give that leaves its outcome uncertain, from the till and from the
cron, and the end state is read in the simulator: one posted purchase and at most one posted
spend per sale, the discount Odoo booked equal to what CRM.COM spent, nothing left undone.
"""

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..crmcom import TransportError
from ..models.crmcom_parameters import RECEIPT_WAIT_SECONDS
from ..models.crmcom_purchase import REFUSALS_BEFORE_PARKING
from .common import CashierCase, connect_company

PURCHASE = "customer_events/purchases/create"
SPEND = "customer_events/spend_requests/create"
CANCEL_PURCHASE = "customer_events/purchases/cancel"
CANCEL_SPEND = "customer_events/spend_requests/cancel"
# Answers whose outcome is not known: before or after processing, with or without an envelope.
UNCERTAIN = (
    "http_500",
    "http_500_envelope",
    "http_500_after",
    "http_500_envelope_after",
    "drop",
    "drop_after",
    "malformed_json",
)
PROCESSED = frozenset({"http_500_after", "http_500_envelope_after", "drop_after", "malformed_json"})


@tagged("post_install", "-at_install")
class TestMoneySafety(CashierCase):
    def setUp(self):
        super().setUp()
        self.john_partner = self.john()
        self.uuids = iter(f"uuid-m{n}" for n in range(1000))

    # ------------------------------------------------------------------ helpers

    def fault(self, kind, method, times=1, **options):
        self.simulator.faults.add(kind, method=method, times=times, **options)

    def events(self, kind, state="POSTED"):
        return [e for e in self.simulator_state()[kind] if e["life_cycle_state"] == state]

    def settle(self):
        """Run the outbox until nothing is due (backoffs skipped), at most a few rounds."""
        outbox = self.env["crmcom.purchase"]
        for _round in range(6):
            outbox.sudo().search([]).write({"next_attempt_at": False})
            self.lift_outbox_pauses()
            self.run_submit_cron()
            due = outbox.search(
                [
                    "|",
                    ("state", "in", ("pending", "sending", "unknown", "to_cancel")),
                    ("spend_state", "=", "unknown"),
                ]
            ).filtered(lambda p: p.pos_order_id or p.state == "to_cancel")
            if not due:
                return
        self.fail(f"the outbox does not settle: {due.mapped('state')}")

    def assert_one_sale(self, reference, spent):
        """CRM.COM holds one posted purchase for ``reference`` and the spend Odoo booked."""
        purchases = [p for p in self.events("purchases") if p["reference_number"] == reference]
        self.assertEqual(len(purchases), 1, f"one posted purchase for {reference}")
        spends = [
            s
            for s in self.events("spend_requests")
            if s["purchase_customer_event"]["number"] == purchases[0]["number"]
        ]
        self.assertLessEqual(len(spends), 1, "at most one posted spend")
        self.assertEqual(sum(float(s["spend_amount"]) for s in spends), spent)

    def spend_through_fault(self, kind, method):
        """A spend at the till while ``method`` answers ``kind``; the cashier tries again."""
        uuid = next(self.uuids)
        self.fault(kind, method)
        first = self.config._crmcom_spend(self.basket(self.john_partner, uuid=uuid), 10)
        self.assertFalse(first["ok"], first)
        self.assertEqual(first["error"], "unreachable", "an uncertain reply is an outage")
        again = self.config._crmcom_spend(self.basket(self.john_partner, uuid=uuid), 10)
        self.assertTrue(again["ok"], again)
        self.assertEqual(again["spent"], 10.0)
        order = self.paid_order(self.john_partner, uuid, discount=again["spent"])
        self.settle()
        self.assertEqual(order.crmcom_spent, 10.0)
        self.assertEqual(order.crmcom_state, "posted")
        self.assert_one_sale(order.crmcom_purchase_id.reference, 10.0)

    # ------------------------------------------------------------------ the till

    def test_till_purchase_under_every_uncertain_reply(self):
        for kind in UNCERTAIN:
            with self.subTest(kind=kind):
                self.reset_simulator()
                self.spend_through_fault(kind, PURCHASE)

    def test_till_spend_under_every_uncertain_reply(self):
        for kind in UNCERTAIN:
            with self.subTest(kind=kind):
                self.reset_simulator()
                self.spend_through_fault(kind, SPEND)

    def test_till_cancel_under_every_uncertain_reply(self):
        for kind in UNCERTAIN:
            for method in (CANCEL_SPEND, CANCEL_PURCHASE):
                with self.subTest(kind=kind, method=method):
                    self.reset_simulator()
                    uuid = next(self.uuids)
                    basket = self.basket(self.john_partner, uuid=uuid)
                    self.assertTrue(self.config._crmcom_spend(basket, 10)["ok"])
                    self.fault(kind, method)
                    # What CRM.COM did is looked up at once: done, or done on the next try.
                    first = self.config._crmcom_cancel_spend(uuid)
                    self.assertEqual(first["ok"], kind in PROCESSED, first)
                    self.assertTrue(self.config._crmcom_cancel_spend(uuid)["ok"])
                    self.assertEqual(self.events("purchases"), [])
                    self.assertEqual(self.events("spend_requests"), [])
                    # The order is then paid without a spend: one purchase, no spend.
                    order = self.paid_order(self.john_partner, uuid)
                    self.settle()
                    self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_uncertain_identification_is_an_outage(self):
        for kind in ("http_500", "http_500_envelope"):
            with self.subTest(kind=kind):
                self.fault(kind, "rewards_participants/show", times=None)
                result = self.identify()
                self.simulator.faults.clear()
                self.assertEqual(result["error"], "unreachable", result)

    # ------------------------------------------------------------------ the receipt

    def award_for_receipt(self, order):
        """What the till asks once the order is paid: its award, for the receipt."""
        with self.other_cursors():
            return self.config._crmcom_award(order.uuid)

    def test_receipt_award_is_sent_once_by_the_till_or_the_outbox(self):
        order = self.paid_order(self.john_partner, next(self.uuids))
        result = self.award_for_receipt(order)
        self.assertEqual((result["ok"], result["state"]), (True, "posted"), result)
        self.assertEqual((result["awarded"], result["balance_after"]), (1.5, 26.5))
        # Asked again (a reprint, a second click), then the outbox: nothing more is sent.
        self.assertEqual(self.award_for_receipt(order), result)
        self.settle()
        self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_receipt_purchase_under_every_uncertain_reply(self):
        for kind in UNCERTAIN:
            with self.subTest(kind=kind):
                self.reset_simulator()
                order = self.paid_order(self.john_partner, next(self.uuids))
                self.fault(kind, PURCHASE)
                result = self.award_for_receipt(order)
                self.assertTrue(result["ok"], result)
                self.assertEqual(result["state"], "unknown", "sent: it may have arrived")
                self.assertIsNone(result["awarded"], "the receipt prints no figure")
                # The till asking again sends nothing: the outbox looks it up first.
                received = self.simulator_state()["received"].get(PURCHASE, 0)
                self.assertEqual(self.award_for_receipt(order)["state"], "unknown")
                self.assertEqual(self.simulator_state()["received"].get(PURCHASE, 0), received)
                self.settle()
                self.assertEqual(order.crmcom_purchase_id.state, "posted")
                self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_receipt_never_waits_when_crmcom_is_down_or_the_wait_is_off(self):
        order = self.paid_order(self.john_partner, next(self.uuids))
        self.env["ir.config_parameter"].set_param(RECEIPT_WAIT_SECONDS.key, "0")
        self.assertEqual(self.award_for_receipt(order)["state"], "pending")
        self.assertEqual(self.simulator_state()["received"].get(PURCHASE, 0), 0)
        self.env["ir.config_parameter"].set_param(RECEIPT_WAIT_SECONDS.key, "2")
        self.fault("drop", None, times=None)
        result = self.award_for_receipt(order)
        self.simulator.faults.clear()
        self.assertEqual((result["ok"], result["state"]), (True, "unknown"), result)
        self.settle()
        self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_receipt_award_is_only_for_this_tills_paid_orders(self):
        draft = self.basket(self.john_partner, uuid="uuid-never-paid")
        for uuid in (draft["uuid"], "", None, 12, ["x"]):
            result = self.config._crmcom_award(uuid)
            self.assertEqual((result["ok"], result["error"]), (False, "invalid"), uuid)
        order = self.paid_order(self.john_partner, next(self.uuids))
        other_till = self.config.copy({"name": "Till of the next shop"})
        other_till.crmcom_enabled = True
        other_till.open_ui()
        other_till.current_session_id.set_opening_control(0, None)
        result = other_till._crmcom_award(order.uuid)
        self.assertEqual((result["ok"], result["error"]), (False, "invalid"))
        self.assertEqual(order.crmcom_purchase_id.state, "pending")

    # ------------------------------------------------------------------ the cron

    def test_cron_purchase_under_every_uncertain_reply(self):
        for kind in UNCERTAIN:
            with self.subTest(kind=kind):
                self.reset_simulator()
                order = self.paid_order(self.john_partner, next(self.uuids))
                self.fault(kind, PURCHASE)
                self.run_submit_cron()
                purchase = order.crmcom_purchase_id
                self.assertEqual(purchase.state, "unknown", "sent: it may have arrived")
                self.settle()
                self.assertEqual(purchase.state, "posted")
                self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_refunds_under_every_uncertain_reply(self):
        methods = (CANCEL_SPEND, CANCEL_PURCHASE, PURCHASE, SPEND)
        for kind in UNCERTAIN:
            for method in methods:
                with self.subTest(kind=kind, method=method):
                    self.reset_simulator()
                    uuid = next(self.uuids)
                    basket = self.basket(self.john_partner, [(self.desk, 1), (self.lamp, 1)], uuid)
                    self.assertTrue(self.config._crmcom_spend(basket, 20)["ok"])
                    order = self.paid_order(
                        self.john_partner, uuid, 20, [(self.desk, 1), (self.lamp, 1)]
                    )
                    self.settle()
                    original = order.crmcom_purchase_id
                    self.fault(kind, method)
                    lamp = order.lines.filtered(lambda line: line.product_id == self.lamp)
                    refund = self.refund(order, lamp)
                    self.assertEqual(refund.amount_total, -5.0, "cash: the lamp's cash share")
                    self.settle()
                    # The desk is kept: 30.00 of 40.00, so 15.00 of the 20.00 stay spent.
                    replacement = order.crmcom_purchase_id
                    self.assertEqual(replacement.state, "posted")
                    self.assertEqual(replacement.spent, 15.0)
                    self.assert_one_sale(replacement.reference, 15.0)
                    originals = [
                        p
                        for p in self.simulator_state()["purchases"]
                        if p["reference_number"] == original.reference
                    ]
                    self.assertEqual(original.state, "cancelled")
                    self.assertEqual(
                        {p["life_cycle_state"] for p in originals}, {"CANCELLED"}, originals
                    )

    # ------------------------------------------------------------------ duplicates

    def test_a_duplicate_refusal_under_any_code_adopts_what_crmcom_has(self):
        for code in ("DUPLICATE_REFERENCE_NUMBER", "DUPLICATE_REFERENCE", "E_4711"):
            with self.subTest(code=code):
                self.reset_simulator()
                self.simulator.config.duplicate_reference_code = code
                order = self.paid_order(self.john_partner, next(self.uuids))
                purchase = order.crmcom_purchase_id
                # An earlier attempt arrived, but Odoo never learnt of it.
                self.env["res.company"].browse(self.company.id)._crmcom_client().create_purchase(
                    purchase._customer(),
                    unit={"alternative_code": "STORE01"},
                    performed_on=purchase.performed_on,
                    reference_number=purchase.reference,
                    lines=purchase.product_lines,
                )
                self.settle()
                self.assertEqual(purchase.state, "posted")
                self.assertEqual(purchase.attempts, 0, "adopted on the refusal, no retry")
                self.assert_one_sale(purchase.reference, 0.0)

    def test_duplicates_accepted_by_crmcom_are_never_made(self):
        self.simulator.config.reject_duplicate_reference = False
        for kind in UNCERTAIN:
            with self.subTest(kind=kind):
                order = self.paid_order(self.john_partner, next(self.uuids))
                self.fault(kind, PURCHASE)
                self.settle()
                self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_a_spend_sent_by_a_rolled_back_run_is_adopted(self):
        """Odoo runs a request again after a serialisation failure: what the first run sent
        to CRM.COM stays there though Odoo forgot it, and CRM.COM may accept duplicates."""
        self.simulator.config.reject_duplicate_reference = False
        uuid = next(self.uuids)
        basket = self.basket(self.john_partner, uuid=uuid)
        # The first run: the purchase and the spend reach CRM.COM, then Odoo rolls back.
        with self.env.cr.savepoint() as savepoint:
            self.assertTrue(self.config._crmcom_spend(basket, 10)["ok"])
            savepoint.rollback()
        self.assertEqual(len(self.events("spend_requests")), 1)
        again = self.config._crmcom_spend(basket, 10)
        self.assertTrue(again["ok"], again)
        self.assertEqual(len(self.events("purchases")), 1, "the purchase is found again")
        self.assertEqual(len(self.events("spend_requests")), 1, "and so is the spend")
        self.assertEqual(again["spent"], 10.0)

    # ------------------------------------------------------------------ one open order

    def spent_elsewhere(self, uuid):
        """A spend on ``uuid`` recorded for another session (a cashier's RPC elsewhere)."""
        basket = self.basket(self.john_partner, uuid=uuid)
        self.assertTrue(self.config._crmcom_spend(basket, 10)["ok"])
        other_till = self.config.sudo().copy({"name": "Another till"})
        other = self.env["pos.session"].sudo().create({"config_id": other_till.id})
        purchase = self.env["crmcom.purchase"].search([("order_uuid", "=", uuid)])
        purchase.sudo().session_id = other
        return purchase

    def test_an_order_never_carries_a_spend_made_elsewhere(self):
        uuid = next(self.uuids)
        self.spent_elsewhere(uuid)
        with self.assertRaisesRegex(UserError, "but CRM.COM spent"):
            self.paid_order(self.john_partner, uuid, discount=10)

    def test_a_basket_of_the_same_total_does_not_carry_the_spend(self):
        uuid = next(self.uuids)
        self.assertTrue(
            self.config._crmcom_spend(self.basket(self.john_partner, uuid=uuid), 10)["ok"]
        )
        # Spent on a desk (30.00); paid for three lamps (30.00).
        with self.assertRaisesRegex(UserError, "changed after"):
            self.paid_order(self.john_partner, uuid, discount=10, products=[(self.lamp, 3)])

    def test_a_spend_whose_order_is_paid_without_it_is_given_back(self):
        uuid = next(self.uuids)
        foreign = self.spent_elsewhere(uuid)
        order = self.paid_order(self.john_partner, uuid)  # no discount: the spend is not its
        self.assertEqual(foreign.state, "to_cancel", "given back at once")
        self.assertNotEqual(order.crmcom_purchase_id, foreign)
        self.settle()
        self.assertEqual(foreign.state, "cancelled")
        self.assertEqual(self.events("spend_requests"), [], "the wallet money went back")
        self.assert_one_sale(order.crmcom_purchase_id.reference, 0.0)

    def test_the_clean_up_gives_back_spends_of_orders_paid_elsewhere(self):
        uuid = next(self.uuids)
        purchase = self.spent_elsewhere(uuid)
        # Odoo received the order (e.g. synced by another till) without the payment hook
        # adopting this spend.
        self.env["pos.order"].sudo().create(
            {
                "uuid": uuid,
                "session_id": self.pos_session.id,
                "amount_total": 0.0,
                "amount_tax": 0.0,
                "amount_paid": 0.0,
                "amount_return": 0.0,
                "state": "paid",
            }
        )
        self.run_submit_cron()
        self.assertEqual(purchase.state, "cancelled")
        self.assertEqual(self.events("spend_requests"), [])
        self.assertEqual(self.events("purchases"), [])

    # ------------------------------------------------------------------ refusals

    def test_a_refusal_that_repeats_is_parked_with_crmcom_words(self):
        order = self.paid_order(self.john_partner, next(self.uuids))
        purchase = order.crmcom_purchase_id
        purchase.sudo().unit = "NO-SUCH-STORE"  # the store the sale was made in
        for attempt in range(1, REFUSALS_BEFORE_PARKING + 1):
            purchase.sudo().next_attempt_at = False
            self.run_submit_cron()
            self.assertEqual(purchase.refusals, attempt)
            self.assertEqual(
                purchase.state, "failed" if attempt == REFUSALS_BEFORE_PARKING else "pending"
            )
        self.assertRegex(purchase.last_error, "^CRM.COM does not know it: Unit")
        self.assertEqual(
            self.call_log(purchase).filtered(lambda log: log.method == PURCHASE)[:1].status_code,
            "NOT_FOUND",
        )
        self.assertFalse(purchase.next_attempt_at, "parked: a person retries it")
        self.assertEqual(self.events("purchases"), [], "nothing reached CRM.COM")
        purchase.sudo().unit = "STORE01"
        purchase.action_retry()
        self.settle()
        self.assertEqual(purchase.state, "posted")

    def test_nothing_sent_is_not_an_unknown_outcome(self):
        order = self.paid_order(self.john_partner, next(self.uuids))
        connect_company(self.company, self.simulator, base_url="http://127.0.0.1:9")  # refuses
        self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertEqual(purchase.state, "pending", "connection refused: nothing was sent")
        connect_company(self.company, self.simulator)
        self.settle()
        self.assertEqual(purchase.state, "posted")

    def test_a_server_error_is_a_transport_error_whatever_its_body(self):
        client = self.company._crmcom_client()
        for kind in ("http_500_envelope", "http_500_envelope_after", "http_500_after"):
            for status in (500, 502, 503):
                with self.subTest(kind=kind, status=status):
                    self.fault(kind, PURCHASE, http_status=status)
                    with self.assertRaises(TransportError) as caught:
                        client.create_purchase(
                            {"rewards_participant_identifier": {"number": "P0001"}},
                            unit={"alternative_code": "STORE01"},
                            performed_on="2026-01-01T10:00:00",
                            reference_number=f"R-{kind}-{status}",
                            lines=[
                                {
                                    "product_identifier": {"code": "X"},
                                    "quantity": 1,
                                    "net_amount": 1,
                                    "vat_amount": 0,
                                    "total_amount": 1,
                                }
                            ],
                        )
                    self.assertTrue(caught.exception.outcome_unknown)
                    self.assertEqual(caught.exception.http_status, status)

"""A cashier who calls the till's methods over JSON-RPC with whatever arguments, and writes
whatever fields Odoo lets a Point of Sale user write: every attempt to move wallet money is
refused, sends nothing to CRM.COM and stores nothing."""

from odoo.tests import JsonRpcException, tagged

from .common import JOHN_CARD, CrmComHttpCase


@tagged("post_install", "-at_install")
class TestHostileTill(CrmComHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.main_pos_config
        products = cls.env["product.product"]
        on_sale = {"available_in_pos": True, "taxes_id": False}
        cls.desk = products.create({"name": "Hostile desk", "list_price": 30.0, **on_sale})
        cls.archived = products.create({"name": "Old lamp", "list_price": 10.0, **on_sale})
        cls.archived.action_archive()

    def setUp(self):
        super().setUp()
        self.reset_simulator()
        self.config.with_user(self.pos_user).open_ui()
        self.config.current_session_id.set_opening_control(0, None)
        self.authenticate("pos_user", "pos_user")
        identified = self.till("identify", query=JOHN_CARD, method="card")
        self.assertTrue(identified["ok"], identified)
        self.john = self.env["res.partner"].browse(identified["partner_id"])

    def till(self, operation, **params):
        """A till operation, as the till calls it (the routes of controllers/main.py)."""
        return self.make_jsonrpc_request(
            f"/pos_crmcom_rewards/{operation}", {"config_id": self.config.id, **params}
        )

    def call(self, model, method, ids, *args):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": [ids, *args], "kwargs": {}},
        )

    def spend(self, basket, amount):
        return self.till("spend", order=basket, amount=amount)

    def basket(self, uuid, lines=None):
        return {
            "uuid": uuid,
            "reference": uuid,
            "partner_id": self.john.id,
            "lines": lines
            or [
                {
                    "product_id": self.desk.id,
                    "qty": 1,
                    "price_subtotal": 30.0,
                    "price_subtotal_incl": 30.0,
                }
            ],
        }

    def assert_nothing_happened(self):
        state = self.simulator_state()
        self.assertEqual(state["purchases"], [], "nothing sent to CRM.COM")
        self.assertEqual(state["spend_requests"], [], "nothing spent")
        self.assertFalse(self.env["crmcom.purchase"].search([]), "nothing stored")

    def order(self, uuid, state="paid"):
        return (
            self.env["pos.order"]
            .sudo()
            .create(
                {
                    "uuid": uuid,
                    "session_id": self.config.current_session_id.id,
                    "partner_id": self.john.id,
                    "amount_total": 0.0,
                    "amount_tax": 0.0,
                    "amount_paid": 0.0,
                    "amount_return": 0.0,
                    "state": state,
                }
            )
        )

    # ------------------------------------------------------------------ section 3

    def test_the_cashier_cannot_write_where_money_goes(self):
        order = self.order("uuid-h1")
        other = self.order("uuid-h2")
        purchase = (
            self.env["crmcom.purchase"]
            .sudo()
            .create(
                {
                    "order_uuid": "uuid-h2",
                    "pos_order_id": other.id,
                    "config_id": self.config.id,
                    "participant_number": "P0001",
                    "reference": "H2",
                    "performed_on": "2026-12-01 10:00:00",
                }
            )
        )
        attempts = [
            ("pos.order", order.id, {"crmcom_purchase_id": purchase.id}),
            ("pos.order", order.id, {"crmcom_participant_number": "P0002"}),
            ("crmcom.purchase", purchase.id, {"pos_order_id": order.id}),
            ("res.partner", self.john.id, {"crmcom_participant_number": "P0002"}),
            ("res.partner", self.john.id, {"crmcom_balance": 1000.0}),
            ("pos.config", self.config.id, {"crmcom_enabled": False}),
            ("pos.config", self.config.id, {"crmcom_discount_product_id": self.desk.id}),
            ("pos.config", self.config.id, {"crmcom_identify_card": False}),
            # Where the till's sales are booked: another store's awards are not theirs.
            ("pos.config", self.config.id, {"crmcom_unit": "STORE02"}),
            ("pos.config", self.config.id, {"crmcom_unit_key": "id", "crmcom_unit": "X"}),
        ]
        for model, record_id, values in attempts:
            with self.subTest(model=model, values=values):
                with self.assertRaises(JsonRpcException) as caught:
                    self.call(model, "write", [record_id], values)
                self.assertIn("AccessError", str(caught.exception))
        with self.assertRaises(JsonRpcException):
            self.call(
                "res.partner",
                "create",
                [],
                {"name": "Fake John", "crmcom_participant_number": "P0001"},
            )
        self.env.invalidate_all()
        self.assertFalse(order.crmcom_purchase_id)
        self.assertEqual(purchase.pos_order_id, other)
        self.assertEqual(self.john.crmcom_participant_number, "P0001")
        self.assertTrue(self.config.crmcom_enabled)
        self.assertTrue(self.config.crmcom_identify_card)
        self.assertFalse(self.config.crmcom_unit)
        self.assertEqual(self.config.crmcom_unit_key, "alternative_code")
        # What Odoo lets a cashier write on a till stays writable.
        self.assertTrue(self.call("pos.config", "write", [self.config.id], {"name": "Till 1"}))

    # ------------------------------------------------------------------ section 2

    def test_no_spend_on_an_order_odoo_has_received(self):
        self.order("uuid-h3", state="paid")
        result = self.spend(self.basket("uuid-h3"), 5)
        self.assertEqual(result["error"], "invalid", result)
        self.assert_nothing_happened()

    def test_no_spend_on_another_sessions_draft(self):
        draft = self.order("uuid-h4", state="draft")
        other = self.config.copy({"name": "Other till"})
        draft.sudo().write({"config_id": other.id})
        result = self.spend(self.basket("uuid-h4"), 5)
        self.assertEqual(result["error"], "invalid", result)
        self.assert_nothing_happened()

    # ------------------------------------------------------------------ section 5

    def test_baskets_crmcom_must_not_see_are_refused_before_sending(self):
        desk = {"product_id": self.desk.id, "price_subtotal": 30.0, "price_subtotal_incl": 30.0}
        bad_lines = {
            "archived product": [
                {**desk, "product_id": self.archived.id, "qty": 1},
            ],
            "zero quantity": [{**desk, "qty": 0}],
            "negative quantity": [{**desk, "qty": -1, "price_subtotal_incl": -30.0}],
            "negative price": [{**desk, "qty": 1, "price_subtotal": -30.0}],
        }
        for what, lines in bad_lines.items():
            for operation, params in (("preview", {}), ("spend", {"amount": 5})):
                with self.subTest(what=what, operation=operation):
                    result = self.till(operation, order=self.basket("uuid-h5", lines), **params)
                    self.assertFalse(result["ok"], result)
                    self.assertEqual(result["error"], "invalid")
        self.assert_nothing_happened()

    def test_another_companys_contact_is_never_returned(self):
        other_company = self.env["res.company"].create({"name": "Other shop company"})
        theirs = self.env["res.partner"].create(
            {"name": "Their John", "company_id": other_company.id}
        )
        theirs.sudo().crmcom_participant_number = "P0001"
        self.john.sudo().crmcom_participant_number = False
        result = self.till("identify", query=JOHN_CARD, method="card")
        self.assertTrue(result["ok"], result)
        partner = self.env["res.partner"].browse(result["partner_id"])
        self.assertNotEqual(partner, theirs)
        self.assertIn(partner.company_id, (self.config.company_id, partner.company_id.browse()))
        self.assertEqual(partner.crmcom_participant_number, "P0001")
        # The till can read it: the cashier's own company.
        self.assertEqual(
            self.call("res.partner", "read", [partner.id], ["name"])[0]["name"], "John Doe"
        )

    def test_the_receipts_award_is_asked_for_a_paid_order_of_this_till_only(self):
        for params in (
            {"order_uuid": ["uuid"]},
            {"order_uuid": {"uuid": "x"}},
            {"order_uuid": "no-such-order"},
            {"order_uuid": "x", "state": "posted"},
        ):
            with self.subTest(params=params):
                result = self.till("award", **params)
                self.assertEqual((result["ok"], result["error"]), (False, "invalid"), result)
        self.assert_nothing_happened()

    def test_the_till_operations_are_reachable_through_their_routes_only(self):
        for method in ("_crmcom_identify", "crmcom_identify", "_crmcom_spend"):
            with self.subTest(method=method), self.assertRaises(JsonRpcException):
                self.call("pos.config", method, [self.config.id], JOHN_CARD, "card")
        for params in (
            {"config_id": self.config.id, "query": JOHN_CARD, "method": "card", "extra": 1},
            {"config_id": str(self.config.id), "query": JOHN_CARD, "method": "card"},
            {"config_id": 10**9, "query": JOHN_CARD, "method": "card"},
            {"config_id": [self.config.id], "query": JOHN_CARD, "method": "card"},
        ):
            with self.subTest(params=params):
                result = self.make_jsonrpc_request("/pos_crmcom_rewards/identify", params)
                self.assertEqual((result["ok"], result["error"]), (False, "invalid"))
        result = self.till("identify", query=JOHN_CARD, method=["card"])
        self.assertEqual((result["ok"], result["error"]), (False, "invalid"), "a wrong type")
        self.assert_nothing_happened()

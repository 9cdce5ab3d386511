"""One CRM.COM store (unit) per point of sale: each sale reaches CRM.COM in its till's store,
keeps it whatever happens to the settings afterwards, and a refund anywhere reverses and
replaces it in the store of the original sale. Every assertion is on what the simulator
received or holds, not on what Odoo meant to send."""

from contextlib import contextmanager

from odoo.tests import tagged

from .common import CashierCase

MAIN_ID = "UNIT-STORE01"
AIRPORT_ID = "UNIT-STORE02"
AIRPORT = {"alternative_code": "STORE02"}
MAIN = {"alternative_code": "STORE01"}


class StoreCase(CashierCase):
    """Two tills: the main one in the company's store, an airport one in STORE02."""

    airport_unit = AIRPORT

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        journal = cls.env["account.journal"].create(
            {"name": "Airport cash", "code": "ACSH", "type": "cash"}
        )
        cash = cls.env["pos.payment.method"].create(
            {
                "name": "Airport cash",
                "journal_id": journal.id,
                "receivable_account_id": cls.pos_receivable_cash.id,
            }
        )
        cls.main = cls.config
        cls.airport = cls.env["pos.config"].create(
            {
                "name": "Airport",
                "payment_method_ids": [(6, 0, cash.ids)],
                "pricelist_id": cls.main.pricelist_id.id,
                "available_pricelist_ids": [(6, 0, cls.main.pricelist_id.ids)],
                "invoice_journal_id": cls.main.invoice_journal_id.id,
                "crmcom_enabled": True,
                "crmcom_unit_key": "alternative_code",
                "crmcom_unit": " STORE02 ",
            }
        )

    def setUp(self):
        super().setUp()  # the main till's session is open
        with self.at(self.airport):
            self.open_new_session()

    @contextmanager
    def at(self, config):
        """The helpers of CashierCase (identify, spend, paid orders) at ``config``."""
        saved = self.config, self.pos_session
        self.config, self.pos_session = config, config.current_session_id
        try:
            yield
        finally:
            self.config, self.pos_session = saved

    def requests(self, method):
        return [
            request for request in self.simulator_state()["requests"] if request["method"] == method
        ]

    def sim_purchase(self, reference):
        return next(
            p for p in self.simulator_state()["purchases"] if p["reference_number"] == reference
        )

    def sim_spends(self):
        return self.simulator_state()["spend_requests"]

    def refund_at_the_main_till(self):
        """A sale with a spend at the airport, its lamp refunded at the main till; return
        what the simulator holds afterwards."""
        with self.at(self.airport):
            john = self.john()
            products = [(self.desk, 1), (self.lamp, 1)]
            basket = self.basket(john, products, uuid="uuid-air4")
            self.assertEqual(self.config._crmcom_spend(basket, 20)["spent"], 20.0)
            order = self.paid_order(john, "uuid-air4", discount=20, products=products)
        self.run_submit_cron()
        original = self.sim_purchase("Order uuid-air4")
        self.assertEqual(original["performed_by_unit"]["id"], AIRPORT_ID)
        refund = order._refund()
        refund.lines.filtered(
            lambda line: line.product_id not in (self.lamp, self.spend_product)
        ).unlink()
        refund._crmcom_set_wallet_restored()
        refund.session_id = self.main.current_session_id
        cash = self.main.payment_method_ids.filtered("is_cash_count")[:1]
        self.make_payment(refund, cash, refund.amount_total)
        self.assertEqual(refund.config_id, self.main)
        self.run_submit_cron()

        state = self.simulator_state()
        by_reference = {p["reference_number"]: p for p in state["purchases"]}
        self.assertEqual(by_reference["Order uuid-air4"]["life_cycle_state"], "CANCELLED")
        replacement = by_reference[order.crmcom_purchase_id.reference]
        self.assertTrue(replacement["reference_number"].endswith("/R1"))
        self.assertEqual(replacement["life_cycle_state"], "POSTED")
        self.assertEqual(replacement["performed_by_unit"]["id"], AIRPORT_ID)
        respend = [s for s in state["spend_requests"] if s["life_cycle_state"] == "POSTED"]
        self.assertEqual([s["performed_by_unit"]["id"] for s in respend], [AIRPORT_ID])
        self.assertEqual(
            [r["unit"] for r in self.requests("customer_events/purchases/create")],
            [self.airport_unit, self.airport_unit],
        )
        self.assertEqual(
            [r["unit"] for r in self.requests("customer_events/spend_requests/create")],
            [self.airport_unit, self.airport_unit],
        )


@tagged("post_install", "-at_install")
class TestStorePerTill(StoreCase):
    # ------------------------------------------------------------------ the setting

    def test_a_till_without_a_store_sells_in_the_companys(self):
        self.assertEqual(self.airport.crmcom_unit, "STORE02", "saved trimmed")
        self.assertEqual(self.airport._crmcom_unit_identifier(), AIRPORT)
        self.assertEqual(self.main._crmcom_unit_identifier(), MAIN)
        self.company._crmcom_connection().write({"unit_key": "name", "unit": "Main Store"})
        self.assertEqual(self.main._crmcom_unit_identifier(), {"name": "Main Store"})
        self.airport.crmcom_unit = "  "
        self.assertEqual(self.airport._crmcom_unit_identifier(), {"name": "Main Store"})

    def test_the_settings_page_edits_the_tills_store(self):
        settings = self.env["res.config.settings"].create({"pos_config_id": self.main.id})
        self.assertFalse(settings.pos_crmcom_unit)
        settings.write({"pos_crmcom_unit_key": "id", "pos_crmcom_unit": MAIN_ID})
        settings.execute()
        self.assertEqual(self.main._crmcom_unit_identifier(), {"id": MAIN_ID})

    # ------------------------------------------------------------------ each sale

    def test_preview_spend_and_purchase_reach_crmcom_in_the_tills_store(self):
        with self.at(self.airport):
            john = self.john()
            basket = self.basket(john, uuid="uuid-air1")
            preview = self.config._crmcom_preview(basket)
            self.assertTrue(preview["ok"], preview)
            self.assertEqual(self.config._crmcom_spend(basket, 10)["spent"], 10.0)
            self.paid_order(john, "uuid-air1", discount=10)
        # The main till's sale goes through the outbox (the job) only.
        main_order = self.paid_order(john, "uuid-main1")
        self.run_submit_cron()

        previews = self.requests("customer_events/purchases/preview")
        self.assertEqual([request["unit"] for request in previews], [AIRPORT])
        self.assertEqual(
            self.sim_purchase("Order uuid-air1")["performed_by_unit"]["id"], AIRPORT_ID
        )
        (spend,) = self.sim_spends()
        self.assertEqual(spend["performed_by_unit"]["id"], AIRPORT_ID)
        sent = self.sim_purchase(main_order.crmcom_purchase_id.reference)
        self.assertEqual(sent["performed_by_unit"]["id"], MAIN_ID)
        self.assertEqual(sent["life_cycle_state"], "POSTED")

    def test_a_sale_keeps_its_store_when_the_till_changes_store(self):
        with self.at(self.airport):
            order = self.paid_order(self.john(), "uuid-air2")
        purchase = order.crmcom_purchase_id
        self.assertEqual((purchase.unit_key, purchase.unit), ("alternative_code", "STORE02"))
        self.airport.crmcom_unit = False  # now the company's store, STORE01
        self.run_submit_cron()
        self.assertEqual(
            self.sim_purchase(purchase.reference)["performed_by_unit"]["id"], AIRPORT_ID
        )
        self.assertEqual(purchase.state, "posted")

    def test_an_unknown_store_is_refused_and_the_sale_goes_on(self):
        self.airport.crmcom_unit = "NOWHERE"
        with self.at(self.airport):
            john = self.john()
            preview = self.config._crmcom_preview(self.basket(john, uuid="uuid-air3"))
            order = self.paid_order(john, "uuid-air3")
        self.assertFalse(preview["ok"])
        self.assertEqual(order.state, "paid")
        self.run_submit_cron()
        self.assertFalse(self.crm_purchases(), "CRM.COM refused the store")
        self.assertEqual(order.crmcom_purchase_id.state, "pending")
        self.assertEqual(
            [request["unit"] for request in self.requests("customer_events/purchases/create")],
            [{"alternative_code": "NOWHERE"}],
        )
        # The call log says which store each call named, and finds a shop's calls.
        logged = self.env["crmcom.call.log"].search([("unit", "=", "NOWHERE")])
        self.assertEqual(
            sorted(logged.mapped("method")),
            ["customer_events/purchases/create", "customer_events/purchases/preview"],
        )
        self.assertEqual(set(logged.mapped("outcome")), {"not_found_error"})

    def test_a_refund_at_another_till_reverses_and_replaces_in_the_sales_store(self):
        self.refund_at_the_main_till()


@tagged("post_install", "-at_install")
class TestStoreLogin(StoreCase):
    """Stores given by ID: the login names the store of the sale (CRM.COM's login takes a
    unit ID only), with a token of its own, and every call of the sale, cancellations
    included, is made with it."""

    airport_unit = {"id": AIRPORT_ID}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._crmcom_connection().write({"unit_key": "id", "unit": MAIN_ID})
        cls.airport.write({"crmcom_unit_key": "id", "crmcom_unit": AIRPORT_ID})

    def token_units(self, method):
        return [request["token_unit"] for request in self.requests(method)]

    def test_each_store_logs_in_with_a_token_of_its_own(self):
        with self.at(self.airport):
            john = self.john()
            self.assertTrue(self.config._crmcom_preview(self.basket(john, uuid="uuid-l1"))["ok"])
        self.assertTrue(self.main._crmcom_preview(self.basket(john, uuid="uuid-l2"))["ok"])
        logins = self.requests("authentication/web_api_key/token")
        self.assertEqual(sorted(request["unit"] for request in logins), [MAIN_ID, AIRPORT_ID])
        self.assertEqual(
            self.token_units("customer_events/purchases/preview"), [AIRPORT_ID, MAIN_ID]
        )
        tokens = self.env["crmcom.token"].search([("company_id", "=", self.company.id)])
        self.assertEqual(sorted(tokens.mapped("login_unit")), [MAIN_ID, AIRPORT_ID])
        # Each till reuses its store's token: no new login.
        with self.at(self.airport):
            self.assertTrue(self.config._crmcom_preview(self.basket(john, uuid="uuid-l3"))["ok"])
        self.assertEqual(len(self.requests("authentication/web_api_key/token")), 2)
        self.assertEqual(self.token_units("customer_events/purchases/preview")[-1], AIRPORT_ID)
        # A change of the company's connection retires every store's token.
        self.company._crmcom_connection().write({"unit_key": "alternative_code", "unit": "STORE01"})
        self.assertFalse(self.env["crmcom.token"].search([("company_id", "=", self.company.id)]))

    def test_a_cancellation_at_the_till_is_made_in_the_sales_store(self):
        with self.at(self.airport):
            john = self.john()
            basket = self.basket(john, uuid="uuid-l4")
            self.assertEqual(self.config._crmcom_spend(basket, 10)["spent"], 10.0)
            self.assertTrue(self.config._crmcom_cancel_spend("uuid-l4")["ok"])
        self.assertEqual(self.token_units("customer_events/spend_requests/cancel"), [AIRPORT_ID])
        self.assertEqual(self.token_units("customer_events/purchases/cancel"), [AIRPORT_ID])
        self.assertEqual(self.crm_purchases("CANCELLED")[0]["performed_by_unit"]["id"], AIRPORT_ID)

    def test_a_refund_at_another_till_reverses_and_replaces_in_the_sales_store(self):
        self.refund_at_the_main_till()
        # The cancellations and the replacement were made with the sale's store's token.
        self.assertEqual(self.token_units("customer_events/spend_requests/cancel"), [AIRPORT_ID])
        self.assertEqual(self.token_units("customer_events/purchases/cancel"), [AIRPORT_ID])
        self.assertEqual(
            self.token_units("customer_events/purchases/create"), [AIRPORT_ID, AIRPORT_ID]
        )

    # ------------------------------------------------------------------ test connection

    def test_test_connection_checks_every_store_and_names_the_one_that_fails(self):
        settings = self.env["res.config.settings"].create({})
        action = settings.action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "success", action)
        self.assertIn(AIRPORT_ID, action["params"]["message"])
        self.assertIn("Airport", action["params"]["message"])
        logins = self.requests("authentication/web_api_key/token")
        self.assertEqual(sorted(request["unit"] for request in logins), [MAIN_ID, AIRPORT_ID])

        self.airport.crmcom_unit = "UNIT-CLOSED"
        action = settings.action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("UNIT-CLOSED", action["params"]["message"])
        self.assertIn("Airport", action["params"]["message"])
        self.assertIn("AUTHENTICATION_FAILED", action["params"]["message"])
        # A till that is not on CRM.COM is not checked.
        self.airport.crmcom_enabled = False
        action = settings.action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "success")

    def test_stores_given_by_code_are_said_to_be_checked_at_their_first_sale(self):
        self.airport.write({"crmcom_unit_key": "alternative_code", "crmcom_unit": "NOWHERE"})
        action = self.env["res.config.settings"].create({}).action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("first sale", action["params"]["message"])
        self.assertIn("NOWHERE", action["params"]["message"])
        logins = self.requests("authentication/web_api_key/token")
        self.assertEqual(sorted(str(request["unit"]) for request in logins), ["None", MAIN_ID])

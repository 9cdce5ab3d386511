"""Administrator settings: validation, the test-connection button, the shared token."""

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from ..models.crmcom_connection import MAX_TIMEOUT
from .common import SimulatorMixin, connect_company, unconnected_company


@tagged("post_install", "-at_install")
class TestCrmComSettings(SimulatorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        cls.company = unconnected_company(cls.env)
        cls.connection = cls.env["crmcom.connection"].create({"company_id": cls.company.id})
        cls.pos_config = cls.env["pos.config"].create({"name": "CRM.COM till"})

    def setUp(self):
        super().setUp()
        self.reset_simulator()

    def settings(self, **values):
        return self.env["res.config.settings"].create(values)

    # ------------------------------------------------------------------ validation

    def test_url_must_be_http_or_https(self):
        for url in ("crm.example.com", "ftp://crm.example.com", "https://", "javascript:alert(1)"):
            with self.assertRaisesRegex(ValidationError, "http:// or https://", msg=url):
                self.connection.base_url = url
                self.env.flush_all()

    def test_plain_http_only_to_this_machine(self):
        with self.assertRaisesRegex(ValidationError, "https://"):
            self.connection.base_url = "http://crm.example.com"
            self.env.flush_all()
        for url in (
            "http://localhost:8079",
            "http://127.0.0.1:8079",
            "http://[::1]:8079",
            "https://crm.example.com",
        ):
            self.connection.base_url = url
            self.assertEqual(self.connection.base_url, url)

    def test_timeout_must_be_positive_and_bounded(self):
        for timeout in (0, -5, MAX_TIMEOUT + 1):
            with self.assertRaisesRegex(ValidationError, "timeout", msg=timeout):
                self.connection.timeout = timeout
        self.connection.timeout = 2.5
        self.assertEqual(self.connection.timeout, 2.5)

    def test_enabling_needs_url_store_and_credentials(self):
        with self.assertRaisesRegex(ValidationError, "CRM.COM URL.*Web API key"):
            self.connection.write({"enabled": True, "unit": "STORE01"})
        with self.assertRaisesRegex(ValidationError, "organisation"):
            self.connection.write(
                {
                    "enabled": True,
                    "base_url": "https://crm.example.com",
                    "unit": "STORE01",
                    "auth_mode": "password",
                    "username": "pos",
                    "password": "pw",
                    "organisation": " ",
                }
            )
        self.connection.write(
            {
                "enabled": True,
                "base_url": "https://crm.example.com",
                "unit": "STORE01",
                "auth_mode": "api_key",
                "api_key": "KEY",
            }
        )
        self.assertTrue(self.company._crmcom_is_connected())

    def test_settings_form_validates_too(self):
        with self.assertRaisesRegex(ValidationError, "https://"):
            self.settings(crmcom_base_url="http://crm.example.com")

    def test_pos_needs_a_connected_company(self):
        self.connection.enabled = False
        with self.assertRaisesRegex(ValidationError, "Connect"):
            self.pos_config.crmcom_enabled = True

    def test_pos_needs_an_identification_mean_and_a_spend_product(self):
        connect_company(self.company, self.simulator)
        self.assertTrue(self.pos_config.crmcom_discount_product_id, "defaults to ours")
        with self.assertRaisesRegex(ValidationError, "identify"):
            self.pos_config.write(
                {
                    "crmcom_enabled": True,
                    "crmcom_identify_card": False,
                    "crmcom_identify_phone": False,
                    "crmcom_identify_email": False,
                    "crmcom_identify_number": False,
                }
            )
        with self.assertRaisesRegex(ValidationError, "spend product"):
            self.pos_config.write({"crmcom_enabled": True, "crmcom_discount_product_id": False})
        self.pos_config.write(
            {
                "crmcom_enabled": True,
                "crmcom_identify_phone": False,
                "crmcom_identify_card": True,
                "crmcom_identify_email": True,
                "crmcom_identify_number": True,
                "crmcom_discount_product_id": self.env.ref(
                    "pos_crmcom_rewards.product_crmcom_wallet_spend"
                ).id,
            }
        )
        self.assertEqual(
            self.pos_config._crmcom_identification_methods(), ["card", "email", "number"]
        )

    def test_spend_product_reaches_the_till(self):
        connect_company(self.company, self.simulator)
        self.pos_config.crmcom_enabled = True
        self.assertIn(
            self.pos_config.crmcom_discount_product_id,
            self.env["pos.config"]._get_special_products(),
        )

    # ------------------------------------------------------------------ test connection

    def test_test_connection_reports_success(self):
        connect_company(self.company, self.simulator)
        action = self.settings().action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        log = self.env["crmcom.call.log"].search([], limit=1)
        self.assertEqual(log.method, "authentication/web_api_key/token")
        self.assertEqual(log.outcome, "ok")
        self.assertEqual((log.res_model, log.res_id), ("res.company", self.company.id))

    def test_test_connection_reports_the_exact_reason(self):
        connect_company(self.company, self.simulator, api_key="WRONG-KEY")
        action = self.settings().action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("AUTHENTICATION_FAILED", action["params"]["message"])
        log = self.env["crmcom.call.log"].search([], limit=1)
        self.assertEqual(log.outcome, "authentication_error")
        self.assertNotIn("WRONG-KEY", log.request + (log.response or ""))

        # Discard port: nothing listens. A new URL needs its key again.
        connect_company(self.company, self.simulator, base_url="http://127.0.0.1:9")
        action = self.settings().action_crmcom_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("could not be reached", action["params"]["message"])

    def test_test_connection_with_incomplete_settings(self):
        self.connection.write({"enabled": False, "base_url": False})
        with self.assertRaisesRegex(ValidationError, "not connected"):
            self.settings().action_crmcom_test_connection()

    # ------------------------------------------------------------------ shared token

    def test_token_is_stored_once_per_company_and_reused(self):
        connect_company(self.company, self.simulator)
        first = self.company._crmcom_client()
        first.show_participant({"number": "P0001"})
        # A second client, as another worker would build it, finds the token in the database.
        second = self.company._crmcom_client()
        second.show_participant({"number": "P0002"})
        logins = self.env["crmcom.call.log"].search(
            [("method", "=", "authentication/web_api_key/token")]
        )
        self.assertEqual(len(logins), 1)
        tokens = self.env["crmcom.token"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(tokens), 1)
        self.assertEqual(tokens.token, first.token_store.load().value)

    def test_rejected_token_is_replaced_in_the_database(self):
        connect_company(self.company, self.simulator)
        client = self.company._crmcom_client()
        old = client.login()
        self.simulator.expire_tokens()
        self.company._crmcom_client().show_participant({"number": "P0001"})
        token = self.env["crmcom.token"].search([("company_id", "=", self.company.id)])
        self.assertTrue(token.token)
        self.assertNotEqual(token.token, old)

    def test_abandoned_age_is_a_setting(self):
        self.settings(crmcom_abandoned_after_hours=6).execute()
        self.assertEqual(
            self.env["ir.config_parameter"].get_param("pos_crmcom_rewards.abandoned_after_hours"),
            "6",
        )

    def test_the_nomenclature_reads_crmcom_cards(self):
        nomenclature = self.env.ref("barcodes.default_barcode_nomenclature")
        self.assertEqual(nomenclature.parse_barcode("4000123412341234")["type"], "crmcom_card")
        self.assertNotEqual(nomenclature.parse_barcode("1234567890128")["type"], "crmcom_card")
        self.assertNotEqual(nomenclature.parse_barcode("40001234")["type"], "crmcom_card")

"""The till, in Chromium, with CRM.COM Rewards enabled."""

import json

from odoo.tests import HttpCase, tagged

from .common import API_KEY, CrmComHttpCase


@tagged("post_install", "-at_install")
class TestCrmComFrontend(CrmComHttpCase):
    def test_pos_opens_with_crmcom_enabled(self):
        self.main_pos_config.with_user(self.pos_user).open_ui()
        self.start_pos_tour("CrmComPosOpens", login="pos_user")

    def test_pos_data_carries_no_secret(self):
        # Log in once so that a token exists, then load what a till loads, as a cashier.
        client = self.main_pos_config.company_id._crmcom_client()
        token = client.login()
        self.main_pos_config.with_user(self.pos_user).open_ui()
        session = self.main_pos_config.current_session_id.with_user(self.pos_user)
        dump = json.dumps(session.load_data([]), default=str)
        self.assertIn('"crmcom_enabled": true', dump)
        for secret in (API_KEY, token, self.simulator.url):
            self.assertNotIn(secret, dump)


@tagged("post_install", "-at_install")
class TestCrmComSettingsPage(HttpCase):
    """The settings page, as an administrator fills it in Chromium."""

    def test_each_change_of_the_connection_takes_one_save(self):
        company = self.env.ref("base.main_company")
        self.env["pos.config"].search([]).crmcom_enabled = False
        company._crmcom_connection().unlink()
        # The till the settings page shows first.
        shown = self.env["res.config.settings"].default_get(["pos_config_id"])["pos_config_id"]
        till = self.env["pos.config"].browse(shown)
        self.start_tour("/odoo/settings", "CrmComSettingsTour", login="admin")
        connection = company._crmcom_connection()
        self.assertRecordValues(
            connection,
            [
                {
                    "enabled": True,
                    "base_url": "https://crm.example.com",
                    # Changed last, then tested without a save: the test saved it.
                    "unit": "STORE02",
                    "auth_mode": "api_key",
                    "api_key": "TOUR-WEB-API-KEY",
                    "organisation": "Coffee Shops Ltd",
                    "username": "pos.user",
                    "password": "tour-password",
                }
            ],
        )
        self.assertTrue(till.crmcom_enabled, "the till was turned on in the first save")
        self.assertEqual(
            till.crmcom_discount_product_id,
            self.env.ref("pos_crmcom_rewards.product_crmcom_wallet_spend"),
            "a till made before the add-on gets the wallet spend product when turned on",
        )

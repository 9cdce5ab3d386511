"""The till, in Chromium, with CRM.COM Rewards enabled."""

import json

from odoo.tests import tagged

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

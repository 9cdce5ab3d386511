"""The customer display next to the till, in Chromium, against the simulator."""

import json
from unittest.mock import patch

from odoo.tests import tagged

from .common import CrmComTourCase


@tagged("post_install", "-at_install")
class TestCrmComCustomerDisplay(CrmComTourCase):
    def test_the_customer_sees_their_rewards_and_nothing_else(self):
        # What the till sends a display on another machine: through the server, to the bus.
        sent = []
        config_class = self.registry["pos.config"]
        original = config_class.update_customer_display

        def update_customer_display(config, order, device_uuid):
            sent.append(order)
            return original(config, order, device_uuid)

        self.main_pos_config.with_user(self.pos_user).open_ui()
        with patch.object(config_class, "update_customer_display", update_customer_display):
            self.start_pos_tour("CrmComCustomerDisplayTour", login="pos_user")

        order = self.main_pos_config.current_session_id.order_ids
        self.assertEqual(order.state, "paid")
        self.assertAlmostEqual(order.crmcom_spent, 5.0)
        self.assertAlmostEqual(order.crmcom_balance_after, 21.0)

        rewards = [data["crmcom"] for data in sent if data.get("crmcom")]
        self.assertTrue(rewards, "the till sent the customer's rewards to the display")
        self.assertEqual({data["firstName"] for data in rewards}, {"John"})
        self.assertEqual(
            {key for data in rewards for key in data},
            {
                "firstName",
                "balance",
                "balanceLastKnown",
                "earns",
                "earnsState",
                "spent",
                "newBalance",
            },
        )
        # The new balance only once paid, and the one CRM.COM confirmed.
        new_balances = {data["newBalance"] for data in rewards} - {None}
        self.assertEqual(len(new_balances), 1)
        self.assertIn("21.00", new_balances.pop())
        everything = json.dumps(sent)
        for secret in ("Doe", "P0001", "4000123412341234", "+35799123456", "john.doe"):
            self.assertNotIn(secret, everything)
        # Once the next order is on, the display is told there is no customer any more.
        self.assertIsNone(sent[-1]["crmcom"])

"""A neutralised copy of the database (``odoo-bin neutralize``) never calls CRM.COM."""

from odoo.exceptions import ValidationError
from odoo.modules.neutralize import neutralize_database
from odoo.tests import tagged

from .common import CashierCase


@tagged("post_install", "-at_install")
class TestNeutralize(CashierCase):
    def test_a_neutralised_copy_calls_crmcom_no_more(self):
        john = self.john()
        order = self.paid_order(john, "uuid-neutralize-1")  # an award still to send
        purchase = order.crmcom_purchase_id
        self.assertEqual(purchase.state, "pending")
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()

        connection = self.company._crmcom_connection()
        self.assertFalse(connection.enabled)
        self.assertFalse(connection.api_key or connection.password, "no credentials left")
        self.assertFalse(self.env["crmcom.token"].sudo().search([]), "no token left")
        self.assertFalse(self.config.crmcom_enabled)
        for xmlid in ("ir_cron_crmcom_submit_purchases", "ir_cron_crmcom_product_sync"):
            self.assertFalse(self.env.ref(f"pos_crmcom_rewards.{xmlid}").active, xmlid)

        received = self.simulator_state()["received"]
        with self.assertRaises(ValidationError):
            self.company._crmcom_client()
        # Even when run by hand, the outbox and the product sync send nothing.
        self.run_submit_cron()
        with self.other_cursors():
            self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_product_sync").method_direct_trigger()
        self.assertEqual(purchase.state, "failed", "parked: a copy replays no sale")
        self.assertIn("Neutralised", purchase.last_error)
        self.assertEqual(self.simulator_state()["received"], received, "no CRM.COM call")

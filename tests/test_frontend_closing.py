"""Closing the register at the till, as a cashier, with an award CRM.COM has not confirmed."""

from odoo.tests import tagged

from ..models.crmcom_parameters import RECEIPT_WAIT_SECONDS
from .common import CrmComTourCase


@tagged("post_install", "-at_install")
class TestCrmComClosing(CrmComTourCase):
    def test_closing_with_a_pending_award(self):
        # The receipt does not wait: the award stays for the outbox (no job runs in tests).
        self.env["ir.config_parameter"].sudo().set_param(RECEIPT_WAIT_SECONDS.key, "0")
        self.assertFalse(self.pos_user.has_group("point_of_sale.group_pos_manager"))
        self.main_pos_config.with_user(self.pos_user).open_ui()
        session = self.main_pos_config.current_session_id
        self.start_pos_tour("CrmComClosingTour", login="pos_user")
        order = session.order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(order.crmcom_state, "pending", "closing sent nothing to CRM.COM")
        self.assertEqual(session.state, "closed", "closing is never held by CRM.COM")
        self.assertFalse(self.simulator_state()["purchases"])

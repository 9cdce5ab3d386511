"""The day's reconciliation as a Point of Sale manager uses it, in Chromium: from the Point
of Sale menu to a day with differences, its lines and amounts, and one safe fix applied from
its line."""

from datetime import datetime

from odoo.tests import HttpCase, tagged

from .common import CashierCase, company_user


@tagged("post_install", "-at_install")
class TestCrmComReconciliationViews(CashierCase, HttpCase):
    """CashierCase's sales against the simulator, and a browser (as in Odoo's own
    AccountTestInvoicingHttpCommon)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = company_user(cls.env, "recon_tour_manager", cls.company)

    def registry_enter_test_mode(self, **kwargs):
        """HttpCase put the registry in test mode for the whole class already: the cursors
        CashierCase's helpers open work in the test's transaction, as CashierCase wants."""

    def posted_order(self, uuid):
        order = self.paid_order(self.john(), uuid)
        self.run_submit_cron()
        self.assertEqual(order.crmcom_purchase_id.state, "posted")
        return order

    def test_a_manager_fixes_a_difference_from_its_line(self):
        self.assertFalse(self.manager.has_group("base.group_system"))
        # A desk (30.00) CRM.COM forgot, and one whose total CRM.COM changed to 25.00.
        missing = self.posted_order("uuid-t1").crmcom_purchase_id
        self.amend("purchase", missing.reference, forget=True)
        changed = self.posted_order("uuid-t2").crmcom_purchase_id
        self.amend("purchase", changed.reference, total_amount=25)
        recons = self.env["crmcom.reconciliation"]
        today = datetime.now(recons._zone(self.company)).date()
        with self.other_cursors():
            recon = recons.sudo()._reconcile(self.company, today)
        self.assertEqual(recon.difference_count, 2)
        line = recon.line_ids.filtered(lambda line: line.purchase_id == missing)
        self.assertEqual((line.kind, line.fix), ("missing", "resubmit"))

        self.start_tour("/odoo", "CrmComReconciliationTour", login=self.manager.login)

        self.env.invalidate_all()
        self.assertEqual(line.fix_state, "done")
        self.assertEqual(missing.state, "unknown", "due again, looked up before it is sent")
        other = recon.line_ids - line
        self.assertEqual((other.kind, other.fix, other.fix_state), ("amount", False, False))
        self.assertEqual(changed.state, "posted", "nothing was done to the other sale")

"""Reconciling a day with CRM.COM: each kind of difference, made in the simulator behind
Odoo's back, its line and figures, the fixes (once only), an outage, and who may see it."""

from datetime import datetime, timedelta

import requests

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CashierCase, company_user, other_company_admin


@tagged("post_install", "-at_install")
class TestDayReconciliation(CashierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = company_user(cls.env, "recon_manager", cls.company)

    # ------------------------------------------------------------------ helpers

    def today(self):
        recons = self.env["crmcom.reconciliation"]
        return datetime.now(recons._zone(self.company)).date()

    def reconcile(self, day=None):
        recon = (
            self.env["crmcom.reconciliation"].sudo()._reconcile(self.company, day or self.today())
        )
        self.assertTrue(recon, "the company's lock was free")
        return recon

    def posted_order(self, uuid, discount=0.0):
        """A paid order of John's, its purchase (and spend, if any) posted in CRM.COM."""
        john = self.john()
        if discount:
            spend = self.config._crmcom_spend(self.basket(john, uuid=uuid), discount)
            self.assertTrue(spend["ok"], spend)
        order = self.paid_order(john, uuid, discount=discount)
        self.run_submit_cron()
        self.assertEqual(order.crmcom_purchase_id.state, "posted")
        return order

    def fix(self, line):
        """A manager's click on the line's fix; return what he is told."""
        return line.with_user(self.manager).action_fix()["params"]["message"]

    def crm(self, reference, state="POSTED"):
        return [
            p
            for p in self.simulator_state()["purchases"]
            if p["reference_number"] == reference and p["life_cycle_state"] == state
        ]

    # ------------------------------------------------------------------ a clean day

    def test_clean_day(self):
        self.posted_order("uuid-c1")
        self.posted_order("uuid-c2", discount=10)
        recon = self.reconcile()
        self.assertEqual(recon.state, "done")
        self.assertTrue(recon.is_clean)
        self.assertFalse(recon.line_ids)
        self.assertEqual((recon.participant_count, recon.odoo_count, recon.crmcom_count), (1, 2, 2))
        self.assertEqual(recon.odoo_amount, 60.0)
        self.assertEqual(recon.crmcom_amount, 60.0)
        self.assertEqual(recon.odoo_spent, 10.0)
        self.assertEqual(recon.crmcom_spent, 10.0)

    def test_a_day_of_a_till_with_its_own_store_is_clean(self):
        self.config.sudo().write({"crmcom_unit_key": "alternative_code", "crmcom_unit": "STORE02"})
        self.posted_order("uuid-s1")
        self.posted_order("uuid-s2", discount=10)
        stores = {p["performed_by_unit"]["alternative_code"] for p in self.crm_purchases()}
        self.assertEqual(stores, {"STORE02"}, "sold in the till's store")
        recon = self.reconcile()
        self.assertTrue(recon.is_clean, recon.line_ids.mapped("description"))
        self.assertEqual((recon.odoo_count, recon.crmcom_count), (2, 2))
        self.assertEqual((recon.odoo_spent, recon.crmcom_spent), (10.0, 10.0))

    def test_a_day_without_sales_is_clean_and_the_job_reconciles_yesterday(self):
        with self.other_cursors():
            self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_reconcile").method_direct_trigger()
        recons = self.env["crmcom.reconciliation"]
        yesterday = recons.search(
            [("company_id", "=", self.company.id), ("date", "=", self.today() - timedelta(1))]
        )
        self.assertEqual(len(yesterday), 1)
        self.assertTrue(yesterday.is_clean)
        self.assertEqual(yesterday.odoo_count, 0)

    # ------------------------------------------------------------------ missing in CRM.COM

    def test_missing_in_crmcom_is_resubmitted_once(self):
        order = self.posted_order("uuid-m1")
        row = order.crmcom_purchase_id
        self.amend("purchase", row.reference, forget=True)
        recon = self.reconcile()
        self.assertFalse(recon.is_clean)
        self.assertEqual((recon.odoo_count, recon.crmcom_count, recon.difference_count), (1, 0, 1))
        self.assertEqual((recon.odoo_amount, recon.crmcom_amount), (30.0, 0.0))
        line = recon.line_ids
        self.assertEqual(
            (line.kind, line.event_type, line.fix), ("missing", "purchase", "resubmit")
        )
        self.assertEqual((line.purchase_id, line.pos_order_id), (row, order))
        self.assertEqual((line.odoo_amount, line.crmcom_amount), (30.0, 0.0))

        self.fix(line)
        self.assertEqual(line.fix_state, "done")
        self.assertEqual(row.state, "unknown", "due again, looked up before anything is sent")
        self.assertIn("Nothing to do", self.fix(line), "a second click does nothing")
        self.run_submit_cron()
        self.run_submit_cron()
        self.assertEqual(row.state, "posted")
        self.assertEqual(len(self.crm(row.reference)), 1, "sent once")

        again = self.reconcile()
        self.assertEqual(again, recon, "the day's result is replaced, not added")
        self.assertTrue(again.is_clean)
        self.assertEqual(
            self.env["crmcom.reconciliation"].search_count(
                [("company_id", "=", self.company.id), ("date", "=", self.today())]
            ),
            1,
        )

    def test_a_sale_with_a_spend_missing_in_crmcom_is_left_to_a_person(self):
        row = self.posted_order("uuid-m2", discount=10).crmcom_purchase_id
        self.amend("spend_request", row.spend_reference, forget=True)
        self.amend("purchase", row.reference, forget=True)
        lines = self.reconcile().line_ids
        self.assertEqual(
            sorted(lines.mapped(lambda line: (line.kind, line.event_type))),
            [("missing", "purchase"), ("missing", "spend")],
        )
        self.assertFalse(any(lines.mapped("fix")), "the discount was given: no blind fix")
        spend = lines.filtered(lambda line: line.event_type == "spend")
        self.assertEqual((spend.odoo_amount, spend.crmcom_amount), (10.0, 0.0))

    # ------------------------------------------------------------------ unknown to Odoo

    def test_events_odoo_does_not_know(self):
        row = self.posted_order("uuid-u1").crmcom_purchase_id
        with self.company._crmcom_client() as client:
            client.create_purchase(
                row._customer(),
                unit=self.company._crmcom_unit_identifier(),
                performed_on=row.performed_on,
                reference_number="FOREIGN-1",
                lines=row.product_lines,
            )
        recon = self.reconcile()
        line = recon.line_ids
        self.assertEqual((line.kind, line.reference, line.fix), ("unknown", "FOREIGN-1", False))
        self.assertFalse(line.purchase_id, "no sale of Odoo is certainly it")
        self.assertEqual((line.odoo_amount, line.crmcom_amount), (0.0, 30.0))
        self.assertEqual((recon.odoo_count, recon.crmcom_count), (1, 2))
        self.assertEqual(recon.crmcom_amount, 60.0)

    def test_a_purchase_odoo_did_not_record_is_adopted_once(self):
        row = self.posted_order("uuid-u2").crmcom_purchase_id
        number = row.crmcom_number
        # The answer was lost and the row parked: CRM.COM has it, Odoo does not know.
        row.sudo().write({"state": "failed", "crmcom_number": False, "crmcom_id": False})
        line = self.reconcile().line_ids
        self.assertEqual((line.kind, line.fix, line.purchase_id), ("unknown", "adopt", row))
        self.assertEqual(line.crmcom_number, number)
        self.fix(line)
        self.assertEqual((row.state, row.crmcom_number), ("posted", number))
        self.assertIn("Nothing to do", self.fix(line))
        self.run_submit_cron()
        self.assertEqual(len(self.crm(row.reference)), 1, "nothing was sent again")
        self.assertTrue(self.reconcile().is_clean)

    def test_a_spend_odoo_does_not_record_is_cleared_up_once(self):
        row = self.posted_order("uuid-u3").crmcom_purchase_id
        reference = f"{row.order_uuid}/S1"
        # Its answer was lost, the look-up found nothing, then it arrived: no discount was
        # given for it.
        with self.company._crmcom_client() as client:
            client.create_spend_request(
                {"number": row.crmcom_number},
                unit=self.company._crmcom_unit_identifier(),
                performed_on=row.performed_on,
                amount=5,
                customer=row._customer(),
                external_system_reference_number=reference,
            )
        row.sudo().spend_reference = reference
        recon = self.reconcile()
        line = recon.line_ids
        self.assertEqual(
            (line.kind, line.event_type, line.fix, line.purchase_id),
            ("unknown", "spend", "settle", row),
        )
        self.assertEqual((line.odoo_amount, line.crmcom_amount), (0.0, 5.0))
        self.assertEqual((recon.odoo_spent, recon.crmcom_spent), (0.0, 5.0))
        self.fix(line)
        self.assertEqual(row.spend_state, "unknown")
        self.assertIn("Nothing to do", self.fix(line))
        self.run_submit_cron()
        self.assertEqual((row.spend_state, row.spent), ("cancelled", 0.0))
        spends = self.simulator_state()["spend_requests"]
        self.assertEqual([s["life_cycle_state"] for s in spends], ["CANCELLED"])
        self.assertTrue(self.reconcile().is_clean)

    # ------------------------------------------------------------------ amounts

    def test_amounts_that_differ(self):
        row = self.posted_order("uuid-a1", discount=10).crmcom_purchase_id
        self.amend("purchase", row.reference, total_amount=25)
        self.amend("spend_request", row.spend_reference, spend_amount=8)
        recon = self.reconcile()
        lines = {line.event_type: line for line in recon.line_ids}
        self.assertEqual(set(lines), {"purchase", "spend"})
        self.assertEqual(lines["purchase"].kind, "amount")
        self.assertEqual((lines["purchase"].odoo_amount, lines["purchase"].crmcom_amount), (30, 25))
        self.assertEqual(lines["spend"].kind, "amount")
        self.assertEqual((lines["spend"].odoo_amount, lines["spend"].crmcom_amount), (10, 8))
        self.assertFalse(any(recon.line_ids.mapped("fix")))
        self.assertEqual((recon.odoo_amount, recon.crmcom_amount), (30, 25))
        self.assertEqual((recon.odoo_spent, recon.crmcom_spent), (10, 8))

    # ------------------------------------------------------------------ cancellations

    def test_cancelled_in_crmcom_only_is_resubmitted(self):
        row = self.posted_order("uuid-x1").crmcom_purchase_id
        self.amend("purchase", row.reference, life_cycle_state="CANCELLED")
        recon = self.reconcile()
        line = recon.line_ids
        self.assertEqual(
            (line.kind, line.crmcom_state, line.fix), ("cancelled", "CANCELLED", "resubmit")
        )
        self.assertEqual(recon.crmcom_count, 0)
        self.fix(line)
        self.fix(line)
        self.run_submit_cron()
        self.assertEqual(len(self.crm(row.reference)), 1, "one new purchase")
        self.assertTrue(self.reconcile().is_clean)

    def test_cancelled_in_odoo_only_is_cancelled_in_crmcom_once(self):
        row = self.posted_order("uuid-x2", discount=10).crmcom_purchase_id
        # A cancellation Odoo recorded that never reached CRM.COM.
        row.sudo().write({"state": "cancelled", "spend_state": "cancelled"})
        recon = self.reconcile()
        self.assertEqual(
            sorted(recon.line_ids.mapped(lambda line: (line.kind, line.event_type, line.fix))),
            [("cancelled", "purchase", "cancel"), ("cancelled", "spend", "cancel")],
        )
        self.assertEqual((recon.odoo_count, recon.crmcom_count), (0, 1))
        purchase_line, spend_line = recon.line_ids.sorted(
            lambda line: line.event_type != "purchase"
        )
        self.fix(purchase_line)
        self.assertEqual((row.state, row.spend_state), ("to_cancel", "posted"))
        self.fix(spend_line)  # the same sale: nothing more to do than to leave it to cancel
        self.assertIn("Nothing to do", self.fix(purchase_line))
        self.run_submit_cron()
        self.assertEqual(row.state, "cancelled")
        self.assertEqual(row.spent, 10.0, "the receipt's figure stays")
        self.assertFalse(self.crm(row.reference))
        spends = self.simulator_state()["spend_requests"]
        self.assertEqual([s["life_cycle_state"] for s in spends], ["CANCELLED"])
        wallet = next(w for w in self.simulator_state()["wallets"] if w["number"] == "W0001")
        self.assertEqual(wallet["balance"], 25.0, "the award taken back, the spend restored")
        self.assertTrue(self.reconcile().is_clean)

    # ------------------------------------------------------------------ outage

    def test_outage_leaves_a_clear_state(self):
        self.posted_order("uuid-o1")
        self.simulator.faults.add("http_500", method="customer_events/purchases/list", times=20)
        recon = self.reconcile()
        self.assertEqual(recon.state, "failed")
        self.assertFalse(recon.is_clean)
        self.assertFalse(recon.line_ids)
        self.assertIn("Could not be completed", recon.message)
        self.assertIn("could not be reached", recon.message)
        self.assertNotIn("127.0.0.1", recon.message)
        # A person's run says the same, without raising.
        action = (
            self.env["crmcom.reconciliation"]
            .with_user(self.manager)
            ._action_reconcile(self.company, self.today())
        )
        self.assertEqual(action["res_id"], recon.id)
        self.simulator.faults.clear()
        self.assertTrue(self.reconcile().is_clean)

    def test_simulator_amend_refuses_what_it_cannot_do(self):
        row = self.posted_order("uuid-s9").crmcom_purchase_id
        before = self.crm(row.reference)
        for body in (
            {"kind": "wallet", "reference": row.reference, "changes": {"forget": True}},
            {"kind": "purchase", "reference": "NO-SUCH", "changes": {"forget": True}},
            {"kind": "purchase", "reference": row.reference, "changes": {"spend_amount": 1}},
            {"kind": "purchase", "reference": row.reference, "changes": {"total_amount": "x"}},
            {
                "kind": "purchase",
                "reference": row.reference,
                "changes": {"life_cycle_state": "DELETED", "forget": True},
            },
        ):
            reply = requests.post(self.simulator.url + "/_simulator/amend", json=body, timeout=5)
            self.assertEqual(reply.status_code, 400, body)
        self.assertEqual(self.crm(row.reference), before, "nothing changed")

    # ------------------------------------------------------------------ access

    def test_access(self):
        self.posted_order("uuid-p1")
        row = self.env["crmcom.purchase"].search([("order_uuid", "=", "uuid-p1")])
        self.amend("purchase", row.reference, forget=True)
        wizard = (
            self.env["crmcom.reconciliation.wizard"]
            .with_user(self.manager)
            .create({"date": self.today()})
        )
        recon = self.env["crmcom.reconciliation"].browse(wizard.action_reconcile()["res_id"])
        line = recon.line_ids
        self.assertEqual(recon.with_user(self.manager).difference_count, 1)

        cashier = new_test_user(
            self.env, "recon_cashier", groups="base.group_user,point_of_sale.group_pos_user"
        )
        other = other_company_admin(
            self.env, "recon_other", groups="base.group_user,point_of_sale.group_pos_manager"
        )
        for user in (cashier, other):
            with self.assertRaises(AccessError, msg=user.login):
                recon.with_user(user).read(["odoo_amount"])
            with self.assertRaises(AccessError, msg=user.login):
                line.with_user(user).action_fix()
            with self.assertRaises(AccessError, msg=user.login):
                recon.with_user(user).action_run_again()
        self.assertFalse(self.env["crmcom.reconciliation"].with_user(other).search([]))
        self.assertFalse(self.env["crmcom.reconciliation.line"].with_user(other).search([]))
        with self.assertRaises(AccessError):
            self.env["crmcom.reconciliation.wizard"].with_user(other).create(
                {"company_id": self.company.id}
            ).action_reconcile()
        self.assertFalse(line.fix_state, "nobody but the manager fixed it")
        self.assertEqual(row.state, "posted")

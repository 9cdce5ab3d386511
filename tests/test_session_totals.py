"""The session's CRM.COM figures (closing dialog, Sales Details report) and the managers'
CRM.COM Rewards analysis, over one session of confirmed, pending, refused and refunded
sales."""

from lxml import html

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..models.crmcom_purchase import REFUSALS_BEFORE_PARKING
from ..models.pos_order import _amount_incl
from .common import POS_USER, CashierCase, company_user, other_company_admin


@tagged("post_install", "-at_install")
class TestSessionTotals(CashierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cashier = company_user(cls.env, "crm_till_cashier", cls.company, POS_USER)
        cls.manager = company_user(cls.env, "crm_till_manager", cls.company)

    def _session_of_every_kind(self):
        """One session: a sale with a 20.00 spend whose lamp comes back (5.00 to the
        wallet), a confirmed sale, a refused one, a pending one, and a sale of nobody."""
        john = self.john()
        basket = self.basket(john, [(self.desk, 1), (self.lamp, 1)], uuid="uuid-t1")
        self.assertEqual(self.config._crmcom_spend(basket, 20)["spent"], 20.0)
        spent_sale = self.paid_order(
            john, "uuid-t1", discount=20, products=[(self.desk, 1), (self.lamp, 1)]
        )
        confirmed = self.paid_order(john, "uuid-t2")
        terry = (
            self.env["res.partner"]
            .sudo()
            .create({"name": "Terry Minated", "crmcom_participant_number": "P0003"})
        )
        refused = self.paid_order(terry, "uuid-t3")
        for _refusal in range(REFUSALS_BEFORE_PARKING):
            refused.crmcom_purchase_id.sudo().next_attempt_at = False
            self.run_submit_cron()
        lamp = spent_sale.lines.filtered(lambda line: line.product_id == self.lamp)
        refund = self.refund(spent_sale, lamp)
        self.run_submit_cron()
        pending = self.paid_order(john, "uuid-t4")  # no job since: not sent yet
        anonymous = self.paid_order(self.env["res.partner"], "uuid-t5")
        self.assertEqual(refused.crmcom_state, "failed")
        self.assertEqual(pending.crmcom_state, "pending")
        self.assertEqual(spent_sale.crmcom_purchase_id.replaces_id.state, "cancelled")
        self.assertEqual(spent_sale.crmcom_state, "posted")
        self.assertFalse(anonymous.crmcom_purchase_id)
        return {
            "spent_sale": spent_sale,
            "confirmed": confirmed,
            "refused": refused,
            "pending": pending,
            "refund": refund,
            "anonymous": anonymous,
        }

    def _wallet_lines(self, orders):
        return orders.lines.filtered(lambda line: line.product_id == self.spend_product)

    def test_totals_of_a_session(self):
        orders = self._session_of_every_kind()
        totals = self.pos_session._crmcom_session_totals()
        self.assertEqual(
            totals["sales"], {"confirmed": 2, "pending": 1, "refused": 1, "cancelled": 0}
        )
        self.assertEqual(totals["sales_count"], 4, "the sale of nobody is no CRM.COM sale")
        # What CRM.COM holds: the desk kept (1.50 on its replacement) and the other desk
        # (1.50); nothing for the refused and pending sales, nothing for the cancelled
        # purchase the replacement took over.
        self.assertEqual(totals["awarded"], 3.0)
        self.assertEqual(totals["spent"], 20.0)
        self.assertEqual((totals["refunds"], totals["restored"]), (1, 5.0))
        self.assertCountEqual(
            totals["attention_ids"],
            (orders["refused"] | orders["pending"]).crmcom_purchase_id.ids,
        )

    def test_spent_is_the_sessions_wallet_lines(self):
        orders = self._session_of_every_kind()
        totals = self.pos_session._crmcom_session_totals()
        session_orders = self.pos_session.order_ids
        sales = session_orders.filtered(lambda order: not order.is_refund)
        self.assertEqual(
            self.pos_session.currency_id.round(-sum(map(_amount_incl, self._wallet_lines(sales)))),
            totals["spent"],
        )
        # What the wallets paid, net of what the session's refunds gave back: every wallet
        # line the session booked.
        self.assertEqual(
            self.pos_session.currency_id.round(
                -sum(map(_amount_incl, self._wallet_lines(session_orders)))
            ),
            totals["spent"] - totals["restored"],
        )
        self.assertEqual(
            sum(map(_amount_incl, self._wallet_lines(orders["refund"]))), totals["restored"]
        )

    def test_a_full_refund_counts_the_sale_cancelled(self):
        orders = self._session_of_every_kind()
        # At once, before CRM.COM is told (the job would also send the pending sale).
        self.refund(orders["confirmed"])
        self.assertEqual(orders["confirmed"].crmcom_state, "to_cancel")
        totals = self.pos_session._crmcom_session_totals()
        self.assertEqual(totals["sales"]["cancelled"], 1)
        self.assertEqual(totals["sales"]["confirmed"], 1)
        self.assertEqual(totals["awarded"], 1.5, "the refunded desk's award is taken back")
        self.assertEqual((totals["refunds"], totals["restored"]), (2, 5.0))

    def test_closing_data_as_a_cashier(self):
        orders = self._session_of_every_kind()
        session = self.pos_session.with_user(self.cashier)
        data = session.get_closing_control_data()
        crmcom = data["crmcom"]
        self.assertEqual(crmcom["sales"]["pending"], 1)
        self.assertEqual(crmcom["sales"]["refused"], 1)
        self.assertEqual(crmcom["attention"], 2)
        self.assertEqual((crmcom["spent"], crmcom["restored"]), (20.0, 5.0))
        self.assertNotIn("attention_ids", crmcom, "the till needs the count only")
        # The link opens the session's awards; the cashier may open that action and read
        # the awards it lists (the default filter: what needs CRM.COM or a person).
        self.assertEqual(
            crmcom["url"],
            f"/odoo/{session.id}/action-pos_crmcom_rewards.action_crmcom_session_purchases",
        )
        # What the web client loads for that URL, as the cashier.
        action = (
            self.env["ir.actions.actions"]
            .with_user(self.cashier)
            ._for_xml_id("pos_crmcom_rewards.action_crmcom_session_purchases")
        )
        self.assertEqual(action["res_model"], "crmcom.purchase")
        domain = safe_eval(action["domain"], {"active_id": session.id})
        purchases = self.env["crmcom.purchase"].with_user(self.cashier).search(domain)
        self.assertEqual(
            purchases,
            orders["spent_sale"].crmcom_purchase_id
            | orders["spent_sale"].crmcom_sale_purchase_id
            | (orders["confirmed"] | orders["refused"] | orders["pending"]).crmcom_purchase_id,
        )
        to_do = self.env.ref("pos_crmcom_rewards.crmcom_purchase_view_search")
        self.assertIn('name="to_do"', to_do.arch)
        self.assertIn("search_default_to_do", action["context"])

    def test_closing_data_without_crmcom(self):
        self.config.crmcom_enabled = False
        data = self.pos_session.get_closing_control_data()
        self.assertNotIn("crmcom", data, "a till without CRM.COM shows nothing of it")

    def test_report_renders_the_figures(self):
        self._session_of_every_kind()
        content, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "point_of_sale.sale_details_report", self.pos_session.ids
        )
        page = html.fromstring(content)

        def cell(name):
            (node,) = page.xpath(f"//*[@id='crmcom_rewards']//*[@id='{name}']")
            return " ".join(node.text_content().split())

        self.assertEqual(cell("crmcom_sales_count"), "4")
        self.assertEqual(cell("crmcom_sales_confirmed"), "2")
        self.assertEqual(cell("crmcom_sales_pending"), "1")
        self.assertEqual(cell("crmcom_sales_refused"), "1")
        self.assertIn("3.00", cell("crmcom_awarded"))
        self.assertIn("20.00", cell("crmcom_spent"))
        self.assertEqual(cell("crmcom_refunds"), "1")
        self.assertIn("5.00", cell("crmcom_restored"))

    def test_report_of_a_till_without_crmcom(self):
        self.config.crmcom_enabled = False
        self.paid_order(self.env["res.partner"], "uuid-t9")
        content, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "point_of_sale.sale_details_report", self.pos_session.ids
        )
        self.assertFalse(html.fromstring(content).xpath("//*[@id='crmcom_rewards']"))

    # ------------------------------------------------------------------ analysis

    def _analysis(self, user=None):
        report = self.env["report.crmcom.rewards"]
        return report.with_user(user) if user else report

    def test_analysis_counts_each_sale_once(self):
        orders = self._session_of_every_kind()
        rows = self._analysis().search([("session_id", "=", self.pos_session.id)])
        by_order = {row.order_id: (row.awarded, row.spent, row.state) for row in rows}
        self.assertEqual(
            by_order,
            {
                # The replacement's figures (the desk kept): 1.50 award, 15.00 still spent;
                # the cancelled purchase of the sale counts nothing.
                orders["spent_sale"]: (1.5, 15.0, "posted"),
                orders["confirmed"]: (1.5, 0.0, "posted"),
                orders["refused"]: (0.0, 0.0, "failed"),
                orders["pending"]: (0.0, 0.0, "pending"),
            },
        )
        # A full refund takes the sale's figures back at once (before CRM.COM is told): it
        # still counts once, for nothing.
        self.refund(orders["confirmed"])
        self._analysis().invalidate_model()  # a view: the ORM cannot tell it changed
        row = self._analysis().search([("order_id", "=", orders["confirmed"].id)])
        self.assertEqual((row.awarded, row.spent, row.state), (0.0, 0.0, "to_cancel"))
        # The analysis adds up to what the outbox books for those sales.
        purchases = self.env["crmcom.purchase"].search(
            [("pos_order_id.session_id", "=", self.pos_session.id)]
        )
        (total,) = self._analysis()._read_group(
            [("session_id", "=", self.pos_session.id)], [], ["awarded:sum", "spent:sum"]
        )
        self.assertEqual(
            total,
            (sum(purchases.mapped("booked_awarded")), sum(purchases.mapped("booked_spent"))),
        )
        self.assertEqual(total, (1.5, 15.0))

    def test_analysis_per_shop_day_and_cashier(self):
        orders = self._session_of_every_kind()
        orders["confirmed"].user_id = self.manager
        groups = self._analysis()._read_group(
            [("session_id", "=", self.pos_session.id)],
            ["config_id", "date:day", "user_id"],
            ["awarded:sum", "spent:sum", "__count"],
        )
        figures = {
            (config, user): (awarded, spent, count)
            for config, _day, user, awarded, spent, count in groups
        }
        self.assertEqual(
            figures,
            {
                (self.config, self.manager): (1.5, 0.0, 1),
                (self.config, orders["spent_sale"].user_id): (1.5, 15.0, 3),
            },
        )
        self.assertEqual(len({day for _config, day, *_rest in groups}), 1, "one day")

    def test_analysis_is_for_managers_of_the_company(self):
        self._session_of_every_kind()
        self.assertEqual(len(self._analysis(self.manager).search([])), 4)
        with self.assertRaises(AccessError):
            self._analysis(self.cashier).search([])
        other = other_company_admin(
            self.env,
            "crm_other_pos_manager",
            groups="base.group_user,point_of_sale.group_pos_manager",
        )
        self.assertFalse(self._analysis(other).search([]), "another company's sales")
        menu = self.env.ref("pos_crmcom_rewards.menu_report_crmcom_rewards")
        self.assertEqual(menu.parent_id, self.env.ref("point_of_sale.menu_point_rep"))
        visible = self.env["ir.ui.menu"].with_user(self.manager)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        visible = self.env["ir.ui.menu"].with_user(self.cashier)._visible_menu_ids()
        self.assertNotIn(menu.id, visible)

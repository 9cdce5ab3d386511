"""Another company's administrator, and a cashier, over JSON-RPC against the connection:
neither can read it, redirect it nor make the company's credentials travel elsewhere; a
cashier gets plain words, and cannot use a till to try card numbers."""

from odoo.tests import JsonRpcException, new_test_user, tagged

from ..models.crmcom_parameters import IDENTIFY_FAILURES_PER_MINUTE
from ..simulator.server import SimulatorServer
from .common import API_KEY, JOHN_CARD, CrmComHttpCase, other_company_admin


@tagged("post_install", "-at_install")
class TestHostileAdmin(CrmComHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.main_pos_config.company_id
        cls.connection = cls.company._crmcom_connection()
        cls.elsewhere = SimulatorServer(host="127.0.0.1", port=0, seed=True).start()
        cls.addClassCleanup(cls.elsewhere.stop)
        cls.intruder = other_company_admin(cls.env, "crm_rpc_intruder", password="crm_rpc_intruder")

    def setUp(self):
        super().setUp()
        self.reset_simulator()
        self.elsewhere.reset(seed=True)

    def call(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def refused(self, model, method, args, kwargs=None):
        with self.assertRaises(JsonRpcException, msg=f"{model}.{method}") as caught:
            self.call(model, method, args, kwargs)
        return caught.exception

    def open_till(self):
        self.main_pos_config.with_user(self.pos_user).open_ui()
        self.main_pos_config.current_session_id.set_opening_control(0, None)
        self.authenticate("pos_user", "pos_user")

    def identify(self, query):
        return self.make_jsonrpc_request(
            "/pos_crmcom_rewards/identify",
            {"config_id": self.main_pos_config.id, "query": query, "method": "card"},
        )

    def test_another_companys_administrator_cannot_redirect_the_credentials(self):
        self.authenticate("crm_rpc_intruder", "crm_rpc_intruder")
        elsewhere = {"base_url": self.elsewhere.url}
        self.assertEqual(self.call("crmcom.connection", "search_read", [[]]), [])
        for model, method, args in (
            ("crmcom.connection", "read", [[self.connection.id], ["api_key"]]),
            ("crmcom.connection", "write", [[self.connection.id], elsewhere]),
            ("crmcom.connection", "action_forget_credentials", [[self.connection.id]]),
            (
                "res.config.settings",
                "create",
                [{"company_id": self.company.id, "crmcom_base_url": self.elsewhere.url}],
            ),
            ("res.company", "write", [[self.company.id], {"crmcom_base_url": self.elsewhere.url}]),
        ):
            self.refused(model, method, args)
        self.assertEqual(
            (self.connection.base_url, self.connection.api_key), (self.simulator.url, API_KEY)
        )
        self.open_till()
        self.assertTrue(self.identify(JOHN_CARD)["ok"])
        self.assertEqual(self.elsewhere.snapshot()["received"], {}, "nothing went elsewhere")

    def test_a_cashier_reads_no_connection_and_saves_none(self):
        self.open_till()
        self.refused("crmcom.connection", "search_read", [[]], {"fields": ["api_key"]})
        self.refused("res.config.settings", "create", [{"crmcom_base_url": self.elsewhere.url}])
        self.refused("crmcom.token", "search_read", [[]])

    def test_a_cashier_cannot_try_card_numbers_one_after_another(self):
        self.open_till()
        limit = IDENTIFY_FAILURES_PER_MINUTE.value(self.env)
        answers = [self.identify(f"40009999{number:08d}")["error"] for number in range(limit + 5)]
        self.assertEqual(answers, ["not_found"] * limit + ["throttled"] * 5)
        lookups = self.simulator_state()["received"]["rewards_participants/show"]
        self.assertEqual(lookups, limit, "a throttled till asks CRM.COM nothing")

    def test_a_cashier_refreshes_a_balance_and_reads_plain_words(self):
        self.open_till()
        john = self.identify(JOHN_CARD)["partner_id"]
        self.assertIs(self.call("res.partner", "action_crmcom_refresh_balance", [[john]]), True)
        self.simulator.faults.add("drop", times=None)
        notice = self.call("res.partner", "action_crmcom_refresh_balance", [[john]])
        self.assertEqual(notice["params"]["message"], "CRM.COM could not be reached.")
        clerk = new_test_user(self.env, "crm_rpc_clerk", password="crm_rpc_clerk")
        self.authenticate("crm_rpc_clerk", "crm_rpc_clerk")
        self.refused("res.partner", "action_crmcom_refresh_balance", [[john]])
        self.assertFalse(clerk.has_group("point_of_sale.group_pos_user"))

"""What bounds what a till can make Odoo do with CRM.COM: a deadline on every till request,
a limit on identifications that find nobody, plain words for the people at the till, the
organisation's time zone on every date sent."""

import threading
import uuid
from contextlib import closing
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, new_test_user, tagged

from ..crmcom import CrmComClient
from ..models.crmcom_parameters import IDENTIFY_FAILURES_PER_MINUTE
from .common import API_KEY, JOHN_CARD, CashierCase, LocalTimeoutsMixin

SHOW = "rewards_participants/show"
PREVIEW = "customer_events/purchases/preview"


@tagged("post_install", "-at_install")
class TestTillGuards(LocalTimeoutsMixin, CashierCase):
    def received(self, method):
        return self.simulator_state()["received"].get(method, 0)

    # ------------------------------------------------------------------ deadline

    def test_a_slow_crmcom_holds_a_till_request_for_the_timeout_at_most(self):
        john = self.john()  # logged in: what follows waits for the slow calls only
        self.company._crmcom_connection().timeout = 1
        self.simulator.faults.add("latency", SHOW, times=None, seconds=3)
        self.simulator.faults.add("latency", PREVIEW, times=None, seconds=3)
        shown, previewed = self.received(SHOW), self.received(PREVIEW)
        result = self.identify()
        self.assertEqual((result["ok"], result["error"]), (False, "unreachable"))
        preview = self.config._crmcom_preview(self.basket(john))
        self.assertEqual((preview["ok"], preview["error"]), (False, "unreachable"))
        # One attempt each: a retry would start after the deadline.
        self.assertEqual(self.received(SHOW) - shown, 1)
        self.assertEqual(self.received(PREVIEW) - previewed, 1)
        timed_out = self.call_log(self.config).filtered(
            lambda log: log.outcome == "call_timeout_error"
        )
        self.assertEqual(len(timed_out), 2)

    # ------------------------------------------------------------------ failed identifications

    def a_minute_later(self):
        quota = self.env["crmcom.identify.quota"].sudo()
        with self.other_cursors():
            quota.search([]).write({"minute": quota._current_minute() - 1})

    def test_identifications_that_find_nobody_are_limited_per_till(self):
        self.env["ir.config_parameter"].set_param(IDENTIFY_FAILURES_PER_MINUTE.key, "3")
        for attempt in range(3):
            result = self.identify(f"40001234000000{attempt:02d}")
            self.assertEqual(result["error"], "not_found")
        shown = self.received(SHOW)
        for query in ("4000123400000099", JOHN_CARD):
            result = self.identify(query)
            self.assertEqual((result["ok"], result["error"]), (False, "throttled"), query)
            self.assertIn("wait a minute", result["message"])
        self.assertEqual(self.received(SHOW), shown, "a throttled till asks CRM.COM nothing")
        self.a_minute_later()
        self.assertTrue(self.identify()["ok"])

    def test_found_customers_do_not_count_against_the_till(self):
        self.env["ir.config_parameter"].set_param(IDENTIFY_FAILURES_PER_MINUTE.key, "1")
        for _attempt in range(3):
            self.assertTrue(self.identify()["ok"])
        self.assertEqual(self.identify("4000123400000099")["error"], "not_found")
        self.assertEqual(self.identify()["error"], "throttled")

    def test_an_outage_does_not_count_against_the_till(self):
        self.env["ir.config_parameter"].set_param(IDENTIFY_FAILURES_PER_MINUTE.key, "1")
        self.simulator.faults.add("http_500", SHOW, times=None, http_status=503)
        for _attempt in range(2):
            self.assertEqual(self.identify()["error"], "unreachable")
        self.simulator.faults.clear()
        self.assertTrue(self.identify()["ok"])

    def test_a_cashier_going_to_another_till_is_still_limited(self):
        self.env["ir.config_parameter"].set_param(IDENTIFY_FAILURES_PER_MINUTE.key, "2")
        cashier = new_test_user(
            self.env,
            "crm_quota_cashier",
            groups="base.group_user,point_of_sale.group_pos_user",
            company_id=self.company.id,
        )
        other_till = self.config.copy({"name": "Second till"})
        other_till.crmcom_enabled = True
        other_till.open_ui()
        other_till.current_session_id.set_opening_control(0, None)
        for attempt in range(2):
            result = self.config.with_user(cashier)._crmcom_identify(
                f"40001234000000{attempt:02d}", "card"
            )
            self.assertEqual(result["error"], "not_found")
        # Another user at the first till, and this cashier at the second, are both held.
        self.assertEqual(self.identify("4000123400000098")["error"], "throttled")
        result = other_till.with_user(cashier)._crmcom_identify("4000123400000099", "card")
        self.assertEqual(result["error"], "throttled")
        # Whoever is at the second till otherwise may go on.
        result = other_till._crmcom_identify("4000123400000099", "card")
        self.assertEqual(result["error"], "not_found")

    # ------------------------------------------------------------------ plain words

    def test_refresh_balance_is_for_pos_users_of_the_company(self):
        john = self.john()
        clerk = new_test_user(self.env, "crm_clerk", groups="base.group_user")
        with self.assertRaises(AccessError):
            john.with_user(clerk).action_crmcom_refresh_balance()
        other = self.env["res.company"].create({"name": "Other shop"})
        theirs = (
            self.env["res.partner"]
            .sudo()
            .create(
                {
                    "name": "Their customer",
                    "company_id": other.id,
                    "crmcom_participant_number": "P1",
                }
            )
        )
        cashier = new_test_user(
            self.env,
            "crm_refresh_cashier",
            groups="base.group_user,point_of_sale.group_pos_user",
            company_ids=[(6, 0, (self.company | other).ids)],
        )
        with self.assertRaises(AccessError):
            theirs.with_user(cashier).with_company(self.company).action_crmcom_refresh_balance()
        self.assertIs(john.with_user(cashier).action_crmcom_refresh_balance(), True)

    def test_pos_users_read_plain_words_not_server_details(self):
        john = self.john()
        cashier = new_test_user(
            self.env, "crm_plain_cashier", groups="base.group_user,point_of_sale.group_pos_user"
        )
        self.simulator.faults.add("http_500", times=None)
        notice = john.with_user(cashier).action_crmcom_refresh_balance()
        self.assertEqual(notice["params"]["message"], "CRM.COM could not be reached.")
        order = self.paid_order(john, "uuid-guards-1")
        self.run_submit_cron()
        error = order.crmcom_purchase_id.with_user(cashier).last_error
        self.assertEqual(error, "CRM.COM could not be reached.")
        # The detail stays in the call log, for administrators.
        self.assertIn("HTTP 500", self.call_log(john)[:1].message)
        for text in (notice["params"]["message"], error):
            self.assertNotIn("127.0.0.1", text)

    # ------------------------------------------------------------------ time zone

    def test_dates_are_sent_in_the_organisations_time_zone(self):
        self.company._crmcom_connection().time_zone = "Asia/Nicosia"
        order = self.paid_order(self.john(), "uuid-guards-2")
        self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertEqual(purchase.state, "posted")
        (sent,) = [p for p in self.simulator_state()["purchases"] if p["id"] == purchase.crmcom_id]
        local = CrmComClient(
            self.simulator.url, api_key=API_KEY, time_zone="Asia/Nicosia"
        ).format_date(purchase.performed_on)
        self.assertEqual(sent["performed_on"], local)
        self.assertNotEqual(local, purchase.performed_on.isoformat(timespec="seconds"))

    # ------------------------------------------------------------------ how people type

    def test_identification_forgives_how_people_type(self):
        self.company.country_id = self.env.ref("base.cy")
        typed = {
            "phone": ["35799123456", "0035799123456", "99123456", "+357 99 123 456"],
            "email": ["John.Doe@Example.com", "  JOHN.DOE@example.com "],
            "card": ["4000 1234 1234 1234", "4000-1234-1234-1234"],
            "number": ["p0001", " P 0001"],
        }
        for method, queries in typed.items():
            for query in queries:
                with self.subTest(method=method, query=query):
                    result = self.identify(query, method)
                    self.assertTrue(result["ok"], result)
                    self.assertEqual(result["participant_number"], "P0001")
        # The call log keeps what was sent, masked: neither what was typed nor the whole of it.
        requests = " ".join(self.call_log(self.config).mapped("request"))
        for kept in ("***3456", "j***@example.com", "***1234"):
            self.assertIn(kept, requests)
        for code in ("35799123456", "john.doe", "JOHN", "4000123412341234", "4000 1234"):
            self.assertNotIn(code, requests)

    def test_a_phone_number_without_country_code_is_read_in_the_shops_country(self):
        self.company.country_id = self.env.ref("base.us")
        self.assertEqual(self.identify("99123456", "phone")["error"], "not_found")
        self.company.country_id = self.env.ref("base.cy")
        self.assertTrue(self.identify("99123456", "phone")["ok"])

    # ------------------------------------------------------------------ found in review

    def test_a_till_of_a_disconnected_company_gets_plain_words(self):
        self.company._crmcom_connection().enabled = False
        with self.assertRaisesRegex(UserError, "not connected to CRM.COM"):
            self.identify()

    def test_a_wallet_line_that_adds_to_the_bill_is_refused(self):
        john = self.john()
        uuid = "uuid-guards-3"
        self.assertTrue(self.config._crmcom_spend(self.basket(john, uuid=uuid), 10)["ok"])
        wallet = {"product": self.spend_product, "quantity": 1}
        data = self.create_ui_order_data(
            [(self.desk, 1), {**wallet, "price_unit": -15}, {**wallet, "price_unit": 5}],
            customer=john,
            uuid=uuid,
        )
        for line, amount in zip(data["lines"][1:], (-15.0, 5.0), strict=True):
            line[2].update(price_unit=amount, price_subtotal=amount, price_subtotal_incl=amount)
        total = sum(line[2]["price_subtotal_incl"] for line in data["lines"])
        data.update(amount_total=total, amount_paid=total)
        data["payment_ids"][0][2]["amount"] = total
        with self.assertRaisesRegex(UserError, "adds to the bill"):
            self.env["pos.order"].sync_from_ui([data])


@tagged("post_install", "-at_install")
class TestIdentifyQuotaUnderConcurrency(TransactionCase):
    """The counters are taken by requests running at the same time, each in its own
    transaction: here real PostgreSQL connections, outside the test's transaction."""

    def test_requests_arriving_together_get_no_more_than_the_limit(self):
        quota = self.env["crmcom.identify.quota"]
        company = self.env.ref("base.main_company")  # committed: real connections see it
        keys = [f"test-till,{uuid.uuid4()}", f"test-user,{uuid.uuid4()}"]
        limit, requests = 3, 10
        dbname = self.env.cr.dbname
        barrier = threading.Barrier(requests)
        taken = []

        def request():
            barrier.wait(timeout=30)
            taken.append(quota._take(company, keys, limit))

        def real_cursor(readonly=False):
            return db_connect(dbname).cursor()

        try:
            with patch.object(self.registry, "cursor", real_cursor):
                threads = [threading.Thread(target=request) for _ in range(requests)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
                self.assertEqual(len(taken), requests)
                granted = [minute for minute in taken if minute is not None]
                self.assertEqual(len(granted), limit)
                # Given back: that many more may come, and no more.
                quota._give_back(keys, granted[0])
                self.assertIsNotNone(quota._take(company, keys, limit))
                self.assertIsNone(quota._take(company, keys, limit))
        finally:
            with closing(db_connect(dbname).cursor()) as cr:
                cr.execute("DELETE FROM crmcom_identify_quota WHERE key = ANY(%s)", [keys])
                # A connection of its own, outside the test's transaction.
                cr.commit()  # pylint: disable=invalid-commit

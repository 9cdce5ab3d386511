"""The CRM.COM client alone (no Odoo model), against the simulator over real HTTP.

Long, as the client is: one file for the one concept "how the add-on talks to CRM.COM"."""

import http.server
import json
import socket
import threading
import time
from datetime import datetime
from decimal import Decimal

from ..crmcom import (
    AuthenticationError,
    BadReplyError,
    BusinessRuleError,
    CallTimeoutError,
    CrmComClient,
    MemoryTokenStore,
    NotFoundError,
    TransportError,
    spend_blocked,
)
from ..crmcom.client import (
    identifier,
    mask_identifier,
    mask_secrets,
    normalise_amounts,
    parse_amount,
    release_token,
)
from .common import API_KEY, JOHN, UNIT, PlainCase, SimulatorMixin

CARD = {"access_token_identifier": {"authentication_code": "4000123412341234"}}
LINE = {
    "product_identifier": {"code": "SKU-1"},
    "quantity": 2,
    "net_amount": 33.90,
    "vat_amount": 6.10,
    "total_amount": 40.00,
}


class FakeClock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


class TestCrmComClient(SimulatorMixin, PlainCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()

    def setUp(self):
        super().setUp()
        self.reset_simulator()
        self.records = []

    def client(self, **kwargs):
        options = {
            "api_key": API_KEY,
            "timeout": 2.0,
            "on_call": self.records.append,
            "backoff_factor": 0,
            **kwargs,
        }
        client = CrmComClient(self.simulator.url, **options)
        self.addCleanup(client.close)
        return client

    def logins(self):
        return [
            r
            for r in self.records
            if r.method.startswith("authentication/") and r.method != "authentication/token/release"
        ]

    def purchase(self, client, reference="Shop/0001", lines=(LINE,)):
        return client.create_purchase(
            JOHN,
            unit=UNIT,
            performed_on=datetime(2026, 11, 27, 10),
            reference_number=reference,
            lines=list(lines),
        )

    def purchases_in_simulator(self):
        return self.simulator_state()["purchases"]

    # ------------------------------------------------------------------ login and token

    def test_api_key_login_issues_a_long_token(self):
        client = self.client()
        token = client.login()
        self.assertGreater(len(token), 32)
        self.assertEqual(client.token_store.load().value, token)

    def test_password_login(self):
        client = CrmComClient(
            self.simulator.url,
            username="posuser",
            password="secret",
            organisation="CRMDEMO",
            on_call=self.records.append,
        )
        self.addCleanup(client.close)
        data = client.show_participant({"number": "P0001"}, fields=["number"])
        self.assertEqual(data, {"number": "P0001"})
        self.assertEqual([r.method for r in self.logins()], ["authentication/token"])

    def test_wrong_credentials_raise_authentication_error(self):
        with self.assertRaises(AuthenticationError) as caught:
            self.client(api_key="NOT-A-KEY").login()
        self.assertEqual(caught.exception.code, "AUTHENTICATION_FAILED")
        client = CrmComClient(
            self.simulator.url, username="posuser", password="wrong", organisation="CRMDEMO"
        )
        self.addCleanup(client.close)
        with self.assertRaises(AuthenticationError):
            client.login()

    def test_token_is_reused_between_calls(self):
        client = self.client()
        client.show_participant({"number": "P0001"})
        client.show_participant({"number": "P0002"})
        self.assertEqual(len(self.logins()), 1)

    def test_token_store_is_shared_between_clients(self):
        # Two Odoo workers share the database store: one login serves both.
        store = MemoryTokenStore()
        self.client(token_store=store).show_participant({"number": "P0001"})
        self.client(token_store=store).show_participant({"number": "P0002"})
        self.assertEqual(len(self.logins()), 1)

    def test_token_renewed_before_its_lifetime_ends(self):
        clock = FakeClock()
        client = self.client(clock=clock)
        client.show_participant({"number": "P0001"})
        clock.now += 99 * 60
        client.show_participant({"number": "P0001"})
        self.assertEqual(len(self.logins()), 1, "a 99-minute-old token is still used")
        clock.now += 2 * 60
        client.show_participant({"number": "P0001"})
        self.assertEqual(len(self.logins()), 2, "a 101-minute-old token is renewed first")

    def test_expired_token_renewed_once_and_call_retried(self):
        client = self.client()
        first = client.login()
        self.simulator.expire_tokens()
        data = client.show_participant({"number": "P0001"}, fields=["number"])
        self.assertEqual(data["number"], "P0001")
        self.assertNotEqual(client.token_store.load().value, first)
        shows = [r for r in self.records if r.method == "rewards_participants/show"]
        self.assertEqual([r.outcome for r in shows], ["authentication_error", "ok"])

    def test_rejected_token_twice_gives_up(self):
        client = self.client()
        self.simulator.faults.add("expired_token", method="rewards_participants/show", times=2)
        with self.assertRaises(AuthenticationError) as caught:
            client.show_participant({"number": "P0001"})
        self.assertEqual(caught.exception.code, "INVALID_TOKEN")
        self.assertEqual(len(self.logins()), 2, "exactly one renewal")

    def test_release_token_invalidates_it(self):
        client = self.client()
        token = client.login()
        client.release_token()
        self.assertIsNone(client.token_store.load())
        other = self.client(token_store=MemoryTokenStore())
        with self.assertRaises(AuthenticationError):
            # Sent raw, bypassing renewal: CRM.COM must refuse the released token.
            other._post(
                "rewards_participants/show",
                {"token": token, "rewards_participant_identifier": {"number": "P0001"}},
            )

    # ------------------------------------------------------------------ methods

    def test_show_participant_by_each_identification_mean(self):
        client = self.client()
        for code in ("4000123412341234", "+35799123456", "john.doe@example.com"):
            data = client.show_participant(
                {"access_token_identifier": {"authentication_code": code}},
                fields=["number", "accounts_receivable", "wallet"],
            )
            self.assertEqual(data["number"], "P0001")
            self.assertEqual(data["accounts_receivable"]["account_owner"]["name"], "John Doe")
            self.assertEqual(data["wallet"]["balance"], Decimal("25.00"))
            self.assertEqual(set(data), {"number", "accounts_receivable", "wallet"})
        by_number = client.show_participant({"number": "P0002"})
        self.assertEqual(by_number["wallet"]["balance"], Decimal("120.50"))
        self.assertIn("life_cycle_state", by_number, "no fields_set: every field comes back")

    def test_unknown_participant_is_not_found(self):
        with self.assertRaises(NotFoundError) as caught:
            self.client().show_participant(
                {"access_token_identifier": {"authentication_code": "0000"}}
            )
        self.assertEqual(caught.exception.code, "NOT_FOUND")
        self.assertFalse(caught.exception.outcome_unknown)

    def test_identifier_needs_exactly_one_key(self):
        self.assertEqual(identifier(number="P1", id=None), {"number": "P1"})
        with self.assertRaises(ValueError):
            identifier(number=None, id=None)
        with self.assertRaises(ValueError):
            identifier(number="P1", id="X")

    def test_the_simulator_enforces_exactly_one_too(self):
        with self.assertRaises(BusinessRuleError) as caught:
            self.client().show_participant({"number": "P0001", "id": "x"})
        self.assertEqual(caught.exception.code, "INVALID_REQUEST")

    def test_show_wallet(self):
        data = self.client().show_wallet(
            account_identifier={"number": "AR0002"}, fields=["number", "balance"]
        )
        self.assertEqual(data, {"number": "W0002", "balance": Decimal("120.50")})
        with self.assertRaises(ValueError):
            self.client().show_wallet()

    def test_preview_purchase(self):
        data = self.client().preview_purchase(
            JOHN, unit=UNIT, performed_on=datetime(2026, 11, 27, 10), lines=[LINE]
        )
        self.assertEqual(data["total_award_amount"], Decimal("2.00"))  # 5 % of 40.00
        self.assertEqual(data["total_additional_spend_amount"], Decimal("25.00"))
        self.assertEqual(data["wallet_balance"], Decimal("25.00"))
        self.assertEqual(data["reduction_method"], "FRONT_END_REDUCTION")
        self.assertEqual(self.purchases_in_simulator(), [], "a preview creates nothing")

    def test_purchase_awards_and_spend_discounts_what_was_spent(self):
        client = self.client()
        purchase = self.purchase(client)
        self.assertEqual(purchase["total_awarded_amount"], Decimal("2.00"))
        self.assertTrue(purchase["number"])
        # John has 25.00 + 2.00 awarded; he asks for 40: CRM.COM spends what it allows.
        spend = client.create_spend_request(
            {"number": purchase["number"]},
            unit=UNIT,
            performed_on=datetime(2026, 11, 27, 10),
            amount="40",
            customer=JOHN,
            external_system="ODOO_POS",
        )
        self.assertEqual(spend["spend_amount"], Decimal("27.00"))
        wallet = client.show_wallet(account_identifier={"number": "AR0001"})
        self.assertEqual(wallet["balance"], Decimal("0.00"))
        client.cancel_spend_request({"number": spend["number"]})
        cancelled = client.cancel_purchase({"number": purchase["number"]})
        self.assertEqual(cancelled["life_cycle_state"], "CANCELLED")
        wallet = client.show_wallet(account_identifier={"number": "AR0001"})
        self.assertEqual(wallet["balance"], Decimal("25.00"), "cancellations restore the wallet")

    def test_business_rule_error_carries_crmcom_code_and_message(self):
        client = self.client()
        self.purchase(client, reference="Shop/0002")
        with self.assertRaises(BusinessRuleError) as caught:
            self.purchase(client, reference="Shop/0002")
        self.assertEqual(caught.exception.code, "DUPLICATE_REFERENCE_NUMBER")
        self.assertTrue(caught.exception.message)
        self.assertIn("DUPLICATE_REFERENCE_NUMBER", str(caught.exception))

    def test_list_purchases_pages_through_everything(self):
        client = self.client()
        for index in range(5):
            self.purchase(client, reference=f"Shop/{index:04d}")
        page = client.list_purchases(JOHN, limit=2, offset=2, fields=["reference_number"])
        self.assertEqual(
            page, [{"reference_number": "Shop/0002"}, {"reference_number": "Shop/0003"}]
        )
        every = list(client.iter_purchases(JOHN, page_size=2, fields=["reference_number"]))
        self.assertEqual(
            [p["reference_number"] for p in every], [f"Shop/{index:04d}" for index in range(5)]
        )

    def test_list_spend_requests_pages_through_everything(self):
        client = self.client()
        purchase = self.purchase(client)
        for index in range(3):
            client.create_spend_request(
                {"number": purchase["number"]},
                unit=UNIT,
                performed_on=datetime(2026, 11, 27, 10),
                amount=1,
                external_system_reference_number=f"Shop/0001/S{index}",
            )
        every = list(
            client.iter_spend_requests(
                JOHN,
                page_size=2,
                submitted_after=datetime(2020, 1, 1),
                fields=["external_system_reference_number", "spend_amount"],
            )
        )
        self.assertEqual(
            every,
            [
                {"external_system_reference_number": f"Shop/0001/S{index}", "spend_amount": 1}
                for index in range(3)
            ],
        )
        request = self.records[-1].request
        self.assertEqual(request["submitted_after_date"], "2020-01-01T00:00:00")
        self.assertEqual((request["number_of_results"], request["offset"]), (2, 2))

    def test_synchronise_products_at_most_1000(self):
        client = self.client()
        products = [{"code": f"SKU-{n}", "description": f"Product {n}"} for n in range(1000)]
        data = client.synchronise_products({"name": "ODOO POS SYNC"}, products)
        self.assertEqual(len(data["processed_products_set"]), 1000)
        self.assertEqual(data["unprocessed_products_set"], [])
        with self.assertRaises(ValueError):
            client.synchronise_products({"name": "ODOO POS SYNC"}, [*products, {"code": "X"}])
        with self.assertRaises(BusinessRuleError) as caught:  # the simulator refuses it too
            client.call(
                "products/synchronise",
                {
                    "synchronisation_definition_identifier": {"name": "ODOO POS SYNC"},
                    "products_set": [*products, {"code": "X"}],
                },
            )
        self.assertEqual(caught.exception.code, "INVALID_REQUEST")

    # ------------------------------------------------------------------ faults

    def test_read_retried_after_http_500(self):
        self.simulator.faults.add("http_500", method="rewards_participants/show", times=1)
        data = self.client().show_participant({"number": "P0001"}, fields=["number"])
        self.assertEqual(data, {"number": "P0001"})

    def test_create_not_resent_after_http_500(self):
        client = self.client()
        client.login()
        self.simulator.faults.add("http_500", method="customer_events/purchases/create", times=1)
        with self.assertRaises(TransportError) as caught:
            self.purchase(client)
        self.assertTrue(caught.exception.outcome_unknown)
        self.assertEqual(caught.exception.http_status, 500)
        # A resend would have succeeded and created a purchase.
        self.assertEqual(self.purchases_in_simulator(), [])

    def test_read_retried_after_timeout(self):
        self.simulator.faults.add(
            "latency", method="rewards_participants/show", times=1, seconds=1.5
        )
        client = self.client(timeout=0.5)
        client.login()
        data = client.show_participant({"number": "P0001"}, fields=["number"])
        self.assertEqual(data, {"number": "P0001"})

    def test_create_timeout_is_an_unknown_outcome_and_not_resent(self):
        client = self.client(timeout=0.5)
        client.login()
        self.simulator.faults.add(
            "timeout_after", method="customer_events/purchases/create", times=1, seconds=1.5
        )
        with self.assertRaises(CallTimeoutError) as caught:
            self.purchase(client)
        self.assertTrue(caught.exception.outcome_unknown)
        self.assertEqual(len(self.purchases_in_simulator()), 1, "processed once, sent once")

    def test_a_deadline_bounds_a_call_across_its_retries_and_logins(self):
        client = self.client(timeout=0.5)
        client.login()
        # Without a deadline the read is tried three times, 0.5 s each. Within 0.5 s, the
        # second attempt would start with too little time; within 0.8 s, it has the 0.3 s
        # left, and a third never starts.
        for deadline, attempts in ((0.5, 1), (0.8, 2)):
            self.reset_simulator()
            self.simulator.faults.add(
                "latency", method="rewards_participants/show", times=None, seconds=1.5
            )
            with client.deadline(deadline), self.assertRaises(CallTimeoutError) as caught:
                client.show_participant({"number": "P0001"})
            self.assertFalse(caught.exception.outcome_unknown, "a read")
            received = self.simulator_state()["received"]["rewards_participants/show"]
            self.assertEqual(received, attempts, deadline)

    def test_a_spent_deadline_sends_nothing(self):
        client = self.client()
        client.login()
        with client.deadline(0.8):
            self.simulator.faults.add(
                "latency", method="rewards_participants/show", times=1, seconds=1.0
            )
            with self.assertRaises(CallTimeoutError):
                client.show_participant({"number": "P0001"})
            with self.assertRaises(CallTimeoutError) as caught:
                self.purchase(client)
        self.assertFalse(caught.exception.outcome_unknown, "never sent: certainly not processed")
        self.assertNotIn("customer_events/purchases/create", self.simulator_state()["received"])
        self.assertEqual(self.purchases_in_simulator(), [])
        self.assertTrue(self.purchase(client)["id"], "the deadline ends with its block")

    def test_a_creating_call_is_not_sent_without_time_for_it(self):
        client = self.client(timeout=4.0)
        client.login()
        with client.deadline(1.5), self.assertRaises(CallTimeoutError) as caught:
            self.purchase(client)  # half its timeout (2 s) is not left
        self.assertFalse(caught.exception.outcome_unknown, "not sent: nothing happened")
        self.assertNotIn("customer_events/purchases/create", self.simulator_state()["received"])
        with client.deadline(2.5):
            self.assertTrue(self.purchase(client)["id"], "with the time for it, it is sent")

    def test_a_redirect_is_not_followed(self):
        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.send_response(307)
                self.send_header("Location", elsewhere.url + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        elsewhere = self.simulator
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        client = CrmComClient(f"http://127.0.0.1:{server.server_port}", api_key=API_KEY)
        self.addCleanup(client.close)
        with self.assertRaises(BadReplyError):
            client.login()
        self.assertEqual(elsewhere.snapshot()["received"], {}, "the key went nowhere else")

    def test_dates_are_sent_as_local_times_of_the_organisation(self):
        nicosia = self.client(time_zone="Asia/Nicosia")
        utc = self.client()
        winter, summer = datetime(2026, 1, 15, 10, 0, 30, 999), datetime(2026, 7, 15, 10, 0)
        self.assertEqual(utc.format_date(winter), "2026-01-15T10:00:30")
        self.assertEqual(nicosia.format_date(winter), "2026-01-15T12:00:30")
        self.assertEqual(nicosia.format_date(summer), "2026-07-15T13:00:00", "summer time")
        self.assertEqual(nicosia.parse_date("2026-07-15T13:00:00"), summer)
        self.assertEqual(nicosia.parse_date("2026-07-15T10:00:00Z"), summer, "an offset wins")
        self.assertIsNone(nicosia.parse_date("not a date"))
        nicosia.create_purchase(
            JOHN, unit=UNIT, performed_on=summer, reference_number="TZ/1", lines=[LINE]
        )
        (sent,) = self.purchases_in_simulator()
        self.assertEqual(sent["performed_on"], "2026-07-15T13:00:00")

    def test_the_base_url_is_normalised(self):
        client = self.client()
        port = self.simulator.url.rsplit(":", 1)[1]
        shouted = CrmComClient(f" HTTP://127.0.0.1:{port}/ ", api_key=API_KEY)
        self.addCleanup(shouted.close)
        self.assertEqual(shouted.base_url, client.base_url)
        self.assertTrue(shouted.show_participant({"number": "P0001"})["number"])

    def test_release_token_needs_only_the_token(self):
        client = self.client()
        token = client.login()
        release_token(self.simulator.url, token, on_call=self.records.append)
        self.assertEqual(self.records[-1].method, "authentication/token/release")
        self.assertEqual(self.records[-1].request, {"token": "***"})
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 0)

    def test_dropped_connection(self):
        client = self.client()
        client.login()
        self.simulator.faults.add("drop", method="rewards_participants/show", times=1)
        self.assertEqual(
            client.show_participant({"number": "P0001"}, fields=["number"]),
            {"number": "P0001"},
            "a read is retried",
        )
        self.simulator.faults.add("drop_after", method="customer_events/purchases/create", times=1)
        with self.assertRaises(TransportError) as caught:
            self.purchase(client)
        self.assertTrue(caught.exception.outcome_unknown)
        self.assertEqual(len(self.purchases_in_simulator()), 1)

    def test_unreachable_server_is_a_known_outcome(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = CrmComClient(
            f"http://127.0.0.1:{port}",
            api_key=API_KEY,
            backoff_factor=0,
            token_store=MemoryTokenStore(),
        )
        self.addCleanup(client.close)
        with self.assertRaises(TransportError) as caught:
            client.create_purchase(
                JOHN,
                unit=UNIT,
                performed_on="2026-11-27T10:00:00",
                reference_number="R",
                lines=[LINE],
            )
        self.assertFalse(caught.exception.outcome_unknown, "nothing reached CRM.COM")

    def test_malformed_reply(self):
        client = self.client()
        client.login()
        self.simulator.faults.add(
            "malformed_json", method="customer_events/purchases/create", times=1
        )
        with self.assertRaises(BadReplyError) as caught:
            self.purchase(client)
        self.assertTrue(caught.exception.outcome_unknown)

    # ------------------------------------------------------------------ logging and parsing

    def test_logging_hook_masks_every_secret(self):
        client = self.client(api_key=API_KEY)
        token = client.login()
        with self.assertRaises(NotFoundError):
            client.show_participant(
                {"access_token_identifier": {"identifier": "CARD-1", "pass_code": "PASS-9876"}}
            )
        client.show_participant({"number": "P0001"})
        dump = json.dumps([vars(r) for r in self.records], default=str)
        self.assertNotIn(token, dump)
        self.assertNotIn(API_KEY, dump)
        self.assertNotIn("PASS-9876", dump)
        show = self.records[-1]
        self.assertEqual(show.request["token"], "***")
        self.assertEqual(show.status_code, "OK")
        self.assertGreater(show.duration, 0)
        password_client = CrmComClient(
            self.simulator.url,
            username="posuser",
            password="secret",
            organisation="CRMDEMO",
            on_call=self.records.append,
        )
        self.addCleanup(password_client.close)
        password_client.login()
        self.assertEqual(self.records[-1].request["password"], "***")
        self.assertNotIn("secret", json.dumps(self.records[-1].request))
        self.assertNotIn(password_client.token_store.load().value, self.records[-1].response)

    def test_the_log_keeps_customers_identifiers_masked(self):
        client = self.client(api_key=API_KEY)
        for code in ("4000123412341234", "+35799123456", "john.doe@example.com"):
            client.show_participant({"access_token_identifier": {"authentication_code": code}})
        with self.assertRaises(NotFoundError):
            client.show_participant(
                {"access_token_identifier": {"authentication_code": "4000999999999999"}}
            )
        logged = [
            record.request["rewards_participant_identifier"]["access_token_identifier"][
                "authentication_code"
            ]
            for record in self.records
            if record.method == "rewards_participants/show"
        ]
        self.assertEqual(logged, ["***1234", "***3456", "j***@example.com", "***9999"])
        dump = json.dumps([vars(r) for r in self.records], default=str)
        for code in ("4000123412341234", "35799123456", "john.doe", "4000999999999999"):
            self.assertNotIn(code, dump, "not in the request, CRM.COM's words nor its reply")
        self.assertEqual(mask_identifier("1234"), "***", "too short to show any of it")

    def test_request_view_shortens_the_logged_request_then_secrets_are_masked(self):
        def first_product(body):
            return {**body, "products_set": body.get("products_set", [])[:1]}

        client = self.client(request_view=first_product)
        products = [{"code": f"SKU-{n}", "pass_code": f"SECRET-{n}"} for n in range(3)]
        data = client.synchronise_products({"name": "ODOO POS SYNC"}, products)
        self.assertEqual(len(data["unprocessed_products_set"]), 3, "sent whole")
        logged = self.records[-1].request
        self.assertEqual(logged["products_set"], [{"code": "SKU-0", "pass_code": "***"}])
        self.assertEqual(logged["token"], "***")

    def test_mask_secrets_is_recursive(self):
        masked = mask_secrets({"token": "t", "a": [{"pass_code": "1", "x": "y"}], "password": ""})
        self.assertEqual(
            masked, {"token": "***", "a": [{"pass_code": "***", "x": "y"}], "password": ""}
        )

    def test_broken_hook_does_not_break_the_call(self):
        def broken(record):
            raise RuntimeError("log database down")

        with self.assertLogs("odoo.addons.pos_crmcom_rewards.crmcom.client", "ERROR"):
            data = self.client(on_call=broken).show_participant(
                {"number": "P0001"}, fields=["number"]
            )
        self.assertEqual(data, {"number": "P0001"})

    def test_amounts_parse_from_numbers_and_strings(self):
        self.assertEqual(parse_amount("10.00"), Decimal("10.00"))
        self.assertEqual(parse_amount(8.5), Decimal("8.5"))
        self.assertEqual(parse_amount(3), Decimal("3"))
        for bad in ("ten", "NaN", "Infinity", True, "1,50"):
            with self.assertRaises(ValueError, msg=bad):
                parse_amount(bad)
        data = normalise_amounts(
            {
                "wallet": {"balance": "10.00"},
                "spend_amount": 1,
                "number": "10",
                "items": [{"total_amount": "2.5"}],
            }
        )
        self.assertEqual(
            data,
            {
                "wallet": {"balance": Decimal("10.00")},
                "spend_amount": Decimal("1"),
                "number": "10",
                "items": [{"total_amount": Decimal("2.5")}],
            },
        )

    def test_bad_settings_are_refused(self):
        with self.assertRaises(ValueError):
            CrmComClient("ftp://crm.example.com", api_key="K")
        with self.assertRaises(ValueError):
            CrmComClient("https://crm.example.com", username="u")
        with self.assertRaises(ValueError):
            CrmComClient("https://crm.example.com", api_key="K", timeout=0)


class TestParticipantReading(PlainCase):
    """``spend_blocking_state`` is an object of undocumented fields: each plausible shape is
    read, and what cannot be read is "not said", never "not blocked"."""

    def test_every_plausible_shape_of_the_blocking_state(self):
        cases = [
            ({"state": "BLOCKED", "blocked": True}, True),  # the simulator's
            ({"state": "UNBLOCKED", "blocked": False}, False),
            ({"blocked": True}, True),
            ({"is_blocked": False}, False),
            ({"state": "blocked"}, True),
            ({"life_cycle_state": "Not blocked"}, False),
            ({"status": "SPEND_BLOCKED"}, True),
            (True, True),
            ("UNBLOCKED", False),
            ("", False),
            ({"state": "SOMETHING_NEW"}, None),
            ({}, None),
            (None, None),
            (42, None),
        ]
        for value, expected in cases:
            with self.subTest(value=value):
                self.assertIs(spend_blocked({"spend_blocking_state": value}), expected)
        self.assertIsNone(spend_blocked({}))
        self.assertIsNone(spend_blocked(None))

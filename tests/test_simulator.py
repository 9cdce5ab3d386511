"""Contract tests of the CRM.COM simulator, over real HTTP (no database needed).

Long, as the simulator's API is: the tests follow simulator/methods.py method by method."""

import base64
import json
import re
import socket
import threading
import time
from decimal import Decimal

import requests

from ..simulator.server import SimulatorServer
from .common import PlainCase

API = "/crmapi/rest/v2/"
KEY = "SIM-SYSTEM-KEY"
JOHN_CARD = "4000123412341234"
NOW = "2024-05-01T10:15:00"
RP = "rewards_participant_identifier"
AR = "accounts_receivable_identifier"
D = Decimal


def line(total, vat="0.00", code="SKU-1", **extra):
    total, vat = D(total), D(vat)
    return {
        "product_identifier": {"code": code},
        "quantity": 1,
        "net_amount": float(total - vat),
        "vat_amount": float(vat),
        "total_amount": float(total),
        **extra,
    }


class SimulatorCase(PlainCase):
    """One simulator for the class, wiped and reseeded before every test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = SimulatorServer(host="127.0.0.1", port=0, seed=True)
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)

    def setUp(self):
        super().setUp()
        self.sim.reset(seed=True)
        self.http = requests.Session()
        self.http.trust_env = False  # never send 127.0.0.1 through a configured proxy
        self.addCleanup(self.http.close)
        self.token = self.login()

    # -- HTTP helpers ---------------------------------------------------------------------------

    def post(self, method, body=None, *, token=True, timeout=5, **kwargs):
        if body is not None and token:
            body = {"token": self.token, **body}
        return self.http.post(f"{self.sim.url}{API}{method}", json=body, timeout=timeout, **kwargs)

    @staticmethod
    def envelope(response):
        return json.loads(response.text, parse_float=Decimal)

    def ok(self, method, body=None, **kwargs):
        response = self.post(method, {} if body is None else body, **kwargs)
        payload = self.envelope(response)
        self.assertEqual(response.status_code, 200, payload)
        self.assertEqual(payload["status"]["code"], "OK", payload)
        return payload["data"]

    def error(self, method, body, code, **kwargs):
        response = self.post(method, body, **kwargs)
        payload = self.envelope(response)
        self.assertEqual(payload["status"]["code"], code, payload)
        self.assertIsNone(payload["data"])
        self.assertTrue(payload["status"]["message"])
        return response

    def login(self, key=KEY, password="", body=None):
        response = self.http.post(
            f"{self.sim.url}{API}authentication/web_api_key/token",
            json=body,
            auth=(key, password),
            timeout=5,
        )
        payload = self.envelope(response)
        return payload["data"]["token"] if payload["status"]["code"] == "OK" else payload

    # -- domain helpers -------------------------------------------------------------------------

    def balance(self, number="P0001"):
        participant = self.sim.state.participant_by("number", number)
        return self.sim.state.wallet_of(participant).balance

    def purchase_body(self, reference="POS/0001", lines=None, participant="P0001", **extra):
        return {
            "rewards_participant_identifier": {"number": participant},
            "performed_by_unit_identifier": {"alternative_code": "STORE01"},
            "performed_on": NOW,
            "reference_number": reference,
            "products_set": lines if lines is not None else [line("20.00", "3.05")],
            **extra,
        }

    def create_purchase(self, reference="POS/0001", total="20.00", participant="P0001", **extra):
        body = self.purchase_body(reference, [line(total)], participant, **extra)
        return self.ok("customer_events/purchases/create", body)

    def spend_body(self, purchase_number, amount=None, **extra):
        body = {
            "performed_by_unit_identifier": {"id": "UNIT-STORE01"},
            "performed_on": NOW,
            "purchase_customer_request_identifier": {"number": purchase_number},
            **extra,
        }
        if amount is not None:
            body["spend_amount"] = float(amount)
        return body

    def spend(self, purchase_number, amount=None, **extra):
        body = self.spend_body(purchase_number, amount, **extra)
        return self.ok("customer_events/spend_requests/create", body)

    def list_pages(self, method, fields_set, offsets, participant="P0001", size=2):
        """Pages of a list method for one participant's events, ``size`` per page."""
        return [
            self.ok(
                method,
                {
                    RP: {"number": participant},
                    "number_of_results": size,
                    "offset": offset,
                    "fields_set": fields_set,
                },
            )
            for offset in offsets
        ]

    def control(self, verb, name, body=None):
        response = self.http.request(
            verb, f"{self.sim.url}/_simulator/{name}", json=body, timeout=5
        )
        return response.status_code, json.loads(response.text, parse_float=Decimal)


class TestAuthentication(SimulatorCase):
    def test_web_api_key_token_is_a_long_unique_jwt(self):
        other = self.login()
        self.assertGreater(len(self.token), 32)
        self.assertEqual(self.token.count("."), 2)
        self.assertNotEqual(self.token, other)
        self.assertEqual(self.sim.state.tokens[self.token].unit_id, "UNIT-STORE01")

    def test_web_api_key_token_for_a_unit(self):
        token = self.login(body={"unit": "UNIT-STORE02"})
        self.assertEqual(self.sim.state.tokens[token].unit_id, "UNIT-STORE02")

    def test_web_api_key_failures(self):
        self.assertEqual(self.login(key="WRONG")["status"]["code"], "AUTHENTICATION_FAILED")
        self.assertEqual(self.login(password="x")["status"]["code"], "AUTHENTICATION_FAILED")
        unknown_unit = self.login(body={"unit": "UNIT-NOPE"})
        self.assertEqual(unknown_unit["status"]["code"], "AUTHENTICATION_FAILED")
        self.assertEqual(self.login(body={"unit_id": "x"})["status"]["code"], "INVALID_REQUEST")
        no_header = self.http.post(
            f"{self.sim.url}{API}authentication/web_api_key/token", timeout=5
        )
        self.assertEqual(self.envelope(no_header)["status"]["code"], "AUTHENTICATION_FAILED")
        not_basic = self.http.post(
            f"{self.sim.url}{API}authentication/web_api_key/token",
            headers={"Authorization": "Bearer " + base64.b64encode(b"SIM-SYSTEM-KEY:").decode()},
            timeout=5,
        )
        self.assertEqual(self.envelope(not_basic)["status"]["code"], "AUTHENTICATION_FAILED")
        self.assertEqual(len(self.sim.state.tokens), 1)  # only the one from setUp

    def test_user_login(self):
        body = {"username": "posuser", "password": "secret", "organisation": "CRMDEMO"}
        data = self.ok("authentication/token", body, token=False)
        self.assertGreater(len(data["token"]), 32)
        self.ok("wallets/show", {"token": data["token"], RP: {"number": "P0001"}}, token=False)
        with_unit = self.ok("authentication/token", {**body, "unit": "UNIT-STORE02"}, token=False)
        self.assertEqual(self.sim.state.tokens[with_unit["token"]].unit_id, "UNIT-STORE02")

    def test_user_login_failures(self):
        good = {"username": "posuser", "password": "secret", "organisation": "CRMDEMO"}
        for change in (
            {"password": "wrong"},
            {"username": "nobody"},
            {"organisation": "OTHER"},
            {"unit": "UNIT-NOPE"},
        ):
            with self.subTest(change=change):
                self.error(
                    "authentication/token", {**good, **change}, "AUTHENTICATION_FAILED", token=False
                )
        for missing in good:
            with self.subTest(missing=missing):
                body = {k: val for k, val in good.items() if k != missing}
                self.error("authentication/token", body, "INVALID_REQUEST", token=False)
        self.error("authentication/token", {**good, "token": "x"}, "INVALID_REQUEST", token=False)

    def test_missing_and_unknown_token(self):
        body = {RP: {"number": "P0001"}}
        self.error("rewards_participants/show", body, "INVALID_TOKEN", token=False)
        self.error(
            "rewards_participants/show", {**body, "token": "nope"}, "INVALID_TOKEN", token=False
        )

    def test_release(self):
        self.assertIsNone(self.ok("authentication/token/release"))
        self.error("rewards_participants/show", {RP: {"number": "P0001"}}, "INVALID_TOKEN")
        self.error("authentication/token/release", {}, "INVALID_TOKEN")

    def test_token_expires_two_hours_after_issue_regardless_of_use(self):
        body = {RP: {"number": "P0001"}}
        token = self.sim.state.tokens[self.token]
        token.issued_at -= 7199
        self.ok("rewards_participants/show", body)
        token.issued_at -= 1
        response = self.error("rewards_participants/show", body, "INVALID_TOKEN")
        self.assertIn("expired", self.envelope(response)["status"]["description"])

    def test_configured_token_lifetime(self):
        self.sim.config.token_lifetime = 1
        self.token = self.login()
        self.ok("wallets/show", {RP: {"number": "P0001"}})
        time.sleep(1.1)
        self.error("wallets/show", {RP: {"number": "P0001"}}, "INVALID_TOKEN")

    def test_expire_tokens(self):
        self.sim.expire_tokens()
        self.error("wallets/show", {RP: {"number": "P0001"}}, "INVALID_TOKEN")
        self.token = self.login()
        self.ok("wallets/show", {RP: {"number": "P0001"}})

    def test_error_http_status_is_configurable(self):
        self.assertEqual(self.error("wallets/show", {}, "INVALID_REQUEST").status_code, 200)
        self.sim.config.error_http_status = 400
        self.assertEqual(self.error("wallets/show", {}, "INVALID_REQUEST").status_code, 400)
        self.assertEqual(self.post("wallets/show", {RP: {"number": "P0001"}}).status_code, 200)

    def test_unknown_method_and_wrong_verb(self):
        response = self.error("rewards_participants/delete", {}, "METHOD_NOT_FOUND")
        self.assertEqual(response.status_code, 404)
        response = self.http.get(f"{self.sim.url}{API}wallets/show", timeout=5)
        self.assertEqual(response.status_code, 405)
        self.assertEqual(self.envelope(response)["status"]["code"], "METHOD_NOT_FOUND")

    def test_body_must_be_a_json_object(self):
        url = f"{self.sim.url}{API}wallets/show"
        for raw in (b"", b"{not json", b"[1, 2]", b'{"token": NaN}'):
            with self.subTest(raw=raw):
                response = self.http.post(url, data=raw, timeout=5)
                self.assertEqual(self.envelope(response)["status"]["code"], "INVALID_REQUEST")


class TestValidation(SimulatorCase):
    def test_identifier_needs_exactly_one_key(self):
        show = "rewards_participants/show"
        for ident in (
            {},
            {"number": None},
            {"number": "P0001", "id": self.sim.state.participant_by("number", "P0001").id},
            {"code": "P0001"},
            {"number": "P0001", "code": "x"},
            {"number": ""},
            {"number": 1},
            {"access_token_identifier": {}},
            {
                "access_token_identifier": {
                    "authentication_code": JOHN_CARD,
                    "identifier": "x",
                    "pass_code": "1234",
                }
            },
            {"access_token_identifier": {"identifier": JOHN_CARD}},
            {"access_token_identifier": {"authentication_code": JOHN_CARD, "pass_code": "1"}},
            {"access_token_identifier": {"card": JOHN_CARD}},
            "P0001",
        ):
            with self.subTest(ident=ident):
                self.error(show, {RP: ident}, "INVALID_REQUEST")
        self.error(show, {}, "INVALID_REQUEST")
        self.assertEqual(self.ok(show, {RP: {"number": "P0001", "id": None}})["number"], "P0001")

    def test_unit_identifier_needs_exactly_one_key(self):
        body = self.purchase_body()
        body["performed_by_unit_identifier"] = {"id": "UNIT-STORE01", "alternative_code": "STORE01"}
        self.error("customer_events/purchases/preview", body, "INVALID_REQUEST")
        body["performed_by_unit_identifier"] = {}
        self.error("customer_events/purchases/create", body, "INVALID_REQUEST")

    def test_customer_identifiers_exactly_one_of_the_two(self):
        both = self.purchase_body(**{AR: {"number": "AR0001"}})
        self.error("customer_events/purchases/create", both, "INVALID_REQUEST")
        neither = self.purchase_body()
        del neither[RP]
        self.error("customer_events/purchases/create", neither, "INVALID_REQUEST")
        self.error(
            "wallets/show", {RP: {"number": "P0001"}, AR: {"number": "AR0001"}}, "INVALID_REQUEST"
        )
        self.assertEqual(len(self.sim.state.purchases), 0)

    def test_unknown_parameters(self):
        self.error(
            "rewards_participants/show", {RP: {"number": "P0001"}, "foo": 1}, "INVALID_REQUEST"
        )
        # R17+ parameters are not part of the simulated (pre-R17) API.
        body = self.purchase_body(performed_by_tap_identifier={"id": "x"})
        self.error("customer_events/purchases/create", body, "INVALID_REQUEST")
        self.error(
            "customer_events/purchases/create",
            self.purchase_body(udf_string_17="x"),
            "INVALID_REQUEST",
        )
        self.error(
            "customer_events/purchases/create",
            self.purchase_body(udf_float_1="abc"),
            "INVALID_REQUEST",
        )
        self.error(
            "customer_events/purchases/create",
            self.purchase_body(udf_date_1="2024-05-01"),
            "INVALID_REQUEST",
        )
        bad_line = self.purchase_body(lines=[line("10.00", discount=1)])
        self.error("customer_events/purchases/create", bad_line, "INVALID_REQUEST")
        self.assertEqual(len(self.sim.state.purchases), 0)

    def test_documented_optional_parameters_and_udfs_are_accepted(self):
        body = self.purchase_body(
            description="Sale",
            external_system="ODOO_POS",
            external_system_reference_number="POS/0001",
            classification_identifier={"name": "POS"},
            payment_medium_identifier="4000",
            payment_medium_brand_identifier={"name": "VISA"},
            payment_medium_type_identifier={"name": "CARD"},
            promo_code="PROMO",
            intended_currency_identifier={"code": "EUR"},
            invoice_identifier={"number": "INV1"},
            process_immediately=True,
            udf_string_1="till 3",
            udf_float_2=1.5,
            udf_date_1=NOW,
            fields_set="number,udf_string_1,external_system",
        )
        data = self.ok("customer_events/purchases/create", body)
        self.assertEqual(
            data, {"number": "PCE0000001", "udf_string_1": "till 3", "external_system": "ODOO_POS"}
        )

    def test_missing_mandatory_fields(self):
        for missing in (
            "reference_number",
            "performed_on",
            "performed_by_unit_identifier",
            "products_set",
        ):
            with self.subTest(missing=missing):
                body = self.purchase_body()
                del body[missing]
                self.error("customer_events/purchases/create", body, "INVALID_REQUEST")
        for missing in ("performed_on", "net_amount", "vat_amount", "total_amount"):
            with self.subTest(missing=missing):
                body = self.purchase_body()
                target = body if missing == "performed_on" else body["products_set"][0]
                del target[missing]
                self.error("customer_events/purchases/preview", body, "INVALID_REQUEST")
        self.assertEqual(len(self.sim.state.purchases), 0)

    def test_dates_amounts_and_types(self):
        create = "customer_events/purchases/create"
        for change in (
            {"performed_on": "2024-05-01 10:15:00"},
            {"performed_on": "2024-05-01T10:15:00Z"},
            {"performed_on": "2024-13-01T10:15:00"},
            {"performed_on": 1714558500},
            {"products_set": []},
            {"products_set": {"total_amount": 1}},
            {"products_set": [line("-5.00")]},
            {"products_set": [{**line("5.00"), "total_amount": "five"}]},
            {"products_set": [{**line("5.00"), "total_amount": True}]},
            {"products_set": [{**line("5.00"), "total_amount": 5.02}]},
            {"products_set": [{**line("5.00"), "quantity": 0}]},
            {"reference_number": 12},
            {"fields_set": ["number"]},
            {"process_immediately": "yes"},
        ):
            with self.subTest(change=change):
                self.error(create, self.purchase_body(**change), "INVALID_REQUEST")
        self.assertEqual(len(self.sim.state.purchases), 0)
        # Within the 0.01 tolerance, and amounts as numeric strings, are fine.
        lenient = {**line("5.00"), "total_amount": "5.01", "net_amount": "5.00"}
        self.ok(create, self.purchase_body(lines=[lenient]))


class TestCustomers(SimulatorCase):
    def show(self, ident, **extra):
        return self.ok("rewards_participants/show", {RP: ident, **extra})

    def test_show_by_every_identification_mean(self):
        participant_id = self.sim.state.participant_by("number", "P0001").id
        for ident in (
            {"number": "P0001"},
            {"id": participant_id},
            {"access_token_identifier": {"authentication_code": JOHN_CARD}},
            {"access_token_identifier": {"authentication_code": "+35799123456"}},
            {"access_token_identifier": {"authentication_code": "john.doe@example.com"}},
            {"access_token_identifier": {"identifier": JOHN_CARD, "pass_code": "1234"}},
        ):
            with self.subTest(ident=ident):
                data = self.show(ident)
                self.assertEqual(data["number"], "P0001")
                self.assertEqual(data["id"], participant_id)

    def test_show_shape(self):
        response = self.post("rewards_participants/show", {RP: {"number": "P0001"}})
        self.assertIn('"balance": 25.00', response.text)
        data = self.envelope(response)["data"]
        self.assertEqual(data["life_cycle_state"], "EFFECTIVE")
        self.assertRegex(data["sign_up_on"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        ar = data["accounts_receivable"]
        self.assertEqual(
            (ar["number"], ar["name"], ar["life_cycle_state"]), ("AR0001", "John Doe", "ACTIVE")
        )
        self.assertTrue(ar["id"])
        self.assertEqual(
            ar["account_owner"],
            {
                "name": "John Doe",
                "first_name": "John",
                "last_name": "Doe",
                "title": "Mr",
                "type": "PERSON",
            },
        )
        wallet = data["wallet"]
        self.assertEqual((wallet["number"], wallet["balance"]), ("W0001", D("25.00")))
        self.assertEqual(wallet["currency"]["code"], "EUR")
        self.assertEqual(data["currency"]["code"], "EUR")
        self.assertEqual(data["spend_blocking_state"], {"state": "UNBLOCKED", "blocked": False})
        self.assertEqual(data["sign_up_by_unit"]["alternative_code"], "STORE01")
        maria = self.show({"access_token_identifier": {"authentication_code": "maria@example.com"}})
        self.assertEqual(maria["wallet"]["balance"], D("120.50"))
        self.assertEqual(
            maria["accounts_receivable"]["account_owner"]["name"], "Maria Papadopoulou"
        )

    def test_fields_set(self):
        data = self.show({"number": "P0001"}, fields_set="accounts_receivable,wallet")
        self.assertEqual(set(data), {"accounts_receivable", "wallet"})
        self.assertEqual(
            self.show({"number": "P0001"}, fields_set=" number , nope ")["number"], "P0001"
        )
        self.assertEqual(set(self.show({"number": "P0001"}, fields_set="number")), {"number"})

    def test_terminated_and_blocked_participants_are_returned(self):
        terminated = self.show(
            {"access_token_identifier": {"authentication_code": "4000000000000003"}}
        )
        self.assertEqual(
            (terminated["number"], terminated["life_cycle_state"]), ("P0003", "TERMINATED")
        )
        blocked = self.show({"number": "P0004"})
        self.assertEqual(blocked["spend_blocking_state"]["state"], "BLOCKED")
        self.assertEqual(self.show({"number": "P0005"})["wallet"]["balance"], D("0.00"))

    def test_not_found(self):
        for ident in (
            {"number": "P9999"},
            {"id": "NOPE"},
            {"access_token_identifier": {"authentication_code": "0000"}},
            {"access_token_identifier": {"authentication_code": "4000000000000099"}},  # lost
            {"access_token_identifier": {"identifier": JOHN_CARD, "pass_code": "9999"}},
            {"access_token_identifier": {"one_time_password": 123456}},
        ):
            with self.subTest(ident=ident):
                self.error("rewards_participants/show", {RP: ident}, "NOT_FOUND")

    def test_wallet_show(self):
        for body in (
            {RP: {"number": "P0002"}},
            {AR: {"number": "AR0002"}},
            {AR: {"name": "Maria Papadopoulou"}},
            {AR: {"access_token_identifier": {"authentication_code": "+35799654321"}}},
        ):
            with self.subTest(body=body):
                data = self.ok("wallets/show", body)
                self.assertEqual((data["number"], data["balance"]), ("W0002", D("120.50")))
                self.assertEqual(data["accounts_receivable"]["number"], "AR0002")
        data = self.ok("wallets/show", {RP: {"number": "P0001"}, "fields_set": "balance,number"})
        self.assertEqual(data, {"balance": D("25.00"), "number": "W0001"})
        self.error("wallets/show", {AR: {"number": "AR9"}}, "NOT_FOUND")


class TestPurchases(SimulatorCase):
    def preview(self, total, participant="P0001", **extra):
        body = self.purchase_body(lines=[line(total)], participant=participant, **extra)
        del body["reference_number"]
        return self.ok("customer_events/purchases/preview", body)

    def test_preview_figures(self):
        data = self.preview("20.00")
        self.assertEqual(
            data,
            {
                "total_award_amount": D("1.00"),
                "total_instant_spend_amount": D("0.00"),
                "total_automatic_spend_amount": D("0.00"),
                "total_additional_spend_amount": D("20.00"),
                "minimum_spend_amount_per_transaction": D("1.00"),
                "maximum_spend_amount_per_transaction": D("50.00"),
                "reduction_method": "FRONT_END_REDUCTION",
                "rewards_participant_id": self.sim.state.participant_by("number", "P0001").id,
                "rewards_participant_name": "John Doe",
                "wallet_balance": D("25.00"),
                "allow_spending": True,
            },
        )
        self.assertEqual(self.preview("100.00")["total_additional_spend_amount"], D("25.00"))
        self.assertEqual(self.preview("10.10")["total_award_amount"], D("0.51"))  # half up
        maria = self.preview("100.00", "P0002")
        self.assertEqual(maria["total_additional_spend_amount"], D("50.00"))
        for participant in ("P0004", "P0005"):  # blocked, empty wallet
            with self.subTest(participant=participant):
                data = self.preview("30.00", participant)
                self.assertEqual(data["total_additional_spend_amount"], D("0.00"))
                self.assertFalse(data["allow_spending"])
                self.assertEqual(data["total_award_amount"], D("1.50"))
        self.sim.config.min_spend = D("30.00")
        self.assertEqual(self.preview("100.00")["total_additional_spend_amount"], D("0.00"))
        self.assertEqual(len(self.sim.state.purchases), 0)
        self.assertEqual(self.balance(), D("25.00"))

    def test_preview_may_count_the_purchases_own_award(self):
        self.sim.config.update({"preview_spend_includes_award": True})
        data = self.preview("100.00")  # earns 5.00 on a wallet of 25.00
        self.assertEqual(data["total_additional_spend_amount"], D("30.00"))
        self.assertEqual(data["wallet_balance"], D("25.00"))
        self.assertEqual(self.preview("10.00")["total_additional_spend_amount"], D("10.00"))
        with self.assertRaises(ValueError):
            self.sim.config.update({"preview_spend_includes_award": "yes"})

    def test_preview_refusals(self):
        body = self.purchase_body(participant="P0003")
        del body["reference_number"]
        self.error("customer_events/purchases/preview", body, "PARTICIPANT_TERMINATED")
        body[RP] = {"number": "P0001"}
        body["performed_by_unit_identifier"] = {"name": "Moon Store"}
        self.error("customer_events/purchases/preview", body, "NOT_FOUND")
        body["performed_by_unit_identifier"] = {"name": "Airport Store"}
        self.ok("customer_events/purchases/preview", body)
        self.error(
            "customer_events/purchases/preview",
            {**body, "reference_number": "R"},
            "INVALID_REQUEST",
        )

    def test_create_credits_the_award(self):
        response = self.post("customer_events/purchases/create", self.purchase_body())
        self.assertIn('"total_awarded_amount": 1.00', response.text)
        data = self.envelope(response)["data"]
        self.assertRegex(data["number"], r"^PCE\d{7}$")
        self.assertEqual(data["life_cycle_state"], "POSTED")
        self.assertEqual(data["type"], "PURCHASE")
        self.assertEqual(data["reference_number"], "POS/0001")
        self.assertEqual(data["performed_on"], NOW)
        self.assertEqual(
            (data["total_amount"], data["net_amount"], data["vat_amount"]),
            (D("20.00"), D("16.95"), D("3.05")),
        )
        self.assertEqual(data["total_awarded_amount"], D("1.00"))
        for key in (
            "total_spend_amount",
            "total_instant_spend_amount",
            "total_automatic_spend_amount",
            "total_additional_spend_amount",
        ):
            self.assertEqual(data[key], D("0.00"))
        self.assertIsNone(data["instant_spend_request"])
        self.assertIsNone(data["automatic_spend_request"])
        self.assertEqual(data["accounts_receivable"]["number"], "AR0001")
        self.assertEqual(data["performed_by_unit"]["id"], "UNIT-STORE01")
        self.assertEqual(self.balance(), D("26.00"))
        self.assertEqual(self.ok("wallets/show", {AR: {"number": "AR0001"}})["balance"], D("26.00"))

    def test_create_by_access_token_and_other_units(self):
        body = self.purchase_body(
            lines=[line("7.00"), line("3.00", code="UNKNOWN")],
            performed_by_unit_identifier={"id": "UNIT-STORE02"},
        )
        del body[RP]
        body[AR] = {"access_token_identifier": {"authentication_code": "maria@example.com"}}
        data = self.ok("customer_events/purchases/create", body)
        self.assertEqual(data["total_amount"], D("10.00"))
        self.assertEqual(data["performed_by_unit"]["alternative_code"], "STORE02")
        self.assertEqual(self.balance("P0002"), D("121.00"))
        # Products unknown to CRM.COM go to the default product; the intended one is kept.
        self.assertIsNone(data["products_set"][1]["product"])
        self.assertEqual(
            data["products_set"][1]["intended_product_identifier"], {"code": "UNKNOWN"}
        )

    def test_create_refusals_change_nothing(self):
        self.error(
            "customer_events/purchases/create",
            self.purchase_body(participant="P0003"),
            "PARTICIPANT_TERMINATED",
        )
        self.error(
            "customer_events/purchases/create", self.purchase_body(participant="P9"), "NOT_FOUND"
        )
        body = self.purchase_body(intended_currency_identifier={"code": "USD"})
        self.error("customer_events/purchases/create", body, "INVALID_REQUEST")
        self.assertEqual(len(self.sim.state.purchases), 0)
        self.assertEqual(self.balance("P0003"), D("10.00"))

    def test_duplicate_reference(self):
        first = self.create_purchase("POS/0007")
        self.error(
            "customer_events/purchases/create",
            self.purchase_body("POS/0007"),
            "DUPLICATE_REFERENCE_NUMBER",
        )
        self.assertEqual(len(self.sim.state.purchases), 1)
        self.assertEqual(self.balance(), D("26.00"))
        # A cancelled purchase frees its reference.
        self.ok(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": {"number": first["number"]}},
        )
        self.create_purchase("POS/0007")
        self.sim.config.reject_duplicate_reference = False
        self.create_purchase("POS/0007")
        self.assertEqual(len(self.sim.state.purchases), 3)
        self.assertEqual(self.balance(), D("27.00"))

    def test_cancel_restores_the_wallet(self):
        purchase = self.create_purchase(total="100.00")
        self.assertEqual(self.balance(), D("30.00"))
        data = self.ok(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": {"id": purchase["id"]}},
        )
        self.assertEqual(data["life_cycle_state"], "CANCELLED")
        self.assertEqual(data["number"], purchase["number"])
        self.assertEqual(self.balance(), D("25.00"))
        self.error(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": {"number": purchase["number"]}},
            "INVALID_STATE",
        )
        self.error(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": {"number": "PCE9999999"}},
            "NOT_FOUND",
        )
        self.error(
            "customer_events/purchases/cancel", {"customer_event_identifier": {}}, "INVALID_REQUEST"
        )
        self.assertEqual(self.balance(), D("25.00"))

    def test_cancel_after_the_award_was_spent_elsewhere_keeps_the_wallet_at_zero(self):
        self.sim.config.max_spend = D("100.00")
        first = self.create_purchase("A", total="100.00")  # +5.00 -> 30.00
        second = self.create_purchase("B", total="100.00")  # +5.00 -> 35.00
        self.spend(second["number"], 35)
        self.assertEqual(self.balance(), D("0.00"))
        self.ok(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": {"number": first["number"]}},
        )
        self.assertEqual(self.balance(), D("0.00"))

    def test_list_pagination_filters_and_fields_set(self):
        numbers = [self.create_purchase(f"POS/{i}")["number"] for i in range(5)]
        self.create_purchase("MARIA/1", participant="P0002")
        listing = "customer_events/purchases/list"
        everything = self.ok(listing, {"number_of_results": 100, "offset": 0})
        self.assertEqual(len(everything), 6)
        pages = self.list_pages(
            listing, "number,reference_number,life_cycle_state", offsets=(0, 2, 4, 6)
        )
        self.assertEqual([len(page) for page in pages], [2, 2, 1, 0])
        self.assertEqual([item["number"] for page in pages for item in page], numbers)
        self.assertEqual(
            pages[0][0],
            {"number": numbers[0], "reference_number": "POS/0", "life_cycle_state": "POSTED"},
        )
        by_ar = self.ok(listing, {AR: {"number": "AR0002"}})
        self.assertEqual([item["reference_number"] for item in by_ar], ["MARIA/1"])
        self.error(listing, {RP: {"number": "P0001"}, AR: {"number": "AR0001"}}, "INVALID_REQUEST")
        self.error(listing, {"number_of_results": 0}, "INVALID_REQUEST")
        self.error(listing, {"offset": -1}, "INVALID_REQUEST")
        self.error(listing, {"submitted_after_date": "yesterday"}, "INVALID_REQUEST")

    def test_list_state_filters(self):
        spent = self.create_purchase("SPENT")
        cancelled = self.create_purchase("CANCELLED")
        self.create_purchase("PLAIN")
        self.spend(spent["number"], 20)  # the whole purchase total
        self.ok(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": {"number": cancelled["number"]}},
        )
        listing = "customer_events/purchases/list"

        def refs(**filters):
            return [item["reference_number"] for item in self.ok(listing, filters)]

        self.assertEqual(refs(spend_requests_applied=True), ["SPENT"])
        self.assertEqual(refs(spend_requests_applied=False), ["CANCELLED", "PLAIN"])
        self.assertEqual(refs(eligible_for_spending=True), ["PLAIN"])
        states = {i["reference_number"]: i["life_cycle_state"] for i in self.ok(listing, {})}
        self.assertEqual(states["CANCELLED"], "CANCELLED")
        self.assertEqual(refs(submitted_after_date="2999-01-01T00:00:00"), [])
        self.assertEqual(len(refs(submitted_before_date="2999-01-01T00:00:00")), 3)
        self.assertEqual(refs(classification_identifier={"name": "POS"}), [])
        listed = self.ok(listing, {"fields_set": "reference_number,total_spend_amount"})
        self.assertEqual(listed[0], {"reference_number": "SPENT", "total_spend_amount": D("20.00")})


class TestSpendRequests(SimulatorCase):
    def test_spend_is_capped_by_the_wallet(self):
        self.sim.config.award_rate = D("0")
        purchase = self.create_purchase(total="100.00")
        response = self.post(
            "customer_events/spend_requests/create", self.spend_body(purchase["number"], 40)
        )
        self.assertIn('"spend_amount": 25.00', response.text)
        data = self.envelope(response)["data"]
        self.assertEqual(data["spend_amount"], D("25.00"))
        self.assertEqual(data["requested_spend_amount"], D("40.00"))
        self.assertRegex(data["number"], r"^SR\d{7}$")
        self.assertEqual(data["type"], "SPEND REQUEST")
        self.assertEqual(data["life_cycle_state"], "POSTED")
        self.assertEqual(data["reduction_method"], "FRONT_END_REDUCTION")
        self.assertEqual(data["purchase_customer_event"]["number"], purchase["number"])
        self.assertEqual(data["purchase_customer_event"]["id"], purchase["id"])
        transaction = data["spend_reward_transaction"]
        self.assertEqual(
            (transaction["amount"], transaction["life_cycle_state"]), (D("25.00"), "POSTED")
        )
        self.assertTrue(transaction["id"] and transaction["number"])
        self.assertEqual(self.balance(), D("0.00"))

    def test_spend_is_capped_by_max_spend_and_purchase_total(self):
        big = self.create_purchase("BIG", total="100.00", participant="P0002")  # 125.50
        self.assertEqual(self.spend(big["number"], 80)["spend_amount"], D("50.00"))
        small = self.create_purchase("SMALL", total="30.00", participant="P0002")
        self.assertEqual(self.spend(small["number"])["spend_amount"], D("30.00"))  # default
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(small["number"], 5),
            "SPEND_NOT_ALLOWED",
        )
        self.assertEqual(self.balance("P0002"), D("47.00"))  # 120.50 + 5 + 1.50 - 50 - 30
        third = self.create_purchase("THIRD", total="10.00", participant="P0002")
        self.assertEqual(self.spend(third["number"], "3.333")["spend_amount"], D("3.33"))

    def test_spend_below_minimum_is_refused(self):
        purchase = self.create_purchase()
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(purchase["number"], "0.50"),
            "SPEND_NOT_ALLOWED",
        )
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(purchase["number"], 0),
            "SPEND_NOT_ALLOWED",
        )
        poor = self.create_purchase("POOR", total="10.00", participant="P0005")  # wallet 0.50
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(poor["number"], 10),
            "SPEND_NOT_ALLOWED",
        )
        self.assertEqual(self.balance("P0005"), D("0.50"))
        self.assertEqual(len(self.sim.state.spend_requests), 0)

    def test_blocked_and_terminated(self):
        blocked = self.create_purchase("BLOCKED", participant="P0004")
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(blocked["number"], 5),
            "SPEND_BLOCKED",
        )
        self.assertEqual(self.balance("P0004"), D("41.00"))
        purchase = self.create_purchase()
        self.sim.state.participant_by("number", "P0001").life_cycle_state = "TERMINATED"
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(purchase["number"], 5),
            "PARTICIPANT_TERMINATED",
        )

    def test_purchase_and_customer_must_match(self):
        purchase = self.create_purchase()
        create = "customer_events/spend_requests/create"
        matching = self.spend_body(purchase["number"], 2, **{AR: {"number": "AR0001"}})
        self.ok(create, matching)
        other = self.spend_body(purchase["number"], 2, **{RP: {"number": "P0002"}})
        self.error(create, other, "INVALID_REQUEST")
        both = self.spend_body(
            purchase["number"], 2, **{RP: {"number": "P0001"}, AR: {"number": "AR0001"}}
        )
        self.error(create, both, "INVALID_REQUEST")
        self.error(create, self.spend_body("PCE0000099", 2), "NOT_FOUND")
        spend_number = self.sim.state.spend_request_by("purchase_id", purchase["id"]).number
        self.error(create, self.spend_body(spend_number, 2), "INVALID_REQUEST")
        body = self.spend_body(purchase["number"], 2)
        del body["purchase_customer_request_identifier"]
        body["purchase_customer_event_identifier"] = {"number": purchase["number"]}
        self.error(create, body, "INVALID_REQUEST")
        for missing in ("performed_on", "performed_by_unit_identifier"):
            body = self.spend_body(purchase["number"], 2)
            del body[missing]
            self.error(create, body, "INVALID_REQUEST")
        self.error(create, self.spend_body(purchase["number"], -2), "INVALID_REQUEST")
        self.assertEqual(len(self.sim.state.spend_requests), 1)

    def test_duplicate_external_reference(self):
        purchase = self.create_purchase(total="50.00")
        self.spend(purchase["number"], 2, external_system_reference_number="S1")
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(purchase["number"], 2, external_system_reference_number="S1"),
            "DUPLICATE_REFERENCE_NUMBER",
        )
        self.sim.config.reject_duplicate_reference = False
        self.spend(purchase["number"], 2, external_system_reference_number="S1")
        self.assertEqual(self.balance(), D("23.50"))

    def test_cancels_restore_wallets_in_order(self):
        purchase = self.create_purchase(total="20.00")  # 26.00
        spend = self.spend(purchase["number"], 10)  # 16.00
        self.assertEqual(self.balance(), D("16.00"))
        cancel_purchase = {"customer_event_identifier": {"number": purchase["number"]}}
        self.error("customer_events/purchases/cancel", cancel_purchase, "INVALID_STATE")
        self.error("customer_events/spend_requests/cancel", cancel_purchase, "INVALID_REQUEST")
        cancel_spend = {"customer_event_identifier": {"number": spend["number"]}}
        data = self.ok("customer_events/spend_requests/cancel", cancel_spend)
        self.assertEqual(data["life_cycle_state"], "CANCELLED")
        self.assertEqual(data["spend_reward_transaction"]["life_cycle_state"], "CANCELLED")
        self.assertEqual(self.balance(), D("26.00"))
        self.error("customer_events/spend_requests/cancel", cancel_spend, "INVALID_STATE")
        self.ok("customer_events/purchases/cancel", cancel_purchase)
        self.assertEqual(self.balance(), D("25.00"))
        self.error(
            "customer_events/spend_requests/create",
            self.spend_body(purchase["number"], 5),
            "INVALID_STATE",
        )

    def test_list_spend_requests_filters_pages_and_fields_set(self):
        first = self.create_purchase("A", total="50.00")
        maria = self.create_purchase("M", total="50.00", participant="P0002")
        numbers = [
            self.spend(first["number"], 2, external_system_reference_number=f"A/S{i}")["number"]
            for i in range(3)
        ]
        self.spend(maria["number"], 2, external_system_reference_number="M/S0")
        cancel = {"customer_event_identifier": {"number": numbers[1]}}
        self.ok("customer_events/spend_requests/cancel", cancel)
        listing = "customer_events/spend_requests/list"
        fields_set = "number,external_system_reference_number,life_cycle_state"
        pages = self.list_pages(listing, fields_set, offsets=(0, 2))
        self.assertEqual([len(page) for page in pages], [2, 1])
        self.assertEqual([item["number"] for page in pages for item in page], numbers)
        self.assertEqual(
            pages[0][1],
            {
                "number": numbers[1],
                "external_system_reference_number": "A/S1",
                "life_cycle_state": "CANCELLED",
            },
        )
        by_ar = self.ok(listing, {AR: {"number": "AR0002"}})
        self.assertEqual([item["external_system_reference_number"] for item in by_ar], ["M/S0"])
        self.assertEqual(by_ar[0]["purchase_customer_event"]["number"], maria["number"])
        later = {RP: {"number": "P0001"}, "submitted_after_date": "2999-01-01T00:00:00"}
        self.assertEqual(self.ok(listing, later), [])
        # One of the customer or the classification is mandatory; everything else is checked.
        self.error(listing, {}, "INVALID_REQUEST")
        self.error(listing, {RP: {"number": "P0001"}, AR: {"number": "AR0001"}}, "INVALID_REQUEST")
        self.error(listing, {RP: {"number": "P0001"}, "offset": -1}, "INVALID_REQUEST")
        self.error(listing, {RP: {"number": "P0001"}, "spend_amount": 1}, "INVALID_REQUEST")
        self.error(listing, {RP: {"number": "P9999"}}, "NOT_FOUND")


class TestProducts(SimulatorCase):
    METHOD = "products/synchronise"

    def sync(self, products, definition=None, **extra):
        return self.ok(
            self.METHOD,
            {
                "synchronisation_definition_identifier": definition or {"name": "ODOO POS SYNC"},
                "products_set": products,
                **extra,
            },
        )

    def test_thousand_products_per_call(self):
        products = [{"code": f"SKU-{i}", "description": f"Item {i}"} for i in range(1000)]
        data = self.sync(products)
        self.assertEqual(len(data["processed_products_set"]), 1000)
        self.assertEqual(data["unprocessed_products_set"], [])
        self.assertEqual(len(self.sim.state.products), 1000)
        products.append({"code": "SKU-1000"})
        self.error(
            self.METHOD,
            {
                "synchronisation_definition_identifier": {"id": "SYNCDEF-1"},
                "products_set": products,
            },
            "INVALID_REQUEST",
        )
        self.assertEqual(len(self.sim.state.products), 1000)

    def test_refused_product_codes_switch(self):
        status, config = self.control("POST", "config", {"refused_product_codes": ["SKU-2"]})
        self.assertEqual((status, config["refused_product_codes"]), (200, ["SKU-2"]))
        data = self.sync([{"code": "SKU-1"}, {"code": "SKU-2", "description": "Refused"}])
        self.assertEqual([p["request_code"] for p in data["processed_products_set"]], ["SKU-1"])
        (refused,) = data["unprocessed_products_set"]
        self.assertEqual(
            (refused["request_code"], refused["error_code"]), ("SKU-2", "PRODUCT_REFUSED")
        )
        self.assertEqual(set(self.sim.state.products_by_code), {"SKU-1"})
        for bad in ("SKU-2", [1], None):
            self.assertEqual(self.control("POST", "config", {"refused_product_codes": bad})[0], 400)

    def test_per_product_results(self):
        data = self.sync(
            [
                {
                    "code": "SKU-1",
                    "description": "Iced Caramel Latte",
                    "type_identifier": {"name": "Coffee"},
                    "brand_identifier": {"name": "Brewers"},
                    "family_identifier": {"code": "COF"},
                    "udf_string_1": "x",
                },
                {"description": "no code"},
                {"code": "SKU-2", "colour": "red"},
                {"code": "SKU-3", "type_identifier": {"name": "A", "id": "B"}},
                {"code": "SKU-4", "product_validity_to": "tomorrow"},
                "SKU-5",
                {"code": "SKU-6"},
            ],
            definition={"alternative_code": "ODOO"},
        )
        processed = data["processed_products_set"]
        self.assertEqual([p["request_code"] for p in processed], ["SKU-1", "SKU-6"])
        self.assertEqual(processed[0]["code"], "SKU-1")
        self.assertTrue(processed[0]["id"] and processed[0]["message"])
        errors = [(u["request_code"], u["error_code"]) for u in data["unprocessed_products_set"]]
        self.assertEqual(
            errors,
            [
                (None, "MISSING_CODE"),
                ("SKU-2", "INVALID_PRODUCT"),
                ("SKU-3", "INVALID_PRODUCT"),
                ("SKU-4", "INVALID_PRODUCT"),
                (None, "INVALID_PRODUCT"),
            ],
        )
        self.assertTrue(all(u["error_description"] for u in data["unprocessed_products_set"]))
        self.assertEqual(len(self.sim.state.products), 2)

    def test_update_and_validity(self):
        first = self.sync([{"code": "SKU-1", "description": "Old"}])["processed_products_set"][0]
        again = self.sync(
            [{"code": "SKU-1", "description": "New", "product_validity_to": "2020-01-01T00:00:00"}]
        )
        second = again["processed_products_set"][0]
        self.assertEqual(second["id"], first["id"])
        self.assertNotEqual(second["message"], first["message"])
        product = self.sim.state.product_by("code", "SKU-1")
        self.assertEqual(product.description, "New")
        self.assertFalse(product.is_valid(product.updated_on))
        # An expired product is booked on the default product.
        data = self.create_purchase()
        self.assertIsNone(data["products_set"][0]["product"])
        self.sync([{"code": "SKU-1", "product_validity_to": None}])
        data = self.create_purchase("POS/2")
        self.assertEqual(data["products_set"][0]["product"]["id"], first["id"])

    def test_definition_and_request_errors(self):
        self.error(
            self.METHOD,
            {
                "synchronisation_definition_identifier": {"name": "OTHER"},
                "products_set": [{"code": "A"}],
            },
            "NOT_FOUND",
        )
        self.error(
            self.METHOD,
            {
                "synchronisation_definition_identifier": {
                    "name": "ODOO POS SYNC",
                    "id": "SYNCDEF-1",
                },
                "products_set": [{"code": "A"}],
            },
            "INVALID_REQUEST",
        )
        self.error(self.METHOD, {"products_set": [{"code": "A"}]}, "INVALID_REQUEST")
        self.error(
            self.METHOD,
            {"synchronisation_definition_identifier": {"id": "SYNCDEF-1"}, "products_set": []},
            "INVALID_REQUEST",
        )
        self.assertEqual(
            self.sync([{"code": "A"}], fields_set="processed_products_set"),
            {
                "processed_products_set": [
                    {
                        "request_code": "A",
                        "code": "A",
                        "id": self.sim.state.product_by("code", "A").id,
                        "message": "Product created",
                    }
                ]
            },
        )


class TestFaults(SimulatorCase):
    CREATE = "customer_events/purchases/create"

    def test_latency(self):
        self.sim.faults.add("latency", method="wallets/show", seconds=0.4)
        started = time.monotonic()
        self.assertEqual(self.ok("wallets/show", {RP: {"number": "P0001"}})["number"], "W0001")
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        started = time.monotonic()
        self.ok("wallets/show", {RP: {"number": "P0001"}})  # times=1: consumed
        self.assertLess(time.monotonic() - started, 0.4)

    def test_http_500_does_not_process(self):
        self.sim.faults.add("http_500", method=self.CREATE)
        response = self.post(self.CREATE, self.purchase_body())
        self.assertEqual(response.status_code, 500)
        with self.assertRaises(ValueError):
            response.json()
        self.assertEqual(len(self.sim.state.purchases), 0)
        self.create_purchase()
        self.assertEqual(len(self.sim.state.purchases), 1)

    def test_drop_does_not_process(self):
        self.sim.faults.add("drop", method=self.CREATE)
        with self.assertRaises(requests.ConnectionError):
            self.post(self.CREATE, self.purchase_body())
        self.assertEqual(len(self.sim.state.purchases), 0)
        self.assertEqual(self.balance(), D("25.00"))

    def test_drop_after_processes(self):
        self.sim.faults.add("drop_after", method=self.CREATE)
        with self.assertRaises(requests.ConnectionError):
            self.post(self.CREATE, self.purchase_body())
        self.assertEqual(len(self.sim.state.purchases), 1)
        self.assertEqual(self.balance(), D("26.00"))
        self.error(self.CREATE, self.purchase_body(), "DUPLICATE_REFERENCE_NUMBER")

    def test_timeout_after_processes(self):
        self.sim.faults.add("timeout_after", method=self.CREATE, seconds=1.0)
        with self.assertRaises(requests.Timeout):
            self.post(self.CREATE, self.purchase_body(), timeout=0.3)
        self.assertEqual(len(self.sim.state.purchases), 1)
        self.assertEqual(self.balance(), D("26.00"))

    def test_malformed_json_processes(self):
        self.sim.faults.add("malformed_json", method=self.CREATE)
        response = self.post(self.CREATE, self.purchase_body())
        self.assertEqual(response.status_code, 200)
        with self.assertRaises(ValueError):
            response.json()
        self.assertEqual(len(self.sim.state.purchases), 1)

    def test_expired_token_does_not_process(self):
        self.sim.faults.add("expired_token")  # any method, but never a login
        self.token = self.login()
        self.error(self.CREATE, self.purchase_body(), "INVALID_TOKEN")
        self.assertEqual(len(self.sim.state.purchases), 0)
        self.create_purchase()  # same token: it did not really expire

    def test_method_filter_and_times(self):
        self.sim.faults.add("http_500", method=self.CREATE, times=2)
        self.ok("wallets/show", {RP: {"number": "P0001"}})
        statuses = [
            self.post(self.CREATE, self.purchase_body(f"R{i}")).status_code for i in range(3)
        ]
        self.assertEqual(statuses, [500, 500, 200])
        self.sim.faults.add("http_500", times=None)
        for _ in range(3):
            self.assertEqual(self.post("wallets/show", {RP: {"number": "P0001"}}).status_code, 500)
        self.sim.faults.clear()
        self.ok("wallets/show", {RP: {"number": "P0001"}})

    def test_latency_combines_with_another_fault(self):
        self.sim.faults.add("latency", seconds=0.3)
        self.sim.faults.add("drop")
        started = time.monotonic()
        with self.assertRaises(requests.ConnectionError):
            self.post("wallets/show", {RP: {"number": "P0001"}})
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(len(self.sim.faults), 0)

    def test_bad_faults_are_refused(self):
        for kwargs in (
            {"kind": "explode"},
            {"kind": "drop", "times": 0},
            {"kind": "latency", "seconds": -1},
        ):
            with self.subTest(kwargs=kwargs), self.assertRaises(ValueError):
                self.sim.faults.add(**kwargs)


class TestControlEndpoints(SimulatorCase):
    def test_state_dump(self):
        self.create_purchase()
        status, dump = self.control("GET", "state")
        self.assertEqual(status, 200)
        self.assertEqual(dump["counts"]["participants"], 5)
        self.assertEqual(dump["counts"]["wallets"], 5)
        self.assertEqual(dump["counts"]["purchases"], 1)
        self.assertEqual(dump["counts"]["valid_tokens"], 1)
        wallets = {w["number"]: w["balance"] for w in dump["wallets"]}
        self.assertEqual(
            wallets,
            {
                "W0001": D("26.00"),
                "W0002": D("120.50"),
                "W0003": D("10.00"),
                "W0004": D("40.00"),
                "W0005": D("0.00"),
            },
        )
        self.assertEqual(dump["purchases"][0]["reference_number"], "POS/0001")
        self.assertEqual(dump["spend_requests"], [])
        self.assertEqual(dump["products"], [])
        self.assertEqual(dump["config"]["max_spend"], D("50.00"))
        john = dump["participants"][0]
        self.assertEqual(len(john["access_tokens"]), 4)

    def test_faults_endpoints(self):
        status, body = self.control(
            "POST", "faults", {"kind": "http_500", "method": "wallets/show", "times": None}
        )
        self.assertEqual((status, body["faults"][0]["kind"]), (200, "http_500"))
        self.assertEqual(self.post("wallets/show", {RP: {"number": "P0001"}}).status_code, 500)
        self.assertEqual(self.control("GET", "faults")[1]["faults"][0]["times"], None)
        self.assertEqual(self.control("DELETE", "faults"), (200, {"faults": []}))
        self.ok("wallets/show", {RP: {"number": "P0001"}})
        self.assertEqual(self.control("POST", "faults", {"kind": "nope"})[0], 400)
        self.assertEqual(self.control("POST", "faults", {"kind": "drop", "when": 1})[0], 400)

    def test_config_endpoint(self):
        status, config = self.control(
            "POST", "config", {"reject_duplicate_reference": False, "max_spend": 10}
        )
        self.assertEqual(status, 200)
        self.assertEqual(config["max_spend"], D("10.00"))
        self.assertFalse(self.sim.config.reject_duplicate_reference)
        purchase = self.create_purchase()
        self.create_purchase()
        self.assertEqual(self.spend(purchase["number"], 20)["spend_amount"], D("10.00"))
        self.assertEqual(self.control("POST", "config", {"max_spend": "x"})[0], 400)
        self.assertEqual(self.control("POST", "config", {"colour": 1})[0], 400)
        self.assertEqual(
            self.control("POST", "config", {"token_lifetime": 1.5, "max_spend": 5})[0], 400
        )
        self.assertEqual(self.sim.config.max_spend, D("10"))  # a refused update changes nothing

    def test_expire_tokens_endpoint(self):
        self.assertEqual(self.control("POST", "expire_tokens"), (200, {"expired": 1}))
        self.error("wallets/show", {RP: {"number": "P0001"}}, "INVALID_TOKEN")

    def test_reset_endpoint(self):
        self.create_purchase()
        self.sim.config.award_rate = D("0.5")
        self.sim.faults.add("drop", method="customer_events/purchases/list")
        self.assertEqual(self.control("POST", "reset", {"seed": False})[0], 200)
        self.assertEqual(self.control("GET", "state")[1]["counts"]["participants"], 0)
        self.assertEqual(self.control("POST", "reset", {})[0], 200)  # seeds by default
        counts = self.control("GET", "state")[1]["counts"]
        self.assertEqual((counts["participants"], counts["purchases"], counts["tokens"]), (5, 0, 0))
        self.assertEqual(self.sim.config.award_rate, D("0.05"))
        self.assertEqual(len(self.sim.faults), 0)
        self.assertEqual(self.control("POST", "reset", {"seed": "yes"})[0], 400)
        self.assertEqual(self.control("GET", "nothing")[0], 404)


class TestServer(SimulatorCase):
    def test_context_manager_and_port_zero(self):
        with SimulatorServer(port=0, seed=False) as other:
            self.assertRegex(other.url, r"^http://127\.0\.0\.1:\d+$")
            self.assertNotEqual(other.url, self.sim.url)
            response = self.http.post(
                f"{other.url}{API}authentication/web_api_key/token", auth=(KEY, ""), timeout=5
            )
            self.assertEqual(self.envelope(response)["status"]["code"], "AUTHENTICATION_FAILED")
        with self.assertRaises(requests.ConnectionError):
            self.http.post(f"{other.url}{API}wallets/show", json={}, timeout=2)

    def test_garbage_does_not_kill_the_server(self):
        host, port = self.sim.url.removeprefix("http://").split(":")
        for garbage in (
            b"\x00\x01garbage\r\n\r\n",
            b'POST /crmapi/rest/v2/wallets/show HTTP/1.0\r\nContent-Length: 50\r\n\r\n{"tok',
        ):
            with socket.create_connection((host, int(port)), timeout=2) as sock:
                sock.sendall(garbage)
                sock.shutdown(socket.SHUT_WR)
                sock.recv(1024)
        self.ok("wallets/show", {RP: {"number": "P0001"}})

    def test_concurrent_calls_are_atomic(self):
        def buy(index):
            self.create_purchase(f"C{index}", total="10.00", participant="P0002")

        threads = [threading.Thread(target=buy, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(self.sim.state.purchases), 20)
        self.assertEqual(self.balance("P0002"), D("130.50"))
        numbers = sorted(p.number for p in self.sim.state.purchases.values())
        self.assertEqual(numbers, [f"PCE{i:07d}" for i in range(1, 21)])
        self.assertTrue(all(re.fullmatch(r"[0-9A-F]{32}", p) for p in self.sim.state.purchases))

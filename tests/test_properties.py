"""Property-based tests (hypothesis): the client's parsing rules, and the till's money rules.
Long on purpose: the strategies (generated amounts, baskets, junk) are shared by both.

The client properties run without Odoo or network (``CrmComClient._unwrap`` on a stub reply).
The till properties call ``pos.config`` against the CRM.COM simulator over HTTP, so they keep
``max_examples`` small. ``database=None``: no example database is written; a failure prints
the falsifying example, which is enough to reproduce it. Hypothesis's other caches go to the
system's temporary folder, not to ``.hypothesis/`` in the working folder.
"""

import itertools
import json
import math
import os
import string
import tempfile
from decimal import Decimal, InvalidOperation

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from odoo.tests import tagged

from ..crmcom import (
    AuthenticationError,
    BadReplyError,
    BusinessRuleError,
    CallRecord,
    CrmComClient,
    CrmComError,
    NotFoundError,
    TransportError,
)
from ..crmcom.client import (
    DEFAULT_AUTH_ERROR_CODES,
    DEFAULT_NOT_FOUND_ERROR_CODES,
    SECRET_KEYS,
    mask_secrets,
    parse_amount,
)
from ..models.pos_config import MAX_AMOUNT, _clean_amount
from .common import CashierCase, PlainCase

# Hypothesis still caches Unicode tables and source constants in ./.hypothesis: keep them out
# of whatever folder the tests run from (the repository, when pytest is run there).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "pos_crmcom_rewards-hypothesis"))

BASE = settings(
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PURE = settings(BASE, max_examples=300)
# Each example of these makes a few HTTP calls to the simulator.
SERVER = settings(BASE, max_examples=20)

METHOD = "rewards_participants/show"
HTTP_STATUSES = st.one_of(
    st.sampled_from([200, 201, 400, 401, 403, 404, 409, 422, 500, 502, 503, 504]),
    st.integers(min_value=100, max_value=599),
)

# ---------------------------------------------------------------------- strategies

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _is_amount_key(key):
    """The documented amount fields: ``*_amount``, ``*_balance``, ``amount``, ``balance``."""
    return key in ("amount", "balance") or key.endswith(("_amount", "_balance"))


def _is_envelope(value):
    return (
        isinstance(value, dict)
        and isinstance(value.get("status"), dict)
        and "code" in value["status"]
    )


# What CRM.COM may print as an amount, with the Decimal it means.
NUMERIC_AMOUNTS = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15).map(lambda n: (n, Decimal(n))),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (f, Decimal(repr(f)))),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: (str(d), Decimal(str(d)))
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: (f" {d} ", d)),
)
PLAIN_KEYS = st.text(max_size=12).filter(lambda key: not _is_amount_key(key))
AMOUNT_KEYS = st.one_of(
    st.sampled_from(["amount", "balance", "total_amount", "wallet_balance", "spend_amount"]),
    st.text(alphabet=string.ascii_lowercase + "_", max_size=8).map(lambda key: key + "_amount"),
)


@st.composite
def reply_data(draw, depth=0):
    """``(data, expected)``: arbitrary reply data with amount fields, and its parsed form."""
    kind = draw(st.sampled_from(["scalar", "list", "dict", "dict"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        value = draw(JSON_SCALARS)
        return value, value
    if kind == "list":
        items = draw(st.lists(reply_data(depth + 1), max_size=3))
        return [item for item, _ in items], [parsed for _, parsed in items]
    data, expected = {}, {}
    for key in draw(st.lists(PLAIN_KEYS, max_size=3, unique=True)):
        data[key], expected[key] = draw(reply_data(depth + 1))
    for key in draw(st.lists(AMOUNT_KEYS, max_size=3, unique=True)):
        data[key], expected[key] = draw(st.one_of(NUMERIC_AMOUNTS, st.just((None, None))))
    return data, expected


NOT_AMOUNTS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from(["NaN", "nan", "-Infinity", "inf", "sNaN", "Infinity", "", "  ", "1.2.3"]),
    st.booleans(),
    st.text(alphabet=string.ascii_letters + " -", min_size=1, max_size=10).filter(
        lambda text: text.strip().lower().lstrip("+-") not in ("nan", "snan", "inf", "infinity")
    ),
)


def _stub_client():
    return CrmComClient("http://127.0.0.1:9", api_key="KEY")


class _Reply:
    """What ``_unwrap`` reads of a ``requests.Response``."""

    def __init__(self, text, status_code=200):
        self.text = text
        self.status_code = status_code


def unwrap(text, status_code=200, safe=True):
    record = CallRecord(method=METHOD, started_at=0.0)
    return _stub_client()._unwrap(METHOD, _Reply(text, status_code), record, safe), record


# ---------------------------------------------------------------------- client alone


class TestClientProperties(PlainCase):
    """The envelope, amounts and masking rules of crmcom/client.py, on generated replies."""

    @PURE
    @given(
        payload=JSON_VALUES.filter(lambda value: not _is_envelope(value)),
        http_status=HTTP_STATUSES,
        safe=st.booleans(),
    )
    def test_a_reply_that_is_not_an_envelope_is_a_typed_error(self, payload, http_status, safe):
        with self.assertRaises(CrmComError) as caught:
            unwrap(json.dumps(payload), http_status, safe)
        if http_status in (401, 403):
            expected = AuthenticationError
        elif http_status >= 500:
            expected = TransportError
        else:
            expected = BadReplyError
        self.assertIs(type(caught.exception), expected, (payload, http_status))
        self.assertEqual(caught.exception.http_status, http_status)
        if expected is not AuthenticationError:
            self.assertEqual(caught.exception.outcome_unknown, not safe)

    @PURE
    @given(
        status=st.dictionaries(
            st.text(max_size=8).filter(lambda key: key != "code"), JSON_VALUES, max_size=3
        )
        | JSON_VALUES.filter(lambda value: not isinstance(value, dict)),
        http_status=HTTP_STATUSES,
    )
    def test_an_envelope_without_a_status_code_is_a_typed_error(self, status, http_status):
        with self.assertRaises((AuthenticationError, TransportError, BadReplyError)):
            unwrap(json.dumps({"status": status, "data": {}}), http_status)

    @PURE
    @given(data=reply_data(), http_status=st.sampled_from([200, 201, 202]))
    def test_an_ok_envelope_round_trips_with_decimal_amounts(self, data, http_status):
        data, expected = data
        body = json.dumps({"status": {"code": "OK", "message": None}, "data": data})
        result, record = unwrap(body, http_status)
        self.assertEqual(result, expected)
        self.assertEqual(record.status_code, "OK")

        def check_types(parsed, original):
            if isinstance(original, dict):
                for key, value in original.items():
                    if _is_amount_key(key) and value is not None:
                        self.assertIsInstance(parsed[key], Decimal, key)
                    else:
                        check_types(parsed[key], value)
            elif isinstance(original, list):
                for parsed_item, item in zip(parsed, original, strict=True):
                    check_types(parsed_item, item)
            else:
                self.assertIs(type(parsed), type(original))

        check_types(result, data)

    @PURE
    @given(
        key=AMOUNT_KEYS,
        bad=NOT_AMOUNTS,
        path=st.lists(st.text(max_size=5).filter(lambda k: not _is_amount_key(k)), max_size=3),
        safe=st.booleans(),
    )
    def test_an_ok_envelope_with_a_bad_amount_is_a_bad_reply(self, key, bad, path, safe):
        data = {key: bad}
        for step in reversed(path):
            data = {step: [data]}
        # json.dumps prints float NaN/Infinity as bare words, which json.loads accepts again.
        text = json.dumps({"status": {"code": "OK"}, "data": data})
        with self.assertRaises(BadReplyError) as caught:
            unwrap(text, 200, safe)
        self.assertEqual(caught.exception.outcome_unknown, not safe)

    @PURE
    @given(
        code=st.one_of(
            st.sampled_from(
                sorted(DEFAULT_AUTH_ERROR_CODES | DEFAULT_NOT_FOUND_ERROR_CODES)
                + ["SPEND_NOT_ALLOWED", "SPEND_BLOCKED", "DUPLICATE_REFERENCE_NUMBER", "ok", ""]
            ),
            st.text(max_size=30).filter(lambda code: code != "OK"),
        ),
        message=st.one_of(st.none(), st.text(max_size=30)),
        http_status=HTTP_STATUSES,
        data=JSON_VALUES,
    )
    def test_a_non_ok_status_is_the_right_typed_error(self, code, message, http_status, data):
        body = {"status": {"code": code, "message": message, "description": None}, "data": data}
        with self.assertRaises(CrmComError) as caught:
            unwrap(json.dumps(body), http_status)
        error = caught.exception
        if code in DEFAULT_AUTH_ERROR_CODES or http_status in (401, 403):
            expected = AuthenticationError
        elif http_status >= 500:  # an outcome nobody knows, whatever the envelope says
            expected = TransportError
        elif code in DEFAULT_NOT_FOUND_ERROR_CODES:
            expected = NotFoundError
        else:
            expected = BusinessRuleError
        self.assertIs(type(error), expected)
        self.assertEqual(error.code, code)
        self.assertEqual(error.http_status, http_status)
        self.assertEqual(error.method, METHOD)
        self.assertIn(str(code), str(error))

    @PURE
    @given(
        text=st.one_of(
            st.text(max_size=200),
            st.binary(max_size=100).map(lambda raw: raw.decode("latin-1")),
            # Envelope-shaped replies with arbitrary values where the status and data go.
            st.builds(
                lambda status, data: json.dumps({"status": status, "data": data}),
                st.one_of(
                    JSON_VALUES,
                    st.dictionaries(
                        st.sampled_from(["code", "message", "description"]), JSON_VALUES
                    ),
                ),
                JSON_VALUES,
            ),
        ),
        http_status=HTTP_STATUSES,
        safe=st.booleans(),
    )
    @example(text='{"status": {"code": []}, "data": null}', http_status=200, safe=True)
    @example(text='{"status": {"code": {"a": 1}}}', http_status=500, safe=False)
    def test_any_reply_text_raises_only_crmcom_errors(self, text, http_status, safe):
        try:
            unwrap(text, http_status, safe)
        except CrmComError:
            return
        self.assertEqual(json.loads(text)["status"]["code"], "OK", "only an OK envelope passes")

    @PURE
    @given(amount=NUMERIC_AMOUNTS)
    def test_parse_amount_accepts_numbers_and_numeric_strings(self, amount):
        value, expected = amount
        parsed = parse_amount(value)
        self.assertIsInstance(parsed, Decimal)
        self.assertEqual(parsed, expected)

    @PURE
    @given(
        value=st.one_of(
            NOT_AMOUNTS,
            st.floats().filter(lambda f: not math.isfinite(f)),
            st.text(max_size=20).filter(lambda text: not _decimal_text(text)),
        )
    )
    def test_parse_amount_refuses_what_is_not_a_finite_number(self, value):
        with self.assertRaises(ValueError):
            parse_amount(value)

    @PURE
    @given(data=st.data())
    def test_mask_secrets_leaves_no_secret_anywhere(self, data):
        counter = itertools.count()
        secrets = []

        def secret():
            value = f"~SECRET{next(counter)}~"
            secrets.append(value)
            return value

        # Plain text that cannot be mistaken for a generated secret.
        plain = st.text(max_size=10).filter(lambda text: "SECRET" not in text)
        secret_values = st.recursive(
            st.builds(secret) | st.integers(),
            lambda children: (
                st.lists(children, min_size=1, max_size=3)
                | st.dictionaries(plain, children, min_size=1, max_size=3)
            ),
            max_leaves=5,
        )
        values = st.recursive(
            st.none() | st.booleans() | st.integers() | plain,
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(sorted(SECRET_KEYS)) | plain,
                    children,
                    max_size=4,
                ).flatmap(
                    lambda plain_dict: st.dictionaries(
                        st.sampled_from(sorted(SECRET_KEYS)), secret_values, max_size=2
                    ).map(lambda secret_dict: {**plain_dict, **secret_dict})
                )
            ),
            max_leaves=25,
        )
        value = data.draw(values)
        original = json.dumps(value)
        masked = json.dumps(mask_secrets(value), ensure_ascii=False)
        for item in secrets:
            if item in original:
                self.assertNotIn(item, masked)
        self.assertEqual(json.dumps(value), original, "the input is not modified")

        def no_secret_under_secret_keys(node):
            if isinstance(node, dict):
                for key, item in node.items():
                    if key in SECRET_KEYS and item not in (None, ""):
                        self.assertEqual(item, "***")
                    else:
                        no_secret_under_secret_keys(item)
            elif isinstance(node, list):
                for item in node:
                    no_secret_under_secret_keys(item)

        no_secret_under_secret_keys(mask_secrets(value))

    @PURE
    @given(
        value=st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.integers(min_value=-(10**400), max_value=10**400),
            st.floats(),
            st.text(max_size=30),
            st.sampled_from(["1e999", "-1e999", "nan", "inf", "1_000", " 12.5 ", "0x10", "1e9"]),
            st.decimals(),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        )
    )
    @example(value=10**400)
    @example(value=-(10**309))
    @example(value="1e999")
    def test_clean_amount_is_none_or_a_bounded_finite_float(self, value):
        cleaned = _clean_amount(value)
        if cleaned is None:
            return
        self.assertIs(type(cleaned), float)
        self.assertTrue(math.isfinite(cleaned))
        self.assertLessEqual(abs(cleaned), MAX_AMOUNT)
        self.assertNotIsInstance(value, bool)


def _decimal_text(text):
    try:
        return Decimal(text.strip()).is_finite()
    except InvalidOperation:
        return False


# ---------------------------------------------------------------------- the till, end to end

SEEDED_CARDS = {
    "4000123412341234": "P0001",  # John Doe, 25.00
    "4000999988887777": "P0002",  # Maria Papadopoulou, 120.50
    "4000000000000005": "P0005",  # Zero Balance, 0.00
}
SEEDED_CODES = {
    "4000123412341234",
    "+35799123456",
    "john.doe@example.com",
    "4000999988887777",
    "+35799654321",
    "maria@example.com",
    "4000000000000003",
    "4000000000000004",
    "4000000000000005",
    "4000000000000099",
    "P0001",
    "P0002",
    "P0003",
    "P0004",
    "P0005",
}
PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2).map(float)
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=140),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)


def _valid_text(value):
    """What the till's server accepts as an identifier: printable text of 1-128 characters."""
    return isinstance(value, str) and 0 < len(value.strip()) <= 128 and value.strip().isprintable()


def _number(value):
    """The value as a float when it is a number (or numeric text) of at most 1e9, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) <= MAX_AMOUNT else None


@tagged("post_install", "-at_install")
class TestTillProperties(CashierCase):
    """The till's server methods on generated baskets, amounts and junk, against the simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.products = [
            cls.create_product(f"Property product {index}", cls.categ_basic, 10.0)
            for index in range(4)
        ]
        cls.uuids = itertools.count(1)

    def setUp(self):
        super().setUp()
        self.currency = self.config.company_id.currency_id

    def identified(self, card):
        result = self.identify(card)
        self.assertTrue(result["ok"], result)
        return result

    def new_uuid(self):
        return f"property-{next(self.uuids):06d}"

    def order(self, partner_id, lines):
        uuid = self.new_uuid()
        return {
            "uuid": uuid,
            "reference": f"Order {uuid}",
            "partner_id": partner_id,
            "lines": lines,
        }

    def _plausible_basket(self, order, partner_id):
        """Whether ``order`` is well-formed enough to be sent to CRM.COM (then it is no junk)."""
        if not isinstance(order, dict) or type(order.get("partner_id")) is not int:
            return False
        if order["partner_id"] != partner_id:
            return False
        lines = order.get("lines")
        return isinstance(lines, list) and all(
            isinstance(line, dict)
            and type(line.get("product_id")) is int
            and 0 < line["product_id"] < 2**31
            and self.env["product.product"].browse(line["product_id"]).exists()
            and all(
                _number(line.get(key)) is not None
                for key in ("qty", "price_subtotal", "price_subtotal_incl")
            )
            for line in lines
        )

    # ------------------------------------------------------------------ spend

    @SERVER
    @given(
        card=st.sampled_from(sorted(SEEDED_CARDS)),
        lines=st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=3),  # which product
                PRICES,
                st.integers(min_value=1, max_value=5),  # quantity
                st.sampled_from([0.0, 0.05, 0.19]),  # tax rate
            ),
            min_size=1,
            max_size=4,
        ),
        requested=st.one_of(
            PRICES,
            st.floats(min_value=0.0, max_value=1.2).map(lambda f: ("fraction", f)),
            st.integers(min_value=1, max_value=60),
        ),
    )
    def test_spend_never_exceeds_the_request_the_order_or_the_wallet(self, card, lines, requested):
        self.reset_simulator()
        round_ = self.currency.round
        before = self.identified(card)
        basket_lines, total = [], 0.0
        for product_index, price, qty, tax in lines:
            subtotal = round_(price * qty)
            total_incl = round_(subtotal * (1 + tax))
            total += total_incl
            basket_lines.append(
                {
                    "product_id": self.products[product_index].id,
                    "qty": qty,
                    "price_subtotal": subtotal,
                    "price_subtotal_incl": total_incl,
                }
            )
        total = round_(total)
        if isinstance(requested, tuple):
            requested = round_(total * requested[1])
        order = self.order(before["partner_id"], basket_lines)

        result = self.config._crmcom_spend(order, requested)

        self.assertIsInstance(result, dict)
        if round_(requested) <= 0 or round_(requested) > total:
            self.assertEqual(result.get("error"), "amount", result)
            return
        if not result["ok"]:
            self.assertEqual(result["error"], "not_allowed", result)
            return
        spent = result["spent"]
        self.assertEqual(result["requested"], round_(requested))
        self.assertGreater(spent, 0)
        self.assertLessEqual(spent, result["requested"])
        self.assertLessEqual(spent, total)
        self.assertEqual(round_(spent), spent, "rounded to the currency")
        self.assertTrue(
            self.currency.is_zero(
                before["balance"] + result["awarded"] - spent - result["balance_after"]
            ),
            (before["balance"], result),
        )
        # The discount is what CRM.COM spent, to the cent.
        [spend] = [
            s
            for s in self.simulator_state()["spend_requests"]
            if (s.get("external_system_reference_number") or "").startswith(order["uuid"])
        ]
        self.assertEqual(Decimal(str(spend["spend_amount"])), Decimal(str(spent)))

    # ------------------------------------------------------------------ junk from the till

    @SERVER
    @given(
        query=JUNK,
        method=st.one_of(st.sampled_from(["card", "phone", "email", "number"]), JUNK),
    )
    def test_identify_with_junk_refuses_and_sends_nothing(self, query, method):
        if _valid_text(query) and method in ("card", "phone", "email", "number"):
            query = None  # plausible codes are the next test's
        before = self.calls()
        result = self.config._crmcom_identify(query, method)
        self.assertEqual((result.get("ok"), result.get("error")), (False, "invalid"), result)
        self.assertEqual(self.calls(), before, "nothing was sent to CRM.COM")

    @SERVER
    @given(
        query=st.one_of(
            st.text(alphabet=string.digits, min_size=4, max_size=19),
            st.from_regex(r"\A\+357[0-9]{8}\Z"),
            st.from_regex(r"\AP[0-9]{4,6}\Z"),
            st.emails().filter(lambda email: len(email) <= 128),
        ).filter(lambda code: code not in SEEDED_CODES),
        method=st.sampled_from(["card", "phone", "email", "number"]),
    )
    def test_identify_with_an_unknown_code_is_not_found(self, query, method):
        # No example is throttled by the ones before.
        self.env["crmcom.identify.quota"].sudo().search([]).unlink()
        result = self.config._crmcom_identify(query, method)
        self.assertEqual((result.get("ok"), result.get("error")), (False, "not_found"), result)

    @SERVER
    @given(
        order=st.one_of(
            JUNK,
            st.fixed_dictionaries(
                {"uuid": JUNK, "partner_id": JUNK, "lines": JUNK},
                optional={"reference": JUNK},
            ),
            st.fixed_dictionaries(
                {
                    "uuid": st.just("junk"),
                    "partner_id": st.just("john") | st.booleans() | JUNK,
                    "lines": st.lists(
                        st.fixed_dictionaries(
                            {
                                "product_id": st.just("product") | st.booleans() | JUNK,
                                "qty": JUNK,
                                "price_subtotal": JUNK,
                                "price_subtotal_incl": JUNK,
                            }
                        ),
                        max_size=2,
                    ),
                }
            ),
        ),
        amount=JUNK,
    )
    @example(
        order={
            "uuid": "junk",
            "partner_id": "john",
            "lines": [
                {"product_id": True, "qty": 1, "price_subtotal": 1, "price_subtotal_incl": 1}
            ],
        },
        amount=1,
    )
    @example(
        order={
            "uuid": "junk",
            "partner_id": True,
            "lines": [
                {"product_id": "product", "qty": 1, "price_subtotal": 1, "price_subtotal_incl": 1}
            ],
        },
        amount=1,
    )
    def test_spend_with_a_junk_order_refuses_and_sends_nothing(self, order, amount):
        john = self.identified("4000123412341234")["partner_id"]
        if isinstance(order, dict) and order.get("partner_id") == "john":
            order["partner_id"] = john
            for line in order["lines"]:
                if line["product_id"] == "product":
                    line["product_id"] = self.products[0].id
        if self._plausible_basket(order, john):
            order["lines"] = "not a basket any more"  # a valid basket is not junk
        before = self.calls()
        result = self.config._crmcom_spend(order, amount)
        self.assertEqual((result.get("ok"), result.get("error")), (False, "invalid"), result)
        self.assertEqual(self.calls(), before, "nothing was sent to CRM.COM")

    @SERVER
    @given(amount=JUNK, price=PRICES)
    @example(amount=10**400, price=5.0)
    @example(amount=0.001, price=5.0)
    @example(amount="0.004", price=5.0)
    def test_spend_with_a_junk_amount_refuses_and_sends_nothing(self, amount, price):
        number = _number(amount)
        if number is not None and 0 < self.currency.round(number) <= price:
            amount = -abs(number)  # a plausible amount is not junk
        john = self.identified("4000123412341234")["partner_id"]
        lines = [
            {
                "product_id": self.products[0].id,
                "qty": 1,
                "price_subtotal": price,
                "price_subtotal_incl": price,
            }
        ]
        before = self.calls()
        result = self.config._crmcom_spend(self.order(john, lines), amount)
        self.assertEqual((result.get("ok"), result.get("error")), (False, "amount"), result)
        self.assertEqual(self.calls(), before, "nothing was sent to CRM.COM")

"""The CRM.COM Web API methods, one function each, and their response shapes.

Every handler validates the whole request before it changes anything, so a refused call never
leaves a partial effect behind. ``dispatch`` is called with the store lock held.

One file on purpose, although long: it reads like the API reference it stands for, each method
next to the shapes it returns, and a newcomer looks for a method in one place.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from . import validation
from .state import (
    Participant,
    Product,
    Purchase,
    PurchaseLine,
    SimulatorConfig,
    SpendRequest,
    State,
    Token,
    Unit,
    Wallet,
)
from .validation import ZERO, ApiError

FRONT_END = "FRONT_END_REDUCTION"
DEFAULT_PAGE_SIZE = 50  # the docs give no default; clients should always send number_of_results
MAX_PRODUCTS = 1000

AR = "accounts_receivable_identifier"
RP = "rewards_participant_identifier"
CUSTOMER = (AR, RP)
UNIT = "performed_by_unit_identifier"
UNIT_KEYS = ("id", "name", "alternative_code")
PARTICIPANT_KEYS = ("id", "number", "access_token_identifier")
AR_KEYS = ("id", "number", "name", "access_token_identifier")
EVENT_KEYS = ("id", "number")
PRODUCT_KEYS = ("id", "code", "alternative_code")
CURRENCY_KEYS = ("id", "code")
# The docs do not list these identifiers' keys; the usual id/name/alternative_code trio is assumed.
CLASSIFICATION_KEYS = ("id", "name", "alternative_code")
PAYMENT_MEDIUM_KEYS = ("id", "name", "alternative_code")
INVOICE_KEYS = ("id", "number")
SYNC_DEFINITION_KEYS = ("id", "name", "alternative_code")


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass
class Call:
    state: State
    config: SimulatorConfig
    body: dict
    headers: Mapping[str, str]
    token: Token | None = None


@dataclass(frozen=True)
class Method:
    handler: Callable[[Call], Any]
    needs_token: bool = True
    body_optional: bool = False
    fields_set: bool = True


METHODS: dict[str, Method] = {}


def api_method(path: str, **options):
    def register(handler):
        METHODS[path] = Method(handler, **options)
        return handler

    return register


def dispatch(
    state: State, config: SimulatorConfig, path: str, raw_body: bytes, headers: Mapping[str, str]
) -> Any:
    """Run one API call and return its ``data``; raises ApiError for an error reply."""
    method = METHODS[path]
    call = Call(state, config, _parse_body(raw_body, optional=method.body_optional), headers)
    # What the request names as its store, and the unit of the token it came with: how a
    # test sees which store each call of a sale reached (cancellations name none).
    entry = {
        "method": path,
        "unit": _journal_value(
            call.body.get(UNIT, call.body.get("unit") if not method.needs_token else None)
        ),
        "token_unit": None,
    }
    state.journal.append(entry)
    if method.needs_token:
        call.token = _authenticate(call)
        entry["token_unit"] = call.token.unit_id
    fields = validation.get_fields_set(call.body) if method.fields_set else None
    return validation.apply_fields_set(method.handler(call), fields)


def _journal_value(value: Any) -> Any:
    """``value`` as the journal keeps it: identifiers of texts as they came, anything else as
    its text (a request may send any JSON)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    return repr(value)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _parse_body(raw: bytes, *, optional: bool) -> dict:
    if not raw.strip():
        if optional:
            return {}
        raise validation.invalid("The request body is empty", "A JSON object is expected.")
    try:
        # Decimal keeps amounts exact; NaN/Infinity are not JSON.
        body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as err:
        raise validation.invalid("The request body is not valid JSON", str(err)) from None
    if not isinstance(body, dict):
        raise validation.invalid("The request body must be a JSON object")
    return body


def _authenticate(call: Call) -> Token:
    value = call.body.get("token")
    if not value:
        raise ApiError("INVALID_TOKEN", "Token is missing", "Send the 'token' body field.")
    token = call.state.tokens.get(value) if isinstance(value, str) else None
    if token is None:
        raise ApiError("INVALID_TOKEN", "Invalid token", "The token is unknown.")
    problem = token.problem(call.config.token_lifetime, time.time())
    if problem:
        raise ApiError("INVALID_TOKEN", "Invalid token", problem)
    return token


def _not_found(what: str, ident: dict | None = None) -> ApiError:
    detail = ""
    if ident:
        ((key, value),) = ident.items()
        detail = f"No match for {key}" if isinstance(value, dict) else f"No match for {key}={value}"
    return ApiError("NOT_FOUND", f"{what} not found", detail)


def _auth_failed(description: str) -> ApiError:
    return ApiError("AUTHENTICATION_FAILED", "Authentication failed", description)


# -- response shapes --------------------------------------------------------------------------


def _unit_view(unit: Unit) -> dict:
    return {
        "id": unit.id,
        "name": unit.name,
        "alternative_code": unit.alternative_code,
        "description": unit.description,
        "group_name": unit.group_name,
        "community_name": unit.community_name,
    }


def _currency_view(state: State) -> dict:
    currency = state.currency
    return {"id": currency.id, "code": currency.code, "description": currency.description}


def _ar_short(participant: Participant) -> dict:
    ar = participant.accounts_receivable
    return {"id": ar.id, "number": ar.number, "name": ar.name}


def _ar_view(participant: Participant) -> dict:
    ar = participant.accounts_receivable
    owner = ar.owner
    return {
        **_ar_short(participant),
        "life_cycle_state": ar.life_cycle_state,
        "account_owner": {
            "name": owner.name,
            "first_name": owner.first_name,
            "last_name": owner.last_name,
            "title": owner.title,
            "type": owner.type,
        },
    }


def _wallet_short(state: State, wallet: Wallet) -> dict:
    return {
        "id": wallet.id,
        "number": wallet.number,
        "balance": wallet.balance,
        "currency": _currency_view(state),
        "life_cycle_state": wallet.life_cycle_state,
    }


def _wallet_view(state: State, wallet: Wallet) -> dict:
    participant = state.participants[wallet.participant_id]
    return {**_wallet_short(state, wallet), "accounts_receivable": _ar_short(participant)}


def participant_view(state: State, participant: Participant) -> dict:
    return {
        "id": participant.id,
        "number": participant.number,
        "life_cycle_state": participant.life_cycle_state,
        "sign_up_on": participant.sign_up_on,
        "sign_up_by_unit": _unit_view(state.units[participant.sign_up_unit_id]),
        "accounts_receivable": _ar_view(participant),
        "wallet": _wallet_short(state, state.wallet_of(participant)),
        "currency": _currency_view(state),
        # Shape undocumented: a state plus a boolean is the least surprising reading.
        "spend_blocking_state": {
            "state": "BLOCKED" if participant.spend_blocked else "UNBLOCKED",
            "blocked": participant.spend_blocked,
        },
        "auto_spend_authorisation": None,
        "reward_tier": None,
        "participating_schemes_set": [],
    }


def _line_view(state: State, line: PurchaseLine) -> dict:
    product = state.products.get(line.product_id) if line.product_id else None
    if product is not None:
        product = {"id": product.id, "code": product.code, "description": product.description}
    quantity = line.quantity
    return {
        "id": line.id,
        "product": product,
        "quantity": int(quantity) if quantity == quantity.to_integral_value() else quantity,
        "net_amount": line.net_amount,
        "vat_amount": line.vat_amount,
        "total_amount": line.total_amount,
        "intended_product_identifier": line.intended_product_identifier,
    }


def purchase_view(state: State, purchase: Purchase) -> dict:
    participant = state.participants[purchase.participant_id]
    spent = state.spent_on(purchase)
    return {
        "id": purchase.id,
        "number": purchase.number,
        "type": "PURCHASE",
        "life_cycle_state": purchase.life_cycle_state,
        "performed_on": purchase.performed_on,
        "description": purchase.description,
        "reference_number": purchase.reference_number,
        "external_system": purchase.external_system,
        "external_system_reference_number": purchase.external_system_reference_number,
        "payment_medium_identifier": purchase.payment_medium_identifier,
        "promo_code": purchase.promo_code,
        "net_amount": purchase.net_amount,
        "vat_amount": purchase.vat_amount,
        "total_amount": purchase.total_amount,
        "total_awarded_amount": purchase.awarded_amount,
        "total_spend_amount": spent,
        "total_instant_spend_amount": ZERO,
        "total_automatic_spend_amount": ZERO,
        "total_additional_spend_amount": spent,
        "instant_spend_request": None,
        "automatic_spend_request": None,
        "classification": purchase.classification,
        "accounts_receivable": _ar_short(participant),
        "rewards_participant": {"id": participant.id, "number": participant.number},
        "performed_by_unit": _unit_view(state.units[purchase.unit_id]),
        "currency": _currency_view(state),
        "products_set": [_line_view(state, line) for line in purchase.lines],
        "log_information": {
            "created_date": purchase.submitted_on,
            "updated_date": purchase.updated_on or purchase.submitted_on,
        },
        **purchase.udf,
    }


def spend_request_view(state: State, spend: SpendRequest) -> dict:
    participant = state.participants[spend.participant_id]
    purchase = state.purchases[spend.purchase_id]
    return {
        "id": spend.id,
        "number": spend.number,
        "type": "SPEND REQUEST",
        "life_cycle_state": spend.life_cycle_state,
        "performed_on": spend.performed_on,
        "description": spend.description,
        "spend_amount": spend.spend_amount,
        "requested_spend_amount": spend.requested_amount,
        "external_system": spend.external_system,
        "external_system_reference_number": spend.external_system_reference_number,
        "instant_spend": False,
        "automatic_spend": False,
        "reduction_method": FRONT_END,
        "initiated_currency": _currency_view(state),
        "classification": spend.classification,
        "accounts_receivable": _ar_short(participant),
        "rewards_participant": {"id": participant.id, "number": participant.number},
        "performed_by_unit": _unit_view(state.units[spend.unit_id]),
        "purchase_customer_event": {
            "id": purchase.id,
            "number": purchase.number,
            "reference_number": purchase.reference_number,
        },
        "spend_reward_transaction": {
            "id": spend.transaction_id,
            "number": spend.transaction_number,
            "amount": spend.spend_amount,
            "life_cycle_state": spend.life_cycle_state,
            "date": spend.performed_on,
        },
        "log_information": {
            "created_date": spend.submitted_on,
            "updated_date": spend.updated_on or spend.submitted_on,
        },
        **spend.udf,
    }


def product_view(product: Product) -> dict:
    return {
        "id": product.id,
        "code": product.code,
        "alternative_code": product.alternative_code,
        "description": product.description,
        "long_description": product.long_description,
        "life_cycle_state": "EFFECTIVE" if product.is_valid(validation.now()) else "NOT_EFFECTIVE",
        "product_validity_from": product.valid_from,
        "product_validity_to": product.valid_to,
        **product.attributes,
    }


def snapshot(state: State, config: SimulatorConfig) -> dict:
    """Everything in the store, for ``GET /_simulator/state``."""
    participants = []
    for participant in state.participants.values():
        item = participant_view(state, participant)
        item["spend_blocked"] = participant.spend_blocked
        item["access_tokens"] = [
            {
                "authentication_code": token.authentication_code,
                "classification": token.classification,
                "identifier": token.identifier,
                "life_cycle_state": token.life_cycle_state,
            }
            for token in participant.access_tokens
        ]
        participants.append(item)
    now = time.time()
    return {
        "organisation": state.organisation,
        "units": [_unit_view(unit) for unit in state.units.values()],
        "participants": participants,
        "wallets": [_wallet_view(state, wallet) for wallet in state.wallets.values()],
        "purchases": [purchase_view(state, p) for p in state.purchases.values()],
        "spend_requests": [spend_request_view(state, s) for s in state.spend_requests.values()],
        "products": [product_view(product) for product in state.products.values()],
        "requests": list(state.journal),
        "counts": {
            "participants": len(state.participants),
            "wallets": len(state.wallets),
            "purchases": len(state.purchases),
            "spend_requests": len(state.spend_requests),
            "products": len(state.products),
            "tokens": len(state.tokens),
            "valid_tokens": sum(
                1
                for token in state.tokens.values()
                if token.problem(config.token_lifetime, now) is None
            ),
        },
    }


# -- shared request pieces -----------------------------------------------------------------------


def _customer_identifier(body: dict, *, required: bool) -> tuple[str, dict] | None:
    """Exactly one (or, when optional, at most one) of the two customer identifiers."""
    name = validation.one_of(body, CUSTOMER, required=required)
    if name is None:
        return None
    return name, validation.get_identifier(body, name, AR_KEYS if name == AR else PARTICIPANT_KEYS)


def _resolve_customer(state: State, customer: tuple[str, dict]) -> Participant:
    name, ident = customer
    ((key, value),) = ident.items()
    if key == "access_token_identifier":
        found = state.participant_by_access_token(value)
    elif name == AR:
        found = state.participant_by_ar(key, value)
    else:
        found = state.participant_by(key, value)
    if found is None:
        raise _not_found("Accounts receivable" if name == AR else "Rewards participant", ident)
    return found


def _resolve_unit(state: State, ident: dict) -> Unit:
    ((key, value),) = ident.items()
    unit = state.unit_by(key, value)
    if unit is None:
        raise _not_found("Unit", ident)
    return unit


def _check_currency(state: State, ident: dict | None) -> None:
    if ident is None:
        return
    ((key, value),) = ident.items()
    if getattr(state.currency, key) != value:
        raise validation.invalid(
            "The intended currency does not match the unit's currency",
            f"The unit works in {state.currency.code}.",
        )


def _require_effective(participant: Participant) -> None:
    if participant.life_cycle_state == "TERMINATED":
        raise ApiError(
            "PARTICIPANT_TERMINATED",
            "Rewards participant is terminated",
            f"Participant {participant.number} cannot take part in reward events.",
        )


def _spendable(config: SimulatorConfig, participant: Participant, balance, cap) -> Decimal:
    """What could be spent right now: capped by wallet, per-transaction max and ``cap``."""
    if participant.spend_blocked or participant.life_cycle_state != "EFFECTIVE":
        return ZERO
    amount = min(balance, config.max_spend, cap).quantize(validation.CENT, ROUND_DOWN)
    return amount if amount >= config.min_spend and amount > 0 else ZERO


def _event(state: State, body: dict, wanted: str) -> Purchase | SpendRequest:
    """Resolve ``customer_event_identifier`` to a purchase or a spend request (``wanted``)."""
    ident = validation.get_identifier(body, "customer_event_identifier", EVENT_KEYS, mandatory=True)
    ((key, value),) = ident.items()
    purchase = state.purchase_by(key, value)
    spend = state.spend_request_by(key, value)
    found, other = (purchase, spend) if wanted == "purchase" else (spend, purchase)
    if found is None:
        if other is not None:
            raise validation.invalid(f"The customer event is not a {wanted.replace('_', ' ')}")
        raise _not_found("Customer event", ident)
    return found


# -- authentication ------------------------------------------------------------------------------


def _basic_credentials(headers: Mapping[str, str]) -> tuple[str, str]:
    scheme, _, encoded = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _auth_failed("Send the Web API key as HTTP Basic user name.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _auth_failed("Malformed HTTP Basic credentials.") from None
    key, separator, password = decoded.partition(":")
    if not separator:
        raise _auth_failed("Malformed HTTP Basic credentials.")
    return key, password


def _login_unit(state: State, unit_id: str | None, default: str) -> Unit:
    unit = state.units.get(unit_id or default)
    if unit is None:
        raise _auth_failed(f"Unknown unit {unit_id}.")
    return unit


@api_method(
    "authentication/web_api_key/token", needs_token=False, body_optional=True, fields_set=False
)
def web_api_key_token(call: Call) -> dict:
    validation.check_parameters(call.body, {"unit"}, udf=False)
    unit_id = validation.get_str(call.body, "unit")
    key, password = _basic_credentials(call.headers)
    api_key = call.state.api_keys.get(key)
    if api_key is None:
        raise _auth_failed("Unknown Web API key.")
    if password:
        raise _auth_failed("The Web API key must be sent with an empty password.")
    unit = _login_unit(call.state, unit_id, api_key.unit_id)
    token = call.state.issue_token(key, "web_api_key", unit.id, call.config.token_lifetime)
    return {"token": token.value}


@api_method("authentication/token", needs_token=False, fields_set=False)
def user_token(call: Call) -> dict:
    mandatory = ("username", "password", "organisation")
    validation.check_parameters(call.body, {*mandatory, "unit"}, mandatory, udf=False)
    username, password, organisation = (
        validation.get_str(call.body, k, mandatory=True) for k in mandatory
    )
    unit_id = validation.get_str(call.body, "unit")
    user = call.state.users.get(username)
    if user is None or user.password != password or user.organisation != organisation:
        raise _auth_failed("Wrong user name, password or organisation.")
    unit = _login_unit(call.state, unit_id, user.unit_id)
    token = call.state.issue_token(username, "user", unit.id, call.config.token_lifetime)
    return {"token": token.value}


@api_method("authentication/token/release", fields_set=False)
def release_token(call: Call) -> None:
    validation.check_parameters(call.body, {"token"}, ("token",), udf=False)
    call.token.released = True


# -- customers -----------------------------------------------------------------------------------


@api_method("rewards_participants/show")
def show_participant(call: Call) -> dict:
    validation.check_parameters(call.body, {"token", RP, "fields_set"}, (RP,))
    ident = validation.get_identifier(call.body, RP, PARTICIPANT_KEYS, mandatory=True)
    # A terminated participant is returned as such: refusing it is the caller's business.
    return participant_view(call.state, _resolve_customer(call.state, (RP, ident)))


@api_method("wallets/show")
def show_wallet(call: Call) -> dict:
    validation.check_parameters(call.body, {"token", *CUSTOMER, "fields_set"})
    customer = _customer_identifier(call.body, required=True)
    participant = _resolve_customer(call.state, customer)
    return _wallet_view(call.state, call.state.wallet_of(participant))


# -- purchases -----------------------------------------------------------------------------------

_PREVIEW_PARAMS = _names(f"""
    token {AR} {RP} {UNIT} performed_on products_set classification_identifier
    payment_medium_brand_identifier payment_medium_type_identifier payment_medium_identifier
    intended_currency_identifier promo_code fields_set
""")
_PURCHASE_PARAMS = _PREVIEW_PARAMS | _names("""
    reference_number description external_system external_system_reference_number
    process_immediately invoice_identifier
""")
_LINE_KEYS = _names("product_identifier quantity net_amount vat_amount total_amount")


@dataclass
class _Line:
    product: dict | None
    quantity: Decimal
    net_amount: Decimal
    vat_amount: Decimal
    total_amount: Decimal


@dataclass
class _Basket:
    customer: tuple[str, dict]
    unit: dict
    performed_on: datetime
    lines: list[_Line]
    currency: dict | None
    classification: dict | None
    payment_medium_identifier: str | None
    promo_code: str | None

    def total(self, attr: str = "total_amount") -> Decimal:
        return sum((getattr(line, attr) for line in self.lines), ZERO)


def _parse_basket(body: dict, allowed: frozenset[str], mandatory: tuple[str, ...]) -> _Basket:
    validation.check_parameters(body, allowed, mandatory)
    customer = _customer_identifier(body, required=True)
    unit = validation.get_identifier(body, UNIT, UNIT_KEYS, mandatory=True)
    performed_on = validation.get_date(body, "performed_on", mandatory=True)
    for key in ("payment_medium_brand_identifier", "payment_medium_type_identifier"):
        validation.get_identifier(body, key, PAYMENT_MEDIUM_KEYS)
    return _Basket(
        customer=customer,
        unit=unit,
        performed_on=performed_on,
        lines=_parse_lines(body),
        currency=validation.get_identifier(body, "intended_currency_identifier", CURRENCY_KEYS),
        classification=validation.get_identifier(
            body, "classification_identifier", CLASSIFICATION_KEYS
        ),
        payment_medium_identifier=validation.get_str(body, "payment_medium_identifier"),
        promo_code=validation.get_str(body, "promo_code"),
    )


def _parse_lines(body: dict) -> list[_Line]:
    items = body.get("products_set")
    if not isinstance(items, list):
        raise validation.invalid("'products_set' must be a list")
    if not items:
        raise validation.invalid("'products_set' must not be empty")
    lines = []
    for index, item in enumerate(items):
        path = f"products_set[{index}]"
        if not isinstance(item, dict):
            raise validation.invalid(f"'{path}' must be an object")
        unknown = sorted(set(item) - _LINE_KEYS)
        if unknown:
            raise validation.invalid(f"Unknown key '{unknown[0]}' in '{path}'")
        product = item.get("product_identifier")
        if product is not None:
            product = validation.check_identifier(
                product, f"{path}.product_identifier", PRODUCT_KEYS
            )
        quantity = Decimal(1)
        if item.get("quantity") is not None:
            quantity = validation.parse_amount(item["quantity"], f"{path}.quantity")
            if quantity == 0:
                raise validation.invalid(f"'{path}.quantity' must be positive")
        net, vat, total = (
            validation.get_amount(item, key, mandatory=True, path=f"{path}.")
            for key in ("net_amount", "vat_amount", "total_amount")
        )
        if abs(net + vat - total) > validation.CENT:
            raise validation.invalid(
                f"'{path}': net_amount + vat_amount must equal total_amount",
                f"{net} + {vat} != {total}",
            )
        lines.append(
            _Line(
                product,
                quantity,
                validation.money(net),
                validation.money(vat),
                validation.money(total),
            )
        )
    return lines


@api_method("customer_events/purchases/preview")
def preview_purchase(call: Call) -> dict:
    state, config = call.state, call.config
    basket = _parse_basket(call.body, _PREVIEW_PARAMS, (UNIT, "performed_on", "products_set"))
    participant = _resolve_customer(state, basket.customer)
    _resolve_unit(state, basket.unit)
    _check_currency(state, basket.currency)
    _require_effective(participant)
    total = basket.total()
    balance = state.wallet_of(participant).balance
    award = validation.money(config.award_rate * total)
    spendable_from = balance + award if config.preview_spend_includes_award else balance
    additional = _spendable(config, participant, spendable_from, total)
    return {
        "total_award_amount": award,
        "total_instant_spend_amount": ZERO,
        "total_automatic_spend_amount": ZERO,
        "total_additional_spend_amount": additional,
        "minimum_spend_amount_per_transaction": validation.money(config.min_spend),
        "maximum_spend_amount_per_transaction": validation.money(config.max_spend),
        "reduction_method": FRONT_END,
        "rewards_participant_id": participant.id,
        "rewards_participant_name": participant.accounts_receivable.name,
        "wallet_balance": balance,
        "allow_spending": additional > 0,
    }


@api_method("customer_events/purchases/create")
def create_purchase(call: Call) -> dict:
    state, config, body = call.state, call.config, call.body
    basket = _parse_basket(
        body, _PURCHASE_PARAMS, ("reference_number", UNIT, "performed_on", "products_set")
    )
    reference = validation.get_str(body, "reference_number", mandatory=True)
    texts = {
        key: validation.get_str(body, key)
        for key in ("description", "external_system", "external_system_reference_number")
    }
    validation.get_bool(body, "process_immediately")
    validation.get_identifier(body, "invoice_identifier", INVOICE_KEYS)
    participant = _resolve_customer(state, basket.customer)
    unit = _resolve_unit(state, basket.unit)
    _check_currency(state, basket.currency)
    _require_effective(participant)
    if config.reject_duplicate_reference and any(
        p.reference_number == reference and p.life_cycle_state != "CANCELLED"
        for p in state.purchases.values()
    ):
        raise ApiError(
            config.duplicate_reference_code,
            "Duplicate reference number",
            f"A purchase with reference number {reference} already exists.",
        )
    lines = []
    for line in basket.lines:
        product = _find_product(state, line.product)
        lines.append(
            PurchaseLine(
                id=state.new_id(),
                quantity=line.quantity,
                net_amount=line.net_amount,
                vat_amount=line.vat_amount,
                total_amount=line.total_amount,
                product_id=product.id if product else None,
                intended_product_identifier=line.product if product is None else None,
            )
        )
    total = basket.total()
    award = validation.money(config.award_rate * total)
    purchase = Purchase(
        id=state.new_id(),
        number=state.next_number("PCE"),
        participant_id=participant.id,
        unit_id=unit.id,
        performed_on=basket.performed_on,
        submitted_on=validation.now(),
        reference_number=reference,
        lines=lines,
        net_amount=basket.total("net_amount"),
        vat_amount=basket.total("vat_amount"),
        total_amount=total,
        awarded_amount=award,
        classification=basket.classification,
        payment_medium_identifier=basket.payment_medium_identifier,
        promo_code=basket.promo_code,
        udf=validation.udf_values(body),
        **texts,
    )
    state.purchases[purchase.id] = purchase
    state.wallet_of(participant).balance += award
    return purchase_view(state, purchase)


def _find_product(state: State, ident: dict | None) -> Product | None:
    """Unknown or expired products are accepted: CRM.COM books them on a default product."""
    if ident is None:
        return None
    ((key, value),) = ident.items()
    product = state.product_by(key, value)
    return product if product is not None and product.is_valid(validation.now()) else None


@api_method("customer_events/purchases/cancel")
def cancel_purchase(call: Call) -> dict:
    state = call.state
    validation.check_parameters(
        call.body,
        {"token", "customer_event_identifier", "fields_set"},
        ("customer_event_identifier",),
    )
    purchase = _event(state, call.body, "purchase")
    if purchase.life_cycle_state != "POSTED":
        raise ApiError(
            "INVALID_STATE",
            "Only posted purchases can be cancelled",
            f"Purchase {purchase.number} is {purchase.life_cycle_state}.",
        )
    if state.posted_spend_requests(purchase):
        # The cascade is undocumented; refusing forces clients to cancel spends first (§11).
        raise ApiError(
            "INVALID_STATE",
            "The purchase has posted spend requests",
            "Cancel its spend requests before cancelling the purchase.",
        )
    wallet = state.wallet_of(state.participants[purchase.participant_id])
    # A wallet never goes negative: if the award was already spent elsewhere, only what is left
    # is taken back and the purchase is cancelled anyway (the loss is the merchant's).
    reversed_amount = min(purchase.awarded_amount, wallet.balance)
    wallet.balance -= reversed_amount
    purchase.award_reversed_amount = reversed_amount
    purchase.life_cycle_state = "CANCELLED"
    purchase.updated_on = validation.now()
    return purchase_view(state, purchase)


_LIST_PARAMS = _names(f"""
    token {AR} {RP} classification_identifier spend_requests_applied eligible_for_spending
    submitted_after_date submitted_before_date number_of_results offset fields_set
""")


@dataclass
class _ListQuery:
    """What every customer-event list method filters on, and its page."""

    participant: Participant | None
    classification: dict | None
    after: datetime | None
    before: datetime | None
    limit: int
    offset: int

    def matches(self, event: Purchase | SpendRequest) -> bool:
        # Submission bounds are inclusive: dates have one-second precision.
        return (
            (self.participant is None or event.participant_id == self.participant.id)
            and (self.classification is None or event.classification == self.classification)
            and (self.after is None or event.submitted_on >= self.after)
            and (self.before is None or event.submitted_on <= self.before)
        )

    def page(self, events: list) -> list:
        return events[self.offset : self.offset + self.limit]


def _list_query(
    state: State, body: dict, allowed: frozenset[str], *, required: bool = False
) -> _ListQuery:
    validation.check_parameters(body, allowed)
    customer = _customer_identifier(body, required=False)
    classification = validation.get_identifier(
        body, "classification_identifier", CLASSIFICATION_KEYS
    )
    if required and customer is None and classification is None:
        # "It is mandatory to specify one of the semi-optional parameters."
        raise validation.invalid(f"One of {AR}, {RP} or classification_identifier is mandatory")
    return _ListQuery(
        participant=_resolve_customer(state, customer) if customer else None,
        classification=classification,
        after=validation.get_date(body, "submitted_after_date"),
        before=validation.get_date(body, "submitted_before_date"),
        limit=validation.get_int(body, "number_of_results", minimum=1) or DEFAULT_PAGE_SIZE,
        offset=validation.get_int(body, "offset") or 0,
    )


@api_method("customer_events/purchases/list")
def list_purchases(call: Call) -> list:
    state, body = call.state, call.body
    query = _list_query(state, body, _LIST_PARAMS)
    applied = validation.get_bool(body, "spend_requests_applied")
    eligible = validation.get_bool(body, "eligible_for_spending")

    def keep(purchase: Purchase) -> bool:
        spent = state.spent_on(purchase)
        is_eligible = purchase.life_cycle_state == "POSTED" and spent < purchase.total_amount
        return (
            query.matches(purchase)
            and (applied is None or applied == bool(state.posted_spend_requests(purchase)))
            and (eligible is None or eligible == is_eligible)
        )

    matching = [p for p in state.purchases.values() if keep(p)]
    return [purchase_view(state, p) for p in query.page(matching)]


# -- spend requests ------------------------------------------------------------------------------

_PURCHASE_REF = "purchase_customer_request_identifier"  # sic, as printed in the docs (§15 Q4)
_SPEND_PARAMS = _names(f"""
    token {AR} {RP} classification_identifier {UNIT} performed_on description process_immediately
    {_PURCHASE_REF} spend_amount intended_currency_identifier external_system
    external_system_reference_number fields_set
""")


@api_method("customer_events/spend_requests/create")
def create_spend_request(call: Call) -> dict:
    state, config, body = call.state, call.config, call.body
    validation.check_parameters(body, _SPEND_PARAMS, (UNIT, "performed_on", _PURCHASE_REF))
    customer = _customer_identifier(body, required=False)
    unit_ident = validation.get_identifier(body, UNIT, UNIT_KEYS, mandatory=True)
    performed_on = validation.get_date(body, "performed_on", mandatory=True)
    purchase_ident = validation.get_identifier(body, _PURCHASE_REF, EVENT_KEYS, mandatory=True)
    requested = validation.get_amount(body, "spend_amount")
    currency = validation.get_identifier(body, "intended_currency_identifier", CURRENCY_KEYS)
    classification = validation.get_identifier(
        body, "classification_identifier", CLASSIFICATION_KEYS
    )
    validation.get_bool(body, "process_immediately")
    texts = {
        key: validation.get_str(body, key)
        for key in ("description", "external_system", "external_system_reference_number")
    }

    ((key, value),) = purchase_ident.items()
    purchase = state.purchase_by(key, value)
    if purchase is None:
        if state.spend_request_by(key, value) is not None:
            raise validation.invalid(f"'{_PURCHASE_REF}' must identify a purchase customer event")
        raise _not_found("Purchase customer event", purchase_ident)
    unit = _resolve_unit(state, unit_ident)
    _check_currency(state, currency)
    participant = state.participants[purchase.participant_id]
    if customer and _resolve_customer(state, customer) is not participant:
        raise validation.invalid("The customer does not match the purchase's customer")
    if purchase.life_cycle_state != "POSTED":
        raise ApiError(
            "INVALID_STATE",
            "Cannot spend on a cancelled purchase",
            f"Purchase {purchase.number} is {purchase.life_cycle_state}.",
        )
    _require_effective(participant)
    if participant.spend_blocked:
        raise ApiError(
            "SPEND_BLOCKED",
            "Spending is blocked",
            f"Spend requests are blocked for participant {participant.number}.",
        )
    reference = texts["external_system_reference_number"]
    if (
        reference
        and config.reject_duplicate_reference
        and any(
            s.external_system_reference_number == reference and s.life_cycle_state == "POSTED"
            for s in state.spend_requests.values()
        )
    ):
        raise ApiError(
            config.duplicate_reference_code,
            "Duplicate reference number",
            f"A spend request with external reference {reference} already exists.",
        )
    if requested is None:
        requested = purchase.total_amount
    wallet = state.wallet_of(participant)
    remaining = purchase.total_amount - state.spent_on(purchase)
    # Rounded down so the customer is never charged more than asked for or available.
    spent = min(requested, wallet.balance, config.max_spend, remaining).quantize(
        validation.CENT, ROUND_DOWN
    )
    if spent <= 0 or spent < config.min_spend:
        raise ApiError(
            "SPEND_NOT_ALLOWED",
            "Spend amount below the minimum",
            f"{spent} can be spent; the minimum per transaction is {config.min_spend}.",
        )
    spend = SpendRequest(
        id=state.new_id(),
        number=state.next_number("SR"),
        participant_id=participant.id,
        purchase_id=purchase.id,
        unit_id=unit.id,
        performed_on=performed_on,
        submitted_on=validation.now(),
        requested_amount=validation.money(requested),
        spend_amount=spent,
        transaction_id=state.new_id(),
        transaction_number=state.next_number("ST"),
        classification=classification,
        udf=validation.udf_values(body),
        **texts,
    )
    state.spend_requests[spend.id] = spend
    wallet.balance -= spent
    return spend_request_view(state, spend)


_SPEND_LIST_PARAMS = _names(f"""
    token {AR} {RP} classification_identifier submitted_after_date submitted_before_date
    number_of_results offset fields_set
""")


@api_method("customer_events/spend_requests/list")
def list_spend_requests(call: Call) -> list:
    state = call.state
    query = _list_query(state, call.body, _SPEND_LIST_PARAMS, required=True)
    matching = [s for s in state.spend_requests.values() if query.matches(s)]
    return [spend_request_view(state, s) for s in query.page(matching)]


@api_method("customer_events/spend_requests/cancel")
def cancel_spend_request(call: Call) -> dict:
    state = call.state
    validation.check_parameters(
        call.body,
        {"token", "customer_event_identifier", "fields_set"},
        ("customer_event_identifier",),
    )
    spend = _event(state, call.body, "spend_request")
    if spend.life_cycle_state != "POSTED":
        raise ApiError(
            "INVALID_STATE",
            "Only posted spend requests can be cancelled",
            f"Spend request {spend.number} is {spend.life_cycle_state}.",
        )
    state.wallet_of(state.participants[spend.participant_id]).balance += spend.spend_amount
    spend.life_cycle_state = "CANCELLED"
    spend.updated_on = validation.now()
    return spend_request_view(state, spend)


# -- products ------------------------------------------------------------------------------------

_PRODUCT_DATES = {"product_validity_from": "valid_from", "product_validity_to": "valid_to"}
_PRODUCT_IDENTIFIERS = {
    "type_identifier": ("id", "name", "alternative_code"),
    "brand_identifier": ("id", "name", "alternative_code"),
    "family_identifier": ("id", "name", "code"),
    "category_identifier": ("id", "name", "code"),
    "vat_rate_identifier": ("id", "name", "alternative_code"),
    "tax_rate_identifier": ("id", "name", "alternative_code"),
}
_PRODUCT_FIELDS = _names(
    "code alternative_code description long_description bundle_code priority_level global_rate"
    " component_quantity"
) | {*_PRODUCT_IDENTIFIERS, *_PRODUCT_DATES}


@api_method("products/synchronise")
def synchronise_products(call: Call) -> dict:
    state, body = call.state, call.body
    key = "synchronisation_definition_identifier"
    validation.check_parameters(
        body, {"token", key, "products_set", "fields_set"}, (key, "products_set")
    )
    definition = validation.get_identifier(body, key, SYNC_DEFINITION_KEYS, mandatory=True)
    items = body["products_set"]
    if not isinstance(items, list):
        raise validation.invalid("'products_set' must be a list")
    if len(items) > MAX_PRODUCTS:
        raise validation.invalid(
            f"At most {MAX_PRODUCTS} products per call", f"{len(items)} products were sent."
        )
    ((def_key, def_value),) = definition.items()
    if state.sync_definition_by(def_key, def_value) is None:
        raise _not_found("Synchronisation definition", definition)
    processed, unprocessed = [], []
    for item in items:
        code = item.get("code") if isinstance(item, dict) else None
        try:
            values = _parse_product(item)
            if code in call.config.refused_product_codes:
                raise ApiError(
                    "PRODUCT_REFUSED",
                    "Refused by the synchronisation definition",
                    f"Product {code} does not meet the definition's rules.",
                )
        except ApiError as err:
            unprocessed.append(
                {
                    "request_code": code if isinstance(code, str) else None,
                    "error_code": err.code,
                    "error_description": err.message,
                }
            )
            continue
        product, created = _store_product(state, values)
        processed.append(
            {
                "request_code": code,
                "id": product.id,
                "code": product.code,
                "message": "Product created" if created else "Product updated",
            }
        )
    return {"processed_products_set": processed, "unprocessed_products_set": unprocessed}


def _parse_product(item: Any) -> dict:
    """Validate one product of a synchronisation; its errors only reject that product."""
    if not isinstance(item, dict):
        raise ApiError("INVALID_PRODUCT", "A product must be an object")
    code = item.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError("MISSING_CODE", "The product code is mandatory")
    try:
        validation.check_parameters(item, _PRODUCT_FIELDS)
        # Only what was sent is returned, so only that is updated on an existing product.
        return {key: _product_value(item, key) for key in item}
    except ApiError as err:
        raise ApiError("INVALID_PRODUCT", err.message, err.description) from None


def _product_value(item: dict, key: str) -> Any:
    value = item[key]
    if key in _PRODUCT_IDENTIFIERS:
        return validation.get_identifier(item, key, _PRODUCT_IDENTIFIERS[key])
    if key == "priority_level":
        return validation.get_int(item, key)
    if key == "component_quantity":
        return validation.get_amount(item, key)
    if key in _PRODUCT_DATES:
        return validation.get_date(item, key)
    if key == "global_rate":  # shape undocumented: any object
        if value is not None and not isinstance(value, dict):
            raise validation.invalid("'global_rate' must be an object")
        return value
    if key.startswith("udf_"):  # already type-checked by check_parameters
        return value
    return validation.get_str(item, key)


def _store_product(state: State, values: dict) -> tuple[Product, bool]:
    now = validation.now()
    product = state.product_by("code", values["code"])
    created = product is None
    if created:
        product = Product(id=state.new_id(), code=values["code"], created_on=now, updated_on=now)
        state.add_product(product)
    for key, value in values.items():
        if key in _PRODUCT_DATES:
            setattr(product, _PRODUCT_DATES[key], value)
        elif key in ("alternative_code", "description", "long_description"):
            setattr(product, key, value)
        elif key != "code":
            product.attributes[key] = value
    product.updated_on = now
    return product, created

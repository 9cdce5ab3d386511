"""In-memory store of the simulator.

Plain dataclasses kept in dicts (insertion order = creation order). One re-entrant lock guards
the whole store: API calls are processed one at a time, which keeps every call atomic.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ORGANISATION = "CRMDEMO"
JOURNAL_SIZE = 1000  # requests kept for GET /_simulator/state


@dataclass
class SimulatorConfig:
    token_lifetime: int = 7200  # seconds after issue, regardless of use (R12+ behaviour)
    reject_duplicate_reference: bool = True
    # The code of that refusal is not documented: tests run the client under several.
    duplicate_reference_code: str = "DUPLICATE_REFERENCE_NUMBER"
    error_http_status: int = 200
    award_rate: Decimal = Decimal("0.05")
    min_spend: Decimal = Decimal("1.00")
    max_spend: Decimal = Decimal("50.00")
    # Products that products/synchronise refuses (unprocessed), as CRM.COM does with a
    # product its synchronisation definition's rules reject.
    refused_product_codes: tuple[str, ...] = ()
    # Whether a purchase preview's spendable amount counts the award of the purchase itself
    # (a spend is made on a posted purchase, whose award is already in the wallet). The
    # notes do not say: the till must read both right.
    preview_spend_includes_award: bool = False

    def update(self, values: dict[str, Any]) -> None:
        """Validate every value first so a bad request changes nothing."""
        known = {f.name: f for f in dataclasses.fields(self)}
        parsed = {}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            parsed[name] = _parse_config_value(name, value)
        for name, value in parsed.items():
            setattr(self, name, value)

    def copy_from(self, other: SimulatorConfig) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _parse_config_value(name: str, value: Any) -> Any:
    if name == "refused_product_codes":
        if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
            raise ValueError(f"{name} must be a list of product codes")
        return tuple(value)
    if name == "duplicate_reference_code":
        if not isinstance(value, str) or not value.strip() or value == "OK":
            raise ValueError(f"{name} must be a non-empty error code other than OK")
        return value
    if name in ("reject_duplicate_reference", "preview_spend_includes_award"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a boolean")
        return value
    if name in ("token_lifetime", "error_http_status"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
        if name == "error_http_status" and not 200 <= value <= 599:
            raise ValueError(f"{name} must be an HTTP status code")
        return value
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return amount


@dataclass
class Unit:
    id: str
    name: str
    alternative_code: str
    description: str = ""
    group_name: str = ""
    community_name: str = ""


@dataclass
class Currency:
    id: str
    code: str
    description: str


@dataclass
class User:
    username: str
    password: str
    organisation: str
    unit_id: str


@dataclass
class ApiKey:
    key: str
    classification: str
    organisation: str
    unit_id: str


@dataclass
class Token:
    value: str
    principal: str
    kind: str  # "web_api_key" or "user"
    unit_id: str
    issued_at: float
    released: bool = False
    expired: bool = False  # forced by expire_tokens()

    def problem(self, lifetime: int, now: float) -> str | None:
        """Why the token cannot be used, or None when it is valid."""
        if self.released:
            return "The token has been released"
        if self.expired or now >= self.issued_at + lifetime:
            return "The token has expired"
        return None


@dataclass
class AccessToken:
    authentication_code: str
    classification: str  # CARD / PHONE / EMAIL
    identifier: str | None = None
    pass_code: str | None = None
    life_cycle_state: str = "EFFECTIVE"


@dataclass
class AccountOwner:
    first_name: str
    last_name: str
    title: str
    type: str = "PERSON"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class AccountsReceivable:
    id: str
    number: str
    owner: AccountOwner
    life_cycle_state: str = "ACTIVE"

    @property
    def name(self) -> str:
        return self.owner.name


@dataclass
class Wallet:
    id: str
    number: str
    participant_id: str
    balance: Decimal
    life_cycle_state: str = "EFFECTIVE"


@dataclass
class Participant:
    id: str
    number: str
    accounts_receivable: AccountsReceivable
    wallet_id: str
    sign_up_on: datetime
    sign_up_unit_id: str
    access_tokens: list[AccessToken] = field(default_factory=list)
    life_cycle_state: str = "EFFECTIVE"
    spend_blocked: bool = False


@dataclass
class PurchaseLine:
    id: str
    quantity: Decimal
    net_amount: Decimal
    vat_amount: Decimal
    total_amount: Decimal
    product_id: str | None = None
    # Set when the product was not found: CRM.COM then books the line on a default product.
    intended_product_identifier: dict | None = None


@dataclass
class Purchase:
    id: str
    number: str
    participant_id: str
    unit_id: str
    performed_on: datetime
    submitted_on: datetime
    reference_number: str
    lines: list[PurchaseLine]
    net_amount: Decimal
    vat_amount: Decimal
    total_amount: Decimal
    awarded_amount: Decimal
    description: str | None = None
    external_system: str | None = None
    external_system_reference_number: str | None = None
    classification: dict | None = None
    payment_medium_identifier: str | None = None
    promo_code: str | None = None
    udf: dict = field(default_factory=dict)
    life_cycle_state: str = "POSTED"
    award_reversed_amount: Decimal = Decimal("0.00")
    updated_on: datetime | None = None


@dataclass
class SpendRequest:
    id: str
    number: str
    participant_id: str
    purchase_id: str
    unit_id: str
    performed_on: datetime
    submitted_on: datetime
    requested_amount: Decimal
    spend_amount: Decimal
    transaction_id: str
    transaction_number: str
    description: str | None = None
    external_system: str | None = None
    external_system_reference_number: str | None = None
    classification: dict | None = None
    udf: dict = field(default_factory=dict)
    life_cycle_state: str = "POSTED"
    updated_on: datetime | None = None


@dataclass
class Product:
    id: str
    code: str
    created_on: datetime
    updated_on: datetime
    alternative_code: str | None = None
    description: str | None = None
    long_description: str | None = None
    attributes: dict = field(default_factory=dict)  # identifiers, rates, udf… kept as sent
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def is_valid(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_to is None or at < self.valid_to
        )


@dataclass
class SyncDefinition:
    id: str
    name: str
    alternative_code: str


def stable_id(kind: str, key: str) -> str:
    """Deterministic CRM.COM-looking id (32 upper hex) so seeded ids survive a reseed."""
    return hashlib.md5(f"{kind}:{key}".encode(), usedforsecurity=False).hexdigest().upper()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class State:
    def __init__(self, currency: str = "EUR") -> None:
        self.lock = threading.RLock()
        self.clear(currency)

    def clear(self, currency: str = "EUR") -> None:
        with self.lock:
            self.organisation = ORGANISATION
            # The organisation's one currency: its wallets' and its units'.
            self.currency = Currency(f"CUR-{currency}", currency, currency)
            self.units: dict[str, Unit] = {}
            self.users: dict[str, User] = {}
            self.api_keys: dict[str, ApiKey] = {}
            self.tokens: dict[str, Token] = {}
            self.participants: dict[str, Participant] = {}
            self.wallets: dict[str, Wallet] = {}
            self.purchases: dict[str, Purchase] = {}
            self.spend_requests: dict[str, SpendRequest] = {}
            self.products: dict[str, Product] = {}
            # Catalogues hold 100,000s of products: look them up by code in O(1).
            self.products_by_code: dict[str, Product] = {}
            self.sync_definitions: dict[str, SyncDefinition] = {}
            self._counters: dict[str, int] = {}
            # The last API requests: method, the store they name, their token's unit.
            self.journal: deque[dict] = deque(maxlen=JOURNAL_SIZE)

    # -- identities --------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex.upper()

    def next_number(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}{self._counters[prefix]:07d}"

    def issue_token(self, principal: str, kind: str, unit_id: str, lifetime: int) -> Token:
        """A JWT-shaped opaque string (R12+ tokens are JWTs longer than 32 characters)."""
        issued_at = time.time()
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "sub": principal,
            "org": self.organisation,
            "unit": unit_id,
            "iat": int(issued_at),
            "exp": int(issued_at + lifetime),
            "jti": uuid.uuid4().hex,
        }
        payload = _b64url(json.dumps(claims).encode())
        value = f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"
        token = Token(value, principal, kind, unit_id, issued_at)
        self.tokens[value] = token
        return token

    def expire_tokens(self) -> int:
        with self.lock:
            for token in self.tokens.values():
                token.expired = True
            return len(self.tokens)

    # -- look-ups (None when nothing matches) -------------------------------------------------

    @staticmethod
    def _find(items, attr: str, value: Any):
        return next((item for item in items if getattr(item, attr) == value), None)

    def unit_by(self, key: str, value: str) -> Unit | None:
        return self._find(self.units.values(), key, value)

    def participant_by(self, key: str, value: str) -> Participant | None:
        return self._find(self.participants.values(), key, value)

    def participant_by_ar(self, key: str, value: str) -> Participant | None:
        return next(
            (p for p in self.participants.values() if getattr(p.accounts_receivable, key) == value),
            None,
        )

    def participant_by_access_token(self, ident: dict) -> Participant | None:
        """Only EFFECTIVE access tokens identify a customer."""
        code = ident.get("authentication_code")
        identifier = ident.get("identifier")
        for participant in self.participants.values():
            for token in participant.access_tokens:
                if token.life_cycle_state != "EFFECTIVE":
                    continue
                if code is not None and token.authentication_code == code:
                    return participant
                if (
                    identifier is not None
                    and token.identifier == identifier
                    and token.pass_code == ident.get("pass_code")
                ):
                    return participant
        return None  # one-time passwords are never valid here: no OTP was issued

    def wallet_of(self, participant: Participant) -> Wallet:
        return self.wallets[participant.wallet_id]

    def purchase_by(self, key: str, value: str) -> Purchase | None:
        return self._find(self.purchases.values(), key, value)

    def spend_request_by(self, key: str, value: str) -> SpendRequest | None:
        return self._find(self.spend_requests.values(), key, value)

    def product_by(self, key: str, value: str) -> Product | None:
        if key == "code":
            return self.products_by_code.get(value)
        return self._find(self.products.values(), key, value)

    def add_product(self, product: Product) -> None:
        self.products[product.id] = product
        self.products_by_code[product.code] = product

    def sync_definition_by(self, key: str, value: str) -> SyncDefinition | None:
        return self._find(self.sync_definitions.values(), key, value)

    def posted_spend_requests(self, purchase: Purchase) -> list[SpendRequest]:
        return [
            s
            for s in self.spend_requests.values()
            if s.purchase_id == purchase.id and s.life_cycle_state == "POSTED"
        ]

    def spent_on(self, purchase: Purchase) -> Decimal:
        return sum((s.spend_amount for s in self.posted_spend_requests(purchase)), Decimal("0.00"))

    # -- test controls -------------------------------------------------------------------------

    def amend_event(self, kind: str, reference: str, changes: dict[str, Any]) -> dict:
        """Change, behind the client's back, the newest event with this reference, as a
        person working in CRM.COM (or a lost write) would: what a reconciliation must find.

        ``kind``: ``purchase`` (by ``reference_number``) or ``spend_request`` (by
        ``external_system_reference_number``). ``changes``: ``forget`` (true: CRM.COM loses
        it), ``life_cycle_state`` (``POSTED`` or ``CANCELLED``), and ``total_amount``
        (purchases) or ``spend_amount`` (spend requests). Wallets are left as they are.
        Everything is checked before anything changes.
        """
        with self.lock:
            if kind == "purchase":
                events, key, amount = self.purchases, "reference_number", "total_amount"
            elif kind == "spend_request":
                events, key, amount = (
                    self.spend_requests,
                    "external_system_reference_number",
                    ("spend_amount"),
                )
            else:
                raise ValueError("kind must be purchase or spend_request")
            unknown = set(changes) - {"forget", "life_cycle_state", amount}
            if unknown:
                raise ValueError(f"cannot change {sorted(unknown)} of a {kind}")
            found = [event for event in events.values() if getattr(event, key) == reference]
            if not found:
                raise ValueError(f"no {kind} with {key} {reference!r}")
            event = found[-1]
            state = changes.get("life_cycle_state", event.life_cycle_state)
            if state not in ("POSTED", "CANCELLED"):
                raise ValueError("life_cycle_state must be POSTED or CANCELLED")
            value = changes.get(amount)
            if value is not None:
                try:
                    value = Decimal(str(value)).quantize(Decimal("0.01"))
                except InvalidOperation:
                    raise ValueError(f"{amount} must be a number") from None
            if changes.get("forget"):
                del events[event.id]
                return {"forgotten": event.number}
            event.life_cycle_state = state
            if value is not None:
                setattr(event, amount, value)
            return {"amended": event.number}

"""The one place that knows CRM.COM's HTTP, JSON, envelope and token rules.

See docs/crmcom-api.md: POST ``{base}/crmapi/rest/v2/{method}`` with a JSON body that
carries the token, a ``{"status": {...}, "data": ...}`` envelope on every reply, tokens that
expire two hours after issue.

Long on purpose: transport, envelope, token and the API methods are the one concept "how to
talk to CRM.COM", and splitting them would spread its rules over several files.
"""

import json
import logging
import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from . import errors, pool
from .token_store import MemoryTokenStore, StoredToken

_logger = logging.getLogger(__name__)

API_PATH = "/crmapi/rest/v2/"
SECRET_KEYS = frozenset({"token", "password", "api_key", "pass_code", "one_time_password"})
MASK = "***"
# Customers' identifiers: kept in the call log only masked, as much as recognising a customer
# needs (a card's or phone's last four characters, an e-mail's first letter and domain).
IDENTIFIER_KEYS = frozenset(
    {
        "authentication_code",
        "email",
        "email_address",
        "phone",
        "phone_number",
        "mobile",
        "mobile_number",
    }
)

# Methods that only read, or whose repetition is harmless: safe to resend on 5xx or a
# dropped connection. Anything else creates or changes something in CRM.COM and is resent
# only when the request provably never left this machine (connection refused).
SAFE_METHODS = frozenset(
    {
        "authentication/token",
        "authentication/web_api_key/token",
        "authentication/token/release",
        "rewards_participants/show",
        "wallets/show",
        "customer_events/purchases/preview",
        "customer_events/purchases/list",
        "customer_events/spend_requests/list",
    }
)
# products/synchronise takes at most this many products per call.
MAX_PRODUCTS_PER_SYNC = 1000
LOGIN_METHODS = frozenset({"authentication/token", "authentication/web_api_key/token"})
# What a till needs of a participant to identify a customer (rewards_participants/show).
PARTICIPANT_FIELDS = (
    "id",
    "number",
    "life_cycle_state",
    "accounts_receivable",
    "wallet",
    "currency",
    "spend_blocking_state",
)

# CRM.COM does not document its error codes (crmcom-api.md §15 Q1-Q2): these defaults are the
# simulator's and the most plausible names; both sets can be replaced per client.
DEFAULT_AUTH_ERROR_CODES = frozenset(
    {
        "INVALID_TOKEN",
        "EXPIRED_TOKEN",
        "TOKEN_EXPIRED",
        "UNAUTHORIZED",
        "AUTHENTICATION_FAILED",
    }
)
DEFAULT_NOT_FOUND_ERROR_CODES = frozenset({"NOT_FOUND"})


@dataclass
class CallRecord:
    """What the logging hook receives for every HTTP exchange (secrets masked)."""

    method: str
    started_at: float
    duration: float = 0.0
    outcome: str = "ok"  # ok, error class name in snake case otherwise
    http_status: int | None = None
    status_code: str | None = None
    message: str | None = None
    request: dict = field(default_factory=dict)
    response: str | None = None


def mask_secrets(value):
    """Return a copy of a JSON-like value with every secret field replaced by ``***`` and
    every customer identifier masked (:func:`mask_identifier`)."""
    if isinstance(value, dict):
        return {key: _masked_item(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def _masked_item(key, item):
    if key in SECRET_KEYS and item not in (None, ""):
        return MASK
    if key in IDENTIFIER_KEYS and isinstance(item, str) and item:
        return mask_identifier(item)
    return mask_secrets(item)


def mask_identifier(value):
    """``value`` (a card number, phone, e-mail) as the call log keeps it."""
    local, at, domain = value.partition("@")
    if at:
        return f"{local[:1]}{MASK}@{domain}"
    return MASK + value[-4:] if len(value) > 8 else MASK


def identifiers_in(value):
    """The customer identifiers a JSON-like request holds."""
    if isinstance(value, dict):
        return {
            found
            for key, item in value.items()
            for found in (
                {item}
                if key in IDENTIFIER_KEYS and isinstance(item, str) and item
                else identifiers_in(item)
            )
        }
    if isinstance(value, list):
        return {found for item in value for found in identifiers_in(item)}
    return set()


def _without_identifiers(text, identifiers):
    """``text`` (CRM.COM's message, its reply) with the request's identifiers masked."""
    if not text:
        return text
    for identifier in sorted(identifiers, key=len, reverse=True):
        text = text.replace(identifier, mask_identifier(identifier))
    return text


def parse_amount(value):
    """CRM.COM documents amounts as numbers but prints some as strings: accept both."""
    if value is None:
        return value
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _is_amount_key(key):
    return key.endswith(("_amount", "_balance")) or key in ("amount", "balance")


def normalise_amounts(value):
    """Turn every amount field of a reply into a Decimal, wherever it is nested."""
    if isinstance(value, dict):
        return {
            key: parse_amount(item)
            if _is_amount_key(key) and not isinstance(item, dict | list)
            else normalise_amounts(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalise_amounts(item) for item in value]
    return value


def identifier(**keys):
    """Build an identifier object, enforcing the documented "exactly one key" rule."""
    given = {key: value for key, value in keys.items() if value not in (None, "", {})}
    if len(given) != 1:
        raise ValueError(f"an identifier needs exactly one of {sorted(keys)}, got {sorted(given)}")
    return given


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# No attempt is started with less time than this left before the deadline: it could only
# time out. A creating call timed out has an unknown outcome: it is not sent at all with
# less than CREATING_CALL_SECONDS (or half its timeout, if shorter) left.
MIN_ATTEMPT_SECONDS = 0.05
CREATING_CALL_SECONDS = 2.0
# A Retry-After is waited for, plus up to this share of it (at most a second) so that tills
# told the same moment do not all come back at once; never less than it says.
RETRY_AFTER_JITTER = 0.1
# HTTP statuses after which a read is tried again: "too many requests" (nothing was done,
# as far as a read is concerned) and the server errors of a busy or restarting server.
RETRY_STATUSES = (429, 500, 502, 503, 504)


def _sleep(seconds):
    """The wait between attempts (tests replace it to see the waits without taking them)."""
    time.sleep(seconds)


class _DeadlineRetry(Retry):
    """urllib3's retry policy with jittered back-off, giving up when the client's deadline
    leaves no time for the next attempt after its wait, or when a server asks (Retry-After)
    for a longer wait than ``max_wait``: a till call never waits beyond its deadline.

    The wait before each attempt is drawn once, when the attempt is decided
    (:meth:`increment`), so the deadline check and the sleep agree."""

    def __init__(self, *args, time_left=None, max_wait=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_left = time_left
        self.max_wait = max_wait
        self.wait = None

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.time_left = self.time_left
        retry.max_wait = self.max_wait
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):
        retry = super().increment(method, url, response, error, _pool, **kw)
        wait = retry.next_wait(response)
        left = self.time_left() if self.time_left else None
        too_long = self.max_wait is not None and wait > self.max_wait
        if too_long or (left is not None and left <= wait + MIN_ATTEMPT_SECONDS):
            raise MaxRetryError(_pool, url, error or ResponseError("deadline reached"))
        retry.wait = wait
        return retry

    def next_wait(self, response=None):
        """Seconds to wait before the next attempt: the server's Retry-After (jittered
        upwards), else the jittered back-off."""
        retry_after = None
        if self.respect_retry_after_header and response is not None:
            try:
                retry_after = self.get_retry_after(response)
            except HTTPError:  # an unreadable header says nothing
                retry_after = None
        if retry_after is not None:
            return retry_after + random.uniform(0, min(1.0, RETRY_AFTER_JITTER * retry_after))
        return self.get_backoff_time()

    def get_backoff_time(self):
        """``backoff_factor`` × 2^(attempts − 1), "equal jitter" (half of it, plus up to the
        other half at random), from the first retry on: clients that failed together do not
        come back together."""
        failures = len(self.history)
        if failures == 0 or self.backoff_factor <= 0:
            return 0.0
        base = min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1))
        return random.uniform(base / 2, base)

    def sleep(self, response=None):
        wait = self.wait if self.wait is not None else self.next_wait(response)
        if wait > 0:
            _sleep(wait)


class _DeadlineTimeout(Timeout):
    """A connect and read timeout of at most ``seconds``, and never beyond the deadline:
    urllib3 clones the timeout for every attempt, so each retry gets only the time left."""

    def __init__(self, seconds, time_left):
        super().__init__(connect=seconds, read=seconds)
        self.seconds = seconds
        self.time_left = time_left

    # Compared like the number of seconds it stands for, as code that checks a timeout
    # (Odoo's test harness does) expects of requests' timeout argument.
    def __lt__(self, other):
        return self.seconds < other

    def __gt__(self, other):
        return self.seconds > other

    def clone(self):
        left = self.time_left()
        seconds = self.seconds if left is None else max(min(self.seconds, left), 0.001)
        # total: connecting and reading together, so that one attempt ends by the deadline.
        return Timeout(connect=seconds, read=seconds, total=seconds if left is not None else None)


def normalise_base_url(url):
    """``url`` as the client uses it: trimmed, scheme and host in lower case, no trailing
    slash (``HTTPS://Example.COM/`` is ``https://example.com``)."""
    url = (url or "").strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.rstrip("/")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def release_token(base_url, token, *, timeout=10.0, on_call=None, verify=True):
    """Invalidate ``token`` at ``base_url`` (§2.3), e.g. once a company's credentials changed.

    Needs no credentials: the token is the whole request."""
    client = CrmComClient(
        base_url, api_key="", timeout=timeout, on_call=on_call, retries=0, verify=verify
    )
    with client:
        client._post("authentication/token/release", {"token": token})


class CrmComClient:
    """A CRM.COM Web API client bound to one organisation, unit and set of credentials.

    Log in with a Web API key (``api_key``, recommended by the POS guide) or with ``username``,
    ``password`` and ``organisation``. ``token_store`` keeps the token between calls and
    processes; ``on_call`` receives a :class:`CallRecord` after every HTTP exchange, with the
    request as ``request_view`` (if given) shortens it, then with its secrets masked.

    HTTP sessions, and with them TCP and TLS connections, are kept between calls and between
    clients of the same ``pool_owner`` (e.g. a company's connection), server, ``verify`` and
    credentials (:mod:`crmcom.pool`). ``verify`` is True (the system's trusted authorities)
    or the path of a CA bundle (PEM file or folder) to trust instead: certificate checks
    cannot be turned off.
    """

    def __init__(
        self,
        base_url,
        *,
        api_key=None,
        username=None,
        password=None,
        organisation=None,
        unit=None,
        timeout=10.0,
        token_store=None,
        on_call=None,
        request_view=None,
        token_lifetime=7200,
        token_renew_margin=1200,
        retries=2,
        backoff_factor=0.3,
        auth_error_codes=DEFAULT_AUTH_ERROR_CODES,
        not_found_error_codes=DEFAULT_NOT_FOUND_ERROR_CODES,
        spend_purchase_key="purchase_customer_request_identifier",
        products_key="products_set",
        time_zone="UTC",
        clock=time.time,
        verify=True,
        pool_owner=None,
        max_retry_wait=30.0,
    ):
        base_url = normalise_base_url(base_url)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the CRM.COM base URL must start with http:// or https://")
        if api_key is None and not (username and password and organisation):
            raise ValueError("give an API key, or a username, password and organisation")
        if timeout <= 0:
            raise ValueError("the timeout must be positive")
        if verify is not True and not (isinstance(verify, str) and verify):
            # False would accept any certificate: credentials and customers' data to anyone.
            raise ValueError("verify is True or the path of a CA bundle to trust")
        if verify is not True and not os.path.exists(verify):
            raise ValueError(f"no CA bundle at {verify}")
        self.base_url = base_url
        self.api_key = api_key
        self.username = username
        self.password = password
        self.organisation = organisation
        self.unit = unit
        self.timeout = timeout  # connect and read each; a single number, as Odoo passes
        self.token_store = token_store if token_store is not None else MemoryTokenStore()
        self.on_call = on_call
        # e.g. keep the first products of a 1,000-product synchronisation: masking a copy of
        # all of them for a log that keeps three would cost more than the call's own JSON.
        self.request_view = request_view
        self.token_lifetime = token_lifetime
        self.token_renew_margin = token_renew_margin
        self.auth_error_codes = frozenset(auth_error_codes)
        self.not_found_error_codes = frozenset(not_found_error_codes)
        # Both names are unconfirmed (crmcom-api.md §15 Q4-Q5): configurable, documented default.
        self.spend_purchase_key = spend_purchase_key
        self.products_key = products_key
        # CRM.COM reads and writes dates as zone-less local times of the organisation (§1.4).
        self.time_zone = ZoneInfo(time_zone or "UTC")
        self.clock = clock
        self.verify = verify
        self.pool_owner = pool_owner
        self._credentials = pool.credentials_digest(api_key, username, password, organisation)
        self._deadline = None  # time.monotonic() by which every call must be over
        retry = {
            "backoff_factor": backoff_factor,
            "raise_on_status": False,
            "time_left": self._time_left,
            "max_wait": max_retry_wait,
        }
        # A read is tried again after a 429 or a 5xx, when the server's Retry-After (if any)
        # fits in the deadline.
        self._safe_retry = _DeadlineRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            allowed_methods=frozenset({"POST"}),
            status_forcelist=RETRY_STATUSES,
            respect_retry_after_header=True,
            **retry,
        )
        # Resend a creating call only when the connection was never established: not after a
        # 429 either, which CRM.COM does not promise to send before doing anything
        # (crmcom-api.md, Transport): its outcome is unknown, and the caller looks it up.
        self._unsafe_retry = _DeadlineRetry(
            total=retries,
            connect=retries,
            read=0,
            status=0,
            other=0,
            allowed_methods=frozenset({"POST"}),
            respect_retry_after_header=False,
            **retry,
        )

    # ------------------------------------------------------------------ transport

    def _pool(self):
        return pool.pool_for(self.pool_owner, self.base_url, self.verify, self._credentials)

    def close(self):
        """Nothing to close: each call gives its session back to the pool at once. Kept so
        that a client can be used as a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @contextmanager
    def deadline(self, seconds):
        """Every call made inside the block, retries and logins included, ends within
        ``seconds``: a till request waits for CRM.COM that long at most."""
        previous = self._deadline
        self._deadline = time.monotonic() + seconds
        try:
            yield self
        finally:
            self._deadline = previous

    def _time_left(self):
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _post(self, method, body, *, auth=None):
        """Send one request and return the envelope's ``data``; raise a typed error otherwise."""
        safe = method in SAFE_METHODS
        logged = self.request_view(body) if self.request_view else body
        record = CallRecord(method=method, started_at=self.clock(), request=mask_secrets(logged))
        started = time.monotonic()
        try:
            left = self._time_left()
            needed = MIN_ATTEMPT_SECONDS if safe else min(self.timeout / 2, CREATING_CALL_SECONDS)
            if left is not None and left < needed:
                # Not sent: whatever the method, nothing happened in CRM.COM.
                raise errors.CallTimeoutError(
                    "no time was left to call CRM.COM", method=method, outcome_unknown=False
                )
            try:
                with self._pool().lease(self._safe_retry if safe else self._unsafe_retry) as s:
                    response = s.post(
                        self.base_url + API_PATH + method,
                        data=json.dumps(body, default=_json_default),
                        headers={
                            "Content-Type": "application/json",
                            "Accept": "application/json",
                        },
                        auth=auth,
                        timeout=_DeadlineTimeout(self.timeout, self._time_left),
                        # A redirect would resend the body, token or password included,
                        # elsewhere.
                        allow_redirects=False,
                        verify=self.verify,
                    )
            except requests.RequestException as exc:
                raise self._transport_error(method, exc) from exc
            record.http_status = response.status_code
            record.response = response.text[:4000]
            data = self._unwrap(method, response, record, safe)
            if method in LOGIN_METHODS:
                record.response = json.dumps(mask_secrets(json.loads(response.text)))
            return data
        except errors.CrmComError as exc:
            record.outcome = _snake(type(exc).__name__)
            record.message = record.message or str(exc)
            raise
        finally:
            record.duration = time.monotonic() - started
            # CRM.COM's words may repeat what was asked: the log keeps none of it in clear.
            if identifiers := identifiers_in(body):
                record.message = _without_identifiers(record.message, identifiers)
                record.response = _without_identifiers(record.response, identifiers)
            self._report(record)

    def _transport_error(self, method, exc):
        # requests reports a read timeout as ConnectionError once urllib3's retries are spent.
        never_sent = isinstance(exc, requests.ConnectTimeout) or _caused_by(
            exc, (NewConnectionError, ConnectTimeoutError)
        )
        unknown = method not in SAFE_METHODS and not never_sent
        if isinstance(exc, requests.Timeout) or _caused_by(exc, ReadTimeoutError):
            return errors.CallTimeoutError(
                f"CRM.COM did not answer within {self.timeout:g} s",
                method=method,
                outcome_unknown=unknown,
            )
        return errors.TransportError(
            f"CRM.COM could not be reached: {exc.__class__.__name__}",
            description=str(exc),
            method=method,
            outcome_unknown=unknown,
        )

    def _unwrap(self, method, response, record, safe):
        """Parse the documented envelope; never trust the HTTP status alone.

        CRM.COM does not document the HTTP status of its errors. A server error (5xx) may come
        before or after the request was processed, with an error envelope or without one:
        whatever its body says, its outcome is not known, so it is a transport failure (the
        till's "unreachable"), never a business refusal. Only a rejected token is believed
        whatever the status: nothing is processed with it, and ``call`` logs in again.
        """
        try:
            payload = json.loads(response.text)
        except ValueError:
            payload = None
        status = payload.get("status") if isinstance(payload, dict) else None
        said = status if isinstance(status, dict) else {}
        said_code = said.get("code") if isinstance(said.get("code"), str) else None
        if response.status_code == 429 and said_code not in self.auth_error_codes:
            # What a 429 leaves done is not documented: nothing, for a read; for a creating
            # call, an outcome to look up rather than a refusal (it may be sent again later).
            raise errors.RateLimitedError(
                "CRM.COM asked to slow down (HTTP 429)",
                method=method,
                code=said_code,
                description=said.get("message") or said.get("description") or None,
                http_status=429,
                outcome_unknown=not safe,
                retry_after=_retry_after(response),
            )
        if response.status_code >= 500 and said_code not in self.auth_error_codes:
            raise errors.TransportError(
                f"CRM.COM failed with HTTP {response.status_code}",
                method=method,
                code=said_code,
                description=said.get("message") or said.get("description") or None,
                http_status=response.status_code,
                outcome_unknown=not safe,
            )
        if not isinstance(status, dict) or "code" not in status:
            if response.status_code in (401, 403):
                raise errors.AuthenticationError(
                    f"HTTP {response.status_code}", method=method, http_status=response.status_code
                )
            # A reply that is not the envelope: whatever happened, it happened.
            raise errors.BadReplyError(
                "CRM.COM's reply is not a valid JSON envelope",
                method=method,
                http_status=response.status_code,
                outcome_unknown=not safe,
            )
        code = status.get("code")
        if not isinstance(code, str):
            raise errors.BadReplyError(
                "CRM.COM's reply has no status code",
                method=method,
                http_status=response.status_code,
                outcome_unknown=not safe,
            )
        record.status_code = code
        record.message = status.get("message") or None
        if code != "OK":
            raise self._status_error(method, status, response.status_code)
        try:
            return normalise_amounts(payload.get("data"))
        except ValueError as exc:
            raise errors.BadReplyError(
                str(exc), method=method, http_status=response.status_code, outcome_unknown=not safe
            ) from exc

    def _status_error(self, method, status, http_status):
        code = status.get("code")
        if code in self.auth_error_codes or http_status in (401, 403):
            error_class = errors.AuthenticationError
        elif code in self.not_found_error_codes:
            error_class = errors.NotFoundError
        else:
            error_class = errors.BusinessRuleError
        return error_class(
            status.get("message") or status.get("description") or str(code),
            method=method,
            code=code,
            description=status.get("description") or None,
            http_status=http_status,
        )

    def _report(self, record):
        if self.on_call is None:
            return
        try:
            self.on_call(record)
        except Exception:  # a broken log must never break a sale
            _logger.exception("CRM.COM call hook failed for %s", record.method)

    # ------------------------------------------------------------------ token

    def login(self):
        """Obtain a new token, remember it in the token store and return it."""
        if self.api_key is not None:
            # The key is the Basic-auth user name with an empty password (§2.2).
            body = {"unit": self.unit} if self.unit else {}
            data = self._post(
                "authentication/web_api_key/token",
                body,
                auth=requests.auth.HTTPBasicAuth(self.api_key, ""),
            )
        else:
            body = {
                "username": self.username,
                "password": self.password,
                "organisation": self.organisation,
            }
            if self.unit:
                body["unit"] = self.unit
            data = self._post("authentication/token", body)
        token = data.get("token") if isinstance(data, dict) else None
        if not token or not isinstance(token, str):
            raise errors.BadReplyError(
                "CRM.COM's login reply holds no token", method="authentication/token"
            )
        self.token_store.save(StoredToken(token, self.clock()))
        return token

    def release_token(self):
        """Invalidate the current token in CRM.COM and forget it (§2.3)."""
        stored = self.token_store.load()
        if stored is None:
            return
        self.token_store.discard(stored.value)
        self._post("authentication/token/release", {"token": stored.value})

    def _current_token(self):
        stored = self.token_store.load()
        if stored is None or self.clock() - stored.issued_at >= (
            self.token_lifetime - self.token_renew_margin
        ):
            return self.login()
        return stored.value

    def call(self, method, params=None, *, fields=None):
        """Call ``method`` with ``params`` (token added) and return the reply's ``data``.

        ``fields`` (an iterable of top-level field names) becomes ``fields_set``. A rejected
        token is renewed once and the call made once more: nothing was processed with it.
        """
        body = dict(params or {})
        if fields:
            body["fields_set"] = ",".join(fields)
        token = self._current_token()
        try:
            return self._post(method, {"token": token, **body})
        except errors.AuthenticationError:
            self.token_store.discard(token)
            return self._post(method, {"token": self.login(), **body})

    # ------------------------------------------------------------------ API methods

    def show_participant(self, participant_identifier, *, fields=None):
        """``rewards_participants/show``: ``participant_identifier`` is one of ``id``,
        ``number`` or ``access_token_identifier`` (see :func:`identifier`)."""
        return self.call(
            "rewards_participants/show",
            {"rewards_participant_identifier": participant_identifier},
            fields=fields,
        )

    def show_wallet(self, *, participant_identifier=None, account_identifier=None, fields=None):
        params = identifier(
            rewards_participant_identifier=participant_identifier,
            accounts_receivable_identifier=account_identifier,
        )
        return self.call("wallets/show", params, fields=fields)

    def preview_purchase(self, customer, *, unit, performed_on, lines, fields=None, **extra):
        """``customer`` is ``{"accounts_receivable_identifier": ...}`` or
        ``{"rewards_participant_identifier": ...}``; ``lines`` are purchase product lines."""
        return self.call(
            "customer_events/purchases/preview",
            {
                **customer,
                "performed_by_unit_identifier": unit,
                "performed_on": self.format_date(performed_on),
                self.products_key: list(lines),
                **extra,
            },
            fields=fields,
        )

    def create_purchase(
        self, customer, *, unit, performed_on, reference_number, lines, fields=None, **extra
    ):
        if not reference_number:
            raise ValueError("a purchase needs a reference number")
        return self.call(
            "customer_events/purchases/create",
            {
                **customer,
                "performed_by_unit_identifier": unit,
                "performed_on": self.format_date(performed_on),
                "reference_number": reference_number,
                self.products_key: list(lines),
                **extra,
            },
            fields=fields,
        )

    def cancel_purchase(self, event_identifier, *, fields=None):
        return self.call(
            "customer_events/purchases/cancel",
            {"customer_event_identifier": event_identifier},
            fields=fields,
        )

    def list_purchases(self, customer=None, **kwargs):
        return self._list("customer_events/purchases/list", customer, **kwargs)

    def iter_purchases(self, customer=None, *, page_size=50, **kwargs):
        """Every purchase matching the filters, one page at a time."""
        return self._iter(self.list_purchases, customer, page_size, kwargs)

    def list_spend_requests(self, customer=None, **kwargs):
        """``customer_events/spend_requests/list`` (R5.0.0, deprecated R17.0.0 with the rest of
        the spend request methods; ``submitted_after_date`` from R12.2.0)."""
        return self._list("customer_events/spend_requests/list", customer, **kwargs)

    def iter_spend_requests(self, customer=None, *, page_size=50, **kwargs):
        """Every spend request matching the filters, one page at a time."""
        return self._iter(self.list_spend_requests, customer, page_size, kwargs)

    def _list(
        self,
        method,
        customer,
        *,
        submitted_after=None,
        submitted_before=None,
        limit=50,
        offset=0,
        fields=None,
        **filters,
    ):
        """One page of a customer-event list method: customer, dates, paging, filters."""
        params = {**(customer or {}), **filters, "number_of_results": limit, "offset": offset}
        if submitted_after:
            params["submitted_after_date"] = self.format_date(submitted_after)
        if submitted_before:
            params["submitted_before_date"] = self.format_date(submitted_before)
        return self.call(method, params, fields=fields) or []

    @staticmethod
    def _iter(list_page, customer, page_size, kwargs):
        """Every item of a list method, page after page (§1.6: stop on a short page)."""
        offset = 0
        while True:
            page = list_page(customer, limit=page_size, offset=offset, **kwargs)
            yield from page
            if len(page) < page_size:
                return
            offset += page_size

    def create_spend_request(
        self,
        purchase_identifier,
        *,
        unit,
        performed_on,
        amount=None,
        customer=None,
        fields=None,
        **extra,
    ):
        params = {
            **(customer or {}),
            "performed_by_unit_identifier": unit,
            "performed_on": self.format_date(performed_on),
            self.spend_purchase_key: purchase_identifier,
            **extra,
        }
        if amount is not None:
            params["spend_amount"] = parse_amount(amount)
        return self.call("customer_events/spend_requests/create", params, fields=fields)

    def cancel_spend_request(self, event_identifier, *, fields=None):
        return self.call(
            "customer_events/spend_requests/cancel",
            {"customer_event_identifier": event_identifier},
            fields=fields,
        )

    def synchronise_products(self, definition_identifier, products, *, fields=None):
        products = list(products)
        if not 1 <= len(products) <= MAX_PRODUCTS_PER_SYNC:
            raise ValueError(
                f"products/synchronise takes between 1 and {MAX_PRODUCTS_PER_SYNC:,} products "
                "per call"
            )
        return self.call(
            "products/synchronise",
            {
                "synchronisation_definition_identifier": definition_identifier,
                "products_set": products,
            },
            fields=fields,
        )

    # ------------------------------------------------------------------ dates

    def format_date(self, value):
        """A datetime as CRM.COM reads it: zone-less ``YYYY-MM-DDTHH:MM:SS`` in the
        organisation's time zone (§1.4). Naive datetimes are UTC, as Odoo keeps them."""
        if isinstance(value, str):
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        local = value.astimezone(self.time_zone)
        return local.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")

    def parse_date(self, value):
        """A date CRM.COM sent (local to the organisation, or with an offset) as a naive UTC
        datetime, or None when it is not a date."""
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.time_zone)
        return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def _retry_after(response):
    """The seconds a reply's Retry-After header asks to wait, or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return Retry().parse_retry_after(value)
    except HTTPError:
        return None


def _caused_by(exc, error_class):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, error_class) or isinstance(getattr(exc, "reason", None), error_class):
            return True
        exc = (
            exc.args[0]
            if exc.args and isinstance(exc.args[0], BaseException)
            else (exc.__cause__ or exc.__context__)
        )
    return False


def _snake(name):
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")

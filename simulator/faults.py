"""Fault injection: make chosen API calls slow, fail, lose their reply or corrupt it."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

# Faults that do not process the request at all. CRM.COM does not document the HTTP status of
# its errors, nor whether a server error carries the JSON envelope: "http_500" answers an HTML
# page, "http_500_envelope" an error envelope ({"status": {"code": "INTERNAL_ERROR"}}).
BEFORE_PROCESSING = frozenset(
    {"http_500", "http_500_envelope", "drop", "expired_token", "http_429"}
)
# Faults that process and commit the request, then spoil the reply (the two server errors
# above, answered after the work was done).
AFTER_PROCESSING = frozenset(
    {
        "drop_after",
        "timeout_after",
        "malformed_json",
        "http_500_after",
        "http_500_envelope_after",
        "http_429_after",
    }
)
KINDS = frozenset({"latency"}) | BEFORE_PROCESSING | AFTER_PROCESSING
SERVER_ERRORS = frozenset({"http_500", "http_500_envelope", "http_500_after",
                           "http_500_envelope_after"})  # fmt: skip
# "Too many requests" (HTTP 429, RFC 6585), with a Retry-After header of ``seconds`` (rounded
# up to whole seconds, as the header takes) or, when ``seconds`` is not given, without one.
# CRM.COM documents neither its rate limits nor whether a 429 can come after the work was
# done: "http_429" answers before processing, "http_429_after" after (the case that makes a
# blind resend of a creating call unsafe).
RATE_LIMITS = frozenset({"http_429", "http_429_after"})
DEFAULT_SECONDS = {"latency": 2.0, "timeout_after": 60.0}
_API_PREFIX = "crmapi/rest/v2/"


@dataclass
class Fault:
    kind: str
    method: str | None = None  # None: any API method
    times: int | None = 1  # None: until cleared
    seconds: float | None = None
    http_status: int = 500  # of the server-error kinds: 500, 502, 503...

    def matches(self, method: str, needs_token: bool) -> bool:
        if self.method is not None and self.method != method:
            return False
        # A login cannot meet an expired token; skipping it lets a client re-login and retry.
        return needs_token or self.kind != "expired_token"


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str,
        method: str | None = None,
        times: int | None = 1,
        seconds: float | None = None,
        http_status: int = 500,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(KINDS)}")
        if method is not None:
            if not isinstance(method, str) or not method.strip("/"):
                raise ValueError("method must be an API method name such as 'wallets/show'")
            method = method.strip("/").removeprefix(_API_PREFIX)
        if times is not None and (not isinstance(times, int) or isinstance(times, bool)
                                  or times < 1):  # fmt: skip
            raise ValueError("times must be a positive integer or None")
        if seconds is None:
            seconds = DEFAULT_SECONDS.get(kind)
        elif isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("seconds must be a non-negative number")
        if (
            isinstance(http_status, bool)
            or not isinstance(http_status, int)
            or not 500 <= http_status <= 599
        ):
            raise ValueError("http_status must be a server error status (500-599)")
        fault = Fault(kind, method, times, seconds, http_status)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, *, needs_token: bool = True) -> tuple[Fault | None, Fault | None]:
        """Consume the faults for one call: (latency or None, another kind or None).

        Latency combines with any other fault; among the other kinds the oldest one wins.
        """
        with self._lock:
            latency = next(
                (f for f in self._faults if f.kind == "latency" and f.matches(method, needs_token)),
                None,
            )
            other = next(
                (f for f in self._faults if f.kind != "latency" and f.matches(method, needs_token)),
                None,
            )
            for fault in (latency, other):
                if fault is not None and fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
            return latency, other

    def active(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

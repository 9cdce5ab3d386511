"""Typed failures of a CRM.COM call.

Every failure carries what CRM.COM said (``code``, ``message``, ``description``) and whether
the request may have been processed anyway (``outcome_unknown``): callers that create
something must reconcile before resending when it is true, and may resend when it is false.
"""


class CrmComError(Exception):
    """Base class: a CRM.COM call did not succeed."""

    #: True when CRM.COM may have processed the request although no valid answer came back.
    outcome_unknown = False

    def __init__(
        self,
        message,
        *,
        method=None,
        code=None,
        description=None,
        http_status=None,
        outcome_unknown=None,
    ):
        super().__init__(message)
        self.message = message
        self.method = method
        self.code = code
        self.description = description
        self.http_status = http_status
        if outcome_unknown is not None:
            self.outcome_unknown = outcome_unknown

    def __str__(self):
        text = self.message or self.__class__.__name__
        if self.code:
            text = f"{self.code}: {text}"
        if self.description and self.description != self.message:
            text = f"{text} ({self.description})"
        return text


class TransportError(CrmComError):
    """CRM.COM could not be reached, dropped the connection or failed with an HTTP error."""


class RateLimitedError(TransportError):
    """CRM.COM answered HTTP 429 (too many requests) and no retry fitted: after the wait it
    asked for (``retry_after``, seconds, None when it did not say), if any."""

    def __init__(self, message, *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class CallTimeoutError(TransportError):
    """No reply within the configured time. If the request was sent, its outcome is unknown."""


class AuthenticationError(CrmComError):
    """Login refused, or the token was rejected (invalid, released or expired)."""


class NotFoundError(CrmComError):
    """The participant, wallet, event or unit named by an identifier does not exist."""


class BusinessRuleError(CrmComError):
    """CRM.COM understood the request and refused it (any other non-OK status code)."""


class BadReplyError(CrmComError):
    """The reply is not the documented JSON envelope (not JSON, no status, bad amount...)."""

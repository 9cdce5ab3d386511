"""Plain-Python client for the CRM.COM Rewards Web API (v4 token API).

Nothing in this package imports Odoo: the add-on's models call it, and tests can use it alone.
"""

from .client import MAX_PRODUCTS_PER_SYNC, PARTICIPANT_FIELDS, CallRecord, CrmComClient
from .errors import (
    AuthenticationError,
    BadReplyError,
    BusinessRuleError,
    CrmComError,
    NotFoundError,
    CallTimeoutError,
    RateLimitedError,
    TransportError,
)
from .participants import spend_blocked
from .token_store import MemoryTokenStore, StoredToken, TokenStore

__all__ = [
    "AuthenticationError",
    "BadReplyError",
    "BusinessRuleError",
    "CallRecord",
    "CrmComClient",
    "CrmComError",
    "MAX_PRODUCTS_PER_SYNC",
    "MemoryTokenStore",
    "NotFoundError",
    "PARTICIPANT_FIELDS",
    "RateLimitedError",
    "StoredToken",
    "CallTimeoutError",
    "TokenStore",
    "TransportError",
    "spend_blocked",
]

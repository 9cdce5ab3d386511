"""Where the client keeps its token between calls.

The client never relies on one process's memory for correctness: in Odoo the store is a
database row shared by every worker, here a memory store for scripts and tests.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredToken:
    value: str
    issued_at: float  # POSIX timestamp: tokens expire a fixed time after issue (R12+)


class TokenStore(Protocol):
    def load(self) -> StoredToken | None:
        """Return the current token, if any."""

    def save(self, token: StoredToken) -> None:
        """Remember a freshly issued token."""

    def discard(self, value: str) -> None:
        """Forget ``value`` if it is still the current token (another worker may have renewed)."""


class MemoryTokenStore:
    def __init__(self):
        self._token = None

    def load(self):
        return self._token

    def save(self, token):
        self._token = token

    def discard(self, value):
        if self._token and self._token.value == value:
            self._token = None

"""HTTP sessions kept between CRM.COM calls, so that a till's calls reuse their TCP and TLS
connections instead of making a new handshake per call.

A process keeps one :class:`SessionPool` per *slot*: a company's connection (``owner``), or
for clients without one (scripts, tests), each server and trust setting. A pool holds idle
``requests.Session`` objects; a call *leases* one for its HTTP exchange (retries included)
and gives it back, so no two threads ever use the same session at once (Odoo's threaded
server runs requests in threads; a session's cookie jar and adapters are not meant to be
shared). A pool is bound to its server URL, its certificate verification and a digest of
the credentials of its slot: when one of them changes, the slot's old pool is closed (its
idle sessions at once, the leased ones when given back) and a new one replaces it. After a
``fork`` the child forgets every pool: the parent's sockets are not its to use.

Reuse is safe for every call: urllib3 drops a pooled connection that the server has closed
before sending on it, and a connection that breaks anyway while a request is sent is an
error like any dropped connection (a read is resent, a creating call reports an unknown
outcome: see :class:`crmcom.errors.CrmComError`).
"""

import hashlib
import os
import threading
import time
from contextlib import contextmanager
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

# Idle sessions kept per pool: more threads than this at once make sessions that are closed
# when given back.
MAX_IDLE_SESSIONS = 8
# A session idle longer than this is closed rather than reused: servers close idle
# keep-alive connections after their own delay (commonly 60 s or more), and one closed at
# the moment a request goes out would fail that request.
MAX_IDLE_SECONDS = 20.0
# Pools of clients without an owner (one per server and trust setting) kept per process.
MAX_ANONYMOUS_POOLS = 16


def credentials_digest(*values):
    """A digest of what a pool's sessions are used with (never kept in clear)."""
    return hashlib.sha256(repr(values).encode()).hexdigest()


class _Adapter(HTTPAdapter):
    """One connection per session (a session serves one call at a time); the retry policy
    is the leasing call's (see :meth:`SessionPool.lease`)."""

    def __init__(self):
        super().__init__(pool_connections=1, pool_maxsize=1)


def _new_session():
    session = requests.Session()
    # CRM.COM's API carries its token in the body: no cookie is needed, and none set by a
    # reply is ever sent with a later call (which may be another user's request).
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.mount("https://", _Adapter())
    session.mount("http://", _Adapter())
    return session


class SessionPool:
    """Idle sessions for one server URL, trust setting and set of credentials."""

    def __init__(self, key):
        self.key = key
        self._lock = threading.Lock()
        self._idle = []  # (session, monotonic time it was given back), most recent last
        self.closed = False
        self.sessions_made = 0  # for tests and measurements

    @contextmanager
    def lease(self, retry):
        """A session of this pool for one call, with ``retry`` (a urllib3 ``Retry``) as its
        policy; given back (or closed, if the pool was closed meanwhile) afterwards."""
        session = self._take()
        for adapter in session.adapters.values():
            adapter.max_retries = retry
        try:
            yield session
        finally:
            self._give_back(session)

    def _take(self):
        now = time.monotonic()
        with self._lock:
            # Given back in time order: the last is the most recent, the first the oldest.
            if self._idle and now - self._idle[-1][1] <= MAX_IDLE_SECONDS:
                session = self._idle.pop()[0]
                stale = []
                while self._idle and now - self._idle[0][1] > MAX_IDLE_SECONDS:
                    stale.append(self._idle.pop(0)[0])
            else:
                session = None
                stale = [candidate for candidate, _since in self._idle]
                self._idle = []
                self.sessions_made += 1
        for old in stale:
            old.close()
        return session if session is not None else _new_session()

    def _give_back(self, session):
        with self._lock:
            if not self.closed and len(self._idle) < MAX_IDLE_SESSIONS:
                self._idle.append((session, time.monotonic()))
                return
        session.close()

    def close(self):
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for session, _since in idle:
            session.close()


class _Registry:
    """This process's pools, by slot."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pools = {}


_registry = _Registry()


def pool_for(owner, base_url, verify, credentials):
    """The pool of ``owner`` (any hashable naming a connection, e.g. a database and company;
    None: no owner) for ``base_url``, ``verify`` and ``credentials`` (a digest). An owner's
    pool of other settings is closed and replaced."""
    key = (base_url, verify, credentials)
    slot = ("owner", owner) if owner is not None else ("anonymous", key)
    registry = _registry
    retired = []
    with registry.lock:
        pools = registry.pools
        found = pools.get(slot)
        if found is not None and found.key == key and not found.closed:
            return found
        if found is not None:
            retired.append(found)
        found = pools[slot] = SessionPool(key)
        anonymous = [name for name in pools if name[0] == "anonymous"]
        # Dicts keep their order: the first are the oldest.
        for name in anonymous[: max(0, len(anonymous) - MAX_ANONYMOUS_POOLS)]:
            retired.append(pools.pop(name))
    for old in retired:
        old.close()
    return found


def discard(owner):
    """Close ``owner``'s pool, e.g. once its connection's URL or credentials changed."""
    registry = _registry
    with registry.lock:
        found = registry.pools.pop(("owner", owner), None)
    if found is not None:
        found.close()


def close_all():
    """Close every pool of this process (tests, shutdown)."""
    registry = _registry
    with registry.lock:
        pools, registry.pools = registry.pools, {}
    for found in pools.values():
        found.close()


def _forget_after_fork():
    # The parent's sockets stay the parent's: drop them unclosed, with a lock no thread
    # of the parent may be holding.
    _registry.__init__()


os.register_at_fork(after_in_child=_forget_after_fork)

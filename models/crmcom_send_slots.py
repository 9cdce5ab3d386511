"""How many of the outbox's senders work for one company at once.

The outbox is drained by senders: the cron jobs "CRM.COM: submit purchases" (one or more),
run by Odoo's cron workers of every server on the database. Each takes rows with
``FOR UPDATE SKIP LOCKED``, so that no row is ever handled by two of them; what keeps them
from overwhelming one company's CRM.COM is a share of slots per company, held in PostgreSQL
so that it holds across processes and servers.

Before it handles a row, a sender takes one of the row's company's slots: a session-level
advisory lock on the sender's own database connection, so that it stays held across the
commit of each row. The sender releases its slots when its run ends, however it ends (rolled
back first if it failed); should its process die, PostgreSQL releases them with the
connection. A sender that finds every slot of a company taken leaves that company's rows to
the senders that hold them.
"""

import zlib

from odoo.tools import SQL

# The add-on's advisory locks use the two-key form, a key space of their own (PostgreSQL
# never mixes it with the one-key form Odoo uses). The first key names this use.
LOCK_SPACE = zlib.crc32(b"pos_crmcom_rewards: outbox senders per company") & 0x7FFFFFFF
# The second key is company * SLOTS_KEY_STRIDE + slot; the parameter's bound stays below.
SLOTS_KEY_STRIDE = 64


class SendSlots:
    """The slots one sender holds during one run: a context manager that releases them all
    at exit. ``cr`` is the sender's cursor."""

    def __init__(self, cr, per_company):
        self.cr = cr
        self.per_company = min(per_company, SLOTS_KEY_STRIDE)
        self.held = {}  # company id: the slot this sender holds
        self.passed = set()  # company ids whose rows this sender leaves to others this run

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is not None:
            # The run failed, maybe in SQL: the unlocking below needs a usable transaction,
            # and what failed is rolled back anyway.
            self.cr.rollback()
        for company_id, slot in self.held.items():
            self.cr.execute(
                SQL("SELECT pg_advisory_unlock(%s, %s)", LOCK_SPACE, _key(company_id, slot))
            )
        self.held.clear()

    def take(self, company_id):
        """Whether this sender may handle a row of ``company_id`` now (taking a free slot if
        it holds none); if not, the company is passed for the rest of the run."""
        if company_id in self.passed:
            return False
        if company_id in self.held:
            return True
        for slot in range(self.per_company):
            self.cr.execute(
                SQL("SELECT pg_try_advisory_lock(%s, %s)", LOCK_SPACE, _key(company_id, slot))
            )
            if self.cr.fetchone()[0]:
                self.held[company_id] = slot
                return True
        self.passed.add(company_id)
        return False

    def pass_company(self, company_id):
        """Leave the rest of ``company_id``'s rows for this run: its CRM.COM is down, or
        asks to slow down. The slot stays held to the end of the run, so that no other
        sender calls that CRM.COM in its place meanwhile."""
        self.passed.add(company_id)


def _key(company_id, slot):
    return company_id * SLOTS_KEY_STRIDE + slot

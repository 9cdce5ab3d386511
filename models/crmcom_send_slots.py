"""How many of the outbox's senders work for one company at once.

The outbox is drained by senders: the cron jobs "CRM.COM: submit purchases" (one or more),
run by Odoo's cron workers of every server on the database. Each takes rows with
``FOR UPDATE SKIP LOCKED``, so that no row is ever handled by two of them; what keeps them
from overwhelming one company's CRM.COM is a share of slots per company, held in PostgreSQL
so that it holds across processes and servers.

Before it handles a row, a sender takes one of the row's company's slots: a transaction-level
advisory lock on a database connection of the sender's own, as Odoo's cron holds the lock on
its job on a connection of its own, while its job's work commits on another. A sender holds
one company's slot at a time: moving on to another company's rows, it ends that
transaction, which releases the slot, and takes one of the other company's. Ending the
transaction is the only way the slot is released, and closing the cursor at the end of the
run ends it whatever happened; should the process die, PostgreSQL ends it with the
connection. No slot can outlive its sender. A sender that finds every slot of a company
taken leaves that company's rows to the senders that hold them, for the rest of its run.
"""

from odoo import sql_db
from odoo.tools import SQL

# First key of the senders' advisory locks ("CRMS"), as the token's ("CRMT") and the product
# synchronisation's ("CRMP"): the two-key form, a key space PostgreSQL keeps apart from the
# one-key form Odoo uses.
SENDER_LOCK_CLASS = 0x43524D53
# The second key is company * SLOTS_KEY_STRIDE + slot; the parameter's bound stays below.
SLOTS_KEY_STRIDE = 64


class SendSlots:
    """The slot one sender holds during one run: a context manager that opens the connection
    the slot is held on (of the database ``dbname``) and closes it at exit."""

    def __init__(self, dbname, per_company):
        self.dbname = dbname
        self.per_company = min(per_company, SLOTS_KEY_STRIDE)
        self.holding = None  # the company id whose slot this sender holds
        self.passed = set()  # company ids whose rows this sender leaves to others this run
        self.cr = None

    def __enter__(self):
        # Not the registry's cursor: in a test, that one shares the test's transaction.
        self.cr = sql_db.db_connect(self.dbname).cursor()
        return self

    def __exit__(self, *exc_info):
        self.holding = None
        self.cr.close()  # rolled back: the slot is released

    def take(self, company_id):
        """Whether this sender may handle a row of ``company_id`` now (taking a free slot
        of it if it holds none); if not, the company is passed for the rest of the run."""
        if company_id in self.passed:
            return False
        if self.holding == company_id:
            return True
        if self.holding is not None:
            self.cr.rollback()  # the other company's slot, for whoever needs it
            self.holding = None
        for slot in range(self.per_company):
            key = company_id * SLOTS_KEY_STRIDE + slot
            self.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", SENDER_LOCK_CLASS, key))
            if self.cr.fetchone()[0]:
                self.holding = company_id
                return True
        self.passed.add(company_id)
        return False

    def pass_company(self, company_id):
        """Leave the rest of ``company_id``'s rows for this run (its CRM.COM is down, or
        asks to slow down: the company is paused for every sender, see
        ``crmcom.connection.outbox_paused_until``), and its slot to others."""
        self.passed.add(company_id)
        if self.holding == company_id:
            self.cr.rollback()
            self.holding = None

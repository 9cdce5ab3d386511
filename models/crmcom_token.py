import logging
from datetime import datetime, timezone

import psycopg2.errors

from odoo import fields, models
from odoo.tools import SQL

from ..crmcom import StoredToken

_logger = logging.getLogger(__name__)
# First key of the advisory lock taken to write a company's token for one login unit
# ("CRMT"); the second is a hash of the company and the unit. (Product synchronisation uses
# "CRMP", the outbox's senders "CRMS".)
TOKEN_LOCK_CLASS = 0x43524D54


class CrmcomToken(models.Model):
    """The CRM.COM token of a company and login unit, shared by every Odoo worker.

    Tokens live two hours (R12+); keeping them in the database lets every worker reuse the
    one token instead of logging in per process. Rows are read and written with plain SQL
    so that a worker renewing the token never waits on, nor conflicts with, another one.
    """

    _name = "crmcom.token"
    _description = "CRM.COM API token"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", index=False)
    token = fields.Char(required=True)
    issued_at = fields.Datetime(required=True)
    # The server that issued it, the only one it is ever sent to.
    base_url = fields.Char()
    # What it was issued for (a hash of the server, login and store): a token of other
    # settings is never loaded, even one a request in flight saved after they changed.
    scope = fields.Char()
    # The unit ID it was issued for (CRM.COM's login takes an optional unit ID; empty: none).
    # A till whose store is given by ID logs in with it, so a company has one token per such
    # store (docs/architecture.md, "One store per point of sale").
    login_unit = fields.Char()

    _company_unit_uniq = models.UniqueIndex(
        "(company_id, COALESCE(login_unit, ''))", "One CRM.COM token per company and login unit."
    )


class CompanyTokenStore:
    """:class:`crmcom.TokenStore` on the ``crmcom_token`` table, for one company, the unit ID
    it logs in with (``login_unit``, None: no unit), the server ``base_url`` and the settings
    ``scope`` it was issued for: a token of another server, unit or of other credentials is
    never loaded."""

    def __init__(self, env, company, base_url, scope, login_unit=None):
        self.cr = env.cr
        self.company_id = company.id
        self.base_url = base_url
        self.scope = scope
        self.login_unit = login_unit or ""

    def load(self):
        self.cr.execute(
            SQL(
                """SELECT token, issued_at FROM crmcom_token
                    WHERE company_id = %s AND COALESCE(login_unit, '') = %s
                      AND base_url = %s AND scope = %s""",
                self.company_id,
                self.login_unit,
                self.base_url,
                self.scope,
            )
        )
        row = self.cr.fetchone()
        if not row:
            return None
        return StoredToken(row[0], row[1].replace(tzinfo=timezone.utc).timestamp())

    def save(self, token):
        issued_at = datetime.fromtimestamp(token.issued_at, timezone.utc).replace(tzinfo=None)
        self._write(
            SQL(
                """INSERT INTO crmcom_token
                      (company_id, login_unit, token, issued_at, base_url, scope, create_date,
                       write_date)
               VALUES (%(company)s, %(unit)s, %(token)s, %(issued_at)s, %(url)s, %(scope)s,
                       %(now)s, %(now)s)
               ON CONFLICT (company_id, (COALESCE(login_unit, ''))) DO UPDATE
                  SET token = EXCLUDED.token, issued_at = EXCLUDED.issued_at,
                      base_url = EXCLUDED.base_url, scope = EXCLUDED.scope,
                      write_date = EXCLUDED.write_date""",
                company=self.company_id,
                unit=self.login_unit or None,
                url=self.base_url,
                scope=self.scope,
                token=token.value,
                issued_at=issued_at,
                now=datetime.now(timezone.utc).replace(tzinfo=None),
            )
        )

    def discard(self, value):
        self._write(
            SQL(
                "DELETE FROM crmcom_token WHERE company_id = %s AND token = %s",
                self.company_id,
                value,
            )
        )

    def _write(self, query):
        # Another worker renewing at the same moment: its token is as good as ours, so give
        # up quietly rather than wait or abort the caller's transaction. A row lock cannot
        # say so when there is no row yet (the first login, or after a discard): a second
        # INSERT would wait on the unique index until the first transaction ends, which may
        # be after slow CRM.COM calls. Every writer takes this advisory lock instead.
        # One lock per company and login unit: the tokens of two stores are renewed at once.
        self.cr.execute(
            SQL(
                "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
                TOKEN_LOCK_CLASS,
                f"{self.company_id}/{self.login_unit}",
            )
        )
        if not self.cr.fetchone()[0]:
            _logger.info("CRM.COM token of company %s is being renewed elsewhere", self.company_id)
            return
        try:
            with self.cr.savepoint(flush=False):
                # Refused when another worker changed the row since this transaction began.
                self.cr.execute(query, log_exceptions=False)
        except psycopg2.errors.SerializationFailure:
            _logger.info("CRM.COM token of company %s was renewed elsewhere", self.company_id)

import logging

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)
# Transactions tried when other requests update the same counter at that moment: each
# round lets at least one of them through, so this bounds the wait, not the outcome.
MAX_ATTEMPTS = 20
# Counters of minutes older than this are of no use any more.
KEPT_MINUTES = 60
# The counters' transactions do not wait for their commit to reach the disk: other
# transactions see it at once all the same, and what a crash of PostgreSQL could lose (the
# last fraction of a second of counts) is a throttle's, not a record's.
ASYNC_COMMIT = SQL("SET LOCAL synchronous_commit TO OFF")


class CrmcomIdentifyQuota(models.Model):
    """How many identifications a till, or a user, made in one minute that found nobody
    (or are still waiting for CRM.COM's answer).

    A till asking CRM.COM for card numbers one after another would find out which exist:
    each key (a till, a user) may have a few such identifications per minute. The counter
    is taken *before* CRM.COM is asked and given back when a customer was found, in
    transactions of their own committed at once, so requests arriving together cannot all
    pass before the first failure is recorded (a count of logged failures could not see
    the requests still in flight).
    """

    _name = "crmcom.identify.quota"
    _description = "CRM.COM identifications that found nobody, per minute"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    key = fields.Char(required=True, help="What is limited: a till or a user.")
    minute = fields.Integer(required=True, help="Minutes since 1970-01-01 00:00 UTC.")
    used = fields.Integer(required=True, default=0)

    _key_minute_uniq = models.Constraint(
        "UNIQUE(key, minute)", "One counter per till or user and minute."
    )

    @api.model
    def _current_minute(self):
        return int(fields.Datetime.now().timestamp() // 60)

    @api.model
    def _take(self, company, keys, limit):
        """Count one identification against each of ``keys`` for this minute, unless one of
        them already has ``limit``: then count none. Return the minute counted (to give it
        back with :meth:`_give_back`), or ``None`` when refused."""
        minute = self._current_minute()
        # One statement for every key, in one order (no two requests lock them crosswise).
        keys = sorted(set(keys))

        def take(cr):
            cr.execute(
                SQL(
                    """%s;
                       INSERT INTO crmcom_identify_quota AS quota (company_id, key, minute, used)
                       SELECT %s, key, %s, 1 FROM unnest(%s::varchar[]) AS key
                           ON CONFLICT (key, minute) DO UPDATE
                                   SET used = quota.used + 1
                                 WHERE quota.used < %s
                       RETURNING key""",
                    ASYNC_COMMIT,
                    company.id,
                    minute,
                    keys,
                    limit,
                ),
                log_exceptions=False,
            )
            if len(cr.fetchall()) < len(keys):
                cr.rollback()  # one is at its limit: count none
                return None
            return minute

        return self._on_own_cursor(take, keys)

    @api.model
    def _give_back(self, keys, minute):
        """Undo :meth:`_take`: the identification found someone (or could not be made)."""

        def give_back(cr):
            cr.execute(
                SQL(
                    """%s;
                       UPDATE crmcom_identify_quota SET used = used - 1
                        WHERE key = ANY(%s) AND minute = %s AND used > 0""",
                    ASYNC_COMMIT,
                    list(keys),
                    minute,
                ),
                log_exceptions=False,
            )
            return True

        return self._on_own_cursor(give_back, keys)

    @api.model
    def _on_own_cursor(self, work, keys):
        """``work(cr)`` in a transaction of its own, committed at once (seen by every other
        request, whatever becomes of this one), tried again when it met another request's
        update of the same counter."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                with self.env.registry.cursor() as cr:
                    return work(cr)
            except psycopg2.errors.SerializationFailure:
                # Another request's update was committed after this transaction began: the
                # next one sees it.
                continue
        _logger.info("CRM.COM identification counters of %s left: too much contention", keys)
        return None

    @api.model
    def _prune(self):
        self.env.cr.execute(
            SQL(
                "DELETE FROM crmcom_identify_quota WHERE minute < %s",
                self._current_minute() - KEPT_MINUTES,
            )
        )

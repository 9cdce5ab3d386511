import json
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models
from odoo.tools import SQL

from .crmcom_parameters import CALL_LOG_RETENTION_DAYS

PRUNE_BATCH = 5000


class CrmcomCallLog(models.Model):
    """One exchange with CRM.COM, as reported by the client's logging hook (secrets masked)."""

    _name = "crmcom.call.log"
    _description = "CRM.COM API call"
    _order = "id desc"
    _rec_name = "method"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    method = fields.Char(required=True, readonly=True)
    called_at = fields.Datetime(required=True, readonly=True, index=True)
    duration_ms = fields.Integer(string="Duration (ms)", readonly=True)
    outcome = fields.Selection(
        [
            ("ok", "Success"),
            ("business_rule_error", "Refused by CRM.COM"),
            ("not_found_error", "Not found"),
            ("authentication_error", "Authentication failed"),
            ("transport_error", "Unreachable"),
            ("call_timeout_error", "Timed out"),
            ("rate_limited_error", "Too many requests"),
            ("bad_reply_error", "Invalid reply"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    http_status = fields.Integer(string="HTTP status", readonly=True)
    status_code = fields.Char(string="CRM.COM code", readonly=True)
    message = fields.Text(readonly=True)
    request = fields.Text(readonly=True, help="Request body, secrets masked.")
    response = fields.Text(readonly=True, help="Reply body (truncated), secrets masked.")
    unit = fields.Char(
        string="Store (unit)",
        readonly=True,
        index="btree_not_null",
        help="The CRM.COM store the request names: the unit performing a preview, purchase or "
        "spend, or the unit ID a login is made for. Empty when the request names none.",
    )
    res_model = fields.Char(string="Related model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Related record", model_field="res_model", readonly=True
    )

    # The CRM.COM tab of an order and of an outbox row reads the calls of one record.
    _res_idx = models.Index("(res_model, res_id)")

    @api.model
    def _log_call(self, record, company, related=None):
        """The client's ``on_call`` hook: store one :class:`crmcom.CallRecord`.

        One INSERT rather than the ORM's create, which costs a till request about a
        millisecond more (defaults, the user's record, the transaction's time): every call
        of every till request is logged, and nothing else of this row is computed."""
        outcomes = dict(self._fields["outcome"].selection)
        self.env.cr.execute(
            SQL(
                """INSERT INTO crmcom_call_log
                          (company_id, method, called_at, duration_ms, outcome, http_status,
                           status_code, message, request, response, unit, res_model, res_id,
                           create_uid, create_date, write_uid, write_date)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                           %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC')
                RETURNING id""",
                company.id,
                record.method,
                datetime.fromtimestamp(record.started_at, timezone.utc).replace(tzinfo=None),
                round(record.duration * 1000),
                # An error class the selection does not name is still a failed call.
                record.outcome if record.outcome in outcomes else "transport_error",
                record.http_status or None,
                record.status_code or None,
                record.message or None,
                json.dumps(record.request, indent=1, default=str),
                record.response or None,
                _request_unit(record.request) or None,
                related._name if related else None,
                related.id if related else None,
                self.env.uid,
                self.env.uid,
            )
        )
        return self.browse(self.env.cr.fetchone()[0])

    def _prune(self, limit=PRUNE_BATCH):
        """Delete up to ``limit`` entries older than the retention period; return how many."""
        days = CALL_LOG_RETENTION_DAYS.value(self.env)
        old = self.sudo().search(
            [("called_at", "<", fields.Datetime.now() - timedelta(days=days))], limit=limit
        )
        old.unlink()
        return len(old)

    @api.model
    def _cron_prune(self):
        self.env["crmcom.identify.quota"]._prune()
        # Each batch is committed on its own: a huge backlog is worked off across runs.
        while True:
            pruned = self._prune()
            time_left = self.env["ir.cron"]._commit_progress(pruned)
            if pruned < PRUNE_BATCH or time_left <= 0:
                return


def _request_unit(request):
    """The store a request names (``performed_by_unit_identifier``, or the login's ``unit``
    ID), as its value alone: what an administrator types to find a shop's calls."""
    if not isinstance(request, dict):
        return False
    unit = request.get("performed_by_unit_identifier")
    if isinstance(unit, dict) and len(unit) == 1:
        unit = next(iter(unit.values()))
    elif unit is None:
        unit = request.get("unit")
    return str(unit)[:128] if isinstance(unit, (str, int)) and unit != "" else False

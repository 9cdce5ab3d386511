"""Reconciliation with CRM.COM: for one company and one day, what Odoo recorded against what
CRM.COM holds, and the differences with the fix that is safe (docs/reconciliation.md).

The day is the company's business day: its contact's time zone (``partner_id.tz``), else its
connection's CRM.COM time zone, else UTC. Odoo's side is the company's ``crmcom.purchase``
rows *performed* that day; CRM.COM's side is what its list methods return for the
participants of those rows (CRM.COM lists filter on the *submission* date: a sale of the day
may be submitted days later, after an outage, so the lists are read from the day before and
kept by ``performed_on``). Rows and events are matched by participant and reference number
(purchases: ``reference_number``; spend requests: ``external_system_reference_number``, the
row's ``spend_reference``).

A fix never calls a creating or cancelling method itself: it hands the row back to the outbox
through a ``_set_*`` transition of ``crmcom.purchase``, and the outbox looks CRM.COM up before
it sends or cancels anything. A fix locks its line and its purchase, checks again that it is
still needed (asking CRM.COM where it records CRM.COM's event), and is done at most once.
"""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..crmcom import CrmComError
from .crmcom_messages import plain_error
from .crmcom_purchase import (
    CANCELLED,
    CRM_POSTED,
    POSTED,
    SENDING,
    SPEND_CANCELLED,
    SPEND_LIST_FIELDS,
    SPEND_POSTED,
    STALE_SENDING,
    STATES,
    TO_CANCEL,
)

_logger = logging.getLogger(__name__)

MANAGER = "point_of_sale.group_pos_manager"
# First key of the advisory lock of a company's reconciliation ("CRMR"); the company is the
# second: one run per company at a time (the scheduled one and a button, say).
LOCK_CLASS = 0x43524D52
# CRM.COM's lists filter on the submission date, and clocks differ: read from a day earlier.
CLOCK_MARGIN = timedelta(days=1)
RECON_PURCHASE_FIELDS = (
    "id",
    "number",
    "reference_number",
    "life_cycle_state",
    "total_amount",
    "total_awarded_amount",
    "performed_on",
    "performed_by_unit",
    "external_system_reference_number",
)
RECON_SPEND_FIELDS = (
    *SPEND_LIST_FIELDS,
    "performed_on",
    "performed_by_unit",
    "purchase_customer_event",
)
KINDS = [
    ("missing", "Missing in CRM.COM"),
    ("unknown", "Unknown to Odoo"),
    ("amount", "Amounts differ"),
    ("cancelled", "Cancelled on one side only"),
]
FIXES = [
    ("resubmit", "Resubmit"),
    ("adopt", "Adopt CRM.COM's event"),
    ("cancel", "Cancel in CRM.COM"),
    ("settle", "Clear up the spend"),
]


def _cancelled(row):
    return row.state in (CANCELLED, TO_CANCEL)


def _expected(row):
    """Whether CRM.COM should hold this row's purchase, posted: a paid sale not cancelled
    (whatever the outbox's progress), or any purchase Odoo recorded as posted."""
    return not _cancelled(row) and (row.state == POSTED or bool(row.pos_order_id))


def _being_sent(row):
    """A worker is sending it right now: nobody else touches it (the outbox's own rule)."""
    return row.state == SENDING and row.write_date > fields.Datetime.now() - STALE_SENDING


def _ours(event, row):
    """The event certainly is this row's: CRM.COM keeps the order's uuid Odoo sent with it."""
    return event.get("external_system_reference_number") == row.order_uuid or (
        bool(row.crmcom_number) and event.get("number") == row.crmcom_number
    )


def _posted(event):
    return event.get("life_cycle_state") == CRM_POSTED


def _spend_amount(event):
    """What a spend request lowered the bill by: only a front-end reduction counts (as
    ``crmcom.purchase._set_spend_posted`` records it)."""
    if event.get("reduction_method", "FRONT_END_REDUCTION") != "FRONT_END_REDUCTION":
        return 0.0
    return float(event.get("spend_amount") or 0)


class CrmcomReconciliation(models.Model):
    """One company's day, compared with CRM.COM: the figures of both sides and the lines
    that differ. Running a day again replaces its result."""

    _name = "crmcom.reconciliation"
    _description = "CRM.COM reconciliation of a day"
    _order = "date desc, id desc"
    _rec_name = "date"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(string="Day", required=True, readonly=True)
    state = fields.Selection(
        [("done", "Done"), ("failed", "Could not be completed")],
        required=True,
        default="done",
        readonly=True,
    )
    is_clean = fields.Boolean(
        string="Clean",
        compute="_compute_is_clean",
        store=True,
        help="Done, and Odoo and CRM.COM agree on every sale of the day.",
    )
    checked_at = fields.Datetime(string="Checked on", readonly=True)
    time_zone = fields.Char(readonly=True, help="The time zone the day was read in.")
    message = fields.Text(readonly=True)
    participant_count = fields.Integer(string="Customers", readonly=True)
    odoo_count = fields.Integer(string="Sales in Odoo", readonly=True)
    odoo_amount = fields.Monetary(string="Total in Odoo", readonly=True)
    odoo_spent = fields.Monetary(string="Spent in Odoo", readonly=True)
    crmcom_count = fields.Integer(string="Purchases in CRM.COM", readonly=True)
    crmcom_amount = fields.Monetary(string="Total in CRM.COM", readonly=True)
    crmcom_spent = fields.Monetary(string="Spent in CRM.COM", readonly=True)
    difference_count = fields.Integer(string="Differences", readonly=True)
    line_ids = fields.One2many("crmcom.reconciliation.line", "reconciliation_id", readonly=True)

    _company_date_uniq = models.Constraint(
        "UNIQUE(company_id, date)", "A company has one reconciliation per day."
    )

    @api.depends("state", "difference_count")
    def _compute_is_clean(self):
        for recon in self:
            recon.is_clean = recon.state == "done" and not recon.difference_count

    @api.depends("company_id", "date")
    def _compute_display_name(self):
        for recon in self:
            recon.display_name = f"{recon.company_id.name} {recon.date or ''}".strip()

    # ------------------------------------------------------------------ the day

    @api.model
    def _zone(self, company):
        name = company.partner_id.tz or company._crmcom_connection().time_zone or "UTC"
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    @api.model
    def _day_bounds(self, day, zone):
        """The day's start and end (excluded) as naive UTC datetimes, as Odoo stores them."""

        def utc(moment):
            return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

        start = datetime.combine(day, time.min, zone)
        return utc(start), utc(datetime.combine(day + timedelta(days=1), time.min, zone))

    @api.model
    def _yesterday(self, company):
        return (datetime.now(self._zone(company)) - timedelta(days=1)).date()

    # ------------------------------------------------------------------ entry points

    @api.model
    def _check_may_reconcile(self, company):
        """Point of Sale managers of the company only (the browser may send any company)."""
        if not self.env.user.has_group(MANAGER) or company not in self.env.user.company_ids:
            raise AccessError(
                self.env._("Only a Point of Sale manager of the company may reconcile it.")
            )

    @api.model
    def _action_reconcile(self, company, day):
        """A person's run: checked, then done as the server; the result's form."""
        self._check_may_reconcile(company)
        if day > datetime.now(self._zone(company)).date():
            raise UserError(self.env._("A day still to come cannot be reconciled."))
        recon = self.sudo()._reconcile(company, day)
        if recon is None:
            raise UserError(
                self.env._("This company is being reconciled right now: try again in a moment.")
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": recon.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_run_again(self):
        self.ensure_one()
        self.check_access("read")
        return self._action_reconcile(self.company_id, self.date)

    @api.model
    def _cron_reconcile(self):
        """Yesterday (in each company's time zone), for every company connected to CRM.COM;
        each company committed on its own."""
        cron = self.env["ir.cron"]
        connections = self.env["crmcom.connection"].sudo().search([("enabled", "=", True)])
        companies = connections.company_id
        cron._commit_progress(remaining=len(companies))
        for company in companies:
            if self.sudo()._reconcile(company, self._yesterday(company)) is None:
                _logger.info("CRM.COM reconciliation of %s skipped: running", company.name)
            if cron._commit_progress(1) <= 0:
                return

    # ------------------------------------------------------------------ the run

    def _take_lock(self, company):
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", LOCK_CLASS, company.id))
        return self.env.cr.fetchone()[0]

    @api.model
    def _reconcile(self, company, day):
        """Compare ``company``'s ``day`` with CRM.COM (as the server: call it sudo); store
        and return the result, which replaces that day's previous one. None when another run
        of the company holds the lock. CRM.COM's failures end in a "could not be completed"
        result, never in an exception."""
        company = company.sudo()
        if not self._take_lock(company):
            return None
        recon = self.search([("company_id", "=", company.id), ("date", "=", day)], limit=1)
        if not recon:
            recon = self.create({"company_id": company.id, "date": day})
        recon.line_ids.unlink()
        zone = self._zone(company)
        values = {"checked_at": fields.Datetime.now(), "time_zone": zone.key}
        try:
            result = recon._compare(company, *self._day_bounds(day, zone))
        except (CrmComError, ValidationError) as exc:
            _logger.info(
                "CRM.COM reconciliation of %s, %s not completed: %s", company.name, day, exc
            )
            recon.write(
                {
                    **values,
                    **dict.fromkeys(
                        (
                            "participant_count",
                            "odoo_count",
                            "odoo_amount",
                            "odoo_spent",
                            "crmcom_count",
                            "crmcom_amount",
                            "crmcom_spent",
                            "difference_count",
                        ),
                        0,
                    ),
                    "state": "failed",
                    "message": self.env._(
                        "Could not be completed: %(reason)s Run it again once CRM.COM can be "
                        "reached; nothing was changed.",
                        reason=plain_error(self.env, exc),
                    ),
                }
            )
            return recon
        lines = result.pop("lines")
        recon.write(
            {
                **values,
                **result,
                "state": "done",
                "difference_count": len(lines),
                "message": False,
                "line_ids": [Command.create(line) for line in lines],
            }
        )
        return recon

    def _compare(self, company, start, end):
        """The figures and difference lines of the day [start, end) (naive UTC)."""
        self.ensure_one()
        purchases = self.env["crmcom.purchase"].sudo()
        rows = purchases.search(
            [
                ("company_id", "=", company.id),
                ("performed_on", ">=", start),
                ("performed_on", "<", end),
            ],
            order="id",
        )
        numbers = sorted(set(rows.mapped("participant_number")))
        stores = [company._crmcom_unit_identifier()] + [row._unit_identifier() for row in rows]
        events, spends = self._read_crmcom(company, numbers, start, stores)

        def in_day(event):
            performed_on = event["_performed_on"]
            return performed_on is not None and start <= performed_on < end

        # Every row of the company these events may be, whatever its day.
        refs = {event.get("reference_number") for event in events} - {None}
        known = purchases.search(
            [("company_id", "=", company.id), ("reference", "in", list(refs))], order="id"
        )
        rows_by_key = defaultdict(lambda: purchases)
        for row in known | rows:
            rows_by_key[row.participant_number, row.reference] |= row
        events_by_key = defaultdict(list)
        for event in events:
            events_by_key[event["_participant"], event.get("reference_number")].append(event)

        lines, counted = [], []
        for key in sorted(set(rows_by_key) | set(events_by_key), key=str):
            group = rows_by_key.get(key, purchases)
            if group and not group & rows:
                continue  # another day's sale
            found = events_by_key.get(key, [])
            if not group:
                found = [event for event in found if in_day(event)]
            counted += [event for event in found if _posted(event)]
            lines += self._purchase_lines(group, found)

        spend_lines, spent = self._spend_lines(company, rows, spends, counted, in_day)
        expected = rows.filtered(_expected)
        return {
            "participant_count": len(numbers),
            "odoo_count": len(expected),
            "odoo_amount": sum(expected.mapped("amount_total")),
            "odoo_spent": sum(
                expected.filtered(lambda r: r.spend_state == SPEND_POSTED).mapped("spent")
            ),
            "crmcom_count": len(counted),
            "crmcom_amount": sum(float(event.get("total_amount") or 0) for event in counted),
            "crmcom_spent": spent,
            "lines": lines + spend_lines,
        }

    def _read_crmcom(self, company, numbers, start, stores):
        """The purchases and spend requests CRM.COM lists for these participants, submitted
        since the day began (less the margin), performed by one of ``stores`` (the
        company's, and each of the day's sales' own) when the event says which store
        performed it (CRM.COM's lists take no store filter)."""

        def our_store(event):
            store = event.get("performed_by_unit")
            if not isinstance(store, dict):
                return True  # not said: kept, and matched on its reference like any other
            return any(
                all(store.get(key, value) == value for key, value in unit.items())
                for unit in stores
                if unit
            )

        events, spends = [], []
        with company._crmcom_client(related=self) as client:
            since = start - CLOCK_MARGIN
            for number in numbers:
                customer = {"rewards_participant_identifier": {"number": number}}
                for found, iterate, fields_set in (
                    (events, client.iter_purchases, RECON_PURCHASE_FIELDS),
                    (spends, client.iter_spend_requests, RECON_SPEND_FIELDS),
                ):
                    found += [
                        {
                            **event,
                            "_participant": number,
                            "_performed_on": client.parse_date(event.get("performed_on")),
                        }
                        for event in iterate(customer, submitted_after=since, fields=fields_set)
                        if isinstance(event, dict) and our_store(event)
                    ]
        return events, spends

    # ------------------------------------------------------------------ matching

    def _purchase_lines(self, rows, events):
        """Pair one reference's rows and events (by CRM.COM number first, then active rows
        with posted events, then cancelled rows) and say what differs."""
        free = list(events)
        pairs = []

        def take(row, candidates):
            for event in candidates:
                if event in free:
                    free.remove(event)
                    pairs.append((row, event))
                    return True
            return False

        unpaired = []
        for row in rows.filtered("crmcom_number"):
            if not take(row, [e for e in free if e.get("number") == row.crmcom_number]):
                unpaired.append(row)
        unpaired += list(rows.filtered(lambda r: not r.crmcom_number))
        leftover = []
        for row in sorted(unpaired, key=_cancelled):  # active rows first
            posted_first = sorted(free, key=lambda e: not _posted(e))
            if not take(row, posted_first):
                leftover.append(row)

        lines = []
        for row, event in pairs:
            lines += self._pair_lines(row, event)
        for row in leftover:
            if _expected(row):
                lines.append(
                    self._line(
                        "missing",
                        row,
                        description=self.env._("CRM.COM has no purchase with this reference."),
                        fix="resubmit" if self._may_resubmit(row) else False,
                    )
                )
        for event in free:
            if _posted(event):
                lines.append(
                    self._line(
                        "unknown",
                        rows[:1],
                        event,
                        reference=event.get("reference_number"),
                        description=self.env._(
                            "A posted purchase Odoo has no sale for: no fix is offered, as "
                            "nothing in Odoo certainly is that sale."
                        )
                        if not rows
                        else self.env._(
                            "A second posted purchase with this sale's reference: no fix is "
                            "offered, a person decides which one stays."
                        ),
                    )
                )
        return lines

    def _pair_lines(self, row, event):
        posted = _posted(event)
        if not _cancelled(row) and posted:
            if row.state != POSTED:
                return [
                    self._line(
                        "unknown",
                        row,
                        event,
                        description=self.env._(
                            "CRM.COM has this purchase; Odoo has not recorded it."
                        ),
                        fix="adopt" if _ours(event, row) and not _being_sent(row) else False,
                    )
                ]
            total = float(event.get("total_amount") or 0)
            if row.currency_id.compare_amounts(total, row.amount_total):
                return [
                    self._line(
                        "amount",
                        row,
                        event,
                        crmcom_amount=total,
                        description=self.env._(
                            "The purchase's total differs: no fix is offered, as CRM.COM's "
                            "token API cannot change a purchase."
                        ),
                    )
                ]
            return []
        if not _cancelled(row) and not posted and _expected(row):
            return [
                self._line(
                    "cancelled",
                    row,
                    event,
                    description=self.env._("Cancelled in CRM.COM, not in Odoo."),
                    fix="resubmit" if self._may_resubmit(row) else False,
                )
            ]
        if _cancelled(row) and posted:
            return [
                self._line(
                    "cancelled",
                    row,
                    event,
                    description=self.env._("Cancelled in Odoo, posted in CRM.COM."),
                    fix="cancel" if _ours(event, row) else False,
                )
            ]
        return []

    def _may_resubmit(self, row):
        """Resubmitting is safe for a paid sale whose customer got no wallet discount that
        CRM.COM would lose with it: the outbox looks it up and sends it only if it is not
        there. A sale with a posted spend is a person's: the discount was given."""
        return bool(row.pos_order_id) and row.spend_state != SPEND_POSTED and not _being_sent(row)

    def _spend_lines(self, company, rows, spends, counted, in_day):
        """The spend requests of the day's rows, matched by their external reference, and
        the posted ones CRM.COM holds for the day that no row made."""
        by_key = defaultdict(list)
        for spend in spends:
            by_key[spend["_participant"], spend.get("external_system_reference_number")].append(
                spend
            )
        lines, spent = [], 0.0
        for row in rows.filtered("spend_reference"):
            found = sorted(
                by_key.pop((row.participant_number, row.spend_reference), []),
                key=lambda e: not _posted(e),
            )
            event = found[0] if found else None
            if event and _posted(event):
                spent += _spend_amount(event)
            line = self._spend_line(row, event)
            if line:
                lines.append(line)
        # What is left: spends no row of the day made. Those another day's row made are
        # that day's; the others count here if their purchase, or failing that their date,
        # is of the day.
        left = [spend for found in by_key.values() for spend in found if _posted(spend)]
        others = (
            self.env["crmcom.purchase"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    (
                        "spend_reference",
                        "in",
                        [s.get("external_system_reference_number") for s in left],
                    ),
                ]
            )
        )
        elsewhere = {(r.participant_number, r.spend_reference) for r in others}
        numbers = {event.get("number") for event in counted}
        for spend in left:
            if (spend["_participant"], spend.get("external_system_reference_number")) in elsewhere:
                continue
            purchase = spend.get("purchase_customer_event")
            of_day = (
                purchase.get("number") in numbers
                if isinstance(purchase, dict) and purchase.get("number")
                else in_day(spend)
            )
            if not of_day:
                continue
            spent += _spend_amount(spend)
            lines.append(
                self._line(
                    "unknown",
                    self.env["crmcom.purchase"],
                    spend,
                    event_type="spend",
                    reference=spend.get("external_system_reference_number"),
                    crmcom_amount=_spend_amount(spend),
                    odoo_amount=0.0,
                    description=self.env._(
                        "A posted spend request Odoo made for no sale: no fix is offered, as "
                        "nothing in Odoo certainly is its sale."
                    ),
                )
            )
        return lines, spent

    def _spend_line(self, row, event):
        """One row's spend request against CRM.COM's (``event``: posted first, or None)."""
        spend = {
            "event_type": "spend",
            "reference": row.spend_reference,
            "odoo_amount": row.spent,
            "crmcom_amount": _spend_amount(event) if event else 0.0,
        }
        expected = not _cancelled(row) and row.spend_state == SPEND_POSTED
        posted = bool(event) and _posted(event)
        if expected and posted:
            if row.currency_id.compare_amounts(_spend_amount(event), row.spent):
                return self._line(
                    "amount",
                    row,
                    event,
                    **spend,
                    description=self.env._(
                        "What was spent differs: no fix is offered, the discount was given."
                    ),
                )
            return None
        if expected:
            return self._line(
                "cancelled" if event else "missing",
                row,
                event,
                **spend,
                description=self.env._(
                    "Odoo booked this wallet discount; CRM.COM does not hold its spend request "
                    "as posted. No fix is offered: spending again may spend another amount."
                ),
            )
        if not posted:
            return None
        spend["odoo_amount"] = 0.0  # Odoo counts nothing spent on it
        if _cancelled(row):
            return self._line(
                "cancelled",
                row,
                event,
                **spend,
                description=self.env._("Cancelled in Odoo, spend request posted in CRM.COM."),
                fix="cancel",
            )
        settle = row.state == POSTED and bool(row.pos_order_id)
        return self._line(
            "cancelled" if row.spend_state == SPEND_CANCELLED else "unknown",
            row,
            event,
            **spend,
            description=self.env._(
                "CRM.COM holds this spend request posted; Odoo does not record it as spent."
            ),
            fix="settle" if settle else False,
        )

    def _line(self, kind, row, event=None, *, event_type="purchase", **values):
        return {
            "kind": kind,
            "event_type": event_type,
            "purchase_id": row.id or False,
            "pos_order_id": row.pos_order_id.id or False,
            "reference": row.reference,
            "participant_number": row.participant_number or (event or {}).get("_participant"),
            "odoo_state": row.state if row else False,
            "odoo_amount": row.amount_total if row else 0.0,
            "crmcom_number": (event or {}).get("number"),
            "crmcom_state": (event or {}).get("life_cycle_state"),
            "crmcom_amount": float((event or {}).get("total_amount") or 0) if event else 0.0,
            **values,
        }


class CrmcomReconciliationLine(models.Model):
    """One difference of a day, with the fix that is safe for it, if there is one."""

    _name = "crmcom.reconciliation.line"
    _description = "CRM.COM reconciliation difference"
    _order = "id"

    reconciliation_id = fields.Many2one(
        "crmcom.reconciliation", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        related="reconciliation_id.company_id", store=True, index=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    kind = fields.Selection(KINDS, string="Difference", required=True, readonly=True)
    event_type = fields.Selection(
        [("purchase", "Purchase"), ("spend", "Spend request")],
        string="Event",
        required=True,
        readonly=True,
    )
    reference = fields.Char(readonly=True)
    participant_number = fields.Char(string="Participant", readonly=True)
    purchase_id = fields.Many2one(
        "crmcom.purchase", string="CRM.COM award", readonly=True, ondelete="set null"
    )
    pos_order_id = fields.Many2one(
        "pos.order", string="POS order", readonly=True, ondelete="set null"
    )
    odoo_state = fields.Selection(STATES, string="In Odoo", readonly=True)
    crmcom_state = fields.Char(string="In CRM.COM", readonly=True)
    crmcom_number = fields.Char(string="CRM.COM number", readonly=True)
    odoo_amount = fields.Monetary(string="Odoo amount", readonly=True)
    crmcom_amount = fields.Monetary(string="CRM.COM amount", readonly=True)
    description = fields.Text(readonly=True)
    fix = fields.Selection(FIXES, readonly=True)
    fix_state = fields.Selection(
        [("done", "Done"), ("not_needed", "Nothing left to do")], readonly=True
    )
    fix_message = fields.Char(readonly=True)

    def action_fix(self):
        """The line's fix, for a Point of Sale manager of its company; at most once."""
        self.check_access("read")
        if not self.env.user.has_group(MANAGER):
            raise AccessError(self.env._("Only a Point of Sale manager may fix a difference."))
        messages = [line.sudo()._fix() for line in self]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": "\n".join(messages),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _fix(self):
        """Apply the fix once; return what was done, in plain words."""
        self.ensure_one()
        self.flush_recordset()
        # Two clicks at once: the second waits here, then finds the line done.
        self.env.cr.execute(
            SQL("SELECT id FROM crmcom_reconciliation_line WHERE id = %s FOR UPDATE", self.id)
        )
        self.invalidate_recordset()
        if self.fix_state or not self.fix:
            return self.env._("Nothing to do: this difference was already dealt with.")
        purchase = self.purchase_id
        if not purchase or not purchase._lock_for_fix():
            raise UserError(
                self.env._(
                    "This sale is being handled right now (by the outbox or a till): try "
                    "again in a moment."
                )
            )
        try:
            done = getattr(self, f"_fix_{self.fix}")(purchase)
        except CrmComError as exc:
            raise UserError(
                self.env._(
                    "%(reason)s Nothing was changed; try again later.",
                    reason=plain_error(self.env, exc),
                )
            ) from exc
        if done:
            self.env["crmcom.purchase"]._wake_senders()
            message = done
            self.write({"fix_state": "done", "fix_message": message})
        else:
            message = self.env._(
                "Nothing to do any more: the sale changed since the day was checked. Run the "
                "day again to see where it stands."
            )
            self.write({"fix_state": "not_needed", "fix_message": message})
        return message

    def _fix_resubmit(self, purchase):
        if _cancelled(purchase) or not self.reconciliation_id._may_resubmit(purchase):
            return False
        purchase._set_to_look_up()
        return self.env._(
            "Due again: the outbox looks the purchase up in CRM.COM and sends it only if "
            "CRM.COM does not have it."
        )

    def _fix_settle(self, purchase):
        if purchase.state != POSTED or not purchase.pos_order_id:
            return False
        if purchase.spend_state == SPEND_POSTED:
            return False
        purchase._set_spend_to_look_up()
        return self.env._(
            "Due again: the outbox looks the spend request up in CRM.COM and keeps it for a "
            "refund's replacement, or cancels it (the customer got no discount for it)."
        )

    @staticmethod
    def _find(purchase, iterate, fields_set, matches):
        """The event CRM.COM lists posted now for this row's customer that ``matches``."""
        since = purchase.performed_on - CLOCK_MARGIN
        for event in iterate(purchase._customer(), submitted_after=since, fields=fields_set):
            if isinstance(event, dict) and _posted(event) and matches(event):
                return event
        return None

    def _find_purchase(self, purchase, client):
        """CRM.COM's posted purchase that certainly is this row's, asked again now."""
        return self._find(
            purchase,
            client.iter_purchases,
            RECON_PURCHASE_FIELDS,
            lambda e: e.get("reference_number") == purchase.reference and _ours(e, purchase),
        )

    def _fix_adopt(self, purchase):
        if _cancelled(purchase) or purchase.state == POSTED or _being_sent(purchase):
            return False
        with purchase._client() as client:
            event = self._find_purchase(purchase, client)
        if not event:
            return False
        purchase._set_posted(event)
        return self.env._(
            "CRM.COM's purchase %(number)s is recorded on the sale.", number=event.get("number")
        )

    def _fix_cancel(self, purchase):
        if not _cancelled(purchase):
            return False
        with purchase._client() as client:
            event = self._find_purchase(purchase, client)
            spend = purchase.spend_reference and self._find(
                purchase,
                client.iter_spend_requests,
                RECON_SPEND_FIELDS,
                lambda e: e.get("external_system_reference_number") == purchase.spend_reference,
            )
        if not event:
            return False
        purchase._set_to_cancel_again(event, spend)
        return self.env._(
            "To cancel: the outbox cancels CRM.COM's purchase %(number)s (and its spend "
            "request first).",
            number=event.get("number"),
        )


class CrmcomReconciliationWizard(models.TransientModel):
    """Reconcile a day: a company of the user's and a day."""

    _name = "crmcom.reconciliation.wizard"
    _description = "Reconcile a day with CRM.COM"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    date = fields.Date(
        string="Day",
        required=True,
        default=lambda self: self.env["crmcom.reconciliation"]._yesterday(self.env.company),
    )

    def action_reconcile(self):
        self.ensure_one()
        return self.env["crmcom.reconciliation"]._action_reconcile(self.company_id, self.date)

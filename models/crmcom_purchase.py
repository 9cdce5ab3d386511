"""The award outbox: one row per sale to award in CRM.COM, its states and the calls that move
it from one to the next (see docs/architecture.md for the diagram).

Long on purpose: every transition sits next to the CRM.COM call that causes it and the lookup
that settles an unknown outcome, so that exactly-once can be read in one file.
"""

import logging
import random
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..crmcom import (
    AuthenticationError,
    BusinessRuleError,
    CallTimeoutError,
    CrmComError,
    NotFoundError,
    RateLimitedError,
    TransportError,
)
from .crmcom_messages import plain_error
from .crmcom_parameters import ABANDONED_AFTER_HOURS, OUTBOX_CALLS_PER_COMPANY
from .crmcom_send_slots import SendSlots
from .wallet_currency import currencies_by_code, wallet_currency

_logger = logging.getLogger(__name__)

# The outbox states: what we know of CRM.COM's side of one sale.
PENDING = "pending"  # not sent yet, or certainly not arrived
SENDING = "sending"  # committed before sending: a worker is sending it now
UNKNOWN = "unknown"  # may have arrived: looked up before anything is sent again
POSTED = "posted"  # CRM.COM has it
FAILED = "failed"  # CRM.COM refused it, again and again: parked for a person
TO_CANCEL = "to_cancel"  # refunded or abandoned: to be cancelled in CRM.COM
CANCELLED = "cancelled"
STATES = [
    (PENDING, "To send"),
    (SENDING, "Sending"),
    (UNKNOWN, "Outcome unknown"),
    (POSTED, "Posted"),
    (FAILED, "Refused"),
    (TO_CANCEL, "To cancel"),
    (CANCELLED, "Cancelled"),
]
# The spend request of the sale, its own small machine (empty: no spend).
SPEND_POSTED = "posted"
SPEND_UNKNOWN = "unknown"
SPEND_REFUSED = "refused"  # a replacement's re-spend CRM.COM keeps refusing
SPEND_CANCELLED = "cancelled"
SPEND_STATES = [
    (SPEND_POSTED, "Posted"),
    (SPEND_UNKNOWN, "Outcome unknown"),
    (SPEND_REFUSED, "Refused"),
    (SPEND_CANCELLED, "Cancelled"),
]
CRM_POSTED = "POSTED"
CRM_CANCELLED = "CANCELLED"

# What we read back from CRM.COM about a purchase (fields_set keeps replies small).
PURCHASE_FIELDS = (
    "id",
    "number",
    "reference_number",
    "life_cycle_state",
    "total_awarded_amount",
    "total_spend_amount",
)
SPEND_FIELDS = ("id", "number", "spend_amount", "reduction_method", "life_cycle_state")
SPEND_LIST_FIELDS = (*SPEND_FIELDS, "external_system_reference_number")
# A row left in "sending" for this long was abandoned by a crashed worker: reconcile it.
STALE_SENDING = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
# Each retry comes due up to this share later than its back-off (or the Retry-After CRM.COM
# asked for), so that the rows of one outage do not all come due at the same moment.
RETRY_JITTER = 0.25
# How long every sender leaves a company alone once its CRM.COM could not be reached (an
# HTTP 429 says how long itself, up to MAX_BACKOFF).
OUTAGE_PAUSE = timedelta(minutes=1)
# HTTP statuses of a gateway or an overloaded server in front of CRM.COM: the whole company's
# CRM.COM, not one row's request.
UNAVAILABLE_STATUSES = (502, 503, 504)
# Serialisation failures in a row (each one: another worker just took a row) before a worker
# leaves the rest of the queue to the others.
LOCK_ATTEMPTS = 5
# A definite refusal is tried again this many times (CRM.COM may refuse for a passing reason,
# e.g. a unit or product being set up) before the row is parked for a person.
REFUSALS_BEFORE_PARKING = 3
# The outbox's senders (data/ir_cron_data.xml): the first one is active; the settings'
# "Award senders" makes the first N active.
SENDERS = tuple(
    f"pos_crmcom_rewards.ir_cron_crmcom_submit_purchases{suffix}"
    for suffix in ("", "_2", "_3", "_4")
)


class TillRefusal(UserError):
    """A till's request that the outbox refuses; ``code`` is what the till's code reads."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _pause_for(exc):
    """How long the failure ``exc`` of one row's call pauses its company's outbox, or None
    when it is that row's own (a refusal, a timeout or an error of its request: the row
    waits its back-off, the company's other rows go on)."""
    if isinstance(exc, RateLimitedError):
        return min(timedelta(seconds=exc.retry_after or 60), MAX_BACKOFF)
    if isinstance(exc, AuthenticationError):
        return OUTAGE_PAUSE  # the credentials or the token: every row of the company alike
    if isinstance(exc, CallTimeoutError):
        return None
    if exc.http_status in UNAVAILABLE_STATUSES:
        return OUTAGE_PAUSE  # a gateway's answer (or a proxy's HTML page) for CRM.COM's
    if isinstance(exc, TransportError) and exc.http_status is None:
        return OUTAGE_PAUSE  # not reached, or the connection dropped: CRM.COM's side
    return None


def _is_refusal(exc):
    """CRM.COM understood the request and said no (its words are in the error)."""
    return isinstance(exc, (BusinessRuleError, NotFoundError))


class CrmcomPurchase(models.Model):
    """A sale as CRM.COM knows it: the purchase, its spend request, and the outbox state.

    One active row per POS order (keyed on the order's uuid; a unique index keeps it so). A
    row is created when a cashier spends wallet money (before payment) or when a paid order
    of a CRM.COM customer reaches Odoo; the cron submits what is due (``_cron_submit``
    below). The money invariants this record keeps, for one sale:

    1. CRM.COM holds at most one posted purchase and one posted spend request for it: a
       creating call is sent again only when CRM.COM certainly does not have it (every
       uncertain reply, and every refusal, which may be CRM.COM's word for "duplicate", is
       looked up first).
    2. The wallet discount Odoo books equals what CRM.COM spent (``spent``).
    3. A replacement (``replaces_id``: after a partial refund, or of a purchase made at the
       till for another basket) is sent only once what it replaces is cancelled; after a
       refund, it re-spends the kept goods' share (``respend_amount``).

    Transitions are the ``_set_*`` methods: each owns the fields that go with it.
    """

    _name = "crmcom.purchase"
    _description = "CRM.COM purchase"
    _order = "id desc"
    _rec_name = "reference"

    order_uuid = fields.Char(required=True, index=True, readonly=True)
    pos_order_id = fields.Many2one(
        "pos.order", string="POS order", index="btree_not_null", ondelete="set null", readonly=True
    )
    config_id = fields.Many2one("pos.config", required=True, readonly=True, ondelete="restrict")
    session_id = fields.Many2one(
        "pos.session",
        readonly=True,
        ondelete="set null",
        help="The session in which the wallet was spent: only its order can carry the spend.",
    )
    company_id = fields.Many2one(related="config_id.company_id", store=True, index=True)
    # The CRM.COM store of the sale, kept as it was when the row was made (the till's, or
    # the company's): a later change of the settings never moves a sale to another store,
    # and a refund's replacement is the original sale's. Empty on rows made before tills
    # had stores of their own: those follow the company's.
    unit_key = fields.Selection(
        lambda self: self.env["crmcom.connection"]._fields["unit_key"].selection,
        string="Store identified by",
        readonly=True,
    )
    unit = fields.Char(string="CRM.COM store (unit)", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    participant_number = fields.Char(required=True, readonly=True)
    reference = fields.Char(string="Reference number", required=True, readonly=True)
    performed_on = fields.Datetime(required=True, readonly=True)
    product_lines = fields.Json(readonly=True, help="The purchase lines as sent to CRM.COM.")
    amount_total = fields.Monetary(readonly=True, help="Basket total, taxes included.")
    state = fields.Selection(STATES, default=PENDING, required=True, readonly=True, index=True)
    crmcom_id = fields.Char(string="CRM.COM purchase ID", readonly=True)
    crmcom_number = fields.Char(string="CRM.COM purchase number", readonly=True)
    awarded = fields.Monetary(readonly=True)
    spend_state = fields.Selection(SPEND_STATES, readonly=True)
    spend_crmcom_id = fields.Char(string="CRM.COM spend request ID", readonly=True)
    spend_number = fields.Char(string="CRM.COM spend request number", readonly=True)
    spend_reference = fields.Char(
        string="Spend request reference",
        readonly=True,
        help="The external reference the spend request was sent with: how it is found again "
        "when its answer was lost.",
    )
    requested_spend = fields.Monetary(readonly=True)
    spent = fields.Monetary(readonly=True, help="What CRM.COM actually spent.")
    # The wallet's currency (CRM.COM's ISO code) when balance_after was read: the figure of
    # the sale stays in it even if CRM.COM later keeps the wallet in another one.
    wallet_currency = fields.Char(string="Wallet currency code", readonly=True)
    wallet_currency_id = fields.Many2one(
        "res.currency",
        string="Wallet currency",
        compute="_compute_wallet_currency_id",
        help="The currency of the wallet balance after this sale: the wallet's, else the "
        "company's.",
    )
    balance_after = fields.Monetary(
        currency_field="wallet_currency_id", readonly=True, help="Wallet balance after this sale."
    )
    # Read from CRM.COM once the sale was in: an empty wallet and an unread one both hold 0.
    balance_known = fields.Boolean(string="Balance after known", readonly=True)
    # What the purchase holds in CRM.COM now: nothing once cancelled (the list's totals).
    booked_awarded = fields.Monetary(
        string="Awarded (booked)", compute="_compute_booked", store=True, readonly=True
    )
    booked_spent = fields.Monetary(
        string="Spent (booked)", compute="_compute_booked", store=True, readonly=True
    )
    replaces_id = fields.Many2one(
        "crmcom.purchase",
        readonly=True,
        index="btree_not_null",
        help="The purchase this one replaces: after a partial refund, or one made at the till "
        "for another basket than the one paid for (cancelled first).",
    )
    respend_amount = fields.Monetary(
        readonly=True, help="Spent again on this replacement: the kept goods' share."
    )
    attempts = fields.Integer(readonly=True)
    refusals = fields.Integer(
        readonly=True, help="Refusals in a row; the row is parked for a person after a few."
    )
    next_attempt_at = fields.Datetime(readonly=True)
    last_error = fields.Text(readonly=True)

    # Rows made at a till for an order not paid yet: few, looked for by every run of the job
    # (abandoned spends) among all the outbox's rows.
    _unlinked_idx = models.Index("(state) WHERE pos_order_id IS NULL")
    # The rows the senders may have to handle (_lock_next_due_once's states, in its very
    # terms so that PostgreSQL sees that the query needs no other): few among a year of
    # posted sales, read in id order, one at a time.
    _due_idx = models.Index(
        "(id) WHERE state IN ('pending', 'unknown', 'to_cancel', 'sending')"
        " OR (state = 'posted' AND spend_state = 'unknown')"
        " OR (state = 'posted' AND respend_amount > 0 AND spend_state IS NULL)"
    )
    # A row being cancelled may coexist with its successor: the successor waits for it.
    _order_uuid_active_uniq = models.UniqueIndex(
        "(order_uuid) WHERE state NOT IN ('cancelled', 'to_cancel')",
        "This POS order already has a CRM.COM purchase.",
    )

    @api.depends("wallet_currency", "company_id.currency_id")
    def _compute_wallet_currency_id(self):
        # Not stored: it only says how to show balance_after, and follows wallet_currency.
        by_code = currencies_by_code(self.env, self.mapped("wallet_currency"))
        for purchase in self:
            purchase.wallet_currency_id = wallet_currency(
                by_code, purchase.wallet_currency, purchase.currency_id
            )

    # ------------------------------------------------------------------ building

    @api.model_create_multi
    def create(self, vals_list):
        configs = self.env["pos.config"].sudo()
        for vals in vals_list:
            if not vals.get("unit") and vals.get("config_id"):
                unit = configs.browse(vals["config_id"])._crmcom_unit_identifier()
                # A company without a connection names no store: its rows follow the
                # company's store once it is connected, as rows made before stores per till.
                for key, value in unit.items():
                    vals.update(unit_key=key, unit=value)
        return super().create(vals_list)

    def _unit_identifier(self):
        """The store this sale was made in, as sent with each of its CRM.COM calls."""
        self.ensure_one()
        if self.unit:
            return {self.unit_key: self.unit}
        return self.company_id.sudo()._crmcom_unit_identifier()

    @api.model
    def _product_lines(self, lines, currency=None):
        """CRM.COM purchase lines from ``(product, qty, subtotal, subtotal_incl)`` tuples,
        rounded in ``currency`` (default: the current company's).

        CRM.COM takes line totals after discounts (docs/crmcom-api.md, purchase lines).
        """
        currency = currency or self.env.company.currency_id
        return [
            {
                "product_identifier": {"code": product._crmcom_code()},
                "quantity": qty,
                "net_amount": currency.round(subtotal),
                "vat_amount": currency.round(subtotal_incl - subtotal),
                "total_amount": currency.round(subtotal_incl),
            }
            for product, qty, subtotal, subtotal_incl in lines
        ]

    @api.model
    def _same_lines(self, lines, other):
        """Whether two lists of purchase lines hold the same goods at the same amounts."""
        currency = self.env.company.currency_id

        def key(line):
            return (
                str(line["product_identifier"]),
                round(float(line["quantity"]), 6),
                *(
                    currency.round(float(line[name]))
                    for name in ("net_amount", "vat_amount", "total_amount")
                ),
            )

        return sorted(map(key, lines or [])) == sorted(map(key, other or []))

    def _customer(self):
        self.ensure_one()
        return {"rewards_participant_identifier": {"number": self.participant_number}}

    def _client(self, **options):
        return self.company_id._crmcom_client(related=self, unit=self._unit_identifier(), **options)

    @api.depends("state", "awarded", "spent")
    def _compute_booked(self):
        for purchase in self:
            cancelled = purchase.state in (CANCELLED, TO_CANCEL)
            purchase.booked_awarded = 0.0 if cancelled else purchase.awarded
            purchase.booked_spent = 0.0 if cancelled else purchase.spent

    # ------------------------------------------------------------------ transitions

    def _set_sending(self):
        self.ensure_one()
        self.write({"state": SENDING})

    def _set_posted(self, data):
        """CRM.COM has the purchase (``data``: its reply or its entry in a list)."""
        self.ensure_one()
        self.write(
            {
                "state": TO_CANCEL if self.state == TO_CANCEL else POSTED,
                "crmcom_id": data.get("id"),
                "crmcom_number": data.get("number"),
                "awarded": data.get("total_awarded_amount") or 0.0,
                "last_error": False,
                "next_attempt_at": False,
                "refusals": 0,
            }
        )

    def _set_retry(self, exc, state=None):
        """A call failed: record why, keep (or set) ``state``, and when to try again."""
        self.ensure_one()
        delay = min(timedelta(minutes=2**self.attempts), MAX_BACKOFF)
        retry_after = getattr(exc, "retry_after", None)  # HTTP 429's Retry-After, seconds
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        delay *= 1 + random.uniform(0, RETRY_JITTER)
        self.write(
            {
                "state": state or self.state,
                "attempts": self.attempts + 1,
                "last_error": plain_error(self.env, exc),
                "next_attempt_at": fields.Datetime.now() + delay,
            }
        )

    def _set_refused(self, exc):
        """CRM.COM refused the purchase and does not have it: try again, then park it."""
        self.ensure_one()
        refusals = self.refusals + 1
        parked = refusals >= REFUSALS_BEFORE_PARKING
        self._set_retry(exc, FAILED if parked else PENDING)
        self.write({"refusals": refusals, **({"next_attempt_at": False} if parked else {})})

    def _set_to_cancel(self):
        """Undo this sale in CRM.COM (refund, abandoned sale); the cron makes the calls."""
        for purchase in self:
            if purchase.state in (PENDING, FAILED):
                purchase._set_cancelled()  # never reached CRM.COM
            elif purchase.state in (POSTED, UNKNOWN, SENDING):
                purchase.write({"state": TO_CANCEL, "next_attempt_at": False})
        # Out of the unique index at once: the order's next purchase may be made right after.
        self.flush_recordset(["state"])

    def _set_cancelled(self):
        self.write({"state": CANCELLED, "next_attempt_at": False})
        self.flush_recordset(["state"])

    # The reconciliation's fixes (models/crmcom_reconciliation.py): each hands the row back
    # to the outbox, which looks CRM.COM up before it sends or cancels anything.

    def _set_to_look_up(self):
        """The reconciliation found CRM.COM without this purchase: due now as an unknown
        outcome, so the outbox looks it up first and sends it only if it is not there."""
        self.ensure_one()
        self.write({"state": UNKNOWN, "next_attempt_at": False, "refusals": 0})

    def _set_spend_to_look_up(self):
        """CRM.COM holds a spend request this row does not record: the outbox looks it up
        and clears it up as it does any spend whose answer was lost (``_settle_spend``)."""
        self.ensure_one()
        self.write({"spend_state": SPEND_UNKNOWN, "next_attempt_at": False, "refusals": 0})

    def _set_to_cancel_again(self, purchase, spend=None):
        """A sale Odoo cancelled that CRM.COM still holds (``purchase``, and ``spend`` if
        its spend request is posted too: their entries in CRM.COM's lists): to cancel, those
        very events. ``spent`` is kept: it is what the sale's receipt printed."""
        self.ensure_one()
        values = {
            "state": TO_CANCEL,
            "crmcom_id": purchase.get("id"),
            "crmcom_number": purchase.get("number"),
            "next_attempt_at": False,
        }
        if spend:
            values.update(
                spend_state=SPEND_POSTED,
                spend_crmcom_id=spend.get("id"),
                spend_number=spend.get("number"),
            )
        self.write(values)
        self.flush_recordset(["state"])

    def _set_spend_unknown(self, amount, reference):
        self.ensure_one()
        self.write(
            {"spend_state": SPEND_UNKNOWN, "requested_spend": amount, "spend_reference": reference}
        )

    def _set_spend_not_applied(self):
        """The till never put this posted spend on its order (the cashier went on without
        waiting for it, or its answer was lost): nothing is spent on the sale, and the job
        looks the spend up and gives it back, as for any spend whose answer was lost."""
        self.write({"spend_state": SPEND_UNKNOWN, "spent": 0.0})

    def _set_spend_posted(self, data, amount, reference):
        self.ensure_one()
        # Only a front-end reduction lowers the bill (docs/crmcom-api.md, closing the sale).
        spent = data.get("spend_amount") or 0
        if data.get("reduction_method", "FRONT_END_REDUCTION") != "FRONT_END_REDUCTION":
            spent = 0
        self.write(
            {
                "spend_state": SPEND_POSTED,
                "spend_crmcom_id": data.get("id"),
                "spend_number": data.get("number"),
                "spend_reference": reference,
                "requested_spend": amount,
                "spent": self.currency_id.round(float(spent)),
            }
        )

    def _set_spend_none(self):
        """CRM.COM certainly has no spend for this sale."""
        self.write({"spend_state": False, "requested_spend": 0.0, "spent": 0.0})

    def _set_spend_cancelled(self):
        self.write({"spend_state": SPEND_CANCELLED})

    # ------------------------------------------------------------------ look-ups

    def _find_event(self, iterate, fields_set, **match):
        """This customer's event whose fields equal ``match``, posted ones first, or None.

        ``iterate`` is the client's list of purchases or of spend requests.
        """
        since = self.performed_on - timedelta(days=1)  # clocks and time zones may differ
        found = [
            event
            for event in iterate(self._customer(), submitted_after=since, fields=fields_set)
            if all(event.get(key) == value for key, value in match.items())
        ]
        found.sort(key=lambda event: event.get("life_cycle_state") != CRM_POSTED)
        return found[0] if found else None

    def _adopt_existing(self, client):
        """Look for this purchase in CRM.COM (by reference number); record it if posted."""
        self.ensure_one()
        purchase = self._find_event(
            client.iter_purchases, PURCHASE_FIELDS, reference_number=self.reference
        )
        if purchase and purchase.get("life_cycle_state") == CRM_POSTED:
            self._set_posted(purchase)
            return True
        return False

    def _adopt_spend(self, client):
        """Clear up a spend request whose answer was lost: look it up in CRM.COM by its
        reference; record it if it is there, forget it if not. Return whether it was found."""
        self.ensure_one()
        if self.spend_state != SPEND_UNKNOWN:
            return self.spend_state == SPEND_POSTED
        spend = self._find_event(
            client.iter_spend_requests,
            SPEND_LIST_FIELDS,
            external_system_reference_number=self.spend_reference,
        )
        if spend and spend.get("life_cycle_state") == CRM_POSTED:
            self._set_spend_posted(spend, self.requested_spend, self.spend_reference)
            if self.pos_order_id and not self.respend_amount:
                # The order was paid without it (a paid order's wallet discount is a spend
                # the till had confirmed): CRM.COM's to give back, nothing spent on the sale.
                self.spent = 0.0
            return True
        self._set_spend_none()
        return False

    # ------------------------------------------------------------------ CRM.COM exchanges

    def _submit(self, client):
        """Make sure CRM.COM has this purchase, exactly once. Raise CrmComError if it can't.

        A row that may have arrived (sending, unknown) is looked up first; one that
        certainly did not (pending, refused) is sent. The caller holds the row.
        """
        self.ensure_one()
        if self.state in (SENDING, UNKNOWN):
            try:
                if self._adopt_existing(client):
                    return
            except CrmComError as exc:
                self._set_retry(exc, UNKNOWN)  # still don't know whether it arrived
                raise
        self._send(client)

    def _send(self, client):
        """``purchases/create`` for a row CRM.COM certainly does not have."""
        self.ensure_one()
        company = self.company_id.sudo()
        try:
            data = client.create_purchase(
                self._customer(),
                unit=self._unit_identifier(),
                performed_on=self.performed_on,
                reference_number=self.reference,
                lines=self.product_lines,
                external_system=company._crmcom_connection().external_system or None,
                external_system_reference_number=self.order_uuid,
                fields=PURCHASE_FIELDS,
            )
        except CrmComError as exc:
            if exc.outcome_unknown:
                self._set_retry(exc, UNKNOWN)
            elif _is_refusal(exc):
                # CRM.COM's code for a duplicate reference is not documented: any refusal
                # may mean that an earlier attempt did arrive.
                try:
                    if self._adopt_existing(client):
                        return
                except CrmComError as lookup_exc:
                    self._set_retry(lookup_exc, UNKNOWN)
                    raise lookup_exc from exc
                self._set_refused(exc)
            else:
                self._set_retry(exc, PENDING)  # certainly not processed
            raise
        self._set_posted(data)

    def _spend(self, amount, client):
        """Spend ``amount`` of the wallet on this (posted) purchase; return what was spent."""
        self.ensure_one()
        company = self.company_id.sudo()
        spends = self.search_count([("order_uuid", "=", self.order_uuid)])
        reference = f"{self.order_uuid}/S{spends}"
        # An earlier run of this same work may have sent it and been rolled back (Odoo runs
        # a request again after a serialisation failure; a worker may die before it
        # commits): CRM.COM is asked first, so even one that takes duplicates spends once.
        self._set_spend_unknown(amount, reference)
        if self._adopt_spend(client):
            return self.spent
        try:
            data = client.create_spend_request(
                {"number": self.crmcom_number},
                unit=self._unit_identifier(),
                performed_on=fields.Datetime.now(),
                amount=amount,
                customer=self._customer(),
                external_system=company._crmcom_connection().external_system or None,
                external_system_reference_number=reference,
                fields=SPEND_FIELDS,
            )
        except CrmComError as exc:
            if exc.outcome_unknown or _is_refusal(exc):
                # It may have been spent (a refusal may be CRM.COM's word for "duplicate"):
                # looked up (_adopt_spend) before anything else.
                self._set_spend_unknown(amount, reference)
            if _is_refusal(exc) and self._adopt_spend(client):
                return self.spent
            raise
        self._set_spend_posted(data, amount, reference)
        return self.spent

    def _cancel_event(self, cancel, iterate, fields_set, number):
        """Cancel the event ``number`` (``cancel``: the client's cancel method). An
        uncertain reply or a refusal is looked up (``iterate``: the matching list method):
        cancelled is done; anything else raises, and the cancel is sent again later, which
        moves no money twice (CRM.COM cancels posted events only)."""
        try:
            cancel({"number": number})
        except CrmComError as exc:
            if not (exc.outcome_unknown or _is_refusal(exc)):
                raise
            event = self._find_event(iterate, fields_set, number=number)
            if not event or event.get("life_cycle_state") != CRM_CANCELLED:
                raise

    def _cancel_spend(self, client):
        self.ensure_one()
        self._cancel_event(
            client.cancel_spend_request,
            client.iter_spend_requests,
            SPEND_LIST_FIELDS,
            self.spend_number,
        )
        self._set_spend_cancelled()

    def _cancel_now(self, client):
        """Cancel the spend request, then the purchase, in CRM.COM (each only if it is
        there: what may have arrived is looked up first)."""
        for purchase in self:
            purchase._adopt_spend(client)
            if purchase.spend_state == SPEND_POSTED:
                purchase._cancel_spend(client)
            if not purchase.crmcom_number and purchase.state in (SENDING, UNKNOWN, TO_CANCEL):
                purchase._adopt_existing(client)  # it may have arrived
            if purchase.crmcom_number:
                purchase._cancel_event(
                    client.cancel_purchase,
                    client.iter_purchases,
                    PURCHASE_FIELDS,
                    purchase.crmcom_number,
                )
            purchase._set_cancelled()

    def _refresh_balance(self, client):
        """Re-read the wallet for the receipt; a failure only leaves the figure empty."""
        self.ensure_one()
        try:
            wallet = client.show_wallet(
                participant_identifier={"number": self.participant_number},
                fields=["balance", "currency"],
            )
        except CrmComError as exc:
            _logger.info("CRM.COM balance of %s not refreshed: %s", self.participant_number, exc)
            return
        currency = (wallet.get("currency") or {}).get("code")
        self.write(
            {
                "balance_after": float(wallet.get("balance") or 0),
                "balance_known": True,
                # The balance's, kept with it; when CRM.COM does not say, the one it gave
                # when the customer was identified.
                "wallet_currency": currency or self.partner_id.crmcom_wallet_currency,
            }
        )
        if self.partner_id:
            self.partner_id.sudo()._crmcom_set_balance(self.balance_after, currency=currency)

    def action_retry(self):
        """Back-office retry: due now, whatever the backoff or a refusal said."""
        self.check_access("read")
        purchases = self.sudo()  # the outbox is written by the server only
        # An unknown outcome stays unknown: it is reconciled before anything is resent.
        purchases.filtered(lambda p: p.state in (PENDING, FAILED)).write(
            {"state": PENDING, "next_attempt_at": False, "refusals": 0}
        )
        purchases.filtered(
            lambda p: (
                p.state in (UNKNOWN, SENDING, TO_CANCEL)
                or p.spend_state in (SPEND_UNKNOWN, SPEND_REFUSED)
            )
        ).write({"next_attempt_at": False})
        purchases.filtered(lambda p: p.spend_state == SPEND_REFUSED).write(
            {"spend_state": False, "refusals": 0}
        )
        # Whatever paused their companies' outbox: a person asks to try now.
        purchases.company_id.sudo().crmcom_connection_ids.filtered(
            "outbox_paused_until"
        ).outbox_paused_until = False
        self._wake_senders()

    # ------------------------------------------------------------------ the till

    @api.model
    def _spend_at_till(self, config, basket, amount):
        """The till's spend: find or make this order's purchase, then spend on it.

        ``basket`` was checked by the till's method (its order is this till's, not received
        by Odoo yet). Return the purchase; raise CrmComError when CRM.COM failed (what is
        recorded, e.g. an outcome to look up, stays) or TillRefusal for a refusal of ours.
        """
        lines = self._product_lines(basket["lines"])
        session = config._crmcom_current_session()
        purchase = self.search(
            [("order_uuid", "=", basket["uuid"]), ("state", "not in", (CANCELLED, TO_CANCEL))],
            limit=1,
        )
        if purchase and (
            purchase.config_id != config or purchase.session_id != session or purchase.pos_order_id
        ):
            # Another till's or session's order, or one already paid: not this till's.
            raise TillRefusal("invalid", self.env._("This order cannot be sent to CRM.COM."))
        with config._crmcom_till_client() as client:
            if purchase.spend_state == SPEND_UNKNOWN and purchase._adopt_spend(client):
                # The answer to the last spend was lost: CRM.COM says it happened, so that
                # spend is this one's answer.
                purchase._refresh_balance(client)
                return purchase
            if purchase.spend_state == SPEND_POSTED:
                raise TillRefusal(
                    "locked",
                    self.env._(
                        "The wallet was already spent on this order: cancel that spend first."
                    ),
                )
            if purchase and (
                not self._same_lines(purchase.product_lines, lines)
                or purchase.participant_number != basket["number"]
            ):
                purchase._cancel_now(client)  # the basket changed since that purchase was made
                purchase = self.browse()
            if not purchase:
                purchase = self.create(
                    {
                        "order_uuid": basket["uuid"],
                        "config_id": config.id,
                        "session_id": session.id,
                        "partner_id": basket["partner"].id,
                        "participant_number": basket["number"],
                        "reference": basket["reference"],
                        "performed_on": fields.Datetime.now(),
                        # An earlier run of this same request (Odoo retries a request after a
                        # serialisation failure) may have sent it: looked up before it is sent.
                        "state": SENDING,
                        "amount_total": config.currency_id.round(
                            sum(line["total_amount"] for line in lines)
                        ),
                        "product_lines": lines,
                    }
                )
            if purchase.state != POSTED:
                purchase._submit(client)
            purchase._spend(amount, client)
            purchase._refresh_balance(client)
            return purchase

    @api.model
    def _cancel_at_till(self, config, order_uuid):
        """The till cancels its spend (and so the purchase made for it) before payment."""
        purchase = self.search(
            [
                ("order_uuid", "=", order_uuid),
                ("config_id", "=", config.id),
                ("session_id", "=", config._crmcom_current_session().id),
                ("state", "not in", (CANCELLED, TO_CANCEL)),
                ("pos_order_id", "=", False),
            ],
            limit=1,
        )
        if purchase:
            with config._crmcom_till_client(purchase._unit_identifier()) as client:
                purchase._cancel_now(client)

    # ------------------------------------------------------------------ receipt

    def _receipt_figures(self):
        """The receipt's figures with the purchase's state: what the award route answers."""
        self.ensure_one()
        return {"state": self.state, **self._receipt_of_sale()}

    def _receipt_of_sale(self):
        """What the receipt of the sale says of this purchase, and says again on every
        reprint: what CRM.COM confirmed for the sale, even once a refund cancelled it."""
        self.ensure_one()
        confirmed = bool(self.crmcom_number) or self.state == POSTED
        return {
            "confirmed": confirmed,
            "cancelled": self.state == CANCELLED and not confirmed,
            "awarded": self.awarded if confirmed else None,
            "spent": self.spent,
            "balance_after": self.balance_after if self.balance_known else None,
            # The wallet's currency then: a reprint says what the sale said.
            "wallet_currency": self.wallet_currency or None,
        }

    def _submit_for_receipt(self, seconds):
        """Send this paid order's purchase now, as the outbox would, waiting ``seconds`` at
        most; return what the receipt prints.

        It is the outbox's own step on the outbox's row, in a transaction of its own: the
        row is taken with SKIP LOCKED (a worker sending it leaves it to the worker) and
        committed as "sending" before the call, so a request that ends in the middle leaves
        a row the outbox looks up before sending anything again, as after a crash.
        """
        self.ensure_one()
        if not seconds or self.state != PENDING:
            return self._receipt_figures()
        try:
            with self.env.registry.cursor() as cr:
                purchase = self.with_env(self.env(cr=cr))
                if purchase._lock_for_receipt():
                    try:
                        with (
                            purchase._client(timeout=seconds) as client,
                            client.deadline(seconds),
                        ):
                            purchase._process_with(client, cr.commit)
                    except CrmComError as exc:
                        _logger.info(
                            "CRM.COM purchase %s left to the outbox: %s", self.reference, exc
                        )
                return purchase._receipt_figures()
        except psycopg2.errors.SerializationFailure:
            return self._receipt_figures()  # a worker took it after this request began

    def _hold_while_sending(self):
        """Lock this row again, just committed as "sending", until its outcome is committed:
        a "sending" row left for long is taken over only once its sender's transaction is
        gone (the process died), never while a sender that was merely paused (a frozen
        machine, a long swap) may still send it. Return whether it is still "sending"."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT state FROM crmcom_purchase WHERE id = %s FOR UPDATE NOWAIT",
                        self.id,
                    ),
                    log_exceptions=False,
                )
                row = self.env.cr.fetchone()
        except psycopg2.errors.LockNotAvailable:
            return False
        self.invalidate_recordset()
        return bool(row) and row[0] == SENDING

    def _lock_for_fix(self):
        """Lock this row for a reconciliation fix, without waiting: a row that a worker or a
        till holds is theirs now. Return whether it was locked (and read afresh)."""
        self.ensure_one()
        self.flush_recordset()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL("SELECT id FROM crmcom_purchase WHERE id = %s FOR UPDATE NOWAIT", self.id),
                    log_exceptions=False,
                )
        except psycopg2.errors.LockNotAvailable:
            return False
        self.invalidate_recordset()
        return True

    def _lock_for_receipt(self):
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM crmcom_purchase
                    WHERE id = %s AND state = %s AND pos_order_id IS NOT NULL
                      AND replaces_id IS NULL
                      AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                      FOR UPDATE SKIP LOCKED""",
                self.id,
                PENDING,
                fields.Datetime.now(),
            ),
            log_exceptions=False,
        )
        if not self.env.cr.fetchone():
            return False
        self.invalidate_recordset()
        return True

    # ------------------------------------------------------------------ outbox

    def _lock_next_due(self, passed=()):
        """The next row to submit, locked, or an empty recordset; none of the companies
        ``passed`` (ids) for the rest of this sender's run.

        SKIP LOCKED lets several workers drain the queue at once without ever taking the
        same row; a row in "sending" is only taken once its worker has clearly died.

        Call it with nothing uncommitted. A row that another worker took, and committed as
        "sending", after this transaction's snapshot cannot be locked: under REPEATABLE READ
        PostgreSQL refuses with a serialisation failure. The transaction is then rolled back
        and the queue read again with a fresh snapshot, where that row is no longer due.
        """
        for _attempt in range(LOCK_ATTEMPTS):
            try:
                return self._lock_next_due_once(passed)
            except psycopg2.errors.SerializationFailure:
                self.env.cr.rollback()
        return self.browse()  # the others keep taking rows: they drain the queue

    def _lock_next_due_once(self, passed):
        now = fields.Datetime.now()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM crmcom_purchase
                    WHERE (pos_order_id IS NOT NULL OR state = %(to_cancel)s)
                      AND (state IN %(due)s
                           OR (state = %(sending)s AND write_date < %(stale)s)
                           OR (state = %(posted)s AND spend_state = %(spend_unknown)s)
                           OR (state = %(posted)s AND respend_amount > 0
                               AND spend_state IS NULL))
                      AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
                      -- a disconnected company's rows wait until it is connected again
                      AND company_id IN (
                            SELECT company_id FROM crmcom_connection
                             WHERE enabled
                               AND (outbox_paused_until IS NULL
                                    OR outbox_paused_until <= %(now)s))
                      AND company_id != ALL(%(passed)s::int[])
                      -- a replacement waits until what it replaces is cancelled
                      AND (replaces_id IS NULL OR EXISTS (
                            SELECT 1 FROM crmcom_purchase AS replaced
                             WHERE replaced.id = crmcom_purchase.replaces_id
                               AND replaced.state = %(cancelled)s))
                    ORDER BY id LIMIT 1
                    FOR UPDATE SKIP LOCKED""",
                due=(PENDING, UNKNOWN, TO_CANCEL),
                to_cancel=TO_CANCEL,
                sending=SENDING,
                posted=POSTED,
                cancelled=CANCELLED,
                spend_unknown=SPEND_UNKNOWN,
                stale=now - STALE_SENDING,
                now=now,
                passed=sorted(passed),
            ),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0] if row else [])

    @api.model
    def _senders(self):
        """The outbox's senders (cron jobs), active or not, first one first."""
        crons = self.env["ir.cron"].sudo()
        for xmlid in SENDERS:
            crons |= self.env.ref(xmlid, raise_if_not_found=False) or crons
        return crons

    @api.model
    def _wake_senders(self, after=None):
        """Have the first active sender run now (a paid order's award, a fix), or the one
        after the sender ``after`` (a backlog: see _cron_submit)."""
        senders = self._senders().filtered("active").ids
        if after:
            senders = senders[senders.index(after.id) + 1 :] if after.id in senders else []
        if senders:
            self.env["ir.cron"].sudo().browse(senders[0])._trigger()

    @api.model
    def _cron_submit(self):
        """A sender's run: handle due purchases one at a time, each committed on its own,
        within the company's share of senders (models/crmcom_send_slots.py)."""
        cron = self.env["ir.cron"]
        sender = cron.browse(self.env.context.get("cron_id"))
        self._cancel_abandoned()
        cron._commit_progress()  # _lock_next_due may have to roll back
        per_company = OUTBOX_CALLS_PER_COMPANY.value(self.env)
        handled = 0
        with SendSlots(self.env.cr.dbname, per_company) as slots:
            while purchase := self._lock_next_due(slots.passed):
                company = purchase.company_id
                if not slots.take(company.id):
                    self.env.cr.rollback()  # the row's lock: left to that company's senders
                    continue
                try:
                    purchase._process_due(cron)
                except CrmComError as exc:
                    _logger.info("CRM.COM purchase %s not handled: %s", purchase.reference, exc)
                    if pause := _pause_for(exc):
                        # That company's CRM.COM is down or asks to slow down: every sender
                        # leaves its rows alone for a while; other companies' go on.
                        company._crmcom_connection()._pause_outbox(pause)
                        slots.pass_company(company.id)
                except UserError as exc:
                    # Disconnected meanwhile (no client for it): its rows wait for it.
                    _logger.info("CRM.COM purchase %s not handled: %s", purchase.reference, exc)
                    self.env.cr.rollback()
                    slots.pass_company(company.id)
                except (psycopg2.errors.SerializationFailure, psycopg2.errors.LockNotAvailable):
                    # A till or a person changed the row meanwhile: left as committed (a
                    # "sending" row is looked up before anything is sent again).
                    _logger.info("CRM.COM purchase %s changed meanwhile", purchase.reference)
                    self.env.cr.rollback()
                handled += 1
                if handled == 2 and sender:
                    # A backlog: the next sender shares it from now on.
                    self._wake_senders(after=sender)
                if cron._commit_progress(1) <= 0:
                    # Out of time with rows perhaps still due: Odoo runs the job again now
                    # rather than at its next interval.
                    cron._commit_progress(remaining=1)
                    return

    def _process_due(self, cron):
        """Cancel this due purchase, clear up its spend, or submit it. Raise CrmComError
        when CRM.COM failed; the row then records when to try again."""
        self.ensure_one()
        with self._client() as client:
            self._process_with(client, cron._commit_progress)

    def _process_with(self, client, commit):
        if self.state == TO_CANCEL:
            try:
                self._cancel_now(client)
            except CrmComError as exc:
                self._set_retry(exc)
                raise
            return
        if self.state == POSTED:  # paid, with a spend to clear up
            try:
                self._settle_spend(client)
            except CrmComError as exc:
                self._set_retry(exc)
                raise
            return
        if self.state == PENDING:
            # Committed before sending: a crash after this point can't cause a resend.
            self._set_sending()
            commit()
            if not self._hold_while_sending():
                return  # a till or a person changed it meanwhile: it is theirs now
            self._send(client)
        else:
            self._submit(client)
        if self.respend_amount and self.spend_state != SPEND_POSTED:
            try:
                self._settle_spend(client)
            except CrmComError as exc:
                self._set_retry(exc)
                raise
        self._refresh_balance(client)

    def _settle_spend(self, client):
        """A posted purchase of a paid order whose spend needs clearing up.

        The re-spend of a partial refund should exist: it is kept if CRM.COM has it and
        made again if not (a refusal that repeats parks it). Any other spend whose answer
        was lost got no discount at the till (only what CRM.COM confirmed is discounted):
        if CRM.COM has it, it is cancelled, and the wallet money goes back to the customer.
        """
        self.ensure_one()
        found = self._adopt_spend(client)
        if self.respend_amount:
            if not found:
                try:
                    self._spend(self.respend_amount, client)
                except CrmComError as exc:
                    if _is_refusal(exc) and self.spend_state != SPEND_UNKNOWN:
                        refusals = self.refusals + 1
                        if refusals >= REFUSALS_BEFORE_PARKING:
                            self.spend_state = SPEND_REFUSED
                        self.refusals = refusals
                    raise
        elif found:
            try:
                self._cancel_spend(client)
            except CrmComError:
                # Still CRM.COM's: looked up and given back at the next attempt (a posted
                # spend alone would never make the row due again).
                self._set_spend_not_applied()
                raise
            self.write({"spent": 0.0})  # nothing spent on the sale
        self.write({"next_attempt_at": False, "refusals": 0})

    def _cancel_abandoned(self):
        """Spends made at a till whose order was paid without them, or never arrived.

        An order paid without its spend gives the wallet money back at once. An order that
        is still being paid for is left alone for a configurable time (hours, default 24):
        tills that are offline sync their orders late.
        """
        hours = ABANDONED_AFTER_HOURS.value(self.env)
        unlinked = self.sudo().search(
            [
                ("pos_order_id", "=", False),
                ("state", "in", (PENDING, FAILED, POSTED, UNKNOWN)),
            ]
        )
        if not unlinked:
            return
        received = (
            self.env["pos.order"]
            .sudo()
            .search([("uuid", "in", unlinked.mapped("order_uuid")), ("state", "!=", "draft")])
        )
        received_uuids = set(received.mapped("uuid"))
        too_old = fields.Datetime.now() - timedelta(hours=max(hours, 1))
        abandoned = unlinked.filtered(
            lambda p: p.order_uuid in received_uuids or p.create_date < too_old
        )
        abandoned._lock_skipping_others()._set_to_cancel()

    def _lock_skipping_others(self):
        """Those of these rows no other transaction holds, locked; none if another sender
        changed any of them since this transaction began (it handles them)."""
        if not self:
            return self
        try:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM crmcom_purchase WHERE id IN %s FOR UPDATE SKIP LOCKED",
                    tuple(self.ids),
                ),
                log_exceptions=False,
            )
        except psycopg2.errors.SerializationFailure:
            self.env.cr.rollback()
            return self.browse()
        return self.browse(row[0] for row in self.env.cr.fetchall())

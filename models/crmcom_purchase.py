import logging
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL

from ..crmcom import BusinessRuleError, CrmComError, NotFoundError, TransportError

_logger = logging.getLogger(__name__)

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
# Serialisation failures in a row (each one: another worker just took a row) before a worker
# leaves the rest of the queue to the others.
LOCK_ATTEMPTS = 5
ABANDONED_AFTER_PARAM = "pos_crmcom_rewards.abandoned_after_hours"
DEFAULT_ABANDONED_AFTER_HOURS = 24


class CrmcomPurchase(models.Model):
    """A sale as CRM.COM knows it: the purchase, its spend request, and the outbox state.

    One row per POS order (keyed on the order's uuid; a unique index keeps it so). A row is
    created when a cashier spends wallet money (before payment) or when a paid order of a
    CRM.COM customer reaches Odoo; the cron submits what is pending. ``state`` records what
    we know of CRM.COM's side, so that nothing is ever sent twice:

    - ``pending``: not sent yet (or known not to have arrived);
    - ``sending``: being sent right now by a worker that committed this before sending;
    - ``unknown``: sent, but no answer came back: reconcile before anything else;
    - ``posted``: CRM.COM has it; ``failed``: CRM.COM refused it;
    - ``to_cancel``: refunded or abandoned, to be cancelled in CRM.COM; ``cancelled``.

    A partial refund cancels the purchase and submits a replacement for the goods kept
    (``replaces_id``), re-spending the kept goods' share of what was spent (``respend_amount``).
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
    company_id = fields.Many2one(related="config_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    participant_number = fields.Char(required=True, readonly=True)
    reference = fields.Char(string="Reference number", required=True, readonly=True)
    performed_on = fields.Datetime(required=True, readonly=True)
    product_lines = fields.Json(readonly=True, help="The purchase lines as sent to CRM.COM.")
    amount_total = fields.Monetary(readonly=True, help="Basket total, taxes included.")
    state = fields.Selection(
        [
            ("pending", "To send"),
            ("sending", "Sending"),
            ("unknown", "Outcome unknown"),
            ("posted", "Posted"),
            ("failed", "Refused"),
            ("to_cancel", "To cancel"),
            ("cancelled", "Cancelled"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    crmcom_id = fields.Char(string="CRM.COM purchase ID", readonly=True)
    crmcom_number = fields.Char(string="CRM.COM purchase number", readonly=True)
    awarded = fields.Monetary(readonly=True)
    spend_state = fields.Selection(
        [("posted", "Posted"), ("unknown", "Outcome unknown"), ("cancelled", "Cancelled")],
        readonly=True,
    )
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
    balance_after = fields.Monetary(readonly=True, help="Wallet balance after this sale.")
    replaces_id = fields.Many2one(
        "crmcom.purchase",
        readonly=True,
        index="btree_not_null",
        help="The purchase this one replaces after a partial refund.",
    )
    respend_amount = fields.Monetary(
        readonly=True, help="Spent again on this replacement: the kept goods' share."
    )
    attempts = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    last_error = fields.Text(readonly=True)

    _order_uuid_active_uniq = models.UniqueIndex(
        "(order_uuid) WHERE state != 'cancelled'",
        "This POS order already has a CRM.COM purchase.",
    )

    # ------------------------------------------------------------------ building

    @api.model
    def _product_lines(self, lines):
        """CRM.COM purchase lines from ``(product, qty, subtotal, subtotal_incl)`` tuples.

        CRM.COM takes line totals after discounts (crmcom-api.md §6.2).
        """
        currency = self.env.company.currency_id
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

    def _customer(self):
        self.ensure_one()
        return {"rewards_participant_identifier": {"number": self.participant_number}}

    def _client(self):
        return self.company_id._crmcom_client(related=self)

    # ------------------------------------------------------------------ purchase

    def _submit(self, client=None):
        """Make sure CRM.COM has this purchase, exactly once. Raise CrmComError if it can't.

        The caller holds the row (lock, or a fresh "sending" state committed before).
        """
        self.ensure_one()
        client = client or self._client()
        if self.state in ("sending", "unknown"):
            try:
                if self._adopt_existing(client):
                    return
            except CrmComError as exc:
                self._failed(exc, "unknown")  # still don't know whether it arrived
                raise
        company = self.company_id.sudo()
        try:
            data = client.create_purchase(
                self._customer(),
                unit=company._crmcom_unit_identifier(),
                performed_on=self.performed_on,
                reference_number=self.reference,
                lines=self.product_lines,
                external_system=company.crmcom_external_system or None,
                external_system_reference_number=self.order_uuid,
                fields=PURCHASE_FIELDS,
            )
        except (BusinessRuleError, NotFoundError) as exc:
            # Refused twice for the same reference: the first one did arrive.
            if exc.code == "DUPLICATE_REFERENCE_NUMBER" and self._adopt_existing(client):
                return
            self._failed(exc, "failed")
            raise
        except CrmComError as exc:
            self._failed(exc, "unknown" if exc.outcome_unknown else "pending")
            raise
        self._posted(data)

    def _adopt_existing(self, client):
        """Look for this purchase in CRM.COM (by reference number); record it if found."""
        self.ensure_one()
        purchase = self._find_posted(
            client.iter_purchases, "reference_number", self.reference, PURCHASE_FIELDS
        )
        if purchase:
            self._posted(purchase)
        return bool(purchase)

    def _find_posted(self, iterate, key, value, fields):
        """The posted event of this sale's customer whose ``key`` is ``value``, or None:
        ``iterate`` is the client's list of purchases or of spend requests."""
        since = self.performed_on - timedelta(days=1)  # clocks and time zones may differ
        return next(
            (
                event
                for event in iterate(self._customer(), submitted_after=since, fields=fields)
                if event.get(key) == value and event.get("life_cycle_state") == "POSTED"
            ),
            None,
        )

    def _posted(self, data):
        self.write(
            {
                "state": "to_cancel" if self.state == "to_cancel" else "posted",
                "crmcom_id": data.get("id"),
                "crmcom_number": data.get("number"),
                "awarded": data.get("total_awarded_amount") or 0.0,
                "last_error": False,
                "next_attempt_at": False,
            }
        )

    def _failed(self, exc, state):
        self.ensure_one()
        values = {"attempts": self.attempts + 1, "last_error": str(exc), "state": state}
        if state != "failed":
            delay = min(timedelta(minutes=2**self.attempts), MAX_BACKOFF)
            values["next_attempt_at"] = fields.Datetime.now() + delay
        self.write(values)

    # ------------------------------------------------------------------ spend

    def _spend(self, amount, client=None):
        """Spend ``amount`` of the wallet on this (posted) purchase; return what was spent."""
        self.ensure_one()
        client = client or self._client()
        company = self.company_id.sudo()
        spends = self.search_count([("order_uuid", "=", self.order_uuid)])
        reference = f"{self.order_uuid}/S{spends}"
        try:
            data = client.create_spend_request(
                {"number": self.crmcom_number},
                unit=company._crmcom_unit_identifier(),
                performed_on=fields.Datetime.now(),
                amount=amount,
                customer=self._customer(),
                external_system=company.crmcom_external_system or None,
                external_system_reference_number=reference,
                fields=SPEND_FIELDS,
            )
        except CrmComError as exc:
            if exc.outcome_unknown:
                # It may have been spent: looked up (_adopt_spend) before anything else.
                self.write(
                    {
                        "spend_state": "unknown",
                        "requested_spend": amount,
                        "spend_reference": reference,
                    }
                )
            raise
        self._spend_posted(data, amount, reference)
        return self.spent

    def _spend_posted(self, data, amount, reference):
        # Only a front-end reduction lowers the bill (crmcom-api.md §8).
        spent = data.get("spend_amount") or 0
        if data.get("reduction_method", "FRONT_END_REDUCTION") != "FRONT_END_REDUCTION":
            spent = 0
        self.write(
            {
                "spend_state": "posted",
                "spend_crmcom_id": data.get("id"),
                "spend_number": data.get("number"),
                "spend_reference": reference,
                "requested_spend": amount,
                "spent": self.currency_id.round(float(spent)),
            }
        )

    def _adopt_spend(self, client):
        """Clear up a spend request whose answer was lost: look it up in CRM.COM by its
        reference; record it if it is there, forget it if not. Return whether it was found."""
        self.ensure_one()
        if self.spend_state != "unknown":
            return self.spend_state == "posted"
        spend = self._find_posted(
            client.iter_spend_requests,
            "external_system_reference_number",
            self.spend_reference,
            SPEND_LIST_FIELDS,
        )
        if spend:
            self._spend_posted(spend, self.requested_spend, self.spend_reference)
        else:
            self.write({"spend_state": False, "requested_spend": 0.0, "spent": 0.0})
        return bool(spend)

    def _refresh_balance(self, client=None):
        """Re-read the wallet for the receipt; a failure only leaves the figure empty."""
        self.ensure_one()
        client = client or self._client()
        try:
            wallet = client.show_wallet(
                participant_identifier={"number": self.participant_number}, fields=["balance"]
            )
        except CrmComError as exc:
            _logger.info("CRM.COM balance of %s not refreshed: %s", self.participant_number, exc)
            return
        self.balance_after = float(wallet.get("balance") or 0)
        if self.partner_id:
            self.partner_id.sudo()._crmcom_set_balance(self.balance_after)

    def _cancel(self, client=None):
        """Cancel the spend request, then the purchase, in CRM.COM."""
        client = client or self._client()
        for purchase in self:
            purchase._adopt_spend(client)  # a spend of unknown outcome is looked up first
            if purchase.spend_state == "posted":
                client.cancel_spend_request({"number": purchase.spend_number})
                purchase.spend_state = "cancelled"
            if purchase.crmcom_number:
                client.cancel_purchase({"number": purchase.crmcom_number})
            purchase.state = "cancelled"

    def _request_cancel(self):
        """Undo these purchases in CRM.COM (refund, abandoned sale); the cron does the calls."""
        for purchase in self:
            if purchase.state in ("pending", "failed"):
                purchase.state = "cancelled"  # never reached CRM.COM
            elif purchase.state in ("posted", "unknown", "sending"):
                purchase.write({"state": "to_cancel", "next_attempt_at": False})

    def _cancel_in_crmcom(self, client=None):
        """Cancel a ``to_cancel`` purchase in CRM.COM: its spend request first, then itself."""
        self.ensure_one()
        client = client or self._client()
        try:
            if not self.crmcom_number and not self._adopt_existing(client):
                self.state = "cancelled"  # it never arrived
                return
            self._cancel(client)
        except CrmComError as exc:
            self._failed(exc, "to_cancel")
            raise

    # ------------------------------------------------------------------ outbox

    def _lock_next_due(self):
        """The next row to submit, locked, or an empty recordset.

        SKIP LOCKED lets several workers drain the queue at once without ever taking the
        same row; a row in "sending" is only taken once its worker has clearly died.

        Call it with nothing uncommitted. A row that another worker took, and committed as
        "sending", after this transaction's snapshot cannot be locked: under REPEATABLE READ
        PostgreSQL refuses with a serialisation failure. The transaction is then rolled back
        and the queue read again with a fresh snapshot, where that row is no longer due.
        """
        for _attempt in range(LOCK_ATTEMPTS):
            try:
                return self._lock_next_due_once()
            except psycopg2.errors.SerializationFailure:
                self.env.cr.rollback()
        return self.browse()  # the others keep taking rows: they drain the queue

    def _lock_next_due_once(self):
        now = fields.Datetime.now()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM crmcom_purchase
                    WHERE (pos_order_id IS NOT NULL OR state = 'to_cancel')
                      AND (state IN ('pending', 'unknown', 'to_cancel')
                           OR (state = 'sending' AND write_date < %(stale)s)
                           OR (state = 'posted' AND spend_state = 'unknown'))
                      AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
                      -- a replacement waits until what it replaces is cancelled
                      AND (replaces_id IS NULL OR replaces_id IN (
                            SELECT id FROM crmcom_purchase WHERE state = 'cancelled'))
                    ORDER BY id LIMIT 1
                    FOR UPDATE SKIP LOCKED""",
                stale=now - STALE_SENDING,
                now=now,
            ),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0] if row else [])

    @api.model
    def _cron_submit(self):
        """Handle due purchases one at a time, each committed on its own."""
        cron = self.env["ir.cron"]
        self._cancel_abandoned()
        cron._commit_progress()  # _lock_next_due may have to roll back
        while purchase := self._lock_next_due():
            try:
                purchase._process_due(cron)
            except TransportError as exc:
                _logger.info("CRM.COM purchase %s not handled: %s", purchase.reference, exc)
                cron._commit_progress()
                return  # CRM.COM is down: the rest waits for the next run
            except CrmComError as exc:
                _logger.info("CRM.COM purchase %s not handled: %s", purchase.reference, exc)
            if cron._commit_progress(1) <= 0:
                return

    def _process_due(self, cron):
        """Cancel this due purchase, clear up its lost spend, or submit it. Raise CrmComError
        when CRM.COM failed; the row then records when to try again."""
        self.ensure_one()
        if self.state == "to_cancel":
            self._cancel_in_crmcom()
            return
        if self.state == "posted":  # paid, with a spend whose answer was lost
            try:
                self._settle_lost_spend()
            except CrmComError as exc:
                self._failed(exc, "posted")
                raise
            return
        if self.state == "pending":
            # Committed before sending: a crash after this point can't cause a resend.
            self.state = "sending"
            cron._commit_progress()
        self._submit()
        if self.respend_amount and self.spend_state != "posted":
            self._spend(self.respend_amount)
        self._refresh_balance()

    def _settle_lost_spend(self, client=None):
        """A posted purchase of a paid order whose spend request got no answer: look it up.

        The re-spend of a partial refund should exist: it is kept if CRM.COM has it and
        made again if not. Any other such spend got no discount at the till (only what
        CRM.COM confirmed is discounted): if CRM.COM has it, it is cancelled, and the
        wallet money goes back to the customer.
        """
        self.ensure_one()
        client = client or self._client()
        found = self._adopt_spend(client)
        if self.respend_amount:
            if not found:
                self._spend(self.respend_amount, client)
        elif found:
            client.cancel_spend_request({"number": self.spend_number})
            self.write({"spend_state": "cancelled", "spent": 0.0})  # nothing spent on the sale
        self.next_attempt_at = False

    def _cancel_abandoned(self):
        """Purchases made for a spend at a till whose order never arrived: cancel them.

        An order that is still being paid for is left alone for a configurable time
        (hours, default 24): tills that are offline sync their orders late.
        """
        hours = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(ABANDONED_AFTER_PARAM, DEFAULT_ABANDONED_AFTER_HOURS)
        )
        candidates = self.sudo().search(
            [
                ("pos_order_id", "=", False),
                ("state", "in", ("pending", "failed", "posted", "unknown")),
                ("create_date", "<", fields.Datetime.now() - timedelta(hours=max(hours, 1))),
            ]
        )
        if not candidates:
            return
        paid = (
            self.env["pos.order"]
            .sudo()
            .search(
                [
                    ("uuid", "in", candidates.mapped("order_uuid")),
                    ("state", "not in", ("draft", "cancel")),
                ]
            )
        )
        candidates.filtered(lambda p: p.order_uuid not in paid.mapped("uuid"))._request_cancel()

    def action_retry(self):
        """Back-office retry: due now, whatever the backoff or a refusal said."""
        self.check_access("read")
        purchases = self.sudo()  # the outbox is written by the server only
        # An unknown outcome stays unknown: it is reconciled before anything is resent.
        purchases.filtered(lambda p: p.state in ("pending", "failed")).write(
            {"state": "pending", "next_attempt_at": False}
        )
        purchases.filtered(
            lambda p: p.state in ("unknown", "sending", "to_cancel") or p.spend_state == "unknown"
        ).write({"next_attempt_at": False})
        self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_submit_purchases").sudo()._trigger()

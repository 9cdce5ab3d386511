import logging
import time

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..crmcom import CrmComError, spend_blocked
from .crmcom_messages import plain_error
from .notification import notification
from .wallet_currency import currencies_by_code, wallet_currency

_logger = logging.getLogger(__name__)
# Balances refreshed by one click: each is one CRM.COM call within the request.
MAX_REFRESHED = 20


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "crmcom.server.fields.mixin"]
    # Which wallet a contact spends from is CRM.COM's answer, never a user's input.
    _crmcom_server_fields = frozenset(
        {
            "crmcom_participant_number",
            "crmcom_balance",
            "crmcom_balance_date",
            "crmcom_spend_blocked",
            "crmcom_wallet_currency",
        }
    )

    crmcom_participant_number = fields.Char(
        string="CRM.COM participant",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="Set when the customer is identified at a till as a CRM.COM Rewards participant.",
    )
    crmcom_balance = fields.Monetary(
        string="CRM.COM wallet balance",
        # The wallet's own: CRM.COM may keep it in another currency than the company's.
        currency_field="crmcom_wallet_currency_id",
        readonly=True,
        copy=False,
        help="Last balance CRM.COM reported for this customer's wallet.",
    )
    crmcom_balance_date = fields.Datetime(string="Balance as of", readonly=True, copy=False)
    crmcom_spend_blocked = fields.Boolean(
        string="CRM.COM spending blocked",
        readonly=True,
        copy=False,
        help="CRM.COM said, when the customer was last identified, that spending is blocked "
        "on their wallet.",
    )
    crmcom_wallet_currency = fields.Char(
        string="CRM.COM wallet currency",
        readonly=True,
        copy=False,
        help="The currency of the customer's CRM.COM wallet (ISO code), as CRM.COM said.",
    )
    # Not stored: it only says how to show the balance, and follows the code CRM.COM gave.
    crmcom_wallet_currency_id = fields.Many2one(
        "res.currency",
        string="Currency of the CRM.COM wallet",
        compute="_compute_crmcom_wallet_currency_id",
        help="The currency the CRM.COM wallet balance is in: the wallet's, else the company's.",
    )

    @api.depends("crmcom_wallet_currency", "company_id")
    @api.depends_context("company")
    def _compute_crmcom_wallet_currency_id(self):
        by_code = currencies_by_code(self.env, self.mapped("crmcom_wallet_currency"))
        for partner in self:
            # currency_id: the company's, as the balance was shown before CRM.COM said more.
            partner.crmcom_wallet_currency_id = wallet_currency(
                by_code, partner.crmcom_wallet_currency, partner.currency_id
            )

    @api.model
    def _load_pos_data_fields(self, config):
        return [
            *super()._load_pos_data_fields(config),
            "crmcom_participant_number",
            "crmcom_balance",
            "crmcom_spend_blocked",
            "crmcom_wallet_currency",
        ]

    def _crmcom_set_balance(self, balance, blocked=None, currency=None):
        """Remember the last balance CRM.COM reported (and, when it said, whether spending is
        blocked and the wallet's currency); best effort, never waits nor fails.

        Two tills (or outbox workers) serving one customer at once both update this row. A
        transaction that had to wait for the other, then fail on a serialisation error, would
        be retried by Odoo after its CRM.COM calls were made (a spend, a purchase): what
        CRM.COM did would be lost to Odoo. So when another transaction holds or changed the
        row, this one leaves the figure to it (it is only a last known balance).
        """
        # Written only when it changed: tills identifying one customer at once would
        # otherwise all update the same row.
        values = {"crmcom_balance": balance, "crmcom_balance_date": fields.Datetime.now()}
        if blocked is not None:
            values["crmcom_spend_blocked"] = blocked
        if currency:
            values["crmcom_wallet_currency"] = currency
        changed = self.filtered(
            lambda partner: (
                partner.crmcom_balance != balance
                or (blocked is not None and partner.crmcom_spend_blocked != blocked)
                or (currency and partner.crmcom_wallet_currency != currency)
            )
        )
        if not changed:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM res_partner WHERE id IN %s FOR NO KEY UPDATE NOWAIT",
                        tuple(changed.ids),
                    ),
                    log_exceptions=False,
                )
                changed.write(values)
                changed.flush_recordset(list(values))
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            _logger.info("CRM.COM balance of %s left to a concurrent update", changed.ids)

    @api.model
    def _crmcom_find_or_create(self, participant, company):
        """The contact of a CRM.COM participant (``rewards_participants/show`` data) for
        ``company``'s tills: the company's own, made if there is none.

        A participant number names a customer within one CRM.COM organisation, and each
        company may be connected to its own: the same number at another company may be
        someone else, with another wallet. So each company's customers are its own
        contacts, never shown to, nor updated by, another company. Shared contacts that
        earlier versions linked are still used (the migration to 19.0.1.5.0 gave those of
        one company to it)."""
        number = participant["number"]
        # Read with the search, in one query: what the till is answered and what tells
        # whether the balance changed (the whole contact is not needed).
        usable = self.search_fetch(
            [
                ("crmcom_participant_number", "=", number),
                ("company_id", "in", (False, company.id)),
            ],
            [
                "company_id",
                "name",
                "crmcom_balance",
                "crmcom_spend_blocked",
                "crmcom_wallet_currency",
            ],
            order="id",
        )
        partner = usable.filtered("company_id")[:1] or usable[:1]
        owner = (participant.get("accounts_receivable") or {}).get("account_owner") or {}
        name = owner.get("name") or participant.get("accounts_receivable", {}).get("name") or number
        balance = float((participant.get("wallet") or {}).get("balance") or 0)
        if not partner:
            partner = self.create(
                {
                    "company_id": company.id,
                    "name": name,
                    "is_company": owner.get("type") == "COMPANY",
                    "crmcom_participant_number": number,
                }
            )
        currency = (participant.get("currency") or {}).get("code")
        partner._crmcom_set_balance(balance, spend_blocked(participant), currency)
        return partner

    def action_crmcom_refresh_balance(self):
        """Ask CRM.COM for the wallet balance, with the current company's credentials: for
        the Point of Sale users of that company, on its own or shared contacts."""
        company = self.env.company
        if not self.env.user.has_group("point_of_sale.group_pos_user") or any(
            partner.company_id and partner.company_id != company for partner in self
        ):
            raise AccessError(
                self.env._(
                    "Only Point of Sale users of %(company)s can refresh CRM.COM balances of "
                    "its customers.",
                    company=company.name,
                )
            )
        title = self.env._("CRM.COM balance not refreshed")
        if not company._crmcom_is_connected():
            return notification(
                title,
                self.env._("%(company)s is not connected to CRM.COM.", company=company.name),
                "warning",
            )
        linked = self.filtered("crmcom_participant_number")
        if len(linked) > MAX_REFRESHED:
            raise UserError(
                self.env._(
                    "Refresh at most %(count)s CRM.COM balances at a time.", count=MAX_REFRESHED
                )
            )
        # One click waits for CRM.COM the connection's timeout at most, however many contacts.
        ends = time.monotonic() + company._crmcom_connection().timeout
        for partner in linked:
            try:
                with (
                    company._crmcom_client(related=partner) as client,
                    client.deadline(ends - time.monotonic()),
                ):
                    wallet = client.show_wallet(
                        participant_identifier={"number": partner.crmcom_participant_number},
                        fields=["balance", "currency"],
                    )
            except CrmComError as exc:
                return notification(title, plain_error(self.env, exc), "danger")
            # With its currency: the balance is shown in it.
            currency = (wallet.get("currency") or {}).get("code")
            partner.sudo()._crmcom_set_balance(float(wallet.get("balance") or 0), currency=currency)
        return True

from odoo import api, fields, models

from ..crmcom import CrmComError
from .notification import notification


class ResPartner(models.Model):
    _inherit = "res.partner"

    crmcom_participant_number = fields.Char(
        string="CRM.COM participant",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="Set when the customer is identified at a till as a CRM.COM Rewards participant.",
    )
    crmcom_balance = fields.Float(
        string="CRM.COM wallet balance",
        digits="Product Price",
        readonly=True,
        copy=False,
        help="Last balance CRM.COM reported for this customer's wallet.",
    )
    crmcom_balance_date = fields.Datetime(string="Balance as of", readonly=True, copy=False)

    @api.model
    def _load_pos_data_fields(self, config):
        return [
            *super()._load_pos_data_fields(config),
            "crmcom_participant_number",
            "crmcom_balance",
        ]

    def _crmcom_set_balance(self, balance):
        # Written only when it changed: tills identifying one customer at once would
        # otherwise all update the same row.
        changed = self.filtered(lambda partner: partner.crmcom_balance != balance)
        changed.write({"crmcom_balance": balance, "crmcom_balance_date": fields.Datetime.now()})

    @api.model
    def _crmcom_find_or_create(self, participant):
        """The contact of a CRM.COM participant (``rewards_participants/show`` data)."""
        number = participant["number"]
        partner = self.search([("crmcom_participant_number", "=", number)], limit=1)
        owner = (participant.get("accounts_receivable") or {}).get("account_owner") or {}
        name = owner.get("name") or participant.get("accounts_receivable", {}).get("name") or number
        balance = float((participant.get("wallet") or {}).get("balance") or 0)
        if not partner:
            partner = self.create(
                {
                    "name": name,
                    "is_company": owner.get("type") == "COMPANY",
                    "crmcom_participant_number": number,
                }
            )
        partner._crmcom_set_balance(balance)
        return partner

    def action_crmcom_refresh_balance(self):
        for partner in self.filtered("crmcom_participant_number"):
            company = self.env.company
            try:
                wallet = company._crmcom_client(related=partner).show_wallet(
                    participant_identifier={"number": partner.crmcom_participant_number},
                    fields=["balance"],
                )
            except CrmComError as exc:
                return notification(self.env._("CRM.COM balance not refreshed"), str(exc), "danger")
            partner.sudo()._crmcom_set_balance(float(wallet.get("balance") or 0))
        return True

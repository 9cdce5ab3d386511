from odoo import fields, models

from ..crmcom import CrmComError
from .crmcom_call_log import DEFAULT_RETENTION_DAYS, RETENTION_PARAM

SYSTEM = "base.group_system"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Company-wide connection (system administrators only).
    crmcom_enabled = fields.Boolean(
        related="company_id.crmcom_enabled", readonly=False, groups=SYSTEM
    )
    crmcom_base_url = fields.Char(
        related="company_id.crmcom_base_url", readonly=False, groups=SYSTEM
    )
    crmcom_auth_mode = fields.Selection(
        related="company_id.crmcom_auth_mode", readonly=False, groups=SYSTEM
    )
    crmcom_api_key = fields.Char(related="company_id.crmcom_api_key", readonly=False, groups=SYSTEM)
    crmcom_username = fields.Char(
        related="company_id.crmcom_username", readonly=False, groups=SYSTEM
    )
    crmcom_password = fields.Char(
        related="company_id.crmcom_password", readonly=False, groups=SYSTEM
    )
    crmcom_organisation = fields.Char(
        related="company_id.crmcom_organisation", readonly=False, groups=SYSTEM
    )
    crmcom_unit_key = fields.Selection(
        related="company_id.crmcom_unit_key", readonly=False, groups=SYSTEM
    )
    crmcom_unit = fields.Char(related="company_id.crmcom_unit", readonly=False, groups=SYSTEM)
    crmcom_external_system = fields.Char(
        related="company_id.crmcom_external_system", readonly=False, groups=SYSTEM
    )
    crmcom_timeout = fields.Float(
        related="company_id.crmcom_timeout", readonly=False, groups=SYSTEM
    )
    crmcom_sync_definition = fields.Char(
        related="company_id.crmcom_sync_definition", readonly=False, groups=SYSTEM
    )
    crmcom_call_log_retention_days = fields.Integer(
        string="Keep CRM.COM call log (days)",
        config_parameter=RETENTION_PARAM,
        default=DEFAULT_RETENTION_DAYS,
        groups=SYSTEM,
    )

    # Per point of sale.
    pos_crmcom_enabled = fields.Boolean(related="pos_config_id.crmcom_enabled", readonly=False)
    pos_crmcom_identify_card = fields.Boolean(
        related="pos_config_id.crmcom_identify_card", readonly=False
    )
    pos_crmcom_identify_phone = fields.Boolean(
        related="pos_config_id.crmcom_identify_phone", readonly=False
    )
    pos_crmcom_identify_email = fields.Boolean(
        related="pos_config_id.crmcom_identify_email", readonly=False
    )
    pos_crmcom_identify_number = fields.Boolean(
        related="pos_config_id.crmcom_identify_number", readonly=False
    )
    pos_crmcom_discount_product_id = fields.Many2one(
        related="pos_config_id.crmcom_discount_product_id", readonly=False
    )

    def action_crmcom_test_connection(self):
        """Log in with the saved settings and say whether it worked, and if not, why."""
        self.ensure_one()
        company = self.company_id
        try:
            company._crmcom_client(related=company).login()
        except (CrmComError, ValueError) as exc:
            # ValidationError (incomplete settings) is shown by the client as it is.
            return _notification(self.env._("CRM.COM connection failed"), str(exc), "danger")
        return _notification(
            self.env._("CRM.COM connection works"),
            self.env._("Logged in to %(url)s.", url=company.sudo().crmcom_base_url),
            "success",
        )


def _notification(title, message, kind):
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {"title": title, "message": message, "type": kind, "sticky": kind != "success"},
    }

from odoo import fields, models

from ..crmcom import CrmComError
from .crmcom_call_log import DEFAULT_RETENTION_DAYS, RETENTION_PARAM
from .crmcom_purchase import ABANDONED_AFTER_PARAM, DEFAULT_ABANDONED_AFTER_HOURS
from .notification import notification

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
    crmcom_abandoned_after_hours = fields.Integer(
        string="Cancel abandoned wallet spends after (hours)",
        config_parameter=ABANDONED_AFTER_PARAM,
        default=DEFAULT_ABANDONED_AFTER_HOURS,
        groups=SYSTEM,
        help="A wallet spend whose order never reached Odoo is cancelled in CRM.COM after "
        "this long. Tills that work offline sync late: keep it longer than they stay offline.",
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
            return notification(self.env._("CRM.COM connection failed"), str(exc), "danger")
        return notification(
            self.env._("CRM.COM connection works"),
            self.env._("Logged in to %(url)s.", url=company.sudo().crmcom_base_url),
            "success",
        )


class ResConfigSettingsProductSync(models.TransientModel):
    _inherit = "res.config.settings"

    crmcom_sync_domain = fields.Char(
        related="company_id.crmcom_sync_domain", readonly=False, groups=SYSTEM
    )
    crmcom_sync_batch_size = fields.Integer(
        related="company_id.crmcom_sync_batch_size", readonly=False, groups=SYSTEM
    )
    crmcom_sync_description_field_id = fields.Many2one(
        related="company_id.crmcom_sync_description_field_id", readonly=False, groups=SYSTEM
    )
    crmcom_sync_long_description_field_id = fields.Many2one(
        related="company_id.crmcom_sync_long_description_field_id", readonly=False, groups=SYSTEM
    )
    crmcom_sync_type_field_id = fields.Many2one(
        related="company_id.crmcom_sync_type_field_id", readonly=False, groups=SYSTEM
    )
    crmcom_sync_brand_field_id = fields.Many2one(
        related="company_id.crmcom_sync_brand_field_id", readonly=False, groups=SYSTEM
    )
    crmcom_sync_family_field_id = fields.Many2one(
        related="company_id.crmcom_sync_family_field_id", readonly=False, groups=SYSTEM
    )
    crmcom_sync_category_field_id = fields.Many2one(
        related="company_id.crmcom_sync_category_field_id", readonly=False, groups=SYSTEM
    )

    def _crmcom_sync_start(self, full):
        self.ensure_one()
        company = self.company_id
        engine = self.env["crmcom.product.sync"]
        if not company.sudo().crmcom_enabled:
            return notification(
                self.env._("CRM.COM product synchronisation"),
                self.env._("Connect the company to CRM.COM first."),
                "danger",
            )
        if engine._is_running(company):
            return notification(
                self.env._("CRM.COM product synchronisation"),
                self.env._("A synchronisation is already running; nothing new was started."),
                "warning",
            )
        if full:
            engine._request_full_resync(company)
        self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_product_sync").sudo()._trigger()
        return notification(
            self.env._("CRM.COM product synchronisation"),
            self.env._(
                "Started in the background; follow it in CRM.COM Product Sync Runs (%(what)s).",
                what=self.env._("every product") if full else self.env._("changed products"),
            ),
            "success",
        )

    def action_crmcom_sync_products(self):
        """Synchronise now: wake the scheduled action (changed products only)."""
        return self._crmcom_sync_start(full=False)

    def action_crmcom_sync_products_full(self):
        """Full resync: forget what was sent, then wake the scheduled action."""
        return self._crmcom_sync_start(full=True)

    def action_crmcom_open_sync_runs(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "pos_crmcom_rewards.action_crmcom_product_sync_run"
        )

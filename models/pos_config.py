from odoo import api, fields, models
from odoo.exceptions import ValidationError

IDENTIFICATION_MEANS = ("card", "phone", "email", "number")


class PosConfig(models.Model):
    _inherit = "pos.config"

    crmcom_enabled = fields.Boolean(
        string="CRM.COM Rewards",
        help="Identify CRM.COM Rewards customers at this till, award their purchases and let "
        "them spend their wallet.",
    )
    crmcom_identify_card = fields.Boolean(string="Identify by card number", default=True)
    crmcom_identify_phone = fields.Boolean(string="Identify by phone", default=True)
    crmcom_identify_email = fields.Boolean(string="Identify by e-mail", default=True)
    crmcom_identify_number = fields.Boolean(string="Identify by participant number", default=True)
    crmcom_discount_product_id = fields.Many2one(
        "product.product",
        string="Wallet spend product",
        default=lambda self: self.env.ref(
            "pos_crmcom_rewards.product_crmcom_wallet_spend", raise_if_not_found=False
        ),
        domain=[("type", "=", "service")],
        help="Product of the discount line that carries what the customer spent from the wallet.",
    )

    @api.constrains(
        "crmcom_enabled",
        "crmcom_discount_product_id",
        "company_id",
        *(f"crmcom_identify_{mean}" for mean in IDENTIFICATION_MEANS),
    )
    def _check_crmcom_rewards(self):
        for config in self.filtered("crmcom_enabled"):
            if not config.company_id.sudo().crmcom_enabled:
                raise ValidationError(
                    self.env._(
                        "Connect %(company)s to CRM.COM Rewards (Point of Sale settings) before "
                        "enabling it on %(pos)s.",
                        company=config.company_id.name,
                        pos=config.name,
                    )
                )
            if not config.crmcom_discount_product_id:
                raise ValidationError(
                    self.env._("Choose the wallet spend product of %(pos)s.", pos=config.name)
                )
            if not config._crmcom_identification_means():
                raise ValidationError(
                    self.env._(
                        "Allow at least one way to identify CRM.COM customers on %(pos)s.",
                        pos=config.name,
                    )
                )

    def _crmcom_identification_means(self):
        self.ensure_one()
        return [mean for mean in IDENTIFICATION_MEANS if self[f"crmcom_identify_{mean}"]]

    @api.model
    def _get_special_products(self):
        # The spend product must reach every till, even when not offered for sale there.
        return (
            super()._get_special_products()
            | self.env["pos.config"]
            .search([("crmcom_enabled", "=", True)])
            .crmcom_discount_product_id
        )

from odoo import fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    crmcom_state_ids = fields.One2many(
        "crmcom.product.state",
        compute="_compute_crmcom_state_ids",
        string="CRM.COM synchronisation",
    )

    def _compute_crmcom_state_ids(self):
        for template in self:
            template.crmcom_state_ids = template.with_context(
                active_test=False
            ).product_variant_ids.crmcom_state_ids

    def action_crmcom_sync(self):
        return self.env["crmcom.product.sync"]._action_sync_products(
            self.with_context(active_test=False).product_variant_ids
        )

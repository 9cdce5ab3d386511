from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _crmcom_code(self):
        """The product's code in CRM.COM: its internal reference, else a stable fallback.

        The fallback never changes for a product (unlike its name), so CRM.COM keeps
        matching the same product even when nobody gave it a reference.
        """
        self.ensure_one()
        return (self.default_code or "").strip() or f"ODOO-{self.id}"

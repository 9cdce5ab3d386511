from odoo import fields, models


class BarcodeRule(models.Model):
    _inherit = "barcode.rule"

    # Scanned codes of this rule are looked up as CRM.COM Rewards cards at the till; others
    # are what Odoo makes of them (products, customers...), never sent to CRM.COM.
    type = fields.Selection(
        selection_add=[("crmcom_card", "CRM.COM Rewards card")],
        ondelete={"crmcom_card": "set default"},
    )

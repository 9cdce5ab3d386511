from odoo import fields, models


class CrmcomSecret(models.Model):
    """A company's CRM.COM credentials, kept apart from res.company.

    Companies are readable by the users of every company (to switch between them), and field
    groups cannot tell one company from another: a record rule on this model can.
    """

    _name = "crmcom.secret"
    _description = "CRM.COM credentials"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    api_key = fields.Char()
    password = fields.Char()

    _company_uniq = models.Constraint(
        "UNIQUE(company_id)", "One set of CRM.COM credentials per company."
    )

"""CRM.COM awarded and spent per shop, day and cashier: a read-only SQL view, one row per
sale (as Point of Sale's own report.pos.order is one row per order line)."""

from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.crmcom_purchase import STATES


class ReportCrmcomRewards(models.Model):
    """One row per sale of a CRM.COM customer, with what CRM.COM holds for it now.

    Each sale counts once: its figures are the sum of the booked figures of all its
    purchases (the sale's own and the replacements its refunds made). A purchase counts
    nothing once cancelled or to cancel, and the replacement of a partial refund counts the
    goods kept, so a refunded sale is never counted twice; one refunded in full counts 0.
    A purchase CRM.COM has not confirmed yet counts 0 until it does. The figures belong to
    the sale: its shop, day and cashier, even when a refund changes them later.
    """

    _name = "report.crmcom.rewards"
    _description = "CRM.COM Rewards analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "order_id"
    # What the view reads: written to the database before the view is queried.
    _depends = {
        "crmcom.purchase": ["pos_order_id", "state", "booked_awarded", "booked_spent"],
        "pos.order": [
            "date_order",
            "config_id",
            "session_id",
            "user_id",
            "partner_id",
            "company_id",
            "state",
            "crmcom_purchase_id",
            "crmcom_sale_purchase_id",
        ],
    }

    date = fields.Datetime(string="Sale date", readonly=True)
    order_id = fields.Many2one("pos.order", string="Sale", readonly=True)
    config_id = fields.Many2one("pos.config", string="Point of Sale", readonly=True)
    session_id = fields.Many2one("pos.session", readonly=True)
    user_id = fields.Many2one("res.users", string="Cashier", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(STATES, string="CRM.COM state", readonly=True)
    awarded = fields.Monetary(readonly=True)
    spent = fields.Monetary(string="Spent from wallet", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                    SELECT o.id AS id,
                           o.id AS order_id,
                           o.date_order AS date,
                           o.config_id AS config_id,
                           o.session_id AS session_id,
                           o.user_id AS user_id,
                           o.partner_id AS partner_id,
                           o.company_id AS company_id,
                           current.state AS state,
                           COALESCE(SUM(p.booked_awarded), 0) AS awarded,
                           COALESCE(SUM(p.booked_spent), 0) AS spent
                      FROM pos_order o
                      JOIN crmcom_purchase p ON p.pos_order_id = o.id
                      JOIN crmcom_purchase current
                        ON current.id = COALESCE(o.crmcom_purchase_id, o.crmcom_sale_purchase_id)
                     WHERE o.state NOT IN ('draft', 'cancel')
                     GROUP BY o.id, current.state
                )""",
                SQL.identifier(self._table),
            )
        )

from odoo import api, fields, models
from odoo.fields import Domain

from .crmcom_product_state import SYNC_STATES


class ProductProduct(models.Model):
    _inherit = "product.product"

    crmcom_state_ids = fields.One2many(
        "crmcom.product.state", "product_id", string="CRM.COM synchronisation", readonly=True
    )
    # The state in the current company's CRM.COM, for lists, filters and the form.
    crmcom_sync_state = fields.Selection(
        SYNC_STATES,
        string="CRM.COM sync",
        compute="_compute_crmcom_sync",
        search="_search_crmcom_sync_state",
    )
    crmcom_sync_error = fields.Text(string="CRM.COM sync error", compute="_compute_crmcom_sync")
    crmcom_synced_at = fields.Datetime(
        string="Synchronised with CRM.COM", compute="_compute_crmcom_sync"
    )
    crmcom_product_ref = fields.Char(string="CRM.COM product ID", compute="_compute_crmcom_sync")

    @api.depends_context("company")
    def _compute_crmcom_sync(self):
        states = (
            self.env["crmcom.product.state"]
            .sudo()
            .search_fetch(
                [("company_id", "=", self.env.company.id), ("product_id", "in", self.ids)],
                ["product_id", "state", "error", "synced_at", "crmcom_id"],
            )
        )
        by_product = {state.product_id.id: state for state in states}
        for product in self:
            state = by_product.get(product.id)
            product.crmcom_sync_state = state.state if state else "pending"
            product.crmcom_sync_error = state.error if state else False
            product.crmcom_synced_at = state.synced_at if state else False
            product.crmcom_product_ref = state.crmcom_id if state else False

    def _search_crmcom_sync_state(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        wanted = set(value)
        if operator == "not in":
            wanted = {key for key, _label in SYNC_STATES} - wanted
        states = (
            self.env["crmcom.product.state"]
            .sudo()
            ._search([("company_id", "=", self.env.company.id)])
        )
        stated = (
            self.env["crmcom.product.state"]
            .sudo()
            ._search([("company_id", "=", self.env.company.id), ("state", "in", list(wanted))])
        )
        domain = Domain("id", "in", stated.subselect("product_id"))
        if "pending" in wanted:
            domain |= Domain("id", "not in", states.subselect("product_id"))
        return domain

    def action_crmcom_sync(self):
        """Send these products to CRM.COM now, changed or not (products list and form)."""
        return self.env["crmcom.product.sync"]._action_sync_products(self)

    def _crmcom_code(self):
        """The product's code in CRM.COM: its internal reference, else a stable fallback.

        The fallback never changes for a product (unlike its name), so CRM.COM keeps
        matching the same product even when nobody gave it a reference.
        """
        self.ensure_one()
        return (self.default_code or "").strip() or f"ODOO-{self.id}"

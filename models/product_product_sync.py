from odoo import api, fields, models
from odoo.fields import Domain

SYNC_STATES = [("pending", "Pending"), ("synced", "Synced"), ("error", "Error")]


class CrmcomProductState(models.Model):
    """Where a product stands in one company's CRM.COM catalogue.

    One row per company and product, written by the synchronisation with one SQL statement
    per batch. A product without a row has never been sent: it is *pending*. The hash is the
    one of the last payload CRM.COM accepted; a product is sent again only when its payload's
    hash differs, or when its last attempt failed.
    """

    _name = "crmcom.product.state"
    _description = "CRM.COM product synchronisation state"
    _order = "company_id, product_id"
    _rec_name = "product_id"
    _log_access = False  # written by SQL in batches: synced_at / attempted_at say when

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    # Indexed by the unique constraint below (product first), which also serves "by product".
    product_id = fields.Many2one(
        "product.product", required=True, ondelete="cascade", readonly=True
    )
    state = fields.Selection(SYNC_STATES, required=True, default="pending", readonly=True)
    crmcom_id = fields.Char(string="CRM.COM ID", readonly=True)
    error = fields.Text(string="Last error", readonly=True)
    synced_at = fields.Datetime(string="Last synchronised", readonly=True)
    attempted_at = fields.Datetime(string="Last attempt", readonly=True)
    payload_hash = fields.Char(readonly=True)
    sent_invalid = fields.Boolean(
        readonly=True, help="Last sent as no longer valid (archived or out of the POS)."
    )

    _company_product_uniq = models.Constraint(
        "UNIQUE(product_id, company_id)", "One CRM.COM synchronisation state per product."
    )


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

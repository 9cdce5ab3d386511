from odoo import api, fields, models
from odoo.exceptions import ValidationError

MAX_SYNC_BATCH = 1000  # CRM.COM takes at most 1,000 products per products/synchronise call
SYNC_FIELD_DOMAIN = (
    "[('model', '=', 'product.product'),"
    " ('ttype', 'in', ['char', 'text', 'selection', 'many2one', 'many2many'])]"
)


def _product_field(name):
    def default(self):
        # A search, not ir.model.fields._get(): its cache would be filled before this
        # module's own product fields are reflected, at install.
        return (
            self.env["ir.model.fields"]
            .sudo()
            .search([("model", "=", "product.product"), ("name", "=", name)], limit=1)
        )

    return default


def _sync_field(string, default_field=None):
    """A company setting: the product field (default: ``default_field``) sent to CRM.COM as
    one key of the product object."""
    default = {"default": _product_field(default_field)} if default_field else {}
    return fields.Many2one(
        "ir.model.fields",
        string=string,
        domain=SYNC_FIELD_DOMAIN,
        ondelete="set null",
        groups="base.group_system",
        **default,
    )


class ResCompany(models.Model):
    _inherit = "res.company"

    crmcom_sync_domain = fields.Char(
        string="Products to synchronise",
        default="[('available_in_pos', '=', True)]",
        groups="base.group_system",
        help="Which products are sent to CRM.COM (those of this company or shared). Products "
        "once sent that leave this selection or are archived are sent as no longer valid.",
    )
    crmcom_sync_batch_size = fields.Integer(
        string="Products per call",
        default=MAX_SYNC_BATCH,
        groups="base.group_system",
        help="Products sent per products/synchronise call; CRM.COM accepts at most 1,000.",
    )
    # The product fields sent as the keys of CRM.COM's product object (see MAPPING in
    # crmcom_product_sync.py); unset: the key is not sent.
    crmcom_sync_description_field_id = _sync_field("Description from", "name")
    crmcom_sync_long_description_field_id = _sync_field("Long description from", "description_sale")
    crmcom_sync_type_field_id = _sync_field("Product type from")
    crmcom_sync_brand_field_id = _sync_field("Brand from")
    crmcom_sync_family_field_id = _sync_field("Family from", "categ_id")
    crmcom_sync_category_field_id = _sync_field("Category from", "pos_categ_ids")

    @api.constrains("crmcom_sync_batch_size")
    def _check_crmcom_sync_batch_size(self):
        for company in self.sudo():
            if not 1 <= company.crmcom_sync_batch_size <= MAX_SYNC_BATCH:
                raise ValidationError(
                    self.env._(
                        "The number of products per CRM.COM call must be between 1 and "
                        "%(max)s: CRM.COM refuses more than %(max)s products per "
                        "synchronisation call (got %(size)s).",
                        max="1,000",
                        size=company.crmcom_sync_batch_size,
                    )
                )

    @api.constrains(
        "crmcom_sync_description_field_id",
        "crmcom_sync_long_description_field_id",
        "crmcom_sync_type_field_id",
        "crmcom_sync_brand_field_id",
        "crmcom_sync_family_field_id",
        "crmcom_sync_category_field_id",
    )
    def _check_crmcom_sync_fields(self):
        names = (
            "crmcom_sync_description_field_id",
            "crmcom_sync_long_description_field_id",
            "crmcom_sync_type_field_id",
            "crmcom_sync_brand_field_id",
            "crmcom_sync_family_field_id",
            "crmcom_sync_category_field_id",
        )
        for company in self.sudo():
            for name in names:
                chosen = company[name]
                if chosen and chosen.model != "product.product":
                    raise ValidationError(
                        self.env._(
                            "%(setting)s must be a field of products (got %(field)s).",
                            setting=self._fields[name].get_description(self.env)["string"],
                            field=chosen.display_name,
                        )
                    )

    # ------------------------------------------------------------------ CRM.COM connection

    def _crmcom_connection(self):
        """This company's CRM.COM connection (sudo), or an empty recordset."""
        self.ensure_one()
        return self.env["crmcom.connection"].sudo().search([("company_id", "=", self.id)])

    def _crmcom_set_connection(self, values):
        """Write ``values`` on this company's connection, made if there is none (with the
        user's rights: only an administrator of the company may)."""
        self.ensure_one()
        connections = self.env["crmcom.connection"]
        connection = connections.search([("company_id", "=", self.id)])
        if connection:
            connection.write(values)
            return connection
        return connections.create({"company_id": self.id, **values})

    def _crmcom_is_connected(self):
        return bool(self._crmcom_connection().enabled)

    def _crmcom_client(self, related=None):
        """A CRM.COM client for this company; every call it makes is logged on ``related``."""
        connection = self._crmcom_connection()
        if not connection:
            raise ValidationError(
                self.env._(
                    "%(company)s is not connected to CRM.COM Rewards: connect it in the Point "
                    "of Sale settings.",
                    company=self.name,
                )
            )
        return connection._client(related)

    def _crmcom_unit_identifier(self):
        return self._crmcom_connection()._unit_identifier()

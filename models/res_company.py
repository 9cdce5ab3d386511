import ipaddress
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..crmcom import CrmComClient
from .crmcom_token import CompanyTokenStore

MAX_TIMEOUT = 120.0
LOCAL_HOSTS = {"localhost"}


def _is_local_host(host):
    if not host:
        return False
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ResCompany(models.Model):
    _inherit = "res.company"

    # Everything here is for system administrators only: the credentials obviously, and the
    # rest because it tells where and as whom this company talks to CRM.COM.
    crmcom_enabled = fields.Boolean(string="Connect to CRM.COM Rewards", groups="base.group_system")
    crmcom_base_url = fields.Char(
        string="CRM.COM URL",
        groups="base.group_system",
        help="Server address, e.g. https://mycompany.crm.com; the API lives under "
        "/crmapi/rest/v2/.",
    )
    crmcom_auth_mode = fields.Selection(
        [("api_key", "Web API key"), ("password", "User name and password")],
        string="CRM.COM login",
        default="api_key",
        required=True,
        groups="base.group_system",
        help='A Web API key of the "System Key" classification is what CRM.COM recommends '
        "for POS integrations.",
    )
    crmcom_api_key = fields.Char(
        string="CRM.COM Web API key",
        compute="_compute_crmcom_secrets",
        inverse="_inverse_crmcom_secrets",
        groups="base.group_system",
    )
    crmcom_username = fields.Char(string="CRM.COM user name", groups="base.group_system")
    crmcom_password = fields.Char(
        string="CRM.COM password",
        compute="_compute_crmcom_secrets",
        inverse="_inverse_crmcom_secrets",
        groups="base.group_system",
    )
    crmcom_organisation = fields.Char(string="CRM.COM organisation", groups="base.group_system")
    crmcom_unit_key = fields.Selection(
        [("alternative_code", "Alternative code"), ("id", "ID"), ("name", "Name")],
        string="Store identified by",
        default="alternative_code",
        required=True,
        groups="base.group_system",
    )
    crmcom_unit = fields.Char(
        string="CRM.COM store (unit)",
        groups="base.group_system",
        help="The CRM.COM unit that performs this company's sales.",
    )
    crmcom_external_system = fields.Char(
        string="External system name",
        default="ODOO_POS",
        groups="base.group_system",
        help="Sent as external_system with every purchase and spend request.",
    )
    crmcom_timeout = fields.Float(
        string="CRM.COM timeout (s)",
        default=10.0,
        groups="base.group_system",
        help="How long to wait for CRM.COM's reply before giving up.",
    )
    crmcom_sync_definition = fields.Char(
        string="Product synchronisation definition",
        default="ODOO POS SYNC",
        groups="base.group_system",
        help="Name of the products synchronisation run definition configured in CRM.COM.",
    )

    def _compute_crmcom_secrets(self):
        # Read with the user's rights: another company's credentials read as empty.
        secrets = self.env["crmcom.secret"].search([("company_id", "in", self.ids)])
        by_company = {secret.company_id.id: secret for secret in secrets}
        for company in self:
            secret = by_company.get(company.id)
            company.crmcom_api_key = secret.api_key if secret else False
            company.crmcom_password = secret.password if secret else False

    def _inverse_crmcom_secrets(self):
        secrets = self.env["crmcom.secret"]
        for company in self:
            values = {"api_key": company.crmcom_api_key, "password": company.crmcom_password}
            # Found whatever the rules, written with them: another company's credentials
            # can't be replaced (AccessError), nor duplicated.
            secret = secrets.sudo().search([("company_id", "=", company.id)]).sudo(False)
            if secret:
                secret.write(values)
            else:
                secrets.create({"company_id": company.id, **values})

    @api.constrains("crmcom_base_url")
    def _check_crmcom_base_url(self):
        for company in self.sudo().filtered("crmcom_base_url"):
            url = urlsplit(company.crmcom_base_url.strip())
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ValidationError(
                    self.env._(
                        "The CRM.COM URL must be an http:// or https:// address, such as "
                        "https://mycompany.crm.com (got %(url)s).",
                        url=company.crmcom_base_url,
                    )
                )
            if url.scheme == "http" and not _is_local_host(url.hostname):
                raise ValidationError(
                    self.env._(
                        "The CRM.COM URL must use https:// unless it points at this machine: "
                        "credentials and customer data would travel unencrypted to %(host)s.",
                        host=url.hostname,
                    )
                )

    @api.constrains("crmcom_timeout")
    def _check_crmcom_timeout(self):
        for company in self.sudo():
            if not 0 < company.crmcom_timeout <= MAX_TIMEOUT:
                raise ValidationError(
                    self.env._(
                        "The CRM.COM timeout must be more than 0 and at most %(max)s seconds.",
                        max=int(MAX_TIMEOUT),
                    )
                )

    @api.constrains(
        "crmcom_enabled",
        "crmcom_base_url",
        "crmcom_auth_mode",
        "crmcom_api_key",
        "crmcom_username",
        "crmcom_password",
        "crmcom_organisation",
        "crmcom_unit",
    )
    def _check_crmcom_complete(self):
        for company in self.sudo().filtered("crmcom_enabled"):
            missing = company._crmcom_missing_settings()
            if missing:
                raise ValidationError(
                    self.env._(
                        "To connect %(company)s to CRM.COM Rewards, fill in: %(missing)s.",
                        company=company.name,
                        missing=", ".join(missing),
                    )
                )

    def _crmcom_missing_settings(self):
        self.ensure_one()
        required = ["crmcom_base_url", "crmcom_unit"]
        if self.crmcom_auth_mode == "api_key":
            required.append("crmcom_api_key")
        else:
            required += ["crmcom_username", "crmcom_password", "crmcom_organisation"]
        return [
            self._fields[name].get_description(self.env)["string"]
            for name in required
            if not (self[name] or "").strip()
        ]

    def _crmcom_unit_identifier(self):
        self.ensure_one()
        company = self.sudo()
        return {company.crmcom_unit_key: company.crmcom_unit.strip()}

    def _crmcom_client(self, related=None):
        """A CRM.COM client for this company; every call it makes is logged on ``related``."""
        self.ensure_one()
        company = self.sudo()
        missing = company._crmcom_missing_settings()
        if missing:
            raise ValidationError(
                self.env._(
                    "The CRM.COM connection of %(company)s is incomplete: fill in %(missing)s.",
                    company=company.name,
                    missing=", ".join(missing),
                )
            )
        by_key = company.crmcom_auth_mode == "api_key"
        credentials = (
            {"api_key": company.crmcom_api_key.strip()}
            if by_key
            else {
                "username": company.crmcom_username,
                "password": company.crmcom_password,
                "organisation": company.crmcom_organisation,
            }
        )
        log = self.env["crmcom.call.log"]
        return CrmComClient(
            company.crmcom_base_url.strip(),
            # The login's optional unit takes a unit ID only (crmcom-api.md §2.1).
            unit=company.crmcom_unit.strip() if company.crmcom_unit_key == "id" else None,
            timeout=company.crmcom_timeout,
            token_store=CompanyTokenStore(self.env, company),
            on_call=lambda record: log._log_call(record, company, related),
            **credentials,
        )


# ---------------------------------------------------------------------- product synchronisation

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


class ResCompanyProductSync(models.Model):
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

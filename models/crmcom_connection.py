import hashlib
import ipaddress
import json
import logging
import os
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from odoo.addons.base.models.res_partner import _tz_get

from ..crmcom import MAX_PRODUCTS_PER_SYNC, CrmComClient, pool
from ..crmcom.client import normalise_base_url, release_token
from .crmcom_token import CompanyTokenStore

_logger = logging.getLogger(__name__)

# A till request waits for CRM.COM this long at most (retries included): far below Odoo's
# limit_time_real (120 s by default), so a slow CRM.COM never gets a worker killed.
MAX_TIMEOUT = 30.0
SECRET_FIELDS = ("api_key", "password")
# What a token is issued for: when one of these changes, the company's token is released.
TOKEN_SCOPE_FIELDS = (
    "base_url",
    "auth_mode",
    "api_key",
    "username",
    "password",
    "organisation",
    "unit_key",
    "unit",
)
LOCAL_HOSTS = {"localhost"}
# System parameter: the CA bundle (a PEM file or a folder of them, on the Odoo server) that
# CRM.COM's certificate is checked against instead of the system's authorities, e.g. for a
# server behind a private CA. Set by the server's administrator; certificates are always
# checked.
CA_FILE_PARAMETER = "pos_crmcom_rewards.ca_file"
# The product fields a connection may send as keys of CRM.COM's product object: (key, field
# of the connection holding the chosen product field, its label, the default product field).
SYNC_MAPPING = (
    ("description", "sync_description_field_id", "Description from", "name"),
    (
        "long_description",
        "sync_long_description_field_id",
        "Long description from",
        "description_sale",
    ),
    ("type_identifier", "sync_type_field_id", "Product type from", None),
    ("brand_identifier", "sync_brand_field_id", "Brand from", None),
    ("family_identifier", "sync_family_field_id", "Family from", "categ_id"),
    ("category_identifier", "sync_category_field_id", "Category from", "pos_categ_ids"),
)
SYNC_MAPPABLE_TYPES = ("char", "text", "selection", "many2one", "many2many")


def _sync_field(key):
    """The connection's setting of which product field is sent as ``key`` (unset: the key is
    not sent)."""
    _key, _name, string, default_name = next(item for item in SYNC_MAPPING if item[0] == key)

    def default(self):
        # A search, not ir.model.fields._get(): its cache would be filled before this
        # module's own product fields are reflected, at install.
        if not default_name:
            return False
        return (
            self.env["ir.model.fields"]
            .sudo()
            .search([("model", "=", "product.product"), ("name", "=", default_name)], limit=1)
        )

    return fields.Many2one(
        "ir.model.fields",
        string=string,
        domain=[("model", "=", "product.product"), ("ttype", "in", SYNC_MAPPABLE_TYPES)],
        ondelete="set null",
        default=default,
    )


def _is_local_host(host):
    if not host:
        return False
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CrmcomConnection(models.Model):
    """How one company talks to CRM.COM: server, login, store, and the credentials.

    Kept apart from res.company: companies are readable and writable by the administrators
    of every company, and field groups cannot tell one company from another; this model's
    record rule can. Its secrets are sent only to the server they were entered for: a new
    URL erases them unless the same save gives them again.
    """

    _name = "crmcom.connection"
    _description = "CRM.COM connection"
    _rec_name = "company_id"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", index=False)
    enabled = fields.Boolean(string="Connect to CRM.COM Rewards")
    base_url = fields.Char(
        string="CRM.COM URL",
        help="Server address, e.g. https://mycompany.crm.com; the API lives under "
        "/crmapi/rest/v2/.",
    )
    auth_mode = fields.Selection(
        [("api_key", "Web API key"), ("password", "User name and password")],
        string="CRM.COM login",
        default="api_key",
        required=True,
        help='A Web API key of the "System Key" classification is what CRM.COM recommends '
        "for POS integrations.",
    )
    api_key = fields.Char(string="CRM.COM Web API key")
    username = fields.Char(string="CRM.COM user name")
    password = fields.Char(string="CRM.COM password")
    organisation = fields.Char(string="CRM.COM organisation")
    unit_key = fields.Selection(
        [("alternative_code", "Alternative code"), ("id", "ID"), ("name", "Name")],
        string="Store identified by",
        default="alternative_code",
        required=True,
    )
    unit = fields.Char(
        string="CRM.COM store (unit)", help="The CRM.COM unit that performs this company's sales."
    )
    external_system = fields.Char(
        string="External system name",
        default="ODOO_POS",
        help="Sent as external_system with every purchase and spend request.",
    )
    timeout = fields.Float(
        string="CRM.COM timeout (s)",
        default=10.0,
        help="How long a till waits for CRM.COM, retries included, before going on without it.",
    )
    time_zone = fields.Selection(
        _tz_get,
        string="CRM.COM time zone",
        default="UTC",
        required=True,
        help="CRM.COM reads and writes dates without a time zone, as local times of the "
        "organisation: the zone those times are in.",
    )
    sync_definition = fields.Char(
        string="Product synchronisation definition",
        default="ODOO POS SYNC",
        help="Name of the products synchronisation run definition configured in CRM.COM.",
    )
    sync_domain = fields.Char(
        string="Products to synchronise",
        default="[('available_in_pos', '=', True)]",
        help="Which products are sent to CRM.COM (those of this company or shared). Products "
        "once sent that leave this selection or are archived are sent as no longer valid.",
    )
    sync_batch_size = fields.Integer(
        string="Products per call",
        default=MAX_PRODUCTS_PER_SYNC,
        help="Products sent per products/synchronise call; CRM.COM accepts at most 1,000.",
    )
    # An administrator asked for a run from the settings: the scheduled action's next run is
    # recorded as theirs.
    sync_requested = fields.Boolean(string="Synchronisation asked for", readonly=True, copy=False)
    # The outbox's senders leave the company's rows alone until then: its CRM.COM could not
    # be reached, or asked (HTTP 429) to slow down. Written by the senders only.
    outbox_paused_until = fields.Datetime(string="Awards paused until", readonly=True, copy=False)
    sync_description_field_id = _sync_field("description")
    sync_long_description_field_id = _sync_field("long_description")
    sync_type_field_id = _sync_field("type_identifier")
    sync_brand_field_id = _sync_field("brand_identifier")
    sync_family_field_id = _sync_field("family_identifier")
    sync_category_field_id = _sync_field("category_identifier")

    _company_uniq = models.Constraint("UNIQUE(company_id)", "One CRM.COM connection per company.")

    # ------------------------------------------------------------------ writing

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._normalised(vals) for vals in vals_list])

    def write(self, vals):
        if "company_id" in vals and any(
            connection.company_id.id != vals["company_id"] for connection in self
        ):
            # The record rule is checked before a write, not after: a connection moved to
            # another company would leave the rule's reach.
            raise AccessError(self.env._("A CRM.COM connection cannot move to another company."))
        vals = self._normalised(vals)
        retiring = self._changing(vals, TOKEN_SCOPE_FIELDS)
        if vals.get("enabled") is False:
            retiring |= self.filtered("enabled")
        if (retiring or vals.get("enabled")) and "outbox_paused_until" not in vals:
            # Another server, other credentials, or connected again: the outbox tries now.
            vals["outbox_paused_until"] = False
        # This process's kept connections to CRM.COM of those settings are closed once the
        # change is committed (other workers replace theirs at their next call).
        self._discard_pools_after_commit(retiring)
        moved = self._changing(vals, ("base_url",))
        # A secret entered for one server is never sent to another: those that a move to
        # a new URL does not give again are erased.
        erased = {name: False for name in SECRET_FIELDS if not vals.get(name)}
        staying = self
        if moved and erased:
            super(CrmcomConnection, moved).write({**vals, **erased})
            staying -= moved
        if staying:
            super(CrmcomConnection, staying).write(vals)
        retiring._retire_tokens()
        return True

    def _pause_outbox(self, delay):
        """Have every sender leave this company's awards alone for ``delay`` (its CRM.COM
        is down, or asked to slow down). Never waits: a connection another transaction is
        writing (a sender that paused it too, an administrator) keeps what that one writes.
        """
        self.ensure_one()
        until = fields.Datetime.now() + delay
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        """UPDATE crmcom_connection SET outbox_paused_until = %(until)s
                            WHERE id IN (SELECT id FROM crmcom_connection WHERE id = %(id)s
                                         FOR NO KEY UPDATE NOWAIT)
                              AND (outbox_paused_until IS NULL
                                   OR outbox_paused_until < %(until)s)""",
                        id=self.id,
                        until=until,
                    ),
                    log_exceptions=False,
                )
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            return
        self.invalidate_recordset(["outbox_paused_until"])

    @api.model
    def _normalised(self, vals):
        vals = dict(vals)
        if vals.get("base_url"):
            vals["base_url"] = normalise_base_url(vals["base_url"])
        for name in ("unit", "username", "organisation", *SECRET_FIELDS):
            if isinstance(vals.get(name), str):
                vals[name] = vals[name].strip() or False
        return vals

    def _changing(self, vals, names):
        """The connections whose ``names`` the write ``vals`` gives another value."""
        return self.filtered(
            lambda connection: any(
                name in vals and (connection[name] or False) != (vals[name] or False)
                for name in names
            )
        )

    def _pool_owner(self):
        """What the kept HTTP sessions of this connection are filed under (crmcom.pool): one
        pool per database and company, replaced when the server, trust or credentials
        change."""
        self.ensure_one()
        return (self.env.cr.dbname, self.company_id.id)

    def _discard_pools_after_commit(self, connections):
        owners = [connection._pool_owner() for connection in connections]
        if not owners:
            return

        @self.env.cr.postcommit.add
        def discard():
            for owner in owners:
                pool.discard(owner)

    def _retire_tokens(self):
        """Forget the tokens of these connections now and release them in CRM.COM once the
        transaction is committed (a rolled-back save releases nothing; a token released
        although the save failed is only renewed at the next call)."""
        if not self:
            return
        self.env.cr.execute(
            SQL(
                "DELETE FROM crmcom_token WHERE company_id IN %s RETURNING company_id, token, "
                "base_url",
                tuple(self.company_id.ids),
            )
        )
        retired = [row for row in self.env.cr.fetchall() if row[2]]
        if not retired:
            return
        timeouts = {connection.company_id.id: connection.timeout for connection in self}
        trust = {base_url: self._ca_bundle(base_url) for _company, _token, base_url in retired}
        registry = self.env.registry

        @self.env.cr.postcommit.add
        def release():
            for company_id, token, base_url in retired:
                try:
                    with registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, {})
                        company = env["res.company"].browse(company_id)
                        log = env["crmcom.call.log"]
                        release_token(
                            base_url,
                            token,
                            timeout=min(timeouts.get(company_id) or MAX_TIMEOUT, 5.0),
                            verify=trust[base_url],
                            on_call=lambda record, log=log, company=company: log._log_call(
                                record, company
                            ),
                        )
                except Exception:  # noqa: BLE001 - an old token that stays valid expires
                    _logger.info("CRM.COM token of company %s not released", company_id)

    def action_forget_credentials(self):
        """Disconnect and erase the Web API key and password: the explicit way to remove
        them, as an empty field in the settings keeps them."""
        self.write({"enabled": False, **dict.fromkeys(SECRET_FIELDS, False)})

    # ------------------------------------------------------------------ checks

    @api.constrains("base_url")
    def _check_base_url(self):
        for connection in self.filtered("base_url"):
            url = urlsplit(connection.base_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ValidationError(
                    self.env._(
                        "The CRM.COM URL must be an http:// or https:// address, such as "
                        "https://mycompany.crm.com (got %(url)s).",
                        url=connection.base_url,
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

    @api.constrains("time_zone")
    def _check_time_zone(self):
        for connection in self:
            try:
                ZoneInfo(connection.time_zone or "UTC")
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValidationError(
                    self.env._(
                        "This server does not know the time zone %(zone)s: choose another one "
                        "(e.g. Europe/Nicosia rather than an old alias).",
                        zone=connection.time_zone,
                    )
                ) from exc

    @api.constrains("timeout")
    def _check_timeout(self):
        for connection in self:
            if not 0 < connection.timeout <= MAX_TIMEOUT:
                raise ValidationError(
                    self.env._(
                        "The CRM.COM timeout must be more than 0 and at most %(max)s seconds: "
                        "a till waits that long for CRM.COM at most.",
                        max=int(MAX_TIMEOUT),
                    )
                )

    @api.constrains("sync_batch_size")
    def _check_sync_batch_size(self):
        for connection in self:
            if not 1 <= connection.sync_batch_size <= MAX_PRODUCTS_PER_SYNC:
                raise ValidationError(
                    self.env._(
                        "The number of products per CRM.COM call must be between 1 and "
                        "%(max)s: CRM.COM refuses more than %(max)s products per "
                        "synchronisation call (got %(size)s).",
                        max=f"{MAX_PRODUCTS_PER_SYNC:,}",
                        size=connection.sync_batch_size,
                    )
                )

    @api.constrains(*(name for _key, name, _string, _default in SYNC_MAPPING))
    def _check_sync_fields(self):
        for connection in self:
            for _key, name, _string, _default in SYNC_MAPPING:
                chosen = connection[name]
                if chosen and chosen.model != "product.product":
                    raise ValidationError(
                        self.env._(
                            "%(setting)s must be a field of products (got %(field)s).",
                            setting=self._fields[name].get_description(self.env)["string"],
                            field=chosen.display_name,
                        )
                    )

    @api.constrains(*TOKEN_SCOPE_FIELDS, "enabled")
    def _check_complete(self):
        for connection in self.filtered("enabled"):
            missing = connection._missing_settings()
            if missing:
                raise ValidationError(
                    self.env._(
                        "To connect %(company)s to CRM.COM Rewards, fill in: %(missing)s.",
                        company=connection.company_id.name,
                        missing=", ".join(missing),
                    )
                )

    def _missing_settings(self):
        self.ensure_one()
        required = ["base_url", "unit"]
        if self.auth_mode == "api_key":
            required.append("api_key")
        else:
            required += ["username", "password", "organisation"]
        return [
            self._fields[name].get_description(self.env)["string"]
            for name in required
            if not self[name]
        ]

    # ------------------------------------------------------------------ using

    def _token_scope(self):
        """A digest of what a token is issued for (TOKEN_SCOPE_FIELDS)."""
        self.ensure_one()
        values = json.dumps([self[name] or None for name in TOKEN_SCOPE_FIELDS])
        return hashlib.sha256(values.encode()).hexdigest()

    def _unit_identifier(self):
        self.ensure_one()
        return {self.unit_key: self.unit}

    @api.model
    def _login_unit(self, unit):
        """The unit ID the login carries for sales of the store ``unit`` (an identifier such
        as ``{"id": "U1"}``), or None: CRM.COM's login takes a unit ID only (crmcom-api.md
        §2.1), so a store given by code or name logs in without one."""
        ((key, value),) = unit.items()
        return value if key == "id" and value else None

    def _client(self, related=None, unit=None, **options):
        """A CRM.COM client for this connection; every call it makes is logged on
        ``related``. ``unit`` is the store of the sale (an identifier, default the
        connection's): the client logs in with it when it is given by ID, with a token of
        its own. ``options`` replace the client's defaults (``token_store``: the company's
        token row of that login unit; ``on_call``: the call log) or add others
        (``request_view``...). Use it as a context manager: it closes its HTTP connections."""
        self.ensure_one()
        connection = self.sudo()
        company = connection.company_id
        missing = connection._missing_settings()
        if not connection.enabled or missing:
            raise ValidationError(
                self.env._(
                    "%(company)s is not connected to CRM.COM Rewards: fill in %(missing)s.",
                    company=company.name,
                    missing=", ".join(missing)
                    or self.env._("Connect to CRM.COM Rewards (Point of Sale settings)"),
                )
            )
        credentials = (
            {"api_key": connection.api_key}
            if connection.auth_mode == "api_key"
            else {
                "username": connection.username,
                "password": connection.password,
                "organisation": connection.organisation,
            }
        )
        log = self.env["crmcom.call.log"]
        login_unit = self._login_unit(unit or connection._unit_identifier())
        defaults = {
            "token_store": CompanyTokenStore(
                self.env, company, connection.base_url, connection._token_scope(), login_unit
            ),
            "on_call": lambda record: log._log_call(record, company, related),
            "timeout": connection.timeout,
        }
        return CrmComClient(
            connection.base_url,
            # The login's optional unit takes a unit ID only (crmcom-api.md §2.1).
            unit=login_unit,
            time_zone=connection.time_zone,
            verify=self._ca_bundle(connection.base_url),
            pool_owner=connection._pool_owner(),
            **credentials,
            **{**defaults, **options},
        )

    @api.model
    def _ca_bundle(self, base_url):
        """The client's ``verify`` for ``base_url``: the CA bundle of the system parameter,
        or True (the system's authorities) when none is set or the file is missing: then a
        private certificate fails to verify, and the call fails as unreachable."""
        if not base_url.startswith("https://"):
            return True  # no certificate to check
        path = (self.env["ir.config_parameter"].sudo().get_param(CA_FILE_PARAMETER) or "").strip()
        if not path:
            return True
        if not os.path.exists(path):
            _logger.warning(
                "CRM.COM CA bundle %s (system parameter %s) not found: the system's "
                "authorities are used",
                path,
                CA_FILE_PARAMETER,
            )
            return True
        return path

import time

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..crmcom import CallTimeoutError, CrmComError
from .crmcom_connection import SECRET_FIELDS
from .crmcom_parameters import (
    ABANDONED_AFTER_HOURS,
    CALL_LOG_RETENTION_DAYS,
    IDENTIFY_FAILURES_PER_MINUTE,
    OUTBOX_CALLS_PER_COMPANY,
    RECEIPT_WAIT_SECONDS,
)
from .notification import notification

SYSTEM = "base.group_system"
# Test connection logs in once per store ID in use: all of them within this (Odoo's own
# request limit, limit_time_real, is 120 s by default).
TEST_CONNECTION_SECONDS = 60.0
# Settings field -> crmcom.connection field. The connection is saved in one write, whatever
# order the form gives the fields in, and only with what differs from what is saved.
CONNECTION_SETTINGS = {
    "crmcom_enabled": "enabled",
    "crmcom_base_url": "base_url",
    "crmcom_auth_mode": "auth_mode",
    "crmcom_api_key": "api_key",
    "crmcom_username": "username",
    "crmcom_password": "password",
    "crmcom_organisation": "organisation",
    "crmcom_unit_key": "unit_key",
    "crmcom_unit": "unit",
    "crmcom_external_system": "external_system",
    "crmcom_timeout": "timeout",
    "crmcom_time_zone": "time_zone",
    "crmcom_sync_definition": "sync_definition",
}
# Never shown, never kept in the settings' table: an empty field means "keep the saved one".
SECRET_SETTINGS = {"crmcom_api_key": "api_key", "crmcom_password": "password"}
PARAMETER_SETTINGS = {
    "crmcom_call_log_retention_days": CALL_LOG_RETENTION_DAYS,
    "crmcom_abandoned_after_hours": ABANDONED_AFTER_HOURS,
    "crmcom_identify_failures_per_minute": IDENTIFY_FAILURES_PER_MINUTE,
    "crmcom_receipt_wait_seconds": RECEIPT_WAIT_SECONDS,
    "crmcom_outbox_calls_per_company": OUTBOX_CALLS_PER_COMPANY,
}


def _connection_selection(name):
    def selection(self):
        return self.env["crmcom.connection"]._fields[name].selection

    return selection


def _parameter_setting(parameter, string, **kwargs):
    return fields.Integer(
        string=string,
        config_parameter=parameter.key,
        default=parameter.default,
        groups=SYSTEM,
        **kwargs,
    )


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # The company's connection (system administrators only), saved to crmcom.connection.
    crmcom_enabled = fields.Boolean(groups=SYSTEM)
    crmcom_base_url = fields.Char(groups=SYSTEM)
    crmcom_auth_mode = fields.Selection(_connection_selection("auth_mode"), groups=SYSTEM)
    crmcom_api_key = fields.Char(groups=SYSTEM)
    crmcom_api_key_saved = fields.Boolean(groups=SYSTEM)
    crmcom_username = fields.Char(groups=SYSTEM)
    crmcom_password = fields.Char(groups=SYSTEM)
    crmcom_password_saved = fields.Boolean(groups=SYSTEM)
    crmcom_organisation = fields.Char(groups=SYSTEM)
    crmcom_unit_key = fields.Selection(_connection_selection("unit_key"), groups=SYSTEM)
    crmcom_unit = fields.Char(groups=SYSTEM)
    crmcom_external_system = fields.Char(groups=SYSTEM)
    crmcom_timeout = fields.Float(groups=SYSTEM)
    crmcom_time_zone = fields.Selection(_tz_get, groups=SYSTEM)
    crmcom_sync_definition = fields.Char(groups=SYSTEM)

    crmcom_call_log_retention_days = _parameter_setting(
        CALL_LOG_RETENTION_DAYS, "Keep CRM.COM call log (days)"
    )
    crmcom_abandoned_after_hours = _parameter_setting(
        ABANDONED_AFTER_HOURS,
        "Cancel abandoned wallet spends after (hours)",
        help="A wallet spend whose order never reached Odoo is cancelled in CRM.COM after "
        "this long. Tills that work offline sync late: keep it longer than they stay offline.",
    )
    crmcom_identify_failures_per_minute = _parameter_setting(
        IDENTIFY_FAILURES_PER_MINUTE,
        "Customers not found per till and minute",
        help="After this many identifications that found no customer in a minute, a till "
        "waits before it may look customers up again: a till cannot be used to try card "
        "numbers one after another.",
    )
    crmcom_receipt_wait_seconds = _parameter_setting(
        RECEIPT_WAIT_SECONDS,
        "Wait for the award on the receipt (seconds)",
        help="After payment, the till waits this long at most for CRM.COM to confirm what the "
        "sale earned, so that the receipt prints it; beyond that the receipt prints the "
        "expected award and CRM.COM gets the sale shortly after. 0: never wait.",
    )

    crmcom_outbox_calls_per_company = _parameter_setting(
        OUTBOX_CALLS_PER_COMPANY,
        "Award senders per company at once (all companies)",
        help="At most this many award senders call one company's CRM.COM at the same time "
        "(each makes one call at a time). The tills' own calls are not counted: a sale never "
        "waits for the outbox.",
    )
    # The outbox's senders are cron jobs (data/ir_cron_data.xml): this many are active.
    crmcom_award_senders = fields.Integer(
        "Award senders (all companies)",
        groups=SYSTEM,
        help="How many scheduled jobs send awards, cancellations and spends to CRM.COM in "
        "parallel, on Odoo's cron workers of every server on the database (Odoo runs as "
        "many jobs at once as it has cron workers).",
    )

    # Per point of sale.
    pos_crmcom_enabled = fields.Boolean(related="pos_config_id.crmcom_enabled", readonly=False)
    pos_crmcom_identify_card = fields.Boolean(
        related="pos_config_id.crmcom_identify_card", readonly=False
    )
    pos_crmcom_identify_phone = fields.Boolean(
        related="pos_config_id.crmcom_identify_phone", readonly=False
    )
    pos_crmcom_identify_email = fields.Boolean(
        related="pos_config_id.crmcom_identify_email", readonly=False
    )
    pos_crmcom_identify_number = fields.Boolean(
        related="pos_config_id.crmcom_identify_number", readonly=False
    )
    pos_crmcom_discount_product_id = fields.Many2one(
        related="pos_config_id.crmcom_discount_product_id", readonly=False
    )
    pos_crmcom_unit_key = fields.Selection(related="pos_config_id.crmcom_unit_key", readonly=False)
    pos_crmcom_unit = fields.Char(related="pos_config_id.crmcom_unit", readonly=False)

    @api.onchange("pos_crmcom_enabled")
    def _onchange_pos_crmcom_enabled(self):
        # Tills made before the add-on was installed have no wallet spend product yet.
        if self.pos_crmcom_enabled and not self.pos_crmcom_discount_product_id:
            self.pos_crmcom_discount_product_id = self.env.ref(
                "pos_crmcom_rewards.product_crmcom_wallet_spend", raise_if_not_found=False
            )

    @api.model
    def get_values(self):
        values = super().get_values()
        if not self.env.user.has_group(SYSTEM):
            return values
        connections = self.env["crmcom.connection"]
        connection = connections.search([("company_id", "=", self.env.company.id)])
        source = connection or connections.default_get(list(CONNECTION_SETTINGS.values()))
        saved = {
            name: source[field] if connection else source.get(field, False)
            for name, field in CONNECTION_SETTINGS.items()
        }
        for name in SECRET_SETTINGS:
            values[f"{name}_saved"] = bool(saved.pop(name, False))
        values.update(saved)
        values["crmcom_award_senders"] = len(
            self.env["crmcom.purchase"]._senders().filtered("active")
        )
        return values

    def set_values(self):
        super().set_values()
        if not self.env.user.has_group(SYSTEM):
            return
        senders = self.env["crmcom.purchase"]._senders()
        wanted = self.crmcom_award_senders
        if wanted == len(senders.filtered("active")):
            return  # as it is (even none, e.g. a neutralised copy): nothing is switched on
        if not 1 <= wanted <= len(senders):
            raise ValidationError(
                self.env._("Award senders must be between 1 and %(high)s.", high=len(senders))
            )
        parameters = self.env["ir.config_parameter"].sudo()
        if wanted > len(senders.filtered("active")) and parameters.get_param(
            "database.is_neutralized"
        ):
            # As Odoo's own scheduled actions: a copy of the database sends nothing.
            raise UserError(self.env._("This database is a neutralised copy: it sends no awards."))
        try:
            for index, sender in enumerate(senders):
                if sender.active != (index < wanted):
                    sender.active = index < wanted
        except UserError as exc:
            # Odoo refuses to change a scheduled action while it runs.
            raise UserError(
                self.env._(
                    "An award sender is sending right now: save the number of senders again "
                    "in a minute. (%(reason)s)",
                    reason=str(exc),
                )
            ) from exc

    # The connection is saved when the settings are: a button of the form (Test connection)
    # saves the form first, and so tests what the administrator sees.
    @api.model_create_multi
    def create(self, vals_list):
        companies = self.env["res.company"]
        vals_list = [
            self._crmcom_save(vals, companies.browse(vals.get("company_id")) or self.env.company)
            for vals in vals_list
        ]
        return super().create(vals_list)

    def write(self, vals):
        for company in self.company_id or self.env.company:
            vals = self._crmcom_save(vals, company)
        return super().write(vals)

    @api.model
    def _crmcom_save(self, vals, company):
        """Check the CRM.COM numbers and save the connection of ``vals``; return ``vals``
        without the secrets (so that they are not kept in the settings' table)."""
        self._crmcom_check_parameters(vals)
        given = {name: vals[name] for name in CONNECTION_SETTINGS if name in vals}
        if not given:
            return vals
        if not self.env.user.has_group(SYSTEM) or company not in self.env.user.company_ids:
            raise AccessError(
                self.env._(
                    "Only administrators of %(company)s can change its CRM.COM connection.",
                    company=company.name,
                )
            )
        vals = {
            **{name: value for name, value in vals.items() if name not in SECRET_SETTINGS},
            **{f"{name}_saved": True for name in SECRET_SETTINGS if vals.get(name)},
        }
        wanted = {CONNECTION_SETTINGS[name]: value for name, value in given.items()}
        for field in SECRET_SETTINGS.values():
            if not wanted.get(field):
                wanted.pop(field, None)  # empty: keep what is saved
        connections = self.env["crmcom.connection"]
        # Read with the user's rules: another company's connection is not found, and
        # creating one for it is refused.
        saved = connections.search([("company_id", "=", company.id)]) or connections.new(
            connections.default_get(list(wanted))
        )
        changed = {
            field: value
            for field, value in wanted.items()
            # A secret given is written with the rest: it belongs to the URL saved with it.
            if field in SECRET_FIELDS or (saved[field] or False) != (value or False)
        }
        if changed:
            company._crmcom_set_connection(changed)
        return vals

    @api.model
    def _crmcom_check_parameters(self, vals):
        # Checked before the settings' row is written: a number beyond the column's range
        # would otherwise fail as a database error.
        for name, parameter in PARAMETER_SETTINGS.items():
            if name in vals and not parameter.is_valid(vals[name]):
                raise ValidationError(
                    self.env._(
                        "%(setting)s must be between %(low)s and %(high)s.",
                        setting=self._fields[name].get_description(self.env)["string"],
                        low=parameter.low,
                        high=parameter.high,
                    )
                )

    def _crmcom_check_own_company(self):
        """The settings' company must be one of the user's: a settings record can be made
        for any company id."""
        self.ensure_one()
        if not self.env.user.has_group(SYSTEM) or self.company_id not in self.env.user.company_ids:
            raise AccessError(
                self.env._(
                    "Only administrators of %(company)s can use its CRM.COM connection.",
                    company=self.company_id.name,
                )
            )

    def action_crmcom_test_connection(self):
        """Log in with the saved settings, once for each login the stores in use need (the
        company's and each CRM.COM till's), and say whether it worked, and if not, for which
        store and why."""
        self._crmcom_check_own_company()
        company = self.company_id
        connection = company._crmcom_connection()
        if not connection:
            company._crmcom_client()  # says what to fill in
        logins = {}  # login unit ID (None: none) -> {(key, store): [whose store it is]}
        for unit, whose in self._crmcom_stores_in_use():
            login_unit = connection._login_unit(unit)
            store = next(iter(unit.items()))
            logins.setdefault(login_unit, {}).setdefault(store, []).append(whose)
        # Every login waits the connection's timeout at most, and all of them together
        # stay far below Odoo's request limit, however many stores fail to answer.
        end = time.monotonic() + TEST_CONNECTION_SECONDS
        for login_unit, stores in logins.items():
            described = self._crmcom_describe_stores(stores)
            seconds = min(connection.timeout, end - time.monotonic())
            try:
                if seconds <= 0:
                    raise CallTimeoutError(
                        self.env._("Not tried: the other logins took all the time."),
                        outcome_unknown=False,
                    )
                with (
                    company._crmcom_client(
                        related=company, unit=dict([next(iter(stores))])
                    ) as client,
                    client.deadline(seconds),
                ):
                    client.login()
            except (CrmComError, ValueError) as exc:
                # ValidationError (incomplete settings) is shown by the client as it is.
                return notification(
                    self.env._("CRM.COM connection failed"),
                    self.env._(
                        "Logging in for %(stores)s: %(reason)s", stores=described, reason=exc
                    )
                    if login_unit
                    else str(exc),
                    "danger",
                )
        checked = [
            self._crmcom_describe_stores(stores)
            for login_unit, stores in logins.items()
            if login_unit
        ]
        unchecked = [
            self._crmcom_describe_stores(stores)
            for login_unit, stores in logins.items()
            if not login_unit
        ]
        message = [self.env._("Logged in to %(url)s.", url=connection.base_url)]
        if checked:
            message.append(
                self.env._("CRM.COM knows the stores %(stores)s.", stores="; ".join(checked))
            )
        if unchecked:
            message.append(
                self.env._(
                    "Stores given by code or name are checked by CRM.COM at their first "
                    "sale (a login takes a store ID only): %(stores)s.",
                    stores="; ".join(unchecked),
                )
            )
        return notification(self.env._("CRM.COM connection works"), " ".join(message), "success")

    def _crmcom_stores_in_use(self):
        """``(store identifier, whose it is)`` of the company and of each of its CRM.COM
        tills that names a store of its own."""
        self.ensure_one()
        company = self.company_id
        stores = [(company._crmcom_unit_identifier(), self.env._("the company"))]
        configs = (
            self.env["pos.config"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("crmcom_enabled", "=", True),
                    ("crmcom_unit", "!=", False),
                ]
            )
        )
        stores += [(config._crmcom_unit_identifier(), config.name) for config in configs]
        return stores

    def _crmcom_describe_stores(self, stores):
        """``{(key, store): [whose]}`` as text: ``STORE02 by alternative code (Shop 2)``."""
        labels = {
            key: label
            for key, label in self.env["crmcom.connection"]
            ._fields["unit_key"]
            ._description_selection(self.env)
        }
        return ", ".join(
            self.env._(
                "%(unit)s by %(key)s (%(whose)s)",
                unit=value,
                key=labels.get(key, key).lower(),
                whose=", ".join(whose),
            )
            for (key, value), whose in stores.items()
        )

    def action_crmcom_forget_credentials(self):
        """Disconnect the company and erase its saved Web API key and password."""
        self._crmcom_check_own_company()
        self.env["crmcom.connection"].search(
            [("company_id", "=", self.company_id.id)]
        ).action_forget_credentials()
        return {"type": "ir.actions.client", "tag": "reload"}

    # Product synchronisation.
    def action_crmcom_open_sync_settings(self):
        """The products sent to CRM.COM and how their fields map, on the connection's form."""
        self._crmcom_check_own_company()
        connection = self.env["crmcom.connection"].search([("company_id", "=", self.company_id.id)])
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("CRM.COM product synchronisation"),
            "res_model": "crmcom.connection",
            "res_id": connection.id,
            "view_mode": "form",
            "views": [
                (self.env.ref("pos_crmcom_rewards.crmcom_connection_view_form_sync").id, "form")
            ],
            "target": "new",
        }

    def _crmcom_sync_start(self, full):
        self._crmcom_check_own_company()
        company = self.company_id
        engine = self.env["crmcom.product.sync"]
        if not company._crmcom_is_connected():
            return notification(
                self.env._("CRM.COM product synchronisation"),
                self.env._("Connect the company to CRM.COM first."),
                "danger",
            )
        if engine._is_running(company):
            return notification(
                self.env._("CRM.COM product synchronisation"),
                self.env._("A synchronisation is already running; nothing new was started."),
                "warning",
            )
        if full:
            engine._request_full_resync(company)
        company._crmcom_connection().sync_requested = True
        self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_product_sync").sudo()._trigger()
        return notification(
            self.env._("CRM.COM product synchronisation"),
            self.env._(
                "Started in the background; follow it in CRM.COM Product Sync Runs (%(what)s).",
                what=self.env._("every product") if full else self.env._("changed products"),
            ),
            "success",
        )

    def action_crmcom_sync_products(self):
        """Synchronise now: wake the scheduled action (changed products only)."""
        return self._crmcom_sync_start(full=False)

    def action_crmcom_sync_products_full(self):
        """Full resync: forget what was sent, then wake the scheduled action."""
        return self._crmcom_sync_start(full=True)

    def action_crmcom_open_sync_runs(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "pos_crmcom_rewards.action_crmcom_product_sync_run"
        )

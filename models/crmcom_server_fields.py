from odoo import api, models
from odoo.exceptions import AccessError


class CrmcomServerFieldsMixin(models.AbstractModel):
    """Fields that decide where wallet money goes: written by the server only.

    Odoo lets Point of Sale users write orders, contacts and tills, and a browser can call
    ``create`` and ``write`` with any values; ``readonly`` in a view protects nothing. A
    model lists such fields in ``_crmcom_server_fields`` and may let some users write them
    (``_crmcom_may_write_server_fields``).
    """

    _name = "crmcom.server.fields.mixin"
    _description = "CRM.COM fields written by the server only"

    _crmcom_server_fields = frozenset()

    def _crmcom_may_write_server_fields(self):
        return self.env.su

    def _crmcom_check_server_fields(self, vals):
        if self._crmcom_server_fields.intersection(vals) and not (
            self._crmcom_may_write_server_fields()
        ):
            raise AccessError(
                self.env._(
                    "Only Odoo itself may set these CRM.COM fields of %(model)s: %(fields)s.",
                    model=self._description,
                    fields=", ".join(
                        self._fields[name].string
                        for name in sorted(self._crmcom_server_fields.intersection(vals))
                    ),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._crmcom_check_server_fields(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._crmcom_check_server_fields(vals)
        return super().write(vals)

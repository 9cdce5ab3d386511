from odoo import fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    # Read through this field (as sudo: the till's users may not read connections), the
    # connection is fetched once per transaction, however often a till request needs it.
    crmcom_connection_ids = fields.One2many(
        "crmcom.connection", "company_id", string="CRM.COM connection", groups="base.group_system"
    )

    # ------------------------------------------------------------------ CRM.COM connection

    def _crmcom_connection(self):
        """This company's CRM.COM connection (sudo), or an empty recordset."""
        self.ensure_one()
        return self.sudo().crmcom_connection_ids[:1]

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

    def _crmcom_client(self, related=None, **options):
        """A CRM.COM client for this company; every call it makes is logged on ``related``
        (see ``crmcom.connection._client`` for ``unit`` and the other ``options``)."""
        connection = self._crmcom_connection()
        if not connection:
            raise ValidationError(
                self.env._(
                    "%(company)s is not connected to CRM.COM Rewards: connect it in the Point "
                    "of Sale settings.",
                    company=self.name,
                )
            )
        return connection._client(related, **options)

    def _crmcom_unit_identifier(self):
        """The company's CRM.COM store (``{key: value}``), or ``{}`` when not connected."""
        connection = self._crmcom_connection()
        return connection._unit_identifier() if connection else {}

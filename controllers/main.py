from odoo import http
from odoo.http import request


class CrmComTill(http.Controller):
    """The till's CRM.COM operations, the only way to them: the model methods behind these
    routes are private, so none is callable over ``call_kw``.

    Each route takes its arguments by name, refuses any other, and leaves the checks of the
    till (an open session of a CRM.COM-enabled point of sale the user may use, its company)
    and of every argument's type and value to the model, which answers ``{"ok": ...}``.
    """

    @http.route("/pos_crmcom_rewards/identify", type="jsonrpc", auth="user")
    def identify(self, config_id=None, query=None, method=None, **unexpected):
        return self._till_operation(config_id, unexpected, "_crmcom_identify", query, method)

    @http.route("/pos_crmcom_rewards/preview", type="jsonrpc", auth="user")
    def preview(self, config_id=None, order=None, **unexpected):
        return self._till_operation(config_id, unexpected, "_crmcom_preview", order)

    @http.route("/pos_crmcom_rewards/spend", type="jsonrpc", auth="user")
    def spend(self, config_id=None, order=None, amount=None, **unexpected):
        return self._till_operation(config_id, unexpected, "_crmcom_spend", order, amount)

    @http.route("/pos_crmcom_rewards/cancel_spend", type="jsonrpc", auth="user")
    def cancel_spend(self, config_id=None, order_uuid=None, **unexpected):
        return self._till_operation(config_id, unexpected, "_crmcom_cancel_spend", order_uuid)

    @http.route("/pos_crmcom_rewards/award", type="jsonrpc", auth="user")
    def award(self, config_id=None, order_uuid=None, **unexpected):
        return self._till_operation(config_id, unexpected, "_crmcom_award", order_uuid)

    @http.route("/pos_crmcom_rewards/refund_share", type="jsonrpc", auth="user")
    def refund_share(self, config_id=None, order_id=None, lines=None, **unexpected):
        return self._till_operation(config_id, unexpected, "_crmcom_refund_share", order_id, lines)

    def _till_operation(self, config_id, unexpected, operation, *args):
        configs = request.env["pos.config"]
        config = configs.browse(config_id).exists() if type(config_id) is int else configs
        if unexpected or not config:
            return configs._crmcom_refusal(
                "invalid", request.env._("This request cannot be sent to CRM.COM.")
            )
        return getattr(config, operation)(*args)

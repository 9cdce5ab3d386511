from odoo import api, models


class ReportSaleDetails(models.AbstractModel):
    _inherit = "report.point_of_sale.report_saledetails"

    @api.model
    def get_sale_details(
        self, date_start=False, date_stop=False, config_ids=False, session_ids=False, **kwargs
    ):
        data = super().get_sale_details(date_start, date_stop, config_ids, session_ids, **kwargs)
        # The report's own orders (a date range may cover part of a session), with the
        # figures the closing dialog shows: pos.session._crmcom_session_totals.
        orders = self.env["pos.order"].search(
            self._get_domain(date_start, date_stop, config_ids, session_ids)
        )
        sessions = orders.session_id
        if sessions.config_id.filtered("crmcom_enabled") or orders.crmcom_sale_purchase_id:
            data["crmcom_totals"] = sessions._crmcom_session_totals(orders)
        return data

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare


class PosOrder(models.Model):
    _inherit = "pos.order"

    crmcom_purchase_id = fields.Many2one(
        "crmcom.purchase",
        string="CRM.COM purchase",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    crmcom_participant_number = fields.Char(string="CRM.COM participant", readonly=True, copy=False)
    crmcom_participant_name = fields.Char(string="CRM.COM customer", readonly=True, copy=False)
    crmcom_state = fields.Selection(
        related="crmcom_purchase_id.state", string="CRM.COM award", store=True, index=True
    )
    crmcom_awarded = fields.Monetary(related="crmcom_purchase_id.awarded", string="Awarded")
    crmcom_spent = fields.Monetary(related="crmcom_purchase_id.spent", string="Spent from wallet")
    crmcom_balance_after = fields.Monetary(
        related="crmcom_purchase_id.balance_after", string="Wallet balance after"
    )
    # Administrators only: pos.order is loaded whole into the till, as the cashier.
    crmcom_call_log_ids = fields.One2many(
        "crmcom.call.log",
        compute="_compute_crmcom_call_log_ids",
        string="CRM.COM calls",
        groups="base.group_system",
    )

    @api.depends("crmcom_purchase_id")
    def _compute_crmcom_call_log_ids(self):
        logs = self.env["crmcom.call.log"]
        for order in self:
            order.crmcom_call_log_ids = (
                logs.search(
                    [
                        ("res_model", "=", "crmcom.purchase"),
                        ("res_id", "=", order.crmcom_purchase_id.id),
                    ]
                )
                if order.crmcom_purchase_id
                else logs
            )

    @api.model
    def _process_order(self, order, existing_order):
        # CRM.COM figures come from the server's own records, never from the browser.
        for key in [key for key in order if key.startswith("crmcom_")]:
            del order[key]
        return super()._process_order(order, existing_order)

    def action_pos_order_paid(self):
        # Before the order is marked paid: a refused check leaves it unpaid.
        if self.is_refund:
            self._crmcom_reverse_refunded()
        else:
            self._crmcom_check_and_queue()
        return super().action_pos_order_paid()

    def _crmcom_spend_lines(self):
        product = self.config_id.crmcom_discount_product_id
        return self.lines.filtered(lambda line: product and line.product_id == product)

    def _crmcom_check_and_queue(self):
        """Check the wallet discount against CRM.COM's spend, then queue the award.

        Nothing here calls CRM.COM: a paid order always goes through, and the cron (woken
        right away) submits the purchase.
        """
        self.ensure_one()
        spend_lines = self._crmcom_spend_lines()
        if not self.config_id.crmcom_enabled and not spend_lines:
            return  # every paid order passes here: tills without CRM.COM pay nothing for it
        purchases = self.env["crmcom.purchase"].sudo()
        purchase = purchases.search(
            [("order_uuid", "=", self.uuid), ("state", "!=", "cancelled")], limit=1
        )
        discount = -sum(spend_lines.mapped("price_subtotal_incl"))
        spent = purchase.spent if purchase.spend_state == "posted" else 0.0
        currency = self.currency_id
        if float_compare(discount, spent, precision_rounding=currency.rounding):
            raise UserError(
                self.env._(
                    "Order %(order)s carries a CRM.COM wallet discount of %(discount)s, but "
                    "CRM.COM spent %(spent)s on it. Cancel the wallet spend and apply it again.",
                    order=self.pos_reference or self.name,
                    discount=currency.format(discount),
                    spent=currency.format(spent),
                )
            )
        partner = self.partner_id.commercial_partner_id
        number = purchase.participant_number or partner.crmcom_participant_number
        if not number or not self.config_id.crmcom_enabled or self.amount_total <= 0:
            return
        if purchase:
            if purchase.spend_state == "posted" and float_compare(
                purchase.amount_total,
                self.amount_total + discount,
                precision_rounding=currency.rounding,
            ):
                raise UserError(
                    self.env._(
                        "Order %(order)s changed after the CRM.COM wallet spend. Cancel the "
                        "spend and apply it again.",
                        order=self.pos_reference or self.name,
                    )
                )
        else:
            purchase = purchases.create(self._crmcom_purchase_values(number))
        purchase.pos_order_id = self
        self.write(
            {
                "crmcom_purchase_id": purchase.id,
                "crmcom_participant_number": number,
                "crmcom_participant_name": partner.name,
            }
        )
        if purchase.state in ("pending", "unknown"):
            self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_submit_purchases").sudo()._trigger()

    def _crmcom_kept_lines(self):
        """``(product, qty, subtotal, subtotal_incl)`` of what the customer keeps: every line
        but the wallet discount, less what was refunded."""
        kept = []
        for line in self.lines - self._crmcom_spend_lines():
            qty = line.qty - line.refunded_qty
            if float_compare(qty, 0, precision_rounding=line.product_uom_id.rounding) > 0:
                share = qty / line.qty
                kept.append(
                    (
                        line.product_id,
                        qty,
                        line.price_subtotal * share,
                        line.price_subtotal_incl * share,
                    )
                )
        return kept

    def _crmcom_purchase_values(self, number, kept=None):
        lines = self.env["crmcom.purchase"]._product_lines(
            self._crmcom_kept_lines() if kept is None else kept
        )
        return {
            "order_uuid": self.uuid,
            "config_id": self.config_id.id,
            "partner_id": self.partner_id.commercial_partner_id.id,
            "participant_number": number,
            "reference": self.pos_reference or self.name,
            "performed_on": self.date_order,
            "amount_total": self.currency_id.round(sum(line["total_amount"] for line in lines)),
            "product_lines": lines,
        }

    def _crmcom_reverse_refunded(self):
        """A refund gives back in CRM.COM what the refunded goods earned and spent.

        CRM.COM's token API cancels whole events only, so: a full refund cancels the spend
        request and the purchase; a partial refund cancels them too and submits a
        replacement purchase for the goods kept, spending again on it the kept goods'
        share of what was spent. The customer keeps no award for returned goods and gets
        back the wallet money spent on them.
        """
        self.ensure_one()
        for original in self.lines.refunded_orderline_id.order_id:
            purchase = original.crmcom_purchase_id.sudo()
            if purchase and purchase.state not in ("cancelled", "to_cancel"):
                original._crmcom_replace_purchase(purchase)
        self.env.ref("pos_crmcom_rewards.ir_cron_crmcom_submit_purchases").sudo()._trigger()

    def _crmcom_replace_purchase(self, purchase):
        """Cancel ``purchase`` of this (partly refunded) order; submit one for what is kept."""
        self.ensure_one()
        kept = self._crmcom_kept_lines()
        purchase._request_cancel()
        if not kept:
            return
        purchases = self.env["crmcom.purchase"].sudo()
        values = self._crmcom_purchase_values(purchase.participant_number, kept)
        kept_total = values["amount_total"]
        if kept_total <= 0:
            return  # every item came back and only a discount line is kept: a full refund
        spent = purchase.spent if purchase.spend_state == "posted" else 0.0
        respend = self.currency_id.round(spent * kept_total / purchase.amount_total) if spent else 0
        count = purchases.search_count([("pos_order_id", "=", self.id)])
        replacement = purchases.create(
            {
                **values,
                "order_uuid": f"{self.uuid}/R{count}",
                "pos_order_id": self.id,
                "config_id": purchase.config_id.id,
                "partner_id": purchase.partner_id.id,
                "reference": f"{values['reference']}/R{count}",
                "performed_on": fields.Datetime.now(),
                # Never more than was spent: a returned discount line makes no goods dearer.
                "respend_amount": min(respend, spent, kept_total),
                "replaces_id": purchase.id,
            }
        )
        self.crmcom_purchase_id = replacement

    def action_crmcom_retry(self):
        self.crmcom_purchase_id.sudo().action_retry()
        return True

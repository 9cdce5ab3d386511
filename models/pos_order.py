from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .crmcom_purchase import (
    CANCELLED,
    PENDING,
    SENDING,
    SPEND_POSTED,
    SPEND_UNKNOWN,
    TO_CANCEL,
    UNKNOWN,
)


class PosOrder(models.Model):
    _name = "pos.order"
    _inherit = ["pos.order", "crmcom.server.fields.mixin"]
    _crmcom_server_fields = frozenset(
        {
            "crmcom_purchase_id",
            "crmcom_sale_purchase_id",
            "crmcom_participant_number",
            "crmcom_participant_name",
        }
    )

    crmcom_purchase_id = fields.Many2one(
        "crmcom.purchase",
        string="CRM.COM purchase",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    # The purchase made at the sale, kept when a refund replaces it: what the sale's receipt,
    # and each reprint of it, says.
    crmcom_sale_purchase_id = fields.Many2one(
        "crmcom.purchase",
        string="CRM.COM purchase of the sale",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    crmcom_receipt = fields.Json(
        string="CRM.COM figures of the receipt", compute="_compute_crmcom_receipt"
    )
    # Of a refund: the CRM.COM purchases of the orders it refunds (the sale's, cancelled, and
    # its replacement for what was kept).
    crmcom_refunded_purchase_ids = fields.Many2many(
        "crmcom.purchase",
        string="CRM.COM purchases refunded",
        compute="_compute_crmcom_refunded_purchase_ids",
    )
    crmcom_participant_number = fields.Char(string="CRM.COM participant", readonly=True, copy=False)
    crmcom_participant_name = fields.Char(string="CRM.COM customer", readonly=True, copy=False)
    crmcom_state = fields.Selection(
        related="crmcom_purchase_id.state", string="CRM.COM award", store=True, index=True
    )
    crmcom_awarded = fields.Monetary(related="crmcom_purchase_id.awarded", string="Awarded")
    crmcom_spent = fields.Monetary(related="crmcom_purchase_id.spent", string="Spent from wallet")
    crmcom_wallet_currency_id = fields.Many2one(
        related="crmcom_purchase_id.wallet_currency_id", string="CRM.COM wallet currency"
    )
    crmcom_balance_after = fields.Monetary(
        related="crmcom_purchase_id.balance_after",
        string="Wallet balance after",
        currency_field="crmcom_wallet_currency_id",  # the wallet's, not the order's
    )
    # Administrators only: pos.order is loaded whole into the till, as the cashier.
    crmcom_call_log_ids = fields.One2many(
        "crmcom.call.log",
        compute="_compute_crmcom_call_log_ids",
        string="CRM.COM calls",
        groups="base.group_system",
    )

    @api.depends(
        "crmcom_sale_purchase_id.state",
        "crmcom_sale_purchase_id.crmcom_number",
        "crmcom_sale_purchase_id.awarded",
        "crmcom_sale_purchase_id.spent",
        "crmcom_sale_purchase_id.balance_after",
        "crmcom_sale_purchase_id.balance_known",
        "crmcom_purchase_id",
    )
    def _compute_crmcom_receipt(self):
        for order in self:
            purchase = (order.crmcom_sale_purchase_id or order.crmcom_purchase_id).sudo()
            order.crmcom_receipt = purchase._receipt_of_sale() if purchase else False

    @api.depends("lines.refunded_orderline_id")
    def _compute_crmcom_refunded_purchase_ids(self):
        purchases = self.env["crmcom.purchase"].sudo()
        for order in self:
            refunded = order.lines.refunded_orderline_id.order_id
            order.crmcom_refunded_purchase_ids = (
                purchases.search([("pos_order_id", "in", refunded.ids)]) if refunded else False
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

    def _crmcom_lines_of_any_spend_product(self):
        """Lines of the wallet spend product of any till of the company: a till's product
        changed after a spend must not make its discount look like no discount."""
        products = (
            self.env["pos.config"]
            .sudo()
            .search([("company_id", "=", self.company_id.id)])
            .crmcom_discount_product_id
        )
        return self.lines.filtered(lambda line: line.product_id in products)

    def _crmcom_check_and_queue(self):
        """Check the wallet discount against CRM.COM's spend, then queue the award.

        Only a spend made for this very order (its uuid, at its till, in its session) is
        carried: its purchase's lines must be this order's lines as Odoo computes them.
        A spend made under this uuid elsewhere is given back. Nothing here calls CRM.COM: a
        paid order always goes through, and the cron (woken right away) submits the purchase.
        """
        self.ensure_one()
        spend_lines = self._crmcom_spend_lines()
        if not self.config_id.crmcom_enabled and not spend_lines:
            return  # every paid order passes here: tills without CRM.COM pay nothing for it
        purchases = self.env["crmcom.purchase"].sudo()
        found = purchases.search(
            [("order_uuid", "=", self.uuid), ("state", "not in", (CANCELLED, TO_CANCEL))]
        )
        purchase = found.filtered(
            lambda p: (
                p.config_id == self.config_id
                and p.session_id in (self.session_id, p.session_id.browse())
                and not p.pos_order_id
            )
        )[:1]
        (found - purchase).filtered(lambda p: not p.pos_order_id)._set_to_cancel()
        if (
            not spend_lines
            and purchase.spend_state == SPEND_POSTED
            and not self._crmcom_lines_of_any_spend_product()
        ):
            purchase._set_spend_not_applied()  # the customer pays in full
        discount = -sum(map(_amount_incl, spend_lines))
        spent = purchase.spent if purchase.spend_state == SPEND_POSTED else 0.0
        currency = self.currency_id
        if any(currency.compare_amounts(_amount_incl(line), 0) > 0 for line in spend_lines):
            # Each wallet line reduces the bill: one that adds to it would move the discount
            # between tax groups (less VAT on one, more on the other) with the same total.
            raise UserError(
                self.env._(
                    "Order %(order)s has a CRM.COM wallet line that adds to the bill: cancel "
                    "the wallet spend and apply it again.",
                    order=self.pos_reference or self.name,
                )
            )
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
        number = purchase.participant_number or partner.sudo().crmcom_participant_number
        values = self._crmcom_purchase_values(number)
        replaced = purchases
        if purchase and not purchases._same_lines(purchase.product_lines, values["product_lines"]):
            if spend_lines and purchase.spend_state in (SPEND_POSTED, SPEND_UNKNOWN):
                raise UserError(
                    self.env._(
                        "Order %(order)s changed after the CRM.COM wallet spend. Cancel the "
                        "spend and apply it again.",
                        order=self.pos_reference or self.name,
                    )
                )
            # Made for another basket, with no spend on the order: cancelled in CRM.COM
            # (with any spend on it) before the order's own purchase is sent, so that a
            # look-up by the shared reference number never finds the wrong one.
            purchase._set_to_cancel()
            replaced = purchase if purchase.state == TO_CANCEL else purchases
            purchase = purchases
        if not number or not self.config_id.crmcom_enabled or values["amount_total"] <= 0:
            purchase._set_to_cancel()
            return
        if not purchase:
            purchase = purchases.create(
                {**values, "session_id": self.session_id.id, "replaces_id": replaced.id}
            )
        purchase.pos_order_id = self
        self.sudo().write(
            {
                "crmcom_purchase_id": purchase.id,
                "crmcom_sale_purchase_id": purchase.id,
                "crmcom_participant_number": number,
                "crmcom_participant_name": partner.name,
            }
        )
        if purchase.state in (PENDING, SENDING, UNKNOWN):
            self.env["crmcom.purchase"]._wake_senders()

    def _crmcom_goods_lines(self):
        """``(line, kept qty)`` of every line but the wallet discount."""
        return [
            (line, line.qty - line.refunded_qty) for line in self.lines - self._crmcom_spend_lines()
        ]

    def _crmcom_kept_lines(self):
        """``(product, qty, subtotal, subtotal_incl)`` of what the customer keeps: every line
        but the wallet discount, less what was refunded, at the amounts Odoo computes from
        the line (unit price, quantity, discount, taxes), never at the amounts the till sent."""
        kept = []
        for line, qty in self._crmcom_goods_lines():
            if float_compare(qty, 0, precision_rounding=line.product_uom_id.rounding) > 0:
                share = qty / line.qty
                amounts = line._compute_amount_line_all()
                kept.append(
                    (
                        line.product_id,
                        qty,
                        amounts["price_subtotal"] * share,
                        amounts["price_subtotal_incl"] * share,
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

    # ------------------------------------------------------------------ refunds

    def _crmcom_wallet_spent(self):
        """What this (paid) order took from the wallet: its wallet discount lines."""
        return self.currency_id.round(-sum(map(_amount_incl, self._crmcom_spend_lines())))

    def _crmcom_wallet_share(self, returned):
        """The wallet's share of what this sale keeps once ``returned`` (``{line: qty}``)
        came back: the wallet's share of the goods kept, in the proportion the sale was
        paid, never more than was spent nor than what is kept is worth. Goods are line
        totals prorated and rounded line by line, as the purchase lines sent to CRM.COM
        are; a line of negative price (a global discount) is no part of the share."""
        round_ = self.currency_id.round
        spent = self._crmcom_wallet_spent()
        total = goods = value = 0.0
        for line, _kept_qty in self._crmcom_goods_lines():
            if not line.qty:
                continue
            amount = _amount_incl(line)
            kept = round_(amount * (line.qty - returned.get(line, 0.0)) / line.qty)
            value += kept
            if amount > 0:
                total += round_(amount)
                goods += kept
        if spent <= 0 or total <= 0 or goods <= 0 or value <= 0:
            return 0.0
        return min(round_(spent * goods / total), spent, round_(value))

    def _crmcom_wallet_held(self, refunds, returning=None):
        """What stays spent on this sale after ``refunds`` (refund orders, oldest first),
        then ``returning`` (``{line: qty}``). Each refund can only lower it: returning a
        discount line never takes wallet money again."""
        returned = {}
        held = self._crmcom_wallet_spent()
        steps = [
            [(line.refunded_orderline_id, -line.qty) for line in refund.lines] for refund in refunds
        ]
        if returning:
            steps.append(list(returning.items()))
        for step in steps:
            for line, qty in step:
                if line.order_id == self and line not in self._crmcom_spend_lines():
                    returned[line] = returned.get(line, 0.0) + qty
            held = min(self._crmcom_wallet_share(returned), held)
        return held

    def _crmcom_refunds(self, before=None):
        """This sale's refund orders (not cancelled), oldest first; ``before``: those made
        before that refund."""
        refunds = self.lines.refund_orderline_ids.order_id.filtered(
            lambda refund: refund.state != "cancel"
        ).sorted("id")
        return refunds.filtered(lambda refund: refund.id < before.id) if before else refunds

    def _crmcom_wallet_share_of(self, returning):
        """What a new refund of ``returning`` (``{line: qty}``) gives back to the wallet."""
        refunds = self._crmcom_refunds()
        held = self._crmcom_wallet_held(refunds)
        return self.currency_id.round(held - self._crmcom_wallet_held(refunds, returning))

    def _crmcom_refunded_orders(self):
        return (self.lines - self._crmcom_spend_lines()).refunded_orderline_id.order_id

    def _crmcom_wallet_restored_by_order(self):
        """What this refund must give back to the wallet, per refunded sale: what stays
        spent on the sale before it, less what stays after it."""
        restored = {}
        for original in self._crmcom_refunded_orders():
            earlier = original._crmcom_refunds(before=self)
            before = original._crmcom_wallet_held(earlier)
            after = original._crmcom_wallet_held(earlier | self)
            restored[original] = original.currency_id.round(before - after)
        return restored

    def _crmcom_wallet_restored(self):
        return self.currency_id.round(sum(self._crmcom_wallet_restored_by_order().values()))

    def _refund(self):
        # The back office's refund copies the sale's wallet lines whole: they must carry
        # only the wallet's share of what is returned.
        refunds = super()._refund()
        for refund in refunds:
            refund._crmcom_set_wallet_restored()
        return refunds

    def _crmcom_set_wallet_restored(self):
        """Make this (unpaid, server-built) refund's wallet lines give back the wallet's
        share of its goods: the lines copied from the sale are scaled to it (call it
        again after changing the refund's lines)."""
        self.ensure_one()
        wallet_lines = self._crmcom_spend_lines()
        carried = -self._crmcom_wallet_spent()
        restored = self._crmcom_wallet_restored()
        if self.currency_id.is_zero(carried):
            # Nothing copied to scale (the sale's wallet line was refunded already).
            product = self.config_id.crmcom_discount_product_id
            if self.currency_id.is_zero(restored) or not product:
                return
            wallet_lines.unlink()
            self.lines = [
                fields.Command.create(
                    {
                        "product_id": product.id,
                        "qty": -1,
                        "price_unit": -restored,
                        "price_subtotal": restored,
                        "price_subtotal_incl": restored,
                        "tax_ids": [fields.Command.clear()],
                    }
                )
            ]
            self._compute_prices()
            return
        for line in wallet_lines:
            line.price_unit = self.currency_id.round(line.price_unit * restored / carried)
        difference = restored + self._crmcom_wallet_spent()  # what rounding left over
        last = wallet_lines[-1:]
        if not self.currency_id.is_zero(difference):
            last.price_unit += difference / (last.qty or 1)
        for line in wallet_lines:
            line.update(line._compute_amount_line_all())
        wallet_lines.filtered(lambda line: self.currency_id.is_zero(line.price_unit)).unlink()
        self._compute_prices()

    def _crmcom_reverse_refunded(self):
        """A refund gives back what the returned goods were paid, the way they were paid.

        The refund order must carry the wallet's share of the returned goods as wallet
        lines (the till adds them): the customer gets back in cash only the cash share.
        CRM.COM's token API cancels whole events only, so the spend request and the
        purchase are cancelled, and a replacement purchase for the goods kept re-spends the
        wallet's share of what is kept: CRM.COM restores exactly the refund's wallet lines.

        The original is found from the refunded lines (Odoo's own link) and its purchase
        from the outbox, never from a field the till can write.
        """
        self.ensure_one()
        restored_by_order = self._crmcom_wallet_restored_by_order()
        restored = self.currency_id.round(sum(restored_by_order.values()))
        currency = self.currency_id
        carried = -self._crmcom_wallet_spent()  # the refund's wallet lines, positive
        if float_compare(carried, restored, precision_rounding=currency.rounding):
            raise UserError(
                self.env._(
                    "Refund %(order)s must give back %(wallet)s to the CRM.COM wallet (the "
                    "wallet's share of the returned goods), but it gives back %(carried)s. "
                    "Start the refund again from the order.",
                    order=self.pos_reference or self.name,
                    wallet=currency.format(restored),
                    carried=currency.format(carried),
                )
            )
        outbox = self.env["crmcom.purchase"].sudo()
        for original, restored_to_wallet in restored_by_order.items():
            purchase = outbox.search(
                [("pos_order_id", "=", original.id), ("state", "not in", (CANCELLED, TO_CANCEL))],
                order="id desc",
                limit=1,
            )
            if purchase:
                original._crmcom_replace_purchase(purchase, restored_to_wallet)
        self.env["crmcom.purchase"]._wake_senders()

    def _crmcom_replace_purchase(self, purchase, restored_to_wallet):
        """Cancel ``purchase`` of this (partly refunded) order; submit one for what is kept,
        re-spending what is spent now but ``restored_to_wallet`` (the refund's wallet
        lines), so that CRM.COM gives back exactly what the refund says."""
        self.ensure_one()
        purchase._set_to_cancel()
        values = self._crmcom_purchase_values(purchase.participant_number)
        kept_total = values["amount_total"]
        if kept_total <= 0:
            return  # everything came back: a full refund
        spent = purchase.spent if purchase.spend_state == SPEND_POSTED else 0.0
        outbox = self.env["crmcom.purchase"].sudo()
        count = outbox.search_count([("pos_order_id", "=", self.id)])
        # None named when the company has no connection: the company's, once connected.
        ((unit_key, unit),) = (purchase._unit_identifier() or {False: False}).items()
        replacement = outbox.create(
            {
                **values,
                "order_uuid": f"{self.uuid}/R{count}",
                "pos_order_id": self.id,
                "config_id": purchase.config_id.id,
                # The original sale's store, wherever the refund is made.
                "unit_key": unit_key,
                "unit": unit,
                "session_id": purchase.session_id.id,
                "partner_id": purchase.partner_id.id,
                "reference": f"{values['reference']}/R{count}",
                "performed_on": fields.Datetime.now(),
                "respend_amount": min(
                    max(self.currency_id.round(spent - restored_to_wallet), 0.0), kept_total
                ),
                "replaces_id": purchase.id,
            }
        )
        self.sudo().crmcom_purchase_id = replacement

    def action_crmcom_retry(self):
        self.crmcom_purchase_id.sudo().action_retry()
        return True


def _amount_incl(line):
    """A line's total, taxes included, as Odoo computes it (not as the till sent it)."""
    return line._compute_amount_line_all()["price_subtotal_incl"]

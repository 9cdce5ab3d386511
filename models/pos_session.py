from odoo import models

from .crmcom_purchase import (
    CANCELLED,
    FAILED,
    PENDING,
    POSTED,
    SENDING,
    SPEND_REFUSED,
    SPEND_UNKNOWN,
    TO_CANCEL,
    UNKNOWN,
)

# How a sale's award reads at the end of a session (docs/finance.md).
AWARD_CONFIRMED = "confirmed"
AWARD_PENDING = "pending"
AWARD_REFUSED = "refused"
AWARD_CANCELLED = "cancelled"
SESSION_AWARDS_ACTION = "pos_crmcom_rewards.action_crmcom_session_purchases"


def _award_class(purchase):
    """Where a sale stands in CRM.COM, from its current purchase (the sale's, or the
    replacement a partial refund made): the outbox's states in the four words of the
    session's figures. A spend still to clear up (its answer lost, or a replacement's
    re-spend not made) is work left, so the sale is not confirmed yet."""
    if purchase.state in (CANCELLED, TO_CANCEL):
        return AWARD_CANCELLED
    if purchase.state == FAILED or purchase.spend_state == SPEND_REFUSED:
        return AWARD_REFUSED
    if (
        purchase.state in (PENDING, SENDING, UNKNOWN)
        or purchase.spend_state == SPEND_UNKNOWN
        or (purchase.respend_amount and not purchase.spend_state)
    ):
        return AWARD_PENDING
    if purchase.state == POSTED:
        return AWARD_CONFIRMED
    return AWARD_PENDING  # a state added later is not claimed to be confirmed


class PosSession(models.Model):
    _inherit = "pos.session"

    def _crmcom_session_totals(self, orders=None):
        """The CRM.COM figures of these sessions, for the closing dialog and the Sales
        Details report (one definition for both), from the outbox's stored rows only:
        nothing here calls CRM.COM, so a CRM.COM outage never keeps a register from closing.

        ``orders``: the report's orders when it covers part of the sessions (a date
        range); by default every order of the sessions that is not a draft or cancelled.

        - ``sales``: the sales of CRM.COM customers, counted once each by the state of
          their current purchase (the sale's, or its replacement after a partial refund):
          ``confirmed``, ``pending`` (not confirmed yet, or a spend to clear up),
          ``refused`` (parked for a person) and ``cancelled`` (refunded in full).
        - ``awarded``: what CRM.COM holds awarded for those sales now (the purchases'
          booked award: nothing for a cancelled purchase nor one not confirmed yet).
        - ``spent``: what the wallets paid at those sales, the sale's purchase's spend;
          it is the sales' wallet discount lines (checked equal at payment).
        - ``refunds`` / ``restored``: the refunds of the sessions that reversed a CRM.COM
          sale, and what they gave back to the wallets (their wallet lines, which CRM.COM
          restores: checked equal at payment).
        - ``attention_ids``: the purchases still pending or refused (what the warning of
          the closing dialog links to).
        """
        if orders is None:
            orders = self.order_ids.filtered(lambda order: order.state not in ("draft", "cancel"))
        currency = (self.currency_id or self.env.company.currency_id)[:1]
        sales = orders.filtered(lambda order: not order.is_refund and order.crmcom_sale_purchase_id)
        counts = dict.fromkeys((AWARD_CONFIRMED, AWARD_PENDING, AWARD_REFUSED, AWARD_CANCELLED), 0)
        attention = self.env["crmcom.purchase"]
        awarded = spent = 0.0
        for sale in sales:
            current = sale.crmcom_purchase_id or sale.crmcom_sale_purchase_id
            state = _award_class(current)
            counts[state] += 1
            if state in (AWARD_PENDING, AWARD_REFUSED):
                attention |= current
            awarded += current.booked_awarded
            # What the wallet paid at the sale stays what it paid, whatever came back
            # later: a refund's give-back is its own figure, in the session of the refund.
            spent += sale.crmcom_sale_purchase_id.spent
        refunds = orders.filtered(
            lambda order: order.is_refund and order.crmcom_refunded_purchase_ids
        )
        restored = sum(-refund._crmcom_wallet_spent() for refund in refunds)
        return {
            "sales": counts,
            "sales_count": len(sales),
            "awarded": currency.round(awarded),
            "spent": currency.round(spent),
            "refunds": len(refunds),
            "restored": currency.round(restored),
            "attention_ids": attention.ids,
        }

    def _crmcom_session_awards_url(self):
        """The back office's list of this session's CRM.COM purchases (to open in a tab of
        its own: the till has no action manager)."""
        self.ensure_one()
        return f"/odoo/{self.id}/action-{SESSION_AWARDS_ACTION}"

    def get_closing_control_data(self):
        data = super().get_closing_control_data()
        if self.config_id.crmcom_enabled or self.order_ids.crmcom_sale_purchase_id:
            totals = self._crmcom_session_totals()
            data["crmcom"] = {
                **{key: value for key, value in totals.items() if key != "attention_ids"},
                "attention": len(totals["attention_ids"]),
                "url": self._crmcom_session_awards_url(),
            }
        return data

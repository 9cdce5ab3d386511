import { Component, useEffect } from "@odoo/owl";
import { usePos } from "@point_of_sale/app/hooks/pos_hook";

/**
 * The CRM.COM block of the order summary: wallet balance, what this basket would earn and
 * what could be spent on it. The preview is asked for in the background whenever the basket
 * or the customer changes (debounced by the store); a figure that does not match the basket
 * any more (request on its way, or failed) is shown as such.
 */
export class CrmComSummary extends Component {
    static template = "pos_crmcom_rewards.CrmComSummary";
    static props = { order: Object };

    setup() {
        this.pos = usePos();
        useEffect(
            (participantId, basketKey, isDown) => {
                if (participantId && !isDown) {
                    this.pos.crmcomSchedulePreview(this.props.order);
                }
            },
            // Also when CRM.COM comes back after an outage.
            () => [
                this.participant?.id,
                this.props.order.getCrmComBasketKey(),
                this.pos.crmcomIsDown,
            ]
        );
    }

    get order() {
        return this.props.order;
    }
    get participant() {
        return this.order.getCrmComParticipant();
    }
    get preview() {
        return this.order.uiState.crmcomPreview || {};
    }
    get hasBasket() {
        return this.order.getCrmComBasketLines().length > 0;
    }
    /** The figures shown are those of the basket as it is now. */
    get isCurrent() {
        const preview = this.preview;
        return (
            preview.status === "ok" &&
            Boolean(preview.data) &&
            preview.dataKey === this.order.getCrmComBasketKey()
        );
    }
    /** Why *Spend wallet* is off (a sentence for its tooltip), or "". */
    get spendOffReason() {
        return this.pos.crmcomSpendOffReason(this.order);
    }
    formatWallet(amount) {
        return this.pos.crmcomFormatWallet(amount, this.participant);
    }
    get spendBlocked() {
        return !this.pos.crmcomIsDown && this.pos.crmcomSpendIsBlocked(this.order);
    }
    /** The wallet shown is the one the till last heard of, not CRM.COM's answer now. */
    get balanceIsLastKnown() {
        return !this.spend && (this.pos.crmcomIsDown || this.preview.status === "error");
    }
    get statusClass() {
        return this.isCurrent ? "" : "text-muted o_crmcom_stale";
    }
    get balance() {
        if (this.spend && this.spend.balance_after !== null) {
            return this.spend.balance_after;
        }
        return this.preview.data?.balance ?? this.participant?.crmcom_balance ?? 0;
    }
    get spend() {
        return this.order.uiState.crmcomSpend;
    }
    format(amount) {
        return this.pos.env.utils.formatCurrency(amount || 0);
    }
}

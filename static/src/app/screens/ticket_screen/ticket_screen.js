import { TicketScreen } from "@point_of_sale/app/screens/ticket_screen/ticket_screen";
import { AlertDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/**
 * A refund gives back what the returned goods were paid, the way they were paid: the wallet's
 * share of them goes back to the wallet (a line of the spend product on the refund, so the
 * cash refund the cashier sees is the cash share only), never out of the till as cash.
 */
patch(TicketScreen.prototype, {
    async addAdditionalRefundInfo(order, destinationOrder) {
        await super.addAdditionalRefundInfo(...arguments);
        if (!(order.getCrmComSpentAmount() > 0)) {
            return;
        }
        // The wallet line is never refunded as such: its share follows the goods.
        for (const line of destinationOrder.getCrmComDiscountLines()) {
            destinationOrder.removeOrderline(line);
        }
        // The server computes the share (pos.order._crmcom_wallet_share_of), from the sale's
        // refunds so far, and checks it again when the refund is paid.
        const refunded = destinationOrder.lines
            .filter((line) => line.refunded_orderline_id?.order_id?.id === order.id)
            .map((line) => [line.refunded_orderline_id.id, -line.qty]);
        const result = await this.pos.crmcomCall("refund_share", {
            order_id: order.id,
            lines: refunded,
        });
        if (!result.ok) {
            this.dialog.add(AlertDialog, {
                title: _t("Wallet share not known"),
                body: _t(
                    "Odoo could not tell what this refund gives back to the CRM.COM wallet (%s). Try the refund again once the till is online.",
                    result.message
                ),
            });
            return;
        }
        if (result.wallet > 0) {
            destinationOrder.applyCrmComDiscount(result.wallet);
        }
    },
});

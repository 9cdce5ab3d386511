import { TicketScreen } from "@point_of_sale/app/screens/ticket_screen/ticket_screen";
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
        const refunded = destinationOrder.lines
            .filter((line) => line.refunded_orderline_id?.order_id?.id === order.id)
            .map((line) => [line.refunded_orderline_id, -line.qty]);
        const share = order.getCrmComWalletShareOf(refunded);
        if (share > 0) {
            destinationOrder.applyCrmComDiscount(share);
        }
    },
});

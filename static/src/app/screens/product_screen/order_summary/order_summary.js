import { OrderSummary } from "@point_of_sale/app/screens/product_screen/order_summary/order_summary";
import { CrmComSummary } from "@pos_crmcom_rewards/app/components/crmcom_summary/crmcom_summary";
import { patch } from "@web/core/utils/patch";

OrderSummary.components = { ...OrderSummary.components, CrmComSummary };

patch(OrderSummary.prototype, {
    /**
     * While a wallet spend is on the order, any change of line, quantity, price or discount
     * first asks to cancel the spend. The keystroke that asked is dropped: the cashier makes
     * the change again on the unlocked order.
     */
    async updateSelectedOrderline({ buffer, key }) {
        const order = this.pos.getOrder();
        if (order?.hasCrmComSpend()) {
            this.numberBuffer.reset();
            await this.pos.crmcomConfirmUnlock(order);
            return;
        }
        return await super.updateSelectedOrderline(...arguments);
    },
    async onOrderlineLongPress(ev, orderline) {
        const order = this.currentOrder;
        if (order?.hasCrmComSpend()) {
            if (!(await this.pos.crmcomConfirmUnlock(order))) {
                return false;
            }
            if (order.isCrmComDiscountLine(orderline) || !order.lines.includes(orderline)) {
                return false;
            }
        }
        return await super.onOrderlineLongPress(...arguments);
    },
});

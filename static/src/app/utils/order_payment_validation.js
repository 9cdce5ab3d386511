import OrderPaymentValidation from "@point_of_sale/app/utils/order_payment_validation";
import { patch } from "@web/core/utils/patch";

patch(OrderPaymentValidation.prototype, {
    /** The order is saved: its receipt waits a moment for CRM.COM's confirmed award. */
    async afterOrderValidation() {
        await this.pos.crmcomConfirmAward(this.order);
        return await super.afterOrderValidation(...arguments);
    },
});

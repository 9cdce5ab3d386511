import { Orderline } from "@point_of_sale/app/components/orderline/orderline";
import { patch } from "@web/core/utils/patch";

patch(Orderline.prototype, {
    /** A wallet line is an amount, not a product sold by the unit: no "price / Units". */
    get lineScreenValues() {
        const values = super.lineScreenValues;
        if (this.line.order_id?.isCrmComDiscountLine(this.line)) {
            values.displayPriceUnit = false;
        }
        return values;
    },
});

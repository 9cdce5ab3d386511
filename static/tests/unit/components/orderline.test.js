// The order line as the till shows it (components/orderline/orderline.js).
import { expect, test } from "@odoo/hoot";
import { mountWithCleanup } from "@web/../tests/web_test_helpers";
import { Orderline } from "@point_of_sale/app/components/orderline/orderline";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import {
    TEMPLATE_TAX_15,
    makeCrmComOrder,
    setupCrmComEnv,
} from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

test("a wallet line shows its amount, not a price per unit", async () => {
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10, 2]]);
    const [wallet] = order.applyCrmComDiscount(5);

    // A manual price: Odoo would print "$ -5.00 / Units" under it.
    expect(wallet.price_type).toBe("manual");
    const walletLine = await mountWithCleanup(Orderline, { props: { line: wallet } });
    expect(walletLine.lineScreenValues.displayPriceUnit).toBe(false);
    expect(walletLine.lineScreenValues.price).toInclude("5.00");
});

import { describe, expect, test } from "@odoo/hoot";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import { CRMCOM_SPEND_PRODUCT_ID } from "@pos_crmcom_rewards/../tests/unit/data/pos_config.data";
import {
    CRMCOM_PARTNER_ID,
    PLAIN_PARTNER_ID,
} from "@pos_crmcom_rewards/../tests/unit/data/res_partner.data";
import {
    TEMPLATE_NO_TAX,
    TEMPLATE_TAX_15,
    TEMPLATE_TAX_15_25,
    TEMPLATE_TAX_25,
    addLine,
    discountSum,
    makeCrmComOrder,
    receiptOfSale,
    setupCrmComEnv,
} from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

const taxIds = (line) => line.tax_ids.map((tax) => tax.id).sort((a, b) => a - b);

describe("pos.order - CRM.COM wallet discount lines", () => {
    test("the till's spend product is what makes a discount line", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);

        expect(store.config.crmcom_discount_product_id.id).toBe(CRMCOM_SPEND_PRODUCT_ID);
        expect(order.hasCrmComSpend()).toBe(false);
        expect(order.getCrmComSpentAmount()).toBe(0);
        expect(order.getCrmComBasketTotal()).toBe(11.5);

        order.applyCrmComDiscount(4);

        expect(order.hasCrmComSpend()).toBe(true);
        expect(order.getCrmComDiscountLines()).toHaveLength(1);
        expect(order.getCrmComDiscountLines()[0].product_id.id).toBe(CRMCOM_SPEND_PRODUCT_ID);
        // The basket CRM.COM is told about never includes the wallet discount.
        expect(order.getCrmComBasketLines()).toHaveLength(1);
        expect(order.getCrmComBasketTotal()).toBe(11.5);
        expect(order.getCrmComSpentAmount()).toBe(4);
        expect(order.priceIncl).toBe(7.5);
    });

    test("values: one line per tax group, shares proportional to the group totals", async () => {
        const store = await setupCrmComEnv();
        // 3 x 3.33 at 15 % = 9.99 + 1.50 = 11.49; 7.77 at 25 % = 7.77 + 1.94 = 9.71;
        // 1.01 without tax: the order is 22.21, taxes included.
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 3.33, 3],
            [TEMPLATE_TAX_25, 7.77],
            [TEMPLATE_NO_TAX, 1.01],
        ]);
        expect(order.getCrmComBasketTotal()).toBe(22.21);

        const values = order._getCrmComDiscountLineValues(7.77);

        expect(values).toHaveLength(3);
        // 7.77 * 11.49 / 22.21 = 4.0197 -> 4.02; 7.77 * 9.71 / 22.21 = 3.3970 -> 3.40; the
        // last group takes what is left so that the shares add up to the amount.
        expect(values.map((vals) => vals._crmcomTarget)).toEqual([4.02, 3.4, 0.35]);
        expect(values.map((vals) => vals.tax_ids.map((tax) => tax.id))).toEqual([[1], [2], []]);
        for (const vals of values) {
            expect(vals.product_id.id).toBe(CRMCOM_SPEND_PRODUCT_ID);
            expect(vals.qty).toBe(1);
        }
        // First guess of the unit price: the share without the group's taxes.
        expect(values[0].price_unit).toBeCloseTo(-4.02 * (9.99 / 11.49), { margin: 1e-9 });
        expect(values[1].price_unit).toBeCloseTo(-3.4 * (7.77 / 9.71), { margin: 1e-9 });
        expect(values[2].price_unit).toBeCloseTo(-0.35, { margin: 1e-9 });
    });

    test("lines with the same taxes, in any order, make one group", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 10],
            [TEMPLATE_TAX_15_25, 10], // taxes 1 and 2: 10 + 1.5 + 2.5 = 14
            [TEMPLATE_TAX_15, 20],
        ]);
        // A line whose taxes are listed the other way round is still of the group "1,2".
        const line = await addLine(store, order, TEMPLATE_TAX_15_25, { price_unit: 5 });
        const [tax1, tax2] = [1, 2].map((id) => store.models["account.tax"].get(id));
        line.update({ tax_ids: [["set", tax2, tax1]] });
        expect(line.tax_ids.map((tax) => tax.id)).toEqual([2, 1]);

        const values = order._getCrmComDiscountLineValues(10);

        // Group "1": 11.5 + 23 = 34.5; group "1,2": 14 + 7 = 21; total 55.5.
        expect(values).toHaveLength(2);
        expect(values.map((vals) => vals.tax_ids.map((tax) => tax.id).sort())).toEqual([
            [1],
            [1, 2],
        ]);
        // 10 * 34.5 / 55.5 = 6.216 -> 6.22, the rest 3.78.
        expect(values.map((vals) => vals._crmcomTarget)).toEqual([6.22, 3.78]);
    });

    test("groups whose total is not positive get no share", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 10],
            [TEMPLATE_TAX_25, 10, -1], // a returned item in the sale: -12.50
        ]);

        const values = order._getCrmComDiscountLineValues(5);

        expect(values).toHaveLength(1);
        expect(values[0].tax_ids.map((tax) => tax.id)).toEqual([1]);
        expect(values[0]._crmcomTarget).toBe(5);
    });

    test("no discount lines without spend product, or without anything to discount", async () => {
        const store = await setupCrmComEnv();
        const empty = await makeCrmComOrder(store, []);
        expect(empty._getCrmComDiscountLineValues(5)).toEqual([]);
        expect(empty.applyCrmComDiscount(5)).toEqual([]);
        expect(empty.hasCrmComSpend()).toBe(false);

        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        store.config.crmcom_discount_product_id = false;
        expect(order._getCrmComDiscountLineValues(5)).toEqual([]);
        expect(order.applyCrmComDiscount(5)).toEqual([]);
        expect(order.lines).toHaveLength(1);
    });

    test("applied lines add up to exactly the spent amount, taxes included", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 3.33, 3],
            [TEMPLATE_TAX_25, 7.77],
            [TEMPLATE_NO_TAX, 1.01],
        ]);

        const lines = order.applyCrmComDiscount(7.77);

        expect(lines).toHaveLength(3);
        expect(lines.map(taxIds)).toEqual([[1], [2], []]);
        // Each line is settled on its group's share (4.02, 3.40, 0.35) as near as its taxes
        // allow: at 15 % a line of one unit is -4.01 or -4.03, never -4.02. The last line
        // then takes the odd cent so that the total is exact.
        expect(lines[0].priceIncl).toBeCloseTo(-4.02, { margin: 0.0101 });
        expect(lines[1].priceIncl).toBe(-3.4);
        expect(lines[2].priceIncl).toBeCloseTo(-0.35, { margin: 0.0101 });
        expect(lines.every((line) => line.price_type === "manual")).toBe(true);
        expect(discountSum(order)).toBe(-7.77);
        expect(order.getCrmComSpentAmount()).toBe(7.77);
        // 22.21 - 7.77
        expect(order.priceIncl).toBeCloseTo(14.44, { margin: 1e-6 });
    });

    test("amounts that do not split evenly still add up to the cent", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 0.33, 7],
            [TEMPLATE_TAX_25, 1.11, 3],
            [TEMPLATE_TAX_15_25, 0.07, 9],
            [TEMPLATE_NO_TAX, 0.01],
        ]);
        const total = order.getCrmComBasketTotal();

        for (const amount of [0.01, 0.02, 0.03, 1.01, 3.33, total]) {
            order.applyCrmComDiscount(amount);
            expect(discountSum(order)).toBe(-amount, {
                message: `the discount lines add up to ${amount}`,
            });
            expect(order.getCrmComSpentAmount()).toBe(amount);
            expect(order.priceIncl).toBeCloseTo(total - amount, { margin: 0.001 });
            order.removeCrmComDiscount();
            expect(order.hasCrmComSpend()).toBe(false);
        }
    });

    // A line of one unit with taxes cannot reach every total (at 15 %: -0.04 gives -0.05; at
    // 25 %, -0.02 gives -0.04): the server refuses an order whose discount lines do not add up
    // to what CRM.COM spent (pos.order._crmcom_check_and_queue), so the cent left goes on a
    // line without taxes.
    test("lines add up to the spent amount when the last tax group has taxes", async () => {
        const store = await setupCrmComEnv();
        const baskets = [
            [[TEMPLATE_TAX_15, 100]],
            [[TEMPLATE_TAX_25, 100]],
            [
                [TEMPLATE_NO_TAX, 1],
                [TEMPLATE_TAX_15, 100],
            ],
        ];
        for (const lines of baskets) {
            const order = await makeCrmComOrder(store, lines);
            for (const amount of [0.02, 0.04, 0.11, 0.19, 0.5]) {
                order.applyCrmComDiscount(amount);
                expect(discountSum(order)).toBe(-amount, {
                    message: `${JSON.stringify(lines)}: the discount lines add up to ${amount}`,
                });
                order.removeCrmComDiscount();
            }
        }
    });

    test("refund: the lines add up to the wallet share when a taxed line cannot", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 100]]);
        order.is_refund = true;
        order.lines.map((line) => line.setQuantity(-line.qty));
        expect(order.orderSign).toBe(-1);
        for (const amount of [0.02, 0.04, 4.02]) {
            order.applyCrmComDiscount(amount);
            expect(discountSum(order)).toBe(-amount, {
                message: `the refund's wallet lines add up to ${amount}`,
            });
            order.removeCrmComDiscount();
        }
    });

    test("with global tax rounding the last line takes the odd cent", async () => {
        const store = await setupCrmComEnv();
        store.company.tax_calculation_rounding_method = "round_globally";
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 0.33, 7],
            [TEMPLATE_TAX_15, 1.01],
            [TEMPLATE_TAX_25, 1.11, 3],
        ]);
        const total = order.getCrmComBasketTotal();

        for (const amount of [0.05, 1.99, 2.5]) {
            order.applyCrmComDiscount(amount);
            expect(discountSum(order)).toBe(-amount, {
                message: `the discount lines add up to ${amount}`,
            });
            expect(order.priceIncl).toBeCloseTo(total - amount, { margin: 0.001 });
            order.removeCrmComDiscount();
        }
    });

    test("refund: the discount lines are in the order's sign", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 10],
            [TEMPLATE_TAX_25, 10],
        ]);
        order.is_refund = true;
        order.lines.map((line) => line.setQuantity(-line.qty));
        // Odoo reads a refund's lines positive, its total negative.
        expect(order.orderSign).toBe(-1);
        expect(order.getCrmComBasketTotal()).toBe(24);
        expect(order.priceIncl).toBe(-24);

        const values = order._getCrmComDiscountLineValues(10);
        expect(values.map((vals) => vals.qty)).toEqual([-1, -1]);
        // 10 * 11.5 / 24 = 4.79, the rest 5.21.
        expect(values.map((vals) => vals._crmcomTarget)).toEqual([4.79, 5.21]);

        const lines = order.applyCrmComDiscount(10);

        expect(lines.map((line) => line.qty)).toEqual([-1, -1]);
        expect(lines.map(taxIds)).toEqual([[1], [2]]);
        // In the order's sign, like the returned goods: as near the shares as taxes allow.
        expect(lines[0].priceIncl).toBeCloseTo(-4.79, { margin: 0.0101 });
        expect(lines[1].priceIncl).toBeCloseTo(-5.21, { margin: 0.0101 });
        expect(discountSum(order)).toBe(-10);
        expect(order.getCrmComSpentAmount()).toBe(10);
        // 14.00 is paid back in cash, the 10.00 goes back to the wallet.
        expect(order.priceIncl).toBe(-14);
    });

    test("removeCrmComDiscount unlocks the order", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        order.applyCrmComDiscount(3);
        Object.assign(order, {
            crmcom_spent: 3,
            crmcom_receipt: receiptOfSale({ awarded: 1, spent: 3, balance_after: 47 }),
        });
        order.uiState.crmcomSpend = { ok: true, spent: 3 };

        order.removeCrmComDiscount();

        expect(order.lines).toHaveLength(1);
        expect(order.hasCrmComSpend()).toBe(false);
        expect(order.uiState.crmcomSpend).toBe(null);
        expect(order.crmcom_spent).toBe(0);
        expect(order.crmcom_receipt).toBe(false);
        expect(order.priceIncl).toBe(11.5);
    });
});

describe("pos.order - CRM.COM basket", () => {
    test("payload and key: what CRM.COM is told about", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 10, 2],
            [TEMPLATE_TAX_25, 4],
        ]);
        const payload = order.getCrmComPayload();

        expect(payload.uuid).toBe(order.uuid);
        expect(payload.partner_id).toBe(CRMCOM_PARTNER_ID);
        expect(payload.lines).toEqual([
            { product_id: 5, qty: 2, price_subtotal: 20, price_subtotal_incl: 23 },
            { product_id: 6, qty: 1, price_subtotal: 4, price_subtotal_incl: 5 },
        ]);

        const key = order.getCrmComBasketKey();
        // The wallet discount is not part of the basket: spending does not change the key.
        order.applyCrmComDiscount(5);
        expect(order.getCrmComBasketKey()).toBe(key);
        expect(order.getCrmComPayload().lines).toHaveLength(2);
        order.removeCrmComDiscount();
        // A quantity, a price or the customer does.
        order.lines[0].setQuantity(3);
        const key2 = order.getCrmComBasketKey();
        expect(key2).not.toBe(key);
        order.setPartner(store.models["res.partner"].get(PLAIN_PARTNER_ID));
        expect(order.getCrmComBasketKey()).not.toBe(key2);
    });

    test("only partners CRM.COM knows are participants", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        expect(order.getCrmComParticipant().id).toBe(CRMCOM_PARTNER_ID);

        order.setPartner(store.models["res.partner"].get(PLAIN_PARTNER_ID));
        expect(order.getCrmComParticipant()).toBe(false);

        const anonymous = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]], {
            partnerId: false,
        });
        expect(anonymous.getCrmComParticipant()).toBe(false);
        expect(anonymous.getCrmComPayload().partner_id).toBe(false);
    });

    test("receipt data", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        order.applyCrmComDiscount(2);
        /** What the receipt of Maria's order prints, with `values` changed. */
        const printed = (values) => ({
            name: "Maria Rewards",
            number: "P-000123",
            posted: false,
            cancelled: false,
            awarded: 0,
            expected: null,
            spent: 2,
            balance: 0,
            balanceKnown: false,
            ...values,
        });

        expect(order.getCrmComReceiptData()).toEqual(printed({}));

        order.crmcom_receipt = receiptOfSale({ awarded: 0.5, spent: 2, balance_after: 48 });
        expect(order.getCrmComReceiptData()).toEqual(
            printed({ posted: true, awarded: 0.5, balance: 48, balanceKnown: true })
        );

        // Refunded later: the sale's receipt keeps the figures the server kept of the sale,
        // and an unread balance is never printed as 0.
        order.crmcom_receipt = receiptOfSale({ awarded: 0.5, spent: 2 });
        expect(order.getCrmComReceiptData()).toEqual(printed({ posted: true, awarded: 0.5 }));

        const plain = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]], {
            partnerId: PLAIN_PARTNER_ID,
        });
        expect(plain.getCrmComReceiptData()).toBe(false);
    });
});

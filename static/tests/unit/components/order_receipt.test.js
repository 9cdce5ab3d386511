// The CRM.COM block of the printed receipt (screens/receipt_screen/order_receipt).
import { expect, queryOne, test } from "@odoo/hoot";
import { mountWithCleanup } from "@web/../tests/web_test_helpers";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import { OrderReceipt } from "@point_of_sale/app/screens/receipt_screen/receipt/order_receipt";
import {
    TEMPLATE_TAX_15,
    holdCurrentPreview,
    makeCrmComOrder,
    receiptOfSale,
    setupCrmComEnv,
} from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

const text = (selector) => queryOne(selector).textContent.replace(/\s+/g, " ").trim();
/** The figure of a row of the receipt's CRM.COM block. */
const value = (row) => text(`${row} > span:last-child`);
const fmt = (store, amount) => store.env.utils.formatCurrency(amount).replace(/\s+/g, " ");

test("the award and the new balance in the till's currency", async () => {
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
    order.crmcom_receipt = receiptOfSale({ awarded: 1, balance_after: 26 });

    await mountWithCleanup(OrderReceipt, { props: { order } });

    expect(value(".o_crmcom_receipt_awarded")).toBe(fmt(store, 1));
    expect(value(".o_crmcom_receipt_balance")).toBe(fmt(store, 26));
});

test("a wallet in another currency: its award and new balance in its currency", async () => {
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
    const other = store.currency.name === "EUR" ? "GBP" : "EUR";
    order.getPartner().crmcom_wallet_currency = other;
    order.crmcom_receipt = receiptOfSale({ awarded: 1, balance_after: 1234.5 });

    await mountWithCleanup(OrderReceipt, { props: { order } });

    expect(value(".o_crmcom_receipt_awarded")).toBe(`${other} 1.00`);
    expect(value(".o_crmcom_receipt_balance")).toBe(`${other} 1,234.50`);
    expect(text(".o_crmcom_receipt")).not.toInclude(fmt(store, 1234.5));
});

test("a reprint says the sale's wallet currency, whatever the wallet's is now", async () => {
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
    const [then, now] = store.currency.name === "EUR" ? ["GBP", "USD"] : ["EUR", "GBP"];
    order.getPartner().crmcom_wallet_currency = now; // CRM.COM changed it since the sale
    order.crmcom_receipt = receiptOfSale({ awarded: 1, balance_after: 26, wallet_currency: then });

    await mountWithCleanup(OrderReceipt, { props: { order } });

    expect(value(".o_crmcom_receipt_balance")).toBe(`${then} 26.00`);
});

test("a wallet in another currency: the expected award in its currency", async () => {
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
    const other = store.currency.name === "EUR" ? "GBP" : "EUR";
    order.getPartner().crmcom_wallet_currency = other;
    holdCurrentPreview(order, { award: 2, balance: 25 });

    await mountWithCleanup(OrderReceipt, { props: { order } });

    expect(text(".o_crmcom_receipt_expected")).toBe(`expected ${other} 2.00`);
    expect(value(".o_crmcom_receipt_balance")).toBe("pending");
});

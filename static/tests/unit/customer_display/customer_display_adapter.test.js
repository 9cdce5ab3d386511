// What the till sends the customer display of CRM.COM Rewards
// (app/customer_display/customer_display_adapter.js), and when it sends it again.
import { Deferred, advanceTime, describe, expect, freezeTime, test, tick } from "@odoo/hoot";
import { onRpc } from "@web/../tests/web_test_helpers";
import { effect } from "@web/core/utils/reactive";
import { batched } from "@web/core/utils/timing";
import { NumberPopup } from "@point_of_sale/app/components/popups/number_popup/number_popup";
import { CustomerDisplayPosAdapter } from "@point_of_sale/app/customer_display/customer_display_adapter";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import {
    CRMCOM_OUTAGE_MS,
    CRMCOM_PREVIEW_DELAY_MS,
} from "@pos_crmcom_rewards/app/services/pos_store";
import { PLAIN_PARTNER_ID } from "@pos_crmcom_rewards/../tests/unit/data/res_partner.data";
import {
    TEMPLATE_TAX_15,
    captureDialogs,
    captureNotifications,
    holdCurrentPreview,
    makeCrmComOrder,
    mockCrmComServer,
    previewReply,
    receiptOfSale,
    setupCrmComEnv,
} from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

const fmt = (store, amount) => store.env.utils.formatCurrency(amount);
const FIELDS = [
    "balance",
    "balanceLastKnown",
    "earns",
    "earnsState",
    "firstName",
    "newBalance",
    "spent",
];

/** A 20.00 order of Maria's (wallet 50.00, earns 2.00) on which CRM.COM confirmed a spend
 * of 5.00 (new balance 47.00). */
async function spentAndConfirmed(store) {
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
    holdCurrentPreview(order, { balance: 50, award: 2 });
    order.applyCrmComDiscount(5);
    order.crmcom_receipt = receiptOfSale({ awarded: 2, spent: 5, balance_after: 47 });
    return order;
}

/** The CRM.COM part of what the adapter makes of `order`. */
function displayed(order) {
    const adapter = new CustomerDisplayPosAdapter();
    adapter.formatOrderData(order);
    return adapter.data.crmcom;
}

/** What is sent to the display (the server's bus notification for a remote display: the
 * BroadcastChannel carries the same data), in the order it is sent. */
function captureDisplay() {
    const sent = [];
    onRpc("pos.config", "update_customer_display", ({ args }) => {
        sent.push(args[1]);
        return true;
    });
    return sent;
}

/** Send the selected order to the display whenever it changes, as the till's Chrome does
 * (point_of_sale/static/src/app/pos_app.js: an effect on the store, batched). */
function followLikeTheTill(store) {
    effect(
        batched(({ selectedOrder }) => {
            if (selectedOrder) {
                const adapter = new CustomerDisplayPosAdapter();
                adapter.formatOrderData(selectedOrder);
                adapter.dispatch(store);
            }
        }),
        [store]
    );
}

/** Let the batched effect run and its rpc reach the mock server. */
async function settle() {
    for (let i = 0; i < 5; i++) {
        await tick();
    }
}

describe("Customer display - what the till sends", () => {
    test("only the allowed figures, and the first name only", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const partner = order.getPartner();
        Object.assign(partner, {
            email: "maria@example.com",
            phone: "+35799000111",
            barcode: "4000123412341234",
        });
        holdCurrentPreview(order, { balance: 50, award: 1.5, spendable: 20 });

        const crmcom = displayed(order);

        expect(Object.keys(crmcom).sort()).toEqual(FIELDS);
        expect(crmcom).toEqual({
            firstName: "Maria",
            balance: fmt(store, 50),
            balanceLastKnown: false,
            earns: fmt(store, 1.5),
            earnsState: "preview",
            spent: null,
            newBalance: null,
        });
        // Nothing else about the customer in anything the display gets.
        const adapter = new CustomerDisplayPosAdapter();
        adapter.formatOrderData(order);
        const everything = JSON.stringify(adapter.data);
        for (const secret of [
            "Maria Rewards",
            "P-000123",
            "maria@example.com",
            "+35799000111",
            "4000123412341234",
            fmt(store, 20), // what can be spent is the cashier's business
        ]) {
            expect(everything).not.toInclude(secret);
        }
    });

    test("nothing for an order without a CRM.COM customer, or with CRM.COM Rewards off", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]], { partnerId: null });
        const adapter = new CustomerDisplayPosAdapter();
        adapter.formatOrderData(order);
        // Sent as null rather than left out: the display merges what it gets into what it
        // shows, and would keep the previous customer's figures.
        expect("crmcom" in adapter.data).toBe(true);
        expect(adapter.data.crmcom).toBe(null);
        expect(JSON.parse(JSON.stringify(adapter.data)).crmcom).toBe(null);

        order.setPartner(store.models["res.partner"].get(PLAIN_PARTNER_ID));
        expect(displayed(order)).toBe(null);

        const rewards = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        expect(displayed(rewards)).not.toBe(null);
        store.config.crmcom_enabled = false;
        expect(displayed(rewards)).toBe(null);
    });

    test("a company's name is not shown; a one-word name is", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const partner = order.getPartner();
        partner.name = "  Maria  ";
        expect(displayed(order).firstName).toBe("Maria");
        partner.name = "Acme Trading Ltd";
        partner.is_company = true;
        expect(displayed(order).firstName).toBe("");
    });

    test("a contact CRM.COM gave no name is greeted without its participant number", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const partner = order.getPartner();
        partner.name = partner.crmcom_participant_number;
        expect(displayed(order).firstName).toBe("");
        expect(JSON.stringify(displayed(order))).not.toInclude(partner.crmcom_participant_number);
    });

    test("a wallet in another currency is shown in it", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const other = store.currency.name === "EUR" ? "GBP" : "EUR";
        order.getPartner().crmcom_wallet_currency = other;
        holdCurrentPreview(order, { balance: 25, award: 1 });

        const crmcom = displayed(order);

        expect(crmcom.balance).toBe(`${other} 25.00`);
        expect(crmcom.earns).toBe(`${other} 1.00`);
    });

    test("a refund: the name and the wallet, nothing earned, spent nor previewed", async () => {
        // The server refuses a basket of returned goods (see pos.config._crmcom_basket).
        const calls = mockCrmComServer({
            preview: () => ({ ok: false, error: "invalid", message: "Cannot be sent." }),
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        order.is_refund = true;
        order.lines.map((line) => line.setQuantity(-line.qty));
        order.applyCrmComDiscount(5); // the wallet's share of the goods, given back
        freezeTime();

        store.crmcomSchedulePreview(order);
        await advanceTime(CRMCOM_PREVIEW_DELAY_MS);
        await store.crmcomRefreshPreview(order);

        expect(calls).toEqual([]);
        const nothing = { earns: null, earnsState: null, spent: null, newBalance: null };
        expect(displayed(order)).toEqual({
            firstName: "Maria",
            balance: fmt(store, 50),
            balanceLastKnown: false,
            ...nothing,
        });
        order.state = "paid";
        expect(displayed(order)).toEqual({
            firstName: "Maria",
            balance: null,
            balanceLastKnown: false,
            ...nothing,
        });
    });

    test("before any preview: the balance of the identification", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);

        expect(displayed(order)).toEqual({
            firstName: "Maria",
            balance: fmt(store, 50),
            balanceLastKnown: false,
            earns: null,
            earnsState: null,
            spent: null,
            newBalance: null,
        });
    });

    test("a preview on its way: no figure of another basket", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        holdCurrentPreview(order, { award: 1.5 });
        order.lines[0].setQuantity(2);
        order.uiState.crmcomPreview.status = "pending";

        const crmcom = displayed(order);

        expect([crmcom.earns, crmcom.earnsState]).toEqual([null, "updating"]);
        expect(crmcom.balance).toBe(fmt(store, 50));
    });

    test("CRM.COM unreachable: the wallet is the last known, nothing is said to be coming", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        holdCurrentPreview(order, { balance: 50, award: 1.5 });
        order.lines[0].setQuantity(2);
        order.uiState.crmcomPreview.status = "pending";
        store._crmcomSetOutage("down");

        const crmcom = displayed(order);

        expect(crmcom.balanceLastKnown).toBe(true);
        expect(crmcom.balance).toBe(fmt(store, 50));
        expect([crmcom.earns, crmcom.earnsState]).toEqual([null, null]);

        // A failed preview says the same.
        store._crmcomClearOutage();
        order.uiState.crmcomPreview.status = "error";
        expect(displayed(order).balanceLastKnown).toBe(true);
    });

    test("after a spend: what was spent, and the wallet as it was before this order", async () => {
        const store = await setupCrmComEnv();
        const order = await spentAndConfirmed(store);
        order.getPartner().crmcom_balance = 47;
        // Even while CRM.COM is down afterwards: what it confirmed is not "last known".
        store._crmcomSetOutage("down");

        expect(displayed(order)).toEqual({
            firstName: "Maria",
            balance: fmt(store, 50),
            balanceLastKnown: false,
            earns: fmt(store, 2),
            earnsState: "confirmed",
            spent: fmt(store, 5),
            newBalance: null, // only once paid
        });
    });

    test("paid and confirmed by CRM.COM: earned, spent and the new balance", async () => {
        const store = await setupCrmComEnv();
        const order = await spentAndConfirmed(store);
        order.state = "paid";

        expect(displayed(order)).toEqual({
            firstName: "Maria",
            balance: null,
            balanceLastKnown: false,
            earns: fmt(store, 2),
            earnsState: "confirmed",
            spent: fmt(store, 5),
            newBalance: fmt(store, 47),
        });
    });

    test("paid, not confirmed yet: the expected award and no new balance", async () => {
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        holdCurrentPreview(order, { balance: 50, award: 2 });
        order.state = "paid";

        const crmcom = displayed(order);

        expect([crmcom.earns, crmcom.earnsState]).toEqual([fmt(store, 2), "expected"]);
        expect([crmcom.balance, crmcom.newBalance, crmcom.spent]).toEqual([null, null, null]);

        // A balance CRM.COM did not say is never shown, not even as 0.
        order.crmcom_receipt = receiptOfSale({ awarded: 2 });
        expect(displayed(order).newBalance).toBe(null);
        expect(displayed(order).earnsState).toBe("confirmed");
    });
});

describe("Customer display - follows the order", () => {
    test("the preview's arrival, the spend and its cancellation are sent", async () => {
        const preview = new Deferred();
        mockCrmComServer({
            preview: () => preview,
            spend: ({ amount }) => ({
                ok: true,
                spent: amount,
                requested: amount,
                awarded: 1.5,
                balance_after: 46.5,
            }),
            cancel_spend: () => ({ ok: true }),
        });
        const sent = captureDisplay();
        const store = await setupCrmComEnv();
        captureNotifications(store);
        captureDialogs(store, (dialog) => {
            if (dialog.component === NumberPopup) {
                dialog.payload("5");
            }
        });
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        followLikeTheTill(store);
        await settle();
        expect(sent.at(-1).crmcom.earnsState).toBe(null);

        const asked = store.crmcomRefreshPreview(order);
        await settle();
        expect(sent.at(-1).crmcom.earnsState).toBe("updating");
        const before = sent.length;
        preview.resolve(previewReply({ balance: 50, award: 1.5, spendable: 20 }));
        await asked;
        await settle();
        expect(sent.length).toBeGreaterThan(before);
        expect(sent.at(-1).crmcom.earns).toBe(fmt(store, 1.5));
        expect(sent.at(-1).crmcom.earnsState).toBe("preview");

        expect(await store.crmcomSpendWallet(order)).toBe(true);
        await settle();
        expect(sent.at(-1).crmcom.spent).toBe(fmt(store, 5));
        expect(sent.at(-1).crmcom.balance).toBe(fmt(store, 50));

        expect(await store.crmcomCancelSpend(order)).toBe(true);
        await settle();
        expect(sent.at(-1).crmcom.spent).toBe(null);

        // Paid: the award CRM.COM confirmed and the new balance.
        order.crmcom_receipt = receiptOfSale({ awarded: 1.5, balance_after: 51.5 });
        order.state = "paid";
        await settle();
        expect(sent.at(-1).crmcom.newBalance).toBe(fmt(store, 51.5));
    });

    test("the customer leaving the order is sent as no customer", async () => {
        const sent = captureDisplay();
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        followLikeTheTill(store);
        await settle();
        expect(sent.at(-1).crmcom.firstName).toBe("Maria");

        order.setPartner(false);
        await settle();
        expect(sent.at(-1).crmcom).toBe(null);
    });

    test("an outage and its end are sent, though no order changed", async () => {
        const sent = captureDisplay();
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        holdCurrentPreview(order, { balance: 50 });
        freezeTime();

        store._crmcomSetOutage("CRM.COM did not answer.");
        await settle();
        expect(sent.at(-1).crmcom.balanceLastKnown).toBe(true);
        const during = sent.length;
        store._crmcomSetOutage("Still down."); // already said
        await settle();
        expect(sent.length).toBe(during);

        await advanceTime(CRMCOM_OUTAGE_MS);
        await settle();
        expect(store.crmcomIsDown).toBe(false);
        expect(sent.at(-1).crmcom.balanceLastKnown).toBe(false);
    });
});

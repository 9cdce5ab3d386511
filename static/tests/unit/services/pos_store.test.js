// The till's store (services/pos_store.js): amount checks, spend, preview, outage, basket lock.
// Long as the store is: one file per file of static/src.
import { Deferred, advanceTime, describe, expect, freezeTime, test, tick } from "@odoo/hoot";
import { patchWithCleanup } from "@web/../tests/web_test_helpers";
import { localization } from "@web/core/l10n/localization";
import { NumberPopup } from "@point_of_sale/app/components/popups/number_popup/number_popup";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import {
    CRMCOM_AWARD_MARGIN_S,
    CRMCOM_OUTAGE_MS,
    CRMCOM_PREVIEW_DELAY_MS,
    CRMCOM_SPEND_PATIENCE_MS,
} from "@pos_crmcom_rewards/app/services/pos_store";
import {
    CRMCOM_OTHER_PARTNER_ID,
    CRMCOM_PARTNER_ID,
} from "@pos_crmcom_rewards/../tests/unit/data/res_partner.data";
import {
    TEMPLATE_TAX_15,
    TEMPLATE_TAX_25,
    captureDialogs,
    captureNotifications,
    cutNetwork,
    discountSum,
    holdCurrentPreview,
    makeCrmComOrder,
    mockCrmComServer,
    previewReply,
    receiptOfSale,
    setupCrmComEnv,
} from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

/*
 * The till operations (routes /pos_crmcom_rewards/identify, preview, spend, cancel_spend of
 * controllers/main.py) talk to CRM.COM and are tested in Python: here the mock server answers
 * what `this.pos.crmcomCall` sends through `rpc` (`mockCrmComServer`, i.e. onRpc), as
 * pos_loyalty's unit tests mock their server calls.
 */

const fmt = (store, amount) => store.env.utils.formatCurrency(amount);
const operations = (calls) => calls.map((call) => call.operation);

/** The props of the spend popup *Spend wallet* opens on a 20.00 order (then closed). */
async function spendPopupProps(store) {
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
    let popup;
    captureDialogs(store, (dialog) => {
        if (dialog.component === NumberPopup) {
            popup = dialog.props;
            dialog.close();
        }
    });
    await store.crmcomSpendWallet(order);
    return popup;
}

/** An order on which the wallet was spent, as crmcomSpendWallet leaves it. */
async function spentOrder(store, amount = 5) {
    const order = await makeCrmComOrder(store, [
        [TEMPLATE_TAX_15, 10],
        [TEMPLATE_TAX_25, 10],
    ]);
    holdCurrentPreview(order, { balance: 50 });
    order.applyCrmComDiscount(amount);
    order.uiState.crmcomSpend = { ok: true, spent: amount, balance_after: 50 - amount };
    Object.assign(order, {
        crmcom_spent: amount,
        crmcom_receipt: receiptOfSale({ spent: amount, balance_after: 50 - amount }),
    });
    order.getPartner().crmcom_balance = 50 - amount;
    expect(order.hasCrmComSpend()).toBe(true);
    return order;
}

describe("PosStore - CRM.COM spend amount checks", () => {
    test("refuses nothing, non-numbers, zero and negative amounts", async () => {
        const store = await setupCrmComEnv();
        const bounds = { min: 0, max: 20 };

        for (const raw of ["", null, undefined, "   "]) {
            expect(store.crmcomCheckAmount(raw, bounds)).toBe("Enter the amount to spend.");
        }
        expect(store.crmcomCheckAmount("abc", bounds)).toBe("“abc” is not an amount.");
        expect(store.crmcomCheckAmount("12abc", bounds)).toBe("“12abc” is not an amount.");
        expect(store.crmcomCheckAmount(NaN, bounds)).toBe("“NaN” is not an amount.");
        expect(store.crmcomCheckAmount(Infinity, bounds)).toBe("“Infinity” is not an amount.");
        // Checked as sent, rounded to the cent: 0.004 would be sent as 0.00.
        for (const raw of ["0", 0, "0.00", "-5", -0.01, "0.004"]) {
            expect(store.crmcomCheckAmount(raw, bounds)).toBe(
                "The amount must be more than zero.",
                { message: `${JSON.stringify(raw)} is refused` }
            );
        }
    });

    test("refuses more than the maximum (the order total) and less than the minimum", async () => {
        const store = await setupCrmComEnv();

        const over = `At most ${fmt(store, 20)} can be spent on this order.`;
        expect(store.crmcomCheckAmount("20.01", { min: 0, max: 20 })).toBe(over);
        expect(store.crmcomCheckAmount(21, { min: 0, max: 20 })).toBe(over);
        expect(store.crmcomCheckAmount("20", { min: 0, max: 20 })).toBe("");
        expect(store.crmcomCheckAmount(20, { min: 0, max: 20 })).toBe("");
        expect(store.crmcomCheckAmount("20.004", { min: 0, max: 20 })).toBe("", {
            message: "sent as 20.00",
        });

        const under = `At least ${fmt(store, 5)} must be spent at a time.`;
        expect(store.crmcomCheckAmount("4.99", { min: 5, max: 20 })).toBe(under);
        expect(store.crmcomCheckAmount("5", { min: 5, max: 20 })).toBe("");
        expect(store.crmcomCheckAmount(" 12.5 ", { min: 5, max: 20 })).toBe("");
        // No maximum given by CRM.COM: the order total is the bound, not infinity.
        expect(store.crmcomCheckAmount("1000000", { min: 0, max: Infinity })).toBe("");
        expect(under).toInclude("5.00");
        expect(over).toInclude("20.00");
    });

    test("reads amounts as the cashier's language writes them", async () => {
        const store = await setupCrmComEnv();
        patchWithCleanup(localization, { decimalPoint: ",", thousandsSep: "." });

        expect(store.crmcomCheckAmount("12,5", { min: 0, max: 20 })).toBe("");
        expect(store.crmcomCheckAmount("20,01", { min: 0, max: 20 })).toBe(
            `At most ${fmt(store, 20)} can be spent on this order.`
        );
        expect(store.crmcomCheckAmount("1.000", { min: 0, max: 999 })).toBe(
            `At most ${fmt(store, 999)} can be spent on this order.`
        );
    });
});

describe("PosStore - CRM.COM wallet spend", () => {
    test("spends what the cashier asks within the preview's bounds", async () => {
        const calls = mockCrmComServer({
            preview: () => previewReply({ spendable: 15, max_spend: 15, min_spend: 1 }),
            spend: ({ amount }) => ({
                ok: true,
                spent: amount,
                requested: amount,
                awarded: 0.6,
                balance_after: 38,
                purchase_number: "PUR-1",
            }),
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [
            [TEMPLATE_TAX_15, 10],
            [TEMPLATE_TAX_25, 10],
        ]);
        const notifications = captureNotifications(store);
        let popup;
        const dialogs = captureDialogs(store, (dialog) => {
            if (dialog.component === NumberPopup) {
                popup = dialog.props;
                dialog.payload("12");
            }
        });

        expect(await store.crmcomSpendWallet(order)).toBe(true);

        expect(dialogs.map((dialog) => dialog.component)).toEqual([NumberPopup]);
        expect(popup.startingValue).toBe("15");
        expect(popup.isValid("15")).toBe(true);
        expect(popup.isValid("15.01")).toBe(false);
        expect(popup.isValid("0.99")).toBe(false);
        expect(popup.isValid("")).toBe(false);
        expect(popup.feedback("16")).toBe(`At most ${fmt(store, 15)} can be spent on this order.`);

        expect(operations(calls)).toEqual(["preview", "spend"]);
        const { config_id, order: payload, amount } = calls[1].params;
        expect(config_id).toBe(store.config.id);
        expect(amount).toBe(12);
        expect(payload.uuid).toBe(order.uuid);
        expect(payload.partner_id).toBe(CRMCOM_PARTNER_ID);
        expect(payload.lines).toHaveLength(2);

        expect(discountSum(order)).toBe(-12);
        expect(order.getCrmComSpentAmount()).toBe(12);
        expect(order.crmcom_spent).toBe(12);
        expect(order.crmcom_receipt).toEqual({
            confirmed: true,
            cancelled: false,
            awarded: 0.6,
            spent: 12,
            balance_after: 38,
            wallet_currency: null, // the reply named none: the customer's is the sale's
        });
        expect(order.crmcom_participant_number).toBe("P-000123");
        expect(order.crmcom_participant_name).toBe("Maria Rewards");
        expect(order.uiState.crmcomSpend.spent).toBe(12);
        expect(order.getPartner().crmcom_balance).toBe(38);
        expect(notifications).toEqual([
            {
                message: `${fmt(store, 12)} spent from the wallet.`,
                type: "success",
                title: undefined,
            },
        ]);
    });

    test("the discount is what CRM.COM spent, not what was asked", async () => {
        mockCrmComServer({
            preview: () => previewReply({ spendable: 20 }),
            spend: () => ({ ok: true, spent: 5, awarded: 0, balance_after: 0 }),
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        const dialogs = captureDialogs(store, (dialog) => {
            if (dialog.component === NumberPopup) {
                dialog.payload("8");
            }
        });

        expect(await store.crmcomSpendWallet(order)).toBe(true);

        expect(discountSum(order)).toBe(-5);
        expect(order.crmcom_spent).toBe(5);
        expect(dialogs.at(-1).title).toBe("Less was spent than asked");
        expect(dialogs.at(-1).body).toBe(
            `CRM.COM spent ${fmt(store, 5)} of the ${fmt(
                store,
                8
            )} asked for: the discount is ${fmt(store, 5)}.`
        );
    });

    test("nothing is spent when CRM.COM refuses, or the cashier gives up", async () => {
        // The server titles its refusals.
        let spendReply = {
            ok: false,
            error: "amount",
            title: "Amount refused",
            message: "Too much.",
        };
        const calls = mockCrmComServer({
            preview: () => previewReply(),
            spend: () => spendReply,
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        let answer = (dialog) => dialog.payload("10");
        const dialogs = captureDialogs(store, (dialog) => {
            if (dialog.component === NumberPopup) {
                answer(dialog);
            }
        });

        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Amount refused");
        expect(dialogs.at(-1).body).toBe("Too much.");
        expect(order.hasCrmComSpend()).toBe(false);
        expect(order.getCrmComReceiptData().posted).toBe(false);

        // The cashier closes the popup: CRM.COM is not asked to spend.
        answer = (dialog) => dialog.close();
        spendReply = { ok: true, spent: 10 };
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(operations(calls)).toEqual(["preview", "spend"]);
        expect(order.hasCrmComSpend()).toBe(false);

        // An amount the popup should not have let through is checked again.
        answer = (dialog) => dialog.payload("1000");
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Amount refused");
        // What the preview said can be spent (20.00, under the 23.00 total): one figure.
        expect(dialogs.at(-1).body).toBe(`At most ${fmt(store, 20)} can be spent on this order.`);
        expect(operations(calls)).toEqual(["preview", "spend"]);
    });

    test("one figure is shown, offered and the most accepted", async () => {
        // CRM.COM's per-transaction maximum (50) is above what it says can be spent (12).
        mockCrmComServer({
            preview: () => previewReply({ spendable: 12, max_spend: 50, balance: 12 }),
        });
        const store = await setupCrmComEnv();
        const popup = await spendPopupProps(store);

        expect(popup.subtitle).toInclude(`up to ${fmt(store, 12)} on this order`);
        expect(popup.subtitle).not.toInclude("included");
        expect(popup.startingValue).toBe("12");
        expect(popup.isValid("12")).toBe(true);
        expect(popup.isValid("12.01")).toBe(false);
        expect(popup.feedback("30")).toBe(`At most ${fmt(store, 12)} can be spent on this order.`);
    });

    test("the popup says when this sale's own award can be spent", async () => {
        mockCrmComServer({
            preview: () => previewReply({ spendable: 21.5, balance: 20, includes_award: true }),
        });
        const store = await setupCrmComEnv();
        const popup = await spendPopupProps(store);

        expect(popup.subtitle).toInclude(`up to ${fmt(store, 21.5)} on this order`);
        expect(popup.subtitle).toInclude("what this sale earns included");
        expect(popup.isValid("21.50")).toBe(true);
    });

    test("a wallet whose spending is blocked is said to be, and nothing is asked", async () => {
        const calls = mockCrmComServer({
            preview: () => previewReply({ spendable: 0, allow_spending: false, spend_blocked: true }),
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        const dialogs = captureDialogs(store);
        expect(store.crmcomSpendOffReason(order)).toBe("");

        expect(await store.crmcomSpendWallet(order)).toBe(false);

        expect(dialogs.at(-1).title).toBe("Spending blocked");
        expect(dialogs.at(-1).body).toBe("Spending is blocked on this wallet.");
        expect(operations(calls)).toEqual(["preview"]);
        // The preview said so: Spend wallet is off, with the reason.
        expect(store.crmcomSpendOffReason(order)).toBe("Spending is blocked on this wallet.");
        // Known from the identification too, before any preview.
        order.uiState.crmcomPreview = null;
        order.getPartner().crmcom_spend_blocked = true;
        expect(store.crmcomSpendOffReason(order)).toBe("Spending is blocked on this wallet.");
    });

    test("a wallet in another currency is shown in it and never spent here", async () => {
        const calls = mockCrmComServer({ preview: () => previewReply() });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        const partner = order.getPartner();
        const other = store.currency.name === "EUR" ? "GBP" : "EUR";
        const dialogs = captureDialogs(store);
        expect(store.crmcomFormatWallet(25, partner)).toBe(fmt(store, 25));

        partner.crmcom_wallet_currency = other;

        expect(store.crmcomFormatWallet(25, partner)).toBe(`${other} 25.00`);
        expect(store.crmcomSpendOffReason(order)).toInclude(other);
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Wallet in another currency");
        expect(calls).toEqual([]);
    });

    test("a refund: nothing is spent on it, nor asked of CRM.COM", async () => {
        const calls = mockCrmComServer({ preview: () => previewReply() });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        order.is_refund = true;
        order.lines.map((line) => line.setQuantity(-line.qty));
        const dialogs = captureDialogs(store);

        expect(store.crmcomSpendOffReason(order)).toBe(
            "A refund gives back what the wallet paid: nothing is spent on it."
        );
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Nothing to spend on a refund");
        expect(calls).toEqual([]);
    });

    test("a card scanned: a wallet in another currency is said in it", async () => {
        const store = await setupCrmComEnv();
        const other = store.currency.name === "EUR" ? "GBP" : "EUR";
        const reply = {
            ok: true,
            partner_id: CRMCOM_PARTNER_ID,
            participant_number: "P-000123",
            name: "Maria Rewards",
            balance: 25,
            spend_blocked: false,
            currency: other,
        };
        mockCrmComServer({ identify: () => reply });
        const notifications = captureNotifications(store);
        store.addNewOrder();

        await store.crmcomIdentifyScannedCard("4000123412341234");

        expect(notifications.at(-1).message).toBe(`Maria Rewards (P-000123), wallet ${other} 25.00`);
        reply.currency = store.currency.name;
        await store.crmcomIdentifyScannedCard("4000123412341234");
        expect(notifications.at(-1).message).toBe(
            `Maria Rewards (P-000123), wallet ${fmt(store, 25)}`
        );
    });

    test("nothing is asked without a participant, twice, or when spending is off", async () => {
        let preview = previewReply({ allow_spending: false, spendable: 0, balance: 3 });
        const calls = mockCrmComServer({ preview: () => preview });
        const store = await setupCrmComEnv();
        const dialogs = captureDialogs(store);

        const anonymous = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]], {
            partnerId: false,
        });
        expect(await store.crmcomSpendWallet(anonymous)).toBe(false);
        expect(dialogs.at(-1).title).toBe("No CRM.COM customer");

        const empty = await makeCrmComOrder(store, []);
        expect(await store.crmcomSpendWallet(empty)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Nothing to pay");
        expect(calls).toEqual([]);

        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Nothing can be spent");
        expect(dialogs.at(-1).body).toInclude(fmt(store, 3));
        preview = previewReply({ spendable: 0 });
        order.uiState.crmcomPreview = null;
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Nothing can be spent");
        expect(dialogs.some((dialog) => dialog.component === NumberPopup)).toBe(false);

        const spent = await spentOrder(store, 4);
        const before = calls.length;
        expect(await store.crmcomSpendWallet(spent)).toBe(false);
        expect(dialogs.at(-1).title).toBe("Wallet already spent");
        expect(dialogs.at(-1).body).toInclude(fmt(store, 4));
        expect(calls.length).toBe(before);
    });
});

describe("PosStore - CRM.COM slow spend", () => {
    /** *Spend wallet* on a 20.00 order for 10.00, CRM.COM answering when `reply` resolves;
     * `respond` answers the till's other dialogs. */
    async function slowSpend(reply, respond = () => {}) {
        const sent = new Deferred();
        const calls = mockCrmComServer({
            preview: () => previewReply({ spendable: 20 }),
            spend: () => {
                sent.resolve();
                return reply;
            },
            cancel_spend: () => ({ ok: true }),
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 20]]);
        const dialogs = captureDialogs(store, (dialog) =>
            dialog.component === NumberPopup ? dialog.payload("10") : respond(dialog)
        );
        freezeTime();
        let done = null;
        store.crmcomSpendWallet(order).then((result) => (done = result));
        await sent;
        await tick();
        return { calls, store, order, dialogs, finished: () => done };
    }
    const spentReply = { ok: true, spent: 10, requested: 10, awarded: 0, balance_after: 40 };

    test("a quick answer shows no waiting dialog", async () => {
        const reply = new Deferred();
        const { order, dialogs, finished } = await slowSpend(reply);
        await advanceTime(CRMCOM_SPEND_PATIENCE_MS - 1);
        reply.resolve(spentReply);
        await tick();
        await tick();
        expect(finished()).toBe(true);
        expect(dialogs.map((dialog) => dialog.title)).toEqual(["Spend from the wallet"]);
        expect(discountSum(order)).toBe(-10);
    });

    test("a slow answer: the till says it waits, and the answer still spends", async () => {
        const reply = new Deferred();
        const { store, order, dialogs, finished } = await slowSpend(reply);
        await advanceTime(CRMCOM_SPEND_PATIENCE_MS);
        expect(dialogs.at(-1).title).toBe("Waiting for CRM.COM");
        expect(dialogs.at(-1).props.confirmLabel).toBe("Go on without spending");
        expect(store.crmcomSpendOffReason(order)).toBe(
            "A spend on this order is still waiting for CRM.COM."
        );
        reply.resolve(spentReply);
        await tick();
        await tick();
        expect(finished()).toBe(true);
        expect(discountSum(order)).toBe(-10);
        expect(store.crmcomSpendOffReason(order)).toBe("");
    });

    test("going on without the spend: no discount, and a late spend is given back", async () => {
        const reply = new Deferred();
        let waiting = null;
        const { calls, store, order, finished } = await slowSpend(reply, (dialog) => {
            if (dialog.title === "Waiting for CRM.COM") {
                waiting = dialog;
            }
        });
        await advanceTime(CRMCOM_SPEND_PATIENCE_MS);
        waiting.confirm();
        await tick();
        await tick();
        expect(finished()).toBe(false);
        expect(order.hasCrmComSpend()).toBe(false);
        expect(discountSum(order)).toBe(0);
        // Until CRM.COM answers, no second spend is sent for the order.
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(operations(calls)).toEqual(["preview", "spend"]);

        reply.resolve(spentReply);
        await tick();
        await tick();
        expect(operations(calls)).toEqual(["preview", "spend", "cancel_spend"]);
        expect(calls.at(-1).params.order_uuid).toBe(order.uuid);
        expect(order.hasCrmComSpend()).toBe(false);
        expect(discountSum(order)).toBe(0);
        expect(store.crmcomSpendOffReason(order)).toBe("");
    });

    test("closing the waiting dialog goes on too; a late refusal needs no give-back", async () => {
        const reply = new Deferred();
        const { calls, order, dialogs, finished } = await slowSpend(reply);
        await advanceTime(CRMCOM_SPEND_PATIENCE_MS);
        dialogs.at(-1).close();
        await tick();
        await tick();
        expect(finished()).toBe(false);
        reply.resolve({ ok: false, error: "unreachable", message: "Down." });
        await tick();
        await tick();
        expect(operations(calls)).toEqual(["preview", "spend"]);
        expect(order.hasCrmComSpend()).toBe(false);
    });
});

describe("PosStore - CRM.COM award on the receipt", () => {
    const posted = { ok: true, state: "posted", awarded: 1.5, spent: 0, balance_after: 51.5 };

    test("the confirmed award and balance go on the order the receipt prints", async () => {
        const calls = mockCrmComServer({ award: () => posted });
        const store = await setupCrmComEnv();
        store.config.crmcom_receipt_wait_seconds = 2;
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);

        expect(await store.crmcomConfirmAward(order)).toBe(true);

        expect(operations(calls)).toEqual(["award"]);
        expect(calls[0].params).toEqual({ config_id: store.config.id, order_uuid: order.uuid });
        const receipt = order.getCrmComReceiptData();
        expect([receipt.posted, receipt.awarded, receipt.balance]).toEqual([true, 1.5, 51.5]);
        expect(receipt.balanceKnown).toBe(true);
        expect(order.getPartner().crmcom_balance).toBe(51.5);
    });

    test("not confirmed: the receipt keeps the preview's award, marked as expected", async () => {
        mockCrmComServer({
            award: () => ({ ok: true, state: "unknown", awarded: null, balance_after: null }),
        });
        const store = await setupCrmComEnv();
        store.config.crmcom_receipt_wait_seconds = 2;
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        holdCurrentPreview(order, { award: 0.75 });

        expect(await store.crmcomConfirmAward(order)).toBe(false);

        const receipt = order.getCrmComReceiptData();
        expect([receipt.posted, receipt.expected, receipt.balanceKnown]).toEqual([
            false,
            0.75,
            false,
        ]);
        // A preview of another basket says nothing about this one.
        order.uiState.crmcomPreview.dataKey = "another basket";
        expect(order.getCrmComReceiptData().expected).toBe(null);
    });

    test("the till stops waiting after the receipt's wait and Odoo's margin", async () => {
        const reply = new Deferred();
        mockCrmComServer({ award: () => reply });
        const store = await setupCrmComEnv();
        store.config.crmcom_receipt_wait_seconds = 2;
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        freezeTime();

        let done = null;
        store.crmcomConfirmAward(order).then((result) => (done = result));
        await advanceTime((2 + CRMCOM_AWARD_MARGIN_S) * 1000 - 1);
        expect(done).toBe(null);
        await advanceTime(1);
        await tick();
        expect(done).toBe(false);
        // A late answer changes nothing on the receipt already printed.
        reply.resolve(posted);
        await tick();
        expect(order.getCrmComReceiptData().posted).toBe(false);
    });

    test("nothing is asked without a wait, a customer, or while CRM.COM is down", async () => {
        const calls = mockCrmComServer({ award: () => posted });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        store.config.crmcom_receipt_wait_seconds = 0;
        expect(await store.crmcomConfirmAward(order)).toBe(false);
        store.config.crmcom_receipt_wait_seconds = 2;
        store._crmcomSetOutage("down");
        expect(await store.crmcomConfirmAward(order)).toBe(false);
        store._crmcomClearOutage();
        order.setPartner(false);
        expect(await store.crmcomConfirmAward(order)).toBe(false);
        expect(calls).toEqual([]);
    });
});

describe("PosStore - CRM.COM preview", () => {
    test("asked for once the basket has been quiet for the delay", async () => {
        const calls = mockCrmComServer({ preview: () => previewReply({ award: 2 }) });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        freezeTime();

        store.crmcomSchedulePreview(order);
        await advanceTime(CRMCOM_PREVIEW_DELAY_MS - 100);
        order.lines[0].setQuantity(2);
        store.crmcomSchedulePreview(order);
        await advanceTime(CRMCOM_PREVIEW_DELAY_MS - 100);
        order.lines[0].setQuantity(3);
        store.crmcomSchedulePreview(order);
        await advanceTime(CRMCOM_PREVIEW_DELAY_MS - 1);
        expect(calls).toEqual([]);

        await advanceTime(1);
        await tick();
        expect(operations(calls)).toEqual(["preview"]);
        expect(calls[0].params.order.lines.map((line) => line.qty)).toEqual([3]);
        const state = order.uiState.crmcomPreview;
        expect(state.status).toBe("ok");
        expect(state.data.award).toBe(2);
        expect(state.dataKey).toBe(order.getCrmComBasketKey());

        // Nothing more is asked for while the basket stays the same.
        await advanceTime(CRMCOM_PREVIEW_DELAY_MS * 5);
        expect(calls).toHaveLength(1);
    });

    test("not asked for when CRM.COM Rewards is off or the order is done", async () => {
        const calls = mockCrmComServer({ preview: () => previewReply() });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        freezeTime();

        store.config.crmcom_enabled = false;
        store.crmcomSchedulePreview(order);
        store.config.crmcom_enabled = true;
        order.state = "paid"; // finalized
        expect(order.finalized).toBe(true);
        store.crmcomSchedulePreview(order);
        store.crmcomSchedulePreview(null);
        await advanceTime(CRMCOM_PREVIEW_DELAY_MS * 2);

        expect(calls).toEqual([]);
        expect(order.uiState.crmcomPreview).toBe(undefined);
    });

    test("nothing to preview without participant or basket", async () => {
        const calls = mockCrmComServer({ preview: () => previewReply() });
        const store = await setupCrmComEnv();

        const anonymous = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]], {
            partnerId: false,
        });
        expect(await store.crmcomRefreshPreview(anonymous)).toEqual({
            ok: false,
            error: "invalid",
            message: "",
        });
        expect(anonymous.uiState.crmcomPreview.status).toBe("idle");

        const empty = await makeCrmComOrder(store, []);
        await store.crmcomRefreshPreview(empty);
        expect(empty.uiState.crmcomPreview.status).toBe("idle");

        const returned = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10, -1]]);
        await store.crmcomRefreshPreview(returned);
        expect(returned.uiState.crmcomPreview.status).toBe("idle");
        expect(calls).toEqual([]);
    });

    test("an answer for an older basket is never shown over a newer one", async () => {
        const answers = [];
        mockCrmComServer({
            preview: () => {
                const deferred = new Deferred();
                answers.push(deferred);
                return deferred;
            },
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const state = () => order.uiState.crmcomPreview;

        const first = store.crmcomRefreshPreview(order);
        await tick();
        expect(state().status).toBe("loading");
        order.lines[0].setQuantity(2);
        const second = store.crmcomRefreshPreview(order);
        await tick();
        expect(answers).toHaveLength(2);

        // The newer answer arrives first, then the older one.
        answers[1].resolve(previewReply({ award: 2, spendable: 23 }));
        expect((await second).award).toBe(2);
        expect(state().status).toBe("ok");
        expect(state().data.award).toBe(2);

        answers[0].resolve(previewReply({ award: 1, spendable: 11.5 }));
        expect((await first).award).toBe(1); // given to whoever asked, not shown
        expect(state().status).toBe("ok");
        expect(state().data.award).toBe(2);
        expect(state().dataKey).toBe(order.getCrmComBasketKey());

        // The older answer arrives first: it is not shown either, nor is its failure.
        order.lines[0].setQuantity(3);
        const third = store.crmcomRefreshPreview(order);
        await tick();
        order.lines[0].setQuantity(4);
        const fourth = store.crmcomRefreshPreview(order);
        await tick();
        answers[2].resolve({ ok: false, error: "server", message: "old failure" });
        await third;
        expect(state().status).toBe("loading");
        expect(state().data.award).toBe(2);
        answers[3].resolve(previewReply({ award: 4 }));
        await fourth;
        expect(state().status).toBe("ok");
        expect(state().data.award).toBe(4);
        expect(state().message).toBe("");
    });

    test("an answer for a basket changed meanwhile is kept as not up to date", async () => {
        const answers = [];
        const calls = mockCrmComServer({
            preview: () => {
                const deferred = new Deferred();
                answers.push(deferred);
                return deferred;
            },
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const key = order.getCrmComBasketKey();

        const pending = store.crmcomRefreshPreview(order);
        await tick();
        order.lines[0].setQuantity(2);
        answers[0].resolve(previewReply({ award: 1 }));
        await pending;

        const state = order.uiState.crmcomPreview;
        expect(state.status).toBe("pending");
        expect(state.data.award).toBe(1);
        expect(state.dataKey).toBe(key);
        expect(state.dataKey).not.toBe(order.getCrmComBasketKey());

        // The spend asks for a new preview rather than use that one.
        const current = store.crmcomCurrentPreview(order);
        await tick();
        expect(calls).toHaveLength(2);
        expect(calls[1].params.order.lines[0].qty).toBe(2);
        answers[1].resolve(previewReply({ award: 2 }));
        expect((await current).award).toBe(2);
        expect(state.status).toBe("ok");

        // ...and uses the one it holds when it is up to date.
        expect((await store.crmcomCurrentPreview(order)).award).toBe(2);
        expect(calls).toHaveLength(2);
    });

    test("a change shows the figures held as pending until the new answer", async () => {
        mockCrmComServer({ preview: () => previewReply({ award: 1 }) });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        freezeTime();

        await store.crmcomRefreshPreview(order);
        const state = order.uiState.crmcomPreview;
        expect(state.status).toBe("ok");

        store.crmcomSchedulePreview(order); // same basket: what is shown stays current
        expect(state.status).toBe("ok");
        order.lines[0].setQuantity(2);
        store.crmcomSchedulePreview(order);
        expect(state.status).toBe("pending");
        expect(state.data.award).toBe(1);

        await advanceTime(CRMCOM_PREVIEW_DELAY_MS);
        await tick();
        expect(state.status).toBe("ok");
        expect(state.dataKey).toBe(order.getCrmComBasketKey());
    });

    test("a failed answer is an error with its message, figures kept", async () => {
        let reply = previewReply({ award: 1 });
        mockCrmComServer({ preview: () => reply });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);

        await store.crmcomRefreshPreview(order);
        reply = { ok: false, error: "blocked", message: "Spending blocked by CRM.COM." };
        order.lines[0].setQuantity(2);
        const result = await store.crmcomRefreshPreview(order);

        expect(result).toEqual(reply);
        const state = order.uiState.crmcomPreview;
        expect(state.status).toBe("error");
        expect(state.message).toBe("Spending blocked by CRM.COM.");
        expect(state.data.award).toBe(1);
        expect(store.crmcomIsDown).toBe(false);
    });
});

describe("PosStore - CRM.COM outage", () => {
    test("an unreachable answer turns the outage mode on, a later ok answer clears it", async () => {
        let reply = { ok: false, error: "unreachable", message: "CRM.COM did not answer." };
        const calls = mockCrmComServer({
            preview: () => reply,
            identify: () => ({ ok: true, partner_id: CRMCOM_PARTNER_ID }),
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const dialogs = captureDialogs(store);
        expect(store.crmcomIsDown).toBe(false);

        expect(await store.crmcomRefreshPreview(order)).toEqual(reply);
        expect(store.crmcomIsDown).toBe(true);
        expect(store.crmcomOutage.message).toBe("CRM.COM did not answer.");
        expect(order.uiState.crmcomPreview.status).toBe("error");

        // While down, nothing is sent to the server.
        const down = { ok: false, error: "unreachable", message: "CRM.COM did not answer." };
        expect(await store.crmcomIdentify("4000123", "card")).toEqual(down);
        expect(await store.crmcomRefreshPreview(order)).toEqual(down);
        expect(order.uiState.crmcomPreview.status).toBe("error");
        expect(order.uiState.crmcomPreview.message).toBe("CRM.COM did not answer.");
        expect(await store.crmcomSpendWallet(order)).toBe(false);
        expect(dialogs.at(-1).title).toBe("CRM.COM unavailable");
        expect(dialogs.at(-1).body).toBe("CRM.COM did not answer.");
        expect(operations(calls)).toEqual(["preview"]);

        // Any call that gets an ok answer (e.g. cancelling a spend) ends the outage.
        reply = previewReply();
        expect((await store.crmcomCall("preview", { order: order.getCrmComPayload() })).ok).toBe(
            true
        );
        expect(store.crmcomIsDown).toBe(false);
        expect(store.crmcomOutage.message).toBe("");
        expect((await store.crmcomIdentify("4000123", "card")).ok).toBe(true);
        expect(operations(calls)).toEqual(["preview", "preview", "identify"]);
    });

    test("the outage mode ends by itself after a while", async () => {
        mockCrmComServer({
            identify: () => ({ ok: false, error: "unreachable", message: "" }),
        });
        const store = await setupCrmComEnv();
        freezeTime();

        await store.crmcomIdentify("4000123", "card");
        expect(store.crmcomIsDown).toBe(true);
        // No message from the server: the till's own.
        expect(store._crmcomOutageResult().message).toBe(
            "CRM.COM cannot be reached right now. Finish the sale without rewards."
        );

        await advanceTime(CRMCOM_OUTAGE_MS - 1);
        expect(store.crmcomIsDown).toBe(true);
        await advanceTime(1);
        expect(store.crmcomIsDown).toBe(false);
    });

    test("other failures do not turn it on", async () => {
        let reply = { ok: false, error: "not_found", message: "No such customer." };
        const calls = mockCrmComServer({
            identify: () => reply,
            preview: () => {
                throw new Error("Boom");
            },
        });
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);

        expect(await store.crmcomIdentify("4000123", "card")).toEqual(reply);
        expect(store.crmcomIsDown).toBe(false);

        reply = false; // not an answer of the add-on
        expect(await store.crmcomIdentify("4000123", "card")).toEqual({
            ok: false,
            error: "server",
            message: "Unexpected reply from the server.",
        });
        expect(store.crmcomIsDown).toBe(false);

        // An error of the server itself (the route raised).
        const failed = await store.crmcomRefreshPreview(order);
        expect(failed.ok).toBe(false);
        expect(failed.error).toBe("server");
        expect(failed.message).toInclude("Boom");
        expect(order.uiState.crmcomPreview.status).toBe("error");
        expect(store.crmcomIsDown).toBe(false);

        // Blank queries are not sent.
        expect((await store.crmcomIdentify("   ", "card")).error).toBe("invalid");
        expect(operations(calls)).toEqual(["identify", "identify", "preview"]);

        // The till cannot reach the server: offline, CRM.COM is not taken as down.
        cutNetwork("identify");
        const offline = await store.crmcomIdentify("4000123", "card");
        expect(offline.ok).toBe(false);
        expect(offline.error).toBe("offline");
        expect(offline.message).toBe(
            "The till is offline: CRM.COM Rewards are not available until it is back online."
        );
        expect(store.crmcomIsDown).toBe(false);
    });
});

describe("PosStore - CRM.COM basket lock", () => {
    test("changing a spent basket asks first; keeping it changes nothing", async () => {
        const calls = mockCrmComServer({ cancel_spend: () => ({ ok: true }) });
        const store = await setupCrmComEnv();
        const order = await spentOrder(store, 5);
        const dialogs = captureDialogs(store, (dialog) => dialog.cancel());

        const line = await store.addLineToCurrentOrder({
            product_tmpl_id: store.models["product.template"].get(TEMPLATE_TAX_15),
            qty: 1,
        });

        expect(line).toBe(undefined);
        expect(dialogs).toHaveLength(1);
        expect(dialogs[0].title).toBe("Cancel the wallet spend?");
        expect(dialogs[0].body).toInclude(fmt(store, 5));
        expect(dialogs[0].props.confirmLabel).toBe("Cancel the spend");
        expect(calls).toEqual([]);
        expect(order.lines).toHaveLength(4); // 2 products, 2 discount lines
        expect(discountSum(order)).toBe(-5);
        expect(order.crmcom_receipt.confirmed).toBe(true);
    });

    test("cancelling the spend unlocks the basket, then the change is made", async () => {
        const calls = mockCrmComServer({ cancel_spend: () => ({ ok: true }) });
        const store = await setupCrmComEnv();
        const order = await spentOrder(store, 5);
        const notifications = captureNotifications(store);
        const dialogs = captureDialogs(store, (dialog) => dialog.confirm());

        const line = await store.addLineToCurrentOrder({
            product_tmpl_id: store.models["product.template"].get(TEMPLATE_TAX_15),
            qty: 1,
            price_unit: 10,
        });

        expect(dialogs.map((dialog) => dialog.title)).toEqual(["Cancel the wallet spend?"]);
        expect(calls).toEqual([
            {
                operation: "cancel_spend",
                params: { config_id: store.config.id, order_uuid: order.uuid },
            },
        ]);
        expect(line.product_id.id).toBe(5);
        expect(order.hasCrmComSpend()).toBe(false);
        expect(order.lines).toHaveLength(3);
        expect(order.uiState.crmcomSpend).toBe(null);
        expect(order.crmcom_receipt).toBe(false);
        expect(order.crmcom_spent).toBe(0);
        // Back to the balance of the last preview.
        expect(order.getPartner().crmcom_balance).toBe(50);
        expect(notifications.map((n) => n.message)).toEqual(["The wallet spend was cancelled."]);
    });

    test("when the spend cannot be cancelled the basket stays as it is", async () => {
        mockCrmComServer({
            cancel_spend: () => ({ ok: false, error: "unreachable", message: "Timeout." }),
        });
        const store = await setupCrmComEnv();
        const order = await spentOrder(store, 5);
        const dialogs = captureDialogs(store, (dialog) => dialog.confirm());

        const line = await store.addLineToCurrentOrder({
            product_tmpl_id: store.models["product.template"].get(TEMPLATE_TAX_15),
            qty: 1,
        });

        expect(line).toBe(undefined);
        expect(dialogs.map((dialog) => dialog.title)).toEqual([
            "Cancel the wallet spend?",
            "The spend could not be cancelled",
        ]);
        expect(dialogs[1].body).toBe(
            "Timeout.\nThe order keeps its wallet discount; try again later."
        );
        expect(order.lines).toHaveLength(4);
        expect(discountSum(order)).toBe(-5);
        expect(store.crmcomIsDown).toBe(true);
    });

    test("an order without spend is not locked", async () => {
        const calls = mockCrmComServer({});
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const dialogs = captureDialogs(store);

        expect(await store.crmcomConfirmUnlock(order)).toBe(true);
        const line = await store.addLineToCurrentOrder({
            product_tmpl_id: store.models["product.template"].get(TEMPLATE_TAX_25),
            qty: 1,
        });

        expect(line.product_id.id).toBe(6);
        expect(order.lines).toHaveLength(2);
        expect(dialogs).toEqual([]);
        expect(calls).toEqual([]);
    });

    test("the customer, the pricelist, a discount and deleting the order ask too", async () => {
        const calls = mockCrmComServer({});
        const store = await setupCrmComEnv();
        const order = await spentOrder(store, 5);
        const notifications = captureNotifications(store);
        const dialogs = captureDialogs(store, (dialog) => dialog.cancel());
        const other = store.models["res.partner"].get(CRMCOM_OTHER_PARTNER_ID);
        const pricelist = order.pricelist_id;
        const line = order.getCrmComBasketLines()[0];

        expect((await store.selectPartner(order)).id).toBe(CRMCOM_PARTNER_ID);
        const otherPricelist = store.models["product.pricelist"].find(
            (record) => record.id !== pricelist?.id
        );
        expect(otherPricelist).not.toBe(undefined);
        await store.selectPricelist(otherPricelist);
        await store.setDiscountFromUI(line, 50);
        expect(await store.onDeleteOrder(order)).toBe(false);

        expect(dialogs.map((dialog) => dialog.title)).toEqual([
            "Cancel the wallet spend?",
            "Cancel the wallet spend?",
            "Cancel the wallet spend?",
            "Cancel the wallet spend?",
        ]);
        expect(order.getPartner().id).toBe(CRMCOM_PARTNER_ID);
        expect(order.pricelist_id).toBe(pricelist);
        expect(line.getDiscount()).toBe(0);
        expect(store.models["pos.order"].get(order.id)).toBe(order);
        expect(discountSum(order)).toBe(-5);

        // Any other way of changing the customer is refused outright.
        store.setPartnerToCurrentOrder(other);
        expect(order.getPartner().id).toBe(CRMCOM_PARTNER_ID);
        expect(notifications).toEqual([
            {
                message: "Cancel the wallet spend before changing the customer.",
                type: "warning",
                title: undefined,
            },
        ]);
        expect(calls).toEqual([]);
    });

    test("a product chosen while the wallet was being spent is not added", async () => {
        mockCrmComServer({});
        const store = await setupCrmComEnv();
        const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
        const dialogs = captureDialogs(store);
        // The spend lands while the product is being configured (addLineToOrder awaits).
        const addLineToOrder = store.addLineToOrder;
        patchWithCleanup(store, {
            async addLineToOrder(...args) {
                const line = await addLineToOrder.call(this, ...args);
                if (!order.hasCrmComSpend()) {
                    order.applyCrmComDiscount(3);
                }
                return line;
            },
        });

        const added = await store.addLineToCurrentOrder({
            product_tmpl_id: store.models["product.template"].get(TEMPLATE_TAX_25),
            qty: 1,
        });

        expect(added).toBe(undefined);
        expect(dialogs.map((dialog) => dialog.title)).toEqual(["Product not added"]);
        expect(order.getCrmComBasketLines().map((line) => line.product_id.id)).toEqual([5]);
        expect(discountSum(order)).toBe(-3);
    });
});

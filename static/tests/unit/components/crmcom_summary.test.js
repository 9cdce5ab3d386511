import { advanceTime, animationFrame, expect, freezeTime, queryOne, test, tick } from "@odoo/hoot";
import { mountWithCleanup } from "@web/../tests/web_test_helpers";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import { CrmComSummary } from "@pos_crmcom_rewards/app/components/crmcom_summary/crmcom_summary";
import { CRMCOM_PREVIEW_DELAY_MS } from "@pos_crmcom_rewards/app/services/pos_store";
import { PLAIN_PARTNER_ID } from "@pos_crmcom_rewards/../tests/unit/data/res_partner.data";
import {
    TEMPLATE_TAX_15,
    makeCrmComOrder,
    mockCrmComServer,
    previewReply,
    setupCrmComEnv,
} from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

// The preview is served by the mock server (see mockCrmComServer in ../utils.js).

const text = (selector) => queryOne(selector).textContent.replace(/\s+/g, " ").trim();
const fmt = (store, amount) => store.env.utils.formatCurrency(amount).replace(/\s+/g, " ");

async function waitForPreview() {
    await advanceTime(CRMCOM_PREVIEW_DELAY_MS);
    await tick();
    await animationFrame();
}

test("shows the preview of the basket as it is, and figures not up to date as such", async () => {
    let award = 1.15;
    const calls = mockCrmComServer({
        preview: () => previewReply({ award, spendable: 9, balance: 42 }),
    });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
    freezeTime();

    const summary = await mountWithCleanup(CrmComSummary, { props: { order } });
    expect(".o_crmcom_summary_name").toHaveText("Maria Rewards");
    expect(".o_crmcom_summary_number").toHaveText("P-000123");
    // Before the answer: the wallet the till knows, no figures for this basket yet.
    expect(calls).toEqual([]);
    expect(summary.isCurrent).toBe(false);
    expect(text(".o_crmcom_balance .value")).toBe(fmt(store, 50));

    await waitForPreview();
    expect(calls).toHaveLength(1);
    expect(".o_crmcom_summary").toHaveAttribute("data-status", "ok");
    expect(summary.isCurrent).toBe(true);
    expect(text(".o_crmcom_balance .value")).toBe(fmt(store, 42));
    expect(text(".o_crmcom_award .value")).toBe(`+${fmt(store, 1.15)}`);
    expect(text(".o_crmcom_spendable .value")).toBe(fmt(store, 9));
    expect(".o_crmcom_stale").toHaveCount(0);
    expect(".o_crmcom_spend_button").toBeEnabled();

    // The basket changes: the figures shown are those of the old basket until the answer.
    award = 2.3;
    order.lines[0].setQuantity(2);
    await animationFrame(); // rendered with the new basket, the effect schedules a preview
    await animationFrame(); // rendered as pending
    expect(".o_crmcom_summary").toHaveAttribute("data-status", "pending");
    expect(summary.isCurrent).toBe(false);
    expect(".o_crmcom_award .value").toHaveClass("o_crmcom_stale");
    expect(text(".o_crmcom_award .value")).toBe(`+${fmt(store, 1.15)}`);
    expect(text(".o_crmcom_summary_status")).toBe("updating…");

    await waitForPreview();
    expect(calls).toHaveLength(2);
    expect(calls[1].params.order.lines[0].qty).toBe(2);
    expect(".o_crmcom_stale").toHaveCount(0);
    expect(text(".o_crmcom_award .value")).toBe(`+${fmt(store, 2.3)}`);
});

test("outage: shown, spending off, and the preview asked again once CRM.COM is back", async () => {
    let reply = { ok: false, error: "unreachable", message: "CRM.COM did not answer." };
    const calls = mockCrmComServer({ preview: () => reply });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
    freezeTime();

    await mountWithCleanup(CrmComSummary, { props: { order } });
    await waitForPreview();

    expect(store.crmcomIsDown).toBe(true);
    expect(text(".o_crmcom_summary_status")).toBe("CRM.COM unavailable");
    expect(text(".o_crmcom_summary_message")).toBe("CRM.COM did not answer.");
    expect(".o_crmcom_spend_button").not.toBeEnabled();

    // CRM.COM answers again (any ok answer): the preview is asked for at once.
    reply = previewReply({ award: 3 });
    await store.crmcomCall("preview", { order: order.getCrmComPayload() });
    await animationFrame();
    await waitForPreview();
    expect(store.crmcomIsDown).toBe(false);
    expect(calls).toHaveLength(3);
    expect(".o_crmcom_summary").toHaveAttribute("data-status", "ok");
    expect(text(".o_crmcom_award .value")).toBe(`+${fmt(store, 3)}`);
    expect(".o_crmcom_spend_button").toBeEnabled();
});

test("after a spend: what was spent, and no second spend", async () => {
    mockCrmComServer({ preview: () => previewReply() });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
    order.applyCrmComDiscount(4);
    order.uiState.crmcomSpend = { ok: true, spent: 4, balance_after: 46 };

    await mountWithCleanup(CrmComSummary, { props: { order } });

    expect(text(".o_crmcom_spendable .small")).toBe("Spent");
    expect(text(".o_crmcom_spendable .value")).toBe(`-${fmt(store, 4)}`);
    expect(".o_crmcom_spendable .value").toHaveClass("text-danger");
    expect(text(".o_crmcom_balance .value")).toBe(fmt(store, 46));
    expect(".o_crmcom_spend_button").not.toBeEnabled();
});

test("nothing is shown for a customer CRM.COM does not know", async () => {
    const calls = mockCrmComServer({ preview: () => previewReply() });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]], {
        partnerId: PLAIN_PARTNER_ID,
    });
    freezeTime();

    await mountWithCleanup(CrmComSummary, { props: { order } });
    await waitForPreview();

    expect(".o_crmcom_summary").toHaveCount(0);
    expect(calls).toEqual([]);
});

test("a blocked wallet: said where the spendable amount is, Spend wallet off with why", async () => {
    mockCrmComServer({
        preview: () => previewReply({ spendable: 0, allow_spending: false, spend_blocked: true }),
    });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
    freezeTime();

    await mountWithCleanup(CrmComSummary, { props: { order } });
    await waitForPreview();

    expect(text(".o_crmcom_spendable .value")).toBe("blocked");
    expect(".o_crmcom_spend_button").not.toBeEnabled();
    expect(".o_crmcom_spend_button").toHaveAttribute("title", "Spending is blocked on this wallet.");
});

test("says when what can be spent counts this sale's own award", async () => {
    mockCrmComServer({
        preview: () => previewReply({ spendable: 21.5, balance: 20, includes_award: true }),
    });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 30]]);
    freezeTime();

    await mountWithCleanup(CrmComSummary, { props: { order } });
    await waitForPreview();

    expect(text(".o_crmcom_spendable .value")).toBe(fmt(store, 21.5));
    expect(".o_crmcom_includes_award").toHaveText("incl. this sale's award");
    expect(".o_crmcom_spend_button").toBeEnabled();
});

test("the wallet is marked as last known while CRM.COM cannot say", async () => {
    mockCrmComServer({ preview: () => previewReply({ balance: 42 }) });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
    freezeTime();

    await mountWithCleanup(CrmComSummary, { props: { order } });
    await waitForPreview();
    expect(".o_crmcom_last_known").toHaveCount(0);

    store._crmcomSetOutage("CRM.COM is down.");
    await animationFrame();
    expect(".o_crmcom_balance .small").toHaveText("Wallet (last known)");
    store._crmcomClearOutage();
});

test("a wallet in another currency: its balance and what it earns in its currency", async () => {
    mockCrmComServer({ preview: () => previewReply({ balance: 42, award: 1.15, spendable: 0 }) });
    const store = await setupCrmComEnv();
    const order = await makeCrmComOrder(store, [[TEMPLATE_TAX_15, 10]]);
    const other = store.currency.name === "EUR" ? "GBP" : "EUR";
    order.getPartner().crmcom_wallet_currency = other;
    freezeTime();

    await mountWithCleanup(CrmComSummary, { props: { order } });
    await waitForPreview();

    expect(text(".o_crmcom_balance .value")).toBe(`${other} 42.00`);
    // The award goes to the wallet: it is wallet money, not the till's.
    expect(text(".o_crmcom_award .value")).toBe(`+${other} 1.15`);
    expect(".o_crmcom_spend_button").not.toBeEnabled();
});

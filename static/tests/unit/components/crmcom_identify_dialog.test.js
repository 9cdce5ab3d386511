// The identify dialog (components/popups/crmcom_identify_dialog).
import { Deferred, animationFrame, expect, test } from "@odoo/hoot";
import { contains, mountWithCleanup } from "@web/../tests/web_test_helpers";
import { definePosModels } from "@point_of_sale/../tests/unit/data/generate_model_definitions";
import { CrmComIdentifyDialog } from "@pos_crmcom_rewards/app/components/popups/crmcom_identify_dialog/crmcom_identify_dialog";
import { mockCrmComServer, setupCrmComEnv } from "@pos_crmcom_rewards/../tests/unit/utils";

definePosModels();

async function openDialog(store) {
    store.config.crmcom_identification_choices = [
        { key: "card", label: "Card", placeholder: "Card number" },
    ];
    return await mountWithCleanup(CrmComIdentifyDialog, {
        props: { getPayload: () => {}, close: () => {} },
    });
}

test("while CRM.COM is asked, the cashier is told and may go on without rewards", async () => {
    const reply = new Deferred();
    mockCrmComServer({ identify: () => reply });
    const store = await setupCrmComEnv();
    await openDialog(store);

    await contains(".o_crmcom_query").edit("4000123412341234", { confirm: false });
    await contains(".o_crmcom_search").click();
    await animationFrame();
    expect(".o_crmcom_waiting").toHaveText(
        "Waiting for CRM.COM… Discard to go on without CRM.COM Rewards."
    );
    reply.resolve({ ok: false, error: "not_found", message: "Nobody.", title: "Not found" });
    await animationFrame();
    expect(".o_crmcom_waiting").toHaveCount(0);
    expect(".o_crmcom_identify_error").toHaveText("Not found\nNobody.");
});

test("an outage is said once, by the banner, not again as the search's error", async () => {
    mockCrmComServer({
        identify: () => ({ ok: false, error: "unreachable", message: "CRM.COM is down." }),
    });
    const store = await setupCrmComEnv();
    await openDialog(store);

    await contains(".o_crmcom_query").edit("4000123412341234", { confirm: false });
    await contains(".o_crmcom_search").click();
    await animationFrame();

    expect(store.crmcomIsDown).toBe(true);
    expect(".o_crmcom_outage").toHaveText("CRM.COM unavailable\nCRM.COM is down.");
    expect(".o_crmcom_identify_error").toHaveCount(0);
    store._crmcomClearOutage();
});

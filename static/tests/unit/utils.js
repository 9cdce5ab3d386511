import { onRpc, patchWithCleanup } from "@web/../tests/web_test_helpers";
import { setupPosEnv } from "@point_of_sale/../tests/unit/utils";
import { CRMCOM_PARTNER_ID } from "./data/res_partner.data";

/** Product templates of point_of_sale's hoot data, by their taxes. */
export const TEMPLATE_TAX_15 = 5; // account.tax 1: 15 %, excluded
export const TEMPLATE_TAX_25 = 6; // account.tax 2: 25 %, excluded
export const TEMPLATE_TAX_15_25 = 16; // account.tax 1 and 2
export const TEMPLATE_NO_TAX = 1;

/** The POS store of the hoot till (CRM.COM Rewards enabled, see data/pos_config.data.js). */
export async function setupCrmComEnv() {
    return await setupPosEnv();
}

/** Add a line of `templateId` at `price_unit` (taxes excluded) to `order`. */
export async function addLine(store, order, templateId, { qty = 1, price_unit = 10 } = {}) {
    return await store.addLineToOrder(
        {
            product_tmpl_id: store.models["product.template"].get(templateId),
            qty,
            price_unit,
        },
        order
    );
}

/**
 * A new order of the CRM.COM participant with the given lines
 * (`[templateId, price_unit, qty?]`).
 */
export async function makeCrmComOrder(store, lines, { partnerId = CRMCOM_PARTNER_ID } = {}) {
    const order = store.addNewOrder();
    if (partnerId) {
        order.setPartner(store.models["res.partner"].get(partnerId));
    }
    for (const [templateId, price_unit, qty = 1] of lines) {
        await addLine(store, order, templateId, { price_unit, qty });
    }
    return order;
}

/**
 * The till operations of the add-on (routes `/pos_crmcom_rewards/<operation>` of
 * controllers/main.py, called by `this.pos.crmcomCall` through `rpc`) are served by the mock
 * server with `handlers[operation](params)`, as pos_loyalty's unit tests mock their server
 * calls with `onRpc`: what they do with CRM.COM is the Python tests' business. Each call is
 * recorded in the returned list as `{ operation, params }`. A handler may return a promise
 * (e.g. a Deferred) to control when the answer arrives.
 */
export const CRMCOM_OPERATIONS = [
    "identify",
    "preview",
    "spend",
    "cancel_spend",
    "award",
    "refund_share",
];

export function mockCrmComServer(handlers = {}) {
    const calls = [];
    for (const operation of CRMCOM_OPERATIONS) {
        onRpc(`/pos_crmcom_rewards/${operation}`, async (request) => {
            const { params } = await request.json();
            calls.push({ operation, params });
            const handler = handlers[operation];
            if (!handler) {
                throw new Error(`unexpected call to /pos_crmcom_rewards/${operation}`);
            }
            return await handler(params);
        });
    }
    return calls;
}

/** From now on the till cannot reach the server for `operation` (the request fails). */
export function cutNetwork(operation) {
    onRpc(
        `/pos_crmcom_rewards/${operation}`,
        () => {
            throw new Error("the network is down");
        },
        { pure: true }
    );
}

/** A reply of the preview route (`pos.config._crmcom_preview` on the server). */
export function previewReply(values = {}) {
    return {
        ok: true,
        award: 1.5,
        spendable: 20,
        min_spend: 0,
        max_spend: null,
        balance: 50,
        allow_spending: true,
        ...values,
    };
}

/** The receipt's figures of a sale CRM.COM confirmed (`pos.order.crmcom_receipt`), with
 * `values` changed. */
export function receiptOfSale(values = {}) {
    return {
        confirmed: true,
        cancelled: false,
        awarded: 0,
        spent: 0,
        balance_after: null,
        ...values,
    };
}

/** Hold on `order` the preview `values` (see previewReply) as current for its basket, as
 * the store leaves it once CRM.COM answered. */
export function holdCurrentPreview(order, values = {}) {
    const key = order.getCrmComBasketKey();
    order.uiState.crmcomPreview = {
        key,
        status: "ok",
        data: previewReply(values),
        dataKey: key,
        message: "",
    };
}

/**
 * Dialogs opened by the store are recorded instead of shown; `respond(entry)` may answer
 * them: `entry.confirm()` / `entry.cancel()` for `ask`, `entry.payload(value)` for
 * `makeAwaitable` (e.g. the NumberPopup of the spend), `entry.close()` otherwise.
 */
export function captureDialogs(store, respond = () => {}) {
    const dialogs = [];
    patchWithCleanup(store.dialog, {
        add(component, props = {}, options = {}) {
            const entry = {
                component,
                props,
                title: props.title && String(props.title),
                body: props.body && String(props.body),
                confirm: () => props.confirm?.(),
                cancel: () => props.cancel?.(),
                payload: (value) => props.getPayload?.(value),
                close: () => options.onClose?.(),
            };
            dialogs.push(entry);
            respond(entry);
            return () => {};
        },
    });
    return dialogs;
}

/** Notifications of the store, recorded as `{ message, type, title }`. */
export function captureNotifications(store) {
    const notifications = [];
    patchWithCleanup(store.notification, {
        add(message, options = {}) {
            notifications.push({
                message: String(message),
                type: options.type,
                title: options.title && String(options.title),
            });
            return () => {};
        },
    });
    return notifications;
}

/** The sum of the wallet discount lines of `order`, taxes included, in the order's sign. */
export function discountSum(order) {
    const sum = order.getCrmComDiscountLines().reduce((total, line) => total + line.priceIncl, 0);
    return Math.round(sum * 100) / 100;
}

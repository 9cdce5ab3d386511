/* Tour steps for the CRM.COM Rewards cashier flow. */
import * as Chrome from "@point_of_sale/../tests/pos/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/generic_helpers/dialog_util";
import * as Numpad from "@point_of_sale/../tests/generic_helpers/numpad_util";
import * as ProductScreen from "@point_of_sale/../tests/pos/tours/utils/product_screen_util";

const dialog = ".modal:not(.o_inactive_modal)";

/** Open the till and look a customer up by card (the identify dialog stays open). */
export function startAndIdentify(card) {
    return [
        Chrome.startPoS(),
        Dialog.confirm("Open Register"),
        ProductScreen.isShown(),
        clickRewards(),
        identify("card", card),
    ].flat();
}
export function clickRewards() {
    return {
        content: "open the CRM.COM Rewards dialog",
        trigger: ".product-screen .o_crmcom_rewards_button",
        run: "click",
    };
}
export function identify(method, query) {
    return [
        {
            content: `identify by ${method}`,
            trigger: `${dialog} .o_crmcom_identification_method[data-method="${method}"]`,
            run: "click",
        },
        {
            content: `type '${query}'`,
            trigger: `${dialog} input.o_crmcom_query`,
            run: `edit ${query}`,
        },
        {
            content: "search",
            trigger: `${dialog} .o_crmcom_search:enabled`,
            run: "click",
        },
    ];
}
export function resultIs(name, number, balance) {
    return [
        {
            content: `found ${name}`,
            trigger: `${dialog} .o_crmcom_identify_result .o_crmcom_result_name:contains("${name}")`,
        },
        {
            content: `participant ${number}`,
            trigger: `${dialog} .o_crmcom_result_number:contains("${number}")`,
        },
        {
            content: `wallet ${balance}`,
            trigger: `${dialog} .o_crmcom_result_balance:contains("${balance}")`,
        },
    ];
}
export function confirmCustomer() {
    return {
        content: "set as customer",
        trigger: `${dialog} .o_crmcom_confirm:enabled`,
        run: "click",
    };
}
export function errorIs(title, message = "") {
    return {
        content: `error '${title}' shown`,
        trigger: `${dialog} .o_crmcom_identify_error:contains("${title}")${
            message ? `:contains("${message}")` : ""
        }`,
    };
}
export function discardDialog() {
    return {
        content: "discard the dialog",
        trigger: `${dialog} .modal-footer button:contains("Discard")`,
        run: "click",
    };
}
export function previewIs({ name, balance, award, spendable }) {
    const base = ".product-screen .o_crmcom_summary[data-status='ok']";
    const steps = [];
    if (name) {
        steps.push({
            content: `preview for ${name}`,
            trigger: `${base} .o_crmcom_summary_name:contains("${name}")`,
        });
    }
    if (balance) {
        steps.push({
            content: `wallet ${balance}`,
            trigger: `${base} .o_crmcom_balance .value:not(.o_crmcom_stale):contains("${balance}")`,
        });
    }
    if (award) {
        steps.push({
            content: `earns ${award}`,
            trigger: `${base} .o_crmcom_award .value:not(.o_crmcom_stale):contains("${award}")`,
        });
    }
    if (spendable) {
        steps.push({
            content: `can spend ${spendable}`,
            trigger: `${base} .o_crmcom_spendable .value:not(.o_crmcom_stale):contains("${spendable}")`,
        });
    }
    return steps;
}
export function previewIsStale(award) {
    return [
        {
            content: `the award ${award} is shown as not up to date`,
            trigger: `.product-screen .o_crmcom_summary .o_crmcom_award .value.o_crmcom_stale:contains("${award}")`,
        },
        {
            content: "the summary says it is updating",
            trigger: ".product-screen .o_crmcom_summary .o_crmcom_summary_status:contains('updating')",
        },
    ];
}
export function spentIs(amount) {
    return {
        content: `spent ${amount} shown`,
        trigger: `.product-screen .o_crmcom_summary .o_crmcom_spendable .value:contains("-"):contains("${amount}")`,
    };
}
export function clickSpend() {
    return {
        content: "spend the wallet",
        trigger: ".product-screen .o_crmcom_spend_button",
        run: "click",
    };
}
export function amountPopupIs(value) {
    return {
        content: `the amount to spend is '${value}'`,
        trigger: `${dialog} .popup-input .input-value:contains("${value}")`,
    };
}
export function typeAmount(keys) {
    return keys.split("").map((key) => ({
        ...Numpad.click(key === "<" ? "⌫" : key),
        trigger: `${dialog} ${Numpad.buttonTriger(key === "<" ? "⌫" : key)}`,
    }));
}
export function amountRefused(message) {
    return [
        {
            content: `refused: ${message}`,
            trigger: `${dialog}:contains("${message}")`,
        },
        {
            content: "spend button disabled",
            trigger: `${dialog} .modal-footer button.btn-primary:disabled`,
        },
    ];
}
export function confirmAmount() {
    return {
        content: "spend",
        trigger: `${dialog} .modal-footer button.btn-primary:enabled:contains("Spend")`,
        run: "click",
    };
}
export function discountLinesTotal(amount, count) {
    return {
        content: `wallet discount lines: ${count}, total -${amount}`,
        trigger: ".product-screen",
        run() {
            /* global posmodel */
            const order = posmodel.getOrder();
            const lines = order.getCrmComDiscountLines();
            const total = lines.reduce((sum, line) => sum + line.priceIncl, 0);
            if (lines.length !== count) {
                throw new Error(`expected ${count} wallet discount lines, got ${lines.length}`);
            }
            if (Math.abs(total + amount) > 0.001) {
                throw new Error(`wallet discount lines add up to ${total}, expected -${amount}`);
            }
        },
    };
}
/** The refund being paid gives back `amount` to the wallet (lines of the spend product). */
export function refundWalletLinesTotal(amount) {
    return {
        content: `the refund's wallet lines give back ${amount}`,
        trigger: ".payment-screen",
        run() {
            const order = posmodel.getOrder();
            const total = order
                .getCrmComDiscountLines()
                .reduce((sum, line) => sum + line.priceIncl, 0);
            // Odoo reads a refund's lines in the refund's sign: what goes back is negative.
            if (!order.is_refund || Math.abs(total + amount) > 0.001) {
                throw new Error(`the refund's wallet lines add up to ${total}, expected -${amount}`);
            }
        },
    };
}
export function receiptHas(selector, text) {
    return {
        content: `receipt ${selector} shows '${text}'`,
        trigger: `.receipt-screen .o_crmcom_receipt ${selector}:contains("${text}")`,
    };
}

export function receiptLacks(selector, text) {
    return {
        content: `receipt ${selector} does not show '${text}'`,
        trigger: `.receipt-screen .o_crmcom_receipt ${selector}:not(:contains("${text}"))`,
    };
}

/** The customer's spending is blocked: said where the spendable amount is, button off. */
export function spendIsBlocked() {
    return [
        {
            content: "the summary says spending is blocked",
            trigger: ".product-screen .o_crmcom_spendable .o_crmcom_spend_blocked",
        },
        {
            content: "Spend wallet is off, and says why",
            trigger:
                ".product-screen .o_crmcom_spend_button:disabled[title='Spending is blocked on this wallet.']",
        },
    ];
}

export function spendableIncludesAward() {
    return {
        content: "what can be spent counts this sale's award, and says so",
        trigger: ".product-screen .o_crmcom_spendable .o_crmcom_includes_award",
    };
}

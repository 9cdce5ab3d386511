import { CustomerDisplayPosAdapter } from "@point_of_sale/app/customer_display/customer_display_adapter";
import { PosStore } from "@point_of_sale/app/services/pos_store";
import { patch } from "@web/core/utils/patch";
// Our store patch first: the outage methods patched below are its own.
import "@pos_crmcom_rewards/app/services/pos_store";

/**
 * What the customer display shows of CRM.COM Rewards.
 *
 * The display may be a second browser on another machine, reached by anyone who has its
 * address: the till sends it its figures (a BroadcastChannel, and a bus notification through
 * the server) and the display only shows them. So the till sends the customer's first name
 * and the wallet figures of this order, formatted, and nothing else about them: no
 * participant number, card, phone, e-mail, full name, or anything CRM.COM said.
 */

/** The till's store: the wallet rules (currency, outage) are its own, not the order's. */
let tillStore = null;

const isKnown = (amount) => amount !== null && amount !== undefined && Number.isFinite(amount);

/** A person's first name (the first word of their name); nothing for a company, nor for
 * a contact CRM.COM gave no name (it is then named after its participant number). */
function crmcomFirstName(partner) {
    const name = (partner?.name || "").trim();
    if (!partner || partner.is_company || name === partner.crmcom_participant_number) {
        return "";
    }
    return name.split(/\s+/)[0] || "";
}

patch(CustomerDisplayPosAdapter.prototype, {
    formatOrderData(order) {
        super.formatOrderData(...arguments);
        // Always sent, null included: the display merges what it receives into what it
        // shows, so a key left out would keep the previous customer's figures.
        this.data.crmcom = this.getCrmComData(order);
    },

    /**
     * The CRM.COM figures of `order` as its customer may see them, or null. Every order
     * field read here is reactive: the till's effect that sends the basket to the display
     * sends again when the customer, the preview, the spend or the receipt's figures change.
     */
    getCrmComData(order) {
        const store = tillStore;
        if (!order || !store?.crmcomEnabled) {
            return null;
        }
        const participant = order.getCrmComParticipant();
        if (!participant) {
            return null;
        }
        const wallet = (amount) => store.crmcomFormatWallet(amount, participant);
        const money = (amount) => store.env.utils.formatCurrency(amount);
        const preview = order.uiState?.crmcomPreview;
        const receipt = order.getCrmComReceiptData() || {};
        const data = {
            firstName: crmcomFirstName(participant),
            balance: null,
            balanceLastKnown: false,
            earns: null,
            earnsState: null,
            spent: null,
            newBalance: null,
        };
        if (!order.finalized) {
            // The wallet before this order: the preview's, which a spend on this order does
            // not change (the till restores it from there when the spend is cancelled).
            let balance = preview?.data?.balance;
            if (!isKnown(balance) && !receipt.posted) {
                balance = participant.crmcom_balance;
            }
            if (isKnown(balance)) {
                data.balance = wallet(balance);
                // As the cashier's summary says it: CRM.COM could not tell us now.
                data.balanceLastKnown =
                    !receipt.posted && (store.crmcomIsDown || preview?.status === "error");
            }
        }
        if (receipt.refund) {
            return data; // what a refund gives back is the receipt's business
        }
        if (receipt.posted) {
            data.earns = wallet(receipt.awarded);
            data.earnsState = "confirmed";
        } else if (!receipt.cancelled && isKnown(receipt.expected)) {
            data.earns = wallet(receipt.expected);
            data.earnsState = order.finalized ? "expected" : "preview";
        } else if (
            !order.finalized &&
            !store.crmcomIsDown &&
            ["loading", "pending"].includes(preview?.status) &&
            order.getCrmComBasketLines().length
        ) {
            data.earnsState = "updating";
        }
        if (receipt.spent > 0) {
            data.spent = money(receipt.spent);
        }
        if (order.finalized && receipt.balanceKnown) {
            data.newBalance = wallet(receipt.balance);
        }
        return data;
    },
});

patch(PosStore.prototype, {
    async setup() {
        tillStore = this;
        return await super.setup(...arguments);
    },
    // The outage is the store's, which the till's display effect does not follow: the
    // display is told when it starts and ends, so that the wallet is marked as last known.
    _crmcomSetOutage() {
        const wasDown = this.crmcomIsDown;
        super._crmcomSetOutage(...arguments);
        if (!wasDown) {
            this.crmcomUpdateCustomerDisplay();
        }
    },
    _crmcomClearOutage() {
        const wasDown = this.crmcomIsDown;
        super._crmcomClearOutage(...arguments);
        if (wasDown) {
            this.crmcomUpdateCustomerDisplay();
        }
    },
    /** Send the current order to the customer display again (as the till's Chrome does,
     * without the scale's figures, which the display then keeps). */
    crmcomUpdateCustomerDisplay() {
        const order = this.getOrder?.();
        if (!order?.getCrmComParticipant()) {
            return;
        }
        const adapter = new CustomerDisplayPosAdapter();
        adapter.formatOrderData(order);
        adapter.dispatch(this);
    },
});

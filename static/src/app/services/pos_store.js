import { PosStore } from "@point_of_sale/app/services/pos_store";
import { NumberPopup } from "@point_of_sale/app/components/popups/number_popup/number_popup";
import { ask, makeAwaitable } from "@point_of_sale/app/utils/make_awaitable_dialog";
import { AlertDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { ConnectionLostError, rpc } from "@web/core/network/rpc";
import { Deferred } from "@web/core/utils/concurrency";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { localization } from "@web/core/l10n/localization";
import { parseFloat } from "@web/views/fields/parsers";
import { crmcomOtherCurrency, formatCrmComWallet } from "@pos_crmcom_rewards/app/utils/crmcom_wallet";

/** How long identification and spending stay off after CRM.COM could not be reached. */
export const CRMCOM_OUTAGE_MS = 60 * 1000;
/** Odoo's own time on top of the receipt wait, before the till stops waiting for the award. */
export const CRMCOM_AWARD_MARGIN_S = 2;
/** Quiet time after the last basket change before the preview is asked for. */
export const CRMCOM_PREVIEW_DELAY_MS = 400;
/** How long a spend may take before the till offers to go on without it. */
export const CRMCOM_SPEND_PATIENCE_MS = 1000;

const previewTimers = new Map();
/** Whether the server sent a figure (it sends null for what CRM.COM did not say). */
const isKnown = (amount) => amount !== null && amount !== undefined;

/** The receipt's figures of the sale once CRM.COM confirmed its purchase (`result`: the
 * spend or award route's reply), as the server keeps them (`pos.order.crmcom_receipt`). */
function confirmedReceipt(result, spent) {
    return {
        confirmed: true,
        cancelled: false,
        awarded: result.awarded || 0,
        spent,
        balance_after: isKnown(result.balance_after) ? result.balance_after : null,
        wallet_currency: result.wallet_currency || null,
    };
}
let previewSequence = 0;

patch(PosStore.prototype, {
    async setup() {
        this.crmcomOutage = { until: 0, message: "" };
        this._crmcomOutageTimer = null;
        await super.setup(...arguments);
    },

    // ------------------------------------------------------------------ state

    get crmcomEnabled() {
        return Boolean(this.config?.crmcom_enabled);
    },
    /** The identification methods this till offers, in the order the dialog shows them
     * (`pos.config.crmcom_identification_choices`, as the server defines them). */
    getCrmComIdentificationMethods() {
        return this.config.crmcom_identification_choices || [];
    },
    /** True while CRM.COM is considered down (identification and spending are off). */
    get crmcomIsDown() {
        return this.crmcomOutage.until > 0;
    },
    _crmcomSetOutage(message) {
        this.crmcomOutage.until = Date.now() + CRMCOM_OUTAGE_MS;
        this.crmcomOutage.message = message;
        clearTimeout(this._crmcomOutageTimer);
        this._crmcomOutageTimer = setTimeout(() => this._crmcomClearOutage(), CRMCOM_OUTAGE_MS);
    },
    _crmcomClearOutage() {
        clearTimeout(this._crmcomOutageTimer);
        this._crmcomOutageTimer = null;
        this.crmcomOutage.until = 0;
        this.crmcomOutage.message = "";
    },
    _crmcomOutageResult() {
        return {
            ok: false,
            error: "unreachable",
            message:
                this.crmcomOutage.message ||
                _t("CRM.COM cannot be reached right now. Finish the sale without rewards."),
        };
    },

    // ------------------------------------------------------------------ server calls

    /**
     * Call a till operation of CRM.COM Rewards: a route of the add-on's controller
     * (`/pos_crmcom_rewards/<operation>`) with `params` by name. Never throws: every failure
     * is a `{ok: false, error, message}` the cashier can be shown.
     */
    async crmcomCall(operation, params = {}) {
        let result;
        try {
            result = await rpc(`/pos_crmcom_rewards/${operation}`, {
                config_id: this.config.id,
                ...params,
            });
        } catch (error) {
            if (error instanceof ConnectionLostError) {
                return {
                    ok: false,
                    error: "offline",
                    message: _t(
                        "The till is offline: CRM.COM Rewards are not available until it is back online."
                    ),
                };
            }
            return {
                ok: false,
                error: "server",
                message: error?.data?.message || error?.message || String(error),
            };
        }
        if (!result || typeof result !== "object") {
            return { ok: false, error: "server", message: _t("Unexpected reply from the server.") };
        }
        if (result.ok) {
            if (this.crmcomIsDown) {
                this._crmcomClearOutage();
            }
        } else if (result.error === "unreachable") {
            this._crmcomSetOutage(result.message);
        }
        return result;
    },
    /** The server titles its refusals; these are the till's own (before the server). */
    crmcomErrorTitle(result) {
        return (
            result?.title ||
            { offline: _t("Offline"), unreachable: _t("CRM.COM unavailable") }[result?.error] ||
            _t("CRM.COM Rewards")
        );
    },
    crmcomShowError(result) {
        this.dialog.add(AlertDialog, {
            title: this.crmcomErrorTitle(result),
            body: result.message || _t("CRM.COM Rewards could not do that."),
        });
    },

    // ------------------------------------------------------------------ identify

    async crmcomIdentify(query, method) {
        if (this.crmcomIsDown) {
            return this._crmcomOutageResult();
        }
        query = (query || "").trim();
        if (!query) {
            return {
                ok: false,
                error: "invalid",
                message: _t("Scan or type how to find the customer."),
            };
        }
        return await this.crmcomCall("identify", { query, method });
    },
    /** Make the identified participant the customer of `order`. */
    async crmcomSetCustomer(result, order = this.getOrder()) {
        // Always read it again: it may be new, or its balance may have changed.
        await this.data.read("res.partner", [result.partner_id]);
        const partner = this.models["res.partner"].get(result.partner_id);
        if (!partner || !order) {
            return false;
        }
        if (order.getPartner()?.id !== partner.id) {
            if (!(await this.crmcomConfirmUnlock(order))) {
                return false;
            }
            this.setPartnerToCurrentOrder(partner);
        }
        order.uiState.crmcomPreview = null;
        return partner;
    },
    /** A card scanned on the product screen: identify and set the customer at once. */
    async crmcomIdentifyScannedCard(code) {
        const result = await this.crmcomIdentify(code, "card");
        if (!result.ok) {
            if (result.error === "unreachable" || result.error === "offline") {
                // Read as a card, and CRM.COM cannot say whose it is.
                this.notification.add(result.message, {
                    type: "warning",
                    title: _t("CRM.COM unavailable: cards cannot be checked"),
                });
            } else if (result.error !== "not_found") {
                this.crmcomShowError(result);
            }
            return result;
        }
        const partner = await this.crmcomSetCustomer(result);
        if (partner) {
            this.notification.add(
                _t("%(name)s (%(number)s), wallet %(balance)s", {
                    name: result.name,
                    number: result.participant_number,
                    // In the currency CRM.COM gave the wallet, as the identify dialog says it.
                    balance: this.crmcomFormatWallet(result.balance, {
                        crmcom_wallet_currency: result.currency,
                    }),
                }),
                { type: "success", title: _t("CRM.COM customer identified") }
            );
        }
        return result;
    },

    // ------------------------------------------------------------------ award

    /**
     * After payment: have CRM.COM confirm what `order` earned, so that its receipt prints
     * it. Waits the till's receipt wait at most (the server stops asking CRM.COM by then;
     * the margin is Odoo's own time); later, the outbox sends the sale as usual.
     */
    async crmcomConfirmAward(order) {
        const wait = this.config.crmcom_receipt_wait_seconds || 0;
        if (
            !this.crmcomEnabled ||
            !wait ||
            this.crmcomIsDown ||
            !order ||
            order.isRefund ||
            !order.getCrmComParticipant() ||
            order.crmcom_receipt?.confirmed
        ) {
            return false;
        }
        let timer;
        const late = new Promise((resolve) => {
            timer = setTimeout(() => resolve(null), (wait + CRMCOM_AWARD_MARGIN_S) * 1000);
        });
        const result = await Promise.race([
            this.crmcomCall("award", { order_uuid: order.uuid }),
            late,
        ]);
        clearTimeout(timer);
        if (!result?.ok || result.state !== "posted") {
            return false;
        }
        order.crmcom_receipt = confirmedReceipt(result, result.spent || 0);
        const partner = order.getCrmComParticipant();
        if (partner && isKnown(result.balance_after)) {
            partner.crmcom_balance = result.balance_after;
        }
        return true;
    },

    // ------------------------------------------------------------------ preview

    /** The preview of `order`, asked for once the basket has been quiet for a moment. */
    crmcomSchedulePreview(order) {
        // A refund earns nothing: CRM.COM reverses the sale's award for the goods returned.
        if (!order || order.finalized || order.isRefund || !this.crmcomEnabled) {
            return;
        }
        clearTimeout(previewTimers.get(order.uuid));
        const state = this._crmcomPreviewState(order);
        const key = order.getCrmComBasketKey();
        if (state.key !== key && state.data) {
            state.status = "pending"; // shown as not up to date until the reply comes
        }
        previewTimers.set(
            order.uuid,
            setTimeout(() => {
                previewTimers.delete(order.uuid);
                this.crmcomRefreshPreview(order);
            }, CRMCOM_PREVIEW_DELAY_MS)
        );
    },
    _crmcomPreviewState(order) {
        if (!order.uiState.crmcomPreview) {
            order.uiState.crmcomPreview = {
                key: null,
                status: "idle",
                data: null,
                dataKey: null,
                message: "",
            };
        }
        return order.uiState.crmcomPreview;
    },
    /** Ask CRM.COM for the preview now; resolves with the reply (also kept on the order). */
    async crmcomRefreshPreview(order) {
        const state = this._crmcomPreviewState(order);
        const key = order.getCrmComBasketKey();
        if (
            !order.getCrmComParticipant() ||
            order.isRefund || // its lines read positive, but nothing is sold
            !order.getCrmComBasketLines().length ||
            order.getCrmComBasketTotal() <= 0
        ) {
            Object.assign(state, { key, status: "idle", message: "" });
            return { ok: false, error: "invalid", message: "" };
        }
        if (this.crmcomIsDown) {
            Object.assign(state, { key, status: "error", message: this.crmcomOutage.message });
            return this._crmcomOutageResult();
        }
        const sequence = ++previewSequence;
        state.sequence = sequence;
        Object.assign(state, { key, status: "loading" });
        const result = await this.crmcomCall("preview", { order: order.getCrmComPayload() });
        if (state.sequence !== sequence) {
            return result; // a newer request is on its way
        }
        if (result.ok) {
            Object.assign(state, {
                status: order.getCrmComBasketKey() === key ? "ok" : "pending",
                data: result,
                dataKey: key,
                message: "",
            });
        } else {
            Object.assign(state, { status: "error", message: result.message });
        }
        return result;
    },
    /** The preview for the basket as it is now: the one held if current, else a new one. */
    async crmcomCurrentPreview(order) {
        const state = this._crmcomPreviewState(order);
        if (state.status === "ok" && state.data && state.dataKey === order.getCrmComBasketKey()) {
            return state.data;
        }
        clearTimeout(previewTimers.get(order.uuid));
        return await this.crmcomRefreshPreview(order);
    },

    // ------------------------------------------------------------------ spend

    /** Why `raw` cannot be spent, or "" when it can. Checked before anything is sent. */
    crmcomCheckAmount(raw, { min, max }) {
        const fmt = (amount) => this.env.utils.formatCurrency(amount);
        const text = typeof raw === "number" ? null : String(raw ?? "").trim();
        if (text === "") {
            return _t("Enter the amount to spend.");
        }
        let amount;
        try {
            amount = text === null ? raw : parseFloat(text);
        } catch {
            amount = NaN;
        }
        if (!Number.isFinite(amount)) {
            return _t("“%s” is not an amount.", raw);
        }
        // Checked as it will be sent: rounded to the currency.
        amount = this.currency.round(amount);
        if (amount <= 0) {
            return _t("The amount must be more than zero.");
        }
        if (min && amount < min - 1e-9) {
            return _t("At least %(min)s must be spent at a time.", { min: fmt(min) });
        }
        if (amount > max + 1e-9) {
            return _t("At most %(max)s can be spent on this order.", { max: fmt(max) });
        }
        return "";
    },
    /** The wallet's currency code when it is not the till's (CRM.COM's conversion is
     * unknown: such a wallet is shown in its currency and never spent here), else "". */
    crmcomOtherWalletCurrency(partner) {
        return crmcomOtherCurrency(partner?.crmcom_wallet_currency, this.currency);
    },
    /** A wallet amount as the cashier reads it: in the till's currency, or in the wallet's. */
    crmcomFormatWallet(amount, partner) {
        return formatCrmComWallet(amount, partner?.crmcom_wallet_currency, this.currency);
    },
    /** Whether CRM.COM said (at identification, or in this basket's preview) that spending
     * is blocked on the wallet of `order`'s customer. */
    crmcomSpendIsBlocked(order) {
        const participant = order?.getCrmComParticipant();
        const preview = order?.uiState.crmcomPreview;
        const current = preview?.data && preview.dataKey === order.getCrmComBasketKey();
        return Boolean(
            participant &&
                (participant.crmcom_spend_blocked || (current && preview.data.spend_blocked))
        );
    },
    crmcomSpendBlockedMessage() {
        return _t("Spending is blocked on this wallet.");
    },
    crmcomSpendInFlightMessage() {
        return _t("A spend on this order is still waiting for CRM.COM.");
    },
    /** Why *Spend wallet* is off for `order`, or "" when it is not. */
    crmcomSpendOffReason(order) {
        const participant = order?.getCrmComParticipant();
        if (!participant) {
            return "";
        }
        if (this.crmcomIsDown) {
            return this.crmcomOutage.message;
        }
        if (order.isRefund) {
            return _t("A refund gives back what the wallet paid: nothing is spent on it.");
        }
        if (this.crmcomSpendIsBlocked(order)) {
            return this.crmcomSpendBlockedMessage();
        }
        if (order.uiState.crmcomSpendInFlight) {
            return this.crmcomSpendInFlightMessage();
        }
        const code = this.crmcomOtherWalletCurrency(participant);
        if (code) {
            return _t(
                "This wallet is in %(wallet)s and the till sells in %(till)s: it cannot be spent here.",
                { wallet: code, till: this.currency.name }
            );
        }
        return "";
    },
    /** "Spend wallet": ask how much, have CRM.COM spend it, add the discount lines. */
    async crmcomSpendWallet(order = this.getOrder()) {
        if (!order || !this.crmcomEnabled) {
            return false;
        }
        if (this.crmcomIsDown) {
            this.crmcomShowError(this._crmcomOutageResult());
            return false;
        }
        const participant = order.getCrmComParticipant();
        if (!participant) {
            this.dialog.add(AlertDialog, {
                title: _t("No CRM.COM customer"),
                body: _t("Identify the CRM.COM Rewards customer first (Rewards button)."),
            });
            return false;
        }
        if (order.isRefund) {
            this.dialog.add(AlertDialog, {
                title: _t("Nothing to spend on a refund"),
                body: this.crmcomSpendOffReason(order),
            });
            return false;
        }
        if (order.uiState.crmcomSpendInFlight) {
            this.dialog.add(AlertDialog, {
                title: _t("Waiting for CRM.COM"),
                body: this.crmcomSpendInFlightMessage(),
            });
            return false;
        }
        if (order.hasCrmComSpend()) {
            this.dialog.add(AlertDialog, {
                title: _t("Wallet already spent"),
                body: _t(
                    "%(amount)s of the wallet is already spent on this order. Change the order to cancel that spend first.",
                    { amount: this.env.utils.formatCurrency(order.getCrmComSpentAmount()) }
                ),
            });
            return false;
        }
        const total = order.getCrmComBasketTotal();
        if (total <= 0) {
            this.dialog.add(AlertDialog, {
                title: _t("Nothing to pay"),
                body: _t("Add products to the order before spending the wallet."),
            });
            return false;
        }
        if (this.crmcomOtherWalletCurrency(participant)) {
            this.dialog.add(AlertDialog, {
                title: _t("Wallet in another currency"),
                body: this.crmcomSpendOffReason(order),
            });
            return false;
        }
        const preview = await this.crmcomCurrentPreview(order);
        if (!preview.ok) {
            this.crmcomShowError(preview);
            return false;
        }
        if (preview.spend_blocked || this.crmcomSpendIsBlocked(order)) {
            this.dialog.add(AlertDialog, {
                title: _t("Spending blocked"),
                body: this.crmcomSpendBlockedMessage(),
            });
            return false;
        }
        // One figure, the same everywhere: shown, offered, and the most accepted.
        const spendable = Math.min(preview.spendable || 0, total);
        if (!preview.allow_spending || spendable <= 0) {
            this.dialog.add(AlertDialog, {
                title: _t("Nothing can be spent"),
                body: _t(
                    "CRM.COM allows no spending on this order (wallet balance %(balance)s).",
                    { balance: this.crmcomFormatWallet(preview.balance, participant) }
                ),
            });
            return false;
        }
        const bounds = { min: preview.min_spend || 0, max: spendable };
        const fmt = (amount) => this.env.utils.formatCurrency(amount);
        const params = {
            name: participant.name,
            balance: fmt(preview.balance || 0),
            spendable: fmt(spendable),
        };
        const raw = await makeAwaitable(this.dialog, NumberPopup, {
            title: _t("Spend from the wallet"),
            subtitle: (preview.includes_award
                ? _t(
                      "%(name)s: balance %(balance)s, up to %(spendable)s on this order (what this sale earns included)",
                      params
                  )
                : _t("%(name)s: balance %(balance)s, up to %(spendable)s on this order", params)),
            startingValue: String(this.currency.round(spendable)).replace(
                ".",
                localization.decimalPoint
            ),
            confirmButtonLabel: _t("Spend"),
            isValid: (buffer) => !this.crmcomCheckAmount(buffer, bounds),
            feedback: (buffer) => this.crmcomCheckAmount(buffer, bounds),
        });
        if (raw === undefined || raw === null) {
            return false;
        }
        const problem = this.crmcomCheckAmount(raw, bounds);
        if (problem) {
            this.dialog.add(AlertDialog, { title: _t("Amount refused"), body: problem });
            return false;
        }
        const amount = this.currency.round(typeof raw === "number" ? raw : parseFloat(raw));
        const { result, abandoned } = await this._crmcomSendSpend(order, amount);
        if (abandoned) {
            return false;
        }
        if (!result.ok) {
            this.crmcomShowError(result);
            return false;
        }
        const spent = this.currency.round(result.spent || 0);
        if (spent > 0) {
            order.applyCrmComDiscount(spent);
        }
        order.uiState.crmcomSpend = { ...result, spent };
        Object.assign(order, {
            crmcom_participant_number: participant.crmcom_participant_number,
            crmcom_participant_name: participant.name,
            crmcom_spent: spent,
            crmcom_receipt: confirmedReceipt(result, spent),
        });
        if (isKnown(result.balance_after)) {
            participant.crmcom_balance = result.balance_after;
        }
        if (spent < amount) {
            this.dialog.add(AlertDialog, {
                title: _t("Less was spent than asked"),
                body: _t(
                    "CRM.COM spent %(spent)s of the %(requested)s asked for: the discount is %(spent)s.",
                    { spent: fmt(spent), requested: fmt(amount) }
                ),
            });
        } else {
            this.notification.add(_t("%s spent from the wallet.", fmt(spent)), {
                type: "success",
            });
        }
        return true;
    },
    /**
     * Have CRM.COM spend `amount` on `order`. A slow CRM.COM gets a moment with the till
     * blocked, then the cashier is shown that the till is waiting, with a way to go on
     * without spending. Resolves `{result}` (the spend route's reply), or `{abandoned: true}`
     * when the cashier did not wait: what CRM.COM spends late is then given back.
     */
    async _crmcomSendSpend(order, amount) {
        const ui = this.env.services.ui;
        const request = this.crmcomCall("spend", { order: order.getCrmComPayload(), amount });
        order.uiState.crmcomSpendInFlight = true;
        const abandoned = new Deferred();
        let closeWaiting = null; // the waiting dialog, once the till is no longer blocked
        ui.block();
        const patience = setTimeout(() => {
            ui.unblock();
            closeWaiting = this.dialog.add(
                AlertDialog,
                {
                    title: _t("Waiting for CRM.COM"),
                    body: _t(
                        "CRM.COM has not spent %(amount)s from the wallet yet. Wait, or go on without spending: the order then keeps its full price, and whatever CRM.COM spends late goes back to the wallet.",
                        { amount: this.env.utils.formatCurrency(amount) }
                    ),
                    confirmLabel: _t("Go on without spending"),
                    confirm: () => abandoned.resolve(),
                },
                { onClose: () => abandoned.resolve() }
            );
        }, CRMCOM_SPEND_PATIENCE_MS);
        const outcome = await Promise.race([
            request.then((result) => ({ result })),
            abandoned.then(() => ({ abandoned: true })),
        ]);
        clearTimeout(patience);
        if (!closeWaiting) {
            ui.unblock();
        }
        if (outcome.abandoned) {
            request.then((result) => this._crmcomGiveBackLateSpend(order, result));
        } else {
            order.uiState.crmcomSpendInFlight = false;
            closeWaiting?.();
        }
        return outcome;
    },
    /** The reply to a spend the cashier did not wait for: if CRM.COM made it, cancel it
     * (the order never got its discount). Should that fail, or the reply leave it unknown,
     * Odoo looks it up and gives it back once the order is paid without it, or abandoned. */
    async _crmcomGiveBackLateSpend(order, result) {
        if (result.ok) {
            await this.crmcomCall("cancel_spend", { order_uuid: order.uuid });
        }
        order.uiState.crmcomSpendInFlight = false;
    },
    /**
     * The basket is locked while a wallet spend is on it. Before a change, ask the cashier to
     * cancel the spend; resolves true when the order may be changed.
     */
    async crmcomConfirmUnlock(order = this.getOrder()) {
        if (!order || !order.hasCrmComSpend()) {
            return true;
        }
        const confirmed = await ask(this.dialog, {
            title: _t("Cancel the wallet spend?"),
            body: _t(
                "%(amount)s of the CRM.COM wallet is spent on this order. Changing the order cancels that spend; spend again afterwards if the customer wishes.",
                { amount: this.env.utils.formatCurrency(order.getCrmComSpentAmount()) }
            ),
            confirmLabel: _t("Cancel the spend"),
            cancelLabel: _t("Keep the order as it is"),
        });
        if (!confirmed) {
            return false;
        }
        return await this.crmcomCancelSpend(order);
    },
    async crmcomCancelSpend(order) {
        let result;
        this.env.services.ui.block();
        try {
            result = await this.crmcomCall("cancel_spend", { order_uuid: order.uuid });
        } finally {
            this.env.services.ui.unblock();
        }
        if (!result.ok) {
            this.dialog.add(AlertDialog, {
                title: _t("The spend could not be cancelled"),
                body: _t("%s\nThe order keeps its wallet discount; try again later.", result.message),
            });
            return false;
        }
        order.removeCrmComDiscount();
        const participant = order.getCrmComParticipant();
        if (participant) {
            participant.crmcom_balance = order.uiState.crmcomPreview?.data?.balance ?? participant.crmcom_balance;
        }
        this.notification.add(_t("The wallet spend was cancelled."), { type: "info" });
        return true;
    },

    // ------------------------------------------------------------------ the lock

    async addLineToCurrentOrder(vals, opts = {}, configure = true) {
        const order = this.getOrder();
        if (!(await this.crmcomConfirmUnlock(order))) {
            return;
        }
        const quantities = new Map((order?.lines || []).map((l) => [l.uuid, l.qty]));
        const line = await super.addLineToCurrentOrder(...arguments);
        if (line && order?.hasCrmComSpend() && !order.isCrmComDiscountLine(line)) {
            // The wallet was spent while this product was being chosen (e.g. in the product
            // configurator): adding it now would change the basket CRM.COM spent on.
            if (quantities.has(line.uuid)) {
                line.setQuantity(quantities.get(line.uuid)); // it was merged into a line
            } else {
                order.removeOrderline(line);
            }
            this.dialog.add(AlertDialog, {
                title: _t("Product not added"),
                body: _t(
                    "The wallet was spent on this order meanwhile. Change the order again to cancel that spend first."
                ),
            });
            return;
        }
        return line;
    },
    async selectPartner(currentOrder = this.getOrder()) {
        if (!(await this.crmcomConfirmUnlock(currentOrder))) {
            return currentOrder?.getPartner() || false;
        }
        return await super.selectPartner(...arguments);
    },
    setPartnerToCurrentOrder(partner) {
        const order = this.getOrder();
        if (order?.hasCrmComSpend() && order.getPartner()?.id !== partner?.id) {
            // Every way of changing the customer asks first (crmcomConfirmUnlock); this is the
            // safety net for any other.
            this.notification.add(_t("Cancel the wallet spend before changing the customer."), {
                type: "warning",
            });
            return;
        }
        return super.setPartnerToCurrentOrder(...arguments);
    },
    async selectPricelist(pricelist) {
        if (!(await this.crmcomConfirmUnlock(this.getOrder()))) {
            return;
        }
        return await super.selectPricelist(...arguments);
    },
    async setDiscountFromUI(line, val) {
        if (!(await this.crmcomConfirmUnlock(line?.order_id || this.getOrder()))) {
            return;
        }
        return await super.setDiscountFromUI(...arguments);
    },
    async onDeleteOrder(order) {
        if (order?.hasCrmComSpend() && !(await this.crmcomConfirmUnlock(order))) {
            return false;
        }
        return await super.onDeleteOrder(...arguments);
    },
});

import { PosOrder } from "@point_of_sale/app/models/pos_order";
import { patch } from "@web/core/utils/patch";
import { formatCrmComWallet } from "@pos_crmcom_rewards/app/utils/crmcom_wallet";

/**
 * CRM.COM Rewards on the order.
 *
 * The wallet discount is made of lines of the till's spend product
 * (`config.crmcom_discount_product_id`); the server checks at sync that these lines add up to
 * exactly what CRM.COM spent. The presence of such lines is what "locks" the basket.
 */
patch(PosOrder.prototype, {
    isCrmComDiscountLine(line) {
        const product = this.config.crmcom_discount_product_id;
        return Boolean(product && line.product_id?.id === product.id);
    },
    getCrmComDiscountLines() {
        return this.lines.filter((line) => this.isCrmComDiscountLine(line));
    },
    /** Lines sent to CRM.COM: everything but the wallet discount, with a quantity. */
    getCrmComBasketLines() {
        return this.lines.filter((line) => !this.isCrmComDiscountLine(line) && line.getQuantity());
    },
    hasCrmComSpend() {
        return this.getCrmComDiscountLines().length > 0;
    },
    /** What the discount lines take off the order, taxes included (positive). */
    getCrmComSpentAmount() {
        return this.currency.round(
            -this.getCrmComDiscountLines().reduce((sum, line) => sum + line.priceIncl, 0)
        );
    },
    getCrmComBasketTotal() {
        return this.currency.round(
            this.getCrmComBasketLines().reduce((sum, line) => sum + line.priceIncl, 0)
        );
    },
    /** The customer, when CRM.COM knows them. */
    getCrmComParticipant() {
        const partner = this.getPartner();
        return partner?.crmcom_participant_number ? partner : false;
    },
    /** The basket as the preview and spend routes take it. */
    getCrmComPayload() {
        return {
            uuid: this.uuid,
            partner_id: this.getPartner()?.id || false,
            reference: this.pos_reference || this.name,
            lines: this.getCrmComBasketLines().map((line) => ({
                product_id: line.product_id.id,
                qty: line.getQuantity(),
                price_subtotal: line.priceExcl,
                price_subtotal_incl: line.priceIncl,
            })),
        };
    },
    /** Changes whenever what CRM.COM would be told changes. */
    getCrmComBasketKey() {
        const payload = this.getCrmComPayload();
        return JSON.stringify([payload.partner_id, payload.lines]);
    },
    /**
     * Values of the discount lines for `amount` (taxes included), split by tax group as
     * pos_loyalty splits an order discount: each group of lines with the same taxes gets a
     * share of the amount proportional to its share of the order total (taxes included), and
     * its discount line carries those taxes, so that VAT is reduced where it was charged.
     */
    _getCrmComDiscountLineValues(amount) {
        const product = this.config.crmcom_discount_product_id;
        const groups = new Map();
        for (const line of this.getCrmComBasketLines()) {
            const taxes = line.tax_ids;
            const key = taxes
                .map((tax) => tax.id)
                .sort((a, b) => a - b)
                .join(",");
            if (!groups.has(key)) {
                groups.set(key, { taxes, incl: 0, excl: 0 });
            }
            const group = groups.get(key);
            group.incl += line.priceIncl;
            group.excl += line.priceExcl;
        }
        const positive = [...groups.values()].filter((group) => group.incl > 0);
        const total = positive.reduce((sum, group) => sum + group.incl, 0);
        if (!product || total <= 0) {
            return [];
        }
        let remaining = this.currency.round(amount);
        return positive.map((group, index) => {
            const share =
                index === positive.length - 1
                    ? remaining
                    : this.currency.round((amount * group.incl) / total);
            remaining = this.currency.round(remaining - share);
            return {
                product_id: product,
                // Amounts read in the order's own sign (Odoo shows a refund's lines
                // positive): on a refund, the wallet's share of the returned goods.
                qty: this.orderSign || 1,
                // First guess of the unit price from the group's own excl./incl. ratio; the
                // exact figure is settled once the line exists (taxes, fiscal position).
                price_unit: -share * (group.excl / group.incl),
                tax_ids: group.taxes,
                _crmcomTarget: share,
            };
        });
    },
    /**
     * Add the wallet discount for `amount` (what CRM.COM spent, never what was requested).
     * The lines add up to exactly -amount, taxes included, after rounding.
     */
    applyCrmComDiscount(amount) {
        const created = [];
        for (const vals of this._getCrmComDiscountLineValues(amount)) {
            const { _crmcomTarget: target, tax_ids, ...values } = vals;
            const line = this.models["pos.order.line"].create({
                ...values,
                tax_ids: tax_ids.map((tax) => ["link", tax]),
                order_id: this,
                price_type: "manual",
            });
            line.setFullProductName?.();
            created.push([line, target]);
        }
        for (const [line, target] of created) {
            this._settleCrmComLinePrice(line, -target);
        }
        // Global rounding may still move a cent between lines: settle the last line on the total.
        if (created.length) {
            const [last] = created.at(-1);
            for (let i = 0; i < 3; i++) {
                const diff = this.currency.round(-amount - this._crmcomDiscountSum());
                if (this.currency.isZero(diff)) {
                    break;
                }
                this._settleCrmComLinePrice(last, this.currency.round(last.priceIncl + diff));
            }
            // A line with taxes cannot reach every total to the cent (its tax is rounded on its
            // rounded base: at 15 %, 3.49 gives 4.01 and 3.50 gives 4.03). What is left goes
            // on a line without taxes, so that the lines add up to what CRM.COM spent.
            const residual = this.currency.round(-amount - this._crmcomDiscountSum());
            if (!this.currency.isZero(residual)) {
                // Amounts in the order's own sign, as the lines above.
                const line = this.models["pos.order.line"].create({
                    product_id: this.config.crmcom_discount_product_id,
                    qty: this.orderSign || 1,
                    price_unit: residual,
                    tax_ids: [],
                    order_id: this,
                    price_type: "manual",
                });
                line.setFullProductName?.();
                created.push([line, -residual]);
            }
        }
        this.triggerRecomputeAllPrices?.();
        return created.map(([line]) => line);
    },
    _crmcomDiscountSum() {
        return this.getCrmComDiscountLines().reduce((sum, line) => sum + line.priceIncl, 0);
    },
    /** Adjust the unit price of `line` until its total, taxes included, is `target`. */
    _settleCrmComLinePrice(line, target) {
        for (let i = 0; i < 4; i++) {
            const current = line.priceIncl;
            if (this.currency.isZero(current - target)) {
                return;
            }
            const ratio = current ? line.price_unit / current : 1;
            // Not setUnitPrice: it rounds to the price precision, and a unit price with two
            // decimals cannot always give an exact total once taxes are added.
            line.price_unit = line.price_unit + (target - current) * (ratio || 1);
        }
    },
    removeCrmComDiscount() {
        for (const line of this.getCrmComDiscountLines()) {
            line.delete();
        }
        this.uiState.crmcomSpend = null;
        this.crmcom_spent = 0;
        this.crmcom_receipt = false;
        this.selectOrderline(this.getLastOrderline());
    },
    /** A wallet amount of this order's customer, in the wallet's currency (the receipt's
     * award and new balance: what the wallet gets, not money of the till): the currency the
     * sale's wallet had, once CRM.COM said, so that a reprint says what the sale said. */
    formatCrmComWallet(amount) {
        const code =
            this.crmcom_receipt?.wallet_currency || this.getPartner()?.crmcom_wallet_currency;
        return formatCrmComWallet(amount, code, this.currency);
    },
    /** What the receipt says about CRM.COM Rewards, or false. */
    getCrmComReceiptData() {
        const partner = this.getPartner();
        const number = this.crmcom_participant_number || partner?.crmcom_participant_number;
        if (!number) {
            return false;
        }
        const name = this.crmcom_participant_name || partner?.name || "";
        if (this.isRefund) {
            // A refund's receipt says what it gave back to the wallet; CRM.COM then reverses
            // the sale's award for the goods returned.
            return { name, number, refund: true, restored: -this.getCrmComSpentAmount() };
        }
        // The figures of the sale itself, as the server keeps them (a refund later does not
        // change them), or as CRM.COM confirmed them to this till.
        const sale = this.crmcom_receipt || {};
        const posted = Boolean(sale.confirmed);
        const cancelled = Boolean(sale.cancelled);
        const balance = sale.balance_after;
        // Not confirmed yet: what the preview of this very basket said it earns.
        const preview = this.uiState?.crmcomPreview;
        const expected =
            !posted &&
            !cancelled &&
            preview?.data &&
            preview.dataKey === this.getCrmComBasketKey()
                ? preview.data.award
                : null;
        return {
            name,
            number,
            posted,
            cancelled,
            awarded: sale.awarded || 0,
            expected,
            spent: sale.spent || this.getCrmComSpentAmount(),
            balance: balance || 0,
            balanceKnown: posted && balance !== null && balance !== undefined,
        };
    },
});

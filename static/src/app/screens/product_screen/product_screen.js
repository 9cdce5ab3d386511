import { ProductScreen } from "@point_of_sale/app/screens/product_screen/product_screen";
import { patch } from "@web/core/utils/patch";

/**
 * A scanned code that is no product (nor packaging) is tried as a CRM.COM Rewards card.
 *
 * Card numbers have no format Odoo could recognise (each CRM.COM tenant issues its own), and
 * the default nomenclature gives every unknown code the type "product": so rather than a
 * barcode rule that each merchant would have to tune, the card lookup is the last resort of
 * the product lookup. Products always win; a code CRM.COM does not know either ends with
 * the usual "unknown barcode" warning.
 */
patch(ProductScreen.prototype, {
    async _barcodeProductAction(code) {
        if (this.pos.crmcomEnabled && this.pos.config.crmcom_identify_card) {
            const product = await this._getProductByBarcode(code);
            if (!product) {
                const result = await this.pos.crmcomIdentifyScannedCard(code.base_code || code.code);
                if (result.ok) {
                    this.numberBuffer.reset();
                    return;
                }
                if (result.error === "not_found" || result.error === "unreachable") {
                    this.sound.play("error");
                    this.barcodeReader.showNotFoundNotification(code);
                }
                return;
            }
        }
        return await super._barcodeProductAction(...arguments);
    },
    async _barcodePartnerAction(code) {
        if (!(await this.pos.crmcomConfirmUnlock(this.currentOrder))) {
            return;
        }
        return await super._barcodePartnerAction(...arguments);
    },
});

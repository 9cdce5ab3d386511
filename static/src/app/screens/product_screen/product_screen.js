import { ProductScreen } from "@point_of_sale/app/screens/product_screen/product_screen";
import { useBarcodeReader } from "@point_of_sale/app/hooks/barcode_reader_hook";
import { patch } from "@web/core/utils/patch";

/**
 * A scanned code that the barcode nomenclature reads as a CRM.COM Rewards card (rule type
 * "crmcom_card", data/barcode_rule_data.xml) identifies the customer, as pos_loyalty's coupon
 * rule activates a coupon. Every other code keeps Odoo's own handling and never reaches
 * CRM.COM, so a till cannot send it junk.
 */
patch(ProductScreen.prototype, {
    setup() {
        super.setup(...arguments);
        useBarcodeReader({ crmcom_card: this._onCrmComCardScan });
    },
    async _onCrmComCardScan(code) {
        if (!this.pos.crmcomEnabled || !this.pos.config.crmcom_identify_card) {
            this.barcodeReader.showNotFoundNotification(code);
            return;
        }
        const result = await this.pos.crmcomIdentifyScannedCard(code.base_code || code.code);
        if (result.ok) {
            this.numberBuffer.reset();
            return;
        }
        if (result.error === "not_found" || result.error === "unreachable") {
            this.sound.play("error");
            this.barcodeReader.showNotFoundNotification(code);
        }
    },
    async _barcodePartnerAction(code) {
        if (!(await this.pos.crmcomConfirmUnlock(this.currentOrder))) {
            return;
        }
        return await super._barcodePartnerAction(...arguments);
    },
});

import { ControlButtons } from "@point_of_sale/app/screens/product_screen/control_buttons/control_buttons";
import { CrmComIdentifyDialog } from "@pos_crmcom_rewards/app/components/popups/crmcom_identify_dialog/crmcom_identify_dialog";
import { makeAwaitable } from "@point_of_sale/app/utils/make_awaitable_dialog";
import { patch } from "@web/core/utils/patch";

patch(ControlButtons.prototype, {
    async clickCrmComRewards() {
        if (this.pos.crmcomIsDown) {
            this.pos.crmcomShowError(this.pos._crmcomOutageResult());
            return;
        }
        const result = await makeAwaitable(this.dialog, CrmComIdentifyDialog, {});
        if (result?.ok) {
            await this.pos.crmcomSetCustomer(result, this.currentOrder);
        }
    },
    async clickFiscalPosition() {
        if (!(await this.pos.crmcomConfirmUnlock(this.currentOrder))) {
            return;
        }
        return await super.clickFiscalPosition(...arguments);
    },
});

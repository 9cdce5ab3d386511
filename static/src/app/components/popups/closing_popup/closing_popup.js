import { ClosePosPopup } from "@point_of_sale/app/components/popups/closing_popup/closing_popup";
import { patch } from "@web/core/utils/patch";

// pos.session.get_closing_control_data sends the session's CRM.COM figures as `crmcom`
// (absent for a till without CRM.COM Rewards).
ClosePosPopup.props = [...ClosePosPopup.props, "crmcom?"];

/**
 * The closing dialog shows the session's CRM.COM figures and warns of awards CRM.COM has
 * not confirmed yet or refused, with a link to them. It only informs: closing the register
 * never waits for CRM.COM (the outbox sends what is pending after the session is closed).
 */
patch(ClosePosPopup.prototype, {
    get crmcomTotals() {
        return this.props.crmcom || null;
    },
    /** Whether some awards of the session still need CRM.COM (pending) or a person (refused). */
    get crmcomNeedsAttention() {
        const totals = this.crmcomTotals;
        return Boolean(totals && totals.attention > 0);
    },
});

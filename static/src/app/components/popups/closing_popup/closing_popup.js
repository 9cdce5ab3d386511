import { ClosePosPopup } from "@point_of_sale/app/components/popups/closing_popup/closing_popup";
import { _t } from "@web/core/l10n/translation";
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
    // One sentence for one and one for several: the translations need both forms.
    get crmcomRefusedText() {
        const count = this.crmcomTotals.sales.refused;
        return count === 1
            ? _t("1 award of this session was refused by CRM.COM: a manager must look at it.")
            : _t(
                  "%s awards of this session were refused by CRM.COM: a manager must look at them.",
                  count
              );
    },
    get crmcomPendingText() {
        const count = this.crmcomTotals.sales.pending;
        return count === 1
            ? _t("1 award of this session is not confirmed by CRM.COM yet: it is sent automatically.")
            : _t(
                  "%s awards of this session are not confirmed by CRM.COM yet: they are sent automatically.",
                  count
              );
    },
    get crmcomRefundsText() {
        const count = this.crmcomTotals.refunds;
        return count === 1
            ? _t("1 refund: given back to wallets")
            : _t("%s refunds: given back to wallets", count);
    },
});

import { CustomerDisplay } from "@point_of_sale/customer_display/customer_display";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/** Stands for the first name in the greeting's sentence, to cut it around the name. */
const NAME = "\u0000";

patch(CustomerDisplay.prototype, {
    /**
     * The greeting of the customer, as the text before and after their first name (shown in
     * a span of its own). One sentence for translators, in the display's language: where
     * the name goes is theirs to say ("Hello Maria", "Maria, welcome").
     */
    crmcomGreeting(paid) {
        const sentence = String(
            paid ? _t("Thank you, %(name)s", { name: NAME }) : _t("Hello %(name)s", { name: NAME })
        );
        const at = sentence.indexOf(NAME);
        return at < 0 ? [`${sentence} `, ""] : [sentence.slice(0, at), sentence.slice(at + 1)];
    },
});

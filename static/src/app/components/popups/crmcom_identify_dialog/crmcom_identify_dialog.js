import { Component, onMounted, useRef, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { usePos } from "@point_of_sale/app/hooks/pos_hook";

/**
 * Find a CRM.COM Rewards customer by one of the identification methods this till offers (the
 * lookup is always made by the server, so customers the till never loaded are found), show who
 * it is, and on confirmation give the result (the identify route's reply) to `getPayload`.
 */
export class CrmComIdentifyDialog extends Component {
    static template = "pos_crmcom_rewards.CrmComIdentifyDialog";
    static components = { Dialog };
    static props = {
        getPayload: Function,
        close: Function,
    };

    setup() {
        this.pos = usePos();
        this.methods = this.pos.getCrmComIdentificationMethods();
        this.state = useState({
            query: "",
            method: this.methods[0]?.key,
            loading: false,
            result: null,
            error: null,
        });
        this.inputRef = useRef("input");
        onMounted(() => this.inputRef.el?.focus());
    }

    get placeholder() {
        return this.methods.find((method) => method.key === this.state.method)?.placeholder || "";
    }

    /** The outage is said once, by the banner: not again as this search's error. */
    get showsError() {
        const error = this.state.error;
        return Boolean(error) && !(this.pos.crmcomIsDown && error.error === "unreachable");
    }

    /** In the wallet's currency when it is not the till's. */
    get resultBalance() {
        const result = this.state.result;
        return this.pos.crmcomFormatWallet(result.balance, {
            crmcom_wallet_currency: result.currency,
        });
    }

    get errorTitle() {
        return this.state.error ? this.pos.crmcomErrorTitle(this.state.error) : "";
    }

    selectMethod(key) {
        this.state.method = key;
        this.state.result = null;
        this.state.error = null;
        this.inputRef.el?.focus();
    }

    onInput() {
        this.state.result = null;
        this.state.error = null;
    }

    async onKeydown(ev) {
        if (ev.key === "Enter") {
            ev.preventDefault();
            if (this.state.result) {
                this.confirm();
            } else {
                await this.search();
            }
        }
    }

    async search() {
        if (this.state.loading || this.pos.crmcomIsDown) {
            return;
        }
        this.state.loading = true;
        this.state.result = null;
        this.state.error = null;
        try {
            const result = await this.pos.crmcomIdentify(this.state.query, this.state.method);
            if (result.ok) {
                this.state.result = result;
            } else {
                this.state.error = result;
            }
        } finally {
            this.state.loading = false;
        }
    }

    confirm() {
        if (!this.state.result) {
            return;
        }
        this.props.getPayload(this.state.result);
        this.props.close();
    }
}

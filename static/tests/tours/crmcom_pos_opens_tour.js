/* global posmodel */
import * as Chrome from "@point_of_sale/../tests/pos/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/generic_helpers/dialog_util";
import * as ProductScreen from "@point_of_sale/../tests/pos/tours/utils/product_screen_util";
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("CrmComPosOpens", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.isShown(),
            {
                content: "the till knows CRM.COM Rewards is on, and nothing secret",
                trigger: ".pos .product-screen",
                run: () => {
                    const config = posmodel.config;
                    if (config.crmcom_enabled !== true) {
                        throw new Error("crmcom_enabled did not reach the POS");
                    }
                    const spendProduct = config.crmcom_discount_product_id;
                    if (!spendProduct || !posmodel.models["product.product"].get(spendProduct.id)) {
                        throw new Error("the wallet spend product was not loaded");
                    }
                    const company = posmodel.company;
                    const leaked = Object.keys(company).filter((key) => key.startsWith("crmcom_"));
                    if (leaked.length) {
                        throw new Error(`company CRM.COM settings loaded: ${leaked}`);
                    }
                },
            },
        ].flat(),
});

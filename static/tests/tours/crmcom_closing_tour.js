import * as Chrome from "@point_of_sale/../tests/pos/tours/utils/chrome_util";
import * as ProductScreen from "@point_of_sale/../tests/pos/tours/utils/product_screen_util";
import * as PaymentScreen from "@point_of_sale/../tests/pos/tours/utils/payment_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/pos/tours/utils/receipt_screen_util";
import * as CrmCom from "@pos_crmcom_rewards/../tests/tours/utils/crmcom_util";
import { registry } from "@web/core/registry";

const popup = ".modal .close-pos-popup";

// The receipt does not wait for the award (the test sets so): it is still pending when the
// cashier closes the register, which warns of it, links to it, and closes all the same.
registry.category("web_tour.tours").add("CrmComClosingTour", {
    steps: () =>
        [
            CrmCom.startAndIdentify("4000123412341234"),
            CrmCom.resultIs("John Doe", "P0001", "25.00"),
            CrmCom.confirmCustomer(),
            ProductScreen.customerIs("John Doe"),
            ProductScreen.clickDisplayedProduct("CRM Book"),
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Bank"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            ReceiptScreen.clickNextOrder(),
            ProductScreen.isShown(),
            Chrome.clickMenuOption("Close Register"),
            {
                content: "the session's CRM.COM sales: one, pending",
                trigger: `${popup} .o_crmcom_closing_sales:contains("pending")`,
            },
            {
                content: "nothing spent from wallets",
                trigger: `${popup} .o_crmcom_closing_spent:contains("0.00")`,
            },
            {
                content: "warned of the award CRM.COM has not confirmed yet",
                trigger: `${popup} .o_crmcom_closing_warning:contains("1 award of this session is not confirmed by CRM.COM yet"):contains("You can close the register now")`,
            },
            {
                content: "with a link to the session's awards, opened in a tab of its own",
                trigger: `${popup} .o_crmcom_closing_warning a.o_crmcom_closing_link[target="_blank"][href*="/action-pos_crmcom_rewards.action_crmcom_session_purchases"]`,
            },
            {
                content: "close the register",
                trigger: ".modal .modal-footer .btn:contains(close register)",
                run: "click",
                expectUnloadPage: true,
            },
            {
                trigger: "button:contains(backend)",
                run: "click",
                expectUnloadPage: true,
            },
            {
                trigger: "body",
                expectUnloadPage: true,
            },
        ].flat(),
});

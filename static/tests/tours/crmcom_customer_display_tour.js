import * as Chrome from "@point_of_sale/../tests/pos/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/generic_helpers/dialog_util";
import * as ProductScreen from "@point_of_sale/../tests/pos/tours/utils/product_screen_util";
import * as PaymentScreen from "@point_of_sale/../tests/pos/tours/utils/payment_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/pos/tours/utils/receipt_screen_util";
import { scan_barcode } from "@point_of_sale/../tests/generic_helpers/utils";
import * as CrmCom from "@pos_crmcom_rewards/../tests/tours/utils/crmcom_util";
import * as Display from "@pos_crmcom_rewards/../tests/tours/utils/customer_display_util";
import { registry } from "@web/core/registry";

// "CRM Book" 20.00 untaxed (tests/test_frontend_display.py); John Doe has 25.00 and a book
// earns him 1.00.
registry.category("web_tour.tours").add("CrmComCustomerDisplayTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.isShown(),
            Display.open(),
            ProductScreen.clickDisplayedProduct("CRM Book"),
            Display.hasNoRewards(),

            // The customer is identified: first name and wallet, then what the basket earns.
            scan_barcode("4000123412341234"),
            ProductScreen.customerIs("John Doe"),
            CrmCom.previewIs({ balance: "25.00", award: "1.00" }),
            Display.shows(".o_crmcom_display_name", "John"),
            Display.shows(".o_crmcom_display_greeting", "Hello John"),
            Display.shows(".o_crmcom_display_balance", "25.00"),
            Display.showsNo(".o_crmcom_display_last_known"),
            Display.shows(".o_crmcom_display_earns", "1.00"),
            Display.showsNo(".o_crmcom_display_spent"),
            Display.neverShows(["Doe", "P0001", "4000123412341234", "+35799123456"]),

            // A spend: shown as paid from the wallet, the wallet as it was before.
            CrmCom.clickSpend(),
            CrmCom.typeAmount("<<"),
            CrmCom.typeAmount("5"),
            CrmCom.confirmAmount(),
            CrmCom.spentIs("5.00"),
            Display.shows(".o_crmcom_display_spent", "5.00"),
            Display.shows(".o_crmcom_display_balance", "25.00"),
            Display.showsNo(".o_crmcom_display_new_balance"),

            // Paid: what was earned and spent, and the new balance CRM.COM confirmed.
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Bank"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            CrmCom.receiptHas(".o_crmcom_receipt_balance", "21.00"),
            Display.isPaid(),
            Display.shows(".o_crmcom_display_greeting", "Thank you, John"),
            Display.shows(".o_crmcom_display_earns", "1.00"),
            Display.shows(".o_crmcom_display_spent", "5.00"),
            Display.shows(".o_crmcom_display_new_balance", "21.00"),
            Display.showsNo(".o_crmcom_display_balance"),
            Display.neverShows(["Doe", "P0001", "4000123412341234"]),

            // The next customer sees nothing of John.
            ReceiptScreen.clickNextOrder(),
            Display.hasNoRewards(),
        ].flat(),
});

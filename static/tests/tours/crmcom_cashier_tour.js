import * as Chrome from "@point_of_sale/../tests/pos/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/generic_helpers/dialog_util";
import * as ProductScreen from "@point_of_sale/../tests/pos/tours/utils/product_screen_util";
import * as PaymentScreen from "@point_of_sale/../tests/pos/tours/utils/payment_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/pos/tours/utils/receipt_screen_util";
import * as TicketScreen from "@point_of_sale/../tests/pos/tours/utils/ticket_screen_util";
import { scan_barcode } from "@point_of_sale/../tests/generic_helpers/utils";
import * as CrmCom from "@pos_crmcom_rewards/../tests/tours/utils/crmcom_util";
import { registry } from "@web/core/registry";

// Products made by the test: "CRM Shirt" 25.00 + 10 % tax (27.50), "CRM Book" 20.00 untaxed.

registry.category("web_tour.tours").add("CrmComIdentifyTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.isShown(),
            // Not found, then terminated: the dialog says why, nobody is set.
            CrmCom.clickRewards(),
            CrmCom.identify("card", "4000999999999999"),
            CrmCom.errorIs("Customer not found"),
            CrmCom.identify("card", "4000000000000003"),
            CrmCom.errorIs("Membership ended"),
            CrmCom.discardDialog(),
            // Found by typed phone; the dialog shows who it is before it is set.
            CrmCom.clickRewards(),
            CrmCom.identify("phone", "+35799123456"),
            CrmCom.resultIs("John Doe", "P0001", "25.00"),
            CrmCom.confirmCustomer(),
            ProductScreen.customerIs("John Doe"),
            // The preview follows the basket.
            ProductScreen.clickDisplayedProduct("CRM Shirt"),
            CrmCom.previewIs({ name: "John Doe", balance: "25.00", award: "1.38", spendable: "25.00" }),
            ProductScreen.clickDisplayedProduct("CRM Book"),
            // CRM.COM answers slowly (the test adds latency): the old figure stays, marked.
            CrmCom.previewIsStale("1.38"),
            CrmCom.previewIs({ balance: "25.00", award: "2.38", spendable: "25.00" }),
            ProductScreen.totalAmountIs("47.50"),
            // Another customer on the same basket: spending blocked, and said so.
            CrmCom.clickRewards(),
            CrmCom.identify("card", "4000000000000004"),
            CrmCom.resultIs("Blocky Spender", "P0004", "40.00"),
            CrmCom.confirmCustomer(),
            ProductScreen.customerIs("Blocky Spender"),
            CrmCom.previewIs({ name: "Blocky Spender", balance: "40.00", award: "2.38" }),
            CrmCom.spendIsBlocked(),
            CrmCom.discountLinesTotal(0, 0),
        ].flat(),
});

registry.category("web_tour.tours").add("CrmComOutageTour", {
    steps: () =>
        [
            CrmCom.startAndIdentify("4000123412341234"),
            {
                content: "identification is off while CRM.COM is down, said once",
                trigger:
                    ".modal .o_crmcom_outage:contains('CRM.COM unavailable'):contains('cannot be reached'):contains('customer list')",
            },
            {
                content: "not also as an error of the search",
                trigger: ".modal:not(:has(.o_crmcom_identify_error))",
            },
            {
                content: "search disabled",
                trigger: ".modal .o_crmcom_search:disabled",
            },
            CrmCom.discardDialog(),
            CrmCom.clickRewards(),
            Dialog.is({ title: "CRM.COM unavailable" }),
            Dialog.confirm(),
            // The sale itself goes on.
            ProductScreen.clickDisplayedProduct("CRM Book"),
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Bank"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            ReceiptScreen.receiptAmountTotalIs("20.00"),
        ].flat(),
});

/** A card scanned, a book sold to John (earns 1.00), paid: then `receipt` checks. */
function scanAndPay(receipt) {
    return [
        Chrome.startPoS(),
        Dialog.confirm("Open Register"),
        ProductScreen.isShown(),
        // A code that is no CRM.COM card (barcode nomenclature) is not sent to CRM.COM.
        scan_barcode("1234567890128"),
        // A loyalty card scanned on the product screen identifies at once.
        scan_barcode("4000123412341234"),
        ProductScreen.customerIs("John Doe"),
        ProductScreen.clickDisplayedProduct("CRM Book"),
        CrmCom.previewIs({ balance: "25.00", award: "1.00", spendable: "20.00" }),
        ProductScreen.clickPayButton(),
        PaymentScreen.clickPaymentMethod("Bank"),
        PaymentScreen.clickValidate(),
        ReceiptScreen.isShown(),
        CrmCom.receiptHas(".o_crmcom_receipt_name", "John Doe"),
        CrmCom.receiptHas(".o_crmcom_receipt_number", "P0001"),
        ...receipt,
    ];
}

registry.category("web_tour.tours").add("CrmComScanAwardTour", {
    // CRM.COM answers at once: the receipt prints what it awarded and the new balance.
    steps: () =>
        scanAndPay([
            CrmCom.receiptHas(".o_crmcom_receipt_awarded", "1.00"),
            CrmCom.receiptLacks(".o_crmcom_receipt_awarded", "expected"),
            CrmCom.receiptHas(".o_crmcom_receipt_balance", "26.00"),
        ]).flat(),
});

registry.category("web_tour.tours").add("CrmComSlowAwardTour", {
    // CRM.COM is slower than the receipt's wait: the preview's figure, marked as expected.
    steps: () =>
        scanAndPay([
            CrmCom.receiptHas(".o_crmcom_receipt_awarded", "expected"),
            CrmCom.receiptHas(".o_crmcom_receipt_awarded", "1.00"),
            CrmCom.receiptHas(".o_crmcom_receipt_balance", "pending"),
        ]).flat(),
});

registry.category("web_tour.tours").add("CrmComSpendTour", {
    steps: () =>
        [
            CrmCom.startAndIdentify("4000123412341234"),
            CrmCom.resultIs("John Doe", "P0001", "25.00"),
            CrmCom.confirmCustomer(),
            ProductScreen.clickDisplayedProduct("CRM Shirt"),
            ProductScreen.clickDisplayedProduct("CRM Book"),
            // CRM.COM counts this sale's award in what can be spent (the test sets it so):
            // John's 25.00 and the 2.38 this basket earns, said as such.
            CrmCom.previewIs({ award: "2.38", spendable: "27.38" }),
            CrmCom.spendableIncludesAward(),

            // Amounts are checked before anything is sent.
            CrmCom.clickSpend(),
            CrmCom.amountPopupIs("27.38"),
            CrmCom.typeAmount("0"),
            CrmCom.amountRefused("The amount must be more than zero."),
            CrmCom.typeAmount("<"),
            CrmCom.typeAmount("100"),
            CrmCom.amountRefused("can be spent on this order"),
            CrmCom.typeAmount("<<<"),
            CrmCom.typeAmount("0.5"),
            CrmCom.amountRefused("must be spent at a time"),
            CrmCom.typeAmount("<<<"),
            CrmCom.typeAmount("5"),
            CrmCom.confirmAmount(),
            CrmCom.spentIs("5.00"),
            CrmCom.discountLinesTotal(5, 2),
            ProductScreen.totalAmountIs("42.50"),

            // The basket is locked: a change asks to cancel the spend first.
            ProductScreen.clickDisplayedProduct("CRM Book"),
            Dialog.is({ title: "Cancel the wallet spend?" }),
            {
                content: "keep the order",
                trigger: ".modal .modal-footer button:contains('Keep the order as it is')",
                run: "click",
            },
            ProductScreen.totalAmountIs("42.50"),
            ProductScreen.clickDisplayedProduct("CRM Book"),
            Dialog.confirm("Cancel the spend"),
            CrmCom.discountLinesTotal(0, 0),
            ProductScreen.totalAmountIs("67.50"),
            ProductScreen.clickNumpad("1"),
            ProductScreen.totalAmountIs("47.50"),

            // All that can be spent: the wallet and what this basket earns.
            CrmCom.previewIs({ award: "2.38", spendable: "27.38" }),
            CrmCom.clickSpend(),
            CrmCom.amountPopupIs("27.38"),
            CrmCom.typeAmount("30"),
            CrmCom.amountRefused("27.38 can be spent on this order"),
            CrmCom.typeAmount("<<"),
            CrmCom.typeAmount("27.38"),
            CrmCom.confirmAmount(),
            CrmCom.spentIs("27.38"),
            CrmCom.discountLinesTotal(27.38, 2),
            ProductScreen.totalAmountIs("20.12"),

            ProductScreen.clickPayButton(),
            PaymentScreen.totalIs("20.12"),
            PaymentScreen.clickPaymentMethod("Bank"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            ReceiptScreen.receiptAmountTotalIs("20.12"),
            CrmCom.receiptHas(".o_crmcom_receipt_name", "John Doe"),
            CrmCom.receiptHas(".o_crmcom_receipt_awarded", "2.38"),
            CrmCom.receiptHas(".o_crmcom_receipt_spent", "27.38"),
            CrmCom.receiptHas(".o_crmcom_receipt_balance", "0.00"),
        ].flat(),
});

registry.category("web_tour.tours").add("CrmComRefundTour", {
    steps: () =>
        [
            CrmCom.startAndIdentify("4000123412341234"),
            CrmCom.confirmCustomer(),
            ProductScreen.clickDisplayedProduct("CRM Shirt"),
            ProductScreen.clickDisplayedProduct("CRM Book"),
            CrmCom.previewIs({ award: "2.38", spendable: "25.00" }),
            CrmCom.clickSpend(),
            CrmCom.typeAmount("<<"),
            CrmCom.typeAmount("20"),
            CrmCom.confirmAmount(),
            CrmCom.spentIs("20.00"),
            ProductScreen.totalAmountIs("27.50"),
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Bank"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            ReceiptScreen.clickNextOrder(),

            // The book comes back: 20.00 of the 47.50 of goods, paid 8.42 from the wallet
            // (its share of the 20.00 spent) and 11.58 in cash.
            ...ProductScreen.clickRefund(),
            TicketScreen.selectOrderByPrice("27.50"),
            ProductScreen.clickLine("CRM Book"),
            ProductScreen.clickNumpad("1"),
            TicketScreen.confirmRefund(),
            PaymentScreen.isShown(),
            CrmCom.refundWalletLinesTotal(8.42),
            PaymentScreen.totalIs("-11.58"),
            PaymentScreen.clickPaymentMethod("Bank"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            // The refund's receipt says what went back to the wallet, nothing of an award.
            CrmCom.receiptHas(".o_crmcom_receipt_restored", "8.42"),
            {
                content: "no award nor balance on the refund's receipt",
                trigger:
                    ".receipt-screen .o_crmcom_receipt:not(:has(.o_crmcom_receipt_awarded, .o_crmcom_receipt_balance))",
            },
        ].flat(),
});

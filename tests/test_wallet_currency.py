"""A wallet CRM.COM keeps in another currency than the company's, in the back office: its
balance, and the balance after each sale, are shown in the wallet's currency (the till's
side is in test_cashier_server.py and the JS unit tests)."""

from unittest.mock import patch

from odoo.tests import tagged

from ..crmcom.client import CrmComClient
from ..simulator.state import Currency
from .common import CashierCase


def shown_in(record, name):
    """The currency the Monetary field ``name`` of ``record`` is shown in."""
    return record[record._fields[name].get_currency_field(record)]


@tagged("post_install", "-at_install")
class TestWalletCurrency(CashierCase):
    def setUp(self):
        super().setUp()
        currencies = self.env["res.currency"].with_context(active_test=False)
        self.company_currency = self.company.currency_id
        code = "GBP" if self.company_currency.name != "GBP" else "EUR"
        self.other = currencies.search([("name", "=", code)])
        # As most of the ISO currencies Odoo ships: never used by the company.
        self.other.active = False

    def wallets_in(self, code):
        self.simulator.state.currency = Currency(f"CUR-{code}", code, code)

    def test_a_contacts_balance_is_shown_in_its_wallets_currency(self):
        self.wallets_in(self.other.name)
        john = self.john()
        self.assertEqual(john.crmcom_wallet_currency, self.other.name)
        self.assertEqual(shown_in(john, "crmcom_balance"), self.other, "even inactive")
        self.assertEqual(john.crmcom_balance, 25.0)
        # Back in the company's currency.
        self.wallets_in(self.company_currency.name)
        self.identify()
        self.assertEqual(shown_in(john, "crmcom_balance"), self.company_currency)

    def test_a_contact_with_no_wallet_currency_is_shown_in_the_companys(self):
        partner = self.env["res.partner"].create({"name": "Not identified yet"})
        self.assertFalse(partner.crmcom_wallet_currency)
        self.assertEqual(shown_in(partner, "crmcom_balance"), self.company_currency)

    def test_an_unknown_code_is_no_currency_not_the_companys(self):
        self.wallets_in("XYZ")  # no ISO currency: Odoo does not know it
        john = self.john()
        self.assertEqual(john.crmcom_wallet_currency, "XYZ")
        self.assertFalse(shown_in(john, "crmcom_balance"))

    def test_a_refreshed_balance_comes_with_its_currency(self):
        john = self.john()
        self.assertEqual(shown_in(john, "crmcom_balance"), self.company_currency)
        # CRM.COM now keeps the wallet in another currency: the contact's Refresh says so.
        self.wallets_in(self.other.name)
        self.assertIs(john.action_crmcom_refresh_balance(), True)
        self.assertEqual(john.crmcom_wallet_currency, self.other.name)
        self.assertEqual(shown_in(john, "crmcom_balance"), self.other)

    def test_a_balance_keeps_the_decimals_of_its_currency(self):
        kwd = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", "KWD")])
        )
        self.assertEqual(kwd.decimal_places, 3)
        john = self.john()
        # Balance and currency written at once: the balance is rounded in the new currency.
        john.sudo()._crmcom_set_balance(12.345, currency="KWD")
        john.invalidate_recordset()
        self.assertEqual((john.crmcom_balance, shown_in(john, "crmcom_balance")), (12.345, kwd))

    def test_the_balance_after_a_sale_stays_in_the_wallets_currency_of_the_sale(self):
        self.wallets_in(self.other.name)
        john = self.john()
        order = self.paid_order(john, "uuid-0001")
        self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertEqual(order.crmcom_state, "posted")
        self.assertEqual(order.crmcom_balance_after, 26.5)
        self.assertEqual(purchase.wallet_currency, self.other.name)
        self.assertEqual(shown_in(purchase, "balance_after"), self.other)
        self.assertEqual(shown_in(order, "crmcom_balance_after"), self.other)
        # The order's own amounts stay the company's.
        self.assertEqual(shown_in(order, "amount_total"), self.company_currency)
        # CRM.COM later keeps the wallet in the company's currency: the contact follows, the
        # sale's figure (and its receipt's) does not.
        self.wallets_in(self.company_currency.name)
        self.identify()
        self.assertEqual(shown_in(john, "crmcom_balance"), self.company_currency)
        order.invalidate_recordset()
        purchase.invalidate_recordset()
        self.assertEqual(shown_in(order, "crmcom_balance_after"), self.other)
        self.assertEqual(shown_in(purchase, "balance_after"), self.other)
        self.assertEqual(order.crmcom_receipt["wallet_currency"], self.other.name, "a reprint")
        # The next sale's is in the new currency.
        later = self.paid_order(john, "uuid-0002")
        self.run_submit_cron()
        self.assertEqual(shown_in(later, "crmcom_balance_after"), self.company_currency)

    def test_a_purchase_whose_wallet_currency_crmcom_did_not_say_keeps_the_contacts(self):
        self.wallets_in(self.other.name)
        john = self.john()
        # A wallets/show reply without the currency (its fields are CRM.COM's choice).
        order = self.paid_order(john, "uuid-0001")
        show_wallet = CrmComClient.show_wallet

        def without_currency(client, **kwargs):
            wallet = show_wallet(client, **kwargs)
            wallet.pop("currency", None)
            return wallet

        with patch.object(CrmComClient, "show_wallet", without_currency):
            self.run_submit_cron()
        purchase = order.crmcom_purchase_id
        self.assertTrue(purchase.balance_known)
        self.assertEqual(purchase.wallet_currency, self.other.name)
        self.assertEqual(john.crmcom_wallet_currency, self.other.name, "left as it was")

    def test_the_back_office_forms_show_the_wallets_currency(self):
        views = {
            "res.partner": ("crmcom_balance", "crmcom_wallet_currency_id"),
            "pos.order": ("crmcom_balance_after", "crmcom_wallet_currency_id"),
            "crmcom.purchase": ("balance_after", "wallet_currency_id"),
        }
        for model, (amount, currency) in views.items():
            with self.subTest(model=model):
                arch = self.env[model].get_view(view_type="form")["arch"]
                self.assertIn(f'name="{amount}"', arch)
                self.assertIn(f'name="{currency}"', arch, "the amount's currency is loaded")

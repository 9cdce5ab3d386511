"""Who may see what: the connection and the call log are for system administrators of the
company only."""

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import other_company_admin


@tagged("post_install", "-at_install")
class TestCrmComAccess(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company._crmcom_connection().unlink()
        cls.connection = cls.env["crmcom.connection"].create(
            {
                "company_id": cls.company.id,
                "base_url": "https://crm.example.com",
                "unit": "STORE01",
                "api_key": "TOP-SECRET-KEY",
                "enabled": True,
            }
        )
        cls.pos_user = new_test_user(
            cls.env, "crm_pos_user", groups="base.group_user,point_of_sale.group_pos_user"
        )
        cls.pos_manager = new_test_user(
            cls.env, "crm_pos_manager", groups="base.group_user,point_of_sale.group_pos_manager"
        )
        cls.admin = new_test_user(cls.env, "crm_admin", groups="base.group_system")
        log = cls.env["crmcom.call.log"].create(
            {
                "method": "rewards_participants/show",
                "called_at": "2026-11-27 10:00:00",
                "outcome": "ok",
                "company_id": cls.company.id,
            }
        )
        cls.log = log
        cls.env.cr.execute(
            "INSERT INTO crmcom_token (company_id, token, issued_at, base_url) "
            "VALUES (%s, %s, now(), %s)",
            (cls.company.id, "TOKEN-VALUE", "https://crm.example.com"),
        )

    def test_pos_users_and_managers_cannot_read_the_connection(self):
        for user in (self.pos_user, self.pos_manager):
            with self.assertRaises(AccessError, msg=f"{user.login} read the connection"):
                self.connection.with_user(user).read(["base_url"])
            self.assertNotIn(
                "TOP-SECRET-KEY",
                repr(self.company.with_user(user).read()),
                "the company holds nothing of the connection",
            )

    def test_pos_users_and_managers_cannot_read_the_log_or_the_token(self):
        for user in (self.pos_user, self.pos_manager):
            for model in ("crmcom.call.log", "crmcom.token"):
                with self.assertRaises(AccessError, msg=f"{user.login} read {model}"):
                    self.env[model].with_user(user).search([]).read()

    def test_nobody_edits_the_log(self):
        with self.assertRaises(AccessError):
            self.log.with_user(self.admin).write({"outcome": "transport_error"})

    def test_administrators_read_settings_and_log(self):
        self.assertEqual(self.connection.with_user(self.admin).api_key, "TOP-SECRET-KEY")
        self.assertEqual(
            self.env["crmcom.call.log"].with_user(self.admin).search([("id", "=", self.log.id)]),
            self.log,
        )

    def test_pos_config_holds_no_secret(self):
        # pos.config is loaded whole into the till: none of its fields may carry a secret.
        config = self.env["pos.config"].create({"name": "Till"})
        values = config.with_user(self.pos_user).read()[0]
        dump = repr(values)
        self.assertNotIn("TOP-SECRET-KEY", dump)
        self.assertNotIn("TOKEN-VALUE", dump)
        self.assertIn("crmcom_enabled", values)

    def test_other_company_log_is_invisible(self):
        other_admin = other_company_admin(self.env, "crm_other_admin")
        logs = self.env["crmcom.call.log"].with_user(other_admin).search([])
        self.assertNotIn(self.log, logs)

    def test_other_company_sees_no_credentials_and_no_crmcom_data(self):
        other_admin = other_company_admin(
            self.env, "crm_other_admin", "base.group_system,point_of_sale.group_pos_manager"
        )
        # Companies are readable across companies; their connections are not.
        connections = self.env["crmcom.connection"].with_user(other_admin)
        self.assertFalse(connections.search([]))
        with self.assertRaises(AccessError):
            self.connection.with_user(other_admin).read(["base_url"])
        with self.assertRaises(AccessError):
            self.connection.with_user(other_admin).write({"api_key": "HIJACK"})
        self.assertEqual(self.connection.api_key, "TOP-SECRET-KEY")
        config = self.env["pos.config"].create({"name": "Till A"})
        purchase = (
            self.env["crmcom.purchase"]
            .sudo()
            .create(
                {
                    "order_uuid": "uuid-a",
                    "config_id": config.id,
                    "participant_number": "P0001",
                    "reference": "A/0001",
                    "performed_on": "2026-11-27 10:00:00",
                }
            )
        )
        as_other = self.env["crmcom.purchase"].with_user(other_admin)
        self.assertNotIn(purchase, as_other.search([]))
        with self.assertRaises(AccessError):
            purchase.with_user(other_admin).read(["participant_number"])
        self.assertFalse(self.env["crmcom.token"].with_user(other_admin).search([]))


@tagged("post_install", "-at_install")
class TestWhoNamesATillsStore(TransactionCase):
    """A till's CRM.COM store decides where CRM.COM books its sales (and, given by ID, which
    unit the company's credentials log in for): set by system administrators only, as the
    connection, whatever the form shows; the till's other CRM.COM settings stay the Point of
    Sale managers'."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, "crm_store_manager", groups="base.group_user,point_of_sale.group_pos_manager"
        )
        cls.admin = new_test_user(
            cls.env, "crm_store_admin", groups="base.group_system,point_of_sale.group_pos_manager"
        )
        cls.till = cls.env["pos.config"].create({"name": "Airport till"})

    def test_a_pos_manager_cannot_name_change_or_clear_a_store(self):
        self.assertFalse(self.manager.has_group("base.group_system"))
        till = self.till.with_user(self.manager)
        for values in (
            {"crmcom_unit": "STORE02"},
            {"crmcom_unit_key": "id", "crmcom_unit": "UNIT-STORE02"},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                till.write(values)
        self.assertFalse(self.till.crmcom_unit)
        # The till's other CRM.COM settings, and a key that names no store, are his.
        till.write({"crmcom_identify_phone": False, "crmcom_unit_key": "name"})
        self.assertFalse(self.till.crmcom_identify_phone)

        self.till.with_user(self.admin).write({"crmcom_unit_key": "id", "crmcom_unit": "U-2"})
        self.assertEqual(self.till._crmcom_unit_identifier(), {"id": "U-2"})
        till.write({"crmcom_unit": " U-2 "})  # the same store: nothing moves
        for values in ({"crmcom_unit": False}, {"crmcom_unit_key": "name"}, {"crmcom_unit": "U-3"}):
            with self.subTest(values=values), self.assertRaises(AccessError):
                till.write(values)
        self.assertEqual(self.till._crmcom_unit_identifier(), {"id": "U-2"})

    def test_a_pos_manager_makes_tills_in_no_store_of_his_choosing(self):
        tills = self.env["pos.config"].with_user(self.manager)
        with self.assertRaises(AccessError):
            tills.create({"name": "Harbour till", "crmcom_unit": "STORE03"})
        self.assertTrue(tills.create({"name": "Harbour till"}))

    def test_the_form_shows_the_store_to_administrators_only(self):
        def form_arch(user):
            views = self.env["pos.config"].with_user(user).get_views([(False, "form")])
            return views["views"]["form"]["arch"]

        self.assertNotIn('name="crmcom_unit"', form_arch(self.manager))
        self.assertIn('name="crmcom_unit"', form_arch(self.admin))

"""The CRM.COM connection as administrators save it, and what it guarantees once saved:
one save of a complete form works whatever the order of its fields, a secret left empty is
kept, a secret is sent only to the server it was entered for, tokens are released when the
connection changes, and numbers out of range are refused with a message."""

import itertools

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..crmcom import AuthenticationError
from ..models.crmcom_token import CompanyTokenStore
from ..simulator.server import SimulatorServer
from .common import (
    API_KEY,
    SimulatorMixin,
    connect_company,
    other_company_admin,
    unconnected_company,
)

# The settings of a complete Web API key connection, as the form sends them.
BY_KEY = {
    "crmcom_enabled": True,
    "crmcom_auth_mode": "api_key",
    "crmcom_api_key": API_KEY,
    "crmcom_unit_key": "alternative_code",
    "crmcom_unit": "STORE01",
}


@tagged("post_install", "-at_install")
class TestConnectionSettings(SimulatorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        cls.company = unconnected_company(cls.env)
        cls.till = cls.env["pos.config"].create({"name": "New till"})

    def setUp(self):
        super().setUp()
        self.reset_simulator()

    def save(self, values):
        """Save the settings form as the browser does: create the record, then execute."""
        settings = self.env["res.config.settings"].create(values)
        settings.execute()
        return settings

    def connection(self):
        return self.company._crmcom_connection()

    def release_after_commit(self):
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()

    # ------------------------------------------------------------------ one save

    def test_one_save_connects_an_unconnected_company_in_any_field_order(self):
        values = {**BY_KEY, "crmcom_base_url": self.simulator.url, "pos_config_id": self.till.id}
        values["pos_crmcom_enabled"] = True
        for order in itertools.islice(itertools.permutations(values), 0, None, 997):
            with self.subTest(order=order[:3]), self.env.cr.savepoint() as savepoint:
                self.save({name: values[name] for name in order})
                connection = self.connection()
                self.assertTrue(connection.enabled)
                self.assertEqual(connection.api_key, API_KEY)
                self.assertEqual(connection.base_url, self.simulator.url)
                self.assertTrue(self.till.crmcom_enabled, "the till in the same save")
                savepoint.rollback()

    def test_switching_to_a_password_and_back_takes_one_save_each(self):
        self.save({**BY_KEY, "crmcom_base_url": self.simulator.url})
        # The form as the administrator sees it: the key is not shown, so it comes empty.
        shown = self.env["res.config.settings"].default_get(list(BY_KEY))
        self.assertFalse(shown.get("crmcom_api_key"))
        self.save(
            {
                **shown,
                "crmcom_auth_mode": "password",
                "crmcom_organisation": "Coffee Shops Ltd",
                "crmcom_username": "pos.user",
                "crmcom_password": "pos-password",
            }
        )
        connection = self.connection()
        self.assertEqual(connection.auth_mode, "password")
        self.assertEqual(connection.password, "pos-password")
        self.assertEqual(connection.api_key, API_KEY, "the key is kept")
        shown = self.env["res.config.settings"].default_get(
            [*BY_KEY, "crmcom_password", "crmcom_api_key_saved", "crmcom_password_saved"]
        )
        self.assertEqual(
            (shown["crmcom_api_key_saved"], shown["crmcom_password_saved"]), (True, True)
        )
        self.save({**shown, "crmcom_auth_mode": "api_key"})
        self.assertEqual(connection.auth_mode, "api_key")
        self.assertEqual(connection.password, "pos-password", "the password is kept")
        with self.company._crmcom_client() as client:
            self.assertTrue(client.login(), "the kept key still logs in")

    def test_an_empty_secret_keeps_the_saved_one_and_is_never_stored_in_the_form(self):
        settings = self.save({**BY_KEY, "crmcom_base_url": self.simulator.url})
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT crmcom_api_key FROM res_config_settings WHERE id = %s", settings.ids
        )
        self.assertEqual(self.env.cr.fetchone(), (None,), "the settings' table has no key")
        self.save({"crmcom_api_key": "", "crmcom_password": False, "crmcom_unit": "STORE02"})
        self.assertEqual(self.connection().api_key, API_KEY)
        self.assertEqual(self.connection().unit, "STORE02")

    def test_forgetting_the_credentials_is_an_explicit_action(self):
        settings = self.save({**BY_KEY, "crmcom_base_url": self.simulator.url})
        settings.action_crmcom_forget_credentials()
        connection = self.connection()
        self.assertFalse(connection.enabled)
        self.assertFalse(connection.api_key)
        self.assertEqual(connection.base_url, self.simulator.url, "the rest is kept")

    def test_the_settings_form_validates_the_connection(self):
        with self.assertRaisesRegex(ValidationError, "https://"), self.env.cr.savepoint():
            self.save({**BY_KEY, "crmcom_base_url": "http://crm.example.com"})
        self.assertFalse(self.connection(), "nothing of a refused save is kept")
        with self.assertRaisesRegex(ValidationError, "CRM.COM URL"), self.env.cr.savepoint():
            self.save(BY_KEY)

    # ------------------------------------------------------------------ URL and secrets

    def test_the_url_is_normalised_on_save(self):
        port = self.simulator.url.rsplit(":", 1)[1]
        self.save({**BY_KEY, "crmcom_base_url": f" HTTP://127.0.0.1:{port}/ "})
        self.assertEqual(self.connection().base_url, self.simulator.url)
        with self.company._crmcom_client() as client:
            self.assertTrue(client.show_participant({"number": "P0001"})["number"])

    def test_a_new_url_erases_the_secrets_not_given_again(self):
        connection = connect_company(self.company, self.simulator)
        with self.assertRaisesRegex(ValidationError, "Web API key"), self.env.cr.savepoint():
            connection.write({"base_url": "https://crm.example.com"})
        connection.write({"base_url": "https://crm.example.com", "enabled": False})
        self.assertFalse(connection.api_key, "never sent to the new server")
        connection.write({"base_url": self.simulator.url, "api_key": API_KEY, "enabled": True})
        self.assertEqual(connection.api_key, API_KEY)

    def test_a_token_is_only_ever_sent_to_the_server_that_issued_it(self):
        connection = connect_company(self.company, self.simulator)
        with self.company._crmcom_client() as client:
            token = client.login()
        scope = connection._token_scope()
        store = CompanyTokenStore(self.env, self.company, "https://elsewhere.example.com", scope)
        self.assertIsNone(store.load())
        store = CompanyTokenStore(self.env, self.company, self.simulator.url, scope)
        self.assertEqual(store.load().value, token)

    def test_a_token_saved_for_old_credentials_is_never_used(self):
        # A till's request that logged in with the old key saves its token after the save
        # that changed the key forgot the old ones.
        connection = connect_company(self.company, self.simulator)
        with self.company._crmcom_client() as old_client:
            connection.write({"api_key": "ANOTHER-KEY"})
            old_client.login()
        self.assertEqual(len(self.env["crmcom.token"].search([])), 1, "saved by the old one")
        with self.company._crmcom_client() as client, self.assertRaises(AuthenticationError):
            client.show_participant({"number": "P0001"})  # logs in with the new (wrong) key
        self.assertNotIn("rewards_participants/show", self.simulator_state()["received"])

    def test_changed_credentials_release_the_old_token_after_commit(self):
        connection = connect_company(self.company, self.simulator)
        with self.company._crmcom_client() as client:
            client.login()
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 1)
        connection.write({"api_key": "ANOTHER-KEY"})
        self.assertFalse(self.env["crmcom.token"].search([("company_id", "=", self.company.id)]))
        self.assertEqual(
            self.simulator_state()["counts"]["valid_tokens"], 1, "released once committed only"
        )
        self.release_after_commit()
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 0)
        self.assertEqual(self.simulator_state()["received"]["authentication/token/release"], 1)

    def test_disconnecting_releases_the_token_and_an_unchanged_save_does_not(self):
        connection = connect_company(self.company, self.simulator)
        with self.company._crmcom_client() as client:
            client.login()
        connect_company(self.company, self.simulator)  # the same values again
        self.release_after_commit()
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 1)
        connection.enabled = False
        self.release_after_commit()
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 0)

    def test_the_key_field_can_be_searched(self):
        connect_company(self.company, self.simulator)
        self.assertEqual(
            self.env["crmcom.connection"].search([("api_key", "=", API_KEY)]), self.connection()
        )
        self.assertFalse(self.env["res.config.settings"].search([("crmcom_api_key", "!=", False)]))

    # ------------------------------------------------------------------ numbers

    def test_numbers_out_of_range_are_refused_with_a_message(self):
        for name in (
            "crmcom_call_log_retention_days",
            "crmcom_abandoned_after_hours",
            "crmcom_identify_failures_per_minute",
        ):
            for value in (0, -1, 10**12):
                with self.subTest(name=name, value=value), self.assertRaises(ValidationError):
                    self.save({name: value})
        with self.assertRaisesRegex(ValidationError, "timeout"), self.env.cr.savepoint():
            self.save({**BY_KEY, "crmcom_base_url": self.simulator.url, "crmcom_timeout": 121})

    def test_parameters_typed_elsewhere_are_read_within_bounds(self):
        parameters = self.env["ir.config_parameter"]
        for raw in ("1000000000000", "junk", "-3"):
            parameters.set_param("pos_crmcom_rewards.call_log_retention_days", raw)
            self.assertIsInstance(self.env["crmcom.call.log"]._prune(), int, raw)

    # ------------------------------------------------------------------ who may save

    def test_only_administrators_save_the_connection(self):
        manager = new_test_user(
            self.env,
            "crm_settings_manager",
            groups="base.group_user,point_of_sale.group_pos_manager",
        )
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(manager).create(
                {"crmcom_base_url": "https://crm.example.com"}
            )
        with self.assertRaises(AccessError):
            self.env["crmcom.connection"].with_user(manager).create(
                {"company_id": self.company.id, "base_url": "https://crm.example.com"}
            )
        self.assertFalse(self.connection())

    # ------------------------------------------------------------------ another company

    def test_another_companys_administrator_cannot_redirect_the_connection(self):
        connect_company(self.company, self.simulator)
        with self.company._crmcom_client() as client:
            client.login()  # a live token, which a redirected connection would send away
        elsewhere = SimulatorServer(host="127.0.0.1", port=0, seed=True).start()
        self.addCleanup(elsewhere.stop)
        third = self.env["res.company"].create({"name": "Third"})
        intruder = other_company_admin(self.env, "crm_intruder")
        connection = self.connection()
        attempts = {
            "write the connection": lambda: connection.with_user(intruder).write(
                {"base_url": elsewhere.url}
            ),
            "connect a company of neither": lambda: (
                self.env["crmcom.connection"]
                .with_user(intruder)
                .create({"company_id": third.id, "base_url": elsewhere.url})
            ),
            "save settings for it": lambda: (
                self.env["res.config.settings"]
                .with_user(intruder)
                .create({"company_id": self.company.id, "crmcom_base_url": elsewhere.url})
            ),
            "forget its credentials": lambda: connection.with_user(
                intruder
            ).action_forget_credentials(),
        }
        for what, attempt in attempts.items():
            with self.subTest(what), self.assertRaises(AccessError):
                attempt()
        with self.assertRaises(ValueError, msg="the company holds no connection field"):
            self.company.with_user(intruder).write({"crmcom_base_url": elsewhere.url})
        self.assertEqual(connection.base_url, self.simulator.url)
        self.assertEqual(connection.api_key, API_KEY)
        with self.company._crmcom_client() as client:
            client.show_participant({"number": "P0001"})
        self.assertEqual(elsewhere.snapshot()["received"], {}, "nothing reached the other server")
        self.assertEqual(self.simulator_state()["received"]["rewards_participants/show"], 1)

    # ------------------------------------------------------------------ found in review

    def test_a_secret_typed_again_with_a_new_url_is_kept(self):
        self.save({**BY_KEY, "crmcom_base_url": "https://crm.example.com"})
        self.save({"crmcom_base_url": self.simulator.url, "crmcom_api_key": API_KEY})
        self.assertEqual(self.connection().base_url, self.simulator.url)
        self.assertEqual(self.connection().api_key, API_KEY, "given with the move: kept")

    def test_a_connection_never_moves_to_another_company(self):
        connection = connect_company(self.company, self.simulator)
        other = self.env["res.company"].create({"name": "Unconnected other"})
        with self.assertRaises(AccessError):
            connection.write({"company_id": other.id})
        connection.write({"company_id": self.company.id})  # the same: allowed

    def test_an_unknown_time_zone_is_refused(self):
        connection = connect_company(self.company, self.simulator)
        connection.time_zone = "Europe/Nicosia"
        zones = dict(self.env["crmcom.connection"]._fields["time_zone"].selection(connection))
        self.assertIn("Europe/Nicosia", zones)
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.env.cr.execute(
                "UPDATE crmcom_connection SET time_zone = 'Nowhere/Atlantis' WHERE id = %s",
                connection.ids,
            )
            connection.invalidate_recordset()
            connection._check_time_zone()

    def test_settings_of_another_company_do_nothing_with_its_connection(self):
        connect_company(self.company, self.simulator)
        intruder = other_company_admin(self.env, "crm_settings_intruder")
        settings = (
            self.env["res.config.settings"]
            .with_user(intruder)
            .create({"company_id": self.company.id})
        )
        for action in (
            "action_crmcom_test_connection",
            "action_crmcom_forget_credentials",
            "action_crmcom_sync_products_full",
            "action_crmcom_open_sync_settings",
        ):
            with self.subTest(action), self.assertRaises(AccessError):
                getattr(settings, action)()
        self.assertEqual(self.simulator_state()["received"], {}, "no call with their key")
        self.assertTrue(self.connection().api_key)

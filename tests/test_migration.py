"""Migration 19.0.1.4.0 run on the old schema: each company's connection moves from
res.company and crmcom_secret to crmcom.connection, and the old columns and table go.

The old schema is made again inside the test transaction (DDL is transactional in
PostgreSQL): everything is rolled back at the end."""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from ..models.crmcom_connection import MAX_TIMEOUT

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "19.0.1.4.0" / "post-migrate.py"
DEMO_XMLID = ("pos_crmcom_rewards", "crmcom_connection_main_company")
# The old res.company columns and their types.
OLD_TYPES = {
    "crmcom_enabled": "boolean",
    "crmcom_base_url": "varchar",
    "crmcom_auth_mode": "varchar",
    "crmcom_username": "varchar",
    "crmcom_organisation": "varchar",
    "crmcom_unit_key": "varchar",
    "crmcom_unit": "varchar",
    "crmcom_external_system": "varchar",
    "crmcom_timeout": "double precision",
    "crmcom_sync_definition": "varchar",
    "crmcom_sync_domain": "varchar",
    "crmcom_sync_batch_size": "integer",
    "crmcom_sync_description_field_id": "integer",
    "crmcom_sync_long_description_field_id": "integer",
    "crmcom_sync_type_field_id": "integer",
    "crmcom_sync_brand_field_id": "integer",
    "crmcom_sync_family_field_id": "integer",
    "crmcom_sync_category_field_id": "integer",
}


def _load_migration():
    spec = importlib.util.spec_from_file_location("pos_crmcom_rewards_migration_1_4_0", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestMigration(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration = _load_migration()
        cls.main_company = cls.env.ref("base.main_company")
        cls.name_field = cls.env["ir.model.fields"]._get("product.product", "name")

    def setUp(self):
        super().setUp()
        # Before this version no company had a crmcom.connection (unlinking them also
        # removes their xmlids, the demo's included).
        self.env["crmcom.connection"].search([]).unlink()
        self.env.flush_all()
        self.assertEqual(
            set(OLD_TYPES), {*self.migration.OLD_COLUMNS, *self.migration.SYNC_COLUMNS}
        )
        cr = self.env.cr
        for column, type_ in OLD_TYPES.items():
            cr.execute(f'ALTER TABLE res_company ADD COLUMN "{column}" {type_}')  # noqa: S608
        cr.execute("CREATE TABLE crmcom_secret (company_id int, api_key varchar, password varchar)")

    # ------------------------------------------------------------------ helpers

    def old_settings(self, company, api_key=None, password=None, **values):
        """Give ``company`` the old columns' ``values`` (``crmcom_`` left out of the names)
        and, with a key or a password, a crmcom_secret row."""
        for name, value in values.items():
            self.env.cr.execute(
                f'UPDATE res_company SET "crmcom_{name}" = %s WHERE id = %s',  # noqa: S608
                [value, company.id],
            )
        if api_key or password:
            self.env.cr.execute(
                "INSERT INTO crmcom_secret (company_id, api_key, password) VALUES (%s, %s, %s)",
                [company.id, api_key, password],
            )

    def connected_settings(self, company):
        self.old_settings(
            company,
            api_key=" KEY-7 ",
            enabled=True,
            base_url=" HTTPS://CRM.Example.COM/ ",
            auth_mode="api_key",
            unit_key="alternative_code",
            unit=" STORE07 ",
            external_system="ODOO_POS_7",
            timeout=120.0,
            sync_definition="STORE SYNC",
            sync_domain="[('sale_ok', '=', True)]",
            sync_batch_size=250,
            sync_description_field_id=self.name_field.id,
        )

    def demo_connection(self, company):
        """What the demo data loaded during the upgrade makes: an enabled connection pointed
        at the simulator, with its xmlid."""
        connection = self.env["crmcom.connection"].create(
            {
                "company_id": company.id,
                "enabled": True,
                "base_url": "http://127.0.0.1:8079",
                "api_key": "SIM-SYSTEM-KEY",
                "unit": "STORE01",
            }
        )
        self.env["ir.model.data"].create(
            {
                "module": DEMO_XMLID[0],
                "name": DEMO_XMLID[1],
                "model": "crmcom.connection",
                "res_id": connection.id,
                "noupdate": True,
            }
        )
        self.env.flush_all()
        return connection

    def migrate(self, version="19.0.1.3.0"):
        self.migration.migrate(self.env.cr, version)
        self.env.invalidate_all()

    def connections(self, company):
        return self.env["crmcom.connection"].search([("company_id", "=", company.id)])

    def xmlids(self, connection_id):
        return self.env["ir.model.data"].search(
            [("model", "=", "crmcom.connection"), ("res_id", "=", connection_id)]
        )

    def demo_xmlid(self):
        return self.env["ir.model.data"].search(
            [("module", "=", DEMO_XMLID[0]), ("name", "=", DEMO_XMLID[1])]
        )

    def old_columns(self):
        self.env.cr.execute(
            """SELECT column_name FROM information_schema.columns
                WHERE table_name = 'res_company' AND column_name = ANY(%s)""",
            [list(OLD_TYPES)],
        )
        return {column for (column,) in self.env.cr.fetchall()}

    def secret_table_exists(self):
        self.env.cr.execute("SELECT to_regclass('crmcom_secret') IS NOT NULL")
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------------ tests

    def test_connections_move_and_a_company_with_nothing_keeps_no_demo_connection(self):
        connected = self.env["res.company"].create({"name": "Connected before 19.0.1.4.0"})
        self.connected_settings(connected)
        self.env.cr.execute(
            """INSERT INTO crmcom_token (company_id, token, issued_at, base_url)
               VALUES (%s, 'OLD-TOKEN', now() at time zone 'UTC', NULL)""",
            [connected.id],
        )
        # The main company was not connected; the demo data just made it a connection.
        self.old_settings(self.main_company, enabled=False)
        demo = self.demo_connection(self.main_company)

        self.migrate()

        connection = self.connections(connected)
        self.assertEqual(len(connection), 1)
        self.assertRecordValues(
            connection,
            [
                {
                    "enabled": True,
                    "base_url": "https://crm.example.com",
                    "auth_mode": "api_key",
                    "api_key": "KEY-7",
                    "password": False,
                    "username": False,
                    "organisation": False,
                    "unit_key": "alternative_code",
                    "unit": "STORE07",
                    "external_system": "ODOO_POS_7",
                    "timeout": MAX_TIMEOUT,
                    "time_zone": "UTC",
                    "sync_definition": "STORE SYNC",
                    "sync_domain": "[('sale_ok', '=', True)]",
                    "sync_batch_size": 250,
                    "sync_description_field_id": self.name_field.id,
                }
            ],
        )
        self.assertTrue(connected._crmcom_is_connected())
        self.assertFalse(
            self.env["crmcom.token"].search([("company_id", "=", connected.id)]),
            "a token not bound to its server is forgotten",
        )

        self.assertFalse(self.connections(self.main_company), "the demo connection is gone")
        self.assertFalse(self.main_company._crmcom_is_connected())
        self.assertFalse(self.xmlids(demo.id), "and so is its xmlid")
        self.assertFalse(self.demo_xmlid())
        self.assertTrue(
            self.env["ir.model.data"].search(
                [("model", "=", "res.company"), ("res_id", "=", self.main_company.id)]
            ),
            "the company's own xmlid stays",
        )

        self.assertFalse(self.old_columns(), "the old columns are dropped")
        self.assertFalse(self.secret_table_exists(), "the old secrets are dropped")

    def test_a_connected_main_company_takes_over_the_demo_record_and_its_xmlid(self):
        self.connected_settings(self.main_company)
        demo = self.demo_connection(self.main_company)

        self.migrate()

        connection = self.connections(self.main_company)
        self.assertEqual(connection, demo, "the demo's row is the one updated")
        self.assertRecordValues(
            connection,
            [{"base_url": "https://crm.example.com", "api_key": "KEY-7", "unit": "STORE07"}],
        )
        self.assertEqual(self.demo_xmlid().res_id, connection.id)

    def test_no_demo_xmlid_is_made_without_demo_data(self):
        self.assertFalse(self.demo_xmlid())
        self.connected_settings(self.main_company)

        self.migrate()

        connection = self.connections(self.main_company)
        self.assertEqual(len(connection), 1)
        self.assertTrue(connection.enabled)
        self.assertEqual(connection.base_url, "https://crm.example.com")
        self.assertFalse(self.xmlids(connection.id), "no xmlid for the moved connection")
        self.assertFalse(self.demo_xmlid())

    def test_a_fresh_install_migrates_nothing(self):
        self.connected_settings(self.main_company)

        self.migrate(version=None)

        self.assertFalse(self.connections(self.main_company))
        self.assertEqual(self.old_columns(), set(OLD_TYPES), "the columns stay")
        self.assertTrue(self.secret_table_exists())

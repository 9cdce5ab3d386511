"""Migrations run on the old schema. 19.0.1.4.0: each company's connection moves from
res.company and crmcom_secret to crmcom.connection, and the old columns and table go.

The old schema is made again inside the test transaction (DDL is transactional in
PostgreSQL): everything is rolled back at the end."""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from ..models.crmcom_connection import MAX_TIMEOUT
from .common import CashierCase, connect_company

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
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


def _load_migration(version="19.0.1.4.0"):
    spec = importlib.util.spec_from_file_location(
        f"pos_crmcom_rewards_migration_{version.replace('.', '_')}",
        MIGRATIONS / version / "post-migrate.py",
    )
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


@tagged("post_install", "-at_install")
class TestMigrationOfSharedParticipants(CashierCase):
    """Migration 19.0.1.5.0: shared contacts of participants go to their company."""

    def migrate(self):
        self.env.flush_all()
        _load_migration("19.0.1.5.0").migrate(self.env.cr, "19.0.1.4.0")
        self.env.invalidate_all()

    def shared(self, partner):
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_partner SET company_id = NULL WHERE id = %s", [partner.id])
        self.env.invalidate_all()
        return partner

    def test_shared_contacts_go_to_the_company_of_their_sales(self):
        john = self.john()
        self.paid_order(self.shared(john), "uuid-migrate-1")
        never_sold = self.shared(
            self.env["res.partner"].sudo()._crmcom_find_or_create({"number": "P0002"}, self.company)
        )
        # Another company is connected too: nobody can tell whose the never sold one is.
        connect_company(self.env["res.company"].create({"name": "Sister shop"}), self.simulator)
        self.migrate()
        self.assertEqual(john.company_id, self.company)
        self.assertFalse(never_sold.company_id)

    def test_a_contact_never_sold_to_goes_to_the_only_connected_company(self):
        connections = self.env["crmcom.connection"].sudo()
        connections.search([("company_id", "!=", self.company.id)]).unlink()
        never_sold = self.shared(
            self.env["res.partner"].sudo()._crmcom_find_or_create({"number": "P0002"}, self.company)
        )
        self.migrate()
        self.assertEqual(never_sold.company_id, self.company)

    def test_a_contact_of_several_companies_sales_stays_shared(self):
        john = self.john()
        order = self.paid_order(self.shared(john), "uuid-migrate-2")
        self.paid_order(john, "uuid-migrate-3")
        other = self.env["res.company"].create({"name": "Sister shop"})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE pos_order SET company_id = %s WHERE id = %s", [other.id, order.id]
        )
        self.migrate()
        self.assertFalse(john.company_id)

    def test_a_fresh_install_changes_nothing(self):
        john = self.shared(self.john())
        _load_migration("19.0.1.5.0").migrate(self.env.cr, None)
        self.env.invalidate_all()
        self.assertFalse(john.company_id)

"""Product synchronisation: batches, incremental runs, per-product errors, outages, locking.

Long on purpose: every case shares one seeded catalogue and simulator, set up once."""

import json
from unittest.mock import patch

from odoo import sql_db
from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..models import crmcom_product_sync
from ..models.crmcom_product_state import _bool_array, _int_array, _text_array
from ..models.crmcom_product_sync import CALLS_PARAM, DEFAULT_CALLS, LOCK_CLASS
from .common import SimulatorMixin, connect_company

SYNC = "products/synchronise"


@tagged("post_install", "-at_install")
class TestProductSync(SimulatorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        cls.company = cls.env.company
        cls.connection = connect_company(cls.company, cls.simulator)
        cls.env["crmcom.connection"].search([("company_id", "!=", cls.company.id)]).write(
            {"enabled": False}
        )
        cls.category = cls.env["product.category"].create({"name": "Sync test"})
        cls.pos_category = cls.env["pos.category"].create({"name": "Coffee"})
        cls.products = cls.env["product.product"].create(
            [
                {
                    "name": f"Product {index}",
                    "default_code": f"SYNC-{index:05d}",
                    "categ_id": cls.category.id,
                    "available_in_pos": True,
                    "pos_categ_ids": [(6, 0, cls.pos_category.ids)],
                }
                for index in range(2500)
            ]
        )
        cls.engine = cls.env["crmcom.product.sync"]
        cls.catalogue = cls.env["crmcom.product.catalogue"]
        cls.cron = cls.env.ref("pos_crmcom_rewards.ir_cron_crmcom_product_sync")

    def setUp(self):
        super().setUp()
        self.reset_simulator()
        self.scope(50)

    # ------------------------------------------------------------------ helpers

    def scope(self, count):
        """Synchronise the first ``count`` test products only."""
        self.connection.sync_domain = repr([("id", "in", self.products[:count].ids)])

    def sync_calls(self):
        return self.env["crmcom.call.log"].search_count([("method", "=", SYNC)])

    def run_cron(self):
        """Run the scheduled action as the scheduler would (it commits after each batch)."""
        with self.enter_registry_test_mode():
            self.cron.method_direct_trigger()
        return self.env["crmcom.product.sync.run"].search([], limit=1)

    def crm_products(self):
        return {item["code"]: item for item in self.simulator_state()["products"]}

    def age_catalogue(self):
        """Date every write of the catalogue long before the last run: only what the test
        writes next counts as changed (in a test, everything else was written in the same
        transaction as the run)."""
        for table in ("product_product", "product_template", "product_category", "pos_category"):
            self.env.cr.execute(
                SQL("UPDATE %s SET write_date = '2000-01-01'", SQL.identifier(table))
            )

    def states(self, products):
        return self.env["crmcom.product.state"].search(
            [("company_id", "=", self.company.id), ("product_id", "in", products.ids)]
        )

    # ------------------------------------------------------------------ batches

    def test_batch_boundaries(self):
        for count, calls in ((999, 1), (1000, 1), (1001, 2), (2500, 3)):
            with self.subTest(count=count):
                self.scope(count)
                before = self.sync_calls()
                self.engine._request_full_resync(self.company)
                run = self.engine._sync_company(self.company, commit=False)
                self.assertEqual(run.state, "done", run.message)
                self.assertEqual(self.sync_calls() - before, calls)
                self.assertEqual((run.batches, run.sent, run.processed), (calls, count, count))
                self.assertEqual(len(self.crm_products()), count)

    def test_call_log_keeps_three_products_of_a_batch(self):
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual(run.sent, 50)
        log = self.env["crmcom.call.log"].search([("method", "=", SYNC)], limit=1)
        request = json.loads(log.request)
        self.assertEqual(request["token"], "***")
        self.assertEqual(
            [item if isinstance(item, str) else item["code"] for item in request["products_set"]],
            ["SYNC-00000", "SYNC-00001", "SYNC-00002", "... and 47 more products"],
        )

    def test_batch_size_is_configurable_but_never_over_1000(self):
        for size in (1001, 5000, 0, -1):
            with self.assertRaisesRegex(ValidationError, "between 1 and 1,000", msg=size):
                self.connection.sync_batch_size = size
        with self.assertRaisesRegex(ValidationError, "1,000"):
            self.connection.with_user(self.env.ref("base.user_admin")).sync_batch_size = 1500
        self.connection.sync_batch_size = 400
        self.scope(1001)
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual((run.batches, run.sent, self.sync_calls()), (3, 1001, 3))

    # ------------------------------------------------------------------ what is sent

    def test_mapping_and_fallback_code(self):
        self.connection.sync_type_field_id = self.env["ir.model.fields"]._get(
            "product.product", "type"
        )
        self.connection.sync_brand_field_id = self.env["ir.model.fields"]._get(
            "product.product", "barcode"
        )
        product = self.products[0]
        product.write({"description_sale": "A long text", "barcode": "BRAND-X"})
        no_code = self.products[1]
        no_code.default_code = "  "
        self.scope(2)
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual(run.state, "done", run.message)
        sent = self.crm_products()
        self.assertEqual(set(sent), {"SYNC-00000", f"ODOO-{no_code.id}"})
        self.assertEqual(set(sent), {product._crmcom_code(), no_code._crmcom_code()})
        item = sent["SYNC-00000"]
        self.assertEqual(item["description"], "Product 0")
        self.assertEqual(item["long_description"], "A long text")
        self.assertEqual(item["type_identifier"], {"name": "Goods"})
        self.assertEqual(item["brand_identifier"], {"name": "BRAND-X"})
        self.assertEqual(item["family_identifier"], {"name": "Sync test"})
        self.assertEqual(item["category_identifier"], {"name": "Coffee"})
        self.assertIsNone(item["product_validity_to"])
        self.assertEqual(product.crmcom_sync_state, "synced")
        self.assertEqual(product.crmcom_product_ref, item["id"])
        self.assertTrue(product.crmcom_synced_at)
        self.assertIn(
            product, self.env["product.product"].search([("crmcom_sync_state", "=", "synced")])
        )

    def test_archived_products_are_sent_as_no_longer_valid(self):
        self.scope(3)
        self.engine._sync_company(self.company, commit=False)
        product = self.products[2]
        product.action_archive()
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual(run.sent, 1)
        item = self.crm_products()["SYNC-00002"]
        self.assertTrue(item["product_validity_to"])
        self.assertEqual(item["life_cycle_state"], "NOT_EFFECTIVE")
        # Sent once: an archived product is not sent again and again.
        self.assertEqual(self.engine._sync_company(self.company, commit=False).sent, 0)
        product.action_unarchive()
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual(run.sent, 1)
        self.assertIsNone(self.crm_products()["SYNC-00002"]["product_validity_to"])
        self.assertEqual(self.engine._sync_company(self.company, commit=False).sent, 0)

    def test_scope_read_apart_when_it_cannot_share_the_catalogue_query(self):
        """The domain's conditions are read on the catalogue's own rows when its joins allow
        it; otherwise through a join with the domain's own query: both say the same."""
        self.scope(3)
        self.engine._sync_company(self.company, commit=False)
        self.products[1].action_archive()  # once sent: now sent as no longer valid
        self.products[2].default_code = "SYNC-CHANGED"
        Catalogue = type(self.catalogue)
        original = Catalogue._scope_query

        def with_inner_join(engine, company, Product):
            query = original(engine, company, Product)
            # An inner join (every product has a template): the scope cannot be merged.
            query.add_join(
                "JOIN",
                "crmcom_test_template",
                "product_template",
                SQL("crmcom_test_template.id = product_product.product_tmpl_id"),
            )
            return query

        def rows():
            self.env.cr.execute(self.catalogue._changes_query(self.company.sudo()).sql)
            return self.env.cr.fetchall()

        self.env.flush_all()
        merged = rows()
        with patch.object(Catalogue, "_scope_query", with_inner_join):
            apart = rows()
            self.assertIn("crmcom_scope", self.catalogue._changes_query(self.company).sql.code)
        self.assertNotIn("crmcom_scope", self.catalogue._changes_query(self.company).sql.code)
        self.assertEqual(merged, apart)
        valid = {row[0]: row[1] for row in merged}
        self.assertEqual(valid, {self.products[1].id: False, self.products[2].id: True})

    def test_a_committing_run_reads_on_a_connection_of_its_own(self):
        """The scheduled run reads the catalogue ahead on a second connection, in a thread of
        its own. That connection sees what is committed: the products of the database."""
        committed = self.env["product.product"].search(
            [("available_in_pos", "=", True), ("id", "not in", self.products.ids)]
        )
        self.assertGreater(len(committed), 4, "the database has POS products of its own")
        self.connection.sync_domain = repr([("id", "in", committed.ids)])
        self.connection.sync_batch_size = 2  # several reads, several batches
        opened = []

        def reading_cursor(engine, commit):
            self.assertTrue(commit)
            # A connection of its own, as outside tests (here the registry's cursors all
            # share the test's connection).
            opened.append(sql_db.db_connect(self.env.cr.dbname).cursor())
            return opened[-1]

        with patch.object(type(self.engine), "_reading_cursor", reading_cursor):
            run = self.run_cron()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual((run.sent, run.processed), (len(committed), len(committed)))
        self.assertEqual(run.batches, (len(committed) + 1) // 2)
        self.assertEqual(set(self.crm_products()), {p._crmcom_code() for p in committed})
        self.assertEqual(len(opened), 1)
        self.assertTrue(opened[0].closed, "closed with the run")

    # ------------------------------------------------------------------ incremental

    def test_incremental_run_sends_only_changed_products(self):
        run = self.run_cron()
        self.assertEqual((run.state, run.sent, run.trigger), ("done", 50, "cron"))
        self.assertEqual(self.run_cron().sent, 0, "nothing changed, nothing sent")
        calls = self.sync_calls()
        self.products[3].name = "Renamed"
        self.products[7].description_sale = "New text"
        self.products[9].categ_id = self.env["product.category"].create({"name": "Other"})
        self.products[11].standard_price = 99  # not synchronised: not a change
        run = self.run_cron()
        self.assertEqual((run.sent, run.processed, run.batches), (3, 3, 1))
        self.assertEqual(self.sync_calls(), calls + 1)
        sent = self.crm_products()
        self.assertEqual(sent["SYNC-00003"]["description"], "Renamed")
        self.assertEqual(sent["SYNC-00009"]["family_identifier"], {"name": "Other"})
        # Renaming a category changes the payload of its products (none of them is written).
        self.category.name = "Renamed family"
        self.assertEqual(self.run_cron().sent, 49)  # product 9 is in another one now
        self.assertEqual(
            self.crm_products()["SYNC-00001"]["family_identifier"]["name"], "Renamed family"
        )
        self.pos_category.name = "Renamed POS category"
        self.assertEqual(self.run_cron().sent, 50)
        self.assertEqual(self.run_cron().sent, 0)
        # A full resync sends everything again.
        self.engine._request_full_resync(self.company)
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual(run.sent, 50)

    def test_incremental_run_rebuilds_only_what_was_written_since_the_last_run(self):
        self.run_cron()
        self.age_catalogue()
        # A stored hash that no longer matches goes unnoticed when nothing was written...
        self.env.cr.execute(
            SQL(
                "UPDATE crmcom_product_state SET payload_hash = 'stale' WHERE product_id = ANY(%s)",
                self.products[:5].ids,
            )
        )
        self.assertEqual(self.run_cron().sent, 0)
        # ... and is sent when something it is made of was.
        self.products[1].name = "Written"
        self.assertEqual(self.run_cron().sent, 1)
        self.pos_category.name = "Written too"
        self.assertEqual(self.run_cron().sent, 50)
        # A changed mapping rebuilds everything.
        self.connection.sync_type_field_id = self.env["ir.model.fields"]._get(
            "product.product", "type"
        )
        self.assertEqual(self.run_cron().sent, 50)
        self.assertEqual(self.crm_products()["SYNC-00001"]["type_identifier"], {"name": "Goods"})

    def test_incremental_run_pages_through_the_products_that_may_have_changed(self):
        """Products written since the last run are looked at a batch at a time, whether
        their payload changed or not; only the changed ones fill the batches."""
        self.run_cron()
        self.age_catalogue()
        self.connection.sync_batch_size = 2
        changed = self.products[3] | self.products[8] | self.products[9] | self.products[20]
        changed |= self.products[49]
        for product in changed:
            product.name = f"{product.name} (new)"
        # Written, but nothing they send changed: looked at, not sent.
        (self.products[4] | self.products[10] | self.products[21]).standard_price = 12
        run = self.run_cron()
        self.assertEqual((run.sent, run.batches, run.state), (5, 3, "done"))
        sent = self.crm_products()
        self.assertEqual(sent["SYNC-00049"]["description"], "Product 49 (new)")
        self.assertEqual(self.run_cron().sent, 0)

    def test_incremental_run_finds_new_products_and_scope_changes(self):
        """Products that enter or leave the scope are found without scanning every product:
        through their own write, one of a record the domain reads, or a new domain."""
        unit = self.products[0].uom_id
        self.connection.sync_domain = repr(
            [("id", "in", self.products[:50].ids), ("uom_id.name", "=", unit.name)]
        )
        self.assertEqual(self.run_cron().sent, 50)
        self.age_catalogue()
        self.assertEqual(self.run_cron().sent, 0)
        # Renaming their unit of measure (the only record written) takes the products out.
        unit.name = "Renamed unit"
        run = self.run_cron()
        self.assertEqual((run.sent, run.processed), (50, 50))
        self.assertTrue(self.crm_products()["SYNC-00007"]["product_validity_to"])
        self.assertEqual(self.run_cron().sent, 0)
        # Another domain is part of the mapping: every product is looked at again.
        self.age_catalogue()
        self.scope(10)
        run = self.run_cron()
        self.assertEqual(run.sent, 10)
        self.assertIsNone(self.crm_products()["SYNC-00007"]["product_validity_to"])
        # A product created since the last run is sent.
        self.connection.sync_domain = repr([("default_code", "=like", "SYNC-%")])
        self.run_cron()
        self.age_catalogue()
        self.assertEqual(self.run_cron().sent, 0)
        self.env["product.product"].create({"name": "New", "default_code": "SYNC-NEW"})
        self.assertEqual(self.run_cron().sent, 1)
        self.assertIn("SYNC-NEW", self.crm_products())

    def test_scope_paths(self):
        """Which records decide the scope, as field paths from the product; none when the
        domain reads links (many2many) that may change without any of them being written."""
        Product = self.catalogue._product_model(self.company)

        def paths(domain):
            self.connection.sync_domain = repr(domain)
            return self.catalogue._scope_paths(self.company, Product)

        self.assertEqual(paths([("available_in_pos", "=", True)]), {(), ("product_tmpl_id",)})
        self.assertEqual(
            paths([("categ_id.parent_id.name", "=", "X")]),
            {
                (),
                ("product_tmpl_id",),
                ("product_tmpl_id", "categ_id"),
                ("product_tmpl_id", "categ_id", "parent_id"),
            },
        )
        self.assertIsNone(paths([("pos_categ_ids", "!=", False)]))
        self.assertIsNone(paths([("pos_categ_ids.name", "=", "Coffee")]))

    def test_candidates_need_write_dates(self):
        """A record without a write date cannot say it changed: every product is rebuilt."""
        Product = self.catalogue._product_model(self.company)
        since = "2000-01-01"
        self.assertIsNotNone(
            self.catalogue._candidates_sql(self.company, Product, {(), ("product_tmpl_id",)}, since)
        )
        # crmcom.product.state keeps no write date (_log_access = False).
        self.assertIsNone(
            self.catalogue._candidates_sql(self.company, Product, {("crmcom_state_ids",)}, since)
        )

    def test_scope_read_on_every_product_when_it_reads_links(self):
        """A domain on a many2many: its links may change with no record written, so the
        scope of every product is evaluated at each run."""
        self.connection.sync_domain = repr(
            [("id", "in", self.products[:5].ids), ("pos_categ_ids", "!=", False)]
        )
        self.assertEqual(self.run_cron().sent, 5)
        self.age_catalogue()
        self.assertEqual(self.run_cron().sent, 0)
        # A link removed without the ORM: nothing was written.
        self.env.cr.execute(
            SQL(
                "DELETE FROM pos_category_product_template_rel WHERE product_template_id = %s",
                self.products[3].product_tmpl_id.id,
            )
        )
        self.assertEqual(self.run_cron().sent, 1)
        self.assertTrue(self.crm_products()["SYNC-00003"]["product_validity_to"])

    def test_full_resync_button_and_sync_now_wake_the_scheduled_action(self):
        self.engine._sync_company(self.company, commit=False)
        settings = self.env["res.config.settings"].create({})
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])
        action = settings.action_crmcom_sync_products_full()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(set(self.states(self.products[:50]).mapped("state")), {"pending"})
        action = settings.action_crmcom_sync_products()
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)]),
            triggers + 2,
        )
        run = self.run_cron()
        self.assertEqual((run.sent, run.trigger), (50, "requested"), "recorded as asked for")
        self.assertEqual(self.run_cron().trigger, "cron", "the next scheduled run is the cron's")

    # ------------------------------------------------------------------ per-product errors

    def test_a_run_that_writes_many_states_has_them_analysed(self):
        """PostgreSQL is told of the states a large run wrote, not a minute later; only when
        the run wrote more than the planner believes there are."""
        Sync = type(self.engine)
        Cursor = type(self.env.cr)
        execute, analysed = Cursor.execute, []

        def spying_execute(cr, query, *args, **kwargs):
            if "ANALYZE" in str(getattr(query, "code", query)):
                analysed.append(query)
            return execute(cr, query, *args, **kwargs)

        def run(count, planned):
            analysed.clear()
            self.scope(count)
            with (
                patch.object(crmcom_product_sync, "ANALYSE_AFTER", 1000),
                patch.object(Sync, "_planned_states", return_value=planned),
                patch.object(Cursor, "execute", spying_execute),
            ):
                self.engine._request_full_resync(self.company)
                self.engine._sync_company(self.company, commit=False)
            return len(analysed)

        self.assertEqual(run(500, planned=0), 0, "fewer than the threshold: autovacuum's")
        self.assertEqual(run(2000, planned=0), 1)
        self.assertEqual(run(2000, planned=10**6), 0, "the planner knows of more")
        # What the planner believes, once analysed: every state.
        self.env.cr.execute("ANALYZE crmcom_product_state")
        self.assertEqual(
            self.engine._planned_states(),
            self.env["crmcom.product.state"].search_count([]),
        )

    def test_state_arrays_reach_postgresql_unchanged(self):
        """A batch's states travel as array literals: any text, NULL included, arrives as is."""
        texts = ['a"b', "c\\d", "NULL", None, "{x,y}", " spaced ", "é€", "", "two\nlines", "'"]
        self.env.cr.execute(
            SQL(
                "SELECT %s::text[], %s::int[], %s::bool[]",
                _text_array(texts),
                _int_array([3, 1, 2_000_000_000]),
                _bool_array([True, False, None]),
            )
        )
        self.assertEqual(
            self.env.cr.fetchone(), (texts, [3, 1, 2_000_000_000], [True, False, False])
        )

    def test_refused_products_keep_their_error_and_are_retried(self):
        self.simulator.config.update({"refused_product_codes": ["SYNC-00004", "SYNC-00020"]})
        run = self.run_cron()
        self.assertEqual(run.state, "done_with_errors")
        self.assertEqual((run.sent, run.processed, run.unprocessed), (50, 48, 2))
        bad = self.products[4] | self.products[20]
        for product in bad:
            self.assertEqual(product.crmcom_sync_state, "error")
            self.assertEqual(
                product.crmcom_sync_error,
                "PRODUCT_REFUSED: Refused by the synchronisation definition",
            )
        self.assertEqual(
            self.env["product.product"].search(
                [("crmcom_sync_state", "=", "error"), ("id", "in", self.products.ids)]
            ),
            bad,
        )
        self.assertEqual(self.products[5].crmcom_sync_state, "synced")
        # Next run: only the two refused products, which now pass.
        self.simulator.config.update({"refused_product_codes": []})
        run = self.run_cron()
        self.assertEqual((run.state, run.sent, run.processed), ("done", 2, 2))
        self.assertEqual(set(self.states(bad).mapped("state")), {"synced"})
        self.assertFalse(any(self.states(bad).mapped("error")))

    # ------------------------------------------------------------------ outages

    def fail_second_batch(self, kind):
        """Patch the engine so that CRM.COM fails (``kind``) on the second batch of a run."""
        submit = type(self.engine)._submit
        calls = []

        def failing_submit(engine, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:  # the first call is over: its reply was read
                self.simulator.faults.add(kind, method=SYNC, times=1)
            return submit(engine, *args, **kwargs)

        return patch.object(type(self.engine), "_submit", failing_submit)

    def run_with_outage(self, kind):
        """A scheduled run of 2,500 products, none sent yet, that meets an outage."""
        self.reset_simulator()
        self.env["crmcom.product.state"].search([]).unlink()
        self.scope(2500)
        with self.fail_second_batch(kind):
            run = self.run_cron()
        self.assertEqual(run.state, "interrupted")
        return run

    def test_outage_mid_run_keeps_finished_batches_and_resumes(self):
        # One call at a time: the second batch is sent only once the first one's reply is in.
        self.env["ir.config_parameter"].set_param(CALLS_PARAM, "1")
        for kind in ("http_500", "drop", "drop_after"):
            with self.subTest(kind=kind):
                run = self.run_with_outage(kind)
                self.assertIn("could not be reached", run.message)
                self.assertEqual((run.batches, run.processed), (1, 1000))
                states = self.states(self.products)
                self.assertEqual(len(states), 1000)
                self.assertEqual(set(states.mapped("state")), {"synced"})
                self.assertEqual(self.products[1500].crmcom_sync_state, "pending")
                # The next run completes the job, without sending the first batch again.
                run = self.run_cron()
                self.assertEqual((run.state, run.sent, run.batches), ("done", 1500, 2))
                crm = self.crm_products()
                self.assertEqual(len(crm), 2500, "no duplicates")
                self.assertEqual(len(self.states(self.products).filtered("crmcom_id")), 2500)
                self.assertEqual(self.run_cron().sent, 0)

    def test_outage_with_calls_in_flight_loses_and_doubles_nothing(self):
        """Several calls travel at once (three by default): any may meet the outage. Whatever
        was recorded is synced, the rest pending, and the next run sends exactly the rest."""
        self.assertEqual(self.engine._calls(), DEFAULT_CALLS)
        self.assertEqual(DEFAULT_CALLS, 3)
        for kind in ("http_500", "drop_after"):
            with self.subTest(kind=kind):
                run = self.run_with_outage(kind)
                self.assertIn(run.processed, (0, 1000, 2000))  # the batches before the failed one
                self.assertEqual(run.processed, 1000 * run.batches)
                synced = self.states(self.products).filtered(lambda s: s.state == "synced")
                self.assertEqual(len(synced), run.processed)
                run = self.run_cron()
                self.assertEqual(run.state, "done")
                self.assertEqual(run.sent, 2500 - len(synced))
                self.assertEqual(len(self.crm_products()), 2500, "no duplicates")
                self.assertEqual(self.run_cron().sent, 0)

    def test_calls_in_flight_is_a_bounded_system_parameter(self):
        for value, calls in (("1", 1), ("2", 2), ("9", 4), ("0", 1), ("many", 3)):
            self.env["ir.config_parameter"].set_param(CALLS_PARAM, value)
            self.assertEqual(self.engine._calls(), calls, value)

    def test_outage_at_the_start_is_recorded(self):
        self.simulator.faults.add("drop", method=SYNC, times=1)
        run = self.run_cron()
        self.assertEqual((run.state, run.processed), ("interrupted", 0))
        self.assertTrue(run.ended_at)
        self.assertEqual(self.run_cron().processed, 50)

    def test_unknown_definition_fails_the_run_with_crmcom_reason(self):
        self.company._crmcom_connection().sync_definition = "NO SUCH DEFINITION"
        run = self.run_cron()
        self.assertEqual(run.state, "failed")
        self.assertIn("refused", run.message)
        self.assertFalse(self.states(self.products[:50]))

    # ------------------------------------------------------------------ locking

    def test_two_runs_never_overlap(self):
        # Another worker runs the synchronisation of this company: it holds the lock.
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other:
            other.execute(SQL("SELECT pg_advisory_lock(%s, %s)", LOCK_CLASS, self.company.id))
            try:
                run = self.engine._sync_company(self.company, commit=False)
                self.assertEqual(run.state, "skipped")
                self.assertIn("Another product synchronisation", run.message)
                self.assertEqual(self.sync_calls(), 0)
                action = self.env["res.config.settings"].create({}).action_crmcom_sync_products()
                self.assertIn("already running", action["params"]["message"])
                cron_run = self.run_cron()
                self.assertEqual(cron_run.state, "skipped")
                self.assertEqual(self.sync_calls(), 0)
            finally:
                other.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", LOCK_CLASS, self.company.id))
        self.assertEqual(self.engine._sync_company(self.company, commit=False).state, "done")

    def test_a_run_left_running_by_a_crash_is_closed_by_the_next(self):
        stale = self.env["crmcom.product.sync.run"].create(
            {"company_id": self.company.id, "state": "running"}
        )
        run = self.engine._sync_company(self.company, commit=False)
        self.assertEqual((stale.state, run.state), ("interrupted", "done"))

    # ------------------------------------------------------------------ product action

    def test_product_action_sends_the_selected_products_now(self):
        self.engine._sync_company(self.company, commit=False)
        template = self.products[5].product_tmpl_id
        action = template.action_crmcom_sync()
        self.assertEqual(action["params"]["type"], "success")
        run = self.env["crmcom.product.sync.run"].search([], limit=1)
        self.assertEqual((run.trigger, run.sent, run.processed), ("products", 1, 1))
        self.assertEqual(template.crmcom_state_ids.state, "synced")
        action = self.products[6:9].action_crmcom_sync()
        self.assertIn("3 products sent", action["params"]["message"])

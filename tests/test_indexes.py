"""What grows with time stays cheap: every query the add-on runs on its growing tables (the
call log, the outbox, the product states) is served by an index, on tables of the size a
chain reaches, as PostgreSQL plans it (EXPLAIN), not as a stopwatch says.

The tables are filled in the test's transaction with ``generate_series`` (rolled back at the
end) and analysed, so the planner sees realistic sizes and distributions: a million calls
over 30 days and more, a million purchases nearly all posted, and a few rows of each kind
the queries look for.
"""

import json
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .common import CashierCase

ROWS = 1_000_000


def _scans(plan, found=None):
    """``(node type, relation, index)`` of every scan of ``plan`` (EXPLAIN's JSON tree)."""
    found = [] if found is None else found
    if "Relation Name" in plan:
        index = plan.get("Index Name")
        if plan["Node Type"] == "Bitmap Heap Scan":  # its index is read by the node below
            index = next((child.get("Index Name") for child in plan.get("Plans", [])), None)
        found.append((plan["Node Type"], plan["Relation Name"], index))
    for child in plan.get("Plans", []):
        _scans(child, found)
    return found


@tagged("post_install", "-at_install")
class TestIndexes(CashierCase):
    def explain(self, query, params=None):
        cr = self.env.cr
        sql = query if isinstance(query, SQL) else SQL(query, *(params or ()))
        cr.execute(SQL("EXPLAIN (FORMAT JSON) %s", sql))
        plan = cr.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return _scans(plan[0]["Plan"])

    def assertIndexed(self, table, query, params=None):
        """``query`` reads ``table`` through an index only: never a scan of the whole."""
        scans = [scan for scan in self.explain(query, params) if scan[1] == table]
        self.assertTrue(scans, f"{table} is not read by {query}")
        for node, _relation, index in scans:
            self.assertNotEqual(node, "Seq Scan", f"{table} read whole by: {query}")
            self.assertTrue(index, f"{table}: {node} without an index, for {query}")
        return scans

    def captured(self, run):
        """The SQL statements ``run()`` sends on the test's cursor."""
        statements, cr = [], self.env.cr
        execute = type(cr).execute

        def record(cursor, query, params=None, log_exceptions=True):
            if cursor is cr:
                statements.append((query, params))
            return execute(cursor, query, params, log_exceptions)

        with patch.object(type(cr), "execute", record):
            run()
        return statements

    # ------------------------------------------------------------------ the call log

    def fill_call_log(self):
        purchase = self.env["crmcom.purchase"].sudo().search([], limit=1)
        self.env.flush_all()
        # A million calls, the oldest 60 days ago; a third of them logged on purchases.
        self.env.cr.execute(
            SQL(
                """INSERT INTO crmcom_call_log
                        (company_id, method, called_at, duration_ms, outcome, request,
                         res_model, res_id)
                   SELECT %(company)s, 'contacts/search', now() at time zone 'UTC'
                              - (g * interval '5 seconds'), 3, 'ok', '{}',
                          CASE WHEN g %% 3 = 0 THEN 'crmcom.purchase' END,
                          CASE WHEN g %% 3 = 0 THEN g END
                     FROM generate_series(1, %(rows)s) AS g""",
                company=self.env.company.id,
                rows=ROWS,
            )
        )
        self.env.cr.execute(SQL("ANALYZE crmcom_call_log"))
        return purchase

    def test_call_log_queries_use_indexes(self):
        self.fill_call_log()
        logs = self.env["crmcom.call.log"]
        # The CRM.COM tab of an order and of an outbox row.
        query = logs._search([("res_model", "=", "crmcom.purchase"), ("res_id", "=", 3000)])
        self.assertIndexed("crmcom_call_log", query.select())
        # The list, newest first, one page.
        query = logs._search([], order="id desc", limit=80)
        self.assertIndexed("crmcom_call_log", query.select())
        # Pruning: a batch of what is older than the retention period.
        statements = self.captured(lambda: logs._prune(limit=10))
        [(select, params)] = [
            (s, p) for s, p in statements if "SELECT" in str(s) and "called_at" in str(s)
        ]
        self.assertIndexed("crmcom_call_log", select, params)

        # A backlog of old rows is pruned in batches, each its own transaction: no statement
        # touches more than a batch, so no lock is held on many rows for long.
        retention = fields.Datetime.now() - timedelta(days=30)
        old = logs.search_count([("called_at", "<", retention)])
        self.assertGreater(old, ROWS / 3)
        commits = []
        with patch.object(
            type(self.env["ir.cron"]),
            "_commit_progress",
            lambda _cron, processed=0, **_kw: (
                commits.append(processed) or (2 if len(commits) < 3 else 0)
            ),
        ):
            logs._cron_prune()
        # Stopped by the cron's time budget after three batches, each committed on its own.
        self.assertEqual(len(commits), 3)
        self.assertTrue(all(0 < batch <= 5000 for batch in commits), commits)
        self.assertEqual(logs.search_count([("called_at", "<", retention)]), old - sum(commits))

    # ------------------------------------------------------------------ the outbox

    def fill_outbox(self):
        order = self.paid_order(self.john(), "uuid-index")
        self.env.flush_all()
        # A million purchases of paid orders, nearly all posted (the shape of a year of a
        # chain), and a few of each kind the job and the clean-up look for.
        self.env.cr.execute(
            SQL(
                """INSERT INTO crmcom_purchase
                        (order_uuid, pos_order_id, config_id, company_id, participant_number,
                         reference, performed_on, state, amount_total, awarded, spent,
                         create_date, write_date)
                   SELECT 'uuid-' || g, CASE WHEN g %% 1000 = 7 THEN NULL ELSE %(order)s END,
                          %(config)s, %(company)s, 'P' || (g %% 50000), 'Order ' || g,
                          now() at time zone 'UTC', CASE
                              WHEN g %% 100000 = 1 THEN 'pending'
                              WHEN g %% 100000 = 2 THEN 'unknown'
                              WHEN g %% 100000 = 3 THEN 'to_cancel'
                              WHEN g %% 100000 = 4 THEN 'sending'
                              WHEN g %% 50 = 0 THEN 'cancelled'
                              ELSE 'posted' END,
                          10, 0.5, 0, now() at time zone 'UTC', now() at time zone 'UTC'
                     FROM generate_series(1, %(rows)s) AS g""",
                order=order.id,
                config=self.config.id,
                company=self.config.company_id.id,
                rows=ROWS,
            )
        )
        self.env.cr.execute(SQL("ANALYZE crmcom_purchase"))

    def test_outbox_queries_use_indexes(self):
        self.fill_outbox()
        purchases = self.env["crmcom.purchase"].sudo()
        # The job: the next due row.
        statements = self.captured(lambda: purchases._lock_next_due_once(passed={1}))
        [(due, params)] = [(s, p) for s, p in statements if "SKIP LOCKED" in str(s)]
        self.assertIndexed("crmcom_purchase", due, params)
        # The clean-up of abandoned spends, each run of the job.
        statements = self.captured(purchases._cancel_abandoned)
        (unlinked, params) = next(
            (s, p)
            for s, p in statements
            if 'FROM "crmcom_purchase"' in str(s) and "pos_order_id" in str(s)
        )
        self.assertIndexed("crmcom_purchase", unlinked, params)
        # The till and the payment: an order's purchases; the order form's refunds.
        for domain in (
            [("order_uuid", "=", "uuid-123456")],
            [("pos_order_id", "in", [1, 2, 3])],
            [("replaces_id", "=", 42)],
        ):
            self.assertIndexed("crmcom_purchase", purchases._search(domain).select())

    # ------------------------------------------------------------------ product states

    def test_product_state_queries_use_indexes(self):
        """The product states grow with the catalogue (one row per product and company): their
        queries have an index to use whatever their size, as the planner says once told that
        a whole scan is the last resort."""
        states = self.env["crmcom.product.state"].sudo()
        company = self.env.company
        self.env.cr.execute(SQL("SET LOCAL enable_seqscan = off"))
        catalogue = self.env["crmcom.product.catalogue"]
        failed = catalogue._candidates_sql(company, self.env["product.product"], set(), None)
        self.assertIndexed("crmcom_product_state", failed)
        for domain in (
            [("product_id", "=", 1), ("company_id", "=", company.id)],
            [("company_id", "=", company.id), ("state", "=", "error")],
        ):
            self.assertIndexed("crmcom_product_state", states._search(domain).select())

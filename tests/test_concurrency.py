"""Real concurrency: two Odoo workers on one outbox, two tills on one wallet.

TransactionCase cannot show this: all its cursors share the test's single connection and
transaction. These tests are BaseCase tests, like Odoo's own concurrency tests (e.g.
``TestOnboardingConcurrency``): every worker or till runs in a thread of its own, on a real
``registry.cursor()`` (its own connection, REPEATABLE READ like any Odoo request), and
commits. What the workers need is set up on committed cursors too, and everything committed
is removed again (per test, and per class), because the database is reused by the tests
that run after these.

Overlap is made certain, never hoped for: the simulator holds the first CRM.COM calls of
interest at a barrier until both threads have made one, so both transactions are open and
both requests in flight at the same moment; a slow reply (fault injection) keeps the rest
interleaved. No assertion depends on timing; every wait has a generous timeout.
"""

import contextlib
import itertools
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from unittest.mock import patch

import requests

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.orm.environments import Transaction
from odoo.service.model import retrying
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import SQL

from ..models.crmcom_connection import MAX_TIMEOUT
from ..simulator.server import SimulatorServer
from .common import connect_company

# Generous: the machine is small and shared; nothing here measures time.
WAIT = 120
PURCHASE_CREATE = "customer_events/purchases/create"
SPEND_CREATE = "customer_events/spend_requests/create"
CONNECTION_FIELDS = (
    "base_url",
    "auth_mode",
    "api_key",
    "unit_key",
    "unit",
    "timeout",
    "enabled",
)
PREFIX = "CONCURRENCY"  # every order and purchase these tests make is named after it


class CommittedOutboxCase(BaseCase):
    """Two tills of the main company with open sessions, John, and the simulator, all
    committed; what each test commits is removed again (see the module's doc)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.simulator = SimulatorServer(host="127.0.0.1", port=0, seed=True).start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.saved = {}
        cls.addClassCleanup(cls._restore_database)  # also after a setup that failed midway
        with cls.committed_env() as env:
            company = env.ref("base.main_company")
            cls.company_id = company.id
            connection = company._crmcom_connection()
            cls.saved["connection"] = {name: connection[name] for name in CONNECTION_FIELDS}
            # Long enough for a request held at the simulator's barrier (see module doc).
            connect_company(company, cls.simulator, timeout=MAX_TIMEOUT)
            configs = env["pos.config"].search([("company_id", "=", company.id)], order="id")
            if len(configs) < 2 or configs[:2].session_ids.filtered(lambda s: s.state != "closed"):
                raise AssertionError("needs two demo points of sale without an open session")
            cls.config_ids = configs[:2].ids
            cls.saved["configs"] = {
                config.id: {
                    "crmcom_enabled": config.crmcom_enabled,
                    "crmcom_discount_product_id": config.crmcom_discount_product_id.id,
                }
                for config in configs[:2]
            }
            spend_product = env.ref("pos_crmcom_rewards.product_crmcom_wallet_spend")
            for config in configs[:2]:
                config.write(
                    {"crmcom_enabled": True, "crmcom_discount_product_id": spend_product.id}
                )
            # Two tills, each with an open session (opened directly: no cash control, no
            # session number taken from the sequence).
            sessions = env["pos.session"]
            for config in configs[:2]:  # one at a time: Odoo's constraint checks a single one
                sessions |= sessions.create({"config_id": config.id, "user_id": SUPERUSER_ID})
                cls.saved["session_ids"] = sessions.ids
            sessions.write({"state": "opened", "start_at": fields.Datetime.now()})
            cls.session_ids = sessions.ids
            # As identifying him at a till leaves him: linked, with the balance then read.
            john = env["res.partner"].create(
                {
                    "name": f"{PREFIX} John Doe",
                    "crmcom_participant_number": "P0001",
                    "crmcom_balance": 25.0,
                }
            )
            cls.saved["partner_id"] = cls.john_id = john.id
            cls.product_id = (
                env["product.product"]
                .search(
                    [("available_in_pos", "=", True), ("id", "!=", spend_product.id)],
                    order="id",
                    limit=1,
                )
                .id
            )
            cls.spend_product_id = spend_product.id
            cls.admin_id = env.ref("base.user_admin").id

    @classmethod
    def _restore_database(cls):
        """Undo what setUpClass committed (whatever part of it was done)."""
        with cls.committed_env() as env:
            cls._remove_test_records(env)
            saved = cls.saved
            if saved.get("session_ids"):
                env["pos.session"].browse(saved["session_ids"]).exists().unlink()
            for config_id, values in saved.get("configs", {}).items():
                env["pos.config"].browse(config_id).write(values)
            if saved.get("partner_id"):
                env["res.partner"].browse(saved["partner_id"]).exists().unlink()
            if saved.get("connection"):
                env["res.company"].browse(cls.company_id)._crmcom_connection().write(
                    saved["connection"]
                )

    @classmethod
    def _remove_test_records(cls, env):
        """What a test committed: purchases, orders, call log entries, CRM.COM tokens."""
        purchases = env["crmcom.purchase"].search([("reference", "=like", f"{PREFIX}%")])
        purchases.write({"replaces_id": False})
        purchases.unlink()
        env["pos.order"].search([("pos_reference", "=like", f"{PREFIX}%")]).unlink()
        if cls.saved.get("last_log_id") is not None:
            env.cr.execute(
                SQL("DELETE FROM crmcom_call_log WHERE id > %s", cls.saved["last_log_id"])
            )
        # The tokens our simulator issued are worthless to the tests that come next.
        env.cr.execute(SQL("DELETE FROM crmcom_token WHERE company_id = %s", cls.company_id))
        if cls.saved.get("partner_id"):
            env["res.partner"].browse(cls.saved["partner_id"]).write(
                {"crmcom_balance": 25.0, "crmcom_balance_date": False}
            )

    def setUp(self):
        super().setUp()
        self.simulator.reset(seed=True)
        with self.committed_env() as env:
            env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM crmcom_call_log")
            self.saved["last_log_id"] = env.cr.fetchone()[0]
            self._remove_test_records(env)  # a failed earlier run may have left some
        self.addCleanup(self._cleanup_test)

    def _cleanup_test(self):
        with self.committed_env() as env:
            self._remove_test_records(env)
        self.simulator.reset(seed=True)

    # ------------------------------------------------------------------ helpers

    @classmethod
    def _env(cls, cr, uid):
        # Given its registry: Odoo's own test runner holds the registries' lock while the
        # tests run, so a thread looking the registry up by name would wait for ever.
        cr.transaction = Transaction(cls.registry)
        return api.Environment(cr, uid, {})

    @classmethod
    @contextlib.contextmanager
    def committed_env(cls, uid=SUPERUSER_ID):
        """An environment on a real cursor of its own, committed at the end."""
        with cls.registry.cursor() as cr:
            yield cls._env(cr, uid)

    @contextlib.contextmanager
    def rolled_back_env(self, uid=SUPERUSER_ID):
        """An environment on a real cursor of its own, rolled back at the end."""
        with self.registry.cursor() as cr:
            try:
                yield self._env(cr, uid)
            finally:
                cr.rollback()

    def hold_at_barrier(self, method, calls=2):
        """The first ``calls`` API calls of ``method`` wait for each other in the simulator.

        Each is held before it is processed, outside the simulator's lock, so they are all in
        flight (and their Odoo transactions open) at once. Returns the barrier: it is broken
        (and the held calls fail) if they never all arrive.
        """
        barrier = threading.Barrier(calls, timeout=WAIT / 4)
        seen = itertools.count()
        process = self.simulator.process

        def held(path, raw_body, headers):
            if path == method and next(seen) < calls:
                barrier.wait()
            return process(path, raw_body, headers)

        self.simulator.process = held
        self.addCleanup(vars(self.simulator).pop, "process", None)
        return barrier

    def run_together(self, *jobs):
        """Run each job in a thread of its own, all started at the same moment."""
        start = threading.Barrier(len(jobs), timeout=WAIT)

        def run(job):
            start.wait()
            return job()

        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="concurrency") as pool:
            futures = [pool.submit(run, job) for job in jobs]
            return [future.result(timeout=WAIT * 2) for future in futures]

    def crm_state(self):
        """What CRM.COM holds now, as its control endpoint reports it (amounts as floats)."""
        return requests.get(self.simulator.url + "/_simulator/state", timeout=WAIT).json()

    def wallet(self, state, number="W0001"):
        return next(w for w in state["wallets"] if w["number"] == number)["balance"]

    def make_orders(self, env, count, session_id, tag):
        """``count`` committed draft orders of John (no sequence number is taken for them)."""
        return env["pos.order"].create(
            [
                {
                    "session_id": session_id,
                    "partner_id": self.john_id,
                    "uuid": f"{PREFIX.lower()}-{tag}-{index:03d}",
                    "pos_reference": f"{PREFIX}-{tag}-{index:03d}",
                    "sequence_number": index + 1,
                    "amount_tax": 0.0,
                    "amount_total": 30.0,
                    "amount_paid": 0.0,
                    "amount_return": 0.0,
                }
                for index in range(count)
            ]
        )

    def outbox_rows(self, env, orders):
        """A due ``pending`` purchase per order, as a paid order of a CRM.COM customer makes."""
        product = env["product.product"].browse(self.product_id)
        purchases = env["crmcom.purchase"]
        return purchases.create(
            [
                {
                    "order_uuid": order.uuid,
                    "pos_order_id": order.id,
                    "config_id": order.session_id.config_id.id,
                    "partner_id": self.john_id,
                    "participant_number": "P0001",
                    "reference": order.pos_reference,
                    "performed_on": fields.Datetime.now(),
                    "amount_total": 30.0,
                    "product_lines": purchases._product_lines([(product, 1, 30.0, 30.0)]),
                }
                for order in orders
            ]
        )


@tagged("post_install", "-at_install")
class TestConcurrency(CommittedOutboxCase):
    # ------------------------------------------------------------------ outbox

    def test_two_workers_draining_the_outbox_never_send_a_purchase_twice(self):
        count = 20
        with self.committed_env() as env:
            orders = self.make_orders(env, count, self.session_ids[0], "outbox")
            purchase_ids = self.outbox_rows(env, orders).ids
            references = set(orders.mapped("pos_reference"))
        # Both workers are in the middle of a send at the same moment (one row each: a worker
        # sends one at a time), and every send is slow, so they keep overlapping.
        barrier = self.hold_at_barrier(PURCHASE_CREATE)
        self.simulator.faults.add("latency", method=PURCHASE_CREATE, times=None, seconds=0.2)
        taken = defaultdict(list)  # worker -> the rows _lock_next_due gave it
        lock_next_due = self.registry["crmcom.purchase"]._lock_next_due

        def recording_lock_next_due(records, passed=()):
            purchase = lock_next_due(records, passed)
            taken[threading.current_thread().name].extend(purchase.ids)
            return purchase

        def worker():
            with self.committed_env() as env:
                env["crmcom.purchase"]._cron_submit()

        with patch.object(
            self.registry["crmcom.purchase"], "_lock_next_due", recording_lock_next_due
        ):
            self.run_together(worker, worker)

        self.assertFalse(barrier.broken, "the two workers never sent at the same time")
        self.assertEqual(len(taken), 2, f"both workers took rows: {dict(taken)}")
        first, second = taken.values()
        self.assertTrue(first and second, "both workers did part of the work")
        self.assertFalse(set(first) & set(second), "no row was taken by both workers")
        self.assertEqual(sorted(first + second), sorted(purchase_ids), "each row taken once")

        state = self.crm_state()
        sent = Counter(p["reference_number"] for p in state["purchases"])
        self.assertEqual(sent, Counter(references), "CRM.COM holds each purchase exactly once")
        numbers = {p["reference_number"]: p["number"] for p in state["purchases"]}
        with self.rolled_back_env() as env:
            for purchase in env["crmcom.purchase"].browse(purchase_ids):
                self.assertEqual(purchase.state, "posted", purchase.reference)
                self.assertEqual(purchase.crmcom_number, numbers[purchase.reference])
                self.assertEqual(purchase.awarded, 1.5)
            calls = env["crmcom.call.log"].search_count(
                [("method", "=", PURCHASE_CREATE), ("id", ">", self.saved["last_log_id"])]
            )
        self.assertEqual(calls, count, "no purchase was ever sent twice")
        self.assertEqual(self.wallet(state), 25.0 + 1.5 * count)

    def test_a_row_locked_by_one_worker_is_skipped_by_the_other(self):
        with self.committed_env() as env:
            purchase_ids = self.outbox_rows(
                env, self.make_orders(env, 2, self.session_ids[0], "lock")
            ).ids
        with self.rolled_back_env() as env_a, self.rolled_back_env() as env_b:
            first = env_a["crmcom.purchase"]._lock_next_due()
            self.assertEqual(first.ids, purchase_ids[:1])
            second = env_b["crmcom.purchase"]._lock_next_due()
            self.assertEqual(second.ids, purchase_ids[1:], "the locked row is skipped")
            with self.rolled_back_env() as env_c:
                self.assertFalse(env_c["crmcom.purchase"]._lock_next_due(), "both are taken")

    def test_a_row_taken_after_our_snapshot_is_skipped_not_an_error(self):
        """Worker A takes a row and commits "sending" after worker B's snapshot was taken.

        Under REPEATABLE READ, PostgreSQL refuses to lock a row changed since the snapshot
        (a serialisation failure): B must look again with a fresh snapshot, not die.
        """
        with self.committed_env() as env:
            purchase_ids = self.outbox_rows(
                env, self.make_orders(env, 2, self.session_ids[0], "snap")
            ).ids
        with self.rolled_back_env() as env_b:
            env_b.cr.execute("SELECT 1 FROM crmcom_purchase LIMIT 1")  # B's snapshot
            with self.committed_env() as env_a:
                taken = env_a["crmcom.purchase"]._lock_next_due()
                self.assertEqual(taken.ids, purchase_ids[:1])
                taken.state = "sending"
            second = env_b["crmcom.purchase"]._lock_next_due()
            self.assertEqual(second.ids, purchase_ids[1:])
            self.assertEqual(second.state, "pending")

    # ------------------------------------------------------------------ two tills, one wallet

    def basket(self, uuid):
        return {
            "uuid": uuid,
            "reference": f"{PREFIX} {uuid}",
            "partner_id": self.john_id,
            "lines": [
                {
                    "product_id": self.product_id,
                    "qty": 1,
                    "price_subtotal": 30.0,
                    "price_subtotal_incl": 30.0,
                }
            ],
        }

    def till_spends(self, config_id, uuid, amount):
        """One till's RPC: the spend route as the HTTP layer runs it (retried on a
        serialisation failure, committed at the end)."""
        with self.committed_env(self.admin_id) as env:
            config = env["pos.config"].browse(config_id)
            return retrying(partial(config._crmcom_spend, self.basket(uuid), amount), env)

    def pay(self, env, session_id, uuid, discount, total=30.0):
        """The paid order reaching Odoo with a wallet discount of ``discount``."""
        order = env["pos.order"].create(
            {
                "session_id": session_id,
                "partner_id": self.john_id,
                "uuid": uuid,
                "pos_reference": f"{PREFIX}-{uuid}",
                "sequence_number": 1,
                "amount_tax": 0.0,
                "amount_total": total - discount,
                "amount_paid": total - discount,
                "amount_return": 0.0,
                "lines": [
                    fields.Command.create(
                        {
                            "name": f"{PREFIX}-{uuid}-{index}",
                            "product_id": product_id,
                            "qty": 1,
                            "price_unit": price,
                            "price_subtotal": price,
                            "price_subtotal_incl": price,
                        }
                    )
                    for index, (product_id, price) in enumerate(
                        [(self.product_id, total), (self.spend_product_id, -discount)]
                    )
                ],
            }
        )
        order.action_pos_order_paid()
        return order

    def test_two_tills_spending_one_wallet_at_once_never_discount_more_than_spent(self):
        uuids = [f"{PREFIX.lower()}-till-a", f"{PREFIX.lower()}-till-b"]
        # Both spend requests reach CRM.COM while both tills' transactions are open, and
        # CRM.COM is slow to answer them.
        barrier = self.hold_at_barrier(SPEND_CREATE)
        self.simulator.faults.add("latency", method=SPEND_CREATE, times=None, seconds=0.5)

        results = self.run_together(
            *(
                partial(self.till_spends, config_id, uuid, 20)
                for config_id, uuid in zip(self.config_ids, uuids, strict=True)
            )
        )
        self.assertFalse(barrier.broken, "the two spends were never in flight together")

        state = self.crm_state()
        purchases = {p["external_system_reference_number"]: p for p in state["purchases"]}
        spends = [s for s in state["spend_requests"] if s["life_cycle_state"] == "POSTED"]
        self.assertEqual(len(state["purchases"]), 2, "one purchase per till, none twice")
        self.assertEqual(len(spends), 2, "one spend request per till, none twice")
        awarded = sum(p["total_awarded_amount"] for p in state["purchases"])
        spent = sum(s["spend_amount"] for s in spends)
        # CRM.COM lets a purchase's own award be spent: the wallet held 25.00 + the awards.
        self.assertLessEqual(spent, 25.0 + awarded)
        self.assertGreaterEqual(self.wallet(state), 0.0)
        self.assertAlmostEqual(self.wallet(state), 25.0 + awarded - spent, places=2)
        # Whichever CRM.COM took first: 20.00 for it, what was left (28.00 - 20.00) for the other.
        self.assertEqual(sorted(s["spend_amount"] for s in spends), [8.0, 20.0])

        with self.rolled_back_env() as env:
            for result, uuid in zip(results, uuids, strict=True):
                [crm_spend] = [
                    s for s in spends if s["external_system_reference_number"].startswith(uuid)
                ]
                purchase = env["crmcom.purchase"].search([("order_uuid", "=", uuid)])
                self.assertEqual(len(purchase), 1, uuid)
                self.assertEqual(purchase.crmcom_number, purchases[uuid]["number"])
                self.assertEqual(
                    crm_spend["purchase_customer_event"]["number"], purchase.crmcom_number
                )
                # Odoo records what CRM.COM spent, and the till is told the same.
                self.assertEqual(
                    (purchase.spend_state, purchase.spend_number, purchase.spent),
                    ("posted", crm_spend["number"], crm_spend["spend_amount"]),
                    f"{uuid}: Odoo lost or misrecorded what CRM.COM spent ({result})",
                )
                self.assertTrue(result["ok"], result)
                self.assertEqual(result["spent"], purchase.spent)
                self.assertEqual(result["spend_number"], purchase.spend_number)
                self.assertLessEqual(result["spent"], 20.0)
                self.assertGreaterEqual(result["balance_after"], 0.0)

        # The paid order may carry exactly what CRM.COM spent as its discount, never more:
        # not the 20.00 asked for when less was spent, not a cent above what was spent.
        for result, uuid, session_id in zip(results, uuids, self.session_ids, strict=True):
            for discount in {20.0, result["spent"] + 0.01} - {result["spent"]}:
                with (
                    self.rolled_back_env() as env,
                    self.assertRaisesRegex(UserError, "CRM.COM spent"),
                ):
                    self.pay(env, session_id, uuid, discount)
            with self.rolled_back_env() as env:
                order = self.pay(env, session_id, uuid, result["spent"])
                self.assertEqual(order.state, "paid")
                self.assertEqual(order.crmcom_spent, result["spent"])
                self.assertEqual(order.crmcom_state, "posted")

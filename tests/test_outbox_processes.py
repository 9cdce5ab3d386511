"""Senders in parallel on one database: within a company's share of senders, and in two
Odoo processes (not threads) draining one outbox at once.

Set up as test_concurrency.py is (committed data, removed again, see its doc); the
processes are ``odoo-bin shell`` runs on the test's database, each a sender's run
(``_cron_submit``) as a cron worker of another server would make it.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tests.common import get_db_name
from odoo.tools import config

from ..models.crmcom_parameters import OUTBOX_CALLS_PER_COMPANY
from ..models.crmcom_purchase import STALE_SENDING
from ..models.crmcom_send_slots import SENDER_LOCK_CLASS, SendSlots
from .test_concurrency import PURCHASE_CREATE, WAIT, CommittedOutboxCase

# Each CRM.COM call takes this long, so that senders that run at once overlap in CRM.COM.
CALL_SECONDS = 0.05

# What each process runs once its registry is loaded (``odoo-bin shell`` gives it ``env``):
# say it is ready, wait for the start (a file), drain the outbox as a sender's run does, and
# print the rows it handled. Every wait is bounded.
SENDER = """
import json, os, time
from pathlib import Path
purchases = env["crmcom.purchase"]
handled = []
process_due = type(purchases)._process_due
def recording(purchase, cron):
    handled.append(purchase.id)
    return process_due(purchase, cron)
type(purchases)._process_due = recording
Path(os.environ["SENDER_READY"]).touch()
start = Path(os.environ["SENDERS_START"])
deadline = time.monotonic() + float(os.environ["SENDERS_WAIT"])
while not start.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
env.cr.commit()  # a fresh snapshot, as a new cron run would have
purchases._cron_submit()
print("HANDLED " + json.dumps(handled))
"""


@tagged("post_install", "-at_install")
class TestOutboxProcesses(CommittedOutboxCase):
    def set_calls_per_company(self, value):
        with self.committed_env() as env:
            parameters = env["ir.config_parameter"]
            saved = parameters.get_param(OUTBOX_CALLS_PER_COMPANY.key)
            parameters.set_param(OUTBOX_CALLS_PER_COMPANY.key, str(value))

        def restore():
            with self.committed_env() as env:
                env["ir.config_parameter"].set_param(OUTBOX_CALLS_PER_COMPANY.key, saved)

        self.addCleanup(restore)

    def count_calls_in_flight(self):
        """Make every CRM.COM call take CALL_SECONDS and record the most in flight at once."""
        lock = threading.Lock()
        counts = {"now": 0, "most": 0}
        process = self.simulator.process

        def counted(path, raw_body, headers):
            with lock:
                counts["now"] += 1
                counts["most"] = max(counts["most"], counts["now"])
            try:
                time.sleep(CALL_SECONDS)
                return process(path, raw_body, headers)
            finally:
                with lock:
                    counts["now"] -= 1

        self.simulator.process = counted
        self.addCleanup(vars(self.simulator).pop, "process", None)
        return counts

    def queue(self, count, tag):
        with self.committed_env() as env:
            orders = self.make_orders(env, count, self.session_ids[0], tag)
            return self.outbox_rows(env, orders).ids, set(orders.mapped("pos_reference"))

    def assert_sent_once(self, purchase_ids, references):
        state = self.crm_state()
        sent = Counter(p["reference_number"] for p in state["purchases"])
        self.assertEqual(sent, Counter(references), "CRM.COM holds each purchase exactly once")
        with self.rolled_back_env() as env:
            purchases = env["crmcom.purchase"].browse(purchase_ids)
            self.assertEqual(set(purchases.mapped("state")), {"posted"})
            creates = env["crmcom.call.log"].search_count(
                [("method", "=", PURCHASE_CREATE), ("id", ">", self.saved["last_log_id"])]
            )
        self.assertEqual(creates, len(purchase_ids), "no purchase was ever sent twice")

    def senders_in_threads(self, count):
        """Run ``count`` senders at once, in threads; return the rows each handled."""
        handled = {}
        process_due = self.registry["crmcom.purchase"]._process_due

        def recording(purchase, cron):
            handled.setdefault(threading.current_thread().name, []).append(purchase.id)
            return process_due(purchase, cron)

        def sender():
            with self.committed_env() as env:
                env["crmcom.purchase"]._cron_submit()

        with patch.object(self.registry["crmcom.purchase"], "_process_due", recording):
            self.run_together(*[sender] * count)
        return handled

    # ------------------------------------------------------------------ share of a company

    def test_senders_beyond_the_companys_share_leave_its_rows_to_the_others(self):
        self.set_calls_per_company(1)
        purchase_ids, references = self.queue(8, "share")
        in_flight = self.count_calls_in_flight()
        # The first award is held in CRM.COM until the other sender has found the company's
        # one slot taken: both senders certainly ran at once.
        refused = threading.Event()
        take, process = SendSlots.take, self.simulator.process

        def recording_take(slots, company_id):
            taken = take(slots, company_id)
            if not taken:
                refused.set()
            return taken

        def held(path, raw_body, headers):
            if path == PURCHASE_CREATE:
                refused.wait(WAIT / 4)
            return process(path, raw_body, headers)

        self.simulator.process = held
        with patch.object(SendSlots, "take", recording_take):
            handled = self.senders_in_threads(2)
        self.assertTrue(refused.is_set(), "the second sender found the slot taken")
        self.assertEqual(in_flight["most"], 1, "one call to the company's CRM.COM at a time")
        self.assertEqual(len(handled), 1, f"one sender did all the work: {handled}")
        self.assertEqual(sorted(*handled.values()), sorted(purchase_ids))
        self.assert_sent_once(purchase_ids, references)

    def test_senders_within_the_companys_share_work_at_once(self):
        """The control of the test above: the same senders, with a share of two."""
        self.set_calls_per_company(2)
        purchase_ids, references = self.queue(8, "shared")
        barrier = self.hold_at_barrier(PURCHASE_CREATE)
        handled = self.senders_in_threads(2)
        self.assertFalse(barrier.broken, "both senders were sending at the same moment")
        self.assertEqual(len(handled), 2, f"both senders did part of the work: {handled}")
        self.assert_sent_once(purchase_ids, references)

    def slots_held(self):
        """The senders' slots held now, by any connection of the database."""
        with self.rolled_back_env() as env:
            env.cr.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s",
                (SENDER_LOCK_CLASS,),
            )
            return env.cr.fetchone()[0]

    def test_no_slot_outlives_its_senders_run_however_it_ends(self):
        self.set_calls_per_company(1)
        purchase_ids, _references = self.queue(2, "slots")
        seen = []
        process_due = self.registry["crmcom.purchase"]._process_due

        def failing(purchase, cron):
            seen.append(self.slots_held())  # the slot is held while a row is handled
            raise RuntimeError("a bug in the middle of a run")

        with (
            patch.object(self.registry["crmcom.purchase"], "_process_due", failing),
            self.assertRaises(RuntimeError),
            self.committed_env() as env,
        ):
            env["crmcom.purchase"]._cron_submit()
        self.assertEqual(seen, [1])
        self.assertEqual(self.slots_held(), 0, "released with the failed run")
        with (
            patch.object(self.registry["crmcom.purchase"], "_process_due", process_due),
            self.committed_env() as env,
        ):
            env["crmcom.purchase"]._cron_submit()
        self.assertEqual(self.slots_held(), 0, "released at the end of a run")
        with self.rolled_back_env() as env:
            states = env["crmcom.purchase"].browse(purchase_ids).mapped("state")
        self.assertEqual(states, ["posted", "posted"], "the company's one slot was free again")

    def test_a_row_being_sent_is_never_taken_over_while_its_sender_lives(self):
        """A sender holds the row it sends until its outcome is committed: however long it
        takes (a machine frozen past the time after which a "sending" row counts as
        abandoned), another sender skips it; once that sender is gone, it is looked up."""
        purchase_ids, _references = self.queue(1, "held")
        with self.rolled_back_env() as env_a:
            purchase = env_a["crmcom.purchase"]._lock_next_due()
            self.assertEqual(purchase.ids, purchase_ids)
            purchase._set_sending()
            purchase.flush_recordset()
            # As if that commit had been made long ago.
            env_a.cr.execute(
                "UPDATE crmcom_purchase SET write_date = now() at time zone 'UTC' - %s "
                "WHERE id = %s",
                (STALE_SENDING * 2, purchase.id),
            )
            env_a.cr.commit()
            self.assertTrue(purchase._hold_while_sending())
            with self.rolled_back_env() as env_b:
                self.assertFalse(env_b["crmcom.purchase"]._lock_next_due(), "its sender lives")
            env_a.cr.rollback()  # the sender is gone: its transaction with it
        with self.rolled_back_env() as env_c:
            taken = env_c["crmcom.purchase"]._lock_next_due()
            self.assertEqual(taken.ids, purchase_ids, "abandoned: looked up now")
            self.assertEqual(taken.state, "sending")

    # ------------------------------------------------------------------ two processes

    def test_two_odoo_processes_draining_one_outbox_send_every_award_once(self):
        purchase_ids, references = self.queue(30, "processes")
        self.count_calls_in_flight()
        # The first two awards wait for each other in CRM.COM: both processes are sending
        # at the same moment, whichever loaded its registry first.
        barrier = self.hold_at_barrier(PURCHASE_CREATE)
        folder = Path(tempfile.mkdtemp(prefix="crmcom-senders-"))
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        start = folder / "start"
        command = [
            sys.executable,
            "-m",
            "odoo",
            "shell",
            "--no-http",
            "--log-level=warn",
            "-d",
            get_db_name(),
            f"--addons-path={','.join(config['addons_path'])}",
        ]
        if config.get("config"):
            command[4:4] = ["-c", config["config"]]
        # The database as this process reaches it, however it was given (file or options).
        for option in ("db_host", "db_port", "db_user", "db_password"):
            if config.get(option):
                command.append(f"--{option}={config[option]}")
        script = folder / "sender.py"
        script.write_text(SENDER)
        processes, ready = [], []
        for index in range(2):
            ready.append(folder / f"ready-{index}")
            env = {
                **os.environ,
                "SENDER_READY": str(ready[-1]),
                "SENDERS_START": str(start),
                "SENDERS_WAIT": str(WAIT),
            }
            # Files, not pipes: a process that logs much never waits for the test to read.
            with (
                script.open() as stdin,
                (folder / f"out-{index}").open("w") as stdout,
                (folder / f"err-{index}").open("w") as stderr,
            ):
                processes.append(
                    subprocess.Popen(  # noqa: S603 - this interpreter and Odoo's own command
                        command, stdin=stdin, stdout=stdout, stderr=stderr, env=env
                    )
                )
        try:
            deadline = time.monotonic() + WAIT
            while not all(path.exists() for path in ready) and time.monotonic() < deadline:
                if any(process.poll() is not None for process in processes):
                    break
                time.sleep(0.1)
            self.assertTrue(all(path.exists() for path in ready), "both processes started")
            start.touch()  # both drain at once
            for process in processes:
                process.wait(timeout=WAIT * 2)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        self.assertFalse(barrier.broken, "both processes were sending at the same moment")
        handled = []
        for index, process in enumerate(processes):
            stderr = (folder / f"err-{index}").read_text()
            self.assertEqual(process.returncode, 0, stderr)
            stdout = (folder / f"out-{index}").read_text()
            line = next(line for line in stdout.splitlines() if line.startswith("HANDLED "))
            handled.append(json.loads(line.removeprefix("HANDLED ")))
        first, second = handled
        self.assertTrue(first and second, f"both processes did part of the work: {handled}")
        self.assertFalse(set(first) & set(second), "no row was handled by both processes")
        self.assertEqual(sorted(first + second), sorted(purchase_ids), "each row handled once")
        self.assert_sent_once(purchase_ids, references)

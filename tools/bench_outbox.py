#!/usr/bin/env python3
"""The award outbox drained by several senders: awards per second for 1, 2 and 4 senders, and
the simulator's own rate for the same calls, measured in the same run (tools/bench_outbox.sh,
``make bench-outbox``, runs it; the figures are quoted in docs/benchmarks.md).

Each sender is an Odoo process of its own, as a cron worker of another server would be: it
loads the registry, waits for the common start, and makes one sender's run
(``crmcom.purchase._cron_submit``), which drains the outbox with the others. Each award is
what the outbox does for a paid order: ``purchases/create``, then the wallet read for the
receipt's balance. The simulator adds a fixed latency to every call, as a distant CRM.COM
would.

What it does not measure: the senders run outside Odoo's cron runner, which cuts a job's run
every 10 seconds and runs it again at once while rows are left (a few queries a slice); and
the company's share of senders is set to the senders of each round (with the default share
of 2, a third and fourth sender would leave a single company's rows to the first two).

Subcommands: ``setup`` (a till, an open session, N orders and their pending purchases),
``run`` (the rounds and the report), and ``sender`` (one sender process, started by ``run``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

from load_crmcom import API_KEY, connect, odoo_env

REPO = str(Path(__file__).resolve().parent.parent)
PREFIX = "BENCH-OUTBOX"
PRODUCT_CODE = "BENCH-AWARD"
PRICE = 30.0
TIMEOUT = 30.0
# Bounded waits: a sender loads its registry in seconds; a round of 10,000 awards at 50 ms
# a call takes tens of minutes with one sender.
READY_SECONDS = 300
ROUND_SECONDS = 4 * 3600


def out(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------- Odoo side


def setup(args):
    with odoo_env(args.conf, args.db) as env:
        connect(env.company, args.simulator)
        product = env["product.product"].create(
            {
                "name": "Bench award",
                "default_code": PRODUCT_CODE,
                "list_price": PRICE,
                "available_in_pos": True,
                "taxes_id": [(5, 0, 0)],
            }
        )
        pos = env["pos.config"].create({"name": "CRM.COM outbox bench", "crmcom_enabled": True})
        pos.with_user(env.ref("base.user_admin")).open_ui()
        session = pos.current_session_id
        session.set_opening_control(0, None)
        partner = env["res.partner"].create(
            {"name": "Bench customer", "crmcom_participant_number": "P0001"}
        )
        purchases = env["crmcom.purchase"]
        lines = purchases._product_lines([(product, 1, PRICE, PRICE)])
        batch = 1000
        for start in range(0, args.awards, batch):
            indexes = range(start, min(start + batch, args.awards))
            orders = env["pos.order"].create(
                [
                    {
                        "session_id": session.id,
                        "partner_id": partner.id,
                        "uuid": f"bench-outbox-{index:06d}",
                        "pos_reference": f"{PREFIX}-{index:06d}",
                        "sequence_number": index + 1,
                        "amount_tax": 0.0,
                        "amount_total": PRICE,
                        "amount_paid": PRICE,
                        "amount_return": 0.0,
                    }
                    for index in indexes
                ]
            )
            purchases.create(
                [
                    {
                        "order_uuid": order.uuid,
                        "pos_order_id": order.id,
                        "config_id": pos.id,
                        "partner_id": partner.id,
                        "participant_number": "P0001",
                        "reference": order.pos_reference,
                        "performed_on": datetime.now(),
                        "amount_total": PRICE,
                        "product_lines": lines,
                    }
                    for order in orders
                ]
            )
            env.cr.commit()  # pylint: disable=invalid-commit
        out(json.dumps({"awards": args.awards, "config_id": pos.id}))


def reset(args, senders):
    """Every award of the bench due again, as at the start; the outbox's share of each
    company as large as the senders of the round (the cap is not what is measured)."""
    with odoo_env(args.conf, args.db) as env:
        from odoo.tools import SQL  # noqa: PLC0415

        from odoo.addons.pos_crmcom_rewards.models.crmcom_parameters import (  # noqa: PLC0415
            OUTBOX_CALLS_PER_COMPANY,
        )

        env["ir.config_parameter"].set_param(OUTBOX_CALLS_PER_COMPANY.key, str(senders))
        env.cr.execute(
            SQL(
                """UPDATE crmcom_purchase
                      SET state = 'pending', crmcom_id = NULL, crmcom_number = NULL,
                          awarded = 0, attempts = 0, refusals = 0, next_attempt_at = NULL,
                          last_error = NULL, balance_known = false
                    WHERE reference LIKE %s""",
                f"{PREFIX}-%",
            )
        )
        env.cr.execute("DELETE FROM crmcom_call_log")
        env.cr.execute("DELETE FROM crmcom_token")  # the restarted simulator issued none
        env.cr.commit()  # pylint: disable=invalid-commit


def outcome(args):
    """The purchases' states, and how many were sent more than once (the call log has one
    row per call: the simulator refuses a second purchase of a reference, so its own list
    could not tell)."""
    with odoo_env(args.conf, args.db) as env:
        env.cr.execute(
            "SELECT state, count(*) FROM crmcom_purchase WHERE reference LIKE %s GROUP BY state",
            (f"{PREFIX}-%",),
        )
        states = dict(env.cr.fetchall())
        env.cr.execute(
            """SELECT count(*) FROM (SELECT res_id FROM crmcom_call_log
                                      WHERE method = 'customer_events/purchases/create'
                                      GROUP BY res_id HAVING count(*) > 1) AS twice"""
        )
        return states, env.cr.fetchone()[0]


def sender(args):
    with odoo_env(args.conf, args.db) as env:
        Path(args.ready).touch()
        start = Path(args.start)
        deadline = time.monotonic() + READY_SECONDS
        while not start.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        env.cr.commit()  # a fresh snapshot, as a new cron run has  # pylint: disable=invalid-commit
        began = time.monotonic()
        env["crmcom.purchase"]._cron_submit()
        out(json.dumps({"seconds": time.monotonic() - began}))


# ---------------------------------------------------------------------- rounds


def simulator_control(url, name, body=None):
    request = urllib.request.Request(  # noqa: S310 - the simulator on 127.0.0.1
        f"{url}/_simulator/{name}",
        data=json.dumps(body or {}).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        return json.loads(response.read())


def senders_round(args, count):
    """``count`` sender processes drain the outbox from the same moment: awards/s."""
    reset(args, count)
    simulator_control(args.simulator, "reset", {"seed": True})
    folder = Path(tempfile.mkdtemp(prefix="crmcom-bench-outbox-"))
    start = folder / "start"
    command = [sys.executable, __file__, "sender", "--conf", args.conf, "--db", args.db]
    processes, ready = [], []
    for index in range(count):
        ready.append(folder / f"ready-{index}")
        processes.append(
            subprocess.Popen(  # noqa: S603 - this interpreter and this script
                [*command, "--ready", str(ready[-1]), "--start", str(start)],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + READY_SECONDS
    while not all(path.exists() for path in ready):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            for process in processes:
                process.kill()
            raise SystemExit("a sender did not start")
        time.sleep(0.1)
    began = time.monotonic()
    start.touch()
    for process in processes:
        process.wait(timeout=ROUND_SECONDS)
    elapsed = time.monotonic() - began
    if any(process.returncode for process in processes):
        raise SystemExit("a sender failed")
    states, sent_twice = outcome(args)
    posted = states.get("posted", 0)
    sent = Counter(
        purchase["reference_number"]
        for purchase in simulator_control(args.simulator, "state")["purchases"]
        if purchase["reference_number"].startswith(PREFIX)
    )
    return {
        "senders": count,
        "seconds": elapsed,
        "rate": posted / elapsed,
        "posted": posted,
        "in_crmcom": len(sent),
        "sent_twice": sent_twice,
        "load_after": os.getloadavg()[0],
    }


def direct_round(args, threads):
    """The simulator's own rate for the outbox's calls of an award, from ``threads`` plain
    clients at once (kept connections, as a sender's): awards/s."""
    sys.path.insert(0, REPO)
    from crmcom import CrmComClient  # noqa: PLC0415

    simulator_control(args.simulator, "reset", {"seed": True})
    customer = {"rewards_participant_identifier": {"number": "P0001"}}
    lines = [
        {
            "product_identifier": {"code": PRODUCT_CODE},
            "quantity": 1,
            "net_amount": PRICE,
            "vat_amount": 0.0,
            "total_amount": PRICE,
        }
    ]
    end = time.monotonic() + args.direct_seconds
    done = Counter()

    def work(index):
        client = CrmComClient(
            args.simulator, api_key=API_KEY, unit=None, timeout=TIMEOUT, pool_owner=("bench", index)
        )
        client.login()
        number = 0
        while time.monotonic() < end:
            number += 1
            client.create_purchase(
                customer,
                unit={"alternative_code": "STORE01"},
                performed_on=datetime.now(),
                reference_number=f"DIRECT-{index}-{number}",
                lines=lines,
                fields=("id", "number"),
            )
            client.show_wallet(participant_identifier={"number": "P0001"}, fields=["balance"])
            done[index] += 1

    began = time.monotonic()
    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=args.direct_seconds + TIMEOUT * 2)
    return {"threads": threads, "rate": sum(done.values()) / (time.monotonic() - began)}


def run(args):
    counts = [int(count) for count in args.senders.split(",")]
    load_before = os.getloadavg()
    rounds = [senders_round(args, count) for count in counts]
    directs = {threads: direct_round(args, threads) for threads in sorted({1, *counts, 32})}
    load_after = os.getloadavg()
    single = rounds[0]["rate"] / counts[0]
    capacity = max(direct["rate"] for direct in directs.values())
    out(f"awards: {args.awards}; latency per CRM.COM call: {args.latency_ms} ms")
    out(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    out(f"load average after:  {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    out(
        f"{'senders':>7} {'seconds':>8} {'awards/s':>9} {'/ (N x 1)':>9} "
        f"{'simulator':>9} {'/ sim':>6} {'posted':>7} {'twice':>5}"
    )
    for result in rounds:
        n = result["senders"]
        direct = directs[n]["rate"]
        out(
            f"{n:>7} {result['seconds']:>8.1f} {result['rate']:>9.2f} "
            f"{result['rate'] / (n * single):>9.2f} {direct:>9.2f} "
            f"{result['rate'] / direct:>6.2f} {result['posted']:>7} {result['sent_twice']:>5}"
        )
    out(f"simulator capacity (32 clients): {capacity:.2f} awards/s")
    out(
        json.dumps(
            {
                "rounds": rounds,
                "direct": list(directs.values()),
                "load_before": load_before,
                "load_after": load_after,
                "median_ratio": statistics.median(
                    r["rate"] / (r["senders"] * single) for r in rounds
                ),
            }
        )
    )
    wrong = [
        r
        for r in rounds
        if r["posted"] != args.awards or r["in_crmcom"] != args.awards or r["sent_twice"]
    ]
    if wrong:
        raise SystemExit(f"not every award was sent exactly once: {wrong}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("setup", "run", "sender"):
        command = sub.add_parser(name)
        command.add_argument("--conf", required=True)
        command.add_argument("--db", required=True)
        if name in ("setup", "run"):
            command.add_argument("--simulator", required=True)
            command.add_argument("--awards", type=int, default=10000)
        if name == "run":
            command.add_argument("--senders", default="1,2,4")
            command.add_argument("--latency-ms", type=int, default=50)
            command.add_argument("--direct-seconds", type=float, default=20.0)
        if name == "sender":
            command.add_argument("--ready", required=True)
            command.add_argument("--start", required=True)
    args = parser.parse_args()
    {"setup": setup, "run": run, "sender": sender}[args.command](args)


if __name__ == "__main__":
    main()

"""Load test of the till's CRM.COM calls (make load; see tools/load.sh).

Two steps, each run by tools/load.sh:

    python tools/load_crmcom.py setup --conf ODOO.conf --db DB --simulator URL
        (as an Odoo script: connects the company to the simulator, creates a POS user, a
        CRM.COM till and a product, opens a session; prints what the load needs as JSON)
    python tools/load_crmcom.py run --odoo URL --db DB --simulator URL --setup FILE

``run`` logs the POS user in over HTTP (``/web/session/authenticate``), then for
``LOAD_SECONDS`` (default 60) N clients (``LOAD_CLIENTS``, default 8; one thread and one HTTP
session each) fire identifications (``/pos_crmcom_rewards/identify`` with the simulator's
seeded cards, phones and e-mails) and previews (``/pos_crmcom_rewards/preview``, a small basket
for an identified customer) through the till's routes. Then the same clients fire the same CRM.COM
methods (``rewards_participants/show``, ``customer_events/purchases/preview``) straight at the
simulator with the add-on's own client, for the same time, and the summary shows what Odoo
adds. Loopback only; bounded by time and by ``LOAD_MAX_REQUESTS`` per phase.
"""

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import datetime
from urllib.parse import urlsplit

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_KEY = "SIM-SYSTEM-KEY"
LOGIN = "crmcom_load"
PASSWORD = "crmcom_load"  # a throw-away user of a throw-away database
TIMEOUT = 30  # seconds per request: a stuck server cannot hold the run
# Seeded simulator identities (simulator/seed.py) that identify successfully.
IDENTITIES = [
    ("card", "4000123412341234", "P0001"),
    ("phone", "+35799123456", "P0001"),
    ("email", "john.doe@example.com", "P0001"),
    ("card", "4000999988887777", "P0002"),
    ("phone", "+35799654321", "P0002"),
    ("email", "maria@example.com", "P0002"),
    ("number", "P0002", "P0002"),
    ("card", "4000000000000004", "P0004"),
    ("card", "4000000000000005", "P0005"),
]
BASKET_QTY = 2


# ---------------------------------------------------------------------- setup (Odoo script)


def setup(conf, db, simulator_url):
    import odoo
    from odoo.modules.registry import Registry
    from odoo.tools import config

    from odoo.addons.pos_crmcom_rewards.models.crmcom_parameters import (
        IDENTIFY_FAILURES_PER_MINUTE,
    )

    config.parse_config(["-c", conf, "-d", db])
    registry = Registry(db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env.company
        company._crmcom_set_connection(
            {
                "base_url": simulator_url,
                "auth_mode": "api_key",
                "api_key": API_KEY,
                "unit_key": "alternative_code",
                "unit": "STORE01",
                "timeout": 10.0,
                "enabled": True,
            }
        )
        user = env["res.users"].create(
            {
                "name": "CRM.COM load cashier",
                "login": LOGIN,
                "password": PASSWORD,
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                # An internal user (as cashiers are) with the Point of Sale "User" right.
                "group_ids": [
                    (4, env.ref("base.group_user").id),
                    (4, env.ref("point_of_sale.group_pos_user").id),
                ],
            }
        )
        product = env["product.product"].create(
            {
                "name": "Load test coffee",
                "default_code": "LOAD-COFFEE",
                "list_price": 3.5,
                "available_in_pos": True,
                "taxes_id": [(5, 0, 0)],
            }
        )
        # The clients share one till and one cashier, far more identifications at once than a
        # person makes; each one in flight counts against the till's allowance of failures.
        env["ir.config_parameter"].set_param(
            IDENTIFY_FAILURES_PER_MINUTE.key, IDENTIFY_FAILURES_PER_MINUTE.high
        )
        pos = env["pos.config"].create({"name": "CRM.COM load till", "crmcom_enabled": True})
        pos.with_user(user).open_ui()
        session = pos.current_session_id
        session.set_opening_control(0, None)
        if session.state != "opened":
            raise SystemExit(f"the POS session is {session.state}, not opened")
        # A script, not a request: it commits its own work.
        cr.commit()  # pylint: disable=invalid-commit
        result = {
            "login": LOGIN,
            "password": PASSWORD,
            "config_id": pos.id,
            "product_id": product.id,
            "price": 3.5,
            "session_id": session.id,
        }
    out(json.dumps(result))


# ---------------------------------------------------------------------- measurement


def refused(result):
    """A till method's refusal (``ok`` false) is an error of the load test."""
    return None if result.get("ok") else result


class Stats:
    """Latencies and errors of one kind of request, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = 0
        self.error_samples = []

    def add(self, seconds, error=None):
        with self.lock:
            self.latencies.append(seconds)
            if error is not None:
                self.errors += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(str(error)[:300])

    def time(self, function, *args, refused=None, **kwargs):
        """Time ``function(*args, **kwargs)``; an exception, or ``refused(result)`` when
        true, is an error."""
        started = time.perf_counter()
        try:
            result = function(*args, **kwargs)
            error = refused(result) if refused else None
        except Exception as exc:  # counted, never fatal
            error = exc
        self.add(time.perf_counter() - started, error)

    def merged(self, other):
        merged = Stats()
        merged.latencies = self.latencies + other.latencies
        merged.errors = self.errors + other.errors
        merged.error_samples = (self.error_samples + other.error_samples)[:5]
        return merged


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def figures(stats, seconds):
    values = stats.latencies
    return {
        "requests": len(values),
        "rps": len(values) / seconds if seconds else 0.0,
        "p50": percentile(values, 0.50) * 1000,
        "p95": percentile(values, 0.95) * 1000,
        "p99": percentile(values, 0.99) * 1000,
        "mean": (statistics.fmean(values) * 1000) if values else float("nan"),
        "max": max(values) * 1000 if values else float("nan"),
        "errors": stats.errors,
    }


class Budget:
    """Stops every client at the deadline or after ``max_requests`` requests in all."""

    def __init__(self, seconds, max_requests):
        self.deadline = time.monotonic() + seconds
        self.counter = itertools.count(1)
        self.max_requests = max_requests
        self.lock = threading.Lock()

    def take(self):
        if time.monotonic() >= self.deadline:
            return False
        with self.lock:
            return next(self.counter) <= self.max_requests


def run_phase(name, clients, seconds, max_requests, make_worker):
    """Run ``clients`` threads of ``make_worker(index)`` (a callable taking the budget)."""
    workers = [make_worker(index) for index in range(clients)]  # logins, outside the clock
    budget = Budget(seconds, max_requests)
    threads = [
        threading.Thread(target=worker, args=(budget,), name=f"{name}-{index}", daemon=True)
        for index, worker in enumerate(workers)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 2 * TIMEOUT)
    return time.monotonic() - started


# ---------------------------------------------------------------------- through Odoo


class OdooTill:
    """One till: its own HTTP session, logged in as the POS user."""

    def __init__(self, base, db, info):
        self.base = base
        self.info = info
        self.session = requests.Session()
        self.ids = itertools.count(1)
        reply = self.rpc(
            "/web/session/authenticate",
            {"db": db, "login": info["login"], "password": info["password"]},
        )
        if not reply.get("uid"):
            raise SystemExit(f"login as {info['login']} failed: {reply}")

    def rpc(self, path, params):
        response = self.session.post(
            self.base + path,
            json={"jsonrpc": "2.0", "method": "call", "id": next(self.ids), "params": params},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        payload = response.json()
        if "error" in payload:
            error = payload["error"]
            raise RuntimeError(
                (error.get("data") or {}).get("message") or error.get("message") or error
            )
        return payload["result"]

    def call(self, operation, **params):
        """A till operation through its route (controllers/main.py)."""
        return self.rpc(
            f"/pos_crmcom_rewards/{operation}", {"config_id": self.info["config_id"], **params}
        )


def basket(info, partner_id, uuid):
    price = info["price"] * BASKET_QTY
    return {
        "uuid": uuid,
        "reference": f"Load {uuid}",
        "partner_id": partner_id,
        "lines": [
            {
                "product_id": info["product_id"],
                "qty": BASKET_QTY,
                "price_subtotal": price,
                "price_subtotal_incl": price,
            }
        ],
    }


def odoo_phase(args, info, seconds, clients, max_requests):
    identify, preview = Stats(), Stats()
    # One identification of each participant first: the previews need their contacts.
    till = OdooTill(args.odoo, args.db, info)
    partners = {}
    for method, query, number in IDENTITIES:
        result = till.call("identify", query=query, method=method)
        if not result.get("ok"):
            raise SystemExit(f"warm-up identification {method} {query} failed: {result}")
        partners[number] = result["partner_id"]
    numbers = sorted(partners)

    def make_worker(index):
        till = OdooTill(args.odoo, args.db, info)
        rng = random.Random(index)

        def work(budget):
            for n in itertools.count(1):
                if not budget.take():
                    return
                if rng.random() < 0.5:
                    method, query, _number = rng.choice(IDENTITIES)
                    identify.time(
                        till.call, "identify", query=query, method=method, refused=refused
                    )
                else:
                    order = basket(info, partners[rng.choice(numbers)], f"load-{index}-{n}")
                    preview.time(till.call, "preview", order=order, refused=refused)

        return work

    elapsed = run_phase("odoo", clients, seconds, max_requests, make_worker)
    return elapsed, identify, preview


# ---------------------------------------------------------------------- straight to CRM.COM


def direct_phase(args, info, seconds, clients, max_requests):
    # crmcom/ imports nothing of Odoo nor of the add-on: it loads as a package of its own.
    sys.path.insert(0, REPO)
    from crmcom import PARTICIPANT_FIELDS, CrmComClient
    from crmcom.client import identifier

    identify, preview = Stats(), Stats()
    lines = [
        {
            "product_identifier": {"code": "LOAD-COFFEE"},
            "quantity": BASKET_QTY,
            "net_amount": info["price"] * BASKET_QTY,
            "vat_amount": 0.0,
            "total_amount": info["price"] * BASKET_QTY,
        }
    ]
    numbers = sorted({number for _mean, _query, number in IDENTITIES})

    def make_worker(index):
        client = CrmComClient(args.simulator, api_key=API_KEY, unit=None, timeout=TIMEOUT)
        client.login()
        rng = random.Random(index)

        def work(budget):
            while budget.take():
                if rng.random() < 0.5:
                    method, query, _number = rng.choice(IDENTITIES)
                    ident = (
                        identifier(number=query)
                        if method == "number"
                        else identifier(access_token_identifier={"authentication_code": query})
                    )
                    identify.time(client.show_participant, ident, fields=PARTICIPANT_FIELDS)
                else:
                    customer = {"rewards_participant_identifier": {"number": rng.choice(numbers)}}
                    preview.time(
                        client.preview_purchase,
                        customer,
                        unit={"alternative_code": "STORE01"},
                        performed_on=datetime.now(),
                        lines=lines,
                    )

        return work

    elapsed = run_phase("direct", clients, seconds, max_requests, make_worker)
    return elapsed, identify, preview


# ---------------------------------------------------------------------- report


def table(rows):
    header = (
        f"{'phase':<8} {'request':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8} {'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for phase, kind, fig in rows:
        lines.append(
            f"{phase:<8} {kind:<10} {fig['requests']:>9} {fig['rps']:>8.1f} {fig['p50']:>8.1f} "
            f"{fig['p95']:>8.1f} {fig['p99']:>8.1f} {fig['mean']:>8.1f} {fig['max']:>8.1f}"
            f" {fig['errors']:>7}"
        )
    return "\n".join(lines)


def check_loopback(url):
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"{url}: the load test talks to this machine only (127.0.0.1)")


def run(args):
    for url in (args.odoo, args.simulator):
        check_loopback(url)
    with open(args.setup, encoding="utf-8") as file:
        info = json.load(file)
    seconds = float(os.environ.get("LOAD_SECONDS", "60"))
    clients = int(os.environ.get("LOAD_CLIENTS", "8"))
    max_requests = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))
    if not (0 < seconds <= 3600 and 0 < clients <= 64 and max_requests > 0):
        raise SystemExit("LOAD_SECONDS must be in (0, 3600], LOAD_CLIENTS in 1..64")

    log(f"through Odoo: {clients} clients for {seconds:g} s ({args.odoo})")
    odoo_elapsed, odoo_identify, odoo_preview = odoo_phase(
        args, info, seconds, clients, max_requests
    )
    log(f"straight to the simulator: {clients} clients for {seconds:g} s ({args.simulator})")
    direct_elapsed, direct_identify, direct_preview = direct_phase(
        args, info, seconds, clients, max_requests
    )

    rows = []
    results = {}
    for phase, elapsed, ident, prev in (
        ("odoo", odoo_elapsed, odoo_identify, odoo_preview),
        ("direct", direct_elapsed, direct_identify, direct_preview),
    ):
        for kind, stats in (
            ("identify", ident),
            ("preview", prev),
            ("all", ident.merged(prev)),
        ):
            fig = figures(stats, elapsed)
            rows.append((phase, kind, fig))
            results[f"{phase}/{kind}"] = fig
            for sample in stats.error_samples if kind != "all" else ():
                log(f"{phase} {kind} error: {sample}")
    out("")
    out(table(rows))
    out("")
    out("Overhead of Odoo (through Odoo vs straight to the simulator):")
    out(f"{'request':<10} {'p50 ratio':>10} {'p50 +ms':>9} {'p95 ratio':>10} {'p95 +ms':>9}")
    for kind in ("identify", "preview", "all"):
        odoo, direct = results[f"odoo/{kind}"], results[f"direct/{kind}"]
        out(
            f"{kind:<10} {odoo['p50'] / direct['p50']:>9.1f}x {odoo['p50'] - direct['p50']:>9.1f}"
            f" {odoo['p95'] / direct['p95']:>9.1f}x {odoo['p95'] - direct['p95']:>9.1f}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=1)
    errors = results["odoo/all"]["errors"] + results["direct/all"]["errors"]
    out("")
    out(f"errors: {errors} (expected 0)")
    return 1 if errors else 0


def out(text):
    sys.stdout.write(f"{text}\n")


def log(text):
    sys.stderr.write(f"[load_crmcom] {text}\n")
    sys.stderr.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="step", required=True)
    step = sub.add_parser("setup")
    step.add_argument("--conf", required=True)
    step.add_argument("--db", required=True)
    step.add_argument("--simulator", required=True)
    step = sub.add_parser("run")
    step.add_argument("--odoo", required=True)
    step.add_argument("--db", required=True)
    step.add_argument("--simulator", required=True)
    step.add_argument("--setup", required=True, help="the JSON printed by the setup step")
    step.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.step == "setup":
        check_loopback(args.simulator)
        setup(args.conf, args.db, args.simulator)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

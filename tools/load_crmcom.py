"""Load test of the till's CRM.COM calls (make load; see tools/load.sh).

Steps, each run by tools/load.sh:

    python tools/load_crmcom.py setup --conf ODOO.conf --db DB --simulator URL [--ca-file PEM]
        (as an Odoo script: connects the company to the simulator, creates a POS user, a
        CRM.COM till and a product, opens a session; prints what the load needs as JSON)
    python tools/load_crmcom.py connect --conf ODOO.conf --db DB --simulator URL
        (as an Odoo script: points the company at another simulator, e.g. one serving HTTPS)
    python tools/load_crmcom.py run --odoo URL --db DB --simulator URL --setup FILE
        [--label NAME] [--ca-file PEM] [--json FILE]
    python tools/load_crmcom.py profile --conf ODOO.conf --db DB --setup FILE
        (as an Odoo script: identifications and previews in this process under cProfile)
    python tools/load_crmcom.py summary FILE...   (the JSON files of the runs)

``run`` logs the POS user in over HTTP (``/web/session/authenticate``) and, for 1 client and
then for ``LOAD_CLIENTS`` (default 8; one thread and one HTTP session each), runs three phases
of ``LOAD_SECONDS`` (default 20) each, in this order:

- **floor**: a trivial JSON-RPC (``res.users.read`` of the user's name through
  ``/web/dataset/call_kw``) through the same Odoo workers: what any request costs in Odoo;
- **odoo**: identifications (``/pos_crmcom_rewards/identify`` with the simulator's seeded
  cards, phones and e-mails) and previews (``/pos_crmcom_rewards/preview``, a small basket for
  an identified customer), half each, through the till's routes;
- **direct**: the same CRM.COM methods (``rewards_participants/show``,
  ``customer_events/purchases/preview``) straight at the simulator with the add-on's own
  client, one client per thread (its connections kept between calls, as in Odoo).

It prints each phase's figures and the add-on's own cost per method, at p50 and p95:
odoo − floor − direct (each a percentile of its own phase: an estimate, not an exact sum).
Loopback only; bounded by time and by ``LOAD_MAX_REQUESTS`` per phase.
"""

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
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


def odoo_env(conf, db):
    """A registry cursor and a superuser environment of ``db`` (a context manager)."""
    import odoo
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["-c", conf, "-d", db])
    registry = Registry(db)

    class Opened:
        def __enter__(self):
            self.cr = registry.cursor().__enter__()
            return odoo.api.Environment(self.cr, odoo.SUPERUSER_ID, {})

        def __exit__(self, *exc_info):
            return self.cr.__exit__(*exc_info)

    return Opened()


def connect(company, simulator_url):
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


def setup(conf, db, simulator_url, ca_file=None):
    with odoo_env(conf, db) as env:
        # Importable once the configuration gave Odoo its addons path.
        from odoo.addons.pos_crmcom_rewards.models.crmcom_connection import (  # noqa: PLC0415
            CA_FILE_PARAMETER,
        )
        from odoo.addons.pos_crmcom_rewards.models.crmcom_parameters import (  # noqa: PLC0415
            IDENTIFY_FAILURES_PER_MINUTE,
        )

        cr = env.cr
        company = env.company
        if ca_file:
            # The simulator's throw-away certificate, trusted as a private CA would be.
            env["ir.config_parameter"].set_param(CA_FILE_PARAMETER, ca_file)
        connect(company, simulator_url)
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
            "user_id": user.id,
        }
    out(json.dumps(result))


def reconnect(conf, db, simulator_url):
    with odoo_env(conf, db) as env:
        connect(env.company, simulator_url)
        env.cr.commit()  # pylint: disable=invalid-commit


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


def warm_up(args, info):
    """One identification of each participant (the previews need their contacts): the
    partners by participant number."""
    till = OdooTill(args.odoo, args.db, info)
    partners = {}
    for method, query, number in IDENTITIES:
        result = till.call("identify", query=query, method=method)
        if not result.get("ok"):
            raise SystemExit(f"warm-up identification {method} {query} failed: {result}")
        partners[number] = result["partner_id"]
    return partners


def floor_phase(args, info, clients, _partners):
    """Odoo's floor: an authenticated JSON-RPC that reads one field, through the same
    workers, sessions and clients as the till's calls."""
    floor = Stats()

    def make_worker(_index):
        till = OdooTill(args.odoo, args.db, info)
        params = {
            "model": "res.users",
            "method": "read",
            "args": [[info["user_id"]], ["name"]],
            "kwargs": {},
        }

        def work(budget):
            while budget.take():
                floor.time(till.rpc, "/web/dataset/call_kw/res.users/read", params)

        return work

    elapsed = run_phase("floor", clients, args.seconds, args.max_requests, make_worker)
    return elapsed, {"rpc": floor}


def odoo_phase(args, info, clients, partners):
    identify, preview = Stats(), Stats()
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

    elapsed = run_phase("odoo", clients, args.seconds, args.max_requests, make_worker)
    return elapsed, {"identify": identify, "preview": preview}


# ---------------------------------------------------------------------- straight to CRM.COM


def direct_phase(args, info, clients, _partners):
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
        client = CrmComClient(
            args.simulator,
            api_key=API_KEY,
            unit=None,
            timeout=TIMEOUT,
            verify=args.ca_file or True,
            # One pool per thread, as each Odoo worker process has its own.
            pool_owner=("load", index),
        )
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

    elapsed = run_phase("direct", clients, args.seconds, args.max_requests, make_worker)
    return elapsed, {"identify": identify, "preview": preview}


# ---------------------------------------------------------------------- report

PHASES = (("floor", floor_phase), ("odoo", odoo_phase), ("direct", direct_phase))
METHODS = ("identify", "preview")


def table(rows):
    header = (
        f"{'clients':>7} {'phase':<7} {'request':<9} {'requests':>9} {'req/s':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8} {'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for clients, phase, kind, fig in rows:
        lines.append(
            f"{clients:>7} {phase:<7} {kind:<9} {fig['requests']:>9} {fig['rps']:>8.1f} "
            f"{fig['p50']:>8.1f} {fig['p95']:>8.1f} {fig['p99']:>8.1f} {fig['mean']:>8.1f} "
            f"{fig['max']:>8.1f} {fig['errors']:>7}"
        )
    return "\n".join(lines)


def own_cost(results, clients, kind, stat):
    """The add-on's own cost of ``kind`` at percentile ``stat``: through Odoo, less Odoo's
    floor, less the same CRM.COM call made directly."""
    odoo = results[f"{clients}/odoo/{kind}"][stat]
    floor = results[f"{clients}/floor/rpc"][stat]
    direct = results[f"{clients}/direct/{kind}"][stat]
    return odoo - floor - direct


def own_cost_table(label_results):
    header = (
        f"{'run':<10} {'clients':>7} {'request':<9} {'odoo p50':>9} {'floor':>7} "
        f"{'direct':>7} {'own p50':>8} {'odoo p95':>9} {'floor':>7} {'direct':>7} "
        f"{'own p95':>8}"
    )
    lines = [header, "-" * len(header)]
    for label, results in label_results:
        for clients in results["clients"]:
            for kind in METHODS:
                cells = []
                for stat in ("p50", "p95"):
                    cells += [
                        results[f"{clients}/odoo/{kind}"][stat],
                        results[f"{clients}/floor/rpc"][stat],
                        results[f"{clients}/direct/{kind}"][stat],
                        own_cost(results, clients, kind, stat),
                    ]
                lines.append(
                    f"{label:<10} {clients:>7} {kind:<9} {cells[0]:>9.1f} {cells[1]:>7.1f} "
                    f"{cells[2]:>7.1f} {cells[3]:>8.1f} {cells[4]:>9.1f} {cells[5]:>7.1f} "
                    f"{cells[6]:>7.1f} {cells[7]:>8.1f}"
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
    seconds = float(os.environ.get("LOAD_SECONDS", "20"))
    clients = int(os.environ.get("LOAD_CLIENTS", "8"))
    max_requests = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))
    if not (0 < seconds <= 3600 and 0 < clients <= 64 and max_requests > 0):
        raise SystemExit("LOAD_SECONDS must be in (0, 3600], LOAD_CLIENTS in 1..64")
    args.seconds, args.max_requests = seconds, max_requests

    partners = warm_up(args, info)
    rows = []
    results = {"label": args.label, "clients": sorted({1, clients})}
    errors = 0
    for count in results["clients"]:
        for phase, function in PHASES:
            log(f"{args.label}: {phase}, {count} client(s) for {seconds:g} s")
            elapsed, stats = function(args, info, count, partners)
            kinds = list(stats.items())
            if len(kinds) > 1:
                kinds.append(("all", kinds[0][1].merged(kinds[1][1])))
            for kind, stat in kinds:
                fig = figures(stat, elapsed)
                rows.append((count, phase, kind, fig))
                results[f"{count}/{phase}/{kind}"] = fig
                if kind != "all":
                    errors += stat.errors
                    for sample in stat.error_samples:
                        log(f"{phase} {kind} error: {sample}")
    out("")
    out(f"== {args.label} ==")
    out(table(rows))
    out("")
    out("The add-on's own cost (ms): through Odoo - Odoo's floor - straight to the simulator")
    out(own_cost_table([(args.label, results)]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=1)
    out("")
    out(f"errors: {errors} (expected 0)")
    return 1 if errors else 0


def summary(files):
    label_results = []
    for name in files:
        with open(name, encoding="utf-8") as file:
            results = json.load(file)
        label_results.append((results["label"], results))
    out("")
    out("Summary: the add-on's own cost (ms) = through Odoo - Odoo's floor - direct")
    out(own_cost_table(label_results))
    return 0


# ---------------------------------------------------------------------- profile

# What an identification or a preview spends its time in: (label, model or None for a plain
# class, its method). Each is timed inclusively (a nested one is also in its caller's time).
TIMED = (
    ("till request (all)", "pos.config", "_crmcom_identify"),
    ("till request (all)", "pos.config", "_crmcom_preview"),
    ("till checks", "pos.config", "_crmcom_check_till"),
    ("identification methods", "pos.config", "_crmcom_identification_methods"),
    ("country of phones", "pos.config", "_crmcom_country_code"),
    ("identify quota: take", "crmcom.identify.quota", "_take"),
    ("identify quota: give back", "crmcom.identify.quota", "_give_back"),
    ("basket checks", "pos.config", "_crmcom_basket"),
    ("product lines", "crmcom.purchase", "_product_lines"),
    ("client construction", "crmcom.connection", "_client"),
    ("token read", "token_store", "load"),
    ("CRM.COM call (client)", "client", "_post"),
    ("HTTP exchange (requests)", "requests", "post"),
    ("call log row", "crmcom.call.log", "_log_call"),
    ("contact lookup/write", "res.partner", "_crmcom_find_or_create"),
    ("commit", "cursor", "commit"),
)


def _timed_targets(env):
    import requests as requests_module  # noqa: PLC0415

    from odoo.sql_db import Cursor  # noqa: PLC0415

    from odoo.addons.pos_crmcom_rewards.crmcom.client import CrmComClient  # noqa: PLC0415
    from odoo.addons.pos_crmcom_rewards.models.crmcom_token import (  # noqa: PLC0415
        CompanyTokenStore,
    )

    plain = {
        "token_store": CompanyTokenStore,
        "client": CrmComClient,
        "requests": requests_module.Session,
        "cursor": Cursor,
    }
    for label, owner, name in TIMED:
        yield label, plain.get(owner) or type(env[owner]), name


def _install_timers(env, totals):
    """Wrap the TIMED methods so that each call adds its wall time to ``totals[label]``;
    return a function that takes the wrappers off."""
    undo = []
    for label, cls, name in _timed_targets(env):
        original = cls.__dict__.get(name)
        wrapped = getattr(cls, name)

        def timer(*args, _wrapped=wrapped, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _wrapped(*args, **kwargs)
            finally:
                totals[_label] = totals.get(_label, 0.0) + time.perf_counter() - started

        setattr(cls, name, timer)
        undo.append((cls, name, original))

    def remove():
        for cls, name, original in reversed(undo):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)

    return remove


def profile(conf, db, setup_file, rounds):
    """``rounds`` identifications, then previews, each in a cursor of its own as a request
    has, in this process: first timed per step (wall time, light wrappers), then under
    cProfile (its full listing on stderr)."""
    import odoo  # noqa: PLC0415

    with open(setup_file, encoding="utf-8") as file:
        info = json.load(file)
    with odoo_env(conf, db) as env:
        registry = env.registry
        timers_env = env

    def one(kind, index):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, info["user_id"], {})
            config = env["pos.config"].browse(info["config_id"])
            if kind == "identify":
                method, query, _number = IDENTITIES[index % len(IDENTITIES)]
                result = config._crmcom_identify(query, method)
            else:
                partner = partners[sorted(partners)[index % len(partners)]]
                result = config._crmcom_preview(basket(info, partner, f"profile-{index}"))
            cr.commit()  # pylint: disable=invalid-commit
        if not result.get("ok"):
            raise SystemExit(f"{kind} failed: {result}")
        return result

    partners = {}
    for index, (_method, _query, number) in enumerate(IDENTITIES):
        partners[number] = one("identify", index)["partner_id"]
    for kind in METHODS:
        for index in range(min(rounds, 50)):  # warm: caches, connections, token
            one(kind, index)
        walls = []
        for index in range(rounds):
            started = time.perf_counter()
            one(kind, index)
            walls.append(time.perf_counter() - started)
        totals = {}
        with registry.cursor() as cr:
            remove = _install_timers(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), totals)
        try:
            for index in range(rounds):
                one(kind, index)
        finally:
            remove()
        walls.sort()
        out(f"\n== {kind}: {rounds} calls in this process, each in its own cursor ==")
        out(
            f"wall time per call, untimed: p50 {walls[len(walls) // 2] * 1000:.2f} ms, "
            f"mean {statistics.fmean(walls) * 1000:.2f} ms"
        )
        out("mean ms per call, inclusive (a step's time includes the steps it calls):")
        for label, _owner, _name in TIMED:
            if label in totals:
                out(f"  {label:<28} {totals.pop(label) * 1000 / rounds:>7.2f}")
        profiler = cProfile.Profile()
        profiler.enable()
        for index in range(rounds):
            one(kind, index)
        profiler.disable()
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(40)
        log(f"cProfile of {rounds} {kind} calls:\n{buffer.getvalue()}")
    del timers_env
    return 0


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
    step.add_argument("--ca-file", help="the CA bundle Odoo trusts for CRM.COM (HTTPS runs)")
    step = sub.add_parser("connect")
    step.add_argument("--conf", required=True)
    step.add_argument("--db", required=True)
    step.add_argument("--simulator", required=True)
    step = sub.add_parser("run")
    step.add_argument("--odoo", required=True)
    step.add_argument("--db", required=True)
    step.add_argument("--simulator", required=True)
    step.add_argument("--setup", required=True, help="the JSON printed by the setup step")
    step.add_argument("--label", default="run", help="the run's name in the summary")
    step.add_argument("--ca-file", help="the CA bundle the direct clients trust (HTTPS)")
    step.add_argument("--json", help="also write the figures to this file")
    step = sub.add_parser("profile")
    step.add_argument("--conf", required=True)
    step.add_argument("--db", required=True)
    step.add_argument("--setup", required=True, help="the JSON printed by the setup step")
    step.add_argument("--rounds", type=int, default=300)
    step = sub.add_parser("summary")
    step.add_argument("files", nargs="+")
    args = parser.parse_args()
    if args.step == "setup":
        check_loopback(args.simulator)
        setup(args.conf, args.db, args.simulator, args.ca_file)
        return 0
    if args.step == "connect":
        check_loopback(args.simulator)
        reconnect(args.conf, args.db, args.simulator)
        return 0
    if args.step == "profile":
        if not 1 <= args.rounds <= 100000:
            raise SystemExit("--rounds must be in 1..100000")
        return profile(args.conf, args.db, args.setup, args.rounds)
    if args.step == "summary":
        return summary(args.files)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

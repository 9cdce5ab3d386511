"""Benchmark of the product synchronisation (make bench; see tools/bench.sh).

Seeds N products in a real database, then, in each of R rounds: synchronises them against the
CRM.COM simulator (a full run from an empty synchronisation state, then an incremental run with
nothing changed), then posts the same payloads with a bare client to the same simulator. Prints
wall time, products per second, calls and memory of each, the ratios of each round, and the
medians over the rounds.

    python tools/bench_product_sync.py --conf ODOO.conf --db DB --products 100000 --rounds 5
    python tools/bench_product_sync.py --serve PORT      (the simulator, in its own process)

The simulator runs in a process of its own, as CRM.COM would. Rounds interleave our run and
the bare client's, so that both see the same machine: on a shared virtual machine the speed of
the same work drifts by 30 % within minutes, and the median of the rounds' ratios is what is
compared with the targets.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_KEY = "SIM-SYSTEM-KEY"
DEFINITION = {"name": "ODOO POS SYNC"}
CATEGORIES = 20


# ---------------------------------------------------------------------- simulator process


def serve(port):
    sys.path.insert(0, REPO)
    from simulator.server import SimulatorServer

    sim = SimulatorServer("127.0.0.1", port, seed=True)
    sim.start()
    print(f"simulator on {sim.url}", flush=True)
    threading.Event().wait()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/_simulator/state", timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the simulator did not start")


def control(url, name, payload=None):
    request = urllib.request.Request(
        f"{url}/_simulator/{name}",
        data=json.dumps(payload or {}).encode() if payload is not None else None,
        headers={"Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(request, timeout=60).read())


# ---------------------------------------------------------------------- measurements


class Probe:
    """Wall time and peak resident memory of one phase (RSS sampled every 20 ms)."""

    def __init__(self, name):
        import psutil

        self.name = name
        self.process = psutil.Process()
        self.calls = 0
        self.products = 0

    def __enter__(self):
        self.rss_before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.started = time.perf_counter()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self):
        return (self.peak - self.rss_before) / 2**20

    def line(self):
        rate = self.products / self.seconds if self.seconds else 0
        return (
            f"{self.name:<34} {self.seconds:9.2f} s {rate:10.0f} products/s {self.calls:6d} calls"
            f"   peak RSS {self.peak / 2**20:7.1f} MB (+{self.growth_mb:.1f} MB)"
        )


# ---------------------------------------------------------------------- Odoo side


def seed(env, count):
    """Insert ``count`` POS products with SQL, copying a template made by the ORM."""
    cr = env.cr
    categories = env["product.category"].create(
        [{"name": f"Bench family {index}"} for index in range(CATEGORIES)]
    )
    pos_category = env["pos.category"].create({"name": "Bench POS category"})
    model = env["product.product"].create(
        {
            "name": "Bench model",
            "default_code": "BENCH-MODEL",
            "available_in_pos": True,
            "categ_id": categories[0].id,
            "pos_categ_ids": [(6, 0, pos_category.ids)],
            "active": False,
        }
    )
    env.flush_all()

    def columns(table, skip):
        cr.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            (table,),
        )
        return [name for (name,) in cr.fetchall() if name not in skip]

    tmpl_cols = columns("product_template", {"id", "name", "description_sale", "categ_id"})
    quoted = ", ".join(f'"{name}"' for name in tmpl_cols)
    cr.execute(
        f"""
        INSERT INTO product_template ({quoted}, name, description_sale, categ_id)
        SELECT {quoted},
               jsonb_build_object('en_US', 'Bench product ' || n),
               jsonb_build_object('en_US', 'Long description of bench product ' || n),
               (%s::int[])[1 + n %% {CATEGORIES}]
          FROM product_template, generate_series(1, %s) AS n
         WHERE product_template.id = %s
        """,
        (categories.ids, count, model.product_tmpl_id.id),
    )
    cr.execute(
        "UPDATE product_template SET active = true WHERE id > %s", (model.product_tmpl_id.id,)
    )
    prod_cols = columns("product_product", {"id", "product_tmpl_id", "default_code", "active"})
    quoted = ", ".join(f'"{name}"' for name in prod_cols)
    qualified = ", ".join(f'p."{name}"' for name in prod_cols)
    cr.execute(
        f"""
        INSERT INTO product_product ({quoted}, product_tmpl_id, default_code, active)
        SELECT {qualified}, t.id, 'BENCH-' || lpad((t.id - %s)::text, 7, '0'), true
          FROM product_product p, product_template t
         WHERE p.id = %s AND t.id > %s
        """,
        (model.product_tmpl_id.id, model.id, model.product_tmpl_id.id),
    )
    cr.execute(
        """
        INSERT INTO pos_category_product_template_rel (product_template_id, pos_category_id)
        SELECT id, %s FROM product_template WHERE id > %s
        """,
        (pos_category.id, model.product_tmpl_id.id),
    )
    env.invalidate_all()
    for table in ("product_template", "product_product", "pos_category_product_template_rel"):
        cr.execute(f"ANALYZE {table}")  # as autovacuum would after such an import
    return model.product_tmpl_id.id, categories, pos_category


def bare_payloads(count, family_names, pos_category_name):
    """What the synchronisation sends for the seeded products, built beforehand."""
    return [
        {
            "code": f"BENCH-{n:07d}",
            "description": f"Bench product {n}",
            "long_description": f"Long description of bench product {n}",
            "family_identifier": {"name": family_names[n % CATEGORIES]},
            "category_identifier": {"name": pos_category_name},
        }
        for n in range(1, count + 1)
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int)
    parser.add_argument("--conf")
    parser.add_argument("--db")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)

    import odoo
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["-c", args.conf, "-d", args.db])
    registry = Registry(args.db)
    simulator, url = start_simulator()
    try:
        run_bench(odoo, registry, url, args.products, args.rounds)
    finally:
        simulator.terminate()
        simulator.wait()


def run_bench(odoo, registry, url, count, rounds):
    from odoo.addons.pos_crmcom_rewards.crmcom import CrmComClient

    print(f"Benchmark: {count} products, {rounds} rounds, simulator {url}", flush=True)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        started = time.perf_counter()
        _first_tmpl, categories, pos_category = seed(env, count)
        family_names, pos_category_name = categories.mapped("name"), pos_category.name
        company = env.company
        company._crmcom_set_connection(
            {
                "base_url": url,
                "auth_mode": "api_key",
                "api_key": API_KEY,
                "unit_key": "alternative_code",
                "unit": "STORE01",
                "enabled": True,
            }
        )
        company._crmcom_connection().sync_domain = (
            "[('available_in_pos', '=', True), ('default_code', '=like', 'BENCH-%')]"
        )
        cr.commit()
        print(f"seeded {count} products in {time.perf_counter() - started:.1f} s", flush=True)
        company_id = company.id

    def sync(name):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            engine = env["crmcom.product.sync"]
            with Probe(name) as probe:
                run = engine._sync_company(env["res.company"].browse(company_id))
            probe.calls, probe.products = run.batches, count
            print(probe.line(), f"[{run.state}: sent {run.sent}]", flush=True)
            return probe, run.read(["state", "processed", "sent", "message"])[0]

    def forget_synchronisation():
        """Back to a catalogue never sent: no state, no run, an empty CRM.COM."""
        with registry.cursor() as cr:
            cr.execute("TRUNCATE crmcom_product_state, crmcom_product_sync_run")
        control(url, "reset", {"seed": True})

    payloads = bare_payloads(count, family_names, pos_category_name)
    batches = [payloads[start : start + 1000] for start in range(0, len(payloads), 1000)]

    def bare():
        control(url, "reset", {"seed": True})
        client = CrmComClient(url, api_key=API_KEY, timeout=60)
        with Probe("bare client, same payloads") as probe:
            for batch in batches:
                data = client.synchronise_products(DEFINITION, batch)
                assert len(data["processed_products_set"]) == len(batch)
                probe.calls += 1
        probe.products = count
        print(probe.line(), flush=True)
        client.close()
        return probe

    results = []
    for number in range(1, rounds + 1):
        print(f"-- round {number}", flush=True)
        if number > 1:
            forget_synchronisation()
        full, run = sync("ours, full")
        assert run["state"] == "done" and run["processed"] == count, run
        incremental, run = sync("ours, incremental, nothing changed")
        assert run["sent"] == 0, run
        if number == 1:
            check_payloads(odoo, registry, company_id, payloads)
        plain = bare()
        results.append((full, incremental, plain))
        print(
            f"   ratio ours/bare {full.seconds / plain.seconds:.2f},"
            f" incremental/full {100 * incremental.seconds / full.seconds:.1f} %",
            flush=True,
        )

    print("-- incremental runs after changes to many products (once)", flush=True)
    many_changes(odoo, registry, sync)

    ratios = [full.seconds / plain.seconds for full, _inc, plain in results]
    shares = [100 * inc.seconds / full.seconds for full, inc, _plain in results]
    growth = max(full.growth_mb for full, _inc, _plain in results)
    bare_growth = max(plain.growth_mb for _full, _inc, plain in results)
    print()
    print(f"over {rounds} rounds (median, then min-max):")
    for name, index in (("ours, full", 0), ("ours, incremental", 1), ("bare client", 2)):
        seconds = [result[index].seconds for result in results]
        print(
            f"  {name:<20} {statistics.median(seconds):6.2f} s"
            f"  ({min(seconds):.2f}-{max(seconds):.2f})"
        )
    print(
        f"ratio ours/bare (full run): {statistics.median(ratios):.2f}"
        f"  ({min(ratios):.2f}-{max(ratios):.2f})  (target <= 1.25)"
    )
    print(
        f"incremental/full: {statistics.median(shares):.1f} %"
        f"  ({min(shares):.1f}-{max(shares):.1f})  (target < 5 %)"
    )
    print(
        f"memory growth, full run: {growth:.1f} MB; bare: {bare_growth:.1f} MB"
        "  (largest of the rounds; target < 200 MB for 100,000 products)"
    )


def many_changes(odoo, registry, sync):
    """An import that writes every template but changes nothing sent, then a change that
    changes every payload (the POS category renamed)."""
    with registry.cursor() as cr:
        cr.execute("UPDATE product_template SET write_date = now() AT TIME ZONE 'UTC'")
    # The next run's snapshot is taken to the second: let this write be older than it.
    time.sleep(2)
    _probe, run = sync("ours, incremental, all rewritten")
    assert run["sent"] == 0, run
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        category = env["pos.category"].search([("name", "=like", "Bench POS category%")])
        category.name = "Bench POS category, renamed"
    _probe, run = sync("ours, incremental, all changed")
    assert run["sent"] == run["processed"] > 0, run


def payloads_of(engine, company, products):
    """{product id: payload} as the synchronisation would send them."""
    from odoo.tools import SQL

    from odoo.addons.pos_crmcom_rewards.models.crmcom_product_catalogue import _payload

    engine.env.flush_all()
    engine.env.cr.execute(SQL("SET LOCAL jit = off"))
    changes = engine.env["crmcom.product.catalogue"]._changes_query(company, products)
    engine.env.cr.execute(changes.sql)
    return {row[0]: _payload(changes.layout, row[5:]) for row in engine.env.cr.fetchall()}


def check_payloads(odoo, registry, company_id, payloads):
    """The bare client posts what the synchronisation sent."""
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        engine = env["crmcom.product.sync"]
        company = env["res.company"].browse(company_id).sudo()
        product = env["product.product"].search([("default_code", "=", "BENCH-0000007")])
        sent = payloads_of(engine, company, product)[product.id]
        assert sent == payloads[6], (sent, payloads[6])


if __name__ == "__main__":
    main()

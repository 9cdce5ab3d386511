"""Product synchronisation with CRM.COM (``products/synchronise``, crmcom-api.md §10): the
runs. What is sent is in crmcom_product_catalogue.py, the per-product outcome of a batch in
crmcom_product_state.py; the pipeline of a run stays here, in one piece, because its threads,
cursors and commits only make sense read together.

Designed for catalogues of hundreds of thousands of products:

- PostgreSQL reads the mapped fields of each product and hashes them (Python only puts the
  values in a dict), in one query per batch (keyset pagination on the product id, over a
  window of ids read through the primary key), on a connection and in a thread of their own
  while the previous batch travels and its states are written; only products whose hash
  differs from the one of their last accepted payload (or whose last attempt failed) come
  back, so memory does not grow with the catalogue; products not written since the last
  complete run (nor their category...) are not even read: they are looked up table by
  table, so an unchanged catalogue costs a few scans and no join;
- every batch (at most 1,000 products, CRM.COM's limit) is followed by one SQL statement for the
  per-product states and by a commit, so a crash, a timeout or an outage loses nothing and a
  later run sends only what is left; that work overlaps the calls of the next batches (three
  in flight by default, so that CRM.COM never waits for Odoo);
- a PostgreSQL advisory lock per company keeps two runs from overlapping.
"""

import logging
from collections import deque, namedtuple
from concurrent.futures import ThreadPoolExecutor

import psycopg2

import odoo.modules.module
from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..crmcom import (
    MAX_PRODUCTS_PER_SYNC,
    BadReplyError,
    CrmComError,
    MemoryTokenStore,
    TransportError,
)
from .crmcom_product_catalogue import (
    _AFTER,
    _IDS,
    _LIMIT,
    _UPTO,
    MAX_ID,
    SyncStopped,
    _payload,
)
from .crmcom_product_state import _int_array
from .notification import notification

_logger = logging.getLogger(__name__)

# Calls to products/synchronise in flight at once (a system parameter, 1 to 4): CRM.COM starts
# on the next batch as soon as it is done with one, instead of waiting for Odoo to send it;
# with three, a slow commit or read in Odoo does not leave it idle either (docs/benchmarks.md).
# CRM.COM does not say whether it takes concurrent calls: set 1 if not.
CALLS_PARAM = "pos_crmcom_rewards.sync_calls_in_flight"
DEFAULT_CALLS = 3
MAX_CALLS = 4
LOCK_CLASS = 0x43524D50  # "CRMP": first key of the advisory lock, the company id is the second
ANALYSE_AFTER = 10_000  # states written by a run above which the table may need analysing
LOGGED_PRODUCTS = 3  # products of a request kept in the call log (the rest is summarised)
VALIDITY_TO = "product_validity_to"

Item = namedtuple("Item", "product_id code payload hash invalid known")
Batch = namedtuple("Batch", "items by_code duplicates future")


class _Pages:
    """The query of the products to send, a window of product ids at a time: composed once,
    with the bounds of the window, the number of rows wanted and the ids to look at put in
    place of the placeholders at each execution."""

    def __init__(self, changes, size, window):
        self.layout = changes.layout  # what the value columns of a row are (see _payload)
        self.code = changes.sql.code
        self.params = list(changes.sql.params)
        self.candidates = changes.candidates
        self.ids = None  # the candidates not looked at yet, once read
        self.size = size  # products per batch
        self.window = window  # product ids looked at by the next query
        self.last_id = 0  # every product up to this id was read
        self.done = False

    def query(self, upto, limit, ids=None):
        values = {id(_AFTER): self.last_id, id(_UPTO): upto, id(_LIMIT): limit, id(_IDS): ids}
        return self.code, [values.get(id(param), param) for param in self.params]


class _Done:
    """A result already there, read like a future's."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class CrmcomProductSync(models.AbstractModel):
    _name = "crmcom.product.sync"
    _description = "CRM.COM product synchronisation"

    # ------------------------------------------------------------------ entry points

    @api.model
    def _cron_sync(self):
        """Scheduled action: every company connected to CRM.COM, incrementally."""
        companies = self.env["crmcom.connection"].sudo().search([("enabled", "=", True)]).company_id
        for company in companies:
            connection = company._crmcom_connection()
            trigger = "requested" if connection.sync_requested else "cron"
            if connection.sync_requested:
                connection.sync_requested = False
            run = self._sync_company(company, trigger=trigger, commit=True)
            if run.state == "interrupted":
                # Time limit or outage: the other companies wait for the next run.
                return
        self._commit(True, remaining=0)

    @api.model
    def _action_sync_products(self, products):
        """Send ``products`` to the current company's CRM.COM now, whether they changed or not."""
        if not self.env.is_system():
            raise AccessError(self.env._("Only administrators can synchronise products."))
        company = self.env.company
        if not company._crmcom_is_connected():
            raise UserError(
                self.env._("%(company)s is not connected to CRM.COM Rewards.", company=company.name)
            )
        run = self._sync_company(company, trigger="products", products=products, commit=False)
        return notification(
            self.env._("CRM.COM product synchronisation"),
            run._summary(),
            "success" if run.state == "done" else "warning",
            next={"type": "ir.actions.act_window_close"},
        )

    @api.model
    def _is_running(self, company):
        """Whether a run of ``company`` holds the lock right now (without taking it)."""
        # A transaction-level lock: released when this request ends, before the job starts.
        return not self._try_lock(company, session=False)

    @api.model
    def _request_full_resync(self, company):
        """Forget every hash of ``company``: the next run sends every product again.

        Done through the states rather than a flag of the run, so that a full resync that
        is interrupted goes on where it stopped instead of starting over.
        """
        self.env["crmcom.product.state"].flush_model()
        self.env.cr.execute(
            SQL(
                "UPDATE crmcom_product_state SET payload_hash = NULL, state = 'pending'"
                " WHERE company_id = %s AND state = 'synced'",
                company.id,
            )
        )
        self.env["crmcom.product.state"].invalidate_model()

    # ------------------------------------------------------------------ one run

    @api.model
    def _sync_company(self, company, *, trigger="cron", products=None, commit=True):
        """Synchronise ``company``'s products; return the run record (already committed when
        ``commit``). ``products`` limits the run to those and sends them unconditionally."""
        company = company.sudo()
        Run = self.env["crmcom.product.sync.run"].sudo()
        if not self._try_lock(company, session=commit):
            run = Run.create(
                {
                    "company_id": company.id,
                    "trigger": trigger,
                    "state": "skipped",
                    "ended_at": fields.Datetime.now(),
                    "message": self.env._(
                        "Another product synchronisation of %(company)s is running: this one "
                        "did nothing.",
                        company=company.name,
                    ),
                }
            )
            _logger.info("CRM.COM product sync of %s skipped: already running", company.name)
            self._commit(commit, remaining=0)
            return run
        try:
            # Holding the lock, any run still "running" was stopped by a crash or a kill.
            Run.search([("company_id", "=", company.id), ("state", "=", "running")]).write(
                {
                    "state": "interrupted",
                    "ended_at": fields.Datetime.now(),
                    "message": self.env._("Stopped unexpectedly (worker killed or crashed)."),
                }
            )
            run = Run.create({"company_id": company.id, "trigger": trigger, "state": "running"})
            self._commit(commit)
            remaining = 0
            try:
                self._run(run, company, products=products, commit=commit)
            except SyncStopped as stop:
                run.write(
                    {"state": stop.state, "message": str(stop), "ended_at": fields.Datetime.now()}
                )
                if stop.resume:
                    remaining = max(run.products_total - run.products_examined, 1)
            except Exception as exc:
                if not commit:
                    raise
                _logger.exception("CRM.COM product sync of %s failed", company.name)
                self.env.cr.rollback()
                self.env.invalidate_all(flush=False)
                run = run.exists() or Run.create({"company_id": company.id, "trigger": trigger})
                run.write(
                    {
                        "state": "failed",
                        "message": f"{type(exc).__name__}: {exc}",
                        "ended_at": fields.Datetime.now(),
                    }
                )
            else:
                run.write(
                    {
                        "state": "done_with_errors" if run.unprocessed else "done",
                        "ended_at": fields.Datetime.now(),
                    }
                )
            self._commit(commit, remaining=remaining)
            return run
        finally:
            if commit:
                self._unlock(company)

    def _run(self, run, company, products=None, commit=True):
        try:
            with company._crmcom_client(related=run) as client:
                client._current_token()  # logs in now if needed (on the call log)
                token = client.token_store.load()
        except ValidationError as exc:
            raise SyncStopped("failed", str(exc)) from exc
        except CrmComError as exc:
            raise self._stop(exc) from exc
        connection = company._crmcom_connection()
        definition = {"name": (connection.sync_definition or "").strip()}
        if not definition["name"]:
            raise SyncStopped("failed", self.env._("No product synchronisation definition set."))
        batch_size = connection.sync_batch_size
        if not 1 <= batch_size <= MAX_PRODUCTS_PER_SYNC:
            raise SyncStopped("failed", self.env._("The batch size must be 1 to 1,000."))
        self.env.flush_all()  # the query reads the tables, not the ORM's cache
        run.mapping_key = self.env["crmcom.product.catalogue"]._mapping_key(company)
        # write_date is when the writing transaction started, and a transaction still running
        # when this run reads the catalogue is invisible to it. So the next run rebuilds what
        # was written since the oldest transaction open now; the commit below makes the
        # catalogue query see the database as it is after this instant.
        self.env.cr.execute(
            SQL(
                "SELECT date_trunc('second', min(xact_start) AT TIME ZONE 'UTC')"
                " FROM pg_stat_activity WHERE datname = current_database()"
            )
        )
        run.snapshot_at = self.env.cr.fetchone()[0] or fields.Datetime.now()
        self._commit(commit)
        # One query per batch, "the next products to send after the last one read", issued
        # while the previous batch travels: building and hashing the payloads overlaps the
        # calls. Each batch's states are committed with it, so a crash loses nothing and the
        # next run reads only what is left. The query is composed once; only the window
        # changes.
        changes = self.env["crmcom.product.catalogue"]._changes_query(
            company, products, window=(_AFTER, _UPTO), limit=_LIMIT
        )
        # An explicit selection, or a catalogue of which little changed since the last complete
        # run, is read in one window at first; a full run from a window of one batch. Then each
        # window spans as many ids as the last batch did, and widens while products to send
        # are sparse.
        incremental = products is not None or changes.since
        pages = _Pages(changes, batch_size, MAX_ID if incremental else batch_size)
        # The calls run in threads that touch no database: they use that token, kept in
        # memory for the run, and their call-log records are written by this thread.
        records, log = [], self.env["crmcom.call.log"]
        memory = MemoryTokenStore()
        if token:
            memory.save(token)
        with company._crmcom_client(
            related=run, token_store=memory, on_call=records.append, request_view=_shortened
        ) as client:
            self._pipeline(
                client,
                definition,
                run,
                company,
                commit=commit,
                pages=pages,
                calls=self._calls(),
                records=records,
                log_record=lambda record: log._log_call(record, company, run),
            )
        self._analyse_states(run)

    def _analyse_states(self, run):
        """Have PostgreSQL sample the states table after a run that wrote more states than it
        knows of (the first run of a large catalogue): autovacuum does it only a minute
        later, and until then the queries that join the states are planned for an almost
        empty table, several times slower."""
        if run.processed >= ANALYSE_AFTER and self._planned_states() < run.processed:
            self.env.cr.execute(SQL("ANALYZE crmcom_product_state"))

    def _planned_states(self):
        """How many rows PostgreSQL's planner believes the states table holds."""
        self.env.cr.execute(
            SQL("SELECT reltuples FROM pg_class WHERE oid = 'crmcom_product_state'::regclass")
        )
        return self.env.cr.fetchone()[0]

    def _read(self, cr, pages):
        """The rows of the next products to send, ``pages.size`` at most (keyset pagination
        on the id)."""
        # Compiling the query costs more than it saves; parallel workers would scan whole
        # tables rather than a window, and take the core the call needs.
        cr.execute(SQL("SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0"))
        if pages.candidates is not None and pages.ids is None:
            # Incremental: the products that may have changed, read once; each query then
            # looks at the next ones of them, however many changed.
            cr.execute(pages.candidates)
            pages.ids = deque(sorted(product_id for (product_id,) in cr.fetchall()))
        rows = []
        while len(rows) < pages.size and not pages.done:
            wanted, upto = pages.size - len(rows), MAX_ID
            if pages.ids is not None:
                ids = [pages.ids.popleft() for _index in range(min(wanted, len(pages.ids)))]
                if ids:
                    cr.execute(*pages.query(ids[-1], wanted, _int_array(ids)))
                    rows += cr.fetchall()
                    pages.last_id = ids[-1]
                pages.done = not pages.ids
                continue
            if pages.window < MAX_ID:
                cr.execute(
                    SQL(
                        "SELECT id FROM product_product WHERE id > %s"
                        " ORDER BY id OFFSET %s LIMIT 1",
                        pages.last_id,
                        pages.window - 1,
                    )
                )
                upto = (cr.fetchone() or (MAX_ID,))[0]
            cr.execute(*pages.query(upto, wanted))
            found = cr.fetchall()
            rows += found
            if len(found) == wanted:
                # The rest of the window comes next, in a window as wide as this batch needed.
                pages.window = max(pages.size, found[-1][0] - pages.last_id)
                pages.last_id = found[-1][0]
                continue
            pages.last_id, pages.done = upto, upto == MAX_ID
            if 2 * len(found) < wanted:  # sparse: look further at once
                pages.window *= 4
        return rows

    def _read_apart(self, cr, pages, now_text):
        """The items of the next batch, read on a cursor of its own, in a transaction of its
        own."""
        try:
            return self._items(self._read(cr, pages), pages.layout, now_text)
        finally:
            cr.rollback()

    def _items(self, rows, layout, now_text):
        items = []
        for product_id, valid, digest, sent_invalid, known, *values in rows:
            payload = _payload(layout, values)
            if not valid:
                payload[VALIDITY_TO] = now_text
            elif sent_invalid:
                payload[VALIDITY_TO] = None  # valid again: clear the end date
            items.append(Item(product_id, payload["code"], payload, digest, not valid, known))
        return items

    def _calls(self):
        """How many products/synchronise calls may be in flight at once."""
        value = self.env["ir.config_parameter"].sudo().get_param(CALLS_PARAM, DEFAULT_CALLS)
        try:
            return min(max(int(value), 1), MAX_CALLS)
        except ValueError:
            return DEFAULT_CALLS

    def _pipeline(
        self, client, definition, run, company, *, commit, pages, calls, records, log_record
    ):
        """Send the batches; batch N+1 travels while batch N's outcome is stored and committed.

        ``records`` is where the client puts what the call log is to keep, from the calls'
        threads; ``log_record`` stores one, in this one. A batch in flight when the run stops
        is simply not recorded: the next run sends it again, which CRM.COM takes as an update.
        """

        def write_log():
            while records:
                log_record(records.pop(0))

        now_text = client.format_date(fields.Datetime.now())
        executor = ThreadPoolExecutor(max_workers=calls, thread_name_prefix="crmcom-product-sync")
        # A run that commits reads the batches on a connection of its own, in a thread of its
        # own: the next batch is built while this one's states are written. It sees what is
        # committed, i.e. everything but this run's states, which it does not read (ids below
        # the window). A run that does not commit reads on its own cursor, in turn, and so
        # does one in a test (whose cursors all share the test's connection).
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crmcom-product-read")
        read_cr = self._reading_cursor(commit)

        def read():
            if read_cr is None:
                return _Done(self._items(self._read(self.env.cr, pages), pages.layout, now_text))
            return reader.submit(self._read_apart, read_cr, pages, now_text)

        items = read()

        def take():
            """The next batch; the read of the one after starts at once."""
            nonlocal items
            batch = items.result() if items else []
            items = read() if batch and not pages.done else None
            return batch

        ready, in_flight = take(), deque()

        def fill():
            """Keep ``calls`` batches travelling; read the next one while they do."""
            nonlocal ready
            while ready and len(in_flight) < calls:
                in_flight.append(self._submit(executor, client, definition, ready))
                ready = take()

        try:
            fill()
            while in_flight:
                current = in_flight.popleft()
                # Known only as the run goes: what was handled, in flight and read next.
                run.products_total = (
                    run.products_examined
                    + sum(len(batch.items) for batch in (current, *in_flight))
                    + len(ready)
                )
                try:
                    data = current.future.result()
                except CrmComError as exc:
                    raise self._stop(exc) from exc
                finally:
                    write_log()
                fill()  # the next batch travels while this one's outcome is stored
                self.env["crmcom.product.state"]._record_batch(current, data, run, company)
                run.products_examined += len(current.items)
                self._after_batch(run, commit)
        finally:
            executor.shutdown(wait=True)
            reader.shutdown(wait=True)
            if read_cr is not None:
                read_cr.close()
            try:
                write_log()
            except Exception:  # an aborted transaction: the run's own error says more
                _logger.warning("CRM.COM product sync: %s call-log records lost", len(records))

    def _reading_cursor(self, commit):
        """The cursor the catalogue is read on, in a thread of its own; None: on this one."""
        if commit and not odoo.modules.module.current_test:
            return self.env.registry.cursor()
        return None

    def _submit(self, executor, client, definition, items):
        """Start the call for one batch in the worker thread."""
        by_code, duplicates = {}, []
        for item in items:
            if item.code in by_code:
                duplicates.append(item)
            else:
                by_code[item.code] = item
        payloads = [item.payload for item in by_code.values()]
        future = executor.submit(client.synchronise_products, definition, payloads)
        return Batch(items, by_code, duplicates, future)

    def _stop(self, exc):
        if isinstance(exc, TransportError | BadReplyError):
            # Nothing of this batch is recorded as done: the next run sends it again, which
            # CRM.COM takes as an update (it matches products on their code).
            return SyncStopped(
                "interrupted", self.env._("CRM.COM could not be reached: %(error)s", error=exc)
            )
        return SyncStopped(
            "failed", self.env._("CRM.COM refused the synchronisation: %(error)s", error=exc)
        )

    def _after_batch(self, run, commit):
        remaining = run.products_total - run.products_examined
        if self._commit(commit, processed=1, remaining=remaining) <= 0:
            raise SyncStopped(
                "interrupted",
                self.env._("Time limit reached; the next run goes on from here."),
                resume=True,
            )
        self.env.invalidate_all()

    def _commit(self, commit, processed=0, remaining=None):
        if not commit:
            return float("inf")
        return self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    # ------------------------------------------------------------------ lock

    def _try_lock(self, company, session=True):
        """Take the company's advisory lock without waiting; say whether it was taken.

        A run that commits holds a session-level lock: it survives the commits between
        batches, and PostgreSQL frees it when the worker's connection goes away, whatever
        happened. A run that does not commit (the product action) holds a transaction-level
        one, freed with its transaction whatever the outcome.
        """
        function = "pg_try_advisory_lock" if session else "pg_try_advisory_xact_lock"
        self.env.cr.execute(SQL("SELECT %s(%s, %s)", SQL(function), LOCK_CLASS, company.id))
        return self.env.cr.fetchone()[0]

    def _unlock(self, company):
        query = SQL("SELECT pg_advisory_unlock(%s, %s)", LOCK_CLASS, company.id)
        try:
            self.env.cr.execute(query)
        except psycopg2.Error:
            # An aborted transaction: end it, or the lock would outlive the run.
            self.env.cr.rollback()
            self.env.cr.execute(query)


def _shortened(request):
    """Keep the call log small: the first products of a request and how many there were."""
    products = request.get("products_set") if isinstance(request, dict) else None
    if not isinstance(products, list) or len(products) <= LOGGED_PRODUCTS:
        return request
    return {
        **request,
        "products_set": [
            *products[:LOGGED_PRODUCTS],
            f"... and {len(products) - LOGGED_PRODUCTS} more products",
        ],
    }

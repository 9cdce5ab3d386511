"""Product synchronisation with CRM.COM (``products/synchronise``, crmcom-api.md §10).

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
from odoo.fields import Domain
from odoo.tools import SQL, Query
from odoo.tools.safe_eval import safe_eval

from ..crmcom import (
    MAX_PRODUCTS_PER_SYNC,
    BadReplyError,
    CrmComError,
    MemoryTokenStore,
    TransportError,
)
from .crmcom_connection import SYNC_MAPPABLE_TYPES, SYNC_MAPPING
from .notification import notification

_logger = logging.getLogger(__name__)

# Calls to products/synchronise in flight at once (a system parameter, 1 to 4): CRM.COM starts
# on the next batch as soon as it is done with one, instead of waiting for Odoo to send it;
# with three, a slow commit or read in Odoo does not leave it idle either (measured: about 6 %
# off a full run compared with two). CRM.COM does not say whether it takes concurrent calls:
# set 1 if not.
CALLS_PARAM = "pos_crmcom_rewards.sync_calls_in_flight"
DEFAULT_CALLS = 3
MAX_CALLS = 4
LOCK_CLASS = 0x43524D50  # "CRMP": first key of the advisory lock, the company id is the second
ANALYSE_AFTER = 10_000  # states written by a run above which the table may need analysing
LOGGED_PRODUCTS = 3  # products of a request kept in the call log (the rest is summarised)
VALIDITY_TO = "product_validity_to"

Item = namedtuple("Item", "product_id code payload hash invalid known")
Batch = namedtuple("Batch", "items by_code duplicates future")
# The query of the products to send (see _changes_query): its SQL, the layout of its rows,
# since when changes are looked for (None: every product is rebuilt) and the SQL of the ids
# of the products that may have changed, when the run reads them first (None: it does not).
Changes = namedtuple("Changes", "sql layout since candidates")
# Placeholders in the query of a batch: the window of product ids ]after, upto], the number
# of rows wanted and, in an incremental run, the ids of the products to look at (see _Pages).
_AFTER, _UPTO, _LIMIT, _IDS = object(), object(), object(), object()
MAX_ID = 2**31 - 1  # product ids are PostgreSQL integers


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


class SyncStopped(Exception):
    """Ends a run early; ``state`` and the message are recorded on the run. ``resume``: the
    scheduler should go on at once (time limit), rather than at the next scheduled time."""

    def __init__(self, state, message, resume=False):
        super().__init__(message)
        self.state = state
        self.resume = resume


class CrmcomProductSync(models.AbstractModel):
    _name = "crmcom.product.sync"
    _description = "CRM.COM product synchronisation"

    # ------------------------------------------------------------------ entry points

    @api.model
    def _cron_sync(self):
        """Scheduled action: every company connected to CRM.COM, incrementally."""
        companies = self.env["crmcom.connection"].sudo().search([("enabled", "=", True)]).company_id
        for company in companies:
            run = self._sync_company(company, trigger="cron", commit=True)
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
    def _sync_company(self, company, *, trigger="cron", full=False, products=None, commit=True):
        """Synchronise ``company``'s products; return the run record (already committed when
        ``commit``). ``products`` limits the run to those and sends them unconditionally."""
        company = company.sudo()
        Run = self.env["crmcom.product.sync.run"].sudo()
        if not self._try_lock(company, session=commit):
            run = Run.create(
                {
                    "company_id": company.id,
                    "trigger": trigger,
                    "full": full,
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
            run = Run.create(
                {"company_id": company.id, "trigger": trigger, "full": full, "state": "running"}
            )
            if full:
                self._request_full_resync(company)
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
                run = run.exists() or Run.create(
                    {"company_id": company.id, "trigger": trigger, "full": full}
                )
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
            client = company._crmcom_client(related=run)
        except ValidationError as exc:
            raise SyncStopped("failed", str(exc)) from exc
        connection = company._crmcom_connection()
        definition = {"name": (connection.sync_definition or "").strip()}
        if not definition["name"]:
            raise SyncStopped("failed", self.env._("No product synchronisation definition set."))
        batch_size = connection.sync_batch_size
        if not 1 <= batch_size <= MAX_PRODUCTS_PER_SYNC:
            raise SyncStopped("failed", self.env._("The batch size must be 1 to 1,000."))
        self.env.flush_all()  # the query reads the tables, not the ORM's cache
        run.mapping_key = self._mapping_key(company)
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
        changes = self._changes_query(company, products, window=(_AFTER, _UPTO), limit=_LIMIT)
        # An explicit selection, or a catalogue of which little changed since the last complete
        # run, is read in one window at first; a full run from a window of one batch. Then each
        # window spans as many ids as the last batch did, and widens while products to send
        # are sparse.
        incremental = products is not None or changes.since
        pages = _Pages(changes, batch_size, MAX_ID if incremental else batch_size)
        try:
            self._pipeline(
                client, definition, run, company, commit=commit, pages=pages, calls=self._calls()
            )
        finally:
            client.close()
        self._analyse_states(run)

    def _analyse_states(self, run):
        """Have PostgreSQL sample the states table after a run that wrote more states than it
        knows of (the first run of a large catalogue): autovacuum does it only a minute
        later, and until then the queries that join the states are planned for an almost
        empty table (measured: 45 instead of 11 ms per batch of an incremental run)."""
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

    def _pipeline(self, client, definition, run, company, *, commit, pages, calls):
        """Send the batches; batch N+1 travels while batch N's outcome is stored and committed.

        The call runs in a thread that touches no database: it uses the company's current
        token (kept in memory for the run) and its call-log records are written by this
        thread. A batch in flight when the run stops is simply not recorded: the next run
        sends it again, which CRM.COM takes as an update.
        """
        try:
            client._current_token()  # logs in now if needed (on the call log)
        except CrmComError as exc:
            raise self._stop(exc) from exc
        stored = client.token_store.load()
        log_call, records = client.on_call, []
        client.token_store = MemoryTokenStore()
        if stored:
            client.token_store.save(stored)
        client.on_call = records.append
        client.request_view = _shortened

        def write_log():
            while records:
                log_call(records.pop(0))

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
                self._record(current, data, run, company)
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

    # ------------------------------------------------------------------ what is sent

    def _scope_domain(self, company):
        domain = safe_eval(company._crmcom_connection().sync_domain or "[]")
        return [*domain, ("company_id", "in", [False, company.id])]

    def _scope_query(self, company, Product):
        """The products in scope (sent as valid), as a query on product.product."""
        try:
            return Product.with_context(active_test=True)._search(self._scope_domain(company))
        except Exception as exc:  # syntax, a field that does not exist, a wrong operator...
            raise SyncStopped(
                "failed", self.env._("The product domain is not valid: %(error)s", error=exc)
            ) from exc

    def _scope_paths(self, company, Product):
        """The records whose columns decide whether a product is in the scope, as field paths
        from the product (see ``_condition_paths``); None when the domain reads more than that."""
        domain = Domain(self._scope_domain(company)).optimize_full(Product)
        return _condition_paths(Product, domain, ())

    def _product_model(self, company):
        return (
            self.env["product.product"]
            .sudo()
            .with_company(company)
            .with_context(active_test=False, lang=company.partner_id.lang or "en_US")
        )

    def _changes_query(self, company, products=None, window=None, limit=None):
        """SQL of the products to send, by id, and the layout of their values:
        ``(id, valid, hash, sent_invalid, known, *values)`` (see ``_payload``).

        PostgreSQL reads and hashes what makes each payload; a product comes back when it is new,
        when its last attempt failed, when its hash differs from the one CRM.COM last
        accepted, or always for an explicit selection (``products``). Products once sent that
        left the scope (archived, no longer in the POS) come back once, as no longer valid.
        ``window`` ``(after, upto)``, ``limit``: only the first ``limit`` of those whose id is
        above ``after`` and at most ``upto``.
        """
        Product = self._product_model(company)
        table = Product._table
        scope_query = self._scope_query(company, Product)
        query = Product._search([])  # active_test is off: every product, archived too
        state_window = in_window = SQL()
        if window is not None:
            # On every side of the joins: PostgreSQL then reads only that window of the
            # catalogue and of the states, through their indexes.
            column = SQL.identifier(table, "id")
            in_window = SQL("%s > %s AND %s <= %s", column, window[0], column, window[1])
            query.add_where(in_window)
            state_window = SQL(
                " AND crmcom_state.product_id > %s AND crmcom_state.product_id <= %s", *window
            )
        query.add_join(
            "LEFT JOIN",
            "crmcom_state",
            "crmcom_product_state",
            SQL(
                "crmcom_state.product_id = %s AND crmcom_state.company_id = %s%s",
                SQL.identifier(table, "id"),
                company.id,
                state_window,
            ),
        )
        # The records each payload is made of, as field paths from the product: the product,
        # its template, and what the mapped fields read (category...).
        paths = {(), ("product_tmpl_id",)}
        columns, layout = self._payload_sql(company, Product, table, query, paths)
        valid = self._scope_condition(query, scope_query, table, in_window)
        # Known products first: PostgreSQL evaluates the domain's conditions only for the
        # others here.
        query.add_where(SQL("(crmcom_state.id IS NOT NULL OR %s)", valid))
        since = self._last_complete_run_start(company)
        candidates, paged = None, False
        if since and products is None:
            scope_paths = self._scope_paths(company, Product)
            candidates = self._candidates_sql(
                company, Product, paths | (scope_paths or set()), since
            )
            if candidates is not None:
                # Only products that may have changed are rebuilt and hashed: failed ones, and
                # those whose product, template or related records (category...) were written
                # since the last complete run started. Each kind is looked up on its own, so
                # an unchanged catalogue costs a few scans and no join; a run reads them once
                # and gives each query the ids it is to look at.
                paged = window is not None and scope_paths is not None
                column = SQL.identifier(table, "id")
                maybe_changed = [
                    SQL("%s = ANY(%s::int[])", column, _IDS)
                    if paged
                    else SQL("%s IN (%s)", column, candidates)
                ]
                if scope_paths is None:
                    # The domain reads more than those records (a many2many, a computed
                    # field...): it is evaluated for every product, and new ones are looked for.
                    maybe_changed += [
                        SQL("crmcom_state.id IS NULL"),
                        SQL("crmcom_state.sent_invalid = %s", valid),
                    ]
                query.add_where(SQL("(%s)", SQL(" OR ").join(maybe_changed)))
        if products is not None:
            query.add_where(SQL("%s = ANY(%s)", SQL.identifier(table, "id"), list(products.ids)))
        inner = query.select(
            SQL("%s AS id", SQL.identifier(table, "id")),
            SQL("%s AS valid", valid),
            SQL("crmcom_state.id IS NOT NULL AS known"),
            SQL("crmcom_state.state AS known_state"),
            SQL("crmcom_state.payload_hash AS known_hash"),
            SQL("crmcom_state.sent_invalid AS sent_invalid"),
            *(SQL("%s AS %s", value, SQL.identifier(name)) for name, value in columns),
        )
        # The hash covers the keys too: mapping another field to a key changes the payload.
        # ROW(...)::text quotes its values, so no two different payloads print the same.
        names = SQL(", ").join(SQL.identifier(name) for name, _value in columns)
        keys = ",".join(key for key, _identifier in layout)
        # OFFSET 0 keeps PostgreSQL from inlining the subquery, which would compute each
        # value (a subquery per relation) once per use instead of once per product.
        query_sql = SQL(
            """
            SELECT id, valid, hash, COALESCE(sent_invalid, false), known, %(names)s
              FROM (SELECT *, md5(%(keys)s || ROW(valid, %(names)s)::text) AS hash
                      FROM (%(inner)s OFFSET 0) AS crmcom_raw
                    OFFSET 0) AS crmcom_hashed
             WHERE %(force)s OR known_state IS DISTINCT FROM 'synced'
                   OR hash IS DISTINCT FROM known_hash
             ORDER BY id %(limit)s
            """,
            names=names,
            keys=keys,
            inner=inner,
            force=products is not None,
            limit=SQL("LIMIT %s", limit) if limit is not None else SQL(),
        )
        return Changes(query_sql, layout, since, candidates if paged else None)

    def _scope_condition(self, query, scope_query, table, in_window):
        """SQL saying whether a row of ``query`` is in the scope (the products domain).

        The domain's own conditions on the same row when its joins are LEFT JOINs that
        ``query`` can take (as for the default domain, on the template): the catalogue is
        then read once. Otherwise a join with the scope's own query, read a second time.
        """
        if scope_query.is_empty():
            return SQL("FALSE")
        joins = scope_query._joins  # noqa: SLF001 -- no public accessor; read only
        mergeable = (
            list(scope_query._tables) == [table]
            and all(  # noqa: SLF001
                kind == SQL("LEFT JOIN") and query._joins.get(alias, joined) == joined  # noqa: SLF001
                for alias, joined in joins.items()
                for kind in joined[:1]
            )
        )
        if mergeable:
            for alias, (_kind, joined_table, condition) in joins.items():
                query.add_join("LEFT JOIN", alias, joined_table, condition)
            return SQL("COALESCE((%s), FALSE)", scope_query.where_clause or SQL("TRUE"))
        # A join rather than "id IN (scope)": PostgreSQL computes the scope once, for the
        # window only.
        if in_window:
            scope_query.add_where(in_window)
        query.add_join(
            "LEFT JOIN",
            "crmcom_scope",
            SQL("(%s)", scope_query.subselect()),
            SQL("crmcom_scope.id = %s", SQL.identifier(table, "id")),
        )
        return SQL("(crmcom_scope.id IS NOT NULL)")

    def _candidates_sql(self, company, Product, paths, since):
        """SQL of the ids of the products that may have changed since ``since``: those whose
        last attempt failed, and those a record of ``paths`` of which was written since. None
        when a record of ``paths`` has no write date (then every product is rebuilt).

        A product created since has its own write date; one that entered the scope had a
        record of ``paths`` written (the domain is part of the mapping key).
        """
        failed = SQL(
            "(SELECT product_id FROM crmcom_product_state WHERE company_id = %s"
            " AND state != 'synced')",
            company.id,
        )
        selects = [failed]
        for path in sorted(paths):
            model = Product
            for name in path:
                model = model.env[model._fields[name].comodel_name]
            if "write_date" not in model._fields:
                return None
            query = Product._search([(".".join((*path, "write_date")), ">=", since)])
            selects.append(query.subselect())
        return SQL(" UNION ").join(selects)

    def _last_complete_run_start(self, company):
        """The time before which every write was seen by the last run that looked at the whole
        catalogue, unless the mapping changed since: then every product is rebuilt and hashed."""
        last = (
            self.env["crmcom.product.sync.run"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("trigger", "=", "cron"),
                    ("state", "in", ("done", "done_with_errors")),
                ],
                order="id desc",
                limit=1,
            )
        )
        if not last or not last.snapshot_at or last.mapping_key != self._mapping_key(company):
            return None
        return last.snapshot_at

    def _mapping_key(self, company):
        """What every payload and the scope depend on: a run with another key rebuilds all."""
        connection = company._crmcom_connection()
        names = [connection[name].name or "" for _key, name, _string, _default in SYNC_MAPPING]
        lang = company.partner_id.lang or "en_US"
        return "|".join([lang, *names, connection.sync_domain or ""])

    def _payload_sql(self, company, Product, table, query, paths):
        """The columns of a product.product row that make its CRM.COM product object, and
        their layout: ``(key, is an identifier)`` of each, in order (see ``_payload``). Adds to
        ``paths`` the records the mapped fields read."""
        code = SQL(
            "COALESCE(NULLIF(btrim(%s), ''), 'ODOO-' || %s)",
            Product._field_to_sql(table, "default_code", query),
            SQL.identifier(table, "id"),
        )  # what ProductProduct._crmcom_code() returns
        columns, layout = [("crmcom_code", code)], [("code", False)]
        connection = company._crmcom_connection()
        for key, name, _string, _default in SYNC_MAPPING:
            chosen = connection[name]
            if not chosen:
                continue
            value = self._field_value_sql(Product, table, chosen.name, query)
            paths |= _field_paths(Product, chosen.name)
            columns.append((f"crmcom_{key}", SQL("NULLIF(btrim((%s)::text), '')", value)))
            layout.append((key, key.endswith("_identifier")))
        return columns, tuple(layout)

    def _field_value_sql(self, Product, table, fname, query):
        """The text sent for field ``fname`` of a product (for relations: the first related
        record's name; for selections: the label)."""
        field = Product._fields.get(fname)
        if field is None or field.type not in SYNC_MAPPABLE_TYPES:
            raise SyncStopped(
                "failed",
                self.env._("The product field %(field)s cannot be sent to CRM.COM.", field=fname),
            )
        model, alias = Product, table
        try:
            if field.related and not field.store:
                model, field, alias = Product._traverse_related_sql(table, field, query)
            if field.type == "many2many":
                comodel = Product.env[field.comodel_name]
                order = "sequence, id" if "sequence" in comodel._fields else "id"
                return SQL(
                    "(SELECT %(name)s FROM %(rel)s JOIN %(table)s AS crmcom_co"
                    " ON crmcom_co.id = %(rel)s.%(col2)s WHERE %(rel)s.%(col1)s = %(owner)s"
                    " ORDER BY %(order)s LIMIT 1)",
                    name=self._name_sql(comodel, "crmcom_co"),
                    rel=SQL.identifier(field.relation),
                    table=SQL.identifier(comodel._table),
                    col1=SQL.identifier(field.column1),
                    col2=SQL.identifier(field.column2),
                    owner=SQL.identifier(alias, "id"),
                    order=SQL(", ").join(
                        SQL.identifier("crmcom_co", name.strip()) for name in order.split(",")
                    ),
                )
            value = model._field_to_sql(alias, field.name, query)
        except ValueError as exc:  # not stored
            raise SyncStopped(
                "failed",
                self.env._(
                    "The product field %(field)s is not stored: choose another one (%(error)s).",
                    field=fname,
                    error=exc,
                ),
            ) from exc
        if field.type == "many2one":
            # A join: PostgreSQL reads the related table once per batch (a subquery would
            # look it up once per product).
            comodel = Product.env[field.comodel_name]
            related = query.make_alias(alias, field.name)
            query.add_join(
                "LEFT JOIN",
                related,
                comodel._table,
                SQL("%s = %s", SQL.identifier(related, "id"), value),
            )
            return self._name_sql(comodel, related)
        if field.type == "selection":
            labels = field._description_selection(Product.env)
            if labels:
                cases = SQL(" ").join(SQL("WHEN %s THEN %s", key, label) for key, label in labels)
                return SQL("(CASE %s %s ELSE %s END)", value, cases, value)
        return value

    def _name_sql(self, comodel, alias):
        fname = "name" if "name" in comodel._fields else comodel._rec_name
        return comodel._field_to_sql(alias, fname)

    def _payloads(self, company, products):
        """{product id: payload} as the synchronisation would send them (tests, benchmark)."""
        self.env.flush_all()
        self.env.cr.execute(SQL("SET LOCAL jit = off"))
        changes = self._changes_query(company, products)
        self.env.cr.execute(changes.sql)
        return {row[0]: _payload(changes.layout, row[5:]) for row in self.env.cr.fetchall()}

    # ------------------------------------------------------------------ one batch

    def _record(self, batch, data, run, company):
        """Store the outcome of one batch for each of its products."""
        by_code, duplicates, items = dict(batch.by_code), batch.duplicates, batch.items
        data = data if isinstance(data, dict) else {}
        done, errors = [], []
        for entry in data.get("processed_products_set") or []:
            item = by_code.pop(entry.get("request_code"), None)
            if item:
                done.append((item, entry.get("id")))
        for entry in data.get("unprocessed_products_set") or []:
            item = by_code.pop(entry.get("request_code"), None)
            if item:
                reason = ": ".join(
                    str(part)
                    for part in (entry.get("error_code"), entry.get("error_description"))
                    if part
                )
                errors.append((item, reason or self.env._("Refused by CRM.COM")))
        for item in by_code.values():
            errors.append((item, self.env._("CRM.COM did not report on this product.")))
        for item in duplicates:
            errors.append(
                (
                    item,
                    self.env._(
                        "Another product of the same batch has the internal reference %(code)s.",
                        code=item.code,
                    ),
                )
            )
        self._write_states(company, done, errors)
        run.write(
            {
                "batches": run.batches + 1,
                "sent": run.sent + len(items),
                "processed": run.processed + len(done),
                "unprocessed": run.unprocessed + len(errors),
            }
        )

    def _write_states(self, company, done, errors):
        now, cr = fields.Datetime.now(), self.env.cr
        # The batch's commit need not wait for the disk: were PostgreSQL itself to crash
        # within the next fraction of a second, these products would only be sent again by
        # the next run, which CRM.COM takes as an update.
        cr.execute(SQL("SET LOCAL synchronous_commit = off"))
        common = {"company": company.id, "now": now}
        # New products are inserted, known ones updated: cheaper than INSERT ... ON CONFLICT.
        new = [(item, crm_id) for item, crm_id in done if not item.known]
        if new:
            cr.execute(
                SQL(
                    """
                INSERT INTO crmcom_product_state
                       (company_id, product_id, state, crmcom_id, payload_hash, sent_invalid,
                        synced_at, attempted_at)
                SELECT %(company)s, t.pid, 'synced', t.cid, t.hash, t.inv, %(now)s, %(now)s
                  FROM unnest(%(pids)s::int[], %(cids)s::varchar[], %(hashes)s::varchar[],
                              %(inv)s::bool[]) AS t(pid, cid, hash, inv)
                """,
                    **common,
                    **_columns(new),
                )
            )
        known = [(item, crm_id) for item, crm_id in done if item.known]
        if known:
            cr.execute(
                SQL(
                    """
                UPDATE crmcom_product_state AS s
                   SET state = 'synced', crmcom_id = t.cid, payload_hash = t.hash,
                       sent_invalid = t.inv, error = NULL,
                       synced_at = %(now)s, attempted_at = %(now)s
                  FROM unnest(%(pids)s::int[], %(cids)s::varchar[], %(hashes)s::varchar[],
                              %(inv)s::bool[]) AS t(pid, cid, hash, inv)
                 WHERE s.product_id = t.pid AND s.company_id = %(company)s
                """,
                    **common,
                    **_columns(known),
                )
            )
        if errors:
            cr.execute(
                SQL(
                    """
                INSERT INTO crmcom_product_state
                       (company_id, product_id, state, error, attempted_at, sent_invalid)
                SELECT %(company)s, t.pid, 'error', t.error, %(now)s, false
                  FROM unnest(%(pids)s::int[], %(errors)s::text[]) AS t(pid, error)
                ON CONFLICT (product_id, company_id) DO UPDATE
                   SET state = 'error', error = EXCLUDED.error, payload_hash = NULL,
                       attempted_at = EXCLUDED.attempted_at
                """,
                    **common,
                    pids=_int_array(item.product_id for item, _error in errors),
                    errors=_text_array(error for _item, error in errors),
                )
            )
        self.env["crmcom.product.state"].invalidate_model()

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


def _field_paths(model, fname, prefix=()):
    """Field paths, from a record of ``model``, to the records whose columns make the value of
    its field ``fname``: those a related field goes through, and the comodel's."""
    field = model._fields[fname]
    if field.related:
        *hops, last = field.related.split(".")
        paths = set()
        for hop in hops:
            prefix = (*prefix, hop)
            paths.add(prefix)
            model = model.env[model._fields[hop].comodel_name]
        return paths | _field_paths(model, last, prefix)
    return {(*prefix, fname)} if field.relational else set()


def _condition_paths(model, domain, prefix):
    """Field paths, from a record of ``model``, to the records whose columns ``domain`` (an
    optimized domain) reads; None when it reads anything else: a one2many or many2many (whose
    links may change without a write of these records), a field that is not stored, a
    subquery. A change of what the domain reads is then a write of one of these records."""
    paths = {prefix}
    for condition in domain.iter_conditions():
        field = model._fields.get(condition.field_expr)
        if field is None or not field.store or isinstance(condition.value, Query | SQL):
            return None
        if condition.operator in ("any", "not any", "any!", "not any!"):
            if field.type != "many2one" or not isinstance(condition.value, Domain):
                return None
            comodel = model.env[field.comodel_name]
            inner = _condition_paths(comodel, condition.value, (*prefix, field.name))
            if inner is None:
                return None
            paths |= inner
        elif field.type in ("one2many", "many2many"):
            return None
    return paths


def _payload(layout, values):
    """The CRM.COM product object of one row: its mapped values by key, empty ones left out,
    identifiers as ``{"name": value}``."""
    return {
        key: {"name": value} if identifier else value
        for (key, identifier), value in zip(layout, values, strict=True)
        if value is not None
    }


def _columns(done):
    """The arrays of product ids, CRM.COM ids, hashes and validity of accepted products."""
    return {
        "pids": _int_array(item.product_id for item, _id in done),
        "cids": _text_array(str(crm_id) if crm_id else None for _item, crm_id in done),
        "hashes": _text_array(item.hash for item, _id in done),
        "inv": _bool_array(item.invalid for item, _id in done),
    }


# A batch's states travel as one array literal per column: psycopg2 adapts a list element by
# element, which took more Python time than the rest of a batch's bookkeeping.
def _int_array(values):
    return "{%s}" % ",".join(map(str, values))


def _bool_array(values):
    return "{%s}" % ",".join("t" if value else "f" for value in values)


def _text_array(values):
    return "{%s}" % ",".join(
        "NULL" if value is None else '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
        for value in values
    )


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

"""What the product synchronisation sends: which products are in scope, which of them may
have changed, and the SQL that reads and hashes their CRM.COM product objects."""

from collections import namedtuple

from odoo import models
from odoo.fields import Domain
from odoo.tools import SQL, Query
from odoo.tools.safe_eval import safe_eval

from .crmcom_connection import SYNC_MAPPABLE_TYPES, SYNC_MAPPING

# The query of the products to send (see _changes_query): its SQL, the layout of its rows,
# since when changes are looked for (None: every product is rebuilt) and the SQL of the ids
# of the products that may have changed, when the run reads them first (None: it does not).
Changes = namedtuple("Changes", "sql layout since candidates")
# Placeholders in the query of a batch: the window of product ids ]after, upto], the number
# of rows wanted and, in an incremental run, the ids of the products to look at (see _Pages).
_AFTER, _UPTO, _LIMIT, _IDS = object(), object(), object(), object()
MAX_ID = 2**31 - 1  # product ids are PostgreSQL integers


class SyncStopped(Exception):
    """Ends a run early; ``state`` and the message are recorded on the run. ``resume``: the
    scheduler should go on at once (time limit), rather than at the next scheduled time."""

    def __init__(self, state, message, resume=False):
        super().__init__(message)
        self.state = state
        self.resume = resume


class CrmcomProductCatalogue(models.AbstractModel):
    _name = "crmcom.product.catalogue"
    _description = "CRM.COM product catalogue (what is sent)"

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

from odoo import fields, models
from odoo.tools import SQL

SYNC_STATES = [("pending", "Pending"), ("synced", "Synced"), ("error", "Error")]


class CrmcomProductState(models.Model):
    """Where a product stands in one company's CRM.COM catalogue.

    One row per company and product, written by the synchronisation with one SQL statement
    per batch. A product without a row has never been sent: it is *pending*. The hash is the
    one of the last payload CRM.COM accepted; a product is sent again only when its payload's
    hash differs, or when its last attempt failed.
    """

    _name = "crmcom.product.state"
    _description = "CRM.COM product synchronisation state"
    _order = "company_id, product_id"
    _rec_name = "product_id"
    _log_access = False  # written by SQL in batches: synced_at / attempted_at say when

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    # Indexed by the unique constraint below (product first), which also serves "by product".
    product_id = fields.Many2one(
        "product.product", required=True, ondelete="cascade", readonly=True
    )
    state = fields.Selection(SYNC_STATES, required=True, default="pending", readonly=True)
    crmcom_id = fields.Char(string="CRM.COM ID", readonly=True)
    error = fields.Text(string="Last error", readonly=True)
    synced_at = fields.Datetime(string="Last synchronised", readonly=True)
    attempted_at = fields.Datetime(string="Last attempt", readonly=True)
    payload_hash = fields.Char(readonly=True)
    sent_invalid = fields.Boolean(
        readonly=True, help="Last sent as no longer valid (archived or out of the POS)."
    )

    # Every incremental run sends again what failed: few rows among the whole catalogue's.
    _unsynced_idx = models.Index("(company_id) WHERE state != 'synced'")
    _company_product_uniq = models.Constraint(
        "UNIQUE(product_id, company_id)", "One CRM.COM synchronisation state per product."
    )

    def _record_batch(self, batch, data, run, company):
        """Store the outcome of one batch of the synchronisation ``run`` (CRM.COM's reply
        ``data``) for each of its products, and count it on the run."""
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
        self.invalidate_model()


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

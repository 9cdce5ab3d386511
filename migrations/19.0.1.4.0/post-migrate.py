"""19.0.1.4.0: a company's CRM.COM connection and product synchronisation settings move from
res.company and crmcom.secret to crmcom.connection (behind the company record rule); tokens
are bound to their server."""

import logging

from odoo.addons.pos_crmcom_rewards.crmcom.client import normalise_base_url
from odoo.addons.pos_crmcom_rewards.models.crmcom_connection import MAX_TIMEOUT

_logger = logging.getLogger(__name__)

OLD_COLUMNS = (
    "crmcom_enabled",
    "crmcom_base_url",
    "crmcom_auth_mode",
    "crmcom_username",
    "crmcom_organisation",
    "crmcom_unit_key",
    "crmcom_unit",
    "crmcom_external_system",
    "crmcom_timeout",
    "crmcom_sync_definition",
)
# res.company column -> crmcom.connection column, copied as they are.
SYNC_COLUMNS = {
    "crmcom_sync_domain": "sync_domain",
    "crmcom_sync_batch_size": "sync_batch_size",
    "crmcom_sync_description_field_id": "sync_description_field_id",
    "crmcom_sync_long_description_field_id": "sync_long_description_field_id",
    "crmcom_sync_type_field_id": "sync_type_field_id",
    "crmcom_sync_brand_field_id": "sync_brand_field_id",
    "crmcom_sync_family_field_id": "sync_family_field_id",
    "crmcom_sync_category_field_id": "sync_category_field_id",
}


def _text(value):
    return (value or "").strip() or None


def migrate(cr, version):
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_name = 'res_company' AND column_name = ANY(%s)""",
        [[*OLD_COLUMNS, *SYNC_COLUMNS]],
    )
    existing = {row[0] for row in cr.fetchall()}
    if not version or not existing >= set(OLD_COLUMNS):
        return
    cr.execute("SELECT to_regclass('crmcom_secret') IS NOT NULL")
    secrets = {}
    if cr.fetchone()[0]:
        cr.execute("SELECT company_id, api_key, password FROM crmcom_secret")
        secrets = {company_id: (key, password) for company_id, key, password in cr.fetchall()}
    cr.execute(f"SELECT id, {', '.join(OLD_COLUMNS)} FROM res_company ORDER BY id")  # noqa: S608
    moved = 0
    for row in cr.fetchall():
        (
            company_id,
            enabled,
            url,
            mode,
            user,
            organisation,
            unit_key,
            unit,
            system,
            timeout,
            sync,
        ) = row
        key, password = secrets.get(company_id, (None, None))
        if not (enabled or url or key or password):
            # Nothing to move: the company stays disconnected. No crmcom.connection existed
            # before this version, so one now is the demo's, loaded just before; it goes,
            # with its xmlid, or the company would be connected to the demo's server.
            cr.execute(
                "DELETE FROM crmcom_connection WHERE company_id = %s RETURNING id", [company_id]
            )
            demo = [connection_id for (connection_id,) in cr.fetchall()]
            if demo:
                cr.execute(
                    """DELETE FROM ir_model_data
                        WHERE model = 'crmcom.connection' AND res_id = ANY(%s)""",
                    [demo],
                )
            continue
        cr.execute(
            """INSERT INTO crmcom_connection
                    (company_id, enabled, base_url, auth_mode, api_key, username, password,
                     organisation, unit_key, unit, external_system, timeout, time_zone,
                     sync_definition, create_uid, create_date, write_uid, write_date)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'UTC', %s,
                       1, now() at time zone 'UTC', 1, now() at time zone 'UTC')
               -- what the company had wins over the demo data loaded just before: the
               -- demo's row (and its xmlid) becomes the company's moved connection
               ON CONFLICT (company_id) DO UPDATE SET
                    enabled = EXCLUDED.enabled, base_url = EXCLUDED.base_url,
                    auth_mode = EXCLUDED.auth_mode, api_key = EXCLUDED.api_key,
                    username = EXCLUDED.username, password = EXCLUDED.password,
                    organisation = EXCLUDED.organisation, unit_key = EXCLUDED.unit_key,
                    unit = EXCLUDED.unit, external_system = EXCLUDED.external_system,
                    timeout = EXCLUDED.timeout, sync_definition = EXCLUDED.sync_definition""",
            (
                company_id,
                bool(enabled),
                normalise_base_url(url) or None,
                mode or "api_key",
                _text(key),
                _text(user),
                password or None,
                _text(organisation),
                unit_key or "alternative_code",
                _text(unit),
                system,
                min(timeout or 10.0, MAX_TIMEOUT),  # a till now waits this long at most
                sync,
            ),
        )
        moved += cr.rowcount
    _logger.info("CRM.COM connections of %s companies moved to crmcom.connection", moved)
    sync = {old: new for old, new in SYNC_COLUMNS.items() if old in existing}
    if sync:
        cr.execute(
            f"""UPDATE crmcom_connection connection
                   SET {", ".join(f'"{new}" = company."{old}"' for old, new in sync.items())}
                  FROM res_company company
                 WHERE company.id = connection.company_id"""  # noqa: S608 - names above
        )
    # Tokens saved before they were bound to their server are forgotten: the next call logs
    # in again.
    cr.execute("DELETE FROM crmcom_token WHERE base_url IS NULL")
    # Old credentials are not left behind in a table Odoo no longer knows.
    cr.execute("DROP TABLE IF EXISTS crmcom_secret")
    for column in (*OLD_COLUMNS, *sync):
        cr.execute(f'ALTER TABLE res_company DROP COLUMN IF EXISTS "{column}"')  # noqa: S608

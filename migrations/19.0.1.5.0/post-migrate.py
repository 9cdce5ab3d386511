"""19.0.1.5.0: the contacts of CRM.COM participants belong to one company; each sale keeps
the purchase its receipt printed.

Earlier versions made them shared (no company) unless another company had the same number:
a company connected to another CRM.COM organisation then used, and wrote the balance of,
another company's customer. Each shared contact with a participant number goes to the
company whose sales it was the customer of, or, never used on a sale, to the company that
has a CRM.COM connection when only one has. A contact of several companies' sales stays
shared: those companies evidently work with one CRM.COM."""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """WITH owner AS (
                SELECT partner.id,
                       array_agg(DISTINCT sale.company_id)
                           FILTER (WHERE sale.company_id IS NOT NULL) AS companies
                  FROM res_partner partner
             LEFT JOIN pos_order sale ON sale.partner_id = partner.id
                 WHERE partner.company_id IS NULL
                   AND partner.crmcom_participant_number IS NOT NULL
              GROUP BY partner.id
           ), connected AS (
                SELECT CASE WHEN count(*) = 1 THEN min(company_id) END AS company_id
                  FROM crmcom_connection
           )
           UPDATE res_partner partner
              SET company_id = COALESCE(owner.companies[1], connected.company_id)
             FROM owner, connected
            WHERE partner.id = owner.id
              AND COALESCE(cardinality(owner.companies), 0) <= 1
              AND COALESCE(owner.companies[1], connected.company_id) IS NOT NULL"""
    )
    _logger.info("%s CRM.COM participants' contacts given to their company", cr.rowcount)
    # The purchase of each sale, whose figures its receipt prints: the first of the order
    # (later ones replace it after a refund).
    cr.execute(
        """UPDATE pos_order sale
              SET crmcom_sale_purchase_id = (
                    SELECT min(purchase.id) FROM crmcom_purchase purchase
                     WHERE purchase.pos_order_id = sale.id AND purchase.replaces_id IS NULL)
            WHERE sale.crmcom_purchase_id IS NOT NULL"""
    )

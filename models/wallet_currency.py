def currencies_by_code(env, codes):
    """The res.currency of each ISO code in ``codes`` (CRM.COM's codes of wallets), by code.

    Inactive currencies count: Odoo ships every ISO currency, most of them inactive, and a
    wallet's currency is CRM.COM's, not one the company sells in. A code Odoo does not know
    is left out.
    """
    codes = {code.upper() for code in codes if code}
    if not codes:
        return {}
    currencies = (
        env["res.currency"].with_context(active_test=False).search([("name", "in", list(codes))])
    )
    return {currency.name: currency for currency in currencies}


def wallet_currency(by_code, code, fallback):
    """The currency of a wallet whose code is ``code``: ``fallback`` when CRM.COM gave none,
    no currency when Odoo does not know the code (its amounts are then never shown as money
    of another currency; the views show the code)."""
    if not code:
        return fallback
    return by_code.get(code.upper()) or fallback.browse()

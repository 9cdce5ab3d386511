import { currencies, formatCurrency } from "@web/core/currency";
import { formatFloat } from "@web/core/utils/numbers";

/**
 * Wallet amounts as the till shows and prints them.
 *
 * A CRM.COM wallet may be in another currency than the till's (CRM.COM's conversion is
 * unknown: such a wallet is never spent here). Its amounts (balance, award, new balance) are
 * then shown in the wallet's currency, never as money of the till: by its ISO code, which
 * no other currency shares (symbols are shared: "$" is the dollar of many countries, "kr"
 * the crown of several), with the decimals Odoo knows for it, else two.
 */

/** The wallet's currency code when it is not the till's (`tillCurrency`: a res.currency
 * record of the till), else "". */
export function crmcomOtherCurrency(code, tillCurrency) {
    return code && code !== tillCurrency?.name ? code : "";
}

/** `amount` of a wallet in currency `code` (the partner's `crmcom_wallet_currency`; empty:
 * the till's), for a till selling in `tillCurrency`. */
export function formatCrmComWallet(amount, code, tillCurrency) {
    const other = crmcomOtherCurrency(code, tillCurrency);
    if (!other) {
        return formatCurrency(amount || 0, tillCurrency?.id);
    }
    const known = Object.values(currencies).find((currency) => currency.name === other);
    return `${other} ${formatFloat(amount || 0, { digits: known?.digits || [69, 2] })}`;
}

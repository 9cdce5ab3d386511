from odoo.exceptions import UserError

from ..crmcom import (
    AuthenticationError,
    BadReplyError,
    BusinessRuleError,
    CallTimeoutError,
    CrmComError,
    NotFoundError,
    RateLimitedError,
)


def plain_error(env, exc):
    """What a cashier or a Point of Sale manager reads of a failed CRM.COM call: plain words,
    never the server's address nor a library's text (the call log keeps those, for
    administrators)."""
    if isinstance(exc, RateLimitedError):
        return env._("CRM.COM is busy and asked Odoo to wait before calling again.")
    if isinstance(exc, CallTimeoutError):
        return env._("CRM.COM did not answer in time.")
    if isinstance(exc, AuthenticationError):
        return env._(
            "CRM.COM refused Odoo's credentials: an administrator should check the CRM.COM "
            "settings."
        )
    if isinstance(exc, NotFoundError):
        return env._("CRM.COM does not know it: %(reason)s", reason=exc.message or exc.code)
    if isinstance(exc, BusinessRuleError):
        # CRM.COM's own words: they are meant for its users.
        return env._("CRM.COM refused: %(reason)s", reason=exc.message or exc.code)
    if isinstance(exc, BadReplyError):
        return env._("CRM.COM's answer could not be read.")
    if isinstance(exc, CrmComError):
        return env._("CRM.COM could not be reached.")
    if isinstance(exc, UserError):
        return exc.args[0]
    return env._("Unexpected error: an administrator can find it in the server log.")

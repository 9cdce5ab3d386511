"""The add-on's system parameters: one definition each of the key, default and bounds.

They are set in the settings (checked there) and may also be edited in Technical ›
System Parameters, where anything can be typed: readers always get a value within bounds.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class IntParameter:
    key: str
    default: int
    low: int
    high: int

    def value(self, env):
        raw = env["ir.config_parameter"].sudo().get_param(self.key, self.default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            return self.default
        return min(max(value, self.low), self.high)

    def is_valid(self, value):
        return isinstance(value, int) and self.low <= value <= self.high


CALL_LOG_RETENTION_DAYS = IntParameter("pos_crmcom_rewards.call_log_retention_days", 30, 1, 3650)
ABANDONED_AFTER_HOURS = IntParameter("pos_crmcom_rewards.abandoned_after_hours", 24, 1, 24 * 90)
# Failed identifications a till may make per minute before it must wait: enough for a
# cashier's typos, too few to try card numbers one after another.
IDENTIFY_FAILURES_PER_MINUTE = IntParameter(
    "pos_crmcom_rewards.identify_failures_per_minute", 5, 1, 100
)
# How long the till waits after payment for CRM.COM to confirm the award the receipt prints
# (0: never waits); the outbox sends it later when CRM.COM is slower.
RECEIPT_WAIT_SECONDS = IntParameter("pos_crmcom_rewards.receipt_wait_seconds", 2, 0, 10)
# How many of the outbox's senders may work for one company at once: each makes one CRM.COM
# call at a time, so this caps the outbox's concurrent calls to that company's CRM.COM.
OUTBOX_CALLS_PER_COMPANY = IntParameter("pos_crmcom_rewards.outbox_calls_per_company", 2, 1, 32)

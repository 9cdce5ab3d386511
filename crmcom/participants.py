"""Reading a participant (``rewards_participants/show``) where the API notes leave its shape
open."""

# Words CRM.COM could use for a blocked state; anything else is read as not blocked.
_BLOCKED_WORDS = frozenset({"BLOCKED", "BLOCK", "SPEND_BLOCKED", "SUSPENDED"})
_UNBLOCKED_WORDS = frozenset({"UNBLOCKED", "NOT_BLOCKED", "ACTIVE", "EFFECTIVE", "ALLOWED", "NONE"})


def _word_blocked(value):
    word = value.strip().upper().replace(" ", "_").replace("-", "_")
    if word in _BLOCKED_WORDS:
        return True
    if word in _UNBLOCKED_WORDS or not word:
        return False
    return None


def spend_blocked(participant):
    """Whether spending is blocked on ``participant``'s wallet: True, False, or None when
    CRM.COM did not say in a way this reads.

    ``spend_blocking_state`` is documented as "an object saying whether spend requests are
    blocked", its fields are not: a boolean, a state word, or an object holding either
    (``blocked``, ``is_blocked``, ``state``, ``life_cycle_state``, ``status``) are read.
    """
    value = (participant or {}).get("spend_blocking_state")
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _word_blocked(value)
    if isinstance(value, dict):
        for key in ("blocked", "is_blocked"):
            if isinstance(value.get(key), bool):
                return value[key]
        for key in ("state", "life_cycle_state", "status"):
            if isinstance(value.get(key), str):
                return _word_blocked(value[key])
    return None

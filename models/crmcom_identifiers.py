"""What a cashier typed or scanned, as CRM.COM spells it: people type phone numbers, e-mails,
card and participant numbers in many ways, CRM.COM matches them exactly."""

import re

import phonenumbers

_SEPARATORS = re.compile(r"[\s\-./()]+")


def normalise(method, query, country_code=None):
    """``query`` (already trimmed) for the identification ``method``; ``country_code`` (ISO,
    e.g. "CY") is the one of national phone numbers."""
    if method == "card":
        return _SEPARATORS.sub("", query)
    if method == "email":
        return query.strip().lower()
    if method == "number":
        return _SEPARATORS.sub("", query).upper()
    if method == "phone":
        return _phone(query, country_code)
    return query


def _phone(query, country_code):
    """E.164 (``+35799123456``) when the number can be read as a valid one: with its own
    ``+`` or ``00`` prefix, as a national number of ``country_code``, or as digits that start
    with their country code; else the digits as typed, without separators."""
    digits = _SEPARATORS.sub("", query)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    candidates = [digits] if digits.startswith("+") else [digits, "+" + digits]
    for candidate in candidates:
        region = None if candidate.startswith("+") else country_code
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return digits

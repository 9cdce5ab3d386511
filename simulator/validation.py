"""Request validation helpers shared by the API methods.

The simulator is intentionally stricter than what is known about the real server: anything the
documentation does not allow is refused with ``INVALID_REQUEST``, so client bugs show up in
tests instead of in production.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
_UDF_RE = re.compile(r"udf_(string|float|date)_([1-9]\d*)")
# Highest UDF index per kind (CRM.COM documents string 1..16 on some entities, 1..8 on most).
_UDF_LIMITS = {"string": 16, "float": 4, "date": 4}
ACCESS_TOKEN_KEYS = ("authentication_code", "identifier", "one_time_password")


class ApiError(Exception):
    """An error reply: becomes the ``status`` of the response envelope."""

    def __init__(self, code: str, message: str, description: str = "", http_status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.description = description
        self.http_status = http_status


def invalid(message: str, description: str = "") -> ApiError:
    return ApiError("INVALID_REQUEST", message, description)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def now() -> datetime:
    """Server time, second precision and zone-less like every CRM.COM date."""
    return datetime.now().replace(microsecond=0)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def check_parameters(
    body: dict, allowed: frozenset[str] | set[str], mandatory=(), *, udf: bool = True
) -> None:
    """Refuse unknown top-level parameters and missing mandatory ones."""
    for key, value in body.items():
        if key in allowed:
            continue
        match = _UDF_RE.fullmatch(key) if udf else None
        if match and int(match[2]) <= _UDF_LIMITS[match[1]]:
            _check_udf(key, match[1], value)
            continue
        raise invalid(f"Unknown parameter '{key}'", "The method does not accept this parameter.")
    for key in mandatory:
        if _is_blank(body.get(key)):
            raise invalid(f"Missing mandatory parameter '{key}'")


def _check_udf(key: str, kind: str, value: Any) -> None:
    if value is None:
        return
    if kind == "string" and not isinstance(value, str):
        raise invalid(f"'{key}' must be a string")
    if kind == "float":
        parse_amount(value, key, allow_negative=True)
    if kind == "date":
        parse_date(value, key)


def udf_values(body: dict) -> dict:
    return {key: value for key, value in body.items() if _UDF_RE.fullmatch(key)}


def one_of(body: dict, names: tuple[str, ...], *, required: bool) -> str | None:
    """Pick the single parameter given among alternatives (e.g. customer identifiers)."""
    given = [name for name in names if body.get(name) is not None]
    if len(given) > 1 or (required and not given):
        raise invalid(
            f"Exactly one of {', '.join(names)} is required"
            if required
            else f"At most one of {', '.join(names)} is allowed",
            f"{len(given)} given",
        )
    return given[0] if given else None


def check_identifier(value: Any, path: str, keys: tuple[str, ...]) -> dict:
    """Apply the semi-optional rule: an object with exactly one of ``keys``, nothing else."""
    if not isinstance(value, dict):
        raise invalid(f"'{path}' must be an object")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise invalid(f"Unknown key '{unknown[0]}' in '{path}'", f"Allowed: {', '.join(keys)}")
    given = {key: item for key, item in value.items() if item is not None}
    if len(given) != 1:
        raise invalid(
            f"'{path}' needs exactly one of {', '.join(keys)}", f"{len(given)} semi-optional given"
        )
    ((key, item),) = given.items()
    if key == "access_token_identifier":
        check_access_token_identifier(item, f"{path}.{key}")
    elif not isinstance(item, str) or not item:
        raise invalid(f"'{path}.{key}' must be a non-empty string")
    return given


def check_access_token_identifier(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(f"'{path}' must be an object")
    unknown = sorted(set(value) - {*ACCESS_TOKEN_KEYS, "pass_code"})
    if unknown:
        raise invalid(f"Unknown key '{unknown[0]}' in '{path}'")
    given = [key for key in ACCESS_TOKEN_KEYS if value.get(key) is not None]
    if len(given) != 1:
        raise invalid(
            f"'{path}' needs exactly one of {', '.join(ACCESS_TOKEN_KEYS)}",
            f"{len(given)} semi-optional given",
        )
    pass_code = value.get("pass_code")
    if given[0] == "identifier":
        if not isinstance(pass_code, str) or not pass_code:
            raise invalid(f"'{path}.pass_code' is mandatory when 'identifier' is given")
    elif pass_code is not None:
        raise invalid(f"'{path}.pass_code' is only allowed together with 'identifier'")
    item = value[given[0]]
    if given[0] == "one_time_password":
        if not isinstance(item, int) or isinstance(item, bool):
            raise invalid(f"'{path}.one_time_password' must be an integer")
    elif not isinstance(item, str) or not item:
        raise invalid(f"'{path}.{given[0]}' must be a non-empty string")
    return value


def get_identifier(
    body: dict, key: str, keys: tuple[str, ...], *, mandatory: bool = False
) -> dict | None:
    value = body.get(key)
    if value is None:
        if mandatory:
            raise invalid(f"Missing mandatory parameter '{key}'")
        return None
    return check_identifier(value, key, keys)


def get_str(body: dict, key: str, *, mandatory: bool = False) -> str | None:
    value = body.get(key)
    if _is_blank(value):
        if mandatory:
            raise invalid(f"Missing mandatory parameter '{key}'")
        return None
    if not isinstance(value, str):
        raise invalid(f"'{key}' must be a string")
    return value


def get_bool(body: dict, key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"'{key}' must be a boolean")
    return value


def get_int(body: dict, key: str, *, minimum: int = 0) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise invalid(f"'{key}' must be an integer >= {minimum}")
    return value


def parse_date(value: Any, path: str) -> datetime:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise invalid(f"'{path}' must be a date formatted YYYY-MM-DDTHH:MM:SS", repr(value))
    try:
        return datetime.strptime(value, DATE_FORMAT)
    except ValueError as err:
        raise invalid(f"'{path}' is not a valid date", str(err)) from None


def get_date(body: dict, key: str, *, mandatory: bool = False) -> datetime | None:
    value = body.get(key)
    if value is None:
        if mandatory:
            raise invalid(f"Missing mandatory parameter '{key}'")
        return None
    return parse_date(value, key)


def parse_amount(value: Any, path: str, *, allow_negative: bool = False) -> Decimal:
    """Numbers or numeric strings (the docs print some amounts as strings); never booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise invalid(f"'{path}' must be a number")
    if isinstance(value, str) and not _NUMBER_RE.fullmatch(value.strip()):
        raise invalid(f"'{path}' must be a number", repr(value))
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid(f"'{path}' must be a number", repr(value)) from None
    if not amount.is_finite():
        raise invalid(f"'{path}' must be a finite number")
    if amount < 0 and not allow_negative:
        raise invalid(f"'{path}' must not be negative", str(amount))
    return amount


def get_amount(body: dict, key: str, *, mandatory: bool = False, path: str = "") -> Decimal | None:
    value = body.get(key)
    if value is None:
        if mandatory:
            raise invalid(f"Missing mandatory parameter '{path}{key}'")
        return None
    return parse_amount(value, f"{path}{key}")


def get_fields_set(body: dict) -> list[str] | None:
    """``fields_set`` is one comma-separated string of top-level field names."""
    value = body.get("fields_set")
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("'fields_set' must be a comma separated string")
    fields = [name.strip() for name in value.split(",") if name.strip()]
    if not fields:
        raise invalid("'fields_set' must name at least one field")
    return fields


def apply_fields_set(data: Any, fields: list[str] | None) -> Any:
    if fields is None or data is None:
        return data
    if isinstance(data, list):
        return [apply_fields_set(item, fields) for item in data]
    return {key: value for key, value in data.items() if key in fields}

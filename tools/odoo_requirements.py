#!/usr/bin/env python3
"""Print Odoo's Python requirements, filtered so that they install on this machine.

Usage: odoo_requirements.py [ODOO_SRC/requirements.txt]   (default: $ODOO_SRC/requirements.txt)

Rules (each one exists because the plain file does not install here):

* Environment markers are evaluated as if ``python_version`` were at least 3.12
  (the real platform is kept). Odoo's pins for Python 3.11 are old releases
  (lxml 4.9.3, gevent 22.10.2, cryptography 3.4.8, reportlab 3.6.12, ...) that
  lack wheels for Python 3.11 and fail to build from source; the pins Odoo uses
  for Python 3.12 (Ubuntu Noble) all ship cp311 / abi3 wheels.
* ``psycopg2`` becomes ``psycopg2-binary`` of the same version: no compiler or
  libpq headers needed.
* ``python-ldap`` is left out: it needs the system LDAP/SASL headers and is only
  used by the ``auth_ldap`` add-on, which we never install.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

try:
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:  # a bare venv: pip always vendors packaging
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement

MIN_PYTHON = (3, 12)
SKIPPED = {"python-ldap"}
RENAMED = {"psycopg2": "psycopg2-binary"}


def marker_environment() -> dict[str, str]:
    env = default_environment()
    real = tuple(int(p) for p in platform.python_version_tuple()[:2])
    if real < MIN_PYTHON:
        env["python_version"] = "%d.%d" % MIN_PYTHON
        env["python_full_version"] = "%d.%d.0" % MIN_PYTHON
    return env


def filtered(lines: list[str]) -> list[str]:
    env = marker_environment()
    out: list[str] = []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:  # pragma: no cover - Odoo's file is well formed
            sys.exit(f"odoo_requirements.py: cannot parse {line!r}: {exc}")
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = req.name.lower()
        if name in SKIPPED:
            continue
        req.name = RENAMED.get(name, req.name)
        req.marker = None
        out.append(str(req))
    return out


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        path = Path(argv[1])
    else:
        path = Path(os.environ.get("ODOO_SRC", "/opt/odoo/19.0")) / "requirements.txt"
    if not path.is_file():
        print(f"odoo_requirements.py: {path} not found", file=sys.stderr)
        return 1
    print("\n".join(filtered(path.read_text().splitlines())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

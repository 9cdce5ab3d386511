"""CRM.COM Web API v4 simulator: a strict, stdlib-only test double (see ``server.py``).

Start it in-process with ``SimulatorServer`` or from the repository root with
``python -m simulator``.
"""

from .faults import FaultInjector
from .server import SimulatorServer
from .state import SimulatorConfig

__all__ = ["FaultInjector", "SimulatorConfig", "SimulatorServer"]

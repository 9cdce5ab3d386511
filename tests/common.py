"""Shared test helpers: a CRM.COM simulator per test class, and a company pointed at it."""

import requests

from ..simulator.server import SimulatorServer

API_KEY = "SIM-SYSTEM-KEY"


class SimulatorMixin:
    """Start one simulator for the class; give every test a freshly seeded, fault-free one."""

    simulator = None

    @classmethod
    def start_simulator(cls):
        cls.simulator = SimulatorServer(host="127.0.0.1", port=0, seed=True)
        cls.simulator.start()
        cls.addClassCleanup(cls.simulator.stop)

    def reset_simulator(self):
        self.simulator.reset(seed=True)

    def simulator_state(self):
        """What CRM.COM holds now, as its control endpoint reports it."""
        return requests.get(self.simulator.url + "/_simulator/state", timeout=5).json()


def connect_company(company, simulator, **overrides):
    """Point ``company`` at ``simulator`` with the seeded Web API key and store."""
    company.sudo().write(
        {
            "crmcom_base_url": simulator.url,
            "crmcom_auth_mode": "api_key",
            "crmcom_api_key": API_KEY,
            "crmcom_unit_key": "alternative_code",
            "crmcom_unit": "STORE01",
            "crmcom_timeout": 5.0,
            "crmcom_enabled": True,
            **overrides,
        }
    )

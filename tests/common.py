"""Shared test helpers: a CRM.COM simulator per test class, and a company pointed at it."""

from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import urlsplit

import requests

from odoo import Command
from odoo.tests import BaseCase, new_test_user, tagged

from odoo.addons.point_of_sale.tests.common import TestPoSCommon
from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon

from ..crmcom import client as client_module
from ..crmcom import pool
from ..simulator.server import SimulatorServer

API_KEY = "SIM-SYSTEM-KEY"
JOHN_CARD = "4000123412341234"
# John's customer and the demo store, as the client's calls name them.
JOHN = {"accounts_receivable_identifier": {"number": "AR0001"}}
UNIT = {"alternative_code": "STORE01"}


# Taken before any test patches it: BaseCase routes requests through its own handler.
_send = requests.Session.send


class LocalTimeoutsMixin:
    """Odoo's test cases raise every request timeout under 10 s; tests about timeouts keep,
    for requests to this machine, the ones they set (others stay blocked)."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        if urlsplit(r.url).hostname in ("127.0.0.1", "localhost"):
            return _send(s, r, **kw)
        return super()._request_handler(s, r, **kw)


@tagged("post_install", "-at_install")
class PlainCase(LocalTimeoutsMixin, BaseCase):
    """A test of the client or the simulator alone: no database, real HTTP on 127.0.0.1."""


class SimulatorMixin:
    """Start one simulator for the class; give every test a freshly seeded, fault-free one."""

    simulator = None

    def fresh_connections(self):
        """Start this test with no kept connection to CRM.COM (an earlier test's would be
        reused, or found closed) and record the client's waits between attempts instead of
        taking them; return the list they are recorded in."""
        pool.close_all()
        self.addCleanup(pool.close_all)
        waits = []
        patcher = patch.object(client_module, "_sleep", waits.append)
        patcher.start()
        self.addCleanup(patcher.stop)
        return waits

    @classmethod
    def start_simulator(cls):
        # Wallets in the currency the company sells in, as a real organisation's would be.
        env = getattr(cls, "env", None)
        currency = env.company.currency_id.name if env is not None else "EUR"
        cls.simulator = SimulatorServer(host="127.0.0.1", port=0, seed=True, currency=currency)
        cls.simulator.start()
        cls.addClassCleanup(cls.simulator.stop)

    def reset_simulator(self):
        self.simulator.reset(seed=True)

    def amend(self, kind, reference, **changes):
        """Change an event behind Odoo's back (the simulator's control endpoint), as
        somebody working in CRM.COM itself would."""
        reply = requests.post(
            self.simulator.url + "/_simulator/amend",
            json={"kind": kind, "reference": reference, "changes": changes},
            timeout=5,
        )
        self.assertEqual(reply.status_code, 200, reply.text)

    def simulator_state(self):
        """What CRM.COM holds now, as its control endpoint reports it."""
        return requests.get(self.simulator.url + "/_simulator/state", timeout=5).json()

    def other_cursors(self):
        """What the test's environment holds is written before code working on cursors of
        its own reads it, and read again afterwards."""
        return _flushed_and_invalidated(self.env)

    def lift_outbox_pauses(self):
        """As if every company's pause (an outage seen by the outbox) were over."""
        self.env["crmcom.connection"].sudo().search([]).outbox_paused_until = False

    def run_submit_cron(self):
        with self.other_cursors():
            self.env.ref(
                "pos_crmcom_rewards.ir_cron_crmcom_submit_purchases"
            ).method_direct_trigger()


@contextmanager
def _flushed_and_invalidated(env):
    env.flush_all()
    try:
        yield
    finally:
        env.invalidate_all()


def other_company_admin(env, login, groups="base.group_system", **values):
    """A user of a new company only (by default its administrator): the one the CRM.COM
    connection of every other company must stay out of reach of."""
    other = env["res.company"].create({"name": f"Company of {login}"})
    return new_test_user(
        env, login, groups=groups, company_id=other.id, company_ids=[(6, 0, other.ids)], **values
    )


POS_USER = "base.group_user,point_of_sale.group_pos_user"
POS_MANAGER = "base.group_user,point_of_sale.group_pos_manager"


def company_user(env, login, company, groups=POS_MANAGER, **values):
    """A user of ``company`` only, by default one of its Point of Sale managers."""
    return new_test_user(
        env,
        login,
        groups=groups,
        company_id=company.id,
        company_ids=[(6, 0, company.ids)],
        **values,
    )


def unconnected_company(env):
    """The current company, without CRM.COM connection nor a till using CRM.COM, whatever the
    demo data set."""
    env["pos.config"].search([]).crmcom_enabled = False
    env.company._crmcom_connection().unlink()
    return env.company


def connect_company(company, simulator, **overrides):
    """Point ``company``'s CRM.COM connection at ``simulator`` with the seeded Web API key
    and store (``overrides``: other values of crmcom.connection); return the connection."""
    values = {
        "base_url": simulator.url,
        "auth_mode": "api_key",
        "api_key": API_KEY,
        "unit_key": "alternative_code",
        "unit": "STORE01",
        "timeout": 5.0,
        "enabled": True,
        **overrides,
    }
    return company.sudo()._crmcom_set_connection(values)


class CashierCase(SimulatorMixin, TestPoSCommon):
    """A CRM.COM-enabled till with an open session, against the simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        connect_company(cls.company, cls.simulator)
        cls.config = cls.basic_config
        cls.config.crmcom_enabled = True
        cls.spend_product = cls.config.crmcom_discount_product_id
        cls.desk = cls.create_product("Desk", cls.categ_basic, 30.0)
        cls.lamp = cls.create_product("Lamp", cls.categ_basic, 10.0)
        cls.lamp.default_code = "LAMP-1"

    def setUp(self):
        super().setUp()
        # Cursors the code opens for itself (the counters of failed identifications, the
        # scheduled actions run by hand) work inside the test's transaction, as in HttpCase.
        self.registry_enter_test_mode()
        self.reset_simulator()
        self.open_new_session()

    # ------------------------------------------------------------------ helpers

    def identify(self, query=JOHN_CARD, method="card"):
        return self.config._crmcom_identify(query, method)

    def john(self):
        result = self.identify()
        self.assertTrue(result["ok"], result)
        return self.env["res.partner"].browse(result["partner_id"])

    def basket(self, partner, products=None, uuid="uuid-0001"):
        """The dict the till sends; by default one desk (30.00)."""
        products = products or [(self.desk, 1)]
        return {
            "uuid": uuid,
            "reference": f"Order {uuid}",
            "partner_id": partner.id,
            "lines": [
                {
                    "product_id": product.id,
                    "qty": qty,
                    "price_subtotal": product.lst_price * qty,
                    "price_subtotal_incl": product.lst_price * qty,
                }
                for product, qty in products
            ],
        }

    def paid_order(self, partner, uuid, discount=0.0, products=None):
        lines = [(self.desk, 1)] if products is None else products
        if discount:
            lines.append({"product": self.spend_product, "quantity": 1, "price_unit": -discount})
        data = self.create_ui_order_data(lines, customer=partner, uuid=uuid)
        if discount:
            line = data["lines"][-1][2]
            line.update(
                price_unit=-discount, price_subtotal=-discount, price_subtotal_incl=-discount
            )
            total = sum(line[2]["price_subtotal_incl"] for line in data["lines"])
            data.update(amount_total=total, amount_paid=total)
            data["payment_ids"][0][2]["amount"] = total
        result = self.env["pos.order"].sync_from_ui([data])
        return self.env["pos.order"].browse(result["pos.order"][0]["id"])

    def refund(self, order, lines=None):
        """Refund ``lines`` of ``order`` (default: all it keeps) from the back office, with
        the wallet's share of them; pay it in cash."""
        refund = order._refund()
        if lines is not None:
            refund.lines.filtered(
                lambda line: (
                    line.refunded_orderline_id not in lines
                    and line.product_id != self.spend_product
                )
            ).unlink()
            refund._crmcom_set_wallet_restored()
        cash = self.config.payment_method_ids.filtered("is_cash_count")[:1]
        self.make_payment(refund, cash, refund.amount_total)
        self.assertEqual(refund.state, "paid")
        return refund

    def crm_purchases(self, state="POSTED"):
        return [p for p in self.simulator_state()["purchases"] if p["life_cycle_state"] == state]

    def calls(self):
        return self.env["crmcom.call.log"].search_count([])

    def call_log(self, record):
        """The call log entries of ``record``, newest first."""
        return self.env["crmcom.call.log"].search(
            [("res_model", "=", record._name), ("res_id", "=", record.id)]
        )


class CrmComHttpCase(SimulatorMixin, TestPointOfSaleHttpCommon):
    """Point of Sale's own browser test set-up, its main till connected to the simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        connect_company(cls.main_pos_config.company_id, cls.simulator)
        cls.main_pos_config.write({"crmcom_enabled": True})


class CrmComTourCase(LocalTimeoutsMixin, CrmComHttpCase):
    """A cashier's tour at the main till: a fresh simulator for each test, with real
    timeouts, and the untaxed "CRM Book" (20.00) the tours sell."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.book = cls.env["product.product"].create(
            {
                "name": "CRM Book",
                "available_in_pos": True,
                "list_price": 20.0,
                "taxes_id": [Command.clear()],
            }
        )

    def setUp(self):
        super().setUp()
        self.reset_simulator()

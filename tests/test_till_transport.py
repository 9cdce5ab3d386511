"""The till's calls and the outbox over HTTP: connections kept between till requests (one TCP
connection for many calls), HTTPS with the CA bundle of the system parameter, and CRM.COM's
"too many requests" (HTTP 429) at the till and in the outbox."""

from odoo.tests import tagged

from ..models.crmcom_connection import CA_FILE_PARAMETER
from ..simulator.server import SimulatorServer
from .common import CashierCase, connect_company

CREATE = "customer_events/purchases/create"
SHOW = "rewards_participants/show"


@tagged("post_install", "-at_install")
class TestTillTransport(CashierCase):
    def setUp(self):
        super().setUp()
        self.waits = self.fresh_connections()

    def test_till_calls_reuse_one_connection(self):
        john = self.john()
        for _call in range(3):
            self.assertTrue(self.identify()["ok"])
            preview = self.config._crmcom_preview(self.basket(john))
            self.assertTrue(preview["ok"], preview)
        received = self.simulator.received
        self.assertEqual(received[SHOW] + received["customer_events/purchases/preview"], 7)
        # The login and the seven calls of as many till requests, each with its own client.
        self.assertEqual(self.simulator.connections_accepted, 1)
        logs = self.env["crmcom.call.log"].search([("method", "=", SHOW)])
        self.assertEqual(len(logs), 4, "every call is still logged")

    def test_new_credentials_new_connection(self):
        self.assertTrue(self.identify()["ok"])
        with self.company._crmcom_client() as client:
            kept = client._pool()
        connect_company(
            self.company,
            self.simulator,
            auth_mode="password",
            username="posuser",
            password="secret",
            organisation="CRMDEMO",
        )
        self.assertTrue(self.identify()["ok"])
        self.assertTrue(kept.closed, "the sessions of the old credentials are closed")
        self.assertEqual(self.simulator.connections_accepted, 2, "a new one for new credentials")
        self.assertTrue(self.identify()["ok"])
        self.assertEqual(self.simulator.connections_accepted, 2)

    def test_https_with_the_ca_bundle_of_the_system_parameter(self):
        https = SimulatorServer(
            host="127.0.0.1", port=0, currency=self.company.currency_id.name, tls=True
        ).start()
        self.addCleanup(https.stop)
        connect_company(self.company, https)
        refused = self.identify()
        self.assertEqual(refused["error"], "unreachable", "an unknown authority is refused")
        log = self.env["crmcom.call.log"].search([], limit=1)
        self.assertIn("certificate", log.message.lower())
        self.env["ir.config_parameter"].set_param(CA_FILE_PARAMETER, https.ca_file)
        https.reset()
        for _call in range(3):
            self.assertTrue(self.identify()["ok"])
        self.assertEqual(https.connections_accepted, 1, "one handshake for the login and 3")
        self.env["ir.config_parameter"].set_param(CA_FILE_PARAMETER, "/nonexistent/ca.pem")
        self.assertEqual(self.identify()["error"], "unreachable", "never unverified")

    def test_a_429_at_the_till_answers_at_once(self):
        self.assertTrue(self.identify()["ok"])
        # Longer than the till's timeout (5 s): not waited for.
        self.simulator.faults.add("http_429", method=SHOW, times=None, seconds=30)
        result = self.identify()
        self.assertEqual(result["error"], "unreachable")
        self.assertEqual(self.waits, [])
        log = self.env["crmcom.call.log"].search([("method", "=", SHOW)], limit=1)
        self.assertEqual((log.outcome, log.http_status), ("rate_limited_error", 429))
        # A short wait fits in the timeout: the cashier sees the customer.
        self.reset_simulator()
        self.simulator.faults.add("http_429", method=SHOW, seconds=1)
        self.assertTrue(self.identify()["ok"])
        self.assertEqual(len(self.waits), 1)
        self.assertGreaterEqual(self.waits[0], 1.0)

    def test_a_purchase_answered_429_reaches_crmcom_exactly_once(self):
        """Whether CRM.COM did the work before answering 429 is not documented: the outbox
        looks the purchase up before sending it again, so both answers end with one."""
        john = self.john()
        for index, kind in enumerate(("http_429", "http_429_after")):
            order = self.paid_order(john, f"uuid-429-{index}")
            self.simulator.faults.add(kind, method=CREATE, seconds=1)
            self.run_submit_cron()
            purchase = order.crmcom_purchase_id
            self.assertEqual(purchase.state, "unknown", kind)
            self.assertEqual(self.waits, [], "a create is not resent by the client")
            purchase.action_retry()
            self.run_submit_cron()
            self.assertEqual(purchase.state, "posted", kind)
            same = [
                p
                for p in self.simulator_state()["purchases"]
                if p["reference_number"] == purchase.reference
            ]
            self.assertEqual(len(same), 1, kind)

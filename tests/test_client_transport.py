"""How the client uses HTTP: connections kept between calls (crmcom/pool.py), TLS with a CA
bundle of one's own, and HTTP 429 with and without Retry-After. Against the simulator, over
real HTTP(S) on 127.0.0.1; the waits between attempts are recorded, not taken."""

import http.server
import json
import threading
from datetime import datetime

import requests

from ..crmcom import (
    CrmComClient,
    RateLimitedError,
    TransportError,
    pool,
)
from ..crmcom.client import _DeadlineRetry
from ..simulator.server import SimulatorServer
from .common import API_KEY, JOHN, UNIT, PlainCase, SimulatorMixin

LINE = {
    "product_identifier": {"code": "SKU-1"},
    "quantity": 1,
    "net_amount": 10.0,
    "vat_amount": 0.0,
    "total_amount": 10.0,
}
SHOW = "rewards_participants/show"
CREATE = "customer_events/purchases/create"


class TransportCase(SimulatorMixin, PlainCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()

    def setUp(self):
        super().setUp()
        self.reset_simulator()
        self.waits = self.fresh_connections()

    def client(self, url=None, **kwargs):
        options = {"api_key": API_KEY, "timeout": 5.0, "backoff_factor": 0, **kwargs}
        return CrmComClient(url or self.simulator.url, **options)

    def received(self, method):
        return self.simulator.received.get(method, 0)

    def purchase(self, client, reference="R-1"):
        return client.create_purchase(
            JOHN,
            unit=UNIT,
            performed_on=datetime(2026, 11, 27, 10),
            reference_number=reference,
            lines=[LINE],
        )


class TestConnectionReuse(TransportCase):
    def test_calls_and_clients_reuse_one_connection(self):
        client = self.client(pool_owner="company-1")
        for _call in range(4):
            client.show_participant({"number": "P0001"}, fields=["number"])
        # As a till builds a client per request: the next one takes the same connection.
        again = self.client(pool_owner="company-1")
        again.show_participant({"number": "P0002"}, fields=["number"])
        self.purchase(again)
        self.assertEqual(self.received(SHOW), 5)
        self.assertEqual(self.simulator.connections_accepted, 1, "login, 5 reads, a create")

    def test_other_credentials_replace_the_owners_pool(self):
        first = self.client(pool_owner="company-1")
        first.show_participant({"number": "P0001"}, fields=["number"])
        kept = first._pool()
        other = self.client(
            pool_owner="company-1",
            api_key=None,
            username="posuser",
            password="secret",
            organisation="CRMDEMO",
        )
        other.show_participant({"number": "P0001"}, fields=["number"])
        self.assertTrue(kept.closed, "the sessions of the old credentials are closed")
        self.assertEqual(self.simulator.connections_accepted, 2)
        # Another owner never shares them, even with the same server and credentials.
        self.client(pool_owner="company-2").show_participant({"number": "P0001"})
        self.assertEqual(self.simulator.connections_accepted, 3)

    def test_discarding_an_owner_closes_its_connections(self):
        client = self.client(pool_owner="company-1")
        client.show_participant({"number": "P0001"})
        kept = client._pool()
        pool.discard("company-1")
        self.assertTrue(kept.closed)
        client.show_participant({"number": "P0001"})
        self.assertEqual(self.simulator.connections_accepted, 2)

    def test_threads_never_share_a_connection_at_once(self):
        client = self.client(pool_owner="company-1")
        client.login()
        failures = []

        def work():
            try:
                for _call in range(5):
                    client.show_participant({"number": "P0001"}, fields=["number"])
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=work) for _thread in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(failures, [])
        self.assertEqual(self.received(SHOW), 20)
        # At most one connection per thread at once, plus the login's (reused by one).
        self.assertLessEqual(self.simulator.connections_accepted, 4)

    def test_a_create_on_a_connection_the_server_closed_is_sent_once(self):
        client = self.client(pool_owner="company-1")
        client.show_participant({"number": "P0001"})
        # The server ends the kept connection (as its idle timeout would) before the create.
        self.simulator._httpd.close_connections()
        self.assertTrue(self.purchase(client)["id"])
        self.assertEqual(self.received(CREATE), 1)
        self.assertEqual(self.simulator.connections_accepted, 2, "a new connection for it")
        self.assertEqual(len(self.simulator_state()["purchases"]), 1)

    def test_no_cookie_travels_from_one_call_to_the_next(self):
        seen = []

        class Cookies(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                seen.append(self.headers.get("Cookie"))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.dumps({"status": {"code": "OK"}, "data": {"token": "T"}}).encode()
                self.send_response(200)
                self.send_header("Set-Cookie", "crm_session=of-another-user; Path=/")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cookies)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        client = self.client(f"http://127.0.0.1:{server.server_address[1]}", pool_owner="c")
        for _call in range(3):
            client.call("wallets/show", {})
        self.assertEqual(seen, [None, None, None, None], "a login, then 3 calls: no cookie")


class TestTls(TransportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.https = SimulatorServer(host="127.0.0.1", port=0, tls=True).start()
        cls.addClassCleanup(cls.https.stop)

    def test_a_ca_bundle_of_ones_own_and_one_handshake_for_several_calls(self):
        self.assertTrue(self.https.url.startswith("https://"))
        client = self.client(self.https.url, verify=self.https.ca_file, pool_owner="tls")
        for _call in range(3):
            self.assertEqual(
                client.show_participant({"number": "P0001"}, fields=["number"]),
                {"number": "P0001"},
            )
        self.assertEqual(self.https.connections_accepted, 1)

    def test_an_untrusted_certificate_fails_as_unreachable(self):
        client = self.client(self.https.url)  # the system's authorities only
        with self.assertRaises(TransportError) as caught:
            client.show_participant({"number": "P0001"})
        self.assertIn("certificate", caught.exception.description.lower())

    def test_verification_cannot_be_turned_off(self):
        for verify in (False, None, "", "/nonexistent/ca.pem"):
            with self.assertRaises(ValueError, msg=verify):
                self.client(self.https.url, verify=verify)


class TestTooManyRequests(TransportCase):
    def test_a_read_waits_as_long_as_retry_after_says_then_succeeds(self):
        client = self.client()
        client.login()
        self.simulator.faults.add("http_429", method=SHOW, seconds=2)
        data = client.show_participant({"number": "P0001"}, fields=["number"])
        self.assertEqual(data, {"number": "P0001"})
        self.assertEqual(self.received(SHOW), 2)
        self.assertEqual(len(self.waits), 1)
        self.assertGreaterEqual(self.waits[0], 2.0, "never earlier than asked")
        self.assertLessEqual(self.waits[0], 2.2, "jitter: at most a tenth more")

    def test_a_read_without_retry_after_backs_off_with_jitter(self):
        client = self.client(backoff_factor=0.2)
        client.login()
        self.simulator.faults.add("http_429", method=SHOW, times=2)
        self.assertEqual(
            client.show_participant({"number": "P0001"}, fields=["number"]), {"number": "P0001"}
        )
        self.assertEqual(self.received(SHOW), 3)
        self.assertEqual(len(self.waits), 2)
        self.assertTrue(0.1 <= self.waits[0] <= 0.2, self.waits)
        self.assertTrue(0.2 <= self.waits[1] <= 0.4, self.waits)

    def test_a_wait_beyond_the_deadline_is_not_taken(self):
        client = self.client()
        client.login()
        self.simulator.faults.add("http_429", method=SHOW, seconds=5)
        with client.deadline(1.0), self.assertRaises(RateLimitedError) as caught:
            client.show_participant({"number": "P0001"})
        self.assertEqual(self.waits, [], "a till call never waits beyond its timeout")
        self.assertEqual(self.received(SHOW), 1)
        self.assertEqual(caught.exception.retry_after, 5)
        self.assertEqual(caught.exception.http_status, 429)
        self.assertFalse(caught.exception.outcome_unknown, "a read")
        # Without a deadline, no longer than max_retry_wait either.
        self.simulator.faults.add("http_429", method=SHOW, seconds=60)
        with self.assertRaises(RateLimitedError):
            self.client(max_retry_wait=30).show_participant({"number": "P0001"})
        self.assertEqual(self.waits, [])

    def test_retries_end_with_the_last_429(self):
        client = self.client(retries=2)
        client.login()
        self.simulator.faults.add("http_429", method=SHOW, times=None, seconds=1)
        with self.assertRaises(RateLimitedError):
            client.show_participant({"number": "P0001"})
        self.assertEqual(self.received(SHOW), 3)
        self.assertEqual(len(self.waits), 2)

    def test_a_create_is_not_resent_after_a_429(self):
        """CRM.COM does not say that a 429 comes before any work: a creating call answered
        429 has an unknown outcome (the outbox looks it up before sending it again)."""
        client = self.client()
        for kind, kept in (("http_429", 0), ("http_429_after", 1)):
            self.reset_simulator()
            client.login()
            self.simulator.faults.add(kind, method=CREATE, seconds=1)
            with self.assertRaises(RateLimitedError) as caught:
                self.purchase(client, reference=f"R-{kind}")
            self.assertTrue(caught.exception.outcome_unknown, kind)
            self.assertEqual(self.received(CREATE), 1, "sent once")
            self.assertEqual(len(self.simulator_state()["purchases"]), kept, kind)
        self.assertEqual(self.waits, [])

    def test_the_jitter_spreads_the_waits(self):
        retry = _DeadlineRetry(total=3, backoff_factor=1.0).increment("POST", "/")
        waits = {retry.get_backoff_time() for _draw in range(50)}
        self.assertTrue(all(0.5 <= wait <= 1.0 for wait in waits), waits)
        self.assertGreater(len(waits), 1, "not all the same")


class TestSimulatorTransport(TransportCase):
    def test_429_with_and_without_retry_after(self):
        url = self.simulator.url + "/crmapi/rest/v2/authentication/web_api_key/token"
        self.simulator.faults.add("http_429", seconds=1.5)
        self.simulator.faults.add("http_429")
        for expected in ("2", None):
            reply = requests.post(url, json={}, auth=(API_KEY, ""), timeout=5)
            self.assertEqual(reply.status_code, 429)
            self.assertEqual(reply.headers.get("Retry-After"), expected)
            self.assertEqual(reply.json()["status"]["code"], "TOO_MANY_REQUESTS")
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 0, "nothing done")
        self.simulator.faults.add("http_429_after")
        self.assertEqual(
            requests.post(url, json={}, auth=(API_KEY, ""), timeout=5).status_code, 429
        )
        self.assertEqual(self.simulator_state()["counts"]["valid_tokens"], 1, "done, then 429")

    def test_accepted_connections_are_counted(self):
        url = self.simulator.url + "/crmapi/rest/v2/authentication/web_api_key/token"
        with requests.Session() as session:
            for _call in range(3):
                session.post(url, json={}, auth=(API_KEY, ""), timeout=5).raise_for_status()
        self.assertEqual(self.simulator.connections_accepted, 1, "kept alive")
        requests.post(url, json={}, auth=(API_KEY, ""), timeout=5).raise_for_status()
        self.assertEqual(self.simulator.connections_accepted, 2)
        self.assertEqual(self.simulator_state()["connections_accepted"], 3, "and the state's")
        self.reset_simulator()
        self.assertEqual(self.simulator.connections_accepted, 0)

    def test_a_fixed_latency_is_added_to_every_call(self):
        with self.assertRaises(ValueError):
            SimulatorServer(latency=-1)
        with SimulatorServer(latency=0.3) as slow:
            client = self.client(slow.url, timeout=0.1, retries=0)
            with self.assertRaises(TransportError):
                client.show_participant({"number": "P0001"})
            self.assertTrue(self.client(slow.url, timeout=5).login())

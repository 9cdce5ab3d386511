#!/usr/bin/env python3
"""Take the screenshots of the cashier flow (docs/cashier.md, the Apps page) from a running
``make run`` instance.

Usage (with the project's virtualenv, while ``make run`` serves Odoo and the simulator)::

    ~/.cache/pos_crmcom_rewards/venv/bin/python tools/screenshots.py \
        [--url http://localhost:8069] [--login admin] [--password admin] \
        [--chromium /usr/bin/chromium] [--out static/description]

It drives Debian's Chromium, headless, through the DevTools protocol (``websocket-client``,
already a test requirement: no browser download, no extra package), opens the CRM.COM-enabled
point of sale, identifies John Doe (card 4000123412341234), adds two products, spends from his
wallet and pays, and saves:

- ``identify_dialog.png``: the identification dialog with John found;
- ``order_preview.png``: the order summary with the CRM.COM preview;
- ``order_spend.png``: the order after the wallet spend (discount lines);
- ``receipt.png``: the receipt with the CRM.COM Rewards section.

Each run makes a real (demo) sale: John's wallet in the simulator goes down by what is spent.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

REPO = Path(__file__).resolve().parent.parent
CARD = "4000123412341234"
WIDTH, HEIGHT = 1440, 900


class ScreenshotError(RuntimeError):
    pass


class Browser:
    """Just enough of the DevTools protocol: evaluate JavaScript, wait, take screenshots."""

    def __init__(self, chromium: str):
        self.profile = tempfile.mkdtemp(prefix="crmcom-shots-")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed executable and arguments
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._devtools_port()
        targets = self._json(f"http://127.0.0.1:{port}/json/list")
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _devtools_port(self) -> int:
        port_file = Path(self.profile, "DevToolsActivePort")
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            if self.process.poll() is not None:
                raise ScreenshotError("Chromium exited at start-up")
            time.sleep(0.05)
        raise ScreenshotError("Chromium did not open its DevTools port")

    @staticmethod
    def _json(url: str):
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - local DevTools
            return json.load(reply)

    def send(self, method: str, **params):
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise ScreenshotError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ScreenshotError(f"JavaScript failed: {text}\n{expression}")
        return result.get("result", {}).get("value")

    def goto(self, url: str):
        self.send("Page.navigate", url=url)
        time.sleep(0.5)
        self.wait("document.readyState === 'complete'", what=f"page {url}")

    def wait(self, condition: str, what: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(f"Boolean({condition})"):
                    return
            except ScreenshotError:
                pass  # page still loading
            time.sleep(0.2)
        raise ScreenshotError(f"timed out waiting for {what}")

    def wait_for(self, selector: str, timeout: float = 30.0):
        self.wait(f"document.querySelector({json.dumps(selector)})", selector, timeout)

    def click(self, selector: str, timeout: float = 30.0):
        self.wait_for(selector, timeout)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        time.sleep(0.3)

    def click_text(self, selector: str, text: str, timeout: float = 30.0):
        """Click the first ``selector`` whose text contains ``text``."""
        find = (
            f"[...document.querySelectorAll({json.dumps(selector)})]"
            f".find((el) => el.textContent.includes({json.dumps(text)}))"
        )
        self.wait(find, f"{selector} with '{text}'", timeout)
        self.evaluate(f"{find}.click()")
        time.sleep(0.3)

    def type(self, selector: str, text: str):
        self.wait_for(selector)
        self.evaluate(
            f"""(() => {{
                const el = document.querySelector({json.dumps(selector)});
                el.focus();
                el.value = {json.dumps(text)};
                el.dispatchEvent(new Event("input", {{ bubbles: true }}));
            }})()"""
        )
        time.sleep(0.2)

    def screenshot(self, path: Path):
        time.sleep(0.6)  # let animations (dialogs, notifications) settle
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def rpc(browser: Browser, model: str, method: str, args, kwargs=None):
    """JSON-RPC from the logged-in page (the browser holds the session cookie)."""
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
    }
    reply = browser.evaluate(
        f"""fetch("/web/dataset/call_kw/{model}/{method}", {{
            method: "POST",
            headers: {{ "Content-Type": "application/json" }},
            body: JSON.stringify({json.dumps(payload)}),
        }}).then((r) => r.json())"""
    )
    if reply.get("error"):
        raise ScreenshotError(f"{model}.{method}: {reply['error'].get('data', {}).get('message')}")
    return reply["result"]


def take(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    browser = Browser(args.chromium)
    try:
        base = args.url.rstrip("/")
        browser.goto(f"{base}/web/login")
        browser.type("input[name=login]", args.login)
        browser.type("input[name=password]", args.password)
        browser.evaluate("document.querySelector('form.oe_login_form').submit()")
        time.sleep(1)
        browser.wait("!location.pathname.startsWith('/web/login')", "the login")

        configs = rpc(
            browser,
            "pos.config",
            "search_read",
            [[["crmcom_enabled", "=", True]]],
            {"fields": ["id", "name"], "limit": 1},
        )
        if not configs:
            raise ScreenshotError("no point of sale has CRM.COM Rewards enabled (demo data?)")
        browser.goto(f"{base}/pos/ui/{configs[0]['id']}")
        browser.wait(
            "document.querySelector('.pos .product-screen') || "
            "document.querySelector('.screen-login .open-register-btn')",
            "the point of sale",
            timeout=120,
        )
        if browser.evaluate("Boolean(document.querySelector('.screen-login .open-register-btn'))"):
            browser.click(".screen-login .open-register-btn")
        # A session that was just opened asks for the opening cash first.
        browser.wait(
            "document.querySelector('.pos .product-screen article.product') || "
            "document.querySelector('.modal .modal-footer .btn-primary')",
            "the product screen",
            timeout=60,
        )
        browser.evaluate(
            """(() => {
                const button = [...document.querySelectorAll('.modal .modal-footer .btn-primary')]
                    .find((el) => el.textContent.includes('Open'));
                if (button) { button.click(); }
            })()"""
        )
        browser.wait_for(".pos .product-screen article.product", timeout=60)

        # 1. Identify John by his card number.
        browser.click(".o_crmcom_rewards_button")
        browser.click('.modal .o_crmcom_identification_method[data-method="card"]')
        browser.type(".modal input.o_crmcom_query", CARD)
        browser.click(".modal .o_crmcom_search")
        browser.wait_for(".modal .o_crmcom_identify_result")
        browser.screenshot(out / "identify_dialog.png")
        browser.click(".modal .o_crmcom_confirm")
        browser.wait("!document.querySelector('.modal .o_crmcom_identify_result')", "dialog closed")

        # 2. A few products (demo data, none that opens the product configurator); wait for
        # the preview of this basket.
        for name in args.products.split(","):
            browser.click_text(".pos .product-screen article.product .product-name", name.strip())
            time.sleep(0.6)
        browser.wait_for(".o_crmcom_summary[data-status='ok']")
        browser.screenshot(out / "order_preview.png")

        # 3. Spend what can be spent (the amount offered by default).
        browser.click(".o_crmcom_spend_button")
        browser.wait_for(".modal .popup-input .input-value")
        browser.click_text(".modal .modal-footer button.btn-primary", "Spend")
        browser.wait(
            "posmodel.getOrder().getCrmComDiscountLines().length > 0", "the wallet discount"
        )
        if browser.evaluate("Boolean(document.querySelector('.modal .modal-footer .btn-primary'))"):
            browser.click(".modal .modal-footer .btn-primary")  # the "less was spent" notice
        browser.evaluate("document.querySelector('.o_notification_close')?.click()")
        browser.screenshot(out / "order_spend.png")

        # 4. Pay and show the receipt.
        browser.click(".pos .product-screen .pay-order-button")
        browser.click(".payment-screen .paymentmethods .paymentmethod")
        browser.click(".payment-screen button.validation-button.next")
        browser.wait_for(".receipt-screen .o_crmcom_receipt", timeout=60)
        browser.screenshot(out / "receipt.png")
    finally:
        browser.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("ODOO_URL", "http://localhost:8069"))
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", default=str(REPO / "static" / "description"))
    parser.add_argument(
        "--reset-simulator",
        metavar="SIMULATOR_URL",
        help="reset that CRM.COM simulator first (e.g. http://127.0.0.1:8079), so that the "
        "figures are those of the seeded demo data",
    )
    parser.add_argument(
        "--products",
        default="Office Lamp,Pedal Bin,Drawer Black",
        help="comma-separated names of the products to sell",
    )
    args = parser.parse_args(argv)
    try:
        if args.reset_simulator:
            request = urllib.request.Request(
                args.reset_simulator.rstrip("/") + "/_simulator/reset", data=b"{}", method="POST"
            )
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - local simulator
                pass
        take(args)
    except ScreenshotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

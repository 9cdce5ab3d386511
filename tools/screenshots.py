#!/usr/bin/env python3
"""Take the screenshots of the documentation (docs/, the Apps page) from a running ``make run``
instance.

Usage (with the project's virtualenv, while ``make run`` serves Odoo and the simulator)::

    ~/.cache/pos_crmcom_rewards/venv/bin/python tools/screenshots.py \
        [--url http://localhost:8069] [--login admin] [--password admin] \
        [--chromium /usr/bin/chromium] [--out static/description] [--reset-simulator]

It drives Debian's Chromium, headless, through the DevTools protocol (``websocket-client``,
already a test requirement: no browser download, no extra package); the PNGs are optimised
with ``optipng`` when it is installed (``apt-get install optipng``). The simulator is the one
the demo company's CRM.COM connection points at (``--simulator`` to name another): its
``/_simulator/`` controls make CRM.COM slow or down for a sale, and change a sale behind Odoo's
back for the reconciliation. The demo customers are the simulator's (``simulator/seed.py``).
It saves, at the till of the CRM.COM-enabled Furniture Shop (docs/cashier.md):

- ``identify_dialog.png``: the identification dialog with John Doe found (card);
- ``order_preview.png``: the order summary with the CRM.COM preview;
- ``customer_display.png``: the customer display of that order (first name, wallet, earns);
- ``order_spend.png``: the order after the wallet spend (discount lines);
- ``receipt.png``: the receipt with the award CRM.COM confirmed and the new balance;
- ``receipt_expected.png``: a receipt while CRM.COM is slower than the receipt's wait (the
  preview's award, *expected*; the balance *pending*);
- ``spend_waiting.png``: *Waiting for CRM.COM* of a slow spend, with *Go on without spending*;
- ``spend_blocked.png``: a customer whose spending is blocked (Blocky Spender), with the
  reason *Spend wallet* is off (its tooltip);
- ``wallet_other_currency.png``: a wallet CRM.COM keeps in euros at the dollar till, and why
  it cannot be spent (a second simulator, in EUR, started by this script; the company's
  connection points at it for that customer only);
- ``closing_dialog.png``: the closing dialog's CRM.COM figures, with an award CRM.COM has not
  confirmed (the simulator down for that sale);
- ``sales_details.png``: the CRM.COM Rewards section of the session's Sales Details report;

and in the back office (docs/configuration.md, docs/finance.md, docs/reconciliation.md):

- ``pos_settings_unit.png``: the Clothes Shop's settings with its own CRM.COM store (unit);
- ``reconciliation.png``: today's reconciliation, after two sales were changed in CRM.COM
  (``/_simulator/amend``);
- ``rewards_report.png``: the pivot of *Reporting → CRM.COM Rewards*.

Each run makes real (demo) sales in the open session of the Furniture Shop (opened if needed,
left open): the simulator's wallets change. ``--reset-simulator`` starts from the seeded
wallets (John Doe's 25.00). The reconciliation and the reports count every sale of the day:
for the documentation, run it once on a fresh demo database (``dropdb crmcom_demo`` before
``make run``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
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
# The simulator's demo customers (simulator/seed.py).
JOHN = "4000123412341234"
MARIA = "4000999988887777"
BLOCKY = "4000000000000004"
WIDTH, HEIGHT = 1440, 900
# Seconds a slow CRM.COM takes: more than the receipt's wait for the award (2 s by default)
# and than the till's patience with a spend (1 s).
SLOWER_THAN_THE_RECEIPT = 5.0


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
        self.set_height(HEIGHT)

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

    @staticmethod
    def _find_text(selector: str, text: str) -> str:
        return (
            f"[...document.querySelectorAll({json.dumps(selector)})]"
            f".find((el) => el.textContent.includes({json.dumps(text)}))"
        )

    def wait_text(self, selector: str, text: str, timeout: float = 30.0):
        self.wait(self._find_text(selector, text), f"{selector} with '{text}'", timeout)

    def click_text(self, selector: str, text: str, timeout: float = 30.0):
        """Click the first ``selector`` whose text contains ``text``."""
        self.wait_text(selector, text, timeout)
        self.evaluate(f"{self._find_text(selector, text)}.click()")
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

    def screenshot(self, path: Path, *selectors: str, margin: int = 8):
        """The viewport, or only the box around every element matching ``selectors``."""
        time.sleep(0.6)  # let animations (dialogs, notifications) settle
        params = {"format": "png"}
        if selectors:
            # In the page's coordinates: a report page scrolls the window (Odoo's client
            # scrolls inside it).
            box = self.evaluate(
                f"""(() => {{
                    const rects = [...document.querySelectorAll({json.dumps(", ".join(selectors))})]
                        .map((el) => el.getBoundingClientRect())
                        .filter((r) => r.width && r.height);
                    if (!rects.length) {{ return null; }}
                    const bottom = Math.max(...rects.map((r) => r.bottom));
                    return {{
                        left: Math.min(...rects.map((r) => r.left)) + scrollX,
                        top: Math.min(...rects.map((r) => r.top)) + scrollY,
                        right: Math.max(...rects.map((r) => r.right)) + scrollX,
                        bottom: bottom + scrollY,
                        width: document.documentElement.scrollWidth,
                        height: document.documentElement.scrollHeight,
                        beyond: scrollY > 0 || bottom > innerHeight,
                    }};
                }})()"""
            )
            if not box:
                raise ScreenshotError(f"nothing to take of {selectors}")
            left, top = max(box["left"] - margin, 0), max(box["top"] - margin, 0)
            params["clip"] = {
                "x": left,
                "y": top,
                "width": min(box["right"] + margin, box["width"]) - left,
                "height": min(box["bottom"] + margin, box["height"]) - top,
                "scale": 1,
            }
            # Only when needed: Chromium then lays the page out again, which Odoo's client
            # takes for a resize.
            params["captureBeyondViewport"] = box["beyond"]
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        optipng = shutil.which("optipng")  # smaller files, the same image, when installed
        if optipng:
            subprocess.run([optipng, "-quiet", "-o2", str(path)], check=False)  # noqa: S603
        print(f"saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")

    def mark(self, expression: str, name: str = "o_crmcom_shot"):
        """Give the elements ``expression`` evaluates to (an array) the class ``name``, for a
        screenshot of what no selector reaches alone."""
        self.evaluate(
            f"document.querySelectorAll('.{name}').forEach((el) => el.classList.remove('{name}'));"
            f"({expression}).filter(Boolean).forEach((el) => el.classList.add('{name}'))"
        )

    def set_height(self, height: int):
        """A taller (or the default) viewport: a long form on one screenshot."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

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
    return reply.get("result")


class Simulator:
    """The ``/_simulator/`` controls of the simulator Odoo talks to (simulator/server.py)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def control(self, verb: str, name: str, payload: dict | None = None):
        request = urllib.request.Request(
            f"{self.url}/_simulator/{name}",
            data=json.dumps(payload or {}).encode(),
            method=verb,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - local
                return json.load(reply)
        except OSError as exc:
            raise ScreenshotError(f"simulator {verb} {name}: {exc}") from exc

    def reset(self):
        self.control("POST", "reset")

    def fault(self, kind: str, method: str, times: int | None = 1, seconds: float | None = None):
        self.control(
            "POST", "faults", {"kind": kind, "method": method, "times": times, "seconds": seconds}
        )

    def clear_faults(self):
        self.control("DELETE", "faults")


@contextlib.contextmanager
def other_currency_simulator(browser: Browser, currency: str = "EUR"):
    """A second simulator whose wallets are in ``currency``, the company's connection pointing
    at it meanwhile (the same demo API key, given again: a new URL erases the secrets)."""
    sys.path.insert(0, str(REPO))
    from simulator.seed import API_KEY
    from simulator.server import SimulatorServer

    connection = rpc(browser, "crmcom.connection", "search_read", [[]], {"fields": ["base_url"]})
    if not connection:
        raise ScreenshotError("the company has no CRM.COM connection")
    connection_id, url = connection[0]["id"], connection[0]["base_url"]
    with SimulatorServer(host="127.0.0.1", port=0, currency=currency) as other:
        write = "crmcom.connection", "write"
        rpc(browser, *write, [[connection_id], {"base_url": other.url, "api_key": API_KEY}])
        try:
            yield
        finally:
            rpc(browser, *write, [[connection_id], {"base_url": url, "api_key": API_KEY}])


# ---------------------------------------------------------------------- the till


class Till:
    """The point of sale's page, and what the cashier does on it."""

    def __init__(self, browser: Browser, base: str, config_id: int):
        self.browser = browser
        self.base = base
        self.config_id = config_id

    def open(self):
        browser = self.browser
        browser.goto(f"{self.base}/pos/ui/{self.config_id}")
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

    def start_identify(self, card: str):
        browser = self.browser
        browser.click(".o_crmcom_rewards_button")
        browser.click('.modal .o_crmcom_identification_method[data-method="card"]')
        browser.type(".modal input.o_crmcom_query", card)
        browser.click(".modal .o_crmcom_search")
        browser.wait_for(".modal .o_crmcom_identify_result")

    def confirm_customer(self):
        self.browser.click(".modal .o_crmcom_confirm")
        self.browser.wait(
            "!document.querySelector('.modal .o_crmcom_identify_result')", "dialog closed"
        )

    def identify(self, card: str):
        self.start_identify(card)
        self.confirm_customer()

    def add_products(self, names: list[str]):
        for name in names:
            self.browser.click_text(".pos .product-screen article.product .product-name", name)
            time.sleep(0.6)
        self.wait_preview()

    def wait_preview(self):
        self.browser.wait_for(".o_crmcom_summary[data-status='ok']")
        self.dismiss_notifications()

    def dismiss_notifications(self):
        self.browser.evaluate(
            "document.querySelectorAll('.o_notification_close').forEach((el) => el.click())"
        )

    def pay(self):
        browser = self.browser
        browser.click(".pos .product-screen .pay-order-button")
        browser.click(".payment-screen .paymentmethods .paymentmethod")
        browser.click(".payment-screen button.validation-button.next")
        browser.wait_for(".receipt-screen .o_crmcom_receipt", timeout=60)

    def next_order(self):
        self.browser.click(".receipt-screen .button.next[name=done]")
        self.browser.wait_for(".pos .product-screen article.product", timeout=30)

    def remove_current_order(self):
        """Leave the current order (no spend on it) for an empty new one."""
        self.browser.evaluate(
            """(async () => {
                const order = posmodel.getOrder();
                posmodel.addNewOrder();
                await posmodel.deleteOrders([order]);
            })()"""
        )
        self.browser.wait("posmodel.getOrder().lines.length === 0", "an empty order")

    def spend_off_shot(self, path: Path):
        """The order's lines and CRM.COM block, with why *Spend wallet* is off: the button's
        tooltip (its ``title``), drawn by Odoo's tooltip service, as headless Chromium draws
        no native tooltip."""
        browser = self.browser
        browser.wait("document.querySelector('.o_crmcom_spend_button:disabled')?.title", "why")
        browser.evaluate(
            """(() => {
                const button = document.querySelector('.o_crmcom_spend_button');
                const holder = button.parentElement;
                Object.assign(holder.dataset, {
                    tooltip: button.title, tooltipDelay: '0', tooltipPosition: 'bottom',
                });
                holder.dispatchEvent(new MouseEvent('mouseenter'));
            })()"""
        )
        browser.wait_for(".o-tooltip")
        browser.screenshot(path, ".pos .leftpane .orderline", ".o_crmcom_summary", ".o-tooltip")
        browser.evaluate(
            "document.querySelector('.o_crmcom_spend_button').parentElement"
            ".dispatchEvent(new MouseEvent('mouseleave'))"
        )


def open_display(browser: Browser):
    """The customer display, a page of its own, in a frame over the till (as the tours open
    it): the till reaches it as any display, through the BroadcastChannel and the bus. It
    stays hidden behind the till until shown."""
    browser.evaluate(
        f"""(() => {{
            const frame = document.createElement("iframe");
            frame.className = "o_crmcom_shots_display";
            const device = localStorage.getItem("device_uuid") || "crmcom-screenshots";
            frame.src = `/pos_customer_display/${{posmodel.config.id}}/${{device}}`;
            Object.assign(frame.style, {{
                position: "fixed", left: "0", top: "0", width: "{WIDTH}px",
                height: "{HEIGHT}px", border: "0", zIndex: "-1", background: "white",
                pointerEvents: "none", visibility: "hidden",
            }});
            document.body.appendChild(frame);
        }})()"""
    )
    browser.wait(
        "document.querySelector('iframe.o_crmcom_shots_display').contentDocument"
        "?.querySelector('.o_customer_display')",
        "the customer display",
    )


def display_shot(browser: Browser, path: Path):
    frame = "document.querySelector('iframe.o_crmcom_shots_display')"
    browser.wait(
        f"{frame}.contentDocument.querySelector('.o_crmcom_display .o_crmcom_display_earns"
        " .value.text-success')",
        "the customer's rewards on the display",
    )
    browser.evaluate(f"Object.assign({frame}.style, {{zIndex: '5000', visibility: 'visible'}})")
    try:
        browser.screenshot(path)
    finally:
        browser.evaluate(f"Object.assign({frame}.style, {{zIndex: '-1', visibility: 'hidden'}})")


def cashier_screens(browser: Browser, till: Till, sim: Simulator, out: Path, products):
    """The cashier's flow (docs/cashier.md), one sale after another in the same session."""
    till.open()
    open_display(browser)
    sim.clear_faults()

    # 1. John: identified by card, previewed (and on the customer display), spends, pays;
    # CRM.COM answers at once: the receipt has its award and the new balance.
    till.start_identify(JOHN)
    browser.screenshot(out / "identify_dialog.png")
    till.confirm_customer()
    till.add_products(products)
    browser.screenshot(out / "order_preview.png")
    display_shot(browser, out / "customer_display.png")
    browser.click(".o_crmcom_spend_button")
    browser.wait_for(".modal .popup-input .input-value")
    browser.click_text(".modal .modal-footer button.btn-primary", "Spend")
    browser.wait("posmodel.getOrder().getCrmComDiscountLines().length > 0", "the wallet discount")
    if browser.evaluate("Boolean(document.querySelector('.modal .modal-footer .btn-primary'))"):
        browser.click(".modal .modal-footer .btn-primary")  # the "less was spent" notice
    till.dismiss_notifications()
    browser.screenshot(out / "order_spend.png")
    till.pay()
    browser.wait(
        "!document.querySelector('.o_crmcom_receipt_expected') && "
        "document.querySelector('.o_crmcom_receipt_balance')",
        "the confirmed award on the receipt",
    )
    browser.screenshot(out / "receipt.png")
    till.next_order()

    # 2. Maria, CRM.COM slower than the receipt's wait: the preview's award, expected.
    till.identify(MARIA)
    till.add_products(products[:1])
    sim.fault("latency", "customer_events/purchases/create", seconds=SLOWER_THAN_THE_RECEIPT)
    till.pay()
    browser.wait_for(".o_crmcom_receipt .o_crmcom_receipt_expected")
    browser.screenshot(out / "receipt_expected.png", ".receipt-screen .pos-receipt")
    till.next_order()

    # 3. Maria again, a slow spend: the till waits, then offers to go on without spending.
    till.identify(MARIA)
    till.add_products(products[1:2])
    sim.fault("latency", "customer_events/spend_requests/create", seconds=SLOWER_THAN_THE_RECEIPT)
    browser.click(".o_crmcom_spend_button")
    browser.wait_for(".modal .popup-input .input-value")
    browser.click_text(".modal .modal-footer button.btn-primary", "Spend")
    browser.wait_text(".modal .modal-title", "Waiting for CRM.COM", timeout=10)
    browser.screenshot(out / "spend_waiting.png", ".modal .modal-content")
    browser.click_text(".modal .modal-footer button", "Go on without spending")
    # The late spend is cancelled by the till once CRM.COM answers: let it, then sell.
    browser.wait("!posmodel.getOrder().uiState.crmcomSpendInFlight", "the late spend", 30)
    till.wait_preview()
    till.pay()
    till.next_order()

    # 4. Blocky Spender: spending blocked on his wallet; sold while CRM.COM is down, so that
    # the closing dialog has an award to wait for.
    till.identify(BLOCKY)
    till.add_products(products[:2])
    till.spend_off_shot(out / "spend_blocked.png")
    sim.fault("http_500", "customer_events/purchases/create", times=None)
    till.pay()
    till.next_order()

    # 5. Maria's wallet in euros at a till selling in dollars: shown in euros, never spent.
    with other_currency_simulator(browser):
        till.identify(MARIA)
        till.add_products(products[:1])
        browser.wait_text(".o_crmcom_balance .value", "EUR")
        till.spend_off_shot(out / "wallet_other_currency.png")
    till.remove_current_order()

    # 6. Closing the register: Blocky's award (Maria's slow one too, maybe) is not confirmed.
    browser.click(".pos-rightheader button:has(.fa-bars)")
    browser.click_text("span.dropdown-item", "Close Register")
    browser.wait_for(".modal .close-pos-popup .o_crmcom_closing_warning")
    browser.screenshot(out / "closing_dialog.png", ".modal .modal-content")
    session_id = browser.evaluate("posmodel.session.id")
    browser.click_text(".modal .modal-footer button", "Discard")
    return session_id


# ---------------------------------------------------------------------- the back office


def sales_details_shot(browser: Browser, base: str, session_id: int, out: Path):
    browser.goto(f"{base}/report/html/point_of_sale.report_saledetails/{session_id}")
    browser.wait_for("#crmcom_rewards")
    browser.screenshot(out / "sales_details.png", "#crmcom_rewards")


def settings_shot(browser: Browser, base: str, out: Path):
    """The settings of the Clothes Shop, whose till names its own CRM.COM store (the page
    tall enough to show them without scrolling under its sticky header)."""
    shop = rpc(
        browser,
        "pos.config",
        "search_read",
        [[["crmcom_enabled", "=", True], ["crmcom_unit", "!=", False]]],
        {"fields": ["id", "name"], "limit": 1},
    )
    if not shop:
        raise ScreenshotError("no CRM.COM point of sale names its own store (demo data?)")
    browser.set_height(1300)
    browser.goto(f"{base}/odoo/action-point_of_sale.action_pos_configuration")
    browser.wait_for("#crmcom_pos_setting")
    # The point of sale whose settings the page shows: chosen as the manager would.
    browser.click(".app_settings_header .o_field_widget[name=pos_config_id] input")
    browser.click_text(".o-autocomplete--dropdown-item", shop[0]["name"])
    browser.wait(
        "document.querySelector('.o_field_widget[name=pos_crmcom_unit] input')?.value",
        "the till's store",
    )
    # The shop chosen and its CRM.COM settings; not the company's connection beside them.
    browser.mark(
        "[...document.querySelector('.app_settings_header').children].slice(0, 2).concat("
        "[...document.querySelectorAll('#crmcom_pos_setting .o_setting_left_pane, "
        "#crmcom_pos_setting .o_setting_right_pane > *')])"
    )
    browser.screenshot(out / "pos_settings_unit.png", ".o_crmcom_shot")
    browser.set_height(HEIGHT)


def reconciliation_shot(browser: Browser, base: str, sim: Simulator, out: Path):
    """Today's reconciliation, after CRM.COM was changed behind Odoo's back: John's last sale
    has another total there, Blocky's last is forgotten (as tests/test_reconciliation_day.py
    makes differences)."""
    # Blocky's award, refused while CRM.COM was down, is sent again now: a manager's Retry.
    pending = rpc(
        browser,
        "crmcom.purchase",
        "search",
        [[["state", "in", ["pending", "sending", "unknown", "failed"]]]],
    )
    if pending:
        rpc(browser, "crmcom.purchase", "action_retry", [pending])
    deadline = time.monotonic() + 90
    unsent = [["id", "in", pending], ["state", "in", ["pending", "sending", "unknown"]]]
    while pending and rpc(browser, "crmcom.purchase", "search_count", [unsent]):
        if time.monotonic() > deadline:
            raise ScreenshotError("the outbox did not send the pending awards")
        time.sleep(1)
    last = {}
    for number in ("P0001", "P0004"):
        found = rpc(
            browser,
            "crmcom.purchase",
            "search_read",
            [[["state", "=", "posted"], ["participant_number", "=", number]]],
            {"fields": ["reference", "amount_total"], "order": "id desc", "limit": 1},
        )
        if not found:
            raise ScreenshotError(f"no posted CRM.COM purchase of {number} to reconcile")
        last[number] = found[0]
    john, blocky = last["P0001"], last["P0004"]
    total = round(john["amount_total"] + 10, 2)
    sim.control(
        "POST",
        "amend",
        {"kind": "purchase", "reference": john["reference"], "changes": {"total_amount": total}},
    )
    sim.control(
        "POST",
        "amend",
        {"kind": "purchase", "reference": blocky["reference"], "changes": {"forget": True}},
    )
    today = datetime.date.today().isoformat()
    wizard = rpc(browser, "crmcom.reconciliation.wizard", "create", [{"date": today}])
    action = rpc(browser, "crmcom.reconciliation.wizard", "action_reconcile", [[wizard]])
    browser.set_height(1150)
    try:
        browser.goto(
            f"{base}/odoo/action-pos_crmcom_rewards.action_crmcom_reconciliation/{action['res_id']}"
        )
        browser.wait_for(".o_form_view .o_field_one2many .o_data_row")
        browser.screenshot(
            out / "reconciliation.png", ".o_control_panel", ".o_form_sheet", margin=0
        )
    finally:
        browser.set_height(HEIGHT)


def report_shot(browser: Browser, base: str, out: Path):
    browser.goto(f"{base}/odoo/action-pos_crmcom_rewards.action_report_crmcom_rewards")
    browser.wait_for(".o_pivot table .o_pivot_cell_value, .o_pivot table td")
    browser.screenshot(out / "rewards_report.png", ".o_control_panel", ".o_pivot table", margin=0)


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
        # The web client after the login, before going anywhere else.
        browser.wait(
            "!location.pathname.startsWith('/web/login') && "
            "document.querySelector('.o_main_navbar')",
            "the login",
            timeout=60,
        )

        configs = rpc(
            browser,
            "pos.config",
            "search_read",
            [[["crmcom_enabled", "=", True], ["crmcom_unit", "=", False]]],
            {"fields": ["id", "name"], "limit": 1},
        )
        if not configs:
            raise ScreenshotError("no point of sale has CRM.COM Rewards enabled (demo data?)")
        url = (
            args.simulator
            or rpc(browser, "crmcom.connection", "search_read", [[]], {"fields": ["base_url"]})[0][
                "base_url"
            ]
        )
        sim = Simulator(url)
        if args.reset_simulator:
            sim.reset()
        products = [name.strip() for name in args.products.split(",")]
        try:
            session_id = cashier_screens(
                browser, Till(browser, base, configs[0]["id"]), sim, out, products
            )
        finally:
            sim.clear_faults()  # Blocky's award is sent by the outbox's job now
        sales_details_shot(browser, base, session_id, out)
        settings_shot(browser, base, out)
        reconciliation_shot(browser, base, sim, out)
        report_shot(browser, base, out)
    except ScreenshotError:
        # What the page showed when it went wrong, to see why.
        browser.screenshot(Path(tempfile.gettempdir()) / "screenshots-failure.png")
        raise
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
        "--simulator",
        metavar="SIMULATOR_URL",
        help="the CRM.COM simulator Odoo talks to (default: the URL of the company's "
        "CRM.COM connection)",
    )
    parser.add_argument(
        "--reset-simulator",
        action="store_true",
        help="reset the simulator first, so that the figures are those of the seeded demo data",
    )
    parser.add_argument(
        "--products",
        default="Office Lamp,Pedal Bin,Drawer Black",
        help="comma-separated names of the products to sell (three at least)",
    )
    args = parser.parse_args(argv)
    try:
        take(args)
    except ScreenshotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m simulator [--host H] [--port P] [--no-seed] [--token-lifetime S]``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from .seed import credentials_text
from .server import API_PREFIX, CONTROL_PREFIX, SimulatorServer
from .state import SimulatorConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="CRM.COM Web API v4 simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8079)
    parser.add_argument("--no-seed", action="store_true", help="start without the demo data")
    parser.add_argument(
        "--token-lifetime", type=int, default=7200, metavar="SECONDS", help="default: 7200"
    )
    parser.add_argument(
        "--currency",
        default="EUR",
        help="the organisation's currency, its wallets' (ISO code; default: EUR)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    sim = SimulatorServer(
        args.host,
        args.port,
        seed=not args.no_seed,
        config=SimulatorConfig(token_lifetime=args.token_lifetime),
        currency=args.currency.upper(),
    )
    stopping = threading.Event()

    def request_stop(signum, frame) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    sim.start()
    print(f"CRM.COM simulator listening on {sim.url}", flush=True)
    print(f"  API      : {sim.url}{API_PREFIX}<method>", flush=True)
    print(f"  Controls : {sim.url}{CONTROL_PREFIX}state | reset | faults | config", flush=True)
    if not args.no_seed:
        print(credentials_text(), flush=True)
    while not stopping.wait(0.5):
        pass
    print("Stopping the simulator", flush=True)
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

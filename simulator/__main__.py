"""Command line: ``python -m simulator [--host H] [--port P] [--no-seed] [--token-lifetime S]
[--currency C] [--latency-ms MS] [--tls [--ca-out FILE]]``."""

from __future__ import annotations

import argparse
import logging
import shutil
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
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds added to every API call, as a remote CRM.COM's (default: 0)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a self-signed certificate made at start",
    )
    parser.add_argument(
        "--ca-out",
        metavar="FILE",
        help="with --tls: write the certificate (PEM) there, for clients to trust",
    )
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    if args.ca_out and not args.tls:
        parser.error("--ca-out needs --tls")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    sim = SimulatorServer(
        args.host,
        args.port,
        seed=not args.no_seed,
        config=SimulatorConfig(token_lifetime=args.token_lifetime),
        currency=args.currency.upper(),
        tls=args.tls,
        latency=args.latency_ms / 1000,
    )
    if args.ca_out:
        shutil.copyfile(sim.ca_file, args.ca_out)
    stopping = threading.Event()

    def request_stop(signum, frame) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    sim.start()
    print(f"CRM.COM simulator listening on {sim.url}", flush=True)
    print(f"  API      : {sim.url}{API_PREFIX}<method>", flush=True)
    print(f"  Controls : {sim.url}{CONTROL_PREFIX}state | reset | faults | config", flush=True)
    if sim.ca_file:
        print(f"  Trust    : {args.ca_out or sim.ca_file} (self-signed certificate)", flush=True)
    if not args.no_seed:
        print(credentials_text(), flush=True)
    while not stopping.wait(0.5):
        pass
    print("Stopping the simulator", flush=True)
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

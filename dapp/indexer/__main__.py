"""`python -m dapp.indexer [--once] [--reset] [--pins [ASSET]]`: follow the contracts into the
store; `--pins` prints each pin's state per peer of the pin backend and exits."""

from __future__ import annotations

import argparse
import logging
import sys

from dapp.chain.transactions import redact_url
from dapp.config import load_settings
from dapp.errors import DappError
from dapp.indexer.runner import Runner
from dapp.store.db import make_engine
from dapp.store.migrate import migrate
from dapp.store.pin_report import format_reports, pin_reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dapp.indexer", description=__doc__)
    parser.add_argument("--once", action="store_true", help="sync to the head once, then exit")
    parser.add_argument("--reset", action="store_true",
                        help="forget the index of this chain and start again")
    parser.add_argument("--rebuild", action="store_true",
                        help="recompute the derived tables from the stored events, then go on")
    parser.add_argument("--pins", nargs="?", const=-1, type=int, metavar="ASSET",
                        help="print every pin (or one asset's) with its state per peer, exit")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.pins is not None:
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        print(format_reports(pin_reports(engine, None if args.pins < 0 else args.pins)))
        return 0
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).info(
        "indexer: chain %s, database %s, confirmations %d", redact_url(settings.chain_rpc_url),
        settings.resolved_database_url.split("://", 1)[0], settings.confirmations)
    runner = Runner(settings, once=args.once)
    runner.install_signal_handlers()
    try:
        runner.run(reset=args.reset, rebuild=args.rebuild)
    except DappError as error:
        print(f"indexer: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

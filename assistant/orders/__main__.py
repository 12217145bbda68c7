"""Order system tools: `python -m assistant.orders import FILE [--mapping NAME|FILE] | show NUMBER | check`.

`import` reads a shop system's order export (CSV or XLSX, one row per line item) into the embedded store,
replacing orders with the same numbers (`--mapping shopify` reads Shopify's "Export orders" CSV; a YAML file
maps any other export: docs/orders.md). `show` prints one order as the configured backend returns it (for
staff: it includes the customer's contact details). `check` says whether the configured backend answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose


def _backend(settings):
    from assistant.orders.backend import build_backend
    from assistant.storage import get_engine

    engine = get_engine(settings.storage) if settings.orders.backend == "embedded" else None
    return build_backend(settings.orders, engine)


def main(argv: Sequence[str] | None = None) -> int:
    parser = add_common_args(argparse.ArgumentParser(prog="python -m assistant.orders", description=__doc__,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter))
    sub = parser.add_subparsers(dest="command", required=True)
    imp = add_common_args(sub.add_parser("import", help="import an order export (CSV/XLSX) into the embedded store"))
    imp.add_argument("file", help="the export: .csv (UTF-8 or GB18030) or .xlsx")
    imp.add_argument("--mapping", default="default",
                     help="default (our field names as headers) | shopify | a YAML file mapping fields to columns")
    show = add_common_args(sub.add_parser("show", help="print one order as the configured backend returns it"))
    show.add_argument("number", help="the order number, e.g. 100234 or #1001")
    add_common_args(sub.add_parser("check", help="say whether the configured order backend is set up and answers"))
    args = parser.parse_args(argv)
    setup_logging(verbose(args))

    from assistant.config import load_config

    settings = load_config(config_path(args))
    if args.command == "import":
        from assistant.orders.embedded import EmbeddedOrders
        from assistant.orders.importer import import_file
        from assistant.storage import get_engine

        report = import_file(EmbeddedOrders(get_engine(settings.storage)), args.file, args.mapping)
        print(f"imported {report.summary()}")
        return 0
    backend = _backend(settings)
    if args.command == "show":
        from assistant.errors import NotFoundError

        order = backend.find(args.number)
        if order is None:
            raise NotFoundError(f"no order {args.number} in the {backend.name} backend")
        print(json.dumps(order.as_dict(), ensure_ascii=False, indent=2))
        return 0
    count = getattr(backend, "count", None)
    if count is not None:
        print(f"{backend.name}: {count()} orders stored")
    else:
        backend.find("0")  # a number no shop uses: only reachability and credentials are tested
        print(f"{backend.name}: reachable, credentials accepted")
    if not settings.orders.enabled:  # set up, but the chat does not use it: the owner should know
        print("note: orders.enabled is false: customers' order questions go to the knowledge base, not to this "
              "backend")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

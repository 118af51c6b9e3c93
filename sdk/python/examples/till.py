#!/usr/bin/env python3
"""An example till: open a client, ask for hints for a card, record the purchase, print the hints.

    python3 till.py --endpoint unix:/var/lib/regulars/regularsd.sock --card 4000123

The first checkout of a new card records the customer's consent too (a real till asks first).
Run it twice to see the customer recognised with their usual items.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import regulars


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A checkout through the Regulars Python binding.")
    parser.add_argument("--endpoint", default="unix:/var/lib/regulars/regularsd.sock", help="where regularsd listens")
    parser.add_argument("--spool", help="spool directory for events while regularsd is away")
    parser.add_argument("--card", default="4000123", help="the loyalty card scanned at the till")
    parser.add_argument("--plugin", help="path of libregulars.so (default: $REGULARS_PLUGIN, then the system's)")
    parser.add_argument("--budget-ms", type=int, default=50, help="time budget of every call")
    return parser.parse_args(argv)


def basket() -> list[dict[str, Any]]:
    return [{"sku": "oat-milk", "name": "Oat milk", "qty": 1, "unit_price": 199},
            {"sku": "bread", "name": "Rye bread", "qty": 1, "unit_price": 349}]


def show(answer: regulars.HintsAnswer) -> None:
    if not answer.known:
        print("  new customer: no hints")
    for hint in answer.hints:
        print(f"  [{hint.get('kind')}] {hint.get('text')}")
    for prediction in answer.predictions[:3]:
        print(f"  likely: {prediction.get('name') or prediction.get('sku')} ({prediction.get('reason')})")


def checkout(client: regulars.Client, card: str) -> None:
    customer = {"kind": "card", "value": card}
    try:
        answer = client.hints({"customer": customer, "locale": "en"})
        print("hints:")
        show(answer)
        if not answer.known:
            client.record({"type": "consent", "customer": customer,
                           "purposes": {"remember": True, "personalize": True}})
    except (regulars.UnavailableError, regulars.TimeoutError) as e:
        print(f"no hints now ({e.message}); the checkout carries on")
    client.record({"type": "purchase", "customer": customer, "currency": "EUR", "lines": basket()})
    print("purchase recorded")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    options: dict[str, Any] = {"endpoint": args.endpoint, "terminal": "lane-1", "budget_ms": args.budget_ms}
    if args.spool:
        options["spool_dir"] = args.spool
    try:
        with regulars.Client(options, library=args.plugin) as client:
            print(f"libregulars {client.library_version}")
            checkout(client, args.card)
    except regulars.LibraryError as e:
        print(f"till: {e}", file=sys.stderr)
        return 2
    except regulars.RegularsError as e:
        print(f"till: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""A next-basket history (history.json in the Ta-Feng format) as a sales CSV in the generic format
of `regularsctl import` (daemon/import/README.md), on the calendar regulars-eval replays it on.

    history_to_csv.py HISTORY.json OUT.csv --end-date YYYY-MM-DD

Only the history is converted: future.json is the held-out answer and is never imported.
Times follow regulars-eval's calendar (tests/eval/main.cpp): a customer with n baskets visits a
week apart, the last in the week before the end date, at a weekday, hour and minute of their own.
The dataset has no times, prices or names, so the script makes them up: the calendar's times, a
price and a name per item derived from its id. Customers are `app` identifiers "eval-<id>", as
regulars-eval asks for them. Rows are sorted by time, as a POS export would be.
"""
import argparse
import csv
import datetime as dt
import json
import sys

from derive_common import strip

MASK = (1 << 64) - 1
DAY_MS, HOUR_MS, MINUTE_MS = 86_400_000, 3_600_000, 60_000
WEEK_MS = 7 * DAY_MS


def fnv1a(text):
    """regulars-eval's hash of a customer id (fnv1a, then a final mix)."""
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    return h


def week_offset_ms(customer_id):
    """The customer's fixed weekday, hour (08-20) and minute within a week."""
    h = fnv1a(customer_id)
    return (h % 7) * DAY_MS + (8 + (h >> 8) % 13) * HOUR_MS + ((h >> 16) % 60) * MINUTE_MS


def rfc3339(ms):
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(history, end_ms):
    """(time_ms, customer, sku) for every distinct item of every basket."""
    for customer, baskets in history.items():
        baskets = strip(baskets)
        n, offset = len(baskets), week_offset_ms(customer)
        for j, basket in enumerate(baskets):
            when = end_ms - (n - j) * WEEK_MS + offset
            for item in dict.fromkeys(basket):
                yield when, customer, str(item)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("history")
    ap.add_argument("out")
    ap.add_argument("--end-date", required=True, help="the same YYYY-MM-DD regulars-eval is given")
    args = ap.parse_args()
    end = dt.datetime.strptime(args.end_date, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    end_ms = int(end.timestamp() * 1000)
    with open(args.history) as f:
        history = json.load(f)
    # Sorted by time, then customer and item: one customer's lines of one visit stay together.
    table = sorted(rows(history, end_ms), key=lambda r: (r[0], r[1], r[2]))
    with open(args.out, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["customer", "customer_kind", "time", "sku", "name", "qty", "price"])
        for when, customer, sku in table:
            price = 0.5 + (int(sku) % 1000) / 100 if sku.isdigit() else 1.0
            w.writerow([f"eval-{customer}", "app", rfc3339(when), sku, f"Item {sku}", 1, f"{price:.2f}"])
    print(f"{len(table)} lines of {len(history)} customers written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

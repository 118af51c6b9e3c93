#!/usr/bin/env python3
"""Derive a store where no personal signal helps at all, from a dataset in the Ta-Feng format.

Every basket of every customer (history and held-out) keeps its size, but its items are drawn,
without repeats within the basket, from the store-wide item distribution (how often each item
occurs in all baskets). A customer's past then says nothing about their next basket beyond what
sells: the best sellers are the best possible list, and an engine must notice that from the
store's own purchases. Deterministic (fixed seed).

    python3 derive_popularity_only.py ../shared/data/tafeng /tmp/popular
writes /tmp/popular_history.json and /tmp/popular_future.json.
"""
import json
import random
import sys

from derive_common import ItemSampler, load, strip

SEED = 20240611


def main(src, prefix):
    history, future = load(src)
    rng = random.Random(SEED)
    sampler = ItemSampler(history, future, rng)

    def basket_of(size):
        out = []
        while len(out) < min(size, len(sampler.items)):
            j = sampler.draw()
            if j not in out:
                out.append(j)
        return out

    out_h, out_f = {}, {}
    for customer in history:
        out_h[customer] = [[-1]] + [basket_of(len(b)) for b in strip(history[customer])] + [[-1]]
        out_f[customer] = [[-1]] + [basket_of(len(b)) for b in strip(future[customer])] + [[-1]]
    json.dump(out_h, open(f"{prefix}_history.json", "w"))
    json.dump(out_f, open(f"{prefix}_future.json", "w"))
    print(f"{len(out_h)} customers, every basket drawn from store popularity (seed={SEED}) -> {prefix}_{{history,future}}.json")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

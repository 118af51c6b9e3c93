#!/usr/bin/env python3
"""Derive a store where customers rarely repeat, from a dataset in the Ta-Feng format.

Walking each customer's baskets oldest first (history, then the held-out basket), every item a
customer already bought in an earlier basket is, with probability P (default 0.8), replaced by an
item drawn from the store-wide item distribution. First purchases are kept, so the store's
popularity survives while personal repeats become rare. Deterministic (fixed seed).

    python3 derive_lowrepeat.py ../shared/data/tafeng /tmp/lowrepeat [P]
writes /tmp/lowrepeat_history.json and /tmp/lowrepeat_future.json.
"""
import json
import random
import sys

from derive_common import ItemSampler, load, strip

SEED = 20240607


def main(src, prefix, p_replace):
    history, future = load(src)
    rng = random.Random(SEED)
    sampler = ItemSampler(history, future, rng)

    out_h, out_f, replaced, repeats = {}, {}, 0, 0
    for customer in history:
        hb, fb = strip(history[customer]), strip(future[customer])
        seen, out = set(), []
        for b in hb + fb:
            nb = []
            for i in b:
                if i in seen:
                    repeats += 1
                    if rng.random() < p_replace:
                        replaced += 1
                        j = sampler.draw()
                        while j in nb or j in b:
                            j = sampler.draw()
                        nb.append(j)
                        continue
                nb.append(i)
            seen.update(b)
            out.append(list(dict.fromkeys(nb)))
        out_h[customer] = [[-1]] + out[:len(hb)] + [[-1]]
        out_f[customer] = [[-1]] + out[len(hb):] + [[-1]]
    json.dump(out_h, open(f"{prefix}_history.json", "w"))
    json.dump(out_f, open(f"{prefix}_future.json", "w"))
    print(f"repeat lines {repeats}, replaced {replaced} (p={p_replace}, seed={SEED}) -> {prefix}_{{history,future}}.json")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.8)

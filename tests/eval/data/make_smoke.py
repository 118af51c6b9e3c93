#!/usr/bin/env python3
"""Writes the tiny dataset of the eval_smoke test (smoke_history.json, smoke_future.json).

30 customers "1".."30". Customer c has 3 to 6 history baskets (3 + c % 4). Every one of them holds
the customer's own staple, item 1000 + c, plus 1 to 3 noise items that appear nowhere else in the
data (5000 + 100 c + 10 j + i). The held-out basket is [staple, 9000 + c]; item 9000 + c was never
sold, so no engine can predict it.

Hence, for any engine that puts the only item a customer (or anyone) ever bought twice first:
  recall@k = 1/2 for every k >= 1, ndcg@k = 1 / (1 + 1/log2(3)) = 0.6131 for k >= 2,
  phr@k = 1.0, users = 30.
"""
import json, os

here = os.path.dirname(os.path.abspath(__file__))
history, future = {}, {}
for c in range(1, 31):
    baskets = []
    for j in range(3 + c % 4):
        noise = [5000 + 100 * c + 10 * j + i for i in range(1 + (c + j) % 3)]
        # The staple's place in the basket varies, so order within a basket cannot matter.
        baskets.append(noise[:j % 2] + [1000 + c] + noise[j % 2:])
    history[str(c)] = [[-1]] + baskets + [[-1]]
    future[str(c)] = [[-1], [1000 + c, 9000 + c], [-1]]
for name, doc in (("smoke_history.json", history), ("smoke_future.json", future)):
    with open(os.path.join(here, name), "w") as f:
        json.dump(doc, f, separators=(", ", ": "))
        f.write("\n")

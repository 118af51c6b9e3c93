"""What the derive_*.py scripts share: reading a dataset in the Ta-Feng format, and drawing items
from its store-wide distribution (how often each item occurs in all baskets)."""
import bisect
import json


def strip(baskets):
    """A customer's baskets without the [-1] sentinels."""
    return [b for b in baskets if b != [-1]]


def load(src):
    """(history, future) of the dataset in folder src."""
    with open(f"{src}/history.json") as h, open(f"{src}/future.json") as f:
        return json.load(h), json.load(f)


class ItemSampler:
    """Draws items with the probability they have in the dataset's baskets, with rng."""

    def __init__(self, history, future, rng):
        counts = {}
        for baskets in list(history.values()) + list(future.values()):
            for b in strip(baskets):
                for i in b:
                    counts[i] = counts.get(i, 0) + 1
        self.items = sorted(counts)
        self.cumulative, self.total = [], 0
        for i in self.items:
            self.total += counts[i]
            self.cumulative.append(self.total)
        self.rng = rng

    def draw(self):
        return self.items[bisect.bisect_right(self.cumulative, self.rng.random() * self.total)]

"""Loader, replay order and metrics for the Regulars hint-engine offline experiment.

Protocol (same as /work/shared/data/tafeng/README.md):
  * history.json / future.json: {"cid": [[-1], basket, ..., [-1]]}; sentinels stripped.
  * every history basket is replayed as a purchase, globally interleaved by visit index
    (round 0 = everybody's first basket, round 1 = everybody's second basket, ...),
    so the store-wide state at prediction time contains everyone's full history;
  * then every customer is asked for a ranking with an empty current basket;
  * metrics over ALL customers: recall@k, ndcg@k (IDCG over min(k,|truth|) positions,
    discount 1/log2(pos+1), pos 1-based), phr@k (share of customers with >= 1 hit).
"""
import json
import math

TAFENG_HIST = '/work/shared/data/tafeng/history.json'
TAFENG_FUT = '/work/shared/data/tafeng/future.json'


def _strip(v):
    return [list(b) for b in v if not (len(b) == 1 and b[0] == -1)]


def load(hist_path=TAFENG_HIST, fut_path=TAFENG_FUT):
    """Returns (hist, fut): hist[cid] = list of baskets (lists of ints, oldest first),
    fut[cid] = set of items of the held-out basket.  cids are kept in file order."""
    with open(hist_path) as fh:
        h = json.load(fh)
    with open(fut_path) as fh:
        f = json.load(fh)
    hist = {c: _strip(v) for c, v in h.items()}
    fut = {}
    for c, v in f.items():
        bs = _strip(v)
        assert len(bs) == 1, c
        fut[c] = set(bs[0])
    assert set(hist) == set(fut)
    return hist, fut


def replay_order(hist):
    """Yields (round, cid, visit_index, basket), interleaved by visit index."""
    cids = list(hist)
    maxlen = max(len(v) for v in hist.values())
    for r in range(maxlen):
        for c in cids:
            bs = hist[c]
            if r < len(bs):
                yield r, c, r, bs[r]


_LOG2 = [0.0] + [1.0 / math.log2(p + 1) for p in range(1, 200)]


def metrics(rankings, fut, ks=(3, 10, 20)):
    """rankings[cid] = ranked list of items (length >= max(ks) preferably, no duplicates)."""
    n = 0
    out = {}
    for k in ks:
        out['recall@%d' % k] = 0.0
        out['ndcg@%d' % k] = 0.0
        out['phr@%d' % k] = 0.0
    for c, truth in fut.items():
        n += 1
        ranked = rankings.get(c, [])
        assert len(ranked) == len(set(ranked)), 'duplicate items in ranking of %s' % c
        for k in ks:
            top = ranked[:k]
            hits = [p for p, it in enumerate(top, 1) if it in truth]
            out['recall@%d' % k] += len(hits) / len(truth)
            dcg = sum(_LOG2[p] for p in hits)
            idcg = sum(_LOG2[p] for p in range(1, min(k, len(truth)) + 1))
            out['ndcg@%d' % k] += dcg / idcg
            out['phr@%d' % k] += 1.0 if hits else 0.0
    return {m: v / n for m, v in out.items()}


COLS = ['recall@3', 'ndcg@3', 'recall@10', 'ndcg@10', 'phr@10', 'recall@20']


def fmt(res, cols=COLS):
    return ' '.join('%s=%.4f' % (c, res[c]) for c in cols)

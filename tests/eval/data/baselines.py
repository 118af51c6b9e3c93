#!/usr/bin/env python3
"""Reference rankings on a dataset in the Ta-Feng format, with the metrics of regulars-eval:
G-TopFreq (store popularity), P-TopFreq (the customer's baskets with the item, ties by popularity)
and GP-TopFreq (P-TopFreq padded with G-TopFreq).   python3 baselines.py HISTORY.json FUTURE.json"""
import json, math, sys
from collections import Counter
def load(p):
    d = json.load(open(p))
    return {k: [b for b in v if b != [-1]] for k, v in d.items()}
H, F = load(sys.argv[1]), load(sys.argv[2])
glob = Counter()
for bs in H.values():
    for b in bs: glob.update(set(b))
gorder = [i for i, _ in sorted(glob.items(), key=lambda x: (-x[1], x[0]))]
grank = {i: r for r, i in enumerate(gorder)}
def metrics(rank_fn, k):
    rec = nd = phr = 0.0
    for c, fb in F.items():
        truth = set(fb[0]); top = rank_fn(c)[:k]
        hits = [1 if i in truth else 0 for i in top]
        rec += sum(hits) / len(truth)
        dcg = sum(h / math.log2(p + 2) for p, h in enumerate(hits))
        idcg = sum(1 / math.log2(p + 2) for p in range(min(k, len(truth))))
        nd += dcg / idcg; phr += 1 if sum(hits) else 0
    n = len(F); return rec / n, nd / n, phr / n
def p_top(c):
    cnt = Counter()
    for b in H[c]: cnt.update(set(b))
    return [i for i, _ in sorted(cnt.items(), key=lambda x: (-x[1], grank.get(x[0], 1e9)))]
def gp_top(c):
    p = p_top(c); s = set(p)
    return p + [i for i in gorder[:60] if i not in s]
for name, fn in [("G-TopFreq", lambda c: gorder), ("P-TopFreq", p_top), ("GP-TopFreq", gp_top)]:
    r10, n10, p10 = metrics(fn, 10); r3, _, _ = metrics(fn, 3)
    print(f"{name:11s} recall@10={r10:.4f} ndcg@10={n10:.4f} phr@10={p10:.4f} recall@3={r3:.4f}")

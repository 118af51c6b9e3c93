"""Derive a deterministic "customers rarely repeat" store from Ta-Feng.

For each customer (file order), walk history baskets then the future basket, oldest first.
Every item occurrence whose item already occurred in an EARLIER basket of that customer
(original data) is, with probability P_REPLACE, replaced by a random item drawn from the global
item-occurrence distribution (history + future lines of the original data), re-drawn while it
would duplicate an item already in the output basket.  First occurrences are kept, so the
store's popularity and co-purchase structure survive, while personal repeats become rare.

Usage: python3 gen_lowrepeat.py [p_replace] [out_prefix]   (defaults 0.8, /work/exp/lowrepeat)
       python3 gen_lowrepeat.py high [p] [out_prefix]     (defaults 0.5, /work/exp/highrepeat)
The "high" mode is the opposite stress test (a store of regulars): every FIRST occurrence of an item
in a customer's 2nd or later basket is, with probability p, replaced by an item drawn from that
customer's own earlier purchase lines (so proportional to personal counts).
"""
import bisect
import json
import random
import sys

from eval import TAFENG_HIST, TAFENG_FUT

SEED = 20240607


def main(p_replace=0.8, prefix='/work/exp/lowrepeat'):
    with open(TAFENG_HIST) as fh:
        h = json.load(fh)
    with open(TAFENG_FUT) as fh:
        f = json.load(fh)
    rng = random.Random(SEED)
    # global occurrence distribution (deterministic order: item id)
    occ = {}
    for v in list(h.values()) + list(f.values()):
        for b in v:
            if b == [-1]:
                continue
            for i in b:
                occ[i] = occ.get(i, 0) + 1
    items = sorted(occ)
    cum = []
    acc = 0
    for i in items:
        acc += occ[i]
        cum.append(acc)

    def draw():
        x = rng.random() * acc
        return items[bisect.bisect_right(cum, x)]

    oh, of = {}, {}
    n_rep = n_repl = n_lines = 0
    for c in h:                                     # file order
        hb = [b for b in h[c] if b != [-1]]
        fb = [b for b in f[c] if b != [-1]]
        seen = set()
        out = []
        for b in hb + fb:
            nb = []
            for i in b:
                n_lines += 1
                if i in seen:
                    n_rep += 1
                    if rng.random() < p_replace:
                        n_repl += 1
                        j = draw()
                        while j in nb or j in b:
                            j = draw()
                        nb.append(j)
                        continue
                nb.append(i)
            seen.update(b)
            # keep unique items, original order
            out.append(list(dict.fromkeys(nb)))
        oh[c] = [[-1]] + out[:len(hb)] + [[-1]]
        of[c] = [[-1]] + out[len(hb):] + [[-1]]
    with open(prefix + '_history.json', 'w') as fh:
        json.dump(oh, fh)
    with open(prefix + '_future.json', 'w') as fh:
        json.dump(of, fh)
    print('lines %d, repeat lines %d, replaced %d (p=%.2f, seed=%d) -> %s_{history,future}.json'
          % (n_lines, n_rep, n_repl, p_replace, SEED, prefix))


def main_high(p_replace=0.5, prefix='/work/exp/highrepeat'):
    with open(TAFENG_HIST) as fh:
        h = json.load(fh)
    with open(TAFENG_FUT) as fh:
        f = json.load(fh)
    rng = random.Random(SEED + 1)
    oh, of = {}, {}
    n_new = n_repl = 0
    for c in h:
        hb = [b for b in h[c] if b != [-1]]
        fb = [b for b in f[c] if b != [-1]]
        seen = set()
        lines = []                      # customer's earlier output purchase lines
        out = []
        for k, b in enumerate(hb + fb):
            nb = []
            for i in b:
                if k > 0 and i not in seen:
                    n_new += 1
                    if rng.random() < p_replace:
                        cands = [j for j in lines if j not in nb and j not in b]
                        if cands:
                            n_repl += 1
                            nb.append(cands[rng.randrange(len(cands))])
                            continue
                nb.append(i)
            seen.update(b)
            nb = list(dict.fromkeys(nb))
            lines.extend(nb)
            out.append(nb)
        oh[c] = [[-1]] + out[:len(hb)] + [[-1]]
        of[c] = [[-1]] + out[len(hb):] + [[-1]]
    with open(prefix + '_history.json', 'w') as fh:
        json.dump(oh, fh)
    with open(prefix + '_future.json', 'w') as fh:
        json.dump(of, fh)
    print('new-item lines (visits >= 2) %d, replaced by personal repeats %d (p=%.2f, seed=%d) -> %s_{history,future}.json'
          % (n_new, n_repl, p_replace, SEED + 1, prefix))


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'high':
        main_high(float(sys.argv[2]) if len(sys.argv) > 2 else 0.5,
                  sys.argv[3] if len(sys.argv) > 3 else '/work/exp/highrepeat')
        sys.exit(0)
    p = float(sys.argv[1]) if len(sys.argv) > 1 else 0.8
    pre = sys.argv[2] if len(sys.argv) > 2 else '/work/exp/lowrepeat'
    main(p, pre)

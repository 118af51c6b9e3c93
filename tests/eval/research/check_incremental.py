"""Consistency check: the incrementally maintained CRE state equals a brute-force recomputation.
 * repeat table trials/hits (maintained from the count-bucket histogram + last-visit rows) vs a full scan
   of the customer's rows at every visit;
 * customer count-bucket histograms, item pop / nc counters, transition trial counts.
python3 check_incremental.py  -> prints OK or raises AssertionError"""
import collections
import heapq

from eval import load, replay_order
import methods as M


def main():
    hist, _ = load()
    m = M.CRE()
    brute = collections.Counter()
    brute_hits = collections.Counter()
    trc = collections.Counter()
    for week, c, _, b in replay_order(hist):
        rows = m.ci.get(c, {})
        n = m.cn.get(c, 0)
        if n >= 1:
            nb = M.nbucket(n)
            for i, (cnt, last) in rows.items():
                brute[(M.cbucket(cnt), nb, 1 if last == n - 1 else 0)] += 1
            for i in set(b):
                if i in rows:
                    cnt, last = rows[i]
                    brute_hits[(M.cbucket(cnt), nb, 1 if last == n - 1 else 0)] += 1
            for i, _ in heapq.nlargest(10, rows.items(), key=lambda kv: (kv[1][0], kv[1][1], -kv[0])):
                trc[i] += 1
        m.purchase(c, b, week)
    m.finish()
    inc = {k: v[0] for k, v in m.trials.items() if v[0]}
    inch = {k: v[1] for k, v in m.trials.items() if v[1]}
    assert inc == dict(brute), 'trials differ'
    assert inch == dict(brute_hits), 'hits differ'
    for c, rows in m.ci.items():
        h = [0] * (M.NCB + 1)
        for cnt, _ in rows.values():
            h[M.cbucket(cnt)] += 1
        assert h == m.chist[c], c
    pop = collections.Counter(i for bs in hist.values() for bb in bs for i in set(bb))
    nc = collections.Counter(i for bs in hist.values() for i in {j for bb in bs for j in bb})
    assert pop == collections.Counter(m.pop) and nc == collections.Counter(m.nc)
    assert trc == collections.Counter(m.trc)
    print('OK: %d table cells, %d trials, %d hits match brute force' % (len(inc), sum(inc.values()), sum(inch.values())))


if __name__ == '__main__':
    main()

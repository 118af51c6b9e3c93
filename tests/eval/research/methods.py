"""Incrementally maintained state + ranking methods for the Regulars hint engine experiment.

Everything in `State` is updated purchase by purchase (State.purchase(cid, basket)), with work
bounded by |basket| (per basket line), |basket|^2 (per item pair in the basket) or M x |basket|
(customer's top-M personal items x basket lines).  Nothing at request time scans a customer's
whole history: rankers read the customer's top rows by an index-friendly key, the customer row,
the top-N neighbour rows of at most m items and a precomputed global top list.

(For experimentation convenience the Python code keeps a few alternative variants side by side,
 e.g. several decay factors at once; the C++ daemon keeps only the chosen one.)
"""
import math
import heapq

DECAYS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
NDEC = len(DECAYS)


class CustomerRow:
    """Per-customer scalar state (one row)."""
    __slots__ = ('n', 'S', 'rep', 'tot', 'items', 'topm', 'prev', 'logS')

    def __init__(self):
        self.n = 0                 # visits so far
        self.S = [0.0] * NDEC      # decayed visit count  S_d = sum_b d^(n-1-b)   (S <- S*d + 1)
        self.rep = 0               # basket lines (visits >= 2) whose item was already in the history
        self.tot = 0               # basket lines (visits >= 2)
        self.items = {}            # item -> ItemRow list (see below)
        self.topm = []             # customer's current top-M personal items (for pair updates)
        self.prev = ()             # previous basket


# ItemRow for (customer,item): [count, last_visit_index, s_d0, s_d1, ...] where
# s_d = sum_{b containing item} d^(last - b) "as of" visit `last`.
# Value at a later reference visit t (t >= last):  s_d * d^(t - last).
C_CNT, C_LAST, C_S0 = 0, 1, 2


class State:
    def __init__(self, topm_update=10, gdecays=(0.9, 0.97)):
        self.cust = {}
        self.pop = {}              # item -> #baskets containing it (store-wide)
        self.nb = 0                # #baskets store-wide
        self.lines = 0             # #basket lines store-wide
        self.gdecays = gdecays
        self.gpop = [dict() for _ in gdecays]   # item -> [value as of round, round]
        self.gS = [[0.0, 0] for _ in gdecays]   # decayed basket count
        self.co = {}               # item -> {item: #baskets with both}   (within-basket pairs)
        self.tr = {}               # item i in customer's top-M before visit -> {j: #times j bought next visit}
        self.trn = {}              # same, but only j that are NEW to the customer
        self.trc = {}              # item -> #visits at which it was in the visiting customer's top-M (trials)
        self.topm_update = topm_update
        # store-level online statistics (collected before applying each basket, visits >= 2)
        self.rep = 0
        self.tot = 0
        self.newlines = 0
        # online calibration: for every visit >= 2, the customer's top-M personal items
        # (by decayed share at d = CAL_D) are "predicted": sum of shares and number of hits.
        self.cal_ps = 0.0
        self.cal_hit = 0
        self.cal_n = 0
        # popularity calibration: sum over basket's NEW items of 1 and sum of g over top-K popular
        self.round = 0

    # ------------------------------------------------------------------ updates
    def purchase(self, cid, basket, rnd=0):
        basket = list(dict.fromkeys(basket))
        cu = self.cust.get(cid)
        if cu is None:
            cu = self.cust[cid] = CustomerRow()
        n = cu.n                     # index of this visit (0-based)
        items = cu.items
        # ---- online statistics, computed before the basket is applied (what the hint would have seen)
        if n >= 1:
            rep = sum(1 for i in basket if i in items)
            cu.rep += rep
            cu.tot += len(basket)
            self.rep += rep
            self.tot += len(basket)
            self.newlines += len(basket) - rep
            # transitions: customer's top-M personal items -> items bought now
            bset = set(basket)
            for i in cu.topm:
                self.trc[i] = self.trc.get(i, 0) + 1
                row = self.tr.get(i)
                if row is None:
                    row = self.tr[i] = {}
                rown = self.trn.get(i)
                if rown is None:
                    rown = self.trn[i] = {}
                for j in basket:
                    if j == i:
                        continue
                    row[j] = row.get(j, 0) + 1
                    if j not in items:
                        rown[j] = rown.get(j, 0) + 1
        # ---- customer rows
        for k, d in enumerate(DECAYS):
            cu.S[k] = cu.S[k] * d + 1.0
        for i in basket:
            r = items.get(i)
            if r is None:
                items[i] = [1, n] + [1.0] * NDEC
            else:
                gap = n - r[C_LAST]
                r[C_CNT] += 1
                r[C_LAST] = n
                for k, d in enumerate(DECAYS):
                    r[C_S0 + k] = r[C_S0 + k] * (d ** gap) + 1.0
        cu.n = n + 1
        cu.prev = tuple(basket)
        # keep the customer's top-M (by decayed score, d=0.8 / ties by count, recency) for pair updates;
        # in the daemon this is an indexed read of M rows of the customer's item table.
        kd = C_S0 + DECAYS.index(0.8)
        nn = cu.n - 1
        cu.topm = [i for i, _ in heapq.nlargest(
            self.topm_update, items.items(),
            key=lambda kv: (kv[1][kd] * 0.8 ** (nn - kv[1][C_LAST]), kv[1][C_CNT], kv[1][C_LAST]))]
        # ---- store rows
        self.nb += 1
        self.lines += len(basket)
        pop = self.pop
        for i in basket:
            pop[i] = pop.get(i, 0) + 1
        for k, gd in enumerate(self.gdecays):
            gS = self.gS[k]
            gS[0] = gS[0] * gd ** (rnd - gS[1]) + 1.0
            gS[1] = rnd
            gp = self.gpop[k]
            for i in basket:
                r = gp.get(i)
                if r is None:
                    gp[i] = [1.0, rnd]
                else:
                    r[0] = r[0] * gd ** (rnd - r[1]) + 1.0
                    r[1] = rnd
        co = self.co
        for i in basket:
            row = co.get(i)
            if row is None:
                row = co[i] = {}
            for j in basket:
                if j != i:
                    row[j] = row.get(j, 0) + 1
        self.round = rnd

    # ------------------------------------------------------------------ helpers for rankers
    def global_top(self, k=200):
        return [i for i, _ in sorted(self.pop.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

    def gpop_value(self, k, i, rnd):
        r = self.gpop[k].get(i)
        if r is None:
            return 0.0
        return r[0] * self.gdecays[k] ** (rnd - r[1])


def replay(hist, **kw):
    from eval import replay_order
    st = State(**kw)
    for rnd, c, _, b in replay_order(hist):
        st.purchase(c, b, rnd)
    return st


# ====================================================================== rankers
def pad(ranked, fill, k):
    seen = set(ranked)
    out = list(ranked)
    for i in fill:
        if len(out) >= k:
            break
        if i not in seen:
            out.append(i)
            seen.add(i)
    return out


def g_topfreq(st, k=20):
    top = st.global_top(k)
    return {c: list(top) for c in st.cust}


def g_topfreq_decayed(st, gd=0.9, k=20):
    """global popularity decayed by store time (replay round = week): value at the last week"""
    kk = st.gdecays.index(gd)
    rnd = st.round
    top = heapq.nlargest(k, st.pop, key=lambda i: (st.gpop_value(kk, i, rnd), -i))
    return {c: list(top) for c in st.cust}


def p_topfreq(st, k=20, pad_global=False):
    """P-TopFreq: #customer baskets containing the item; ties: global popularity, then most recent purchase
    (this tie order reproduces the README reference figures; recency-first ties give recall@10 0.1153)."""
    pop = st.pop
    gt = st.global_top(k) if pad_global else []
    out = {}
    for c, cu in st.cust.items():
        ranked = [i for i, _ in heapq.nlargest(
            k, cu.items.items(), key=lambda kv: (kv[1][C_CNT], pop[kv[0]], kv[1][C_LAST], -kv[0]))]
        out[c] = pad(ranked, gt, k) if pad_global else ranked
    return out


# ====================================================================== decayed personal + popularity mixes
def decayed(cu, k):
    """customer's decayed per-item scores at reference visit n-1 (s_d = sum_b d^(n-1-b))."""
    d = DECAYS[k]
    t = cu.n - 1
    return {i: r[C_S0 + k] * d ** (t - r[C_LAST]) for i, r in cu.items.items()}


def p_decay(st, d, k=20, pad_global=True):
    """Personal decayed frequency (ties: global popularity), padded with G-TopFreq."""
    kd = DECAYS.index(d)
    pop = st.pop
    gt = st.global_top(k)
    out = {}
    for c, cu in st.cust.items():
        s = decayed(cu, kd)
        ranked = [i for i, _ in heapq.nlargest(k, s.items(), key=lambda kv: (round(kv[1], 9), pop[kv[0]], -kv[0]))]
        out[c] = pad(ranked, gt, k) if pad_global else ranked
    return out


def log_key_check(st, d=0.8, ncust=2000):
    """Ranking by L_i = log sum_{b containing i} d^(-b)  (index key that never needs rewriting when the
    customer visits again) equals ranking by the decayed score s_i = sum d^(n-1-b).  L is maintained as
    L <- logaddexp(L, -b*log d) on each purchase; here recomputed from the stored s and last visit:
    L_i = log(s_i) - last_i*log d  (s_i as of visit last_i).  Returns #customers whose orders differ."""
    kd = DECAYS.index(d)
    bad = 0
    for c in list(st.cust)[:ncust]:
        cu = st.cust[c]
        s = decayed(cu, kd)
        L = {i: math.log(r[C_S0 + kd]) - r[C_LAST] * math.log(d) for i, r in cu.items.items()}
        o1 = sorted(s, key=lambda i: (-round(s[i], 9), i))
        o2 = sorted(L, key=lambda i: (-round(L[i], 9), i))
        # compare as ordered groups of equal keys
        if [round(s[i], 9) for i in o1] != [round(s[i], 9) for i in o2]:
            bad += 1
    return bad


def linear_mix(st, d, w, kappa=0.0, k=20, kg=200):
    """score = s_d(i)/(S_d + kappa) + w * pop(i)/N   (fixed w, tuned on Ta-Feng: reference only)."""
    kd = DECAYS.index(d)
    pop, N = st.pop, st.nb
    gt = st.global_top(kg)
    out = {}
    for c, cu in st.cust.items():
        S = cu.S[kd] + kappa
        sc = {i: v / S for i, v in decayed(cu, kd).items()}
        for i in gt:
            sc[i] = sc.get(i, 0.0) + w * pop[i] / N
        for i in sc:
            if i not in gt:
                sc[i] += w * pop[i] / N
        out[c] = [i for i, _ in heapq.nlargest(k, sc.items(), key=lambda kv: (kv[1], -kv[0]))]
    return out


def adaptive_linear_mix(st, d=0.9, kappa=1.0, beta=None, k=20, kg=200):
    """Brief idea 4: score = r_u * s_d(i)/(S_d+kappa) / A + (1 - r_u) * pop(i)/N / A
    r = store-level share of basket lines (visits >= 2) already in the customer's history (online),
    r_u = (rep_u + beta*r)/(tot_u + beta) if beta else r;  A = store average basket size (same for both
    terms here, so it only matters through the mix)."""
    kd = DECAYS.index(d)
    pop, N = st.pop, st.nb
    r = st.rep / st.tot
    gt = st.global_top(kg)
    out = {}
    for c, cu in st.cust.items():
        ru = r if beta is None else (cu.rep + beta * r) / (cu.tot + beta)
        S = cu.S[kd] + kappa
        sc = {i: ru * v / S for i, v in decayed(cu, kd).items()}
        for i in set(sc) | set(gt):
            sc[i] = sc.get(i, 0.0) + (1 - ru) * pop[i] / N
        out[c] = [i for i, _ in heapq.nlargest(k, sc.items(), key=lambda kv: (kv[1], -kv[0]))]
    return out


# ====================================================================== CRE: Calibrated Repeat / Explore
# The recommended method.  All state is updated per purchase; see results.md for the SQL-ish layout.
import bisect

# bucket lower bounds: count of the customer's baskets containing the item, and the customer's visits
C_BOUNDS = (1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 23)          # 1,2,3,4,5,6,7-8,9-11,12-15,16-22,23+
N_BOUNDS = (1, 2, 3, 4, 5, 7, 10, 15, 25, 40)            # 1,2,3,4,5-6,7-9,10-14,15-24,25-39,40+
NCB = len(C_BOUNDS)


def cbucket(c):
    return bisect.bisect_right(C_BOUNDS, c)             # 1..NCB


def nbucket(n):
    return bisect.bisect_right(N_BOUNDS, n)             # 1..len(N_BOUNDS)


class CRE:
    """Calibrated Repeat / Explore hint engine (incremental).

    Parameters (fixed for every store):
      M_ROWS  = 50   personal rows read at request time (customer index: cnt DESC, last DESC)
      M_SEED  = 5    personal top items used as co-purchase seeds at request time
      M_SEED_UPD = 10 personal top items used as transition sources at update time
      N_NB    = 20   neighbours read per seed (transition index: count DESC)
      K_POP   = 20   global top items used to calibrate the popularity scale b online
      K_CAND  = 50   global top items offered as candidates
      SHRINK  = 20   hierarchical shrinkage of the repeat table cells
      BETA_U  = 5    per-customer repeat-propensity shrinkage
      K_ITEM  = 20   item repeat-propensity shrinkage;  ETA = 0.5 its exponent
      LAMBDA  = 0.5  weight of the transition (co-purchase) estimate E in the exploration score
      KAPPA_E = 30   smoothing of E towards popularity
    Variants kept for the ablations: use_rho (per-customer repeat propensity), use_q (item repeat
    propensity), use_last, seed_weight, tr_new_only, G_KEEP, COMBINE, EXPLORE_SRC ('tr' transitions
    from the customer's top items to the next basket, 'co' within-basket co-occurrence).
    """

    def __init__(self, M_ROWS=50, M_SEED=5, M_SEED_UPD=10, N_NB=20, K_POP=20, K_CAND=50, SHRINK=20, BETA_U=5.0,
                 K_ITEM=20, ETA=0.5, LAMBDA=0.5, use_rho=False, use_q=True, use_last=True,
                 seed_weight='uniform', tr_new_only=False, refresh=1000, KAPPA_E=30.0, G_KEEP=True, COMBINE='max', EXPLORE_SRC='tr',
                 GDECAY=None):
        self.__dict__.update(dict(M_ROWS=M_ROWS, M_SEED=M_SEED, M_SEED_UPD=M_SEED_UPD, N_NB=N_NB, K_POP=K_POP, K_CAND=K_CAND,
                                  SHRINK=SHRINK, BETA_U=BETA_U, K_ITEM=K_ITEM, ETA=ETA, LAMBDA=LAMBDA,
                                  use_rho=use_rho, use_q=use_q, use_last=use_last, seed_weight=seed_weight,
                                  tr_new_only=tr_new_only, refresh=refresh, KAPPA_E=KAPPA_E, G_KEEP=G_KEEP, COMBINE=COMBINE,
                                  EXPLORE_SRC=EXPLORE_SRC, GDECAY=GDECAY))
        self._nbr = None
        # customer rows
        self.cn = {}        # cid -> visits so far
        self.chist = {}     # cid -> [#items per count bucket 1..NCB]  (index 0 unused)
        self.crho = {}      # cid -> [repeat lines observed, repeat lines expected by the table]
        self.cprev = {}     # cid -> items of the last visit (= rows with last == n-1)
        self.ci = {}        # cid -> {item: [cnt, last]}     (customer_item rows)
        # item rows
        self.pop = {}       # item -> #baskets containing it
        self.nc = {}        # item -> #distinct customers (first-time purchases)
        # store rows
        self.N = 0          # baskets
        self.trials = {}    # (cb, nb, last) -> [trials, hits]   repeat table (11 x 10 x 2 = 220 cells)
        self.b_hits = 0.0   # popularity calibration: hits of global top-K items not in the history
        self.b_mass = 0.0   #                          sum of their g = pop/N at that time
        self.tr = {}        # transition rows: seed item i -> {j: count}
        self.trc = {}       # seed item i -> #visits it was a seed
        self.co = {}        # (only for EXPLORE_SRC='co') within-basket pairs: i -> {j: #baskets with both}
        self._gtop = []
        self._since = 0
        # store-time-decayed popularity (only if GDECAY): item -> [value as of week t, t]; baskets likewise
        self.gp = {}
        self.gS = [0.0, 0]
        self.now = 0

    def g(self, i):
        """popularity share used for exploration: pop/N, or the store-time-decayed share"""
        if self.GDECAY is None:
            return self.pop.get(i, 0) / self.N
        r = self.gp.get(i)
        if r is None:
            return 0.0
        gd = self.GDECAY
        return r[0] * gd ** (self.now - r[1]) / (self.gS[0] * gd ** (self.now - self.gS[1]))

    def _refresh_gtop(self):
        self._gtop = heapq.nlargest(max(self.K_POP, self.K_CAND), self.pop, key=lambda i: (self.g(i), -i))

    # -------------------------------------------------------------- table reads (in memory in the daemon)
    def _agg(self):
        """hierarchical shrinkage: cell (c,n,l) -> (c,n) -> (c). Recomputed lazily (220 cells)."""
        tc, tcn = {}, {}
        for (c, nb, l), (t, h) in self.trials.items():
            a = tc.setdefault(c, [0, 0]); a[0] += t; a[1] += h
            a = tcn.setdefault((c, nb), [0, 0]); a[0] += t; a[1] += h
        m = self.SHRINK
        Tc = {c: (h / t if t else 0.0) for c, (t, h) in tc.items()}
        Tcn = {k: (h + m * Tc[k[0]]) / (t + m) for k, (t, h) in tcn.items()}
        T = {k: (h + m * Tcn[k[:2]]) / (t + m) for k, (t, h) in self.trials.items()}
        self._T, self._Tcn, self._Tc = T, Tcn, Tc

    def T(self, c, nb, l):
        key = (cbucket(c), nb, l if self.use_last else 0)
        t = self._T.get(key)
        if t is None:
            t = self._Tcn.get(key[:2])
            if t is None:
                t = self._Tc.get(key[0], 0.0)
        return t

    def _topm(self, rows, m):
        return heapq.nlargest(m, rows.items(), key=lambda kv: (kv[1][0], kv[1][1], -kv[0]))

    # -------------------------------------------------------------- update (one purchase)
    def purchase(self, cid, basket, week=0):
        """week = store time; only used by the decayed popularity option"""
        basket = list(dict.fromkeys(basket))
        self.now = week
        n = self.cn.get(cid, 0)
        rows = self.ci.get(cid)
        if rows is None:
            rows = self.ci[cid] = {}
            self.chist[cid] = [0] * (NCB + 1)
            self.crho[cid] = [0.0, 0.0]
            self.cprev[cid] = ()
        hist = self.chist[cid]
        if self._since <= 0 or not self._gtop:
            self._refresh_gtop()
            self._since = self.refresh
            self._agg()
        self._since -= 1
        if n >= 1:
            nb = nbucket(n)
            bset = set(basket)
            # (1) repeat table: trials = customer's items by (count bucket, bought last visit)
            lastc = [0] * (NCB + 1)
            for i in self.cprev[cid]:
                lastc[cbucket(rows[i][0])] += 1
            expct = 0.0
            for c in range(1, NCB + 1):
                if hist[c] == 0:
                    continue
                for l, t in ((1, lastc[c]), (0, hist[c] - lastc[c])):
                    if self.use_last is False:
                        l = 0
                    if t:
                        cell = self.trials.setdefault((c, nb, l), [0, 0])
                        cell[0] += t
                        expct += t * self.T(c, nb, l)
            rep = 0
            for i in basket:
                r = rows.get(i)
                if r is not None:
                    rep += 1
                    l = 1 if (r[1] == n - 1 and self.use_last) else 0
                    self.trials.setdefault((cbucket(r[0]), nb, l), [0, 0])[1] += 1
            rho = self.crho[cid]
            rho[0] += rep
            rho[1] += expct
            # (2) popularity calibration over the global top-K not yet bought by this customer
            N = self.N
            for i in self._gtop[:self.K_POP]:
                if i not in rows:
                    self.b_mass += self.g(i)
                    if i in bset:
                        self.b_hits += 1
            # (3) transitions: customer's top seeds (before this visit) -> items bought now
            for i, _ in self._topm(rows, self.M_SEED_UPD):
                self.trc[i] = self.trc.get(i, 0) + 1
                tri = self.tr.get(i)
                if tri is None:
                    tri = self.tr[i] = {}
                for j in basket:
                    if j != i and (not self.tr_new_only or j not in rows):
                        tri[j] = tri.get(j, 0) + 1
        if self.EXPLORE_SRC == 'co':
            for i in basket:
                row = self.co.get(i)
                if row is None:
                    row = self.co[i] = {}
                for j in basket:
                    if j != i:
                        row[j] = row.get(j, 0) + 1
        # (4) apply the basket: customer_item rows, count-bucket histogram, item rows
        for i in basket:
            r = rows.get(i)
            if r is None:
                rows[i] = [1, n]
                hist[1] += 1
                self.nc[i] = self.nc.get(i, 0) + 1
            else:
                hist[cbucket(r[0])] -= 1
                r[0] += 1
                r[1] = n
                hist[cbucket(r[0])] += 1
            self.pop[i] = self.pop.get(i, 0) + 1
        if self.GDECAY is not None:
            gd = self.GDECAY
            self.gS[0] = self.gS[0] * gd ** (week - self.gS[1]) + 1.0
            self.gS[1] = week
            for i in basket:
                r = self.gp.get(i)
                if r is None:
                    self.gp[i] = [1.0, week]
                else:
                    r[0] = r[0] * gd ** (week - r[1]) + 1.0
                    r[1] = week
        self.cprev[cid] = tuple(basket)
        self.cn[cid] = n + 1
        self.N += 1

    def finish(self):
        """call once after the replay (the daemon keeps these current continuously)"""
        self._refresh_gtop()
        self._agg()
        tot_pop = sum(self.pop.values())
        self.rbar = 1.0 - sum(self.nc.values()) / tot_pop     # share of basket lines that are repeats
        self.b = self.b_hits / self.b_mass if self.b_mass > 0 else 1.0
        self._nbr = {}      # cache of the index read "top-N neighbours of i by count"

    def neighbours(self, i):
        if self._nbr is not None and i in self._nbr:
            return self._nbr[i]
        tri = (self.co if self.EXPLORE_SRC == 'co' else self.tr).get(i) or {}
        res = heapq.nlargest(self.N_NB, tri.items(), key=lambda kv: (kv[1], -kv[0]))
        if self._nbr is not None:
            self._nbr[i] = res
        return res

    # -------------------------------------------------------------- request (empty basket)
    def rank(self, cid, k=20, explain=False):
        n = self.cn.get(cid, 0)
        pop, nc, N = self.pop, self.nc, self.N
        b = self.b
        sc = {}
        rows = self.ci.get(cid, {})
        top = self._topm(rows, self.M_ROWS)                   # <= 50 indexed rows
        # explore probability  x(j) = (1-LAMBDA) g(j) + LAMBDA E(j),
        # E(j) = sum_seeds w_i (tr_ij + KAPPA_E g(j)) / (trc_i + KAPPA_E)   (smoothed towards popularity)
        seeds = top[:self.M_SEED]
        lam = self.LAMBDA if seeds else 0.0
        ke = self.KAPPA_E
        Ecnt = {}
        gmul = 0.0
        if lam > 0:
            if self.seed_weight == 'uniform':
                ws = [1.0 / len(seeds)] * len(seeds)
            else:                                              # by repeat probability
                ws = [self.T(r[0], nbucket(n), 1 if r[1] == n - 1 else 0) for _, r in seeds]
                s = sum(ws)
                ws = [w / s for w in ws]
            for (i, _), w in zip(seeds, ws):
                den = (pop[i] if self.EXPLORE_SRC == 'co' else self.trc.get(i, 0)) + ke
                gmul += w * ke / den
                for j, cnt in self.neighbours(i):
                    Ecnt[j] = Ecnt.get(j, 0.0) + w * cnt / den
        gcoef = (1.0 if self.G_KEEP else (1 - lam)) + lam * gmul
        for i in self._gtop[:self.K_CAND]:
            sc[i] = gcoef * self.g(i)
        for j, e in Ecnt.items():
            sc[j] = gcoef * self.g(j) + lam * e
        for j in sc:
            sc[j] *= b
        # repeat: calibrated table * item propensity * customer propensity
        if top:
            nb = nbucket(n)
            rho = 1.0
            if self.use_rho:
                h, e = self.crho[cid]
                rho = (h + self.BETA_U) / (e + self.BETA_U)
            kq, rbar = self.K_ITEM, self.rbar
            for i, (c, last) in top:
                t = self.T(c, nb, 1 if last == n - 1 else 0)
                if self.use_q:
                    q = ((pop[i] - nc[i]) + kq * rbar) / (pop[i] + kq) / rbar
                    t *= q ** self.ETA
                t *= rho
                e = sc.get(i)
                if e is None:
                    e = b * gcoef * self.g(i)
                if self.COMBINE == 'max':
                    sc[i] = t if t > e else e
                else:
                    sc[i] = t + e
        ranked = heapq.nlargest(k, sc.items(), key=lambda kv: (kv[1], pop.get(kv[0], 0), -kv[0]))
        if explain:
            return ranked
        return [i for i, _ in ranked]


def replay_cre(hist, **kw):
    from eval import replay_order
    m = CRE(**kw)
    for t, c, _, b in replay_order(hist):
        m.purchase(c, b, t)
    m.finish()
    return m

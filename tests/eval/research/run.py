"""Runs every method on every dataset and writes results_table.md + results.json.

python3 run.py            # all datasets (tafeng, lowrepeat, verylowrepeat, highrepeat)
python3 run.py tafeng     # a subset
(the derived stores are produced by gen_lowrepeat.py; run it first if the json files are missing)
"""
import json
import sys
import time

from eval import load, metrics, TAFENG_HIST, TAFENG_FUT
import methods as M

DATASETS = {
    'tafeng': (TAFENG_HIST, TAFENG_FUT),
    'lowrepeat': ('/work/exp/lowrepeat_history.json', '/work/exp/lowrepeat_future.json'),
    'verylowrepeat': ('/work/exp/verylowrepeat_history.json', '/work/exp/verylowrepeat_future.json'),
    'highrepeat': ('/work/exp/highrepeat_history.json', '/work/exp/highrepeat_future.json'),
}
COLS = ['recall@3', 'ndcg@3', 'recall@10', 'ndcg@10', 'phr@10', 'recall@20']


def run_dataset(name):
    hist, fut = load(*DATASETS[name])
    rows = []
    t0 = time.time()
    st = M.replay(hist)
    info = {'state_replay_s': round(time.time() - t0, 1), 'store_repeat_share_r': round(st.rep / st.tot, 4)}

    def add(label, ranking):
        m = metrics(ranking, fut)
        rows.append((label, m))
        print('%-14s %-58s %s' % (name, label, ' '.join('%s=%.4f' % (c, m[c]) for c in COLS)), flush=True)

    add('G-TopFreq', M.g_topfreq(st))
    add('G-TopFreq decayed 0.9/week (idea 2)', M.g_topfreq_decayed(st, 0.9))
    add('P-TopFreq', M.p_topfreq(st))
    add('GP-TopFreq', M.p_topfreq(st, pad_global=True))
    for d in (0.9, 0.8, 0.7, 0.6):
        add('GP-decay d=%.1f (idea 1)' % d, M.p_decay(st, d))
    info['log_key_mismatches_d0.8_of_2000'] = M.log_key_check(st, 0.8)
    info['log_key_mismatches_d0.6_of_2000'] = M.log_key_check(st, 0.6)
    add('Mix fixed s_.9/S + 7g (tuned on Ta-Feng)', M.linear_mix(st, 0.9, 7.0))
    add('Mix adaptive r (store), d=.9, kappa=1 (idea 4)', M.adaptive_linear_mix(st, 0.9, 1.0, None))
    add('Mix adaptive r_u (beta=20), d=.9, kappa=1', M.adaptive_linear_mix(st, 0.9, 1.0, 20.0))
    del st

    t0 = time.time()
    cre = M.replay_cre(hist)
    info['cre_replay_s'] = round(time.time() - t0, 1)
    info['cre_b'] = round(cre.b, 4)
    info['cre_rbar'] = round(cre.rbar, 4)
    t0 = time.time()
    add('CRE (recommended)', {c: cre.rank(c) for c in hist})
    info['cre_python_ms_per_request'] = round((time.time() - t0) / len(hist) * 1000, 3)
    base = {k: getattr(cre, k) for k in ('LAMBDA', 'use_q', 'use_last', 'use_rho')}
    for label, ch in (('CRE - transitions E (lambda=0)', {'LAMBDA': 0.0}),
                      ('CRE - item propensity q', {'use_q': False}),
                      ('CRE + per-customer rho_u (beta=5)', {'use_rho': True})):
        for k, v in base.items():
            setattr(cre, k, v)
        for k, v in ch.items():
            setattr(cre, k, v)
        add(label, {c: cre.rank(c) for c in hist})
    del cre
    for label, kw in (('CRE + store-time decayed popularity 0.9/week', {'GDECAY': 0.9}),
                      ('CRE - last-visit flag in table', {'use_last': False}),
                      ('CRE, E from within-basket co-occurrence', {'EXPLORE_SRC': 'co'}),
                      ('CRE, transitions to new items only', {'tr_new_only': True})):
        m2 = M.replay_cre(hist, **kw)
        add(label, {c: m2.rank(c) for c in hist})
        del m2
    return rows, info


def main(names):
    allres = {}
    for name in names:
        rows, info = run_dataset(name)
        allres[name] = {'rows': [(l, m) for l, m in rows], 'info': info}
        print(name, info, flush=True)
    with open('/work/exp/results.json', 'w') as fh:
        json.dump(allres, fh, indent=1)
    # markdown: one table per dataset
    out = []
    for name in names:
        out.append('### %s\n' % name)
        out.append('| method | ' + ' | '.join(COLS) + ' |')
        out.append('|---|' + '---|' * len(COLS))
        for label, m in allres[name]['rows']:
            out.append('| %s | ' % label + ' | '.join('%.4f' % m[c] for c in COLS) + ' |')
        out.append('\n%s\n' % json.dumps(allres[name]['info']))
    with open('/work/exp/results_table.md', 'w') as fh:
        fh.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main(sys.argv[1:] or list(DATASETS))

"""Sensitivity of CRE to its fixed parameters (one replay per dataset, request-time parameters varied).
python3 sens.py [datasets...]   -> sens_table.md
"""
import sys

from eval import load, metrics
import methods as M
from run import DATASETS, COLS

VARIANTS = [
    ('default', {}),
    ('ETA=0 (no item propensity)', {'use_q': False}),
    ('ETA=1', {'ETA': 1.0}),
    ('LAMBDA=0 (no transitions)', {'LAMBDA': 0.0}),
    ('LAMBDA=0.25', {'LAMBDA': 0.25}),
    ('LAMBDA=1', {'LAMBDA': 1.0}),
    ('KAPPA_E=10', {'KAPPA_E': 10.0}),
    ('KAPPA_E=100', {'KAPPA_E': 100.0}),
    ('mixture x=(1-L)g+L*E (G_KEEP off)', {'G_KEEP': False}),
    ('repeat + explore summed (not max)', {'COMBINE': 'sum'}),
    ('SHRINK=5', {'SHRINK': 5}),
    ('SHRINK=80', {'SHRINK': 80}),
    ('M_SEED=10, N_NB=50', {'M_SEED': 10, 'N_NB': 50}),
    ('M_ROWS=all', {'M_ROWS': 10 ** 6}),
    ('seeds weighted by repeat prob', {'seed_weight': 'T'}),
]


def main(names):
    out = []
    for name in names:
        hist, fut = load(*DATASETS[name])
        m = M.replay_cre(hist)
        default = {k: getattr(m, k) for ch in VARIANTS for k in ch[1]}
        out.append('### %s\n' % name)
        out.append('| variant | ' + ' | '.join(COLS) + ' |')
        out.append('|---|' + '---|' * len(COLS))
        for label, ch in VARIANTS:
            for k, v in default.items():
                setattr(m, k, v)
            for k, v in ch.items():
                setattr(m, k, v)
            m._agg()
            m._nbr = {}
            res = metrics({c: m.rank(c) for c in hist}, fut)
            line = '| %s | ' % label + ' | '.join('%.4f' % res[c] for c in COLS) + ' |'
            print(name, line, flush=True)
            out.append(line)
        out.append('')
    with open('/work/exp/sens_table.md', 'w') as fh:
        fh.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main(sys.argv[1:] or ['tafeng', 'lowrepeat'])

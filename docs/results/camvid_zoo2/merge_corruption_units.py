"""Merge corruption-benchmark runs made in parts (one `noise_sweep.py --corruptions C` run per
corruption and group of rows) into one report, plus the recovered fraction R per severity.

Usage: python merge_corruption_units.py OUT_DIR UNIT_DIR... (each holding robustness.json)
A (variant, corruption, severity) measured in two parts must agree exactly (the clean and noisy
rows are in every part): the noise is seeded per image, so parts are the same as one run.
"""
import json, math, os, os.path as osp, sys
from mmsemdenoise.analysis.robustness_report import write_robustness_report

ORDER = ['noisy', 'nlm', 'cdncnn-b', 'blind', 'joint', 'labelfree', 'mixednoise']
CORR = ['gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise']
merged = {}
for path in [osp.join(d, 'robustness.json') for d in sys.argv[2:]
             if osp.exists(osp.join(d, 'robustness.json'))]:  # parts still running: left out
    results = json.load(open(path))['results']
    for variant, by_noise in results.items():
        for noise, by_sev in by_noise.items():
            for sev, metrics in by_sev.items():
                key = (variant, noise, int(sev))
                if key in merged:
                    a, b = merged[key], metrics
                    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a), (key, a, b)
                merged[key] = metrics
corruptions = [c for c in CORR if any(k[1] == c for k in merged)]
variants = [v for v in ORDER if any(k[0] == v for k in merged)]
# a variant enters only where it has every corruption measured
complete = [v for v in variants if all((v, c, s) in merged for c in corruptions for s in range(1, 6))]
rows = [dict(variant=v, noise=n, severity=s, **merged[(v, n, s)])
        for v in complete for (vv, n, s) in sorted(merged, key=lambda k: (k[1] != 'clean', CORR.index(k[1]) if k[1] in CORR else -1, k[2])) if vv == v
        and (n == 'clean' or n in corruptions)]
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
print(write_robustness_report(rows, {}, {}, out, corruptions, [1, 2, 3, 4, 5], 'benchmark'))
print('variants missing a corruption:', [v for v in variants if v not in complete])

# recovered fraction R = (m - m_noisy) / (m_clean - m_noisy), mIoU, per corruption x severity
lines = []
clean = merged[('noisy', 'clean', 0)]['mIoU']
for c in corruptions:
    lines += [f'\n{c}: mIoU (R)\n', '| variant | ' + ' | '.join(f'sev {s}' for s in range(1, 6)) + ' | mean |',
              '|---|' + '---|' * 6]
    for v in complete:
        cells = []
        for s in range(1, 6):
            m, n = merged[(v, c, s)]['mIoU'], merged[('noisy', c, s)]['mIoU']
            r = (m - n) / (clean - n)
            cells.append(f'{m:.2f} ({r:.2f})' if v != 'noisy' else f'{m:.2f}')
        mean = sum(merged[(v, c, s)]['mIoU'] for s in range(1, 6)) / 5
        lines.append(f'| {v} | ' + ' | '.join(cells) + f' | {mean:.2f} |')
    # aims: guided >= blind >= nlm >= noisy; guided >= cdncnn-b
    for s in range(1, 6):
        m = {v: merged[(v, c, s)]['mIoU'] for v in complete}
        fails = []
        for g in [x for x in ('joint', 'labelfree', 'mixednoise') if x in m]:
            for peer in ('blind', 'cdncnn-b'):
                if peer in m and m[g] < m[peer]:
                    fails.append(f'{g}<{peer} ({m[g] - m[peer]:+.2f})')
        for hi, lo in (('blind', 'nlm'), ('nlm', 'noisy')):
            if hi in m and lo in m and m[hi] < m[lo]:
                fails.append(f'{hi}<{lo} ({m[hi] - m[lo]:+.2f})')
        if fails:
            lines.append(f'\nseverity {s}: ' + ', '.join(fails))
text = '\n'.join(lines)
open(osp.join(out, 'recovered.md'), 'w').write(text + '\n')
print(text)

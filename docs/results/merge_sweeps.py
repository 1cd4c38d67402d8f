"""Merge Gaussian sweeps run in parts (one `noise_sweep.py` run per group of variants, same config
and sigmas) into one table and plot.

Usage: python docs/results/merge_sweeps.py OUT_DIR SWEEP_DIR... (each holding sweep.csv)
A (variant, sigma) measured in two parts must agree exactly (clean and noisy are in every part):
the noise is seeded per image, so the parts are the same as one run. R is recomputed.
"""
import csv
import math
import os
import sys

from mmsemdenoise.analysis.sweep_report import write_report


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


merged = {}
for folder in sys.argv[2:]:
    with open(os.path.join(folder, 'sweep.csv')) as f:
        for row in csv.DictReader(f):
            key = (row.pop('variant'), float(row.pop('sigma')))
            metrics = {k: float(v) for k, v in row.items() if not k.startswith('R/')}
            if key in merged:
                old = merged[key]
                assert old.keys() == metrics.keys() and all(same(old[k], metrics[k]) for k in old), \
                    f'{folder}: {key} differs from an earlier part: {old} vs {metrics}'
            merged[key] = metrics
rows = [dict(variant=v, sigma=s, **m) for (v, s), m in merged.items()]  # first-seen order
os.makedirs(sys.argv[1], exist_ok=True)
print(write_report(rows, {}, {}, sys.argv[1]))

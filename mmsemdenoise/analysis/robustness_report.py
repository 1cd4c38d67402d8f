"""Files of a corruption benchmark: P / mPC / rPC per variant, corruption x severity tables.

The benchmark figures follow mmdetection's ``tools/analysis_tools/robustness_eval.py`` (Michaelis
et al., "Benchmarking Robustness in Object Detection", 2019, after Hendrycks & Dietterich 2019):

* ``P``: the metric on clean images (severity 0);
* ``mPC``: the mean over corruptions x severities 1-5; with ``aggregate='benchmark'`` (mmdetection's
  default) only the corruptions of the 15-corruption benchmark count -- of the noise family
  ``gaussian_noise``, ``shot_noise`` and ``impulse_noise``; ``speckle_noise`` is one of
  ImageNet-C's held-out validation corruptions and counts only with ``aggregate='all'``;
* ``rPC = mPC / P`` (printed in %; undefined where P is 0 or infinite, e.g. the PSNR of clean
  input).

Every figure is computed per variant (the same task model behind each denoiser). Rows are
``{'variant': str, 'noise': corruption or 'clean', 'severity': int, <metric>: float, ...}``.
"""
import csv
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .formatting import column_decimals, format_number, new_figure
from .sweep_report import example_grid, main_metric, metric_columns

#: The noise corruptions among the 15 of the benchmark (imagecorruptions' ``common`` subset).
BENCHMARK_CORRUPTIONS = ('gaussian_noise', 'shot_noise', 'impulse_noise')
AGGREGATES = ('benchmark', 'all')
Summary = Dict[str, Dict[str, Dict[str, float]]]


def corruptions_in_mpc(corruptions: Sequence[str], aggregate: str) -> List[str]:
    """The evaluated corruptions that the mean (mPC) covers under ``aggregate``."""
    if aggregate not in AGGREGATES:
        raise ValueError(f'aggregate must be one of {AGGREGATES}, got {aggregate!r}')
    if aggregate == 'all':
        return list(corruptions)
    return [c for c in corruptions if c in BENCHMARK_CORRUPTIONS]


def summarize(rows: Sequence[dict], corruptions: Sequence[str], severities: Sequence[int],
              aggregate: str = 'benchmark') -> Summary:
    """P, mPC and rPC of every variant and metric.

    Args:
        rows (Sequence[dict]): The benchmark rows (``noise='clean'``, ``severity=0`` for P).
        corruptions (Sequence[str]): The evaluated corruptions.
        severities (Sequence[int]): The evaluated severities (1-5 for the benchmark).
        aggregate (str): ``'benchmark'`` or ``'all'`` (see the module docstring).

    Returns:
        dict: ``summary[variant][metric] = {'P': .., 'mPC': .., 'rPC': ..}`` (rPC as a fraction;
        NaN where P is 0 or not finite, or nothing falls under mPC).
    """
    counted = corruptions_in_mpc(corruptions, aggregate)
    summary: Summary = {}
    for variant in dict.fromkeys(row['variant'] for row in rows):
        mine = [row for row in rows if row['variant'] == variant]
        clean = next((row for row in mine if row['noise'] == 'clean'), {})
        summary[variant] = {}
        for metric in metric_columns(mine):
            values = [float(row[metric]) for row in mine if row['noise'] in counted
                      and row['severity'] in severities and metric in row]
            p = float(clean.get(metric, math.nan))
            mpc = sum(values) / len(values) if values else math.nan
            rpc = mpc / p if math.isfinite(p) and p != 0 else math.nan
            summary[variant][metric] = {'P': p, 'mPC': mpc, 'rPC': rpc}
    return summary


def _value(rows: Sequence[dict], variant: str, noise: str, severity: int, metric: str) -> float:
    row = next((r for r in rows if r['variant'] == variant and r['noise'] == noise
                and r['severity'] == severity), {})
    return float(row.get(metric, math.nan))


def markdown_report(rows: Sequence[dict], corruptions: Sequence[str], severities: Sequence[int],
                    aggregate: str = 'benchmark', metric: Optional[str] = None) -> str:
    """The summary table (P / mPC / rPC of the main metric, mPC of the others) and one
    corruption x severity table of the main metric per variant."""
    columns = metric_columns(rows)
    metric = metric or main_metric(columns)
    summary = summarize(rows, corruptions, severities, aggregate)
    counted = corruptions_in_mpc(corruptions, aggregate)
    others = [c for c in columns if c != metric]
    digits = {c: column_decimals(rows, c) for c in columns}
    levels = ', '.join(str(s) for s in severities)
    lines = [f'**{metric}**: P on clean images, mPC = mean over {", ".join(counted) or "none"} '
             f'x severities {levels} (aggregate {aggregate!r}), rPC = mPC / P. Other metrics: mPC.',
             '', '| variant | P | mPC | rPC (%) | ' + ' | '.join(f'{c} mPC' for c in others) + ' |',
             '|' + '---|' * (4 + len(others))]
    for variant, by_metric in summary.items():
        s = by_metric[metric]
        rpc = '–' if math.isnan(s['rPC']) else f'{100 * s["rPC"]:.1f}'
        cells = [variant, format_number(s['P'], digits[metric]),
                 format_number(s['mPC'], digits[metric]), rpc]
        cells += [format_number(by_metric.get(c, {}).get('mPC', math.nan), digits[c])
                  for c in others]
        lines.append('| ' + ' | '.join(cells) + ' |')
    for variant in summary:
        lines += ['', f'{metric} of `{variant}` (severity 0: clean)', '',
                  '| corruption | 0 | ' + ' | '.join(str(s) for s in severities) + ' | mean |',
                  '|' + '---|' * (3 + len(severities))]
        for corruption in corruptions:
            values = [_value(rows, variant, corruption, s, metric) for s in severities]
            mean = sum(values) / len(values) if values else math.nan
            clean = _value(rows, variant, 'clean', 0, metric)
            cells = [corruption, format_number(clean, digits[metric])]
            cells += [format_number(v, digits[metric]) for v in values + [mean]]
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_corruption(rows: Sequence[dict], corruption: str, severities: Sequence[int],
                    path: str) -> None:
    """One figure per corruption: every metric against severity (0 = clean), a line per variant."""
    columns = metric_columns(rows)
    fig = new_figure(4.0 * len(columns), 3.6)
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    variants = list(dict.fromkeys(row['variant'] for row in rows))
    for ax, metric in zip(axes, columns):
        for variant in variants:
            x = [0, *severities]
            y = [_value(rows, variant, 'clean', 0, metric)]
            y += [_value(rows, variant, corruption, s, metric) for s in severities]
            ax.plot(x, [v if math.isfinite(v) else math.nan for v in y], '-o', markersize=3,
                    label=variant)
        ax.set_xlabel('severity (0: clean)')
        ax.set_title(metric, fontsize=10)
        ax.set_xticks([0, *severities])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(corruption)
    fig.tight_layout()
    fig.savefig(path)


def write_robustness_report(rows: Sequence[dict],
                            examples: Dict[str, Dict[int, Dict[str, List[dict]]]],
                            metainfo: dict,
                            out_dir: str,
                            corruptions: Sequence[str],
                            severities: Sequence[int],
                            aggregate: str = 'benchmark',
                            metric: Optional[str] = None) -> str:
    """Write ``robustness.{md,csv,json}``, ``robustness_<corruption>.png`` and
    ``examples_<corruption>_severity<s>.png``.

    Args:
        rows (Sequence[dict]): The benchmark rows.
        examples (dict): ``examples[corruption][severity][variant]`` (see ``example_grid``).
        metainfo (dict): The test dataset's metainfo.
        out_dir (str): Existing output folder.
        corruptions (Sequence[str]): The evaluated corruptions, in order.
        severities (Sequence[int]): The evaluated severities.
        aggregate (str): ``'benchmark'`` or ``'all'``. Defaults to 'benchmark'.
        metric (str, optional): The main metric. Defaults to mIoU / top-1 / the first one.

    Returns:
        str: The Markdown report.
    """
    text = markdown_report(rows, corruptions, severities, aggregate, metric)
    with open(osp.join(out_dir, 'robustness.md'), 'w') as f:
        f.write(text + '\n')
    columns = metric_columns(rows)
    with open(osp.join(out_dir, 'robustness.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['variant', 'corruption', 'severity', *columns])
        for row in rows:
            writer.writerow([row['variant'], row['noise'], row['severity'],
                             *[repr(float(row.get(c, math.nan))) for c in columns]])
    results: dict = {}
    for row in rows:
        by_noise = results.setdefault(row['variant'], {}).setdefault(row['noise'], {})
        by_noise[str(row['severity'])] = {c: float(row[c]) for c in columns if c in row}
    report = dict(aggregate=aggregate, corruptions=list(corruptions),
                  corruptions_in_mPC=corruptions_in_mpc(corruptions, aggregate),
                  severities=list(severities), main_metric=metric or main_metric(columns),
                  summary=summarize(rows, corruptions, severities, aggregate), results=results)
    with open(osp.join(out_dir, 'robustness.json'), 'w') as f:
        # NaN / inf are written as JSON's non-standard NaN / Infinity, which json.load reads
        json.dump(report, f, indent=1)
    for corruption in corruptions:
        plot_corruption(rows, corruption, severities,
                        osp.join(out_dir, f'robustness_{corruption}.png'))
    for corruption, by_severity in examples.items():
        for severity, by_variant in by_severity.items():
            example_grid(by_variant, metainfo,
                         osp.join(out_dir, f'examples_{corruption}_severity{severity}.png'),
                         title=f'{corruption}, severity {severity}')
    return text

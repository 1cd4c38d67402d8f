"""The noise sweep's and the corruption benchmark's files from the runs of one evaluation.

:class:`~mmsemdenoise.engine.RobustnessTestLoop` evaluates runs ``(variant, family, level)``;
this module turns their metrics into the two reports (:mod:`.sweep_report` for the Gaussian
sweep, :mod:`.robustness_report` for the corruptions) and the flat metrics ``Runner.test``
returns. A run's ``family`` is ``'gaussian'`` (``level``: sigma, or None for the clean row), a
corruption (``level``: severity) or ``'clean'`` (severity 0 of the benchmark).
"""
from typing import Dict, List, Sequence, Tuple

from .robustness_report import summarize, write_robustness_report
from .sweep_report import write_report

#: One evaluated run: (variant, family, level, {metric: value}, examples).
Result = Tuple[str, str, object, Dict[str, float], list]


def write_benchmark_reports(results: Sequence[Result],
                            variants: Sequence[str],
                            sigmas: Sequence[float],
                            corruptions: Sequence[str],
                            severities: Sequence[int],
                            example_severities: Sequence[int],
                            aggregate: str,
                            metric: str,
                            metainfo: dict,
                            out_dir: str) -> Tuple[Dict[str, float], List[str]]:
    """Write the sweep's report (with ``sigmas``) and the benchmark's (with ``corruptions``).

    Args:
        results (Sequence[Result]): Every run's metrics and example images.
        variants (Sequence[str]): The variants in report order (``noisy`` first).
        sigmas, corruptions, severities: The noise settings that were evaluated.
        example_severities (Sequence[int]): Severities that get example grids.
        aggregate (str): Which corruptions mPC averages (see :mod:`.robustness_report`).
        metric (str): The benchmark's main metric (None: the first).
        metainfo (dict): The dataset's metainfo (class names, palette).
        out_dir (str): The report folder (exists).

    Returns:
        tuple: The flat metrics (``'<variant>/sigma<s>/<metric>'``,
        ``'<variant>/<corruption>/<severity>/<metric>'``, ``'<variant>/<P|mPC|rPC>/<metric>'``)
        and the reports' texts, to be logged.
    """
    flat: Dict[str, float] = {}
    texts = []
    if sigmas:
        rows, grids = [], {s: {} for s in sigmas}
        for name, family, level, metrics, examples in results:
            if family != 'gaussian':
                continue
            for sigma in (sigmas if level is None else [level]):  # clean: every sigma
                rows.append(dict(variant=name, sigma=sigma, **metrics))
                grids[sigma][name] = examples
                flat.update({f'{name}/sigma{sigma:g}/{k}': v for k, v in metrics.items()})
        order = ['clean', *variants]
        rows.sort(key=lambda r: (order.index(r['variant']), list(sigmas).index(r['sigma'])))
        texts.append(write_report(rows, grids, metainfo, out_dir))
    if corruptions:
        rows, grids = [], {}
        for name, family, level, metrics, examples in results:
            if family == 'gaussian':
                continue
            rows.append(dict(variant=name, noise=family, severity=level, **metrics))
            flat.update({f'{name}/{family}/{level}/{k}': v for k, v in metrics.items()})
            if family != 'clean' and level in example_severities:
                grids.setdefault(family, {}).setdefault(level, {})[name] = examples
        clean = next(ex for n, f, _, _, ex in results if f == 'clean' and n == 'noisy')
        for by_severity in grids.values():
            for by_variant in by_severity.values():
                by_variant['clean'] = clean
        texts.append(write_robustness_report(rows, grids, metainfo, out_dir, corruptions,
                                             severities, aggregate, metric))
        for name, by_metric in summarize(rows, corruptions, severities, aggregate).items():
            for metric_name, figures in by_metric.items():
                flat.update({f'{name}/{k}/{metric_name}': v for k, v in figures.items()})
    return flat, texts

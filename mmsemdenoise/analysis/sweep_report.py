"""Files of a noise sweep: Markdown table, CSV, metric-vs-sigma plots and example image grids
(figures, and the pixel grids of :func:`tile_grid` that the training visualisation hook writes).

Plots use matplotlib's object-oriented API on the Agg canvas (no pyplot, no display, no global
backend change).
"""
import csv
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from .formatting import column_decimals, format_number, new_figure

IMAGE_METRICS = ('denoise/psnr', 'denoise/ssim')
#: The task metric a summary leads with, in order of preference.
PREFERRED_METRICS = ('mIoU', 'accuracy/top1', 'clean_agreement/top1', 'clean_agreement/pixel')
#: Row keys that name a run rather than hold a metric (sweep rows and benchmark rows).
RUN_KEYS = ('variant', 'sigma', 'noise', 'severity')


def metric_columns(rows: Sequence[dict]) -> List[str]:
    """The metric keys of a sweep: the task metrics as the evaluator reported them, then PSNR/SSIM.

    Args:
        rows (Sequence[dict]): Sweep or benchmark rows (``variant``, ``sigma`` / ``noise``,
            ``severity``, then the metrics).

    Returns:
        list[str]: e.g. ``['aAcc', 'mIoU', 'mAcc', 'denoise/psnr', 'denoise/ssim']``.
    """
    keys: List[str] = []
    for row in rows:
        keys += [k for k in row if k not in RUN_KEYS and k not in keys]
    return [k for k in keys if k not in IMAGE_METRICS] + [k for k in IMAGE_METRICS if k in keys]


def main_metric(columns: Sequence[str]) -> str:
    """The metric the summary leads with: mIoU / top-1 when present, else the first one."""
    return next((m for m in PREFERRED_METRICS if m in columns), columns[0])


def add_recovered_fraction(rows: Sequence[dict], metric: str) -> str:
    """Add ``R/<metric>`` to every row: the share of the noise's damage a variant recovers.

    ``R = (m_variant - m_noisy) / (m_clean - m_noisy)`` at the row's sigma, with the ``clean``
    and ``noisy`` rows of the same sweep: 1 recovers all the damage, 0 none, < 0 makes it worse.
    NaN where clean and noisy do not differ by more than 1e-6 (sigma 0) or a reference row is
    missing.

    Args:
        rows (Sequence[dict]): Sweep rows (``variant``, ``sigma``, metrics), changed in place.
        metric (str): The task metric, e.g. ``'mIoU'``.

    Returns:
        str: The new column's name, ``f'R/{metric}'``.
    """
    column = f'R/{metric}'
    reference = {(row['variant'], float(row['sigma'])): row.get(metric) for row in rows}
    for row in rows:
        sigma = float(row['sigma'])
        clean, noisy = reference.get(('clean', sigma)), reference.get(('noisy', sigma))
        value = row.get(metric)
        if None in (clean, noisy, value) or abs(clean - noisy) <= 1e-6:
            row[column] = float('nan')
        else:
            row[column] = (value - noisy) / (clean - noisy)
    return column


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Format the rows as a Markdown table (``variant | sigma | metrics...``)."""
    header = ['variant', 'sigma', *columns]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    decimals = {c: column_decimals(rows, c) for c in columns}
    for row in rows:
        cells = [row['variant'], f'{row["sigma"]:g}'] + [
            format_number(row.get(c, float('nan')), decimals[c]) for c in columns]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_csv(rows: Sequence[dict], columns: Sequence[str], path: str) -> None:
    """Write the rows with full precision (``inf`` where PSNR is infinite)."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['variant', 'sigma', *columns])
        for row in rows:
            writer.writerow([row['variant'], f'{row["sigma"]:g}',
                             *[repr(float(row.get(c, float('nan')))) for c in columns]])


def plot_metric(rows: Sequence[dict], metric: str, path: str, title: str = '') -> None:
    """One line per variant: ``metric`` against sigma (``clean`` dashed; inf values left out).

    Args:
        rows (Sequence[dict]): The sweep rows.
        metric (str): A metric key of the rows.
        path (str): Output PNG.
        title (str): Figure title. Defaults to ''.
    """
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    for variant in dict.fromkeys(row['variant'] for row in rows):
        points = [(row['sigma'], float(row.get(metric, float('nan')))) for row in rows
                  if row['variant'] == variant]
        x, y = zip(*points)
        y = [v if math.isfinite(v) else float('nan') for v in y]
        ax.plot(x, y, '--' if variant == 'clean' else '-o', label=variant, markersize=4)
    ax.set_xlabel('Gaussian noise sigma (0-255)')
    ax.set_ylabel(metric)
    ax.set_title(title or f'{metric} vs noise level')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def colorize(mask: np.ndarray, palette: Optional[Sequence[Sequence[int]]]) -> np.ndarray:
    """Colour a label map with the dataset palette; labels outside it (255: ignored) are black.

    Args:
        mask (np.ndarray): (H, W) integer labels.
        palette (Sequence[Sequence[int]], optional): RGB colour of each class; None draws a
            fixed random one.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    if palette is None:
        palette = np.random.default_rng(0).integers(0, 256, (256, 3))
    colors = np.zeros((256, 3), np.uint8)
    palette = np.asarray(palette, np.uint8)[:256]
    colors[:len(palette)] = palette
    colors[255] = 0
    return colors[np.clip(mask, 0, 255).astype(np.int64)]


def _class_name(classes: Sequence[str], label: int) -> str:
    """The first synonym of a class name (ImageNet's are lists), at most 24 characters."""
    return classes[label].split(',')[0][:24] if 0 <= label < len(classes) else str(label)


def label_is_right(label: int, gt_label: Optional[int], clean_label: Optional[int]) -> bool:
    """Whether a predicted class counts as right in the grid: it equals the annotated class, or
    for unlabelled images the prediction on the clean image (True when neither is known)."""
    reference = gt_label if gt_label is not None else clean_label
    return reference is None or label == reference


def example_grid(examples: Dict[str, List[dict]],
                 metainfo: dict,
                 path: str,
                 title: str = '') -> None:
    """Grid of example images: noisy | each denoiser | clean; masks or labels under them.

    Predicted classes are green when they equal the annotated class (or, for unlabelled images,
    the prediction on the clean image), red otherwise.

    Args:
        examples (dict[str, list[dict]]): Variant -> examples (``ExampleCollector``); drawn in
            the order ``noisy``, the denoisers as given, ``clean``.
        metainfo (dict): The test dataset's metainfo (``classes``, ``palette``).
        path (str): Output PNG.
        title (str): Figure title. Defaults to ''.
    """
    order = ([v for v in ('noisy', ) if v in examples] +
             [v for v in examples if v not in ('noisy', 'clean')] +
             [v for v in ('clean', ) if v in examples])
    n_images = min(len(examples[v]) for v in order)
    if n_images == 0:
        return
    first = examples[order[0]][0]
    segmentation = first['pred_mask'] is not None
    classes = metainfo.get('classes') or ()
    n_cols = len(order) + (1 if segmentation else 0)
    rows_per_image = 2 if segmentation else 1
    height, width = first['image'].shape[:2]
    cell = 2.2
    fig = new_figure(cell * n_cols, cell * height / width * rows_per_image * n_images + 0.6)
    axes = fig.subplots(rows_per_image * n_images, n_cols, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for i in range(n_images):
        top = i * rows_per_image
        for j, variant in enumerate(order):
            example = examples[variant][i]
            ax = axes[top, j]
            ax.imshow(example['image'])
            if i == 0:
                ax.set_title(variant, fontsize=9)
            if segmentation:
                axes[top + 1, j].imshow(colorize(example['pred_mask'], metainfo.get('palette')),
                                        interpolation='nearest')
            elif example['pred_label'] is not None:
                label, gt_label = example['pred_label'], example['gt_label']
                text = f'pred: {_class_name(classes, label)}'
                if variant == 'clean' and gt_label is not None:
                    text += f' (gt: {_class_name(classes, gt_label)})'
                clean = examples['clean'][i]['pred_label'] if 'clean' in examples else None
                ok = label_is_right(label, gt_label, clean)
                ax.set_xlabel(text, fontsize=8, color='green' if ok else 'red')
        if segmentation and first['gt_mask'] is not None:
            gt = examples[order[-1]][i]['gt_mask']
            axes[top + 1, -1].imshow(colorize(gt, metainfo.get('palette')),
                                     interpolation='nearest')
            if i == 0:
                axes[top, -1].set_title('labels', fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


#: Height of the caption band under a row of :func:`tile_grid` for a classifier (pixels).
CAPTION_HEIGHT = 20


def tile_grid(examples: Sequence[dict], metainfo: dict) -> np.ndarray:
    """Pixel grid of examples, one row per image: noisy | denoised | clean, then the task's
    prediction.

    Unlike :func:`example_grid` the images are not resampled: each tile is the image at its own
    size, so a tile holds exactly the pixels the task model saw. Segmentation rows add the
    predicted and (when annotated) the labelled mask, coloured with the dataset palette
    (:func:`colorize`) and resized to the image with nearest-neighbour; classification rows get a
    caption band of :data:`CAPTION_HEIGHT` pixels under them with the predicted class, green when
    right (:func:`label_is_right`), red otherwise.

    Args:
        examples (Sequence[dict]): Examples from
            :func:`~mmsemdenoise.analysis.examples.example_of` (``noisy``, ``image``, ``clean``
            (H, W, 3) uint8 RGB; masks / labels or None).
        metainfo (dict): The dataset's metainfo (``classes``, ``palette``).

    Returns:
        np.ndarray: (sum of the row heights, widest row, 3) uint8 RGB; narrower rows (images of
        other sizes) are padded with black on the right.
    """
    if not examples:
        raise ValueError('tile_grid needs at least one example')
    classes = metainfo.get('classes') or ()
    rows = []
    for example in examples:
        tiles = [example[key] for key in ('noisy', 'image', 'clean')]
        missing = [key for key, tile in zip(('noisy', 'image', 'clean'), tiles) if tile is None]
        if missing:
            raise ValueError(f'tile_grid: example without {missing} (a DenoisingCascade '
                             'prediction has noisy_img, pred_img and gt_img)')
        height, width = tiles[0].shape[:2]
        for mask in (example['pred_mask'], example['gt_mask']):
            if mask is not None:
                color = colorize(mask, metainfo.get('palette'))
                tiles.append(cv2.resize(color, (width, height), interpolation=cv2.INTER_NEAREST))
        row = np.concatenate(tiles, axis=1)
        label = example['pred_label']
        if label is not None:
            text = f'pred: {_class_name(classes, label)}'
            if example['gt_label'] is not None:
                text += f' (gt: {_class_name(classes, example["gt_label"])})'
            ok = label_is_right(label, example['gt_label'], example.get('clean_label'))
            band = np.zeros((CAPTION_HEIGHT, row.shape[1], 3), np.uint8)
            cv2.putText(band, text, (2, CAPTION_HEIGHT - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 200, 0) if ok else (230, 0, 0), 1, cv2.LINE_AA)
            row = np.concatenate([row, band], axis=0)
        rows.append(row)
    widest = max(row.shape[1] for row in rows)
    return np.concatenate([np.pad(row, ((0, 0), (0, widest - row.shape[1]), (0, 0)))
                           for row in rows], axis=0)


def write_report(rows: Sequence[dict],
                 examples: Dict[float, Dict[str, List[dict]]],
                 metainfo: dict,
                 out_dir: str) -> str:
    """Write ``sweep.md``, ``sweep.csv``, ``sweep_<metric>.png`` and ``examples_sigma<s>.png``.

    The table and CSV add the recovered fraction ``R/<main task metric>`` (see
    :func:`add_recovered_fraction`) when the sweep has a task metric.

    Args:
        rows (Sequence[dict]): The sweep rows.
        examples (dict): ``examples[sigma][variant]`` from the sweep.
        metainfo (dict): The test dataset's metainfo.
        out_dir (str): Existing output folder.

    Returns:
        str: The Markdown table.
    """
    columns = metric_columns(rows)
    task = [c for c in columns if c not in IMAGE_METRICS]
    plotted = list(columns)
    if task:  # R after the task metrics, before PSNR/SSIM
        recovered = add_recovered_fraction(rows, main_metric(task))
        columns.insert(len(task), recovered)
    table = markdown_table(rows, columns)
    with open(osp.join(out_dir, 'sweep.md'), 'w') as f:
        f.write(table + '\n')
    write_csv(rows, columns, osp.join(out_dir, 'sweep.csv'))
    for metric in plotted:
        plot_metric(rows, metric, osp.join(out_dir, f'sweep_{metric.replace("/", "_")}.png'))
    for sigma, by_variant in examples.items():
        example_grid(by_variant, metainfo, osp.join(out_dir, f'examples_sigma{sigma:g}.png'),
                     title=f'Gaussian noise sigma = {sigma:g}')
    return table

"""Noise sweep: a cascade config evaluated at several Gaussian noise levels, one denoiser at a time.

For every sigma and every variant the config's test dataloader and test evaluator (the task
metric, e.g. mmseg's mIoU or mmpretrain's accuracy, plus PSNR/SSIM) score the cascade through
mmengine's :class:`~mmengine.runner.Runner` (``runner.test()``). Variants:

* ``clean``: sigma forced to 0, no denoiser (the task model's upper bound; evaluated once);
* ``noisy``: the noisy image straight into the task model (``denoiser=None``);
* a classical denoiser (:class:`~mmsemdenoise.models.denoisers.ClassicalDenoiser`, NLM or BM3D);
* each named checkpoint (a cascade checkpoint, keys ``denoiser.*``, or a bare denoiser one,
  loaded by :func:`~mmsemdenoise.apis.load_denoiser`).

Design: ONE Runner is built and its model's ``denoiser`` and ``test_noise`` modules are swapped
between runs of ``runner.test()`` (which re-runs the same test loop, evaluator and hooks). This
is the same evaluation as one ``Runner.from_cfg(cfg).test()`` per run -- same dataloader, same
metrics, same seeded per-image noise -- without rebuilding the dataset, the model and the log
files ``len(sigmas) * len(variants)`` times, and the frozen task model is loaded once, from one
task checkpoint, for every variant (a stage-2 checkpoint's own ``task_model.*`` copy is not
used: the task model is frozen, so it holds the same weights). The noise of an image is drawn
from a seed of its file name (:meth:`DenoisingCascade._image_seeds`), so every variant sees the
same noisy image at a given sigma, and the sigmas share one noise pattern, scaled.
"""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from tqdm import tqdm

from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.models.cascade import DenoisingCascade
from mmsemdenoise.models.denoisers.classical import ClassicalDenoiser
from mmsemdenoise.registry import MODELS

CASCADE_TYPES = ('DenoisingCascade', 'mmsemdenoise.DenoisingCascade')
RESERVED = ('clean', 'noisy')
#: One evaluated run: ``{'variant': str, 'sigma': float, <metric key>: float, ...}``.
Row = Dict[str, object]
#: One example image of a run (see :class:`ExampleCollector`).
Example = Dict[str, Optional[np.ndarray]]


def parse_variant(spec: str) -> Tuple[str, str, Optional[str]]:
    """Split ``NAME=CHECKPOINT[,CONFIG]`` and check that the files exist.

    Args:
        spec (str): e.g. ``'joint=work_dirs/x/iter_300.pth'``; the optional CONFIG builds the
            variant's denoiser (default: the sweep config's ``model.denoiser``).

    Returns:
        tuple: ``(name, checkpoint, config or None)``.

    Raises:
        ValueError: If the spec is malformed or the name is reserved.
        FileNotFoundError: If the checkpoint or the config does not exist.
    """
    name, sep, rest = spec.partition('=')
    if not sep or not name or not rest:
        raise ValueError(f'--variant must be NAME=CHECKPOINT[,CONFIG], got {spec!r}')
    checkpoint, _, config = rest.partition(',')
    if name in RESERVED:
        raise ValueError(f'--variant name {name!r} is reserved for a built-in variant {RESERVED}')
    for kind, path in (('checkpoint', checkpoint), ('config', config)):
        if path and '://' not in path and '::' not in path and not osp.isfile(path):
            raise FileNotFoundError(f'variant {name!r}: {kind} file not found: {path}')
    return name, checkpoint, config or None


def check_sigmas(sigmas: Sequence[float]) -> None:
    """Raise a clear error unless the sigmas are distinct, non-negative numbers."""
    if not sigmas or min(sigmas) < 0 or len(set(sigmas)) != len(sigmas):
        raise ValueError(f'--sigmas must be distinct values >= 0 (0-255 scale), got {list(sigmas)}')


def check_cascade_config(cfg: Config) -> None:
    """Raise a clear error unless ``cfg.model`` is a :class:`DenoisingCascade`."""
    model_type = cfg.get('model', {}).get('type')
    if model_type not in CASCADE_TYPES:
        raise TypeError(f'config {getattr(cfg, "filename", "")}: model.type is {model_type!r}; '
                        'the noise sweep needs a DenoisingCascade config (e.g. configs/cascade/)')


class ExampleCollector(Hook):
    """Keep the first ``num_images`` outputs of each test run, as numpy arrays.

    Each example holds ``image`` (H, W, 3) uint8 RGB (the denoised input of the task model),
    ``clean`` (the same for the clean image), and when the task model gives them ``pred_mask`` /
    ``gt_mask`` (h, w) int (mmseg) or ``pred_label`` / ``gt_label`` int (mmpretrain).

    Args:
        num_images (int): Examples to keep per run.
    """

    priority = 'LOWEST'

    def __init__(self, num_images: int) -> None:
        self.num_images = num_images
        self.examples: List[Example] = []

    def before_test_epoch(self, runner) -> None:
        self.examples = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            if len(self.examples) >= self.num_images:
                return
            self.examples.append(dict(
                image=_to_uint8(sample.get('pred_img')), clean=_to_uint8(sample.get('gt_img')),
                pred_mask=_mask(sample.get('pred_sem_seg')),
                gt_mask=_mask(sample.get('gt_sem_seg')),
                pred_label=_label(sample.get('pred_label')),
                gt_label=_label(sample.get('gt_label'))))


def _to_uint8(img) -> np.ndarray:
    return img.detach().float().clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()


def _mask(pixel_data) -> Optional[np.ndarray]:
    return None if pixel_data is None else pixel_data.data[0].detach().cpu().numpy()


def _label(label) -> Optional[int]:
    return None if label is None or label.numel() == 0 else int(label.flatten()[0])


def prepare_config(cfg: Config,
                   out_dir: str,
                   task_checkpoint: Optional[str] = None,
                   num_images: Optional[int] = None,
                   log_level: str = 'WARNING') -> Config:
    """A copy of a cascade config set up for test runs only (denoiser built separately).

    Args:
        cfg (Config): The cascade config, ``--cfg-options`` applied.
        out_dir (str): The sweep's output folder; the Runner logs to ``out_dir/runner``.
        task_checkpoint (str, optional): Overrides ``model.task_checkpoint``. Defaults to None.
        num_images (int, optional): Evaluate only the first N test images. Defaults to None.
        log_level (str): The Runner's log level. Defaults to 'WARNING'.

    Returns:
        Config: A test-only config whose ``model.denoiser`` is None.

    Raises:
        TypeError: If the model is not a DenoisingCascade.
        FileNotFoundError: If the task model's checkpoint is missing.
        ValueError: If ``num_images`` is given for a wrapped (e.g. concatenated) dataset.
    """
    check_cascade_config(cfg)
    cfg = copy.deepcopy(cfg)
    if task_checkpoint is not None:
        cfg.model.task_checkpoint = task_checkpoint
    ckpt = cfg.model.get('task_checkpoint')
    if cfg.model.get('task_model') is not None and (
            not ckpt or ('://' not in ckpt and not osp.isfile(ckpt))):
        raise FileNotFoundError(f'task checkpoint not found: {ckpt!r} (pass --task-checkpoint)')
    if cfg.get('test_dataloader') is None:  # fall back to the validation set-up
        cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
    cfg.test_cfg = cfg.get('test_cfg') or dict(type='TestLoop')
    if num_images is not None:
        if 'datasets' in cfg.test_dataloader.dataset or 'dataset' in cfg.test_dataloader.dataset:
            raise ValueError(
                f'--num-images needs a plain dataset (it sets `indices`); the test dataset is a '
                f'{cfg.test_dataloader.dataset.get("type")} wrapper: set `indices` on its parts '
                'with --cfg-options instead, e.g. test_dataloader.dataset.datasets.0.indices=N')
        cfg.test_dataloader.dataset.indices = num_images
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
                'val_dataloader', 'val_cfg', 'val_evaluator', 'load_from'):
        cfg[key] = None
    cfg.resume = False
    cfg.model.denoiser = None
    cfg.work_dir = osp.join(out_dir, 'runner')
    cfg.log_level = log_level
    return cfg


def build_variants(cfg: Config,
                   variants: Sequence[str],
                   classical: Optional[str] = 'nlm') -> Dict[str, Optional[nn.Module]]:
    """The denoiser of every non-clean variant, in sweep order (``noisy`` first).

    Args:
        cfg (Config): The cascade config (its ``model.denoiser`` builds checkpoint variants).
        variants (Sequence[str]): ``NAME=CHECKPOINT[,CONFIG]`` specs.
        classical (str, optional): ``'nlm'``, ``'bm3d'``, or None/``'none'`` for no classical
            baseline. Defaults to 'nlm'.

    Returns:
        dict[str, nn.Module | None]: Name -> denoiser in eval mode (``noisy`` -> None).
    """
    denoisers: Dict[str, Optional[nn.Module]] = {'noisy': None}
    if classical not in (None, 'none'):
        denoisers[classical] = ClassicalDenoiser(classical).eval()
    for spec in variants:
        name, checkpoint, config = parse_variant(spec)
        if name in denoisers:
            raise ValueError(f'variant name {name!r} is used twice')
        denoisers[name] = load_denoiser(Config.fromfile(config) if config else cfg, checkpoint)
    return denoisers


def _scalars(metrics: dict) -> Dict[str, float]:
    """The evaluator's numbers (per-class tables and other non-scalars are left out)."""
    return {key: float(value) for key, value in metrics.items()
            if np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number)}


def _set(model: DenoisingCascade, denoiser: Optional[nn.Module], sigma: float) -> None:
    if denoiser is not None:
        device = next(model.parameters(), None)
        device = device.device if device is not None else 'cpu'
        denoiser = denoiser.to(device).to(memory_format=model.memory_format)
    model.denoiser = denoiser
    model.test_noise = MODELS.build(dict(type='GaussianNoise', sigma=sigma))


def run_sweep(cfg: Config,
              denoisers: Dict[str, Optional[nn.Module]],
              sigmas: Sequence[float],
              num_examples: int = 3,
              progress: bool = True) -> Tuple[List[Row], Dict[float, Dict[str, List[Example]]],
                                              dict]:
    """Evaluate every (variant, sigma), plus ``clean`` once.

    Args:
        cfg (Config): From :func:`prepare_config`.
        denoisers (dict): From :func:`build_variants`.
        sigmas (Sequence[float]): Noise levels on the 0-255 scale.
        num_examples (int): Example images kept per run. Defaults to 3.
        progress (bool): Show a tqdm bar. Defaults to True.

    Returns:
        tuple: ``rows`` (one per variant and sigma, ``clean`` first, its values repeated for
        every sigma), ``examples[sigma][variant]`` and the test dataset's ``metainfo``.
    """
    check_sigmas(sigmas)
    runner = Runner.from_cfg(cfg)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not isinstance(model, DenoisingCascade):
        raise TypeError(f'the noise sweep needs a DenoisingCascade, got {type(model).__name__}')
    model.init_weights()  # loads the frozen task model (there is no denoiser yet)
    collector = ExampleCollector(num_examples)
    runner.register_hook(collector)
    runs = [('clean', None)] + [(name, s) for s in sigmas for name in denoisers]
    rows: List[Row] = []
    examples: Dict[float, Dict[str, List[Example]]] = {float(s): {} for s in sigmas}
    bar = tqdm(runs, desc='noise sweep', unit='run', disable=not progress)
    for name, sigma in bar:
        bar.set_postfix(variant=name, sigma='0 (clean)' if sigma is None else sigma)
        _set(model, denoisers.get(name), 0.0 if sigma is None else float(sigma))
        metrics = runner.test()
        targets = sigmas if sigma is None else [sigma]  # clean: the same for every sigma
        for s in targets:
            rows.append(dict(variant=name, sigma=float(s), **_scalars(metrics)))
            examples[float(s)][name] = collector.examples
    order = ['clean', *denoisers]
    levels = [float(s) for s in sigmas]
    rows.sort(key=lambda row: (order.index(row['variant']), levels.index(row['sigma'])))
    return rows, examples, dict(runner.test_dataloader.dataset.metainfo)

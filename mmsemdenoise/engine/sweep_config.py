"""Noise sweep set-up: a cascade config turned into a test-only run of :class:`RobustnessTestLoop`,
and the checks of the sweep's arguments, which the loop runs too (one owner, one message each).

The sweep itself is the registered test loop
:class:`~mmsemdenoise.engine.RobustnessTestLoop` (``test_cfg=dict(type='RobustnessTestLoop',
...)``): for every noise setting and every variant it runs mmengine's test epoch with the config's
test dataloader and evaluator (the task metric, e.g. mmseg's mIoU or mmpretrain's accuracy, plus
PSNR/SSIM). Variants:

* ``clean``: no noise, no denoiser (the task model's upper bound; evaluated once);
* ``noisy``: the noisy image straight into the task model (no denoiser);
* a classical denoiser (:class:`~mmsemdenoise.models.denoisers.ClassicalDenoiser`, NLM or BM3D);
* each named checkpoint, ``{name: checkpoint}`` (a cascade checkpoint, keys ``denoiser.*``, or
  a bare denoiser one, loaded by :func:`~mmsemdenoise.apis.load_denoiser`), built with the
  architecture it carries (the command line's ``NAME=CHECKPOINT`` is parsed once, by
  :func:`parse_variants`).

The frozen task model is loaded once, from one task checkpoint, for every variant (a stage-2
checkpoint's own ``task_model.*`` copy is not used: the task model is frozen, so it holds the same
weights). The noise of an image is drawn from a seed of its file name, so every variant sees the
same noisy image at a given setting, and the sigmas share one noise pattern, scaled.

This module holds what ``tools/analysis/noise_sweep.py`` and ``tools/demo.py`` need around the
loop (:func:`prepare_config`) and the argument checks they share with it. It sits beside the loop
in ``engine``, below ``apis`` (``.importlinter``); the report writers are in
:mod:`mmsemdenoise.analysis`.
"""
import copy
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from mmsemdenoise.analysis.robustness_report import corruptions_in_mpc
from mmsemdenoise.models.denoisers.classical import ClassicalDenoiser
from mmsemdenoise.models.noise import NOISE_CORRUPTIONS
from mmsemdenoise.utils.model_zoo import is_shipped_name

CASCADE_TYPES = ('DenoisingCascade', 'mmsemdenoise.DenoisingCascade')
#: Names of the built-in variants, which a named checkpoint cannot take.
RESERVED = ('clean', 'noisy')


def parse_variants(specs: Sequence[str]) -> Dict[str, str]:
    """The command line's ``NAME=CHECKPOINT`` specs as ``{name: checkpoint}``, checked.

    Args:
        specs (Sequence[str]): e.g. ``['joint=work_dirs/x/iter_300.pth']``. A checkpoint
            carries its denoiser's architecture (see :class:`RobustnessTestLoop`).

    Returns:
        dict: ``{name: checkpoint}`` in the order given.

    Raises:
        ValueError: If a spec is malformed, or a name is reserved or given twice.
        FileNotFoundError: If a checkpoint does not exist.
    """
    variants: Dict[str, str] = {}
    for spec in specs:
        name, sep, checkpoint = spec.partition('=')
        if not sep or not name or not checkpoint:
            raise ValueError(f'--variant must be NAME=CHECKPOINT, got {spec!r}')
        if ',' in checkpoint and not osp.exists(checkpoint):
            raise ValueError(f'--variant {spec!r}: NAME=CHECKPOINT takes no ,CONFIG any more '
                             '(a checkpoint carries its architecture)')
        check_variant(name, checkpoint, taken=list(variants))
        variants[name] = checkpoint
    return variants


def check_variant(name: str, checkpoint: Optional[str], taken: Sequence[str] = ()) -> None:
    """Raise a clear error unless a variant's name is free and its checkpoint exists.

    Args:
        name (str): The variant's name.
        checkpoint (str, optional): Its checkpoint: a path, a work dir, a URL or a shipped name.
        taken (Sequence[str]): Names of the variants before it. Defaults to ().

    Raises:
        ValueError: If the name is reserved (:data:`RESERVED`) or taken.
        FileNotFoundError: If a local checkpoint does not exist.
    """
    if name in RESERVED:
        raise ValueError(f'variant name {name!r} is reserved for a built-in variant {RESERVED}')
    if name in taken:
        raise ValueError(f'variant name {name!r} is used twice')
    if checkpoint and '://' not in checkpoint and not osp.exists(checkpoint) \
            and not is_shipped_name(checkpoint):
        raise FileNotFoundError(f'variant {name!r}: checkpoint file not found: {checkpoint}')


def check_sigmas(sigmas: Sequence[float], option: str = '--sigmas') -> None:
    """Raise a clear error unless the sigmas are distinct, non-negative numbers.

    Args:
        sigmas (Sequence[float]): Gaussian noise levels (0-255 scale).
        option (str): What the message calls them: the command line's option or the config
            key. Defaults to '--sigmas'.
    """
    if not sigmas or min(sigmas) < 0 or len(set(sigmas)) != len(sigmas):
        raise ValueError(f'{option} must be distinct values >= 0 (0-255 scale), got '
                         f'{list(sigmas)}')


def check_noise_settings(sigmas: Optional[Sequence[float]],
                         corruptions: Optional[Sequence[str]],
                         severities: Sequence[int],
                         aggregate: str) -> Tuple[List[float], List[str], List[int]]:
    """The noise settings of an evaluation, checked (``test_cfg`` keys in the messages).

    Args:
        sigmas (Sequence[float], optional): Gaussian noise levels (0-255 scale).
        corruptions (Sequence[str], optional): Noise corruptions; with neither, the four of
            :data:`~mmsemdenoise.models.noise.NOISE_CORRUPTIONS`.
        severities (Sequence[int]): Corruption severities, in 1..5.
        aggregate (str): Which corruptions mPC averages (``'benchmark'`` or ``'all'``).

    Returns:
        tuple: ``(sigmas, corruptions, severities)`` as lists of float, str, int.
    """
    if sigmas is None and corruptions is None:
        corruptions = list(NOISE_CORRUPTIONS)
    if sigmas is not None:
        check_sigmas(sigmas, 'test_cfg.sigmas')
    corruptions = list(corruptions or [])
    unknown = [c for c in corruptions if c not in NOISE_CORRUPTIONS]
    if unknown:
        raise ValueError(f'test_cfg.corruptions: unknown {unknown}; '
                         f'known: {list(NOISE_CORRUPTIONS)}')
    checked = [int(s) for s in severities]
    if not checked or not set(checked) <= {1, 2, 3, 4, 5}:
        raise ValueError(f'test_cfg.severities must lie in 1..5, got {list(severities)}')
    corruptions_in_mpc(corruptions, aggregate)  # checks `aggregate`
    return [float(s) for s in sigmas or []], corruptions, checked


def check_inference_dtype(name: Optional[str]) -> Optional[torch.dtype]:
    """``test_cfg.inference_dtype`` as a torch dtype (None stays None)."""
    if name is None:
        return None
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"test_cfg.inference_dtype must name a torch dtype, e.g. 'bfloat16', "
                         f'got {name!r}')
    return dtype


def check_cascade_config(cfg: Config) -> None:
    """Raise a clear error unless ``cfg.model`` is a :class:`DenoisingCascade`."""
    model_type = cfg.get('model', {}).get('type')
    if model_type not in CASCADE_TYPES:
        raise TypeError(f'config {getattr(cfg, "filename", "")}: model.type is {model_type!r}; '
                        'the noise sweep needs a DenoisingCascade config (e.g. configs/cascade/)')


def prepare_config(cfg: Config,
                   out_dir: str,
                   task_checkpoint: Optional[str] = None,
                   num_images: Optional[int] = None,
                   log_level: str = 'WARNING',
                   sigmas: Optional[Sequence[float]] = (0, 15, 30, 45, 60),
                   variants: Optional[Mapping[str, str]] = None,
                   classical: Optional[str] = 'nlm',
                   num_examples: int = 3,
                   corruptions: Optional[Sequence[str]] = None,
                   severities: Sequence[int] = (1, 2, 3, 4, 5),
                   progress: bool = False,
                   inference_dtype: Optional[str] = None) -> Config:
    """A copy of a cascade config set up for the sweep only (``RobustnessTestLoop``).

    Args:
        cfg (Config): The cascade config, ``--cfg-options`` applied.
        out_dir (str): The sweep's output folder; the Runner logs to ``out_dir/runner``.
        task_checkpoint (str, optional): Overrides ``model.task_checkpoint``. Defaults to None.
        num_images (int, optional): Evaluate only the first N test images. Defaults to None.
        log_level (str): The Runner's log level. Defaults to 'WARNING'.
        sigmas (Sequence[float], optional): Gaussian noise levels (0-255); None: no Gaussian
            sweep. Defaults to (0, 15, 30, 45, 60).
        variants (Mapping[str, str], optional): ``{name: checkpoint}``; each checkpoint
            carries its denoiser's architecture (one that carries none is built as the
            config's ``model.denoiser``, if it declares one). Defaults to None.
        classical (str, optional): ``'nlm'``, ``'bm3d'`` or None/``'none'``. Defaults to 'nlm'.
        num_examples (int): Images per example grid. Defaults to 3.
        corruptions (Sequence[str], optional): Noise corruptions of the benchmark. Defaults to
            None.
        severities (Sequence[int]): Their severities. Defaults to (1, 2, 3, 4, 5).
        progress (bool): Progress bar over the runs. Defaults to False.
        inference_dtype (str, optional): Autocast dtype of the learned denoisers, e.g.
            ``'bfloat16'``. Defaults to None (float32).

    Returns:
        Config: A test-only config. The model builds no denoiser of its own: its
        ``model.denoiser`` declaration, if any, goes to ``test_cfg.denoiser``.

    Raises:
        TypeError: If the model is not a DenoisingCascade.
        FileNotFoundError: If the task model's checkpoint or a variant's file is missing.
        ValueError: If an argument is malformed, or ``num_images`` is given for a wrapped
            (e.g. concatenated) dataset.
    """
    check_cascade_config(cfg)
    if sigmas is not None:
        check_sigmas(sigmas)
    if classical not in (None, 'none'):
        ClassicalDenoiser(classical)  # an unknown method fails here, before anything is built
    named: Dict[str, str] = {}
    for name, checkpoint in (variants or {}).items():
        check_variant(name, checkpoint, taken=list(named))
        named[name] = checkpoint
    cfg = copy.deepcopy(cfg)
    if task_checkpoint is not None:
        cfg.model.task_checkpoint = task_checkpoint
    ckpt = cfg.model.get('task_checkpoint')
    if cfg.model.get('task_model') is not None and (
            not ckpt or ('://' not in ckpt and not osp.isfile(ckpt))):
        raise FileNotFoundError(f'task checkpoint not found: {ckpt!r} (pass --task-checkpoint)')
    if cfg.get('test_dataloader') is None:  # fall back to the validation set-up
        cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
    if num_images is not None:
        if 'datasets' in cfg.test_dataloader.dataset or 'dataset' in cfg.test_dataloader.dataset:
            raise ValueError(
                f'--num-images needs a plain dataset (it sets `indices`); the test dataset is a '
                f'{cfg.test_dataloader.dataset.get("type")} wrapper: set `indices` on its parts '
                'with --cfg-options instead, e.g. test_dataloader.dataset.datasets.0.indices=N')
        cfg.test_dataloader.dataset.indices = num_images
    declared = cfg.model.get('denoiser')
    cfg.test_cfg = dict(type='RobustnessTestLoop', sigmas=None if sigmas is None else list(sigmas),
                        corruptions=None if corruptions is None else list(corruptions),
                        severities=list(severities), variants=named, checkpoint_variant=None,
                        classical=classical, load_task_checkpoint=True,
                        num_examples=num_examples, out_dir=out_dir, progress=progress,
                        inference_dtype=inference_dtype,
                        denoiser=None if not declared else
                        {k: v for k, v in declared.items() if k != 'init_cfg'})
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
                'val_dataloader', 'val_cfg', 'val_evaluator', 'load_from'):
        cfg[key] = None
    cfg.resume = False
    cfg.model.denoiser = cfg.model.denoiser_checkpoint = None  # every denoiser is a variant
    cfg.work_dir = osp.join(out_dir, 'runner')
    cfg.log_level = log_level
    return cfg

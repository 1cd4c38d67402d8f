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
* each named checkpoint (a cascade checkpoint, keys ``denoiser.*``, or a bare denoiser one,
  loaded by :func:`~mmsemdenoise.apis.load_denoiser`).

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
from typing import Optional, Sequence, Tuple

from mmengine.config import Config

from mmsemdenoise.models.denoisers.classical import ClassicalDenoiser
from mmsemdenoise.utils.model_zoo import is_shipped_name

CASCADE_TYPES = ('DenoisingCascade', 'mmsemdenoise.DenoisingCascade')
#: Names of the built-in variants, which a named checkpoint cannot take.
RESERVED = ('clean', 'noisy')


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
    check_variant(name, checkpoint, config or None)
    return name, checkpoint, config or None


def check_variant(name: str,
                  checkpoint: Optional[str],
                  config: Optional[str] = None,
                  taken: Sequence[str] = ()) -> None:
    """Raise a clear error unless a variant's name is free and its files exist.

    Args:
        name (str): The variant's name.
        checkpoint (str, optional): Its checkpoint: a path, a URL or a shipped name.
        config (str, optional): The config that builds its denoiser. Defaults to None.
        taken (Sequence[str]): Names of the variants before it. Defaults to ().

    Raises:
        ValueError: If the name is reserved (:data:`RESERVED`) or taken.
        FileNotFoundError: If a local file does not exist.
    """
    if name in RESERVED:
        raise ValueError(f'variant name {name!r} is reserved for a built-in variant {RESERVED}')
    if name in taken:
        raise ValueError(f'variant name {name!r} is used twice')
    for kind, path in (('checkpoint', checkpoint), ('config', config)):
        if path and '://' not in path and '::' not in path and not osp.isfile(path) \
                and not is_shipped_name(path):
            raise FileNotFoundError(f'variant {name!r}: {kind} file not found: {path}')


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
                   variants: Sequence[str] = (),
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
        variants (Sequence[str]): ``NAME=CHECKPOINT[,CONFIG]`` specs. Defaults to ().
        classical (str, optional): ``'nlm'``, ``'bm3d'`` or None/``'none'``. Defaults to 'nlm'.
        num_examples (int): Images per example grid. Defaults to 3.
        corruptions (Sequence[str], optional): Noise corruptions of the benchmark. Defaults to
            None.
        severities (Sequence[int]): Their severities. Defaults to (1, 2, 3, 4, 5).
        progress (bool): Progress bar over the runs. Defaults to False.
        inference_dtype (str, optional): Autocast dtype of the learned denoisers, e.g.
            ``'bfloat16'``. Defaults to None (float32).

    Returns:
        Config: A test-only config; the model's own (unloaded) denoiser is not a variant.

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
    named = {}
    for spec in variants:
        name, checkpoint, config = parse_variant(spec)
        check_variant(name, checkpoint, config, taken=list(named))
        named[name] = dict(checkpoint=checkpoint, config=config)
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
    cfg.test_cfg = dict(type='RobustnessTestLoop', sigmas=None if sigmas is None else list(sigmas),
                        corruptions=None if corruptions is None else list(corruptions),
                        severities=list(severities), variants=named, checkpoint_variant=None,
                        classical=classical, load_task_checkpoint=True,
                        num_examples=num_examples, out_dir=out_dir, progress=progress,
                        inference_dtype=inference_dtype)
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
                'val_dataloader', 'val_cfg', 'val_evaluator', 'load_from'):
        cfg[key] = None
    cfg.resume = False
    if cfg.model.get('denoiser') is not None:  # built (the loop swaps it out), never loaded
        cfg.model.denoiser = {k: v for k, v in cfg.model.denoiser.items() if k != 'init_cfg'}
    cfg.model.denoiser_checkpoint = None
    cfg.work_dir = osp.join(out_dir, 'runner')
    cfg.log_level = log_level
    return cfg

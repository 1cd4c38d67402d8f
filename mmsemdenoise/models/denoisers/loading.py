"""Build a denoiser from its checkpoint (which carries its architecture), a config or a shipped
name, and load its weights: what the noise sweep's loop and the user APIs
(:mod:`mmsemdenoise.apis`, which re-exports these) load denoisers with.

Below ``engine`` and ``apis`` (``.importlinter``), so the test loop need not import the APIs.
"""
import os.path as osp
from typing import Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn as fold_conv_bn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.model_zoo import SCHEME, is_shipped_name, shipped_config
from mmsemdenoise.utils.weights import load_weights
from .architecture import resolve_architecture


def resolve_config(config: str) -> str:
    """A config file as given, or the config of a shipped name (``mmsemdenoise://`` optional).

    Raises:
        FileNotFoundError: If ``config`` is neither a file, a ``pkg::`` config nor shipped.
    """
    if osp.isfile(config) or '::' in config:
        return config
    if is_shipped_name(config):
        return shipped_config(config)
    raise FileNotFoundError(f'config file not found: {config} (nor is it a shipped name '
                            f'{SCHEME}<name>)')


def load_denoiser(config: Union[str, Config, dict, None] = None,
                  checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu',
                  fuse_conv_bn: bool = False,
                  trust_checkpoint: bool = False) -> nn.Module:
    """Build a denoiser and load its weights, in eval mode.

    The architecture comes from the checkpoint itself (:func:`carried_architecture`: a shipped
    name's metafile config, a converter's ``meta['model_cfg']``, or the run's config mmengine
    wrote into the file); ``config`` may state it too, and is then checked against it.

    Args:
        config (str | Config | dict, optional): The architecture, explicitly: a config whose
            ``model`` is a :class:`DenoisingCascade` (its ``model.denoiser``; if it declares
            none, the architecture of its ``model.denoiser_checkpoint``), a denoiser config
            ``dict(type=...)``, or a shipped name (its metafile's config, and its weights unless
            ``checkpoint`` is given). None: the checkpoint's own. Defaults to None.
        checkpoint (str, optional): A cascade checkpoint (keys ``denoiser.*`` are taken), a
            bare denoiser checkpoint such as ``tools/convert_matlab_weights.py`` writes, a run's
            work dir, or a shipped name (``mmsemdenoise://three-scale_blind_bsd400``); loaded
            strictly. None keeps the config's initialisation. Defaults to None.
        device (str | torch.device): Where to put the network. Defaults to 'cpu'.
        fuse_conv_bn (bool): Fold each batch norm into the convolution before it
            (:func:`fuse_batch_norms`): the same outputs up to float rounding, faster; for
            inference only. Defaults to False.
        trust_checkpoint (bool): Load a local ``checkpoint`` that needs classes outside the
            allowlist with ``weights_only=False`` (unpickling can run code: only for files
            you trust). Defaults to False.

    Returns:
        nn.Module: The denoiser, ``forward(noisy (N,3,H,W) in [0,1], noise_level (N,) or None)``.

    Raises:
        KeyError: If the config has no ``model.denoiser`` nor ``model.denoiser_checkpoint``,
            or the checkpoint does not fit (:class:`~mmsemdenoise.utils.CheckpointMismatchError`,
            naming the keys).
        ValueError: If neither names an architecture, or the config's contradicts the
            checkpoint's (naming both).
        FileNotFoundError: If the config or the checkpoint is missing.
        UntrustedCheckpointError: If the checkpoint needs classes outside the allowlist and
            ``trust_checkpoint`` is False.
    """
    if isinstance(config, str) and not osp.isfile(config) and is_shipped_name(config):
        checkpoint = config if checkpoint is None else checkpoint
        config = shipped_config(config)
    if checkpoint is not None and is_shipped_name(checkpoint) and '://' not in checkpoint:
        checkpoint = SCHEME + checkpoint  # a bare shipped name
    scope, explicit, source = 'mmsemdenoise', None, checkpoint
    if isinstance(config, dict) and not isinstance(config, Config) and 'model' not in config:
        explicit = dict(config)
    elif config is not None:
        cfg = Config.fromfile(resolve_config(config)) if isinstance(config, str) else config
        model = cfg.get('model') or {}
        explicit = model.get('denoiser')
        source = checkpoint if checkpoint is not None else model.get('denoiser_checkpoint')
        if not explicit and not source:
            raise KeyError(f'config {getattr(cfg, "filename", "")}: no model.denoiser to build '
                           '(nor a model.denoiser_checkpoint to take it from)')
        scope = cfg.get('default_scope', scope)
    elif checkpoint is None:
        raise ValueError('load_denoiser: give a checkpoint (it carries its architecture) '
                         'or a config')
    init_default_scope(scope)
    if explicit and checkpoint is None:
        denoiser_cfg = dict(explicit)
    else:
        denoiser_cfg = resolve_architecture(explicit, source, trust_checkpoint, 'load_denoiser')
    denoiser_cfg.pop('init_cfg', None)
    denoiser = MODELS.build(denoiser_cfg)
    if checkpoint is not None:
        load_weights(denoiser, checkpoint, prefix='denoiser.', name='denoiser',
                     trust=trust_checkpoint)
    denoiser = denoiser.to(device).eval()
    return fuse_batch_norms(denoiser) if fuse_conv_bn else denoiser


def fuse_batch_norms(denoiser: nn.Module) -> nn.Module:
    """Fold every eval-mode batch norm into the convolution in front of it, in place.

    ``BN(conv(x)) = conv'(x)`` with ``w' = w * g / sqrt(var + eps)`` per output channel and
    ``b' = (b - mean) * g / sqrt(var + eps) + beta`` (mmcv's ``fuse_conv_bn``; the batch norms
    become ``nn.Identity``). The outputs stay equal up to float rounding (~1e-7 in float32) and
    inference gets faster (one pass over each feature map less; docs/benchmarks.md). The result
    is for inference only: it no longer trains like the original, and its state dict lacks the
    batch-norm keys of the config's model. Meant for float32: under bfloat16 autocast the folded
    weights carry the batch norms' scales into the rounding, and PSNR moves ~5x more than with
    bfloat16 alone (-0.010 vs -0.002 dB at sigma 0; benchmarks/inference_precision.py). Works
    for the denoisers of :mod:`mmsemdenoise.models.denoisers` (each batch norm directly follows
    its convolution).

    Args:
        denoiser (nn.Module): A denoiser in eval mode.

    Returns:
        nn.Module: ``denoiser`` itself, folded.

    Raises:
        ValueError: If ``denoiser`` is in training mode (its batch norms normalise with batch
            statistics there, which no fixed convolution reproduces).
    """
    if denoiser.training:
        raise ValueError(f'fuse_batch_norms: {type(denoiser).__name__} is in training mode; '
                         'folding batch norms is for inference, call .eval() first')
    return fold_conv_bn(denoiser)

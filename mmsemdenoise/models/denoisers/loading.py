"""Build a denoiser from a config (or a shipped name) and load its weights: what the noise sweep's
loop and the user APIs (:mod:`mmsemdenoise.apis`, which re-exports these) load denoisers with.

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


def load_denoiser(config: Union[str, Config, None],
                  checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu',
                  fuse_conv_bn: bool = False,
                  trust_checkpoint: bool = False) -> nn.Module:
    """Build ``model.denoiser`` of a config and load its weights, in eval mode.

    Args:
        config (str | Config, optional): A config whose ``model`` is a
            :class:`DenoisingCascade`, or a shipped name (its metafile's config, and its weights
            unless ``checkpoint`` is given). None: ``checkpoint`` must be a shipped name, whose
            config is used.
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
        KeyError: If the config has no ``model.denoiser`` or the checkpoint does not fit
            (:class:`~mmsemdenoise.utils.CheckpointMismatchError`, naming the keys).
        ValueError: If neither a config nor a shipped checkpoint name is given.
        UntrustedCheckpointError: If the checkpoint needs classes outside the allowlist and
            ``trust_checkpoint`` is False.
    """
    if config is None:
        if checkpoint is None or not is_shipped_name(checkpoint):
            raise ValueError(f'load_denoiser: without a config the checkpoint must be a shipped '
                             f'name ({SCHEME}<name>, whose metafile names the config); got '
                             f'{checkpoint!r}')
        config = shipped_config(checkpoint)
    elif isinstance(config, str) and not osp.isfile(config) and is_shipped_name(config):
        checkpoint = config if checkpoint is None else checkpoint
        config = shipped_config(config)
    if checkpoint is not None and is_shipped_name(checkpoint) and '://' not in checkpoint:
        checkpoint = SCHEME + checkpoint  # a bare shipped name
    cfg = Config.fromfile(resolve_config(config)) if isinstance(config, str) else config
    denoiser_cfg = cfg.get('model', {}).get('denoiser')
    if not denoiser_cfg:
        raise KeyError(f'config {getattr(cfg, "filename", "")}: no model.denoiser to build')
    init_default_scope(cfg.get('default_scope', 'mmsemdenoise'))
    denoiser_cfg = dict(denoiser_cfg)
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

"""No metric for weights that were not loaded: the checkpoint of an evaluation against the model.

mmengine's ``Runner.test`` loads ``load_from`` with ``strict=False`` and only warns about keys
that "do not match exactly", and it never calls ``init_weights``, so a cascade's
``task_checkpoint`` is not loaded: a stage-1 checkpoint (denoiser keys only) is evaluated with a
randomly initialised task model, and a checkpoint of another architecture with mostly random
weights, both with exit status 0.

:func:`fit_checkpoint`, called by ``tools/test.py`` after the Runner has built the model and
before any data is loaded, closes both holes:

* a part (a cascade's ``task_model`` / ``denoiser``, the denoiser of a
  ``DenoisingDataPreprocessor`` in front of an unchanged task model) whose keys the checkpoint
  lacks gets its weights from its config argument (``task_checkpoint`` /
  ``denoiser_checkpoint``), loaded strictly (a missing file is an error naming it);
* every key of the model that is still missing from the checkpoint, or has another shape there,
  is named in a :class:`~mmsemdenoise.utils.CheckpointMismatchError` (``strict``, the default)
  or in a warning (``strict=False``, ``--non-strict``). Keys the model does not have are only
  logged.

Before that, :func:`architecture_for_evaluation` lets a stage-2 config build its denoiser when
the stage-1 file its ``denoiser_checkpoint`` names (the source of the architecture) is not there:
the evaluated checkpoint carries the architecture too, and the denoiser's weights come from it.
"""
import logging
import zipfile
from typing import Dict, List, Mapping, Optional

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from mmsemdenoise.models.denoisers.architecture import carried_architecture
from mmsemdenoise.utils.checkpoint import load_checkpoint_file
from mmsemdenoise.utils.model_zoo import is_shipped_name
from mmsemdenoise.utils.weights import (CheckpointMismatchError, LoadReport, load_weights,
                                        resolve_checkpoint, state_dict_of)

#: Parts of a cascade and the config argument that holds their own weights.
PART_CHECKPOINTS = (('task_model', 'task_checkpoint'), ('denoiser', 'denoiser_checkpoint'))


def architecture_for_evaluation(cfg: Config, checkpoint: str,
                                trust: bool = False) -> Optional[dict]:
    """Take the denoiser's architecture from the evaluated checkpoint when the config's source of
    it is not there; ``cfg.model.denoiser`` is set to it.

    A config that declares no ``model.denoiser`` builds the denoiser with the architecture its
    ``model.denoiser_checkpoint`` carries (a stage-2 config names its stage-1 run). Evaluation
    loads no weights from that file (the checkpoint has the denoiser's), so on a machine that has
    the stage-2 checkpoint but not the stage-1 run, the architecture ``checkpoint`` carries is
    used (``meta['model_cfg']``, written by :class:`~mmsemdenoise.engine.DenoiserArchitectureHook`,
    or a shipped name's metafile config).

    Args:
        cfg (Config): The run's config (``--cfg-options`` applied); changed in place.
        checkpoint (str): The checkpoint to evaluate (a file, URL or shipped name).
        trust (bool): Read files that need classes outside the allowlist
            (``--trust-checkpoint``). Defaults to False.

    Returns:
        dict, optional: The architecture now in ``cfg.model.denoiser``; None when nothing was
        needed (the config declares a denoiser or names no local ``denoiser_checkpoint``, or
        that file is there).

    Raises:
        FileNotFoundError: If the ``denoiser_checkpoint`` is missing and ``checkpoint`` carries
            no architecture either (one line naming both and what to add).
    """
    model = cfg.get('model')
    if not isinstance(model, Mapping) or model.get('denoiser'):
        return None
    link = model.get('denoiser_checkpoint')
    if not isinstance(link, str) or not link or '://' in link or is_shipped_name(link):
        return None  # none, or not a local file: nothing a machine may lack
    try:
        carried_architecture(link, trust)
        return None  # there: the model takes the architecture from it as usual
    except FileNotFoundError as error:
        missing = ' '.join(str(error).split())
    try:
        architecture = carried_architecture(checkpoint, trust)
    except FileNotFoundError:  # it names the same missing file as its own source
        architecture = None
    if architecture is None:
        raise FileNotFoundError(
            f"the denoiser's architecture: model.denoiser_checkpoint is not there ({missing}) "
            f"and the checkpoint {checkpoint} carries none of its own (no meta['model_cfg']; "
            'checkpoints written before DenoiserArchitectureHook): add model.denoiser=dict('
            'type=...), e.g. --cfg-options model.denoiser.type=ThreeScaleDenoiser')
    model.denoiser = architecture
    return architecture


def checkpoint_state(checkpoint: str, trust: Optional[bool] = None) -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint (file, work dir, URL or shipped name), read with
    ``weights_only=True`` and the allowlist unless trusted (``trust``, or None: named by
    :func:`~mmsemdenoise.utils.trust_checkpoint`); a local zip file's tensors are mapped, not
    read (only their shapes are needed)."""
    checkpoint = resolve_checkpoint(checkpoint)
    if '://' in checkpoint:
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu',
                                                  logger='silent')
    else:
        loaded = load_checkpoint_file(checkpoint, map_location='cpu', trust=trust,
                                      mmap=zipfile.is_zipfile(checkpoint))
    return state_dict_of(loaded, checkpoint)


def _parts_from_config(model: nn.Module, state: Mapping) -> List[str]:
    """Load every part (at any depth: a cascade's ``task_model`` / ``denoiser``, the denoiser of
    a ``DenoisingDataPreprocessor``) that the checkpoint has no key of from its own
    ``*_checkpoint`` argument; the key prefixes so set."""
    loaded = []
    for name, owner in model.named_modules():
        for part, argument in PART_CHECKPOINTS:
            module, source = getattr(owner, part, None), getattr(owner, argument, None)
            prefix = f'{name}.{part}.' if name else f'{part}.'
            if (not isinstance(module, nn.Module) or not isinstance(source, str) or not source
                    or any(k.startswith(prefix) for k in state)):
                continue
            if part == 'task_model' and hasattr(owner, 'load_task_weights'):
                owner.load_task_weights()
            else:
                load_weights(module, source, prefix=f'{part}.', name=part.replace('_', ' '))
            print_log(f'the checkpoint has no {prefix}* keys: {prefix[:-1]} loaded from the '
                      f"config's {argument} {source}", logger='current')
            loaded.append(prefix)
    return loaded


def fit_checkpoint(model: nn.Module,
                   state: Mapping[str, torch.Tensor],
                   source: str = 'checkpoint',
                   strict: bool = True) -> LoadReport:
    """Check that ``state`` (plus the config's part checkpoints) sets every weight of ``model``.

    Args:
        model (nn.Module): The model to evaluate (unwrapped), as the Runner built it.
        state (Mapping[str, Tensor]): The checkpoint's state dict (:func:`checkpoint_state`).
        source (str): The checkpoint's name, for messages. Defaults to 'checkpoint'.
        strict (bool): Raise when keys stay missing or mis-shaped; else warn. Defaults to True.

    Returns:
        LoadReport: Keys left missing, unexpected and mis-shaped.

    Raises:
        CheckpointMismatchError: With ``strict``, naming the keys (and ``--non-strict``).
        FileNotFoundError: If a part's config checkpoint is needed and does not exist.
    """
    from_config = _parts_from_config(model, state)
    own = model.state_dict()
    report = LoadReport(
        missing=sorted(k for k in set(own) - set(state)
                       if not any(k.startswith(prefix) for prefix in from_config)),
        unexpected=sorted(set(state) - set(own)),
        mismatched=[f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                    for k in sorted(set(own) & set(state))
                    if tuple(state[k].shape) != tuple(own[k].shape)])
    if report.unexpected:
        print_log(f'{source}: {len(report.unexpected)} keys the model does not have are ignored: '
                  f'{", ".join(report.unexpected[:8])}', logger='current', level=logging.WARNING)
    if report.missing or report.mismatched:
        kept = LoadReport(missing=report.missing, mismatched=report.mismatched)
        message = (f'checkpoint {source} leaves weights of the {type(model).__name__} unset: '
                   f'{kept.describe()}')
        if strict:
            hint = ''
            if any(k.startswith('task_model.') for k in report.missing):
                hint = ' (a cascade: give model.task_checkpoint for the task model)'
            raise CheckpointMismatchError(f'{message}{hint}; pass --non-strict to evaluate '
                                          'anyway with these weights as initialised')
        print_log(f'{message} (--non-strict: evaluated with them as initialised)',
                  logger='current', level=logging.WARNING)
    return report

"""The one way weights get into a module: path, URL or shipped name, optional prefix, strict keys.

Every place that loads weights into a (sub-)module uses :func:`load_weights`: the cascade's
``denoiser_checkpoint`` and ``task_checkpoint``, :func:`~mmsemdenoise.apis.load_denoiser`, the
data preprocessor of unchanged models, and the converters' checks. It reads the file through
mmengine's public ``CheckpointLoader.load_checkpoint``, so every registered scheme works: local
paths, ``http(s)://``, ``open-mmlab://``, and this package's ``mmsemdenoise://<name>``
(:mod:`mmsemdenoise.utils.model_zoo`).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Union

import os.path as osp

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint import trusting

StateDict = Dict[str, torch.Tensor]


class CheckpointMismatchError(KeyError):
    """A checkpoint's keys or shapes do not fit the module (the message names them)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ''


@dataclass
class LoadReport:
    """What :func:`load_weights` found: keys of the module missing from the checkpoint, keys of
    the checkpoint the module does not have, and keys whose shapes differ."""
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 8) -> str:
        parts = []
        for what, keys in (('missing keys', self.missing), ('unexpected keys', self.unexpected),
                           ('shape mismatches', self.mismatched)):
            if keys:
                more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
                parts.append(f'{len(keys)} {what}: ' + ', '.join(keys[:limit]) + more)
        return '; '.join(parts)


def state_dict_of(checkpoint: Union[Mapping, nn.Module], source: str = 'checkpoint') -> StateDict:
    """The state dict inside a loaded checkpoint (``state_dict`` key or a bare state dict),
    without DDP's ``module.`` prefix.

    Raises:
        TypeError: If ``checkpoint`` holds no dict of tensors.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise TypeError(f'{source}: expected a dict (a state dict or a checkpoint with a '
                        f"'state_dict' key), got {type(checkpoint).__name__}")
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def select_prefix(state: StateDict, prefix: Optional[str]) -> StateDict:
    """Keys under ``prefix`` with the prefix removed; a state dict with no key under it is taken
    as the sub-module's own (e.g. a shipped bare denoiser given where a cascade file could be)."""
    if not prefix:
        return dict(state)
    picked = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return picked or dict(state)


def compare_keys(module: nn.Module, state: StateDict) -> LoadReport:
    """The keys and shapes of ``state`` against ``module.state_dict()``."""
    own = module.state_dict()
    return LoadReport(
        missing=sorted(set(own) - set(state)),
        unexpected=sorted(set(state) - set(own)),
        mismatched=[f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                    for k in sorted(set(own) & set(state))
                    if tuple(state[k].shape) != tuple(own[k].shape)])


def resolve_checkpoint(checkpoint: str) -> str:
    """A checkpoint name as given, or, for a work dir, the checkpoint its ``last_checkpoint``
    file names (what mmengine's CheckpointHook writes): the stage-1 -> stage-2 handover.

    Raises:
        FileNotFoundError: If a directory holds no ``last_checkpoint`` file.
    """
    if not osp.isdir(checkpoint):
        return checkpoint
    pointer = osp.join(checkpoint, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise FileNotFoundError(f'{checkpoint} is a directory without a last_checkpoint file: '
                                'pass a checkpoint file, or the work dir of a finished run')
    with open(pointer) as f:
        return f.read().strip()


def load_weights(module: nn.Module,
                 checkpoint: Union[str, Mapping],
                 prefix: Optional[str] = None,
                 strict: bool = True,
                 map_location: str = 'cpu',
                 name: Optional[str] = None,
                 trust: bool = False) -> LoadReport:
    """Load weights into ``module`` and name every key that does not fit.

    Tensors are copied into the module's own parameters, so float16 shipped weights load into a
    float32 module (and onto its device) unchanged in layout.

    Args:
        module (nn.Module): Where the weights go.
        checkpoint (str | Mapping): A local path, a run's work dir (its last checkpoint), a
            URL or scheme mmengine knows (``https://``, ``open-mmlab://``,
            ``mmsemdenoise://<shipped name>``), or an already loaded checkpoint / state dict.
        prefix (str, optional): Take only the keys under this prefix, stripped (e.g.
            ``'denoiser.'`` reads a denoiser out of a cascade checkpoint). Defaults to None.
        strict (bool): Raise on any missing, unexpected or mis-shaped key; otherwise log a
            warning naming them and load the keys that fit. Defaults to True.
        map_location (str): Where the file's tensors are loaded. Defaults to 'cpu'.
        name (str, optional): What the module is, for messages (e.g. 'task model').
        trust (bool): Load a local file with ``weights_only=False`` if it needs classes outside
            the allowlist (:mod:`mmsemdenoise.utils.checkpoint`); unpickling can run code, so
            only for files you trust. Defaults to False.

    Returns:
        LoadReport: The keys that did not fit (empty lists when everything fit).

    Raises:
        CheckpointMismatchError: With ``strict``, when a key is missing, unexpected or has
            another shape; the message names the file, the module and the keys.
        UntrustedCheckpointError: If the file needs classes outside the allowlist and
            ``trust`` is False.
    """
    if isinstance(checkpoint, str):
        checkpoint = resolve_checkpoint(checkpoint)
    source = checkpoint if isinstance(checkpoint, str) else 'state dict'
    if isinstance(checkpoint, str):
        with trusting(checkpoint, trust):
            loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    else:
        loaded = checkpoint
    state = select_prefix(state_dict_of(loaded, source), prefix)
    report = compare_keys(module, state)
    what = name or type(module).__name__
    if not report.ok:
        message = f'checkpoint {source} does not fit the {what}: {report.describe()}'
        if strict:
            raise CheckpointMismatchError(message)
        print_log(message, logger='current', level=30)
    own = module.state_dict()
    fitting = {k: v for k, v in state.items()
               if k in own and tuple(v.shape) == tuple(own[k].shape)}
    module.load_state_dict(fitting, strict=False)
    print_log(f'loaded the {what} from {source}', logger='current')
    return report

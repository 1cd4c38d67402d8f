"""Weights shipped inside the package, addressed as ``mmsemdenoise://<name>``.

The files live in ``mmsemdenoise/weights/<name>.pth`` (float16 state dicts, loaded into float32
modules), listed with their sha256 in ``mmsemdenoise/weights/SHA256SUMS``; each has an entry in a
``configs/*/metafile.yml`` (config, results, training data). The scheme is registered with
mmengine's ``CheckpointLoader.register_scheme``, so the name works wherever mmengine loads a
checkpoint: ``load_from``, ``init_cfg=dict(type='Pretrained', ...)``, ``tools/test.py CFG NAME``,
and this package's ``denoiser_checkpoint`` / ``task_checkpoint`` / :func:`load_weights`.
"""
import hashlib
import os.path as osp
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Union

import torch
from mmengine.runner.checkpoint import CheckpointLoader

SCHEME = 'mmsemdenoise://'
WEIGHTS_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'weights')
MapLocation = Optional[Union[str, torch.device, Callable]]


def file_sha256(path: str) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _sums() -> Dict[str, str]:
    path = osp.join(WEIGHTS_DIR, 'SHA256SUMS')
    if not osp.isfile(path):
        return {}
    sums = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                digest, filename = line.split()
                sums[osp.splitext(filename)[0]] = digest
    return sums


def shipped_names() -> List[str]:
    """Names of the shipped weights, e.g. ``['three-scale_blind_bsd400', ...]``."""
    return sorted(_sums())


def shipped_path(name: str) -> str:
    """The file of a shipped name (``mmsemdenoise://`` optional), its sha256 checked.

    Raises:
        KeyError: If no weights of that name ship (the message lists those that do).
        OSError: If the file is missing or its sha256 differs from ``SHA256SUMS``.
    """
    name = name[len(SCHEME):] if name.startswith(SCHEME) else name
    sums = _sums()
    if name not in sums:
        listed = ', '.join(shipped_names()) or 'none'
        raise KeyError(f'no shipped weights named {name!r}; shipped: {listed}')
    path = osp.join(WEIGHTS_DIR, f'{name}.pth')
    if not osp.isfile(path):
        raise OSError(f'shipped weights {name!r}: {path} is missing from the installed package')
    digest = file_sha256(path)
    if digest != sums[name]:
        raise OSError(f'shipped weights {name!r}: sha256 of {path} is {digest[:12]}..., '
                      f'SHA256SUMS says {sums[name][:12]}...: the file is damaged')
    return path


def load_from_shipped(filename: str, map_location: MapLocation = None) -> dict:
    """mmengine loader for ``mmsemdenoise://<name>``: a state dict of tensors only."""
    return torch.load(shipped_path(filename), map_location=map_location, weights_only=True)


def register_model_zoo_scheme() -> None:
    """Make every mmengine checkpoint loader resolve ``mmsemdenoise://<name>``."""
    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_shipped, force=True)

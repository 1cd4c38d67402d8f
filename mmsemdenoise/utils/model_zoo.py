"""Weights shipped inside the package, addressed as ``mmsemdenoise://<name>``.

The files live in ``mmsemdenoise/weights/<name>.pth`` (float16 state dicts, loaded into float32
modules), listed with their sha256 in ``mmsemdenoise/weights/SHA256SUMS``; each has an entry in a
``configs/*/metafile.yml`` (config, results, training data). The scheme is registered with
mmengine's ``CheckpointLoader.register_scheme``, so the name works wherever mmengine loads a
checkpoint: ``load_from``, ``init_cfg=dict(type='Pretrained', ...)``, ``tools/test.py CFG NAME``,
and this package's ``denoiser_checkpoint`` / ``task_checkpoint`` / :func:`load_weights`.
"""
import os.path as osp
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Union

import torch
import yaml
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint import load_checkpoint_file
from .files import sha256_of

SCHEME = 'mmsemdenoise://'
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
WEIGHTS_DIR = osp.join(PACKAGE_DIR, 'weights')
#: Where ``model-index.yml`` lies: the installed package's ``.mim`` folder, or a source checkout.
INDEX_ROOTS = (osp.join(PACKAGE_DIR, '.mim'), osp.dirname(PACKAGE_DIR))
MapLocation = Optional[Union[str, torch.device, Callable]]


file_sha256 = sha256_of


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


def is_shipped_name(name: str) -> bool:
    """Whether ``name`` is ``mmsemdenoise://<name>`` or a bare shipped name (not a file)."""
    return name.startswith(SCHEME) or (not osp.exists(name) and name in _sums())


@lru_cache(maxsize=1)
def _configs_by_weights() -> Dict[str, str]:
    """``{shipped name: config path}`` from the metafiles that ``model-index.yml`` imports."""
    for root in INDEX_ROOTS:
        index = osp.join(root, 'model-index.yml')
        if not osp.isfile(index):
            continue
        configs = {}
        with open(index) as f:
            metafiles = yaml.safe_load(f).get('Import', [])
        for metafile in metafiles:
            with open(osp.join(root, metafile)) as f:
                for model in yaml.safe_load(f).get('Models', []):
                    weights = str(model.get('Weights', ''))
                    if weights.startswith(SCHEME) and model.get('Config'):
                        configs[weights[len(SCHEME):]] = osp.join(root, model['Config'])
        return configs
    return {}


def shipped_config(name: str) -> str:
    """The config file of shipped weights (``mmsemdenoise://`` optional), from its metafile entry.

    Raises:
        KeyError: If no metafile entry has these weights (the message lists those that do).
        FileNotFoundError: If the entry's config file is missing.
    """
    name = name[len(SCHEME):] if name.startswith(SCHEME) else name
    configs = _configs_by_weights()
    if name not in configs:
        listed = ', '.join(sorted(configs)) or 'none (no model-index.yml found)'
        raise KeyError(f'no metafile entry has the weights {SCHEME}{name}; entries: {listed}')
    if not osp.isfile(configs[name]):
        raise FileNotFoundError(f'shipped weights {name!r}: config {configs[name]} is missing')
    return configs[name]


def load_from_shipped(filename: str, map_location: MapLocation = None) -> dict:
    """mmengine loader for ``mmsemdenoise://<name>``: a state dict of tensors only."""
    return torch.load(shipped_path(filename), map_location=map_location, weights_only=True)


def register_model_zoo_scheme() -> None:
    """Make every mmengine checkpoint loader resolve ``mmsemdenoise://<name>``."""
    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_shipped, force=True)


def export_shipped_weights(checkpoint: str,
                           name: str,
                           keep_prefix: Optional[str] = 'denoiser.',
                           out_dir: str = WEIGHTS_DIR,
                           force: bool = False) -> Dict[str, str]:
    """Write a training checkpoint as shipped weights: ``<out_dir>/<name>.pth``, a float16 state
    dict of the keys under ``keep_prefix`` (kept, so the file also loads into a cascade with
    ``load_from``), and its line in ``<out_dir>/SHA256SUMS``.

    Args:
        checkpoint (str): A checkpoint file or a run's work dir (its last checkpoint).
        name (str): The shipped name, e.g. ``'three-scale_blind_bsd400'``.
        keep_prefix (str, optional): Keep only keys under it (``None``: all). Defaults to
            ``'denoiser.'``.
        out_dir (str): Where to write. Defaults to the package's weights folder.
        force (bool): Replace existing weights of that name. Defaults to False.

    Returns:
        dict: ``{'path': ..., 'sha256': ...}``.

    Raises:
        FileExistsError: If the name exists and ``force`` is False.
        KeyError: If no key lies under ``keep_prefix``.
    """
    from .weights import resolve_checkpoint, state_dict_of  # noqa: avoid an import cycle
    path = osp.join(out_dir, f'{name}.pth')
    if osp.exists(path) and not force:
        raise FileExistsError(f'{path} exists; pass force=True (--force) to replace it')
    source = resolve_checkpoint(checkpoint)
    state = state_dict_of(load_checkpoint_file(source, map_location='cpu'), source)
    kept = {k: v for k, v in state.items() if keep_prefix is None or k.startswith(keep_prefix)}
    if not kept:
        raise KeyError(f'{source}: no key starts with {keep_prefix!r}')
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in kept.items()}
    torch.save(half, path)
    digest = file_sha256(path)
    sums_path = osp.join(out_dir, 'SHA256SUMS')
    lines = []
    if osp.isfile(sums_path):
        with open(sums_path) as f:
            lines = [line for line in f if line.strip() and line.split()[1] != f'{name}.pth']
    lines.append(f'{digest}  {name}.pth\n')
    with open(sums_path, 'w') as f:
        f.writelines(sorted(lines, key=lambda line: line.split()[1]))
    _sums.cache_clear()
    return dict(path=path, sha256=digest)

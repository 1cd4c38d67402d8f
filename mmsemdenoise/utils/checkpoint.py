"""Safe checkpoint loading: ``torch.load(weights_only=True)`` plus an allowlist of what mmengine
writes, and an explicit, per-file opt-in for anything else.

A checkpoint is a pickle, and unpickling can run code. torch >= 2.6 loads with
``weights_only=True`` by default, whose unpickler builds only tensors, containers, primitive
types and the classes on an allowlist. mmengine 0.10.7's checkpoints also hold the message hub's
:class:`~mmengine.logging.HistoryBuffer` and numpy arrays and scalars (meta, random states), so
:func:`register_safe_globals` (run when :mod:`mmsemdenoise` is imported) adds exactly those
classes with ``torch.serialization.add_safe_globals`` -- nothing that runs code when built. Then
``--resume``, ``load_from``, ``init_cfg=dict(type='Pretrained')``, mmengine's
``load_checkpoint`` and mmseg's ``init_model`` keep working with the check on.

:func:`load_from_safe_local` and :func:`load_from_safe_http`, registered with mmengine's
``CheckpointLoader.register_scheme`` for plain paths and ``http(s)://`` (whose mmengine loader
leaves torch.hub's default, ``weights_only=False``), load the same way and turn a refusal into
:class:`UntrustedCheckpointError`: one line naming the file, the classes it would have to build,
and the opt-in. mmengine's other schemes (``open-mmlab://``, ``torchvision://``, ...) call its
module-level ``load_from_http`` directly and are not covered. Files the user vouches for
(``--trust-checkpoint`` on the tools, ``trust_checkpoint=True`` on the APIs) are named with
:func:`trust_checkpoint` and only they load with ``weights_only=False``.
"""
import contextlib
import os
import os.path as osp
import pickle
import re
from typing import Callable, Iterator, List, Optional, Set, Union

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

MapLocation = Optional[Union[str, torch.device, Callable]]

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

#: The statistics methods ``HistoryBuffer`` pickles by name (its ``__setstate__`` registers them).
HISTORY_BUFFER_METHODS = ('min', 'max', 'mean', 'current')


def history_buffer_method(owner: type, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` when a checkpoint is unpickled with
    ``weights_only=True``: mmengine's message hub pickles ``HistoryBuffer.min`` (a method, under
    pickle protocol 2) as ``getattr(HistoryBuffer, 'min')``. Only those four lookups are done.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if owner is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'Unsupported GLOBAL builtins.getattr (on {owner!r}, '
                                 f'{name!r}: only HistoryBuffer statistics are allowed)')


#: Globals mmengine 0.10.7 checkpoints need beyond torch's defaults, found by saving checkpoints
#: with a real Runner and reading ``torch.serialization.get_unsafe_globals_in_checkpoint``: the
#: message hub's buffers (and their statistics methods, through :func:`history_buffer_method`
#: in place of ``getattr``), numpy's array / scalar constructors and dtypes (numpy >= 1.25 builds
#: a dtype of its own class, e.g. ``numpy.dtypes.Float64DType``). None of them runs code when
#: rebuilt.
SAFE_GLOBALS: List = [HistoryBuffer, np.ndarray, np.dtype, _multiarray._reconstruct,
                      _multiarray.scalar, (history_buffer_method, 'builtins.getattr')]
SAFE_GLOBALS += sorted({type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDG'} - {np.dtype},
                       key=lambda cls: cls.__name__)
# files written under numpy 1.x name the constructors numpy.core.multiarray.*
SAFE_GLOBALS += [(_multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
                 (_multiarray.scalar, 'numpy.core.multiarray.scalar')]

#: Real paths of the checkpoint files the user trusts (loaded with ``weights_only=False``).
_TRUSTED: Set[str] = set()
TRUST_HINT = ('if you trust the file, pass --trust-checkpoint (tools) or trust_checkpoint=True '
              '(APIs; mmsemdenoise.utils.trust_checkpoint(path) for mmengine loaders)')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs classes outside the allowlist (the message names them and the opt-in)."""


def register_safe_globals() -> None:
    """Allowlist :data:`SAFE_GLOBALS` for ``torch.load(weights_only=True)`` in this process."""
    torch.serialization.add_safe_globals(SAFE_GLOBALS)


def _local_path(filename: str) -> str:
    filename = osp.expanduser(str(filename))
    return filename[len('file://'):] if filename.startswith('file://') else filename


def _key(filename: str) -> str:
    """A local file's real path; a URL as given."""
    path = _local_path(filename)
    return path if '://' in path else osp.realpath(path)


def trust_checkpoint(filename: str) -> str:
    """Let this file (its real path; a URL as given), for the rest of the process, load with
    ``weights_only=False``. Only for files you trust: unpickling them can run any code.

    Returns:
        str: The real path (or URL) now trusted.
    """
    key = _key(filename)
    _TRUSTED.add(key)
    return key


def is_trusted(filename: str) -> bool:
    """Whether :func:`trust_checkpoint` named this file (or URL)."""
    return _key(filename) in _TRUSTED


@contextlib.contextmanager
def trusting(filename: Optional[str], trust: bool = True) -> Iterator[None]:
    """Trust ``filename`` (a local path) inside the block only (no-op: None, ``trust=False``)."""
    path = _key(filename) if trust and filename else None
    added = path is not None and path not in _TRUSTED
    if added:
        _TRUSTED.add(path)
    try:
        yield
    finally:
        if added:
            _TRUSTED.discard(path)


def unsafe_globals(filename: str, error: Optional[BaseException] = None) -> List[str]:
    """The globals a checkpoint holds beyond the allowlist, read without unpickling anything
    (zip format), else the one torch's refusal names."""
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # noqa: BLE001 (legacy format: only the refusal's message says)
        found = []
    if not found and error is not None:
        found = re.findall(r'GLOBAL ([\w.]+)', str(error))[:1]
    return list(found)


def load_checkpoint_file(filename: str,
                         map_location: MapLocation = None,
                         trust: Optional[bool] = None,
                         mmap: bool = False) -> dict:
    """Load a local checkpoint with ``weights_only=True`` and the allowlist.

    Args:
        filename (str): Path of the checkpoint (``file://`` prefix accepted).
        map_location: As in :func:`torch.load`. Defaults to None.
        trust (bool, optional): True: load it with ``weights_only=False`` (can run code: only
            for files you trust); False: never (a check that must not run code); None: if
            :func:`trust_checkpoint` named it. Defaults to None.
        mmap (bool): Map the tensors' storage instead of reading it (zip format only).
            Defaults to False.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` is not a file.
        UntrustedCheckpointError: If it needs classes outside the allowlist (named).
    """
    path = _local_path(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    kwargs = dict(map_location=map_location, mmap=True) if mmap else dict(map_location=map_location)
    if trust or (trust is None and is_trusted(path)):
        return torch.load(path, weights_only=False, **kwargs)
    try:
        return torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError as error:
        names = unsafe_globals(path, error)
        if not names:  # damaged, not refused
            raise
        raise UntrustedCheckpointError(
            f'refused to load {filename}: it holds {", ".join(names)}, which '
            'torch.load(weights_only=True) does not build and unpickling could run code; '
            f'{TRUST_HINT}') from None


def load_from_safe_local(filename: str, map_location: MapLocation = None) -> dict:
    """mmengine loader for plain paths: :func:`load_checkpoint_file` (named ``load_from_*`` like
    mmengine's loaders, whose log line prints the name's tail)."""
    return load_checkpoint_file(filename, map_location)


def load_from_safe_http(filename: str,
                        map_location: MapLocation = None,
                        model_dir: Optional[str] = None,
                        progress: bool = os.isatty(0)) -> dict:
    """mmengine loader for ``http(s)://``: mmengine's (the first process downloads, the others
    wait), but through ``torch.hub.load_state_dict_from_url(weights_only=True)`` -- mmengine's
    ``load_url`` leaves torch.hub's default, ``weights_only=False`` -- unless the URL is trusted.

    Raises:
        UntrustedCheckpointError: If the file needs classes outside the allowlist (named).
    """
    def load() -> dict:
        try:
            return torch.hub.load_state_dict_from_url(
                filename, model_dir=model_dir, map_location=map_location, progress=progress,
                weights_only=not is_trusted(filename))
        except pickle.UnpicklingError as error:
            names = re.findall(r'GLOBAL ([\w.]+)', str(error))[:1]
            if not names:
                raise
            raise UntrustedCheckpointError(
                f'refused to load {filename}: it holds {names[0]}, which '
                'torch.load(weights_only=True) does not build and unpickling could run code; '
                f'{TRUST_HINT}') from None

    rank, world_size = get_dist_info()
    checkpoint = load() if rank == 0 else None
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            checkpoint = load()
    return checkpoint


def register_safe_local_loader() -> None:
    """Allowlist mmengine's classes and make mmengine's loaders for plain paths and
    ``http(s)://`` refuse the rest with :class:`UntrustedCheckpointError` (both load with
    ``weights_only=True``)."""
    register_safe_globals()
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_safe_local, force=True)
    CheckpointLoader.register_scheme(prefixes=('http://', 'https://'), loader=load_from_safe_http,
                                     force=True)

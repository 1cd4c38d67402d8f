"""Choosing the checkpoint to resume from, and refusing damaged ones.

``tools/train.py --resume`` calls :func:`find_resume_checkpoint` before the Runner is built and
hands the result to mmengine as ``load_from`` (with ``resume=True``). mmengine alone reads
``last_checkpoint`` and loads whatever it names: an empty ``last_checkpoint`` (a crash while the
hook rewrites it) stops the run with ``checkpoint file not found: ''``, a truncated file with an
unpickling error, and a flipped byte in a tensor resumes silently from wrong weights.

The policy:

* ``--resume PATH``: the user named the file, so a damaged one is an error naming it
  (:class:`DamagedCheckpointError`).
* ``--resume`` (the latest in the work dir): the checkpoint ``last_checkpoint`` names, else the
  newest ``iter_*.pth`` / ``epoch_*.pth``; a damaged one is skipped for the next older with a
  warning naming both. With the random streams restored (:mod:`mmsemdenoise.engine.random_state_hook`)
  the iterations after the older checkpoint are computed again exactly, so falling back costs time,
  not a different run, and a job restarted by a scheduler continues without a person. When every
  checkpoint is damaged it stops with an error listing them (starting from scratch would write
  over them).

A checkpoint is complete when it is a zip archive (``torch.save``'s format) whose every member
passes its CRC-32 check, which also catches a flipped byte ``torch.load`` does not notice; files
of the older non-zip format are checked by loading them with ``weights_only=True``
(:func:`~mmsemdenoise.utils.checkpoint.load_checkpoint_file`): a check never runs a file's pickled
code. A complete checkpoint must also hold a training state (``meta.iter`` / ``meta.epoch``) to
be resumed (:func:`check_resumable`): shipped or exported weights are for ``load_from``.
"""
import logging
import os.path as osp
import re
import zipfile
from glob import glob
from typing import List, Optional

from mmengine.logging import print_log

from .checkpoint import UntrustedCheckpointError, is_trusted, load_checkpoint_file


class DamagedCheckpointError(RuntimeError):
    """A checkpoint file is truncated or corrupt (the message names it and what is wrong)."""


def checkpoint_problem(path: str) -> Optional[str]:
    """What is wrong with a checkpoint file, or None when it is complete.

    Args:
        path (str): A local checkpoint file.

    Returns:
        str | None: E.g. ``'not a complete zip archive (truncated?)'``, or None.
    """
    if not osp.isfile(path):
        return 'file not found'
    if osp.getsize(path) == 0:
        return 'empty file (0 bytes)'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            return f'unreadable zip archive ({error})'
        return None if bad is None else f'member {bad!r} fails its CRC check (corrupt)'
    with open(path, 'rb') as f:
        head = f.read(4)
    if head[:2] == b'PK':
        return 'not a complete zip archive (truncated?)'
    try:  # torch's legacy (non-zip) format, with the safe unpickler even if trusted
        load_checkpoint_file(path, map_location='cpu', trust=False)
    except UntrustedCheckpointError:
        return None  # complete as far as the safe unpickler reads; loading it asks for trust
    except Exception as error:  # noqa: BLE001 (any unpickling failure means damaged)
        return f'cannot be loaded ({type(error).__name__}: {error})'
    return None


def check_checkpoint(path: str) -> str:
    """Return ``path`` if it is a complete checkpoint.

    Raises:
        DamagedCheckpointError: Naming the file and the problem.
    """
    problem = checkpoint_problem(path)
    if problem is not None:
        raise DamagedCheckpointError(f'cannot resume from {path}: {problem}')
    return path


#: What mmengine's ``Runner.resume`` reads from a checkpoint's ``meta``.
RESUME_META_KEYS = ('epoch', 'iter')


def check_resumable(path: str, trust: bool = False) -> str:
    """Return ``path`` if it holds a training state mmengine can resume (``meta.epoch``,
    ``meta.iter`` and a ``state_dict``), read with ``weights_only=True`` and the tensors mapped,
    not read (zip format). A trusted file (``trust``) that needs more than the allowlist is not
    opened here: mmengine checks it when it loads it.

    Raises:
        DamagedCheckpointError: If it is damaged or holds no training state (a weights-only
            file: the message says to give it as ``load_from`` instead).
        UntrustedCheckpointError: If it needs classes outside the allowlist and ``trust`` is
            False.
    """
    check_checkpoint(path)
    try:  # never unpickled with code here, trusted or not: mmengine loads it once, later
        loaded = load_checkpoint_file(path, map_location='cpu', trust=False,
                                      mmap=zipfile.is_zipfile(path))
    except UntrustedCheckpointError:
        if trust or is_trusted(path):
            return path
        raise
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    missing = [f'meta.{key}' for key in RESUME_META_KEYS
               if not isinstance(meta, dict) or key not in meta]
    if not isinstance(loaded, dict) or 'state_dict' not in loaded:
        missing.insert(0, 'state_dict')
    if missing:
        raise DamagedCheckpointError(
            f'cannot resume from {path}: it holds no training state ({", ".join(missing)} '
            'missing; a weights-only file such as shipped or exported weights); start from its '
            f'weights with --cfg-options load_from={path} instead of --resume')
    return path


def _step(path: str) -> int:
    match = re.search(r'(\d+)\.pth$', osp.basename(path))
    return int(match.group(1)) if match else -1


def resume_candidates(work_dir: str) -> List[str]:
    """Checkpoints of a work dir, newest first: the one ``last_checkpoint`` names (if it
    exists), then ``iter_*.pth`` and ``epoch_*.pth`` by decreasing number."""
    found = sorted(glob(osp.join(work_dir, 'iter_*.pth')) + glob(osp.join(work_dir, 'epoch_*.pth')),
                   key=_step, reverse=True)
    last_file = osp.join(work_dir, 'last_checkpoint')
    named = ''
    if osp.isfile(last_file):
        with open(last_file) as f:
            named = f.read().strip()
    if named and osp.isfile(named):
        found = [named] + [p for p in found if osp.abspath(p) != osp.abspath(named)]
    elif osp.isfile(last_file):
        print_log(f'{last_file} names {named!r}, which is not a file; looking for the newest '
                  'checkpoint in the folder instead', logger='current', level=logging.WARNING)
    return found


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The newest complete checkpoint of ``work_dir``, skipping damaged ones with a warning.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: A checkpoint path, or None when the folder holds no checkpoint (a first start).

    Raises:
        DamagedCheckpointError: If checkpoints exist but all are damaged (each one named).
    """
    damaged = []
    for path in resume_candidates(work_dir):
        problem = checkpoint_problem(path)
        if problem is None:
            if damaged:
                skipped = '; '.join(f'{p}: {why}' for p, why in damaged)
                print_log(f'skipped damaged checkpoint(s) {skipped}; resuming from {path}',
                          logger='current', level=logging.WARNING)
            return path
        damaged.append((path, problem))
    if damaged:
        listed = '; '.join(f'{p}: {why}' for p, why in damaged)
        raise DamagedCheckpointError(f'every checkpoint in {work_dir} is damaged ({listed}); '
                                     'move them away to start from scratch')
    return None

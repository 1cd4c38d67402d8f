"""Bad files through the real mmengine Runner: training refuses to start, or skips and reports.

Stage-1 runs of a small 3-scale denoiser on random 20x20 images in a tmp folder, one of them
corrupt; the SkippedFilesHook of ``_base_/default_runtime.py`` and the RobustnessTestLoop report
what was skipped.
"""
import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmsemdenoise.datasets import BadFilesError

META_KEYS = ('img_path', 'img_id', 'ori_shape', 'img_shape')
TRAIN_PIPELINE = [dict(type='LoadImageFromFile'),
                  dict(type='mmpretrain.RandomCrop', crop_size=16),
                  dict(type='mmpretrain.PackInputs', meta_keys=META_KEYS)]
TEST_PIPELINE = [dict(type='LoadImageFromFile'),
                 dict(type='mmpretrain.PackInputs', meta_keys=META_KEYS)]


def image_folder(root: Path, n: int = 4) -> Path:
    """``n`` random 20x20 PNGs and ``zz_corrupt.png``, a PNG cut in half."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(root / f'img_{i}.png'), rng.integers(0, 256, (20, 20, 3), np.uint8))
    data = (root / 'img_0.png').read_bytes()
    (root / 'zz_corrupt.png').write_bytes(data[:len(data) // 2])
    return root


def stage1_config(repo_root: Path, folder: Path, work_dir: Path, on_bad_file: str) -> Config:
    """The shipped runtime (with its SkippedFilesHook) and a 3-iteration stage-1 run."""
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/default_runtime.py'))

    def loader(pipeline, sampler, batch_size):
        return dict(batch_size=batch_size, num_workers=0, sampler=dict(type=sampler),
                    dataset=dict(type='CleanImageFolder', data_prefix=dict(img_path=str(folder)),
                                 pipeline=pipeline, on_bad_file=on_bad_file))

    cfg.merge_from_dict(dict(
        work_dir=str(work_dir),
        # a logger of its own: mmengine names it '<config>_<timestamp>' (to the second), and a
        # Runner built in the same second as the last test's would write into that test's log
        experiment_name=f'{Path(work_dir).parent.name}_{Path(work_dir).name}',
        model=dict(type='DenoisingCascade',
                   denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
                   noise=dict(type='GaussianNoise', sigma=25)),
        train_dataloader=loader(TRAIN_PIPELINE, 'InfiniteSampler', 2),
        val_dataloader=loader(TEST_PIPELINE, 'DefaultSampler', 1),
        test_dataloader=loader(TEST_PIPELINE, 'DefaultSampler', 1),
        val_evaluator=[dict(type='PSNR')], test_evaluator=[dict(type='PSNR')],
        optim_wrapper=dict(type='AutocastOptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=3, val_interval=3),
        val_cfg=dict(type='ValLoop'), test_cfg=dict(type='TestLoop'),
        default_hooks=dict(logger=dict(interval=1), checkpoint=dict(interval=3))))
    return cfg


def test_training_refuses_to_start_and_names_the_file(repo_root, tmp_path):
    folder = image_folder(tmp_path / 'images')
    runner = Runner.from_cfg(stage1_config(repo_root, folder, tmp_path / 'work', 'error'))
    with pytest.raises(BadFilesError) as error:
        runner.train()
    message = str(error.value)
    assert f'{folder / "zz_corrupt.png"}: truncated PNG' in message
    assert '1 unreadable file(s) in 1 of 5 samples' in message
    assert not list((tmp_path / 'work').glob('*.pth'))
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'Iter(train)' not in log  # not one iteration ran


@pytest.mark.slow
def test_training_with_skip_runs_and_validation_reports_the_skipped_file(repo_root, tmp_path):
    folder = image_folder(tmp_path / 'images')
    runner = Runner.from_cfg(stage1_config(repo_root, folder, tmp_path / 'work', 'skip'))
    runner.train()
    assert runner.iter == 3 and (tmp_path / 'work' / 'iter_3.pth').is_file()
    assert len(runner.train_dataloader.dataset) == 4
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'skipped 1 of 5 samples' in log and 'zz_corrupt.png: truncated PNG' in log
    assert 'Iter(val) [4/4]' in log and 'skipped_files: 1' in log  # in the validation line
    metrics = runner.test()
    assert metrics['skipped_files'] == 1 and np.isfinite(metrics['denoise/psnr'])


def test_robustness_loop_reports_the_skipped_file_once(repo_root, tmp_path):
    folder = image_folder(tmp_path / 'images')
    cfg = stage1_config(repo_root, folder, tmp_path / 'work', 'skip')
    out = tmp_path / 'report'
    cfg.test_cfg = dict(type='RobustnessTestLoop', sigmas=[0, 25], num_examples=1,
                        out_dir=str(out))
    metrics = Runner.from_cfg(cfg).test()
    assert metrics['skipped_files'] == 1
    assert 'zz_corrupt.png: truncated PNG' in (out / 'skipped_files.txt').read_text()
    with open(out / 'sweep.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert rows and all('skipped_files' not in row for row in rows)  # not a table column

"""RandomStateHook in-process: validation leaves training alone; what a checkpoint carries.

Real Runners on the shipped CPU stage-1 config (3-scale denoiser, 8 base channels) and tiny
generated photos. The kill-and-resume test with real processes is
``tests/test_tools/test_exact_resume.py``.
"""
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.registry import HOOKS, init_default_scope
from mmengine.runner import Runner

STAGE1 = 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'


@HOOKS.register_module(force=True)
class KeepLosses(Hook):
    """Keeps every training loss of the run."""
    losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        KeepLosses.losses.append(float(outputs['loss']))


def _photos(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (('train', 4), ('val', 1)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(root / split / f'{i}.png'), rng.integers(0, 256, (36, 40, 3), np.uint8))
    return root


def _config(repo_root: Path, photos: Path, work: Path, val_interval: int, hooks: bool = True):
    cfg = Config.fromfile(str(repo_root / STAGE1))
    cfg.work_dir = str(work)
    cfg.model.denoiser.base_channels = 8
    cfg.train_cfg.update(max_iters=4, val_interval=val_interval)
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[1].crop_size = 24
    cfg.default_hooks.checkpoint.interval = 2
    for loader, split in ((cfg.train_dataloader, 'train'), (cfg.val_dataloader, 'val')):
        loader.dataset.update(data_root=str(photos), data_prefix=dict(img_path=split))
        loader.update(num_workers=0, persistent_workers=False)
    cfg.custom_hooks = ([dict(type='mmsemdenoise.RandomStateHook')] if hooks else []) + \
        [dict(type='KeepLosses')]
    return cfg


def _losses(cfg) -> list:
    KeepLosses.losses = []
    Runner.from_cfg(cfg).train()
    return list(KeepLosses.losses)


@pytest.mark.slow
def test_validation_leaves_the_training_streams_alone(tmp_path, repo_root):
    init_default_scope('mmsemdenoise')
    photos = _photos(tmp_path / 'photos')
    runs = {(val, hooks): _losses(_config(repo_root, photos, tmp_path / f'{val}{hooks}', val, hooks))
            for val in (1, 100) for hooks in (True, False)}
    assert runs[1, True] == runs[100, True]  # validating every iteration changes nothing
    assert runs[1, False] != runs[100, False]  # without the hook it does (the loader's seed draw)

    ckpt = torch.load(tmp_path / '1True' / 'iter_4.pth', map_location='cpu', weights_only=False)
    states = ckpt['random_states']
    assert states['world_size'] == 1 and len(states['data']) == len(states['model']) == 1
    assert set(states['model'][0]) >= {'python', 'numpy', 'torch'}


@pytest.mark.slow
def test_resuming_a_checkpoint_without_streams_warns(tmp_path, repo_root):
    init_default_scope('mmsemdenoise')
    photos = _photos(tmp_path / 'photos')
    cfg = _config(repo_root, photos, tmp_path / 'work', 100)
    cfg.train_cfg.max_iters = 2
    _losses(cfg)
    path = tmp_path / 'work' / 'iter_2.pth'
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    del ckpt['random_states']  # as a checkpoint written before this hook existed
    torch.save(ckpt, path)
    cfg = _config(repo_root, photos, tmp_path / 'work', 100)
    cfg.update(resume=True, load_from=str(path))
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    runner = Runner.from_cfg(cfg)
    MMLogger.get_current_instance().addHandler(handler)
    try:
        runner.train()
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    assert any('holds no random states' in r and 'iteration 2' in r for r in records), records

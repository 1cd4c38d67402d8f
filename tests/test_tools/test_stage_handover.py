"""The stage-1 -> stage-2 handover: stage 2 starts from exactly the weights stage 1 ended with.

Real configs and Runners: stage 1 (`denoise/three-scale_bsd400_sigma25_cpu-1h.py`) trains two
iterations on tiny photos; stage 2 (`cascade/efficientnet-lite0_denoise-labelfree_check.py`) is
given the stage-1 WORK DIR as its one handover variable (`denoiser_checkpoint`): it declares no
denoiser, so the stage-1 checkpoint's own config (`meta['cfg']`, written by mmengine) gives the
architecture (an 8-channel net here), and a hook reads the denoiser's weights when stage-2
training starts (after the Runner's init_weights). The stage-2 checkpoint then carries the
architecture on to the next stage or the sweep, in its own ``meta['model_cfg']``
(DenoiserArchitectureHook, in the configs' hooks): it is read without the stage-1 run.
"""
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS, init_default_scope
from mmengine.runner import Runner

from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils import CheckpointMismatchError, load_weights

STAGE1 = 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
STAGE2 = 'configs/cascade/efficientnet-lite0_denoise-labelfree_check.py'


@HOOKS.register_module(force=True)
class RecordDenoiserAtStart(Hook):
    """Keeps a copy of the denoiser's state dict when training starts."""
    seen = {}

    def before_train(self, runner) -> None:
        state = runner.model.denoiser.state_dict()
        RecordDenoiserAtStart.seen = {k: v.detach().clone() for k, v in state.items()}


def _photos(folder: Path, n: int = 3, size: int = 72) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f'{i}.png'), rng.integers(0, 256, (size, size + 8, 3), np.uint8))
    return folder


def _no_workers(loader) -> None:
    loader.num_workers = 0
    loader.persistent_workers = False


@pytest.mark.slow
def test_stage2_starts_from_the_stage1_weights(tmp_path, repo_root):
    photos = _photos(tmp_path / 'photos' / 'train')
    init_default_scope('mmsemdenoise')

    cfg1 = Config.fromfile(str(repo_root / STAGE1))
    cfg1.work_dir = str(tmp_path / 'stage1')
    cfg1.model.denoiser.base_channels = 8
    cfg1.train_cfg.max_iters = 2
    cfg1.train_dataloader.batch_size = 2
    for loader in (cfg1.train_dataloader, cfg1.val_dataloader):
        loader.dataset.data_root = str(photos.parent)
        loader.dataset.data_prefix = dict(img_path='train')
        _no_workers(loader)
    Runner.from_cfg(cfg1).train()
    stage1_file = torch.load(tmp_path / 'stage1' / 'iter_2.pth', map_location='cpu',
                             weights_only=True)
    stage1_end = stage1_file['state_dict']
    small = {'type': 'ThreeScaleDenoiser', 'base_channels': 8}
    assert stage1_file['meta']['model_cfg'] == small

    cfg2 = Config.fromfile(str(repo_root / STAGE2))
    cfg2.work_dir = str(tmp_path / 'stage2')
    assert 'denoiser' not in cfg2.model  # the architecture comes with the checkpoint
    cfg2.model.denoiser_checkpoint = cfg1.work_dir  # the one handover variable: a work dir
    task = MODELS.build(cfg2.model.task_model)
    torch.save({'state_dict': task.state_dict()}, tmp_path / 'task.pth')
    cfg2.model.task_checkpoint = str(tmp_path / 'task.pth')
    cfg2.train_cfg.max_iters = 1
    cfg2.train_dataloader.batch_size = 1
    cfg2.train_dataloader.dataset.data_root = str(photos.parent)
    cfg2.train_dataloader.dataset.data_prefix = dict(img_path='train')
    _no_workers(cfg2.train_dataloader)
    cfg2.val_dataloader = cfg2.val_cfg = cfg2.val_evaluator = None
    cfg2.test_dataloader = cfg2.test_cfg = cfg2.test_evaluator = None
    cfg2.custom_hooks = [*cfg2.custom_hooks, dict(type='RecordDenoiserAtStart')]
    runner2 = Runner.from_cfg(cfg2)
    assert runner2.model.denoiser.conv0.out_channels == 8  # built as stage 1 was
    runner2.train()

    start = RecordDenoiserAtStart.seen
    denoiser_keys = {k[len('denoiser.'):] for k in stage1_end if k.startswith('denoiser.')}
    assert set(start) == denoiser_keys
    for key, value in start.items():
        assert torch.equal(value, stage1_end[f'denoiser.{key}']), key
    # and the stage-1 weights are not what a fresh network starts with
    fresh = MODELS.build(dict(type='ThreeScaleDenoiser', base_channels=8)).state_dict()
    assert any(not torch.equal(fresh[k], start[k]) for k in start)
    # stage 2 -> sweep: the stage-2 checkpoint alone gives the architecture and the weights,
    # also where the stage-1 run is gone (its meta['cfg'] names only the stage-1 work dir)
    stage2_file = torch.load(tmp_path / 'stage2' / 'iter_1.pth', map_location='cpu',
                             weights_only=True)
    assert stage2_file['meta']['model_cfg'] == small
    stage2_end = stage2_file['state_dict']
    shutil.rmtree(tmp_path / 'stage1')
    handed = load_denoiser(None, str(tmp_path / 'stage2'))
    assert handed.conv0.out_channels == 8
    for key, value in handed.state_dict().items():
        assert torch.equal(value, stage2_end[f'denoiser.{key}']), key


def test_handover_is_strict(tmp_path):
    """A stage-1 file of another architecture stops stage 2, naming the keys."""
    init_default_scope('mmsemdenoise')
    small = MODELS.build(dict(type='ThreeScaleDenoiser', base_channels=8))
    torch.save({'state_dict': {f'denoiser.{k}': v for k, v in small.state_dict().items()}},
               tmp_path / 'small.pth')
    big = MODELS.build(dict(type='ThreeScaleDenoiser'))
    with pytest.raises(CheckpointMismatchError, match='shape mismatches: .*checkpoint'):
        load_weights(big, str(tmp_path / 'small.pth'), prefix='denoiser.', name='denoiser')
    with pytest.raises(FileNotFoundError, match='without a last_checkpoint'):
        load_weights(big, str(tmp_path), prefix='denoiser.')

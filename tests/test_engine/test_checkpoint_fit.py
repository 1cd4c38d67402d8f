"""No metric for weights that were not loaded: a real tiny cascade (3-scale denoiser + mmseg
segmentor) against stage-1, cascade and foreign checkpoints."""
import copy
import logging
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmsemdenoise.engine.checkpoint_fit import checkpoint_state, fit_checkpoint
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils import CheckpointMismatchError

TINY_SEG = Path(__file__).resolve().parents[1] / 'configs' / 'tiny_segmentor.py'


def cascade(task_checkpoint=None, base_channels=8):
    cfg = Config.fromfile(str(TINY_SEG))
    task = dict(cfg.model.to_dict(), _scope_=cfg.default_scope)
    init_default_scope('mmsemdenoise')
    return MODELS.build(ConfigDict(
        type='DenoisingCascade', denoiser=dict(type='ThreeScaleDenoiser',
                                               base_channels=base_channels),
        noise=dict(type='GaussianNoise', sigma=25), task_model=copy.deepcopy(task),
        task_checkpoint=task_checkpoint))


def stage1_checkpoint(path: Path, base_channels=8) -> str:
    """What a stage-1 run saves: denoiser keys only (mmengine checkpoint layout)."""
    model = cascade(base_channels=base_channels)
    state = {k: v for k, v in model.state_dict().items() if k.startswith('denoiser.')}
    torch.save(dict(meta=dict(iter=2), state_dict=state), path)
    return str(path)


@pytest.fixture
def task_ckpt(tmp_path, tiny_task):
    path = tmp_path / 'task.pth'
    tiny_task.save_checkpoint('seg', path, tiny_task.classes['seg'])
    return path


def test_a_stage1_checkpoint_takes_the_task_model_from_the_config(tmp_path, task_ckpt):
    state = checkpoint_state(stage1_checkpoint(tmp_path / 's1.pth'))
    model = cascade(task_checkpoint=str(task_ckpt))
    report = fit_checkpoint(model, state, 's1.pth')
    assert report.ok
    saved = torch.load(task_ckpt, weights_only=True)['state_dict']
    own = model.task_model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in saved.items())


def test_no_task_weights_anywhere_is_refused_naming_the_keys(tmp_path):
    state = checkpoint_state(stage1_checkpoint(tmp_path / 's1.pth'))
    with pytest.raises(CheckpointMismatchError,
                       match=r'leaves weights .* missing keys: task_model\.backbone.*'
                       r'task_checkpoint.*--non-strict'):
        fit_checkpoint(cascade(), state, 's1.pth')


def test_a_missing_task_checkpoint_file_is_named(tmp_path):
    state = checkpoint_state(stage1_checkpoint(tmp_path / 's1.pth'))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        fit_checkpoint(cascade(task_checkpoint=str(tmp_path / 'nowhere.pth')), state)


def test_another_architecture_is_refused_or_warned(tmp_path, task_ckpt):
    state = checkpoint_state(stage1_checkpoint(tmp_path / 'wide.pth', base_channels=16))
    model = cascade(task_checkpoint=str(task_ckpt))
    with pytest.raises(CheckpointMismatchError, match=r'shape mismatches: denoiser\.conv0\.bias: '
                       r'checkpoint \(16,\) vs model \(8,\)'):
        fit_checkpoint(model, state, 'wide.pth')
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        report = fit_checkpoint(model, state, 'wide.pth', strict=False)
    finally:
        logger.removeHandler(handler)
    assert report.mismatched and any('--non-strict' in r.getMessage() for r in records)

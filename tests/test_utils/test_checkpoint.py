"""Trusted local checkpoints load under torch's weights_only default (torch >= 2.6)."""
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import mmsemdenoise  # noqa: F401 (registers the loader)
from mmsemdenoise.utils import load_from_trusted_local


def test_mmengine_style_checkpoint_loads(tmp_path):
    path = tmp_path / 'ckpt.pth'
    buffer = HistoryBuffer()
    buffer.update(1.0)
    ckpt = dict(state_dict={'w': torch.ones(2)},
                message_hub=dict(log_scalars={'loss': buffer}),
                meta=dict(seed=np.int64(3)))
    torch.save(ckpt, path)
    # torch's own default refuses it ...
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path)
    # ... mmengine's plain-path loader is ours now
    assert CheckpointLoader._get_checkpoint_loader(str(path)) is load_from_trusted_local
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert isinstance(loaded['message_hub']['log_scalars']['loss'], HistoryBuffer)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_from_trusted_local(str(tmp_path / 'nope.pth'))

"""Which checkpoint ``tools/train.py --resume`` takes, and which it refuses."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmsemdenoise.utils import DamagedCheckpointError, check_checkpoint, find_resume_checkpoint
from mmsemdenoise.utils.resume import checkpoint_problem


def _save(path, value: float):
    torch.save({'state_dict': {'w': torch.full((1000, ), value)}, 'meta': {}}, path)
    return path


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damage_is_named(tmp_path):
    good = _save(tmp_path / 'good.pth', 1.0)
    assert checkpoint_problem(str(good)) is None and check_checkpoint(str(good)) == str(good)
    truncated = _save(tmp_path / 'truncated.pth', 1.0)
    truncated.write_bytes(truncated.read_bytes()[:300])
    flipped = _save(tmp_path / 'flipped.pth', 1.0)
    _flip_a_byte(flipped)
    torch.load(flipped, weights_only=False)  # torch itself does not notice this one
    (tmp_path / 'empty.pth').write_bytes(b'')
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    for name, message in (('truncated', 'truncated'), ('flipped', 'fails its CRC check'),
                          ('empty', 'empty file'), ('text', 'cannot be loaded'),
                          ('missing', 'file not found')):
        path = str(tmp_path / f'{name}.pth')
        assert message in checkpoint_problem(path), name
        with pytest.raises(DamagedCheckpointError, match=f'cannot resume from {path}: '):
            check_checkpoint(path)


class _Collect(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_latest_falls_back_past_damaged_ones(tmp_path):
    collect = _Collect()
    MMLogger.get_current_instance().addHandler(collect)
    assert find_resume_checkpoint(str(tmp_path)) is None  # nothing yet: a first start
    for step in (2, 4, 6):
        _save(tmp_path / f'iter_{step}.pth', step)
    (tmp_path / 'iter_6.pth').write_bytes((tmp_path / 'iter_6.pth').read_bytes()[:100])
    _flip_a_byte(tmp_path / 'iter_4.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    log = '\n'.join(collect.lines)
    assert f'{tmp_path}/iter_6.pth: not a complete zip archive' in log
    assert f'{tmp_path}/iter_4.pth: member' in log and 'resuming from' in log

    (tmp_path / 'last_checkpoint').write_text('')  # what a crash while mmengine writes it leaves
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    _save(tmp_path / 'iter_10.pth', 10)  # newer than what last_checkpoint names: not preferred
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')

    (tmp_path / 'iter_2.pth').write_bytes(b'')
    (tmp_path / 'iter_10.pth').write_bytes(b'PK')
    with pytest.raises(DamagedCheckpointError, match='every checkpoint .* is damaged .*iter_2.pth: '
                       'empty.*iter_10.*iter_6.*iter_4'):  # the one last_checkpoint names first
        find_resume_checkpoint(str(tmp_path))
    MMLogger.get_current_instance().removeHandler(collect)

"""The ``atomic_local`` file backend through mmengine's own ``save_checkpoint`` and backend lookup."""
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import mmsemdenoise  # noqa: F401 (registers the backend)
from mmsemdenoise.utils import AtomicLocalBackend

ARGS = dict(backend='atomic_local')


def test_mmengine_save_checkpoint_goes_through_it(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path), backend_args=ARGS), AtomicLocalBackend)
    path = tmp_path / 'sub' / 'iter_2.pth'
    save_checkpoint({'state_dict': {'w': torch.arange(5.)}}, str(path), backend_args=ARGS)
    loaded = torch.load(path, weights_only=False)
    assert torch.equal(loaded['state_dict']['w'], torch.arange(5.))
    assert [p.name for p in path.parent.iterdir()] == ['iter_2.pth']  # no temporary left


def test_a_failed_write_keeps_the_old_file(tmp_path):
    backend = AtomicLocalBackend()
    path = tmp_path / 'iter_4.pth'
    backend.put(b'old complete checkpoint', path)
    with pytest.raises(TypeError):
        backend.put('not bytes', path)  # fails inside the write
    assert path.read_bytes() == b'old complete checkpoint'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['iter_4.pth']
    backend.put_text('iter_4.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_4.pth'


def test_removal_waits_for_the_next_complete_write(tmp_path):
    """CheckpointHook removes the oldest checkpoint before it writes the new one."""
    hook_backend, save_backend = AtomicLocalBackend(), AtomicLocalBackend()  # as mmengine does
    old = tmp_path / 'iter_2.pth'
    old.write_bytes(b'2')
    hook_backend.remove(old)
    assert old.exists()  # still the only complete checkpoint
    save_backend.put(b'4', tmp_path / 'iter_4.pth')
    assert not old.exists() and (tmp_path / 'iter_4.pth').read_bytes() == b'4'
    with pytest.raises(FileNotFoundError, match='iter_2.pth does not exist'):
        hook_backend.remove(old)
    with pytest.raises(IsADirectoryError):
        hook_backend.remove(tmp_path)

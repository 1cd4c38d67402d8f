"""Checkpoints load with ``weights_only=True`` and mmengine's allowlist: a real Runner's
checkpoints resume and load, a crafted pickle runs no code through any loader (the package's,
the tools', mmengine's, mmseg's) in this process, which imported the package, and only a file
the user trusts may hold more."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import mmsemdenoise  # noqa: F401 (registers the allowlist and the loader)
from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.utils import (UntrustedCheckpointError, find_resume_checkpoint,
                                load_checkpoint_file, load_weights, trusting)
from mmsemdenoise.utils.checkpoint import SAFE_GLOBALS
from mmsemdenoise.utils.model_zoo import export_shipped_weights
from mmsemdenoise.utils.resume import check_resumable, checkpoint_problem

REPO = Path(__file__).resolve().parents[2]
DENOISE_CONFIG = REPO / 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'


class Payload:
    """Unpickling it runs ``os.mkdir(path)``: it stands for any code a pickle can run."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path, )


def crafted(folder: Path, legacy: bool = False) -> tuple:
    """A checkpoint with real weights and a payload: (file, marker the payload would create)."""
    marker = folder / f'ran{int(legacy)}'
    path = folder / f'crafted{int(legacy)}.pth'
    ckpt = dict(state_dict={'denoiser.w': torch.ones(1)}, meta=dict(epoch=0, iter=2),
                payload=Payload(marker))
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
    return path, marker


def tiny_run(tmp_path: Path, max_iters: int, resume: bool = False) -> Runner:
    """The CPU stage-1 config, 8 channels, on 4 generated photos, in this process."""
    data = tmp_path / 'photos'
    if not data.exists():
        data.mkdir()
        rng = np.random.default_rng(0)
        for i in range(4):
            cv2.imwrite(str(data / f'{i}.png'), rng.integers(0, 256, (40, 48, 3), np.uint8))
    cfg = Config.fromfile(str(DENOISE_CONFIG))
    cfg.merge_from_dict({
        'work_dir': str(tmp_path / 'work'), 'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': 1000, 'model.denoiser.base_channels': 8,
        'train_dataloader.batch_size': 2, 'train_dataloader.dataset.pipeline.1.crop_size': 32,
        'train_dataloader.dataset.data_root': str(data),
        'train_dataloader.dataset.data_prefix.img_path': '',
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1,
        'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
        'experiment_name': f'ckpt_{max_iters}_{resume}'})
    if resume:
        cfg.resume, cfg.load_from = True, str(tmp_path / 'work' / 'iter_2.pth')
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_a_runner_checkpoint_loads_and_resumes_with_weights_only(tmp_path):
    tiny_run(tmp_path, max_iters=2)
    path = tmp_path / 'work' / 'iter_2.pth'
    # without the package, torch refuses it: these are the globals the allowlist must hold ...
    script = ('import sys, torch; print(sorted(torch.serialization.'
              'get_unsafe_globals_in_checkpoint(sys.argv[1])))')
    needed = subprocess.run([sys.executable, '-c', script, str(path)], capture_output=True,
                            text=True, check=True).stdout
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed, needed
    allowed = {f'{g.__module__}.{g.__qualname__}' if not isinstance(g, tuple) else g[1]
               for g in SAFE_GLOBALS}
    assert set(eval(needed)) <= allowed, (needed, allowed)  # noqa: S307 (a list of str)
    # ... and with it, plain torch.load(weights_only=True) and mmengine's loaders read it
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(path)) == []
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert CheckpointLoader.load_checkpoint(str(path))['meta']['iter'] == 2
    assert check_resumable(str(path)) == str(path)
    runner = tiny_run(tmp_path, max_iters=4, resume=True)  # resume through mmengine's Runner
    assert runner.iter == 4 and (tmp_path / 'work' / 'iter_4.pth').is_file()


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_a_crafted_pickle_runs_no_code_through_any_loader(tmp_path, legacy, tiny_task):
    from mmseg.apis import init_model
    path, marker = crafted(tmp_path, legacy)
    refused = pytest.raises(UntrustedCheckpointError, match=r'refused to load .*posix\.mkdir.*'
                            r'--trust-checkpoint')
    with refused:
        load_checkpoint_file(str(path))
    with refused:
        CheckpointLoader.load_checkpoint(str(path))
    with refused:
        load_checkpoint(nn.Linear(1, 1), str(path))  # mmengine's function
    with refused:
        init_model(tiny_task.config['seg'], str(path), device='cpu')  # mmseg's
    with refused:
        load_weights(nn.Linear(1, 1), str(path))
    with refused:
        load_denoiser(str(DENOISE_CONFIG), str(path))
    with refused:
        export_shipped_weights(str(path), 'x', out_dir=str(tmp_path))
    with refused:
        check_resumable(str(path))
    # the damage check of --resume reads old-format files with the safe unpickler only
    (tmp_path / 'work').mkdir()
    os.replace(path, tmp_path / 'work' / 'iter_2.pth')
    assert checkpoint_problem(str(tmp_path / 'work' / 'iter_2.pth')) is None
    assert find_resume_checkpoint(str(tmp_path / 'work')) == str(tmp_path / 'work/iter_2.pth')
    # and a plain pickle file
    (tmp_path / 'plain.pth').write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'plain.pth'))
    assert not marker.exists()


def test_the_tools_refuse_it_in_one_line(tmp_path, load_tool):
    path, marker = crafted(tmp_path, legacy=False)
    out = tmp_path / 'out'
    calls = {
        'test': [str(DENOISE_CONFIG), str(path), '--work-dir', str(tmp_path / 'w1')],
        'denoise': [str(REPO / 'mmsemdenoise/demo_data/val'), str(out), '--config',
                    str(DENOISE_CONFIG), '--checkpoint', str(path)],
        'train': [str(DENOISE_CONFIG), '--resume', str(path), '--work-dir', str(tmp_path / 'w2')],
    }
    for tool, argv in calls.items():
        with pytest.raises(SystemExit) as info:
            load_tool(tool).main(argv)
        message = str(info.value.code)
        assert message.startswith(f'{tool}.py: error: ') and '\n' not in message, message
        assert 'posix.mkdir' in message and '--trust-checkpoint' in message, message
    assert not marker.exists() and not out.exists()
    # the opt-in: that file is unpickled as it is (its code runs), then checked as weights
    with pytest.raises(SystemExit) as info:
        load_tool('test').main([*calls['test'], '--trust-checkpoint'])
    assert marker.is_dir() and 'leaves weights of the DenoisingCascade unset' in str(
        info.value.code)


def test_only_a_trusted_file_may_run_code(tmp_path):
    path, marker = crafted(tmp_path, legacy=False)
    (tmp_path / 'other').mkdir()
    other, other_marker = crafted(tmp_path / 'other', legacy=True)
    with trusting(str(path)):
        assert check_resumable(str(path)) == str(path)  # a check never runs it, even trusted
        assert checkpoint_problem(str(other)) is None and not marker.exists()
        with pytest.raises(UntrustedCheckpointError):
            load_checkpoint_file(str(other))  # trust is per file
        assert load_checkpoint_file(str(path))['meta']['iter'] == 2
    assert marker.is_dir() and not other_marker.exists()  # the opt-in did what it says
    marker.rmdir()
    with pytest.raises(UntrustedCheckpointError):  # only inside the block
        load_checkpoint_file(str(path))
    load_weights(nn.Linear(1, 1), str(path), prefix='denoiser.', strict=False, trust=True)
    assert marker.is_dir()


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_a_url_loads_with_weights_only_too(tmp_path, monkeypatch):
    """mmengine's http(s) loader leaves torch.hub's weights_only=False; the package's does not."""
    import functools
    import http.server
    import threading
    path, marker = crafted(tmp_path, legacy=False)
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'n': np.int64(1)}},
               tmp_path / 'good.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))  # the download cache
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{server.server_address[1]}'
    try:
        assert CheckpointLoader.load_checkpoint(f'{url}/good.pth')['meta']['n'] == 1
        with pytest.raises(UntrustedCheckpointError, match=r'crafted0.pth: it holds posix\.mkdir'):
            CheckpointLoader.load_checkpoint(f'{url}/crafted0.pth')
        assert not marker.exists()
        with trusting(f'{url}/crafted0.pth'):
            CheckpointLoader.load_checkpoint(f'{url}/crafted0.pth')
        assert marker.is_dir()
    finally:
        server.shutdown()

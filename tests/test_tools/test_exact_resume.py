"""Kill a real training with SIGKILL, damage its newest checkpoint, ``--resume``: the same run.

Real ``tools/train.py`` processes on the shipped CPU stage-1 config (3-scale denoiser with 8 base
channels, bfloat16 autocast, random crops, flips and rotations drawn by the pipeline in the main
process or in one worker, validation every 3 iterations) on tiny generated photos. One run goes through; the
other is killed at whatever iteration it has reached once ``iter_4.pth`` exists, its newest
checkpoint is truncated, and ``--resume`` must fall back to the one before with a warning and
then log exactly the uninterrupted run's numbers at every iteration and end with bit-identical
weights.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

CONFIG = 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
MAX_ITERS = 12
TIMING = {'time', 'data_time', 'eta'}


def write_photos(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (('train', 6), ('val', 2)):
        (root / split).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / split / f'{i}.png'), rng.integers(0, 256, (40, 48, 3), np.uint8))
    return root


def options(data: Path, workers: int) -> list:
    opts = [f'train_cfg.max_iters={MAX_ITERS}', 'train_cfg.val_interval=3',
            'model.denoiser.base_channels=8', 'train_dataloader.batch_size=2',
            'train_dataloader.dataset.pipeline.1.crop_size=32',
            'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=3',
            'default_hooks.logger.interval=1', 'log_processor.window_size=1']
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val')):
        opts += [f'{loader}.dataset.data_root={data}', f'{loader}.dataset.data_prefix.img_path={split}',
                 f'{loader}.num_workers={workers}', f'{loader}.persistent_workers={bool(workers)}']
    return opts


def train_cmd(repo: Path, work: Path, data: Path, workers: int, *extra: str) -> list:
    return [sys.executable, str(repo / 'tools/train.py'), str(repo / CONFIG), '--work-dir',
            str(work), *extra, '--cfg-options', *options(data, workers)]


def scalars(run_dir: Path) -> dict:
    """``{(step, key): value}`` of a run's ``vis_data/scalars.json`` without timings."""
    out = {}
    for line in (run_dir / 'vis_data' / 'scalars.json').read_text().splitlines():
        entry = json.loads(line)
        step = entry.pop('step')
        out.update({(step, k): v for k, v in entry.items() if k not in TIMING})
    return out


@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 1], ids=['pipeline_in_main_process', 'one_worker'])
def test_kill_damage_and_resume_repeats_the_run(tmp_path, repo_root, workers):
    data = write_photos(tmp_path / 'photos')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(repo_root))
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    log = open(tmp_path / 'killed.log', 'w')
    reference = subprocess.Popen(train_cmd(repo_root, full, data, workers), cwd=repo_root, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    victim = subprocess.Popen(train_cmd(repo_root, killed, data, workers), cwd=repo_root, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while not (killed / 'iter_4.pth').exists():  # atomic writes: present means complete
        assert victim.poll() is None and time.time() < deadline, (tmp_path / 'killed.log').read_text()
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL  # killed, not finished
    assert reference.wait(timeout=300) == 0
    assert not (killed / f'iter_{MAX_ITERS}.pth').exists()

    # damage the newest checkpoint: --resume must skip it for the one before
    # (last_checkpoint may be empty: mmengine rewrites it in place, and the kill can land there)
    steps = sorted(int(p.stem.split('_')[1]) for p in killed.glob('iter_*.pth'))
    newest = killed / f'iter_{steps[-1]}.pth'
    assert len(steps) >= 2
    newest.write_bytes(newest.read_bytes()[:newest.stat().st_size // 2])
    proc = subprocess.run(train_cmd(repo_root, killed, data, workers, '--resume'), cwd=repo_root, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    previous = killed / f'iter_{steps[-2]}.pth'
    assert f'skipped damaged checkpoint(s) {newest}' in out and f'resuming from {previous}' in out
    assert f'resumed epoch: 0, iter: {steps[-2]}' in out

    expected = scalars(next((full).glob('2*')))
    resumed = scalars(sorted(killed.glob('2*'))[-1])  # the run dir of the resumed process
    assert min(step for step, _ in resumed) == steps[-2] + 1
    validated = {s for s, k in resumed if k.startswith('denoise/')}
    assert validated == {s for s in (3, 6, 9, 12) if s > steps[-2]}
    for key, value in resumed.items():
        assert value == expected[key], (key, value, expected[key])  # exact, every entry
    ends = [torch.load(d / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=False)
            for d in (full, killed)]
    assert ends[0]['state_dict'].keys() == ends[1]['state_dict'].keys()
    for key, value in ends[0]['state_dict'].items():
        assert torch.equal(value, ends[1]['state_dict'][key]), key

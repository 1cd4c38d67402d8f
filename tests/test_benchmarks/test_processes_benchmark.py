"""benchmarks/processes.py: stage-1 training and the sweep as 1 process, 2 threads, 2 processes.

Tiny sizes (a denoiser of 8 base channels, 72x72 training images, 4 CamVid-layout val images of
64x48) through the real command-line tools. The fast test runs one process with two threads (the
threads each run used, as its processes recorded them, are in the tables); the slow one runs one
process and two (``tools/dist_train.sh`` / ``dist_test.sh``, gloo) and checks the split of the
batch and of the images and that the sweep's table is the one-process table.
"""
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BATCH, ITERS, IMAGES = 4, 4, 4


def write_patches(root: Path) -> Path:
    """Six random 72x72 PNGs as ``root/BSD400`` (the training folder of the stage-1 config)."""
    rng = np.random.default_rng(0)
    (root / 'BSD400').mkdir(parents=True)
    for i in range(6):
        cv2.imwrite(str(root / 'BSD400' / f'{i}.png'), rng.integers(0, 256, (72, 72, 3), np.uint8))
    return root


def run_benchmark(tmp_path: Path, make_camvid, settings) -> Dict[str, Dict[str, list]]:
    """The printed tables: {'training' | 'sweep': {setting label: cells}}."""
    train_root = write_patches(tmp_path / 'denoise')
    camvid = make_camvid(tmp_path / 'CamVid', n_train=0, n_val=IMAGES)
    small = ['model.denoiser.type=ThreeScaleDenoiser', 'model.denoiser.base_channels=8']
    done = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'processes.py'), '--settings', *settings,
         '--iters', str(ITERS), '--warmup', '1', '--batch', str(BATCH), '--images', str(IMAGES),
         '--sigmas', '0', '30', '--out', str(tmp_path / 'out'),
         '--train-options', *small, f'train_dataloader.dataset.data_root={train_root}',
         '--sweep-options', *small, f'test_dataloader.dataset.data_root={camvid}'],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tables: Dict[str, Dict[str, list]] = {}
    section = None
    for line in done.stdout.splitlines():
        if line.startswith('### '):
            section = tables.setdefault(line[4:].split(':')[0], {})
        elif line.startswith('| ') and not line.startswith('| setting'):
            cells = [c.strip() for c in line.strip('|').split('|')]
            section[cells[0]] = cells[1:]
    assert set(tables) == {'training', 'sweep'}, done.stdout
    return tables


def check_training(rows: Dict[str, list], label: str, processes: int, threads: int) -> None:
    batch, thread_cells, s_iter, data_s, samples_s, _, rss, wall = rows[label]
    assert batch == f'{processes} x {BATCH // processes}' and thread_cells == str(threads)
    assert 0 <= float(data_s) < float(s_iter) < float(wall)
    assert float(samples_s) == pytest.approx(BATCH / float(s_iter), rel=0.05, abs=0.1)
    peaks = [float(v) for v in rss.split(' / ')]
    assert len(peaks) == processes and all(p > 100 for p in peaks)  # torch alone is more


def check_sweep(rows: Dict[str, list], label: str, processes: int, threads: int) -> list:
    proc_cells, thread_cells, split, loop, _, wall, rss, versus = rows[label]
    assert (proc_cells, thread_cells) == (str(processes), str(threads))
    per_process = [IMAGES // processes] * processes
    assert split == f'{per_process} of {IMAGES}'
    assert 0 < float(loop) < float(wall)
    assert len(rss.split(' / ')) == processes
    return versus


def test_one_process_with_two_threads(tmp_path, make_camvid):
    tables = run_benchmark(tmp_path, make_camvid, ['1p2t'])
    check_training(tables['training'], '1 process x 2 threads', 1, 2)
    assert tables['training']['1 process x 2 threads'][5] == '1.00x'
    assert check_sweep(tables['sweep'], '1 process x 2 threads', 1, 2) == 'identical'


@pytest.mark.slow
def test_two_processes_split_the_batch_and_give_the_same_table(tmp_path, make_camvid):
    tables = run_benchmark(tmp_path, make_camvid, ['1p1t', '2p1t'])
    check_training(tables['training'], '1 process', 1, 1)
    check_training(tables['training'], '2 processes', 2, 1)
    check_sweep(tables['sweep'], '1 process', 1, 1)
    assert check_sweep(tables['sweep'], '2 processes', 2, 1) == 'identical'

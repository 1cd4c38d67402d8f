"""benchmarks/loader.py on a tiny BSD400: its tables, and what a wrong loader would change."""
import re
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest


def _table(out: str, title: str) -> list:
    """The rows (lists of cells) of the markdown table under ``## title``."""
    section = out.split(f'## {title}', 1)[1].split('\n## ', 1)[0]
    lines = [line for line in section.splitlines() if line.startswith('|')]
    return [[cell.strip() for cell in line.strip('|').split('|')] for line in lines[2:]]


def test_loader_benchmark_on_a_tiny_folder(tmp_path: Path, repo_root: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(0)
    folder = tmp_path / 'BSD400'
    folder.mkdir()
    for i in range(6):  # BSD400's size: a decode costs what it costs in the real run
        img = cv2.GaussianBlur(rng.integers(0, 256, (321, 481, 3), dtype=np.uint8), (5, 5), 2)
        assert cv2.imwrite(str(folder / f'{i}.jpg'), img)
    script = runpy.run_path(str(repo_root / 'benchmarks' / 'loader.py'), run_name='loader')
    config = repo_root / 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
    script['main'](['--config', str(config),
                    '--data-root', str(tmp_path), '--batch', '4', '--workers', '0', '2',
                    '--batches', '4', '--repeats', '2', '--gpu-step', '0.01', '--gpu-batch', '8',
                    '--gpu-steps', '3', '--cpu-steps', '1', '--profile', '24'])
    out = capsys.readouterr().out
    assert out.startswith('Machine: ') and 'native bfloat16' in out

    variants = ('file', 'file+stack', 'cache', 'cache+stack')
    rates = {(row[0], int(row[1])): row for row in _table(out, 'Loader alone: patches/s')}
    assert list(rates) == [(v, w) for w in (0, 2) for v in variants]
    assert float(rates['file', 0][5].rstrip('x')) == 1.0
    # no decode per patch: far more patches/s in one process (~6x on BSD400 here)
    assert float(rates['cache', 0][5].rstrip('x')) > 2

    built = {row[0]: row for row in _table(out, 'Building the dataset')}
    assert all(built[v][2] == '6' for v in variants)
    for variant in ('cache', 'cache+stack'):
        assert float(built[variant][3]) == pytest.approx(6 * 321 * 481 * 3 / 2**20, abs=0.05)
    assert float(built['file'][3]) == float(built['file+stack'][3]) == 0

    assert 'equal pixel for pixel: yes' in out
    private = re.search(r'Private memory of each cache\+stack worker after the timing: '
                        r'\[(.*)\]', out)
    assert private and len(private.group(1).split(',')) == 2

    costs = {row[0]: row[1:] for row in _table(out, 'Per patch in one process')}
    assert costs['LoadImageFromFile'][2:] == ['-', '-'] == costs['LoadImageFromCache'][:2]
    assert float(costs['LoadImageFromCache'][2]) < float(costs['LoadImageFromFile'][0]) / 5
    assert {'get_data_info', 'RandomCrop', 'RandomRot90', 'collate_fn', 'total'} <= set(costs)

    waits = _table(out, 'Waiting for data next to a training step')
    assert [(row[1], row[2], row[3]) for row in waits] == [
        (batch, v, '2') for batch in ('8', '4') for v in variants]
    assert re.match(r'GPU step emulated \(sleep 0.01 s\)', waits[0][0])
    assert waits[4][0] == 'ThreeScaleDenoiser train_step on this CPU'
    assert all(float(row[4]) > 0 and float(row[5]) >= 0 for row in waits)
    assert float(waits[0][4]) >= 0.01  # the emulated step sleeps its time

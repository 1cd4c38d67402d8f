"""benchmarks/sweep.py times the sweep modes on a tiny CamVid folder and compares their tables."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_sweep_benchmark_times_every_mode_and_finds_the_same_table(tmp_path, make_camvid):
    data = make_camvid(tmp_path / 'CamVid', n_train=0, n_val=3)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'sweep.py'), '--sigmas', '0', '30',
         '--threads', '1', '--batch-size', '2', '--out', str(tmp_path / 'out'), '--cfg-options',
         'model.denoiser.type=ThreeScaleDenoiser', 'model.denoiser.base_channels=8',
         f'test_dataloader.dataset.data_root={data}'],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split('|')[1].strip(): line.split('|')[2:5] for line in done.stdout.splitlines()
            if line.startswith('| ') and 'mode' not in line}
    assert set(rows) == {'single', 'single-bf16'}, done.stdout
    # the first mode against itself: no difference; bfloat16 moves the table a little at most
    assert float(rows['single'][2]) == 0.0, done.stdout
    assert 0.0 <= float(rows['single-bf16'][2]) < 0.5, done.stdout
    assert (tmp_path / 'out' / 'single' / 'sweep.csv').is_file()
    assert 'variants noisy, nlm, stage1, joint, labelfree' in done.stdout

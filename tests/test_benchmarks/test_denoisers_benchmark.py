"""benchmarks/denoisers.py runs end to end on a tiny size and counts MACs as the layers imply."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from torch import nn

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'benchmarks' / 'denoisers.py'
#: The 20-layer colour DnCNN: 3 -> 64, 18 x 64 -> 64, 64 -> 3, all 3x3.
DNCNN_MACS_PER_PIXEL = 3 * 64 * 9 + 18 * 64 * 64 * 9 + 64 * 3 * 9


def load_script():
    spec = importlib.util.spec_from_file_location('bench_denoisers', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_count_macs_counts_transposed_convolutions_per_input_pixel():
    bench = load_script()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(8, 5, 4, stride=2, padding=1)

        def forward(self, x, sigma=None):
            return self.up(self.down(x))

    # conv: 8 x 8 x 8 outputs x 3 x 9; transposed: 8 x 8 x 8 inputs x 5 x 16
    assert bench.count_macs(Net(), 16, False) == 8 * 64 * 27 + 8 * 64 * 80


def test_benchmark_prints_rows_and_the_counted_dncnn_macs(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), '--sizes', '32', '--repeats', '1', '--methods',
         'three-scale', 'three-scale-bn', 'dncnn', '--modes', 'fp32', 'channels-last',
         '--no-memory', '--tile-size', '40', '--out', str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {tuple(c.strip() for c in line.strip('|').split('|')[:3])
            for line in done.stdout.splitlines() if line.startswith('| ')}
    for method in ('three-scale', 'dncnn'):
        for mode in ('fp32', 'channels-last'):
            assert (method, mode, '32^2') in rows, done.stdout
    dncnn = next(line for line in done.stdout.splitlines() if line.startswith('| dncnn | 668,227'))
    assert dncnn.split('|')[3].strip() == f'{DNCNN_MACS_PER_PIXEL:,}'  # 667,008
    assert '| fp32 | 32^2 |' in done.stdout and 'DnCNN / three-scale' in done.stdout
    assert 'Native CPU bfloat16' in done.stdout
    assert "the paper's net with its batch norms folded into the convolutions" in done.stdout
    assert 'Tiled vs whole-image inference: three-scale, fp32, 40^2' in done.stdout
    assert '| fp32 | 32^2 |' in done.stdout.split('Folding the batch norms')[1]
    assert 'Aim output within 1e-3: met' in done.stdout
    assert (tmp_path / 'quality_speed.png').stat().st_size > 1000
